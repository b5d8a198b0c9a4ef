"""The case study's settings shared with its report, and its figure, tables and summary
(:mod:`dualreg.plots.case_study` trains)."""

from __future__ import annotations

import numpy as np

from dualreg.plots._common import csv_text, markdown_table, mean_ci, pyplot

HIDDEN = (300, 100)
KL_IMAGES = 48_000  # N of the KL term: the paper's 60,000 × 0.8 training images
METHODS = ("VarDrop+LR+AR", "VarDrop+LR", "VarDrop", "LogSum", "η-trick", "AdaProx",
           "AdaTikhonov")
PAPER = {  # (test error, fraction nonzero): the output of the authors' notebook, full MNIST
    "VarDrop+LR+AR": (0.0321, 0.0238), "VarDrop+LR": (0.0141, 0.0885),
    "VarDrop": (0.0154, 0.5946), "η-trick": (0.0216, 0.0513), "AdaProx": (0.0294, 0.0276),
    "AdaTikhonov": (0.0288, 0.0183), "LogSum": (0.0293, 0.0190),
}
PAPER_STEPS = 75_000  # 375 Adam steps an epoch × 200 epochs
TOL = 0.05  # keep probability below which a weight counts as zero
ZERO_ABS = 1e-4  # |w| below which a weight is numerically zero


def _pm(values, scale: float = 100.0, digits: int = 2) -> str:
    mean, half = mean_ci(values)
    return f"{scale * mean:.{digits}f} ± {scale * half:.{digits}f}"



COLOURS = dict(zip(METHODS, ["#17becf", "#1f77b4", "#8c564b", "#d62728", "#2ca02c", "#ff7f0e",
                             "#9467bd"], strict=True))
STYLES = dict(zip(METHODS, ["-.", "-", ":", "-", "-", "-", "--"], strict=True))


def draw(by_method, data, epochs, per_epoch, scale, n_seeds):
    plt = pyplot()
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    keys = (("fraction_nonzero", 0), ("val_error", 1))
    for name, runs in by_method.items():
        steps = np.asarray(runs[0]["history"]["epoch"]) * per_epoch
        for key, k in keys:
            curves = 100 * np.array([r["history"][key] for r in runs])
            mean = curves.mean(0)
            axes[k].plot(steps[1:], mean[1:], STYLES[name], color=COLOURS[name], lw=1.5,
                         label=name)
            axes[k].fill_between(steps[1:], curves.min(0)[1:], curves.max(0)[1:],
                                 color=COLOURS[name], alpha=0.15, lw=0)
        paper_err, paper_nz = PAPER[name]
        for value, k in ((paper_nz, 0), (paper_err, 1)):
            axes[k].plot([1.0], [100 * value], marker="<", ms=7, color=COLOURS[name],
                         transform=axes[k].get_yaxis_transform(), clip_on=False, ls="none")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"Adam steps ({per_epoch} an epoch)")
    axes[0].set_ylim(bottom=max(axes[0].get_ylim()[0], 0.01))  # a collapse stays readable
    axes[0].set(ylabel="nonzero weights (%): keep probability ≥ 0.05",
                title="sparsity (◀ the paper's final value, full MNIST)")
    axes[1].set(ylabel="validation error (%), pruned weights zeroed",
                title="validation error (◀ the paper's final test error)")
    axes[0].legend(frameon=False, fontsize=8, loc="lower left")
    dims = "-".join(str(d) for d in [data.n_features, *HIDDEN, data.n_classes])
    lr_note = "paper's lr₀" if scale == 1.0 else f"lr₀ × {scale:g}"
    fig.suptitle(f"Sparsifying a {dims} MLP on {data.name}: {len(data.y_train)} train / "
                 f"{len(data.y_val)} validation / {len(data.y_test)} test\n{epochs} epochs = "
                 f"{epochs * per_epoch} Adam steps, {lr_note}, λ = 1e-3, KL weight "
                 f"1/{KL_IMAGES}; mean of {n_seeds} seeds, range shaded", fontsize=10)
    return fig


def tables(by_method, data, epochs, per_epoch, scale, seeds) -> dict:
    rows, md_rows, run_rows, hist_rows = [], [], [], []
    for name, runs in by_method.items():
        te = [r["test_error"] for r in runs]
        nz = [r["fraction_nonzero"] for r in runs]
        zero = [r["numerically_zero"] for r in runs]
        stats = [*mean_ci(te), *mean_ci(nz), *mean_ci(zero)]
        rows.append((name, *stats, PAPER[name][0], PAPER[name][1], len(runs), runs[0]["lr0"]))
        md_rows.append((name, f"{100 * PAPER[name][0]:.2f}", _pm(te),
                        f"{100 * PAPER[name][1]:.2f}", _pm(nz), _pm([1 - z for z in zero]),
                        f"{runs[0]['lr0']:g}"))
        for r in runs:
            run_rows.append((name, r["seed"], r["test_error"], r["fraction_nonzero"],
                             r["numerically_zero"], r["val_error"]))
            h = r["history"]
            for i, epoch in enumerate(h["epoch"]):
                hist_rows.append((name, r["seed"], epoch, h["fraction_nonzero"][i],
                                  h["val_error"][i], h["train_loss"][i]))
    steps = epochs * per_epoch
    table_md = (
        f"Case study on {data.name} ({len(data.y_train)} training images), {epochs} epochs = "
        f"{steps} Adam steps, lr₀ × {scale:g}; training seeds {', '.join(map(str, seeds))}. "
        f"Each value is the mean over seeds ± the half-width of the 95 % Student-t interval. "
        f"*Nonzero* counts the weights whose keep probability is at least {TOL} (the paper's "
        f"metric); *|w| ≥ {ZERO_ABS:g}* counts the weights not numerically zero. Errors are "
        "with the pruned weights zeroed. *Paper*: the authors' notebook output (full MNIST, "
        f"{PAPER_STEPS} Adam steps, one seed).\n\n"
        + markdown_table(
            ["method", "paper test error (%)", "test error (%)", "paper nonzero (%)",
             "nonzero (%)", f"|w| ≥ {ZERO_ABS:g} (%)", "lr₀"], md_rows)
    )
    header = ["method", "test_error", "test_error_ci", "fraction_nonzero",
              "fraction_nonzero_ci", "numerically_zero", "numerically_zero_ci",
              "paper_test_error", "paper_fraction_nonzero", "seeds", "lr0"]
    return {
        "case-study_history.csv": csv_text(["method", "seed", "epoch", "fraction_nonzero",
                                            "val_error", "train_loss"], hist_rows),
        "case-study_runs.csv": csv_text(["method", "seed", "test_error", "fraction_nonzero",
                                         "numerically_zero", "val_error"], run_rows),
        "case-study_table.csv": csv_text(header, rows),
        "case-study_table.md": table_md,
    }


def summary(by_method, data, steps, n_seeds) -> str:
    parts = []
    for name, runs in by_method.items():
        te = np.mean([r["test_error"] for r in runs])
        nz = np.mean([r["fraction_nonzero"] for r in runs])
        parts.append(f"{name}: test error {100 * te:.2f} % (paper {100 * PAPER[name][0]:.2f}), "
                     f"nonzero {100 * nz:.1f} % (paper {100 * PAPER[name][1]:.1f})")
    return "; ".join(parts) + f" ({data.name}, {steps} Adam steps, mean of {n_seeds} seeds)."
