"""``dualreg penalty``: the faces of one catalogue penalty as a table, JSON, CSV or a plot.

:class:`UserError` (one line, exit 2) is shared with :mod:`dualreg.cli`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np


class UserError(Exception):
    """A mistake in the command line: reported in one line, exit status 2."""


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_params(items: list[str]) -> dict[str, Any]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--param expects key=value, got {item!r}")
        params[key.strip()] = _parse_value(value.strip())
    return params


def cmd_penalty(args: argparse.Namespace) -> int:
    """Run ``dualreg penalty``."""
    from dualreg.penalties import CATALOGUE
    from dualreg.penalties.catalogue import get, lookup

    if args.list:
        width = max(map(len, CATALOGUE))
        for name, entry in CATALOGUE.items():
            defaults = ", ".join(f"{k}={v}" for k, v in entry.defaults.items())
            print(f"{name:<{width}}  {entry.curvature:<32} Ω = {entry.omega}"
                  + (f"   [{defaults}]" if defaults else ""))
        return 0
    if not args.name:
        raise UserError("give a penalty name or --list")
    try:
        entry = lookup(args.name)
    except ValueError as err:
        raise UserError(str(err)) from err
    if entry.requires:
        raise UserError(f"{entry.name} needs {entry.requires}")
    if args.plot:
        _check_plot_path(args.plot)  # before the table: a bad --plot prints nothing else
    try:
        penalty = get(args.name, **parse_params(args.param))
        w = np.asarray(args.w, dtype=float)
        if not np.all(np.isfinite(w)):
            raise ValueError("--w contains NaN or inf")
        if args.lam < 0 or not np.isfinite(args.lam):
            raise ValueError(f"--lam must be >= 0, got {args.lam}")
        if args.c <= 0 or not np.isfinite(args.c):
            raise ValueError(f"--c must be > 0, got {args.c}")
        if not (args.wmax > 0 and np.isfinite(args.wmax)):
            raise ValueError(f"--wmax must be a finite number > 0, got {args.wmax}")
        if not penalty.separable:
            eta = penalty.eta_hat(w)
            alpha = penalty.keep_prob(w, args.lam, args.c)
            if args.json or args.csv:
                _print_faces(penalty, args, {"w": w, "eta_hat": eta, "keep_prob": alpha},
                             {"total": float(penalty.total(w))})
                return 0
            print(f"{penalty!r}: total Ω(w) = {penalty.total(w):.6g}")
            print("η̂ =", np.array2string(eta), " α =", np.array2string(alpha))
            return 0
        rows = _penalty_rows(penalty, w, args.lam, args.c)
    except ValueError as err:
        raise UserError(str(err)) from err
    if args.json or args.csv:
        table = np.asarray(rows, dtype=float).reshape(-1, len(FACE_COLUMNS))
        _print_faces(penalty, args, {k: table[:, j] for j, k in enumerate(FACE_COLUMNS)}, {})
        return 0
    print(f"{penalty!r}  class: {penalty.curvature_class}  λ = {args.lam:g}, c = {args.c:g}"
          "  (Ω′ at w = 0 is the right derivative Ω′(0⁺))")
    print(f"{'w':>12} {'Ω(w)':>14} {'Ω′(w)':>14} {'η̂(w)':>14} {'f(η̂)':>14} {'α':>12}")
    for row in rows:
        cells = [f"{row[0]:>12.6g}"] + [
            f"{v:>14.6g}" if np.isfinite(v) or np.isinf(v) else f"{'n/a':>14}" for v in row[1:5]
        ]
        print(" ".join(cells) + f" {row[5]:>12.6g}")
    if not penalty.has_eta_form:
        print("f(η̂) is n/a: the penalty is superquadratic and has no η-form")
    if args.plot:
        _plot_faces(penalty, args.plot, args.lam, args.c, args.wmax)
        print(f"wrote {args.plot}")
    return 0


FACE_COLUMNS = ("w", "value", "derivative", "eta_hat", "dual", "keep_prob")


def _print_faces(penalty, args: argparse.Namespace, columns: dict, extra: dict) -> None:
    """The faces as JSON (one object, inf as "inf", n/a as null) or CSV (one row per w)."""
    import csv
    import json

    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(list(columns))
        for values in zip(*columns.values(), strict=True):
            writer.writerow([repr(float(v)) for v in values])
        return

    def encode(v: float) -> float | str | None:
        v = float(v)
        return v if np.isfinite(v) else (None if np.isnan(v) else ("inf" if v > 0 else "-inf"))

    record = {"penalty": repr(penalty), "class": penalty.curvature_class, "lam": args.lam,
              "c": args.c, **extra, **{k: [encode(v) for v in col] for k, col in columns.items()}}
    print(json.dumps(record, ensure_ascii=False))


def _penalty_rows(penalty, w, lam, c):
    """One row per w: Ω, Ω′ (at w = 0 the right derivative Ω′(0⁺), the kink size, rather
    than the least-norm subgradient 0), η̂, f(η̂), α."""
    value, slope, eta = penalty.value(w), penalty.derivative(w), penalty.eta_hat(w)
    slope = np.where(w == 0, penalty.slope_at_zero(), slope)
    dual = penalty.dual(eta) if penalty.has_eta_form else np.full_like(w, np.nan)
    alpha = penalty.keep_prob(w, lam, c)
    return list(zip(w, value, slope, eta, dual, alpha, strict=True))


def _plot_faces(penalty, path: str, lam: float, c: float, wmax: float = 5.0) -> None:
    from dualreg._extras import require

    require("dualreg penalty --plot", "plots", "matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dualreg import _io
    from dualreg.plotting import plot_faces

    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2), constrained_layout=True)
    plot_faces(penalty, ax=axes, w=np.linspace(0.0, wmax, 400), lam=lam, c=c)
    fig.suptitle(f"{penalty!r} — {penalty.curvature_class}")
    _io.save_figure(fig, path, dpi=120)
    plt.close(fig)


def _check_plot_path(path: str) -> None:
    """A user error unless ``path`` has a known image suffix and its folder accepts files."""
    from dualreg import _io

    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".pdf", ".svg"):
        raise UserError(f"--plot must end in .png, .pdf or .svg, got {path!r}")
    if Path(path).is_dir():
        raise UserError(f"--plot {path!r} is a folder; give a file name")
    try:
        _io.check_writable_folder(Path(path).parent)
    except OSError as err:
        raise UserError(f"--plot {path!r}: cannot write there "
                        f"({err.strerror or type(err).__name__})") from None
