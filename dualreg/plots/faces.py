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
from dualreg.plotting import plot_faces

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
        # The public helper draws the faces (the same one as `dualreg penalty --plot`); the grid
        # then keeps titles on its first row and x labels on its last.
        plot_faces(pen, ax=ax, w=data["omega"][0], eta=np.geomspace(*ETA_RANGE, n), lam=1.0,
                   c=1.0, color=colour)
        for j, key in enumerate(["omega", "eta_hat", "dual", "keep_prob"]):
            a = ax[j]
            a.set_title(titles[j] if i % per_block == 0 else "", fontsize=11, fontweight="bold")
            a.set_xlabel(("η" if key == "dual" else "|w|") if i in last else "", labelpad=1,
                         fontsize=10)
            if key == "eta_hat":
                a.yaxis.set_minor_locator(NullLocator())
            if key == "dual":
                a.xaxis.set_minor_locator(NullLocator())
            a.tick_params(labelsize=9)
            if key in data:
                x, y = data[key]
                records += [(name, cls, key, xi, yi) for xi, yi in zip(x, y, strict=True)]
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
