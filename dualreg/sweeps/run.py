"""``sweep``: fit every cell of a grid through the execution engine, keep each finished cell
on disk, then write the tidy table and the plot.

Resumable: cells found in ``out/cells/`` (:mod:`dualreg.sweeps.store`) are loaded, not fitted;
the others are fitted as tasks of the engine (:mod:`dualreg.engine`: this process, local
processes, or a Dask cluster) and each is saved the moment it arrives, so an interrupt loses
only the cells in flight. The table is assembled in grid order, so a local run and a cluster
run give the same table apart from the ``seconds`` column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dualreg import _io
from dualreg.engine import Engine, LocalEngine
from dualreg.sweeps import cell as _cell
from dualreg.sweeps.grid import build_grid
from dualreg.sweeps.store import CellStore
from dualreg.sweeps.table import plot, write_table

__all__ = ["SweepResult", "sweep"]


class SweepResult(list):
    """The rows of a sweep (a list of dicts, grid order) with ``fitted`` (cells fitted in
    this run), ``reused`` (cells loaded from an earlier run) and ``files`` (paths written)."""

    fitted: int = 0
    reused: int = 0
    files: list[Path]


def sweep(
    penalties: Sequence[str] | str,
    lams: Any,
    *,
    seeds: Any = (0,),
    params: Mapping[str, Any] | None = None,
    design: _cell.Design | None = None,
    out: str | Path | None = None,
    engine: Engine | None = None,
    jobs: int = 1,
    progress: bool = True,
    draw: bool = True,
) -> SweepResult:
    """Fit an IRLS model at every (penalty, hyperparameters, λ, seed) and tabulate.

    Parameters
    ----------
    penalties : str or sequence of str
        Penalty names (catalogue names, ``"l1"``, ``"l0.5"``…).
    lams : spec or sequence of float
        λ values, e.g. ``"0.01:1:5log"`` (:func:`dualreg.sweeps.grid.parse_values`).
    seeds : spec or sequence of int
        e.g. ``"0:3"``; each seed draws its own data (or its own split of user data).
    params : mapping, optional
        Hyperparameter specs, e.g. ``{"a": "2,3.7"}``, applied to the penalties that take them.
    design : Design, optional
        The data (default: the synthetic :class:`~dualreg.sweeps.cell.Design`).
    out : path, optional
        Folder for ``cells/``, ``sweep.csv`` (``.parquet``), ``sweep.png`` and ``sweep.json``;
        without it nothing is written and nothing is resumed.
    engine : Engine, optional
        Where cells run; default a :class:`~dualreg.engine.LocalEngine` with ``jobs``.
    progress : bool
        A tqdm bar on a terminal.
    draw : bool
        Write the plot.

    Returns
    -------
    SweepResult
        One dict per cell (columns: :func:`dualreg.sweeps.table.columns`).
    """
    from tqdm import tqdm

    grid = build_grid(penalties, lams, seeds, params)
    design = design or _cell.Design()
    cells = grid.cells()
    store = CellStore(out, design.record()) if out is not None else None
    rows: list[dict | None] = [store.load(c) if store else None for c in cells]
    todo = [i for i, r in enumerate(rows) if r is None]
    result = SweepResult()
    result.reused, result.files = len(cells) - len(todo), []
    bar = tqdm(total=len(cells), initial=result.reused, desc="sweep", unit="cell",
               disable=None if progress else True, leave=False)
    own = engine is None
    engine = LocalEngine(min(jobs, max(1, len(todo)))) if engine is None else engine
    try:
        for j, row in engine.imap(_cell.fit_cell, [(cells[i], design) for i in todo]):
            rows[todo[j]] = row
            if store is not None:
                store.save(cells[todo[j]], row)
            result.fitted += 1
            bar.update(1)
    finally:
        bar.close()
        if own:
            engine.close()
    result.extend(rows)
    if out is not None:
        folder = Path(out)
        result.files = write_table(result, folder)
        spec = {"penalties": list(grid.penalties), "lams": list(grid.lams),
                "seeds": list(grid.seeds), "params": {k: list(v) for k, v in
                                                      grid.params.items()},
                "design": design.record(), "cells": len(cells)}
        _io.write_text(folder / "sweep.json", json.dumps(spec, indent=2) + "\n")
        result.files.append(folder / "sweep.json")
        if draw:
            result.files.append(plot(result, folder))
    return result
