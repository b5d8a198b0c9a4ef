"""Where a sweep keeps its finished cells: one small JSON file per cell, written atomically
(:func:`dualreg._io.write_json`) the moment the cell finishes.

A file exists only when its cell is complete (a temporary file is renamed into place), so an
interrupted sweep leaves whole cells or nothing, and the next run with the same ``--out``
loads them instead of fitting them again. The file name is the cell's key
(:meth:`dualreg.sweeps.grid.Cell.key`), which covers the design: changing the data or the
design fits the cells afresh beside the old ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dualreg import _io
from dualreg.sweeps.grid import Cell

__all__ = ["CellStore"]


class CellStore:
    """The finished cells under ``folder/cells/``.

    Parameters
    ----------
    folder : path
        The sweep's output folder.
    design : mapping
        The design's record (:meth:`dualreg.sweeps.cell.Design.record`).
    """

    def __init__(self, folder: str | Path, design: Mapping[str, Any]):
        self.folder = Path(folder) / "cells"
        self.design = dict(design)

    def path(self, cell: Cell) -> Path:
        """The file of ``cell``."""
        return self.folder / f"{cell.key(self.design)}.json"

    def load(self, cell: Cell) -> dict[str, Any] | None:
        """The row of ``cell`` if it finished in an earlier run (an unreadable file counts as
        not finished)."""
        try:
            record = json.loads(self.path(cell).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if record.get("cell") != cell.record() or record.get("design") != self.design:
            return None
        return record["row"]

    def save(self, cell: Cell, row: Mapping[str, Any]) -> None:
        """Write the row of ``cell`` atomically."""
        _io.write_json(self.path(cell), {"cell": cell.record(), "design": self.design,
                                         "row": dict(row)})
