r"""Figure ``faces``: every separable penalty of the catalogue with its four faces.

One row per separable catalogue entry (default parameters, :data:`dualreg.penalties.CATALOGUE`,
selected with :func:`dualreg.penalties.catalogue.select`), four
columns (docs/conventions.md §3–4, λ = c = 1):

1. :math:`\Omega(w) - \Omega(0)` on |w| ∈ [0, 4];
2. the reweighting :math:`\hat\eta(w) = |w|/\Omega'(|w|)` (log axis; +∞ where Ω is flat, drawn
   as a shaded band);
3. the η-trick dual :math:`f(\eta)` on η ∈ [1e-3, 1e3] (log axis) — superquadratic penalties have
   none, which the panel says;
4. the keep probability :math:`\alpha(w) = \hat\eta/(\hat\eta + 1)` of the adaptive dropout rule
   that implements Ω.

The row title carries the curvature class (colour-coded). The non-separable entries
(``separable=False``: magnitude pruning, ARD) have no per-coordinate faces and are listed in the
caption only.
"""

from __future__ import annotations

import numpy as np

from dualreg.penalties import catalogue
from dualreg.plots._common import CLASS_COLOURS, Context, Output, class_label, csv_text, pyplot
from dualreg.plots.registry import figure

W_MAX = 4.0
ETA_RANGE = (1e-3, 1e3)


def entries() -> list[tuple[str, object]]:
    """(name, penalty) for every separable catalogue entry, in catalogue order."""
    return [(entry.name, entry.build()) for entry in catalogue.select(separable=True)]


