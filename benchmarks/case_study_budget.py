"""How the case study's sparsity depends on its optimisation budget, one method at a time.

Trains one method of the ``case-study`` figure (:mod:`dualreg.plots.case_study`) on the
shipped MNIST images with the figure's own training function, at a given number of Adam steps
and learning-rate scale, and prints the final fractions (nonzero by keep probability, and
numerically zero) with the nonzero fraction at a few points of the run. It is the measurement
behind the figure's default budget: whether a method that ends above the paper's sparsity is
still moving when the learning rate reaches zero, or has settled.

Usage::

    python benchmarks/case_study_budget.py --method VarDrop+LR --steps 30000 --lr-scale 2.5 \
        --seeds 0 1 2 [--kl-images 48000] [--jobs 2] [--out FILE.md]

``--lr-scale`` multiplies the paper's lr₀ of the method (the figure uses 75,000 / steps).
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from pathlib import Path

import numpy as np

from dualreg import _io
from dualreg.plots import _mlp, case_study
from dualreg.plots._case_study_report import METHODS, PAPER
from dualreg.plots._common import Context, mean_ci
from dualreg.plots._parallel import map_runs


def _run(name, data, epochs, lr0, ctx, seed, kl_images):
    start = time.process_time()
    out = case_study.train(name, data, epochs, lr0, ctx, seed, kl_images=kl_images)
    out["cpu_s"] = time.process_time() - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=METHODS, required=True)
    parser.add_argument("--steps", type=int, required=True, help="Adam steps of each run")
    parser.add_argument("--lr-scale", type=float, required=True,
                        help="multiplier of the paper's lr0 of the method")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--kl-images", type=int, default=case_study.KL_IMAGES)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args()

    ctx = Context(progress=False)
    data = _mlp.network_data(None, ctx.rng(7))  # the figure's split of the shipped images
    per_epoch = math.ceil(len(data.y_train) / case_study.BATCH)
    epochs = math.ceil(args.steps / per_epoch)
    lr0 = case_study.BASE_LR[args.method] * args.lr_scale
    tasks = [(args.method, data, epochs, lr0, ctx, seed, args.kl_images) for seed in args.seeds]
    runs = map_runs(_run, tasks, args.jobs)

    checkpoints = sorted({max(1, round(epochs * f)) for f in (0.1, 0.25, 0.5, 0.75, 0.9, 1.0)})
    lines = [
        f"{args.method}: {epochs} epochs × {per_epoch} = {epochs * per_epoch} Adam steps, "
        f"lr₀ = {lr0:g} (paper's × {args.lr_scale:g}), KL images {args.kl_images}, "
        f"seeds {args.seeds}; paper: {100 * PAPER[args.method][1]:.2f} % nonzero",
        "",
        "| seed | nonzero (%) | numerically zero (%) | test error (%) | CPU s | nonzero (%) at "
        + ", ".join(f"step {c * per_epoch}" for c in checkpoints) + " |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        hist = run["history"]["fraction_nonzero"]
        lines.append(
            f"| {run['seed']} | {100 * run['fraction_nonzero']:.2f} | "
            f"{100 * run['numerically_zero']:.2f} | {100 * run['test_error']:.2f} | "
            f"{run['cpu_s']:.0f} | " + ", ".join(f"{100 * hist[c]:.1f}" for c in checkpoints)
            + " |")
    if len(runs) > 1:
        mean, half = mean_ci([r["fraction_nonzero"] for r in runs])
        lines += ["", f"nonzero: {100 * mean:.2f} ± {100 * half:.2f} % (mean ± 95 % t half-width)"]
    lines += ["", f"Machine: {platform.platform()}, {platform.processor() or 'cpu'}, "
              f"one torch thread per run, numpy {np.__version__}."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        _io.write_text(args.out, text)


if __name__ == "__main__":
    main()
