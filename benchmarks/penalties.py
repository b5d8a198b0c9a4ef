"""Time to evaluate value, eta_hat and dual at 10⁶ points, against per-point scalar optimisation.

Baseline (how the η-trick dual pair is usually evaluated, e.g. in the LeJeune et al. reference
code): one bounded scalar minimisation per point, ``minimize_scalar`` over log η of
w²/η + f(η) for Ω and η̂, and over w of −(2Ω(w) − w²/η) for f. The baseline is timed on a
sample of points in the same run and scaled to 10⁶ (it would take hours in full); the ratio is
baseline time / vectorised time for the same number of points.

Usage: ``python benchmarks/penalties.py [--points 1000000] [--sample 200]``. Writes
``benchmarks/results/penalties.md`` atomically and prints the table.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar

from dualreg import _io
from dualreg.penalties import catalogue


def _timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def _baseline_value(penalty, w):
    for wi in w:
        minimize_scalar(lambda z, wi=wi: wi * wi / np.exp(z) + penalty.dual(np.exp(z)),
                        bounds=(-30.0, 30.0), method="bounded")


def _baseline_dual(penalty, eta):
    for e in eta:
        minimize_scalar(lambda x, e=e: -(2 * penalty.value(x) - x * x / e),
                        bounds=(0.0, 10.0 + 10.0 * e), method="bounded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "penalties.md"))
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    w = rng.uniform(0.0, 5.0, args.points)
    eta = np.exp(rng.uniform(-5.0, 5.0, args.points))
    rows = []
    for entry in catalogue.select(separable=True, eta_form=True):
        name, p = entry.name, entry.build()
        p.value(w[:10])  # build lazy tables outside the timing
        t_value = _timed(p.value, w)
        t_eta = _timed(p.eta_hat, w)
        t_dual = _timed(p.dual, eta)
        scale = args.points / args.sample
        b_value = _timed(_baseline_value, p, w[: args.sample]) * scale
        b_dual = _timed(_baseline_dual, p, eta[: args.sample]) * scale
        rows.append((repr(p), t_value, t_eta, t_dual, b_value, b_dual))
        print(f"{name:<16} value {t_value:7.3f}s  eta_hat {t_eta:7.3f}s  dual {t_dual:7.3f}s  "
              f"baseline Ω+η̂ {b_value:8.1f}s  f {b_dual:8.1f}s  "
              f"ratio {b_value / (t_value + t_eta):8.0f}x / {b_dual / t_dual:8.0f}x", flush=True)
    lines = [
        f"# Penalty evaluation at {args.points:,} points",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"seed {args.seed}; baseline timed on {args.sample} points and scaled.",
        "",
        "| penalty | value (s) | eta_hat (s) | dual (s) | baseline Ω+η̂ (s) | baseline f (s) | "
        "speed-up Ω+η̂ | speed-up f |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r, tv, te, td, bv, bd in rows:
        lines.append(f"| `{r}` | {tv:.3f} | {te:.3f} | {td:.3f} | {bv:.0f} | {bd:.0f} | "
                     f"{bv / (tv + te):,.0f}× | {bd / td:,.0f}× |")
    _io.write_text(args.out, "\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