def faces(penalty, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four faces on their grids: face name -> (x, y); ``dual`` absent without η-form."""
    w = np.linspace(0.0, W_MAX, n)
    out = {
        "omega": (w, penalty.value(w) - penalty.value(np.zeros(1))[0]),
        "eta_hat": (w, penalty.eta_hat(w)),
        "keep_prob": (w, penalty.keep_prob(w, 1.0, 1.0)),
    }
    if penalty.has_eta_form:
        eta = np.geomspace(*ETA_RANGE, n)
        out["dual"] = (eta, penalty.dual(eta))
    return out


def _row_label(name: str, params: dict) -> str:
    """Penalty name over its parameters, two per line (floats to 3 significant digits)."""
    items = [f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()]
    lines = [name] + [", ".join(items[i : i + 2]) for i in range(0, len(items), 2)]
    return "\n".join(lines)


@figure(
    "faces",
    title="The four faces of every catalogue penalty",
    shows=(
        "For each separable penalty of the catalogue (default parameters): Ω(w) − Ω(0), the "
        "reweighting η̂(w) = |w|/Ω'(|w|), the η-trick dual f(η) (absent for superquadratic "
        "penalties) and the keep probability α(w) = η̂/(η̂ + 1) of the adaptive dropout rule at λ "
        "= c = 1; the curvature class is written and colour-coded on each row."
    ),
    claims=("T4.identity", "T4.eta-hat", "T4.dual-pairs", "T4.keep-prob", "T4.classification"),
    order=1,
)
def make(ctx: Context) -> Output:
    """Draw the 4-column grid (deterministic; the quick budget uses coarser grids)."""
    from matplotlib.ticker import NullLocator

    plt = pyplot()
    n = 120 if ctx.quick else 300
    rows = entries()
    # Two blocks of four face columns side by side (a spacer between), so that a row is
    # readable at the page's width.
    per_block = -(-len(rows) // 2)
    fig, grid = plt.subplots(per_block, 9, figsize=(22, 2.05 * per_block),
                             constrained_layout=True, squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1, 1, 0.12, 1, 1, 1, 1]})
    for a in grid[:, 4]:
        a.axis("off")
    for a in grid[len(rows) - per_block:, 5:].ravel():
        a.axis("off")  # the second block's unused rows

    def cell(i: int, j: int):
        block, r = divmod(i, per_block)
        return grid[r, 5 * block + j]

    last = {i for i in range(len(rows)) if (i + 1) % per_block == 0 or i == len(rows) - 1}
    for i in range(len(rows)):
        for j in (0, 1, 3):  # the dual column keeps its own axis (one panel has no dual)
            first = cell(i - i % per_block, j)
            if cell(i, j) is not first:
                cell(i, j).sharex(first)
            if i not in last:
                cell(i, j).tick_params(labelbottom=False)
    titles = ["Ω(w) − Ω(0)", "η̂(w) = |w| / Ω′(|w|)", "dual f(η)", "keep prob. α(w), λ = c = 1"]
    records = []
    for i, (name, pen) in enumerate(rows):
        cls = pen.curvature_class
        colour = CLASS_COLOURS.get(cls, "black")
        data = faces(pen, n)
        ax = [cell(i, j) for j in range(4)]
        for j, key in enumerate(["omega", "eta_hat", "dual", "keep_prob"]):
            a = ax[j]
            if i % per_block == 0:
                a.set_title(titles[j], fontsize=11, fontweight="bold")
            if i in last:
                a.set_xlabel("η" if key == "dual" else "|w|", labelpad=1, fontsize=10)
            if key not in data:  # keep the axes (and the η scale) so the row reads as one
                a.set_xscale("log")
                a.set_xlim(*ETA_RANGE)
                a.xaxis.set_minor_locator(NullLocator())
                a.set_yticks([])
                a.text(0.5, 0.5, "no η-form\n(superquadratic: Ω is a sup,\n"
                       "not an inf, of quadratics)", ha="center", va="center", fontsize=9,
                       color=colour, transform=a.transAxes)
                continue
            x, y = data[key]
            records += [(name, cls, key, xi, yi) for xi, yi in zip(x, y, strict=True)]
            if key == "eta_hat":
                finite = np.isfinite(y) & (y > 0)
                a.plot(x[finite], y[finite], color=colour, lw=1.6)
                a.set_yscale("log")
                a.yaxis.set_minor_locator(NullLocator())
                inf = np.isinf(y)
                if inf.any():
                    a.axvspan(x[inf].min(), W_MAX, color=colour, alpha=0.12, lw=0)
                    a.text(0.97, 0.08, "η̂ = +∞", ha="right", fontsize=9, color=colour,
                           transform=a.transAxes)
            elif key == "dual":
                finite = np.isfinite(y)
                a.plot(x[finite], y[finite], color=colour, lw=1.6)
                a.set_xscale("log")
                a.xaxis.set_minor_locator(NullLocator())
                if (~finite).any():
                    a.axvspan(x[~finite].min(), ETA_RANGE[1], color=colour, alpha=0.12, lw=0)
                    a.text(0.97, 0.08, "f = +∞", ha="right", fontsize=9, color=colour,
                           transform=a.transAxes)
            elif key == "keep_prob":
                a.plot(x, y, color=colour, lw=1.6)
                a.set_ylim(-0.04, 1.04)
            else:
                a.plot(x, y, color=colour, lw=1.6)
            a.tick_params(labelsize=9)
        ax[0].set_ylabel(_row_label(name, pen.params), fontsize=10, fontweight="bold")
        # Badge in the empty corner: lower right under a concave Ω(√θ), upper left otherwise.
        corner = (0.03, 0.94, "left", "top") if cls == "superquadratic" else (
            0.97, 0.06, "right", "bottom")
        ax[0].text(corner[0], corner[1], class_label(cls), transform=ax[0].transAxes,
                   fontsize=9, ha=corner[2], va=corner[3], color="white", fontweight="bold",
                   bbox={"boxstyle": "round,pad=0.25", "fc": colour, "ec": "none"})
    skipped = [entry.name for entry in catalogue.select(separable=False)]
    fig.suptitle(
        "Faces of the catalogue penalties (docs/conventions.md §3–5). Not shown, non-separable: "
        + ", ".join(skipped),
        fontsize=13,
    )
    data_csv = csv_text(["penalty", "class", "face", "x", "y"], records)
    counts = {}
    for _, pen in rows:
        counts[pen.curvature_class] = counts.get(pen.curvature_class, 0) + 1
    summary = f"{len(rows)} separable penalties: " + ", ".join(
        f"{v} {k}" for k, v in counts.items()
    ) + "."
    return Output(fig, {"faces.csv": data_csv}, summary, dpi=90)
