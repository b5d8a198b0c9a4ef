r"""Figure ``penalties``: the penalty comparison of LeJeune, Javadi & Baraniuk (NeurIPS 2021).

Left, the *scalar penalty* :math:`\lambda[\Omega(w) - \Omega(0.01)]` against |w| on
``logspace(-2, log10(5), 100)``. Right, the *vector penalty*: in d = 32 dimensions, for
k = 0, …, 32 the vector with k equal entries :math:`1/\sqrt{k + 10^{-3}}` (unit norm up to the
1e-3) and zeros elsewhere, :math:`\lambda[\sum_j\Omega(w_j) - \min_k\sum_j\Omega(w_j)]`.

Penalties and levels, as in the paper: variational dropout (exact Dawson form, λ = 1), standout
(λ = 1), hard concrete (λ = 1), magnitude pruning ``HardThreshold(16)`` (right panel only: 0 up
to 16 nonzeros, +∞ beyond), LogSum(ε = 2) with λ = 2 and MCP(a = ½, scale = √2) with λ = √2.
Every value comes from the penalty objects of :mod:`dualreg.penalties`.
"""

from __future__ import annotations

import numpy as np

from dualreg.penalties import MCP, HardConcrete, HardThreshold, LogSum, Standout, VarDrop
from dualreg.plots._common import Context, Output, columns_csv, pyplot
from dualreg.plots.registry import figure

D = 32
K_HARD = 16
W_REF = 0.01


def scalar_grid() -> np.ndarray:
    """The |w| grid of the left panel: ``logspace(-2, log10(5), 100)``."""
    return np.logspace(-2, np.log10(5.0), 100)


def vectors(d: int = D) -> np.ndarray:
    """Row k (k = 0..d): k entries 1/√(k + 1e-3), zeros elsewhere."""
    out = np.zeros((d + 1, d))
    for k in range(1, d + 1):
        out[k, :k] = 1.0 / np.sqrt(k + 1e-3)
    return out


def methods() -> list[tuple[str, object, float, str]]:
    """(label, penalty, λ, kind) for the separable penalties of the figure."""
    return [
        ("VarDrop", VarDrop(), 1.0, "dropout"),
        ("Standout", Standout(), 1.0, "dropout"),
        ("HardConcrete", HardConcrete(), 1.0, "dropout"),
        ("LogSum(ε=2), λ=2", LogSum(2.0), 2.0, "classical"),
        ("MCP(a=½, scale=√2), λ=√2", MCP(0.5, np.sqrt(2.0)), np.sqrt(2.0), "classical"),
    ]


def compute() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The two panels' data: ``({"w": .., label: ..}, {"k": .., label: ..})``."""
    w = scalar_grid()
    vec = vectors()
    scalar = {"w": w}
    vector = {"k": np.arange(D + 1)}
    for label, pen, lam, _ in methods():
        scalar[label] = lam * (pen.value(w) - pen.value(np.array([W_REF]))[0])
        totals = pen.value(vec).sum(axis=1)
        vector[label] = lam * (totals - totals.min())
    hard = HardThreshold(K_HARD)
    totals = np.array([hard.total(v) for v in vec])
    vector[f"HardThreshold({K_HARD})"] = totals - totals.min()
    return scalar, vector


