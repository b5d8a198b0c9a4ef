"""Parameter sweeps: penalty × hyperparameters × λ × seed → a tidy table and a plot.

- :func:`sweep` — the API (:mod:`.run`), also ``dualreg sweep`` on the command line.
- :class:`Design`, :func:`fit_cell`, :data:`METRICS` — what one cell computes (:mod:`.cell`).
- :class:`Grid`, :class:`Cell`, :func:`build_grid`, :func:`parse_values` — the grid
  (:mod:`.grid`).
- :class:`CellStore` — one atomic file per finished cell, for resuming (:mod:`.store`).
- :func:`write_table`, :func:`plot` — the outputs (:mod:`.table`).
"""

from dualreg.sweeps.cell import METRICS, Design, fit_cell, load_data
from dualreg.sweeps.grid import Cell, Grid, build_grid, parse_seeds, parse_values
from dualreg.sweeps.run import SweepResult, sweep
from dualreg.sweeps.store import CellStore
from dualreg.sweeps.table import plot, write_table

__all__ = [
    "METRICS",
    "Cell",
    "CellStore",
    "Design",
    "Grid",
    "SweepResult",
    "build_grid",
    "fit_cell",
    "load_data",
    "parse_seeds",
    "parse_values",
    "plot",
    "sweep",
    "write_table",
]
