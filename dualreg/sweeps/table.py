"""The tidy table of a sweep (one row per cell) and its plot.

``sweep.csv`` always; ``sweep.parquet`` too when pandas and pyarrow are installed. Floats are
written in their shortest exact form, so the same cells give the same bytes apart from the
``seconds`` column. ``sweep.png``: test error and support size against λ, one line per penalty
(and hyperparameters), the mean over seeds with ± one standard error.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dualreg import _io
from dualreg.sweeps.cell import METRICS

__all__ = ["columns", "plot", "write_table"]


def columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """penalty, the hyperparameters (sorted), lam, seed, then the metrics."""
    fixed = {"penalty", "lam", "seed", *METRICS}
    params = sorted({k for r in rows for k in r if k not in fixed})
    return ["penalty", *params, "lam", "seed", *METRICS]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value)
                                                         else repr(value))
    return str(value)


def write_table(rows: Sequence[dict[str, Any]], folder: str | Path) -> list[Path]:
    """Write ``sweep.csv`` (and ``sweep.parquet`` when possible) to ``folder``; returns the
    paths written. A hyperparameter a penalty does not take is an empty cell (CSV) or null."""
    folder = Path(folder)
    names = columns(rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for r in rows:
        writer.writerow([_text(r.get(c)) for c in names])
    _io.write_text(folder / "sweep.csv", buf.getvalue())
    written = [folder / "sweep.csv"]
    try:
        import pandas as pd
        import pyarrow  # noqa: F401  (pandas' Parquet engine)
    except ImportError:
        return written
    frame = pd.DataFrame([{c: r.get(c) for c in names} for r in rows], columns=names)
    with _io.atomic_path(folder / "sweep.parquet") as tmp:
        frame.to_parquet(tmp, index=False)
    return [*written, folder / "sweep.parquet"]


def plot(rows: Sequence[dict[str, Any]], folder: str | Path) -> Path:
    """Draw ``sweep.png`` (module docstring) into ``folder``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    params = [c for c in columns(rows) if c not in {"penalty", "lam", "seed", *METRICS}]
    lines: dict[str, dict[float, list[dict]]] = {}
    for r in rows:
        tag = r["penalty"] + "".join(f" {p}={r[p]:g}" for p in params
                                     if r.get(p) is not None)
        lines.setdefault(tag, {}).setdefault(r["lam"], []).append(r)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    for ax, metric, label in ((axes[0], "test_error", "test error"),
                              (axes[1], "support", "support size")):
        for tag, by_lam in lines.items():
            lam = np.array(sorted(by_lam))
            vals = [np.array([float(r[metric]) for r in by_lam[x]]) for x in lam]
            mean = np.array([v.mean() for v in vals])
            se = np.array([v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0.0
                           for v in vals])
            ax.plot(lam, mean, marker="o", ms=3, label=tag)
            ax.fill_between(lam, mean - se, mean + se, alpha=0.2)
        if all(x > 0 for r in rows for x in [r["lam"]]):
            ax.set_xscale("log")
        ax.set_xlabel("λ")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    seeds = len({r["seed"] for r in rows})
    fig.suptitle(f"sweep: mean over {seeds} seed(s) ± 1 SE", fontsize=9)
    path = Path(folder) / "sweep.png"
    _io.save_figure(fig, path, dpi=120)
    plt.close(fig)
    return path
