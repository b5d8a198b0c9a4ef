r"""Figure ``monotone-map``: adaptive dropout rules placed by the curvature class they certify.

An adaptive rule keeps weight w with probability α(|w|); at λ = c = 1 it implements
:math:`\Omega(w) = \int_0^{|w|} t\,(1-\alpha(t))/\alpha(t)\,dt` (docs/conventions.md §4,
:func:`dualreg.penalties.from_keep_prob`), and :math:`g(\theta) = \Omega(\sqrt\theta)` has
:math:`g' = r/2` with r the drop odds. So a keep probability that increases with |w| (monotone)
gives a concave g — a subquadratic penalty with an η-form, IRLS-equivalent — and one that
decreases (anti-monotone) a convex g — superquadratic, densifying (T6, T8).

The class is decided by :func:`dualreg.duality.classify` on |w| ∈ [0, 4]: it returns the
smallest and largest second difference of g on a uniform θ grid, normalised by the range of g.
Largest ≤ tol certifies concavity (subquadratic), smallest ≥ −tol convexity (superquadratic),
both quadratic, neither indefinite. **Left**: three families of rules — logistic keep
probabilities :math:`\sigma(\beta(t-1))` (β > 0 monotone, β < 0 anti-monotone, β = 0 constant)
and non-monotone bumps :math:`0.2 + a\,e^{-(t-1.5)^2/0.5}` — coloured by their certified class.
**Right**: the certificate plane, x = smallest and y = largest normalised second difference
(symmetric-log axes, linear within ±1e-10 = the classification tolerance), with the region of
each class; the families, the Sparseout odds family :math:`v t^{q-2}` (q from 0.5 to 4, through
dropout at q = 2), and the named penalties (classical and dropout-derived, catalogue defaults;
Y-Drop's bucket rule and its mirror; targeted dropout) as labelled points. Marker shape gives
the monotonicity of the rule α, measured on the grid: the shape predicts the colour.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from dualreg.plots._common import CLASS_COLOURS, Context, Output, class_label, pyplot
from dualreg.plots.registry import figure

T_MAX = 4.0
TOL = 1e-10
SHAPES = {"increasing": "^", "decreasing": "v", "constant": "o", "non-monotone": "D"}


def monotonicity(alpha: np.ndarray) -> str:
    """"increasing", "decreasing", "constant" or "non-monotone" (on the sampled grid)."""
    d = np.diff(alpha)
    scale = max(float(np.ptp(alpha)), 1e-300)
    up = bool(np.all(d >= -1e-12 * scale))
    down = bool(np.all(d <= 1e-12 * scale))
    if float(np.ptp(alpha)) <= 1e-12:
        return "constant"
    if up:
        return "increasing"
    if down:
        return "decreasing"
    return "non-monotone"


def named_penalties() -> list[tuple[str, object, str]]:
    """(label, penalty, origin) for the marked penalties: every separable catalogue entry at
    its defaults, and the first of its parameterisations on the other side of the η-form
    divide where it has one (Sparseout at q > 2, mirrored Y-Drop)."""
    from dualreg.penalties import catalogue

    out = []
    for entry in catalogue.select(separable=True):
        shown = [entry.default]
        other = [ex for ex in entry.examples if ex.eta_form != entry.default.eta_form]
        shown += other[:1]
        for ex in shown:
            label = entry.name if ex is entry.default else (
                f"{entry.name} ({'η-form' if ex.eta_form else 'no η-form'})")
            out.append((label, ex.build(), entry.origin))
    return out


def families(quick: bool) -> dict[str, list[tuple[str, object]]]:
    """Parametric families of keep-probability rules: family -> [(label, rule α(t))]."""
    betas = [-3.0, -1.0, 0.0, 1.0, 3.0] if quick else [-4.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0,
                                                         2.0, 4.0]
    amps = [0.6] if quick else [0.3, 0.6]
    return {
        "logistic": [(f"β={b:g}", lambda t, b=b: expit(b * (t - 1.0))) for b in betas],
        "bump": [(f"a={a:g}", lambda t, a=a: 0.2 + a * np.exp(-((t - 1.5) ** 2) / 0.5))
                 for a in amps],
    }


def certify(penalty, n: int) -> dict:
    """classify() on [0, T_MAX] and the monotonicity of the rule α at λ = c = 1."""
    from dualreg import duality

    cert = duality.classify(penalty, t_max=T_MAX, n=n)
    t = np.linspace(0.0, T_MAX, 401)
    alpha = penalty.keep_prob(t, 1.0, 1.0)
    return {"class": cert.curvature_class, "min_d2": cert.min_second_difference,
            "max_d2": cert.max_second_difference, "tol": cert.tol,
            "monotonicity": monotonicity(alpha)}


def _place_labels(ax, anchors, texts, sizes) -> list[tuple[float, float]]:
    """Offsets (points) for labels next to ``anchors`` (data coordinates) that do not overlap.

    Greedy, from the top anchor down: candidate offsets to the right, then to the left, at
    growing vertical distances; the first whose box (width estimated from the text length)
    clears every placed box and every anchor wins. Good enough for a few dozen labels.
    """
    to_pt = 72.0 / ax.figure.dpi
    pts = [tuple(np.asarray(ax.transData.transform(a)) * to_pt) for a in anchors]
    left, right = (np.asarray(ax.transAxes.transform([(0, 0), (1, 1)]))[:, 0] * to_pt)
    placed: list[tuple[float, float, float, float]] = []
    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(anchors)

    def clear(box):
        x0, y0, x1, y1 = box
        if x0 < left + 2 or x1 > right - 2:
            return False
        for b in placed:
            if x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1:
                return False
        return all(not (x0 - 4 < px < x1 + 4 and y0 - 4 < py < y1 + 4) for px, py in pts)

    steps = [0.0] + [s * k for k in range(1, 12) for s in (1.0, -1.0)]
    for i in sorted(range(len(pts)), key=lambda i: -pts[i][1]):
        px, py = pts[i]
        width = 0.56 * sizes[i] * len(texts[i])
        height = 1.25 * sizes[i]
        choice = None
        for k in steps:
            dy = k * 0.9 * height
            for dx in (8.0, -8.0):
                x0 = px + dx if dx > 0 else px + dx - width
                box = (x0, py + dy - height / 2, x0 + width, py + dy + height / 2)
                if clear(box):
                    choice = (dx, dy, box)
                    break
            if choice:
                break
        if choice is None:
            choice = (8.0, 0.0, (px + 8, py - height / 2, px + 8 + width, py + height / 2))
        placed.append(choice[2])
        out[i] = (choice[0], choice[1])
    return out


@figure(
    "monotone-map",
    title="Monotone rules are subquadratic, anti-monotone rules superquadratic",
    shows=(
        "Left: keep-probability rules α(t) at λ = c = 1 of the named methods, coloured by the "
        "certified curvature class. Right: the certificate plane of dualreg.duality.classify — "
        "smallest and largest normalised second difference of g(θ) = Ω(√θ) — with the regions of "
        "each class; families of rules (logistic keep probabilities σ(β(t − 1)), Sparseout odds "
        "v·t^(q−2), non-monotone bumps) and the classical and dropout penalties placed in it, "
        "marker shape = monotonicity of the rule."
    ),
    claims=("T6.monotone-subquadratic", "T4.classification", "T8.antimonotone-superquadratic",
            "T3.adaptive-odds", "T7.targeted-dropout"),
    order=4,
)
def make(ctx: Context) -> Output:
    """Classify every rule and penalty, then draw the rules and the certificate plane."""
    from dualreg.penalties import Sparseout, from_keep_prob

    plt = pyplot()
    n = 401 if ctx.quick else 2001
    fams = families(ctx.quick)
    total = sum(len(v) for v in fams.values()) + len(named_penalties())
    qs = np.round(np.linspace(0.5, 4.0, 8 if ctx.quick else 15), 3)
    bar = ctx.bar(total=total + len(qs), desc="monotone-map: classify")
    records = []
    t = np.linspace(0.0, T_MAX, 401)
    fam_curves = {}
    for fam, rules in fams.items():
        for label, rule in rules:
            pen = from_keep_prob(rule, 1.0, 1.0, name=f"{fam} {label}", t_max=T_MAX)
            rec = {"name": f"{fam} {label}", "family": fam, "origin": "rule", **certify(pen, n)}
            records.append(rec)
            fam_curves[rec["name"]] = (rule(t), rec)
            bar.update(1)
    for q in qs:
        rec = {"name": f"Sparseout odds q={q:g}", "family": "sparseout", "origin": "rule",
               "q": float(q), **certify(Sparseout(float(q), 0.5), n)}
        records.append(rec)
        bar.update(1)
    for label, pen, origin in named_penalties():
        records.append({"name": label, "family": None, "origin": origin, **certify(pen, n)})
        bar.update(1)
    bar.close()

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15.5, 5.8), constrained_layout=True,
                                        gridspec_kw={"width_ratios": [1, 1.45, 0.33]})
    ends = []
    for name, (alpha, rec) in fam_curves.items():
        ls = "-" if rec["family"] == "logistic" else "--"
        ax1.plot(t, alpha, ls, color=CLASS_COLOURS[rec["class"]], lw=1.6)
        ends.append((float(alpha[-1]), name.split(" ", 1)[1], CLASS_COLOURS[rec["class"]]))
    # End labels, pushed apart vertically so that none overlap (min gap 0.04 in α).
    ends.sort()
    ys = [e[0] for e in ends]
    for i in range(1, len(ys)):
        ys[i] = max(ys[i], ys[i - 1] + 0.04)
    if ys:
        ys[-1] = min(ys[-1], 1.02)
    for i in range(len(ys) - 2, -1, -1):
        ys[i] = min(ys[i], ys[i + 1] - 0.04)
    for (_, text, colour), y in zip(ends, ys, strict=True):
        ax1.text(T_MAX * 1.01, y, text, fontsize=7, va="center", color=colour)
    for cls in ("subquadratic", "quadratic", "superquadratic", "indefinite"):
        ax1.plot([], [], color=CLASS_COLOURS[cls], lw=2, label=class_label(cls))
    ax1.plot([], [], "k-", lw=1, label="logistic σ(β(t − 1))")
    ax1.plot([], [], "k--", lw=1, label="bump 0.2 + a·exp(−(t − 1.5)²/0.5)")
    ax1.set(xlabel="|w|", ylabel="keep probability α(|w|)  (λ = c = 1)", ylim=(-0.02, 1.02),
            xlim=(0, T_MAX * 1.12), title="rules, coloured by the certified class of Ω")
    ax1.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3,
               fontsize=7.5)

    # Certificate plane.
    lim = 1.0
    ax2.set_xscale("symlog", linthresh=TOL, linscale=0.6)
    ax2.set_yscale("symlog", linthresh=TOL, linscale=0.6)
    ax2.fill_between([-lim, lim], -lim, TOL, color=CLASS_COLOURS["subquadratic"], alpha=0.08,
                     lw=0)
    ax2.fill_betweenx([-lim, lim], -TOL, lim, color=CLASS_COLOURS["superquadratic"], alpha=0.08,
                      lw=0)
    ax2.fill_between([-lim, -TOL], TOL, lim, color=CLASS_COLOURS["indefinite"], alpha=0.08,
                     lw=0)
    grid = np.concatenate([-np.geomspace(lim, TOL, 50), [0.0], np.geomspace(TOL, lim, 50)])
    ax2.fill_between(grid, -lim, grid, color="0.5", alpha=0.18, lw=0, hatch="//")
    ax2.text(0.93, 0.45, "impossible:\nmin > max", fontsize=7.5, color="0.35", ha="center",
             transform=ax2.transAxes)
    ax2.text(-0.8, -2e-3, "subquadratic\n(concave g: η-form, sparsifying)", fontsize=8,
             color=CLASS_COLOURS["subquadratic"], ha="left", fontweight="bold")
    ax2.text(1e-6, 3e-2, "superquadratic\n(convex g: densifying)", fontsize=8,
             color=CLASS_COLOURS["superquadratic"], ha="center", fontweight="bold")
    ax2.text(-3e-2, 3e-2, "indefinite", fontsize=8, color=CLASS_COLOURS["indefinite"],
             ha="center", fontweight="bold")
    ax2.text(-2e-10, -2e-10, "quadratic", fontsize=7.5, color=CLASS_COLOURS["quadratic"],
             ha="right", va="top", fontweight="bold")

    def clip(v: float) -> float:
        return float(np.clip(v, -lim, lim))

    sp = [r for r in records if r["family"] == "sparseout"]
    ax2.plot([clip(r["min_d2"]) for r in sp], [clip(r["max_d2"]) for r in sp], "-",
             color="0.4", lw=0.8, zorder=2)
    for r in sp:
        ax2.scatter(clip(r["min_d2"]), clip(r["max_d2"]), marker=SHAPES[r["monotonicity"]],
                    s=22, color=CLASS_COLOURS[r["class"]], edgecolor="black", lw=0.4, zorder=3)
    for r in records:
        if r["family"] in ("logistic", "bump"):
            ax2.scatter(clip(r["min_d2"]), clip(r["max_d2"]), marker=SHAPES[r["monotonicity"]],
                        s=36, color=CLASS_COLOURS[r["class"]], edgecolor="black", lw=0.4,
                        zorder=4, alpha=0.8)
    order = {"subquadratic": 0, "quadratic": 1, "superquadratic": 2, "indefinite": 3}
    named = sorted((r for r in records if r["family"] is None),
                   key=lambda r: (order[r["class"]], r["min_d2"], r["max_d2"]))
    for r in named:
        ax2.scatter(clip(r["min_d2"]), clip(r["max_d2"]), marker=SHAPES[r["monotonicity"]],
                    s=44, color=CLASS_COLOURS[r["class"]], edgecolor="black", lw=0.8, zorder=5,
                    alpha=0.75)
    # Named penalties get a number (key in the empty half of the plane); family members and
    # the Sparseout ends their names.
    labels = [(r, str(k + 1), 8, "bold", "black") for k, r in enumerate(named)]
    labels += [(r, r["name"], 6.5, "normal", "0.3") for r in records
               if r["family"] in ("logistic", "bump")]
    labels += [(r, r["name"], 6.5, "normal", "0.3") for r in (sp[0], sp[-1])]
    ax2.set(xlim=(-lim, lim), ylim=(-lim, lim))
    anchors = [(clip(r["min_d2"]), clip(r["max_d2"])) for r, *_ in labels]
    offsets = _place_labels(ax2, anchors, [lab[1] for lab in labels],
                            [lab[2] for lab in labels])
    for (_, text, size, weight, colour), xy, off in zip(labels, anchors, offsets, strict=True):
        ax2.annotate(text, xy, fontsize=size, xytext=off, textcoords="offset points",
                     va="center", ha="left" if off[0] > 0 else "right", fontweight=weight,
                     color=colour, arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.55",
                                               "shrinkA": 0, "shrinkB": 3})
    # The key and the marker legend in their own column, clear of the plane.
    ax3.axis("off")
    ax3.text(0.0, 0.98, "key (bold: dropout-derived)", transform=ax3.transAxes, fontsize=8,
             fontweight="bold", va="top")
    for k, r in enumerate(named):
        ax3.text(0.0, 0.93 - 0.04 * k, f"{k + 1:>2}  {r['name']}", transform=ax3.transAxes,
                 fontsize=8, color=CLASS_COLOURS[r["class"]], va="top",
                 fontweight="bold" if r["origin"] == "dropout" else "normal")
    for shape, marker in SHAPES.items():
        ax3.scatter([], [], marker=marker, color="white", edgecolor="black",
                    label=f"rule α {shape}")
    ax3.legend(frameon=False, loc="lower left", fontsize=8, title="marker: the rule",
               title_fontsize=8, bbox_to_anchor=(0.0, 0.0))
    # Symlog ticks every third decade, labelled as signed powers of ten (no run-together text).
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    decades = [10.0**-k for k in (0, 3, 6, 9)]
    ticks = sorted([-d for d in decades] + [0.0] + decades)

    def power(v: float, _pos: int) -> str:
        if v == 0:
            return "0"
        return f"{'−' if v < 0 else ''}$10^{{{round(np.log10(abs(v)))}}}$"

    for axis in (ax2.xaxis, ax2.yaxis):
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FuncFormatter(power))
        axis.set_minor_formatter(NullFormatter())
    ax2.set(xlabel="smallest normalised second difference of g(θ) = Ω(√θ)",
            ylabel="largest normalised second difference of g(θ) = Ω(√θ)",
            title="certificate plane of dualreg.duality.classify (bold: dropout-derived)")
    fig.suptitle("Monotone keep-probability rules give subquadratic penalties, anti-monotone "
                 "rules superquadratic ones (T6, T8)", fontsize=10)

    agree = sum(
        (r["monotonicity"] == "increasing" and r["class"] == "subquadratic")
        or (r["monotonicity"] == "decreasing" and r["class"] == "superquadratic")
        or (r["monotonicity"] == "constant" and r["class"] == "quadratic")
        or (r["monotonicity"] == "non-monotone" and r["class"] == "indefinite")
        for r in records
    )
    summary = (f"{agree} of {len(records)} rules and penalties have the class their "
               "monotonicity predicts (increasing → sub, decreasing → super, constant → "
               "quadratic, non-monotone → indefinite).")
    return Output(fig, {"monotone-map.json": {"t_max": T_MAX, "grid_points": n,
                                              "records": records}}, summary)