@figure(
    "penalties",
    title="Dropout penalties against classical sparse penalties (the paper's figure)",
    shows=(
        "LeJeune, Javadi & Baraniuk (2021), penalty figure. Left: λ[Ω(w) − Ω(0.01)] against |w| on"
        " a log grid. Right: λ[Ω(w) − min_k Ω] for unit-norm vectors in d = 32 with k equal "
        "nonzero entries. VarDrop (exact), standout and hard concrete at λ = 1, HardThreshold(16) "
        "(right only), LogSum(ε = 2) at λ = 2, MCP(a = ½, scale = √2) at λ = √2."
    ),
    claims=("T7.vardrop", "T7.standout", "T7.hard-concrete", "T7.magnitude-pruning"),
    order=0,
)
def make(ctx: Context) -> Output:
    """Draw the figure (no randomness, same in quick and full mode)."""
    plt = pyplot()
    scalar, vector = compute()
    styles = {"dropout": "-", "classical": "--"}
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.5, 4.0), constrained_layout=True)
    # HardConcrete and MCP share the plateau: HardConcrete drawn wide and light beneath the
    # dashed MCP so that both stay visible.
    widths = {"HardConcrete": 4.0}
    k = vector["k"]
    for (label, _, _, kind), col in zip(methods(), colours, strict=True):
        lw = widths.get(label, 1.8)
        alpha = 0.55 if label in widths else 1.0
        ax1.plot(scalar["w"], scalar[label], styles[kind], color=col, lw=lw, alpha=alpha,
                 label=label, zorder=1 if label in widths else 2)
        ax2.plot(k[1:], vector[label][1:], styles[kind], color=col, lw=lw, alpha=alpha,
                 marker="o", ms=2.5, label=label, zorder=1 if label in widths else 2)
        ax2.plot(k[:1], vector[label][:1], "o", mfc="white", color=col, ms=5, zorder=3)
    ax2.annotate("k = 0: w = 0, not unit norm", (0, 0), xytext=(6, -0.45),
                 textcoords="data", fontsize=7.5, color="0.35", va="center",
                 arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.55"})
    ax1.annotate("HardConcrete and MCP\nshare the plateau", (0.8, 0.49), xytext=(0.012, 0.8),
                 fontsize=7.5, color="0.35",
                 arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.55"})
    ax1.set_xscale("log")
    ax1.set(xlabel="|w|", ylabel="λ [Ω(w) − Ω(0.01)]", title="scalar penalty")
    ax1.legend(loc="upper left", frameon=False)

    hard = vector[f"HardThreshold({K_HARD})"]
    finite = np.isfinite(hard)
    ax2.plot(k[1:][finite[1:]], hard[1:][finite[1:]], ":", color="black", lw=1.8, marker="s",
             ms=2.5, label=f"HardThreshold({K_HARD})")
    ax2.axvspan(K_HARD + 0.5, D + 0.5, color="black", alpha=0.06, lw=0)
    ax2.text(K_HARD + 1, 0.9, f"HardThreshold({K_HARD}) = +∞\nfor k > {K_HARD}", fontsize=8,
             va="bottom")
    ax2.set(xlabel="number of nonzero entries k (equal entries, ‖w‖₂ ≈ 1, d = 32)",
            ylabel="λ [Ω(w) − min_k Ω]", title="vector penalty", xlim=(-0.5, D + 0.5),
            ylim=(-0.8, None))
    ax2.legend(loc="upper left", frameon=False)
    fig.suptitle("Effective penalties of dropout methods against classical sparse penalties "
                 "(LeJeune, Javadi & Baraniuk 2021)", fontsize=10)

    data = {
        "penalties_scalar.csv": columns_csv(scalar),
        "penalties_vector.csv": columns_csv(vector),
    }
    labels = [m[0] for m in methods()]
    ranks = {lab.split("(")[0].split(",")[0]: vector[lab][1:] for lab in labels}
    sparsest = [k for k, v in ranks.items() if np.argmin(v) == 0]
    densest = [k for k, v in ranks.items() if np.argmin(v) != 0]
    summary = (
        "Among unit-norm vectors (k ≥ 1) the least penalty is at k = 1 (sparsest) for "
        + ", ".join(sparsest)
        + (f"; not for {', '.join(densest)}" if densest else "")
        + "; the penalty at k = 32 relative to k = 1: "
        + ", ".join(f"{k} {v[-1] - v[0]:.2f}" for k, v in ranks.items())
        + "."
    )
    return Output(fig, data, summary)
