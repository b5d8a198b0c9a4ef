r"""Figure ``pruning-identity``: what pruning the targeted set costs at a trimmed-ridge fixed point
(proofs/T12_pruning_robustness.md), predicted against measured.

Targeted dropout with drop probability a on the targeted set T (unscaled) has the trimmed ridge
:math:`F_T(u) = L(u) + P_T(u)`, :math:`P_T = \tfrac r2\sum_{j\in T}c_ju_j^2`, r = a/(1 − a), as
its expected loss (T7). At a stationary point, pruning T (u_T → 0) costs exactly
:math:`\Delta L = 2P_T + R`, :math:`R = \int_0^1(1-t)\,u_T^\top\nabla^2_{TT}L(u - tu_T)\,u_T\,dt`,
between :math:`(2 + \kappa^-/r)P_T` and :math:`(2 + \kappa^+/r)P_T`, and for a fixed T
:math:`r\Delta L \to \|C_T^{-1/2}\nabla_TL(u_K^\star)\|^2` as r → ∞.

Data (seeded, :mod:`dualreg.datasets`, one generator per model, drawn in this order): a column
permutation, an n × d gaussian design (d = 40) with equicorrelated columns (ρ = 0.3), each
column scaled so that :math:`c_j = \|X_{:,j}\|^2/n` runs geometrically over a factor 10 (in the
permuted order), random signs, a second permutation for the magnitudes
:math:`|w_j| =` ``geomspace(0.02, 2, 40)`` (two decades), then the response.

- **Left, gaussian**: n = 400, y = Xw + 0.5·N(0, 1); c_j = ‖X_j‖²/n; a = 0.5 (r = 1). For each
  targeted fraction γ on ``linspace(0.05, 0.95, 19)`` (quick: 7 points), the rank-consistent
  fixed point (T = the ⌊γd⌋ smallest raw |w| = |u|/(1 − a) on T, |u| elsewhere) by
  :func:`dualreg.pruning_cost.trimmed_ridge_point`; the measured ΔL from ½‖y − Xu‖²/n written
  out here; the identity's 2P_T + R and its first-order part 2P_T
  (:func:`dualreg.pruning_cost.pruning_cost`); the bounds (2 + κ∓/r)P_T as a band; and, for
  contrast, ΔL of pruning the same number of smallest-|w| coefficients of the least-squares fit
  (no targeted dropout).
- **Middle, logistic**: the same construction with n = 1000, w halved, y ~ Bern(σ(Xw)); the
  column scales are fixed at the curvature of the null model, c_j = ¼‖X_j‖²/n; the remainder R is
  the library's 16-node Gauss–Legendre integral and κ± its extremes over the nodes and both ends
  of the segment; the contrast is the unpenalised maximum-likelihood fit pruned by magnitude.
- **Right**: the gaussian model with T fixed at the left panel's set at γ = 0.5, a = 0.5;
  r·ΔL against r = a/(1 − a) for r on a log grid from 0.05/0.95 to 999 (a from 0.05 to 0.999; 25
  points, quick: 7), the limit :math:`\|C_T^{-1/2}\nabla_TL(u_K^\star)\|^2` (least squares on the
  kept coordinates K alone), and r times the a-priori bound
  :math:`(2 + \kappa^+/r)\|C_T^{-1/2}g^0\|^2/(2r)`, :math:`g^0 = \nabla_TL(u^0)`.

Every fixed point found by the library (scipy's trust-exact, gtol 1e-12) is then polished by
three Newton steps on its set's stationarity equation (:func:`polish`): trust-exact judges a step
by the objective's decrease, which float64 stops resolving near a gradient of 1e-10 (logistic:
residuals up to 3e-10 measured, recorded as ``solver_residual``); after the polish the
residual is rounding (≲ 1e-15) and the set is checked to be still rank-consistent.
The data also record, per γ, the loss of the fixed point itself and the excess over the full
fit (least squares / maximum likelihood) after pruning, L(u⁰) − L(ŵ), beside the contrast's
excess: pruning is cheaper at a targeted fixed point partly because that point has already
given up some fit.

Nothing is trained or sampled after the data: every value is a deterministic float64
computation.
"""

from __future__ import annotations

import numpy as np

from dualreg import datasets
from dualreg.families import get_family, model
from dualreg.plots._common import Context, Output, pyplot
from dualreg.plots.check import Close
from dualreg.plots.registry import figure
from dualreg.pruning_cost import pruning_cost, raw_weights, targeted_set, trimmed_ridge_point

D = 40
N_GAUSSIAN = 400
N_LOGISTIC = 1000
RATIO = 10.0  # spread of the column scales c_j
CORR = 0.3
W_LOW, W_HIGH = 0.02, 2.0  # |w| spread over two decades
LOGISTIC_SHRINK = 0.5  # w of the logistic model: half the gaussian magnitudes
NOISE = 0.5
A = 0.5
GAMMAS = np.linspace(0.05, 0.95, 19)
QUICK_GAMMAS = np.linspace(0.05, 0.95, 7)
RATE_GAMMA = 0.5
R_RANGE = (0.05 / 0.95, 999.0)  # a from 0.05 to 0.999
RATE_POINTS = 25
QUICK_RATE_POINTS = 7
SALT = 12
POLISH_STEPS = 3


def design(rng: np.random.Generator, n: int, family: str,
           shrink: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, w_true): the module docstring's design, drawn from ``rng`` in its order."""
    perm = rng.permutation(D)
    scales = datasets.geometric_scales(D, RATIO)[perm]
    X = datasets.gaussian_design(rng, n, D, corr=CORR, unit_scale=True, scales=scales)
    signs = rng.choice([-1.0, 1.0], size=D)
    w = shrink * signs * np.geomspace(W_LOW, W_HIGH, D)[rng.permutation(D)]
    return X, datasets.response(rng, X @ w, family, noise=NOISE), w


def _loss(family: str):
    """(X, y, u) -> the mean loss of ``family`` (:func:`dualreg.families.model.loss`)."""
    return lambda X, y, u: model.loss(X, y, u, family=family)


def polish(X: np.ndarray, y: np.ndarray, u: np.ndarray, T: np.ndarray, r: float, c: np.ndarray,
           family: str, steps: int = POLISH_STEPS) -> np.ndarray:
    r"""Newton steps on the stationarity of :math:`L + \tfrac r2\sum_T c_ju_j^2` (T fixed) from
    the library's solution: trust-exact judges its steps by the objective's decrease, which
    float64 no longer resolves once the gradient is ~1e-10 (logistic: measured residuals up to
    3e-10 against its gtol 1e-12); Newton steps need only the gradient, and take it to rounding."""
    fam = get_family(family)
    n = X.shape[0]
    weight = r * c * T
    for _ in range(steps):
        theta = X @ u
        grad = X.T @ (fam.mean(theta) - y) / n + weight * u
        hess = (X.T * fam.curvature(theta)) @ X / n + np.diag(weight)
        u = u - np.linalg.solve(hess, grad)
    return u


def fixed_point(X, y, r: float, gamma: float, c, family: str) -> tuple:
    """The rank-consistent fixed point by ``trimmed_ridge_point``, polished on its set; the
    library's own stationarity residual on T; whether the polished point still ranks T."""
    u, T = trimmed_ridge_point(X, y, r, gamma=gamma, c=c, family=family)
    c = (X**2).sum(0) / X.shape[0] if c is None else c
    residual = pruning_cost(X, y, u, T, r, c=c, family=family).stationarity
    u = polish(X, y, u, T, r, c, family)
    consistent = bool(np.array_equal(targeted_set(raw_weights(u, T, r), gamma), T))
    return u, T, residual, consistent


def identity_panel(X, y, gammas, family: str, c, full_fit) -> dict:
    """Every term of the left/middle panels along ``gammas`` at a = A."""
    loss = _loss(family)
    r = A / (1.0 - A)
    keys = ("pruned", "measured", "predicted", "first_order", "penalty", "remainder", "lower",
            "upper", "kappa_min", "kappa_max", "stationarity", "solver_residual",
            "rank_consistent", "rel_deviation",
            "fixed_point_loss", "contrast", "targeted_after_pruning_excess")
    out = {k: [] for k in keys}
    full_loss = loss(X, y, full_fit)
    sets = {}
    for gamma in gammas:
        u, T, residual, consistent = fixed_point(X, y, r, float(gamma), c, family)
        sets[float(gamma)] = T
        cost = pruning_cost(X, y, u, T, r, c=c, family=family)
        pruned = np.where(T, 0.0, u)
        measured = loss(X, y, pruned) - loss(X, y, u)
        T_fit = targeted_set(full_fit, float(gamma))
        contrast = loss(X, y, np.where(T_fit, 0.0, full_fit)) - full_loss
        row = {
            "pruned": int(T.sum()),
            "measured": measured,
            "predicted": cost.predicted,
            "first_order": 2.0 * cost.penalty,
            "penalty": cost.penalty,
            "remainder": cost.remainder,
            "lower": cost.lower,
            "upper": cost.upper,
            "kappa_min": cost.kappa_min,
            "kappa_max": cost.kappa_max,
            "stationarity": cost.stationarity,
            "solver_residual": residual,
            "rank_consistent": consistent,
            "rel_deviation": abs(measured - cost.predicted) / measured,
            "fixed_point_loss": loss(X, y, u),
            "contrast": contrast,
            "targeted_after_pruning_excess": loss(X, y, pruned) - full_loss,
        }
        for k in keys:
            out[k].append(row[k])
    out["gamma"] = [float(g) for g in gammas]
    out["full_fit_loss"] = full_loss
    return out, sets


def rate_panel(X, y, T, n_points: int) -> dict:
    """r·ΔL against r for the fixed set T (gaussian), with its limit and a-priori bound."""
    n = X.shape[0]
    c = (X**2).sum(0) / n
    K = ~T
    uK = np.zeros(D)
    uK[K] = np.linalg.lstsq(X[:, K], y, rcond=None)[0]
    grad_K = X.T @ (X @ uK - y) / n
    limit = float(np.sum(grad_K[T] ** 2 / c[T]))
    rs = np.geomspace(*R_RANGE, n_points)
    out = {k: [] for k in ("r", "a", "r_measured", "r_predicted", "r_first_order",
                           "r_lower", "r_upper", "r_a_priori", "rel_deviation")}
    for r in rs:
        u, _ = trimmed_ridge_point(X, y, float(r), pruned=T)
        u = polish(X, y, u, T, float(r), c, "gaussian")
        cost = pruning_cost(X, y, u, T, float(r))
        loss = _loss("gaussian")
        measured = loss(X, y, np.where(T, 0.0, u)) - loss(X, y, u)
        out["r"].append(float(r))
        out["a"].append(float(r / (1.0 + r)))
        out["r_measured"].append(r * measured)
        out["r_predicted"].append(r * cost.predicted)
        out["r_first_order"].append(r * 2.0 * cost.penalty)
        out["r_lower"].append(r * cost.lower)
        out["r_upper"].append(r * cost.upper)
        out["r_a_priori"].append(r * cost.a_priori)
        out["rel_deviation"].append(abs(measured - cost.predicted) / measured)
    out["gamma"] = RATE_GAMMA
    out["targeted_set"] = [int(j) for j in np.flatnonzero(T)]
    out["limit"] = limit
    out["ratio_to_limit_at_largest_r"] = out["r_measured"][-1] / limit
    return out


def compute(ctx: Context) -> dict:
    """All panels' data, on one BLAS thread (d = 40: a second thread only adds contention,
    measured 0.4 s against 8 s on two shared cores, and one thread keeps the sums' order)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _compute(ctx)


def _compute(ctx: Context) -> dict:
    gammas = QUICK_GAMMAS if ctx.quick else GAMMAS
    X, y, w = design(ctx.rng(SALT, 0), N_GAUSSIAN, "gaussian")
    ls_fit = np.linalg.lstsq(X, y, rcond=None)[0]
    gaussian, sets = identity_panel(X, y, gammas, "gaussian", None, ls_fit)
    gaussian["w_true"] = w

    Xb, yb, wb = design(ctx.rng(SALT, 1), N_LOGISTIC, "binomial", LOGISTIC_SHRINK)
    c = 0.25 * (Xb**2).sum(0) / Xb.shape[0]  # curvature weight of the null model θ = 0
    mle, _ = trimmed_ridge_point(Xb, yb, 1.0, pruned=np.zeros(D, bool), family="binomial")
    logistic, _ = identity_panel(Xb, yb, gammas, "binomial", c, mle)
    logistic["w_true"] = wb
    logistic["c"] = c

    T = sets[min(sets, key=lambda g: abs(g - RATE_GAMMA))]
    rate = rate_panel(X, y, T, QUICK_RATE_POINTS if ctx.quick else RATE_POINTS)
    settings = {"d": D, "n_gaussian": N_GAUSSIAN, "n_logistic": N_LOGISTIC,
                "scale_ratio": RATIO, "corr": CORR, "w_magnitudes": [W_LOW, W_HIGH],
                "logistic_shrink": LOGISTIC_SHRINK, "noise": NOISE, "a": A, "r": A / (1 - A),
                "gammas": [float(g) for g in gammas], "seed": ctx.seed, "quick": ctx.quick}
    return {"settings": settings, "gaussian": gaussian, "logistic": logistic, "rate": rate}


def _at(panel: dict, gamma: float) -> int:
    return int(np.argmin(np.abs(np.asarray(panel["gamma"]) - gamma)))


def _summary(data: dict) -> str:
    g, b, rate = data["gaussian"], data["logistic"], data["rate"]
    i, j = _at(g, 0.5), _at(b, 0.5)
    return (
        "The loss increase of pruning T equals the identity's 2P_T + R to "
        f"{max(g['rel_deviation']):.1e} (gaussian) and {max(b['rel_deviation']):.1e} "
        "(logistic) relative, at every γ; at γ = 0.5 (a = 0.5) pruning the targeted set costs "
        f"{g['measured'][i]:.3g} against {g['contrast'][i]:.3g} for the least-squares fit "
        f"pruned by magnitude (ratio {g['measured'][i] / g['contrast'][i]:.3g}), logistic "
        f"{b['measured'][j]:.3g} against {b['contrast'][j]:.3g} "
        f"(ratio {b['measured'][j] / b['contrast'][j]:.3g}); the first-order part 2P_T is "
        f"{g['first_order'][i] / g['measured'][i]:.2f} of ΔL there (gaussian). Counting "
        "the fit the fixed point gives up, the loss after pruning exceeds the full fit's by "
        f"{g['targeted_after_pruning_excess'][i]:.3g} against {g['contrast'][i]:.3g} "
        f"(gaussian) and {b['targeted_after_pruning_excess'][j]:.3g} against "
        f"{b['contrast'][j]:.3g} (logistic). "
        f"r·ΔL reaches {rate['r_measured'][-1]:.4g} at a = 0.999 (r = 999), "
        f"{rate['ratio_to_limit_at_largest_r']:.4f} × the limit {rate['limit']:.4g}."
    )


COLOURS = {"measured": "black", "predicted": "#d62728", "first_order": "#1f77b4",
           "band": "#ff7f0e", "contrast": "0.45", "limit": "#2ca02c"}


def _identity_axes(ax, panel: dict, title: str, contrast_label: str):
    """Draw one identity panel; returns the contrast curve's handle."""
    x = np.asarray(panel["pruned"]) / D
    ax.fill_between(x, panel["lower"], panel["upper"], color=COLOURS["band"], alpha=0.25, lw=0,
                    label=r"bounds $(2 + \kappa^\mp/r)\,P_T$")
    (contrast,) = ax.plot(x, panel["contrast"], "s-", color=COLOURS["contrast"], ms=3.5,
                          lw=1.2, label=contrast_label)
    ax.plot(x, panel["first_order"], "--", color=COLOURS["first_order"], lw=1.4,
            label=r"first-order part $2P_T$")
    ax.plot(x, panel["predicted"], "-", color=COLOURS["predicted"], lw=1.6,
            label=r"identity $2P_T + R$")
    ax.plot(x, panel["measured"], "o", mfc="none", color=COLOURS["measured"], ms=6, mew=1.1,
            label=r"measured $\Delta L = L(u^0) - L(u)$")
    ax.set_yscale("log")
    ax.set(xlabel="pruned fraction |T|/d (targeted fraction γ)",
           ylabel="loss increase from pruning T", title=title, xlim=(0, 1))
    return contrast


@figure(
    "pruning-identity",
    title="Pruning the targeted set: the identity ΔL = 2P_T + R against the measured loss",
    shows=(
        "proofs/T12 on seeded gaussian designs (d = 40, column scales spread over 10, "
        "equicorrelated ρ = 0.3, |w| spread over two decades, 0.02 to 2). Left: gaussian, "
        "n = 400, noise 0.5, a = 0.5: at the rank-consistent trimmed-ridge fixed point "
        "(trimmed_ridge_point, then three Newton steps on its set) for each targeted "
        "fraction γ = 0.05 … 0.95, the measured loss increase of pruning T against the "
        "identity 2P_T + R, its first-order part 2P_T and the bounds (2 + κ∓/r)P_T, with the "
        "least-squares fit pruned by magnitude for contrast. Middle: the same for a logistic "
        "model (n = 1000, w halved, c fixed at the null model's curvature ¼‖X_j‖²/n, R by "
        "16-node Gauss–Legendre, "
        "contrast: the unpenalised fit). Right: r·ΔL against r = a/(1 − a), a = 0.05 … 0.999, "
        "for the gaussian γ = 0.5 set (of a = 0.5) held fixed, with its limit "
        "‖C_T^{-1/2}∇_T L(u_K*)‖² and "
        "r times the a-priori bound. Log axes; deterministic float64, nothing trained."
    ),
    claims=("T12.pruning-identity", "T12.pruning-bounds", "T12.pruning-rate"),
    order=8,  # right after targeted-pruning
    check=(
        Close("pruning-identity.json/*/rel_deviation/*", rtol=0.0, atol=1e-8,
              why="|measured − predicted|/measured is rounding: the measured ΔL is a difference "
              "of two losses (≈ 0.1 to 0.4) and loses up to ~1e-9 relative where ΔL ≈ 1e-7 "
              "(logistic, smallest γ; measured 2e-10); compared absolutely"),
        Close("pruning-identity.json/summary/max_rel_deviation_*", rtol=0.0, atol=1e-8,
              why="the largest of the rel_deviation values: rounding, compared absolutely"),
        Close("pruning-identity.json/*/stationarity/*", rtol=0.0, atol=1e-12,
              why="the polished fixed point's gradient residual on T: rounding (≲ 1e-15)"),
        Close("pruning-identity.json/*/solver_residual/*", rtol=0.0, atol=1e-8,
              why="where the library's trust-exact stops before the polish: decided by "
              "float64 noise in the objective's decrease (≲ 3e-10 measured), not by a bound"),
        Close("pruning-identity.json/*", rtol=1e-7, atol=1e-14,
              why="deterministic float64 on a seeded design, nothing trained: the fixed points "
              "are exact to rounding after the Newton polish (the library's trust-exact, "
              "gtol 1e-12, gives the start), and a loss difference as small as 1e-7 keeps "
              "~1e-9 relative; 1e-7 leaves room for BLAS summation order and the solver's "
              "stopping point"),
    ),
)
def make(ctx: Context) -> Output:
    """Compute the three panels (the same code in quick mode, coarser grids) and draw them."""
    from matplotlib.ticker import NullLocator

    plt = pyplot()
    data = compute(ctx)
    fig, axes = plt.subplots(1, 3, figsize=(15.5, 5.0), constrained_layout=True)
    _identity_axes(axes[0], data["gaussian"],
                   f"gaussian (n = {N_GAUSSIAN}, d = {D}), a = {A}",
                   "least-squares fit, smallest |w| pruned")
    contrast = _identity_axes(axes[1], data["logistic"],
                              f"logistic (n = {N_LOGISTIC}, d = {D}), a = {A}",
                              "max-likelihood fit, smallest |w| pruned")
    axes[0].legend(loc="lower right", frameon=False)
    axes[1].legend(handles=[contrast], loc="lower right", frameon=False,
                   title="other curves as on the left", title_fontsize=8)

    rate = data["rate"]
    ax = axes[2]
    r = np.asarray(rate["r"])
    ax.fill_between(r, rate["r_lower"], rate["r_upper"], color=COLOURS["band"], alpha=0.25,
                    lw=0, label=r"$r\,(2 + \kappa^\mp/r)\,P_T$")
    ax.plot(r, rate["r_a_priori"], ":", color="0.3", lw=1.6,
            label=r"$r\times$ a-priori bound $(2 + \kappa^+/r)\,\Vert C_T^{-1/2}g^0\Vert^2/(2r)$")
    ax.plot(r, rate["r_predicted"], "-", color=COLOURS["predicted"], lw=1.6,
            label=r"$r\,(2P_T + R)$")
    ax.plot(r, rate["r_measured"], "o", mfc="none", color=COLOURS["measured"], ms=6, mew=1.1,
            label=r"measured $r\,\Delta L$")
    ax.axhline(rate["limit"], color=COLOURS["limit"], lw=1.4, ls="--",
               label=r"limit $\Vert C_T^{-1/2}\nabla_T L(u_K^\star)\Vert^2$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel=r"$r = a/(1 - a)$", ylabel=r"$r\,\Delta L$",
           title=f"gaussian, T fixed (γ = {RATE_GAMMA}, |T| = {len(rate['targeted_set'])})")
    top = ax.secondary_xaxis("top", functions=(lambda v: v / (1.0 + v),
                                               lambda v: v / np.maximum(1.0 - v, 1e-12)))
    top.set_xticks([0.05, 0.5, 0.9, 0.99, 0.999])
    top.set_xticklabels(["0.05", "0.5", "0.9", "0.99", "0.999"])
    top.xaxis.set_minor_locator(NullLocator())
    top.set_xlabel("drop probability a")
    ax.legend(loc="upper right", frameon=False)
    fig.suptitle(r"Pruning the targeted set T at a trimmed-ridge fixed point costs exactly "
                 r"$\Delta L = 2P_T + R$, inside $(2 + \kappa^\mp/r)\,P_T$, and "
                 r"$r\,\Delta L$ tends to a finite limit (proofs/T12)", fontsize=10.5)
    summary = _summary(data)
    data["summary"] = {
        "max_rel_deviation_gaussian": max(data["gaussian"]["rel_deviation"]),
        "max_rel_deviation_logistic": max(data["logistic"]["rel_deviation"]),
        "ratio_to_contrast_at_half_gaussian":
            data["gaussian"]["measured"][_at(data["gaussian"], 0.5)]
            / data["gaussian"]["contrast"][_at(data["gaussian"], 0.5)],
        "ratio_to_contrast_at_half_logistic":
            data["logistic"]["measured"][_at(data["logistic"], 0.5)]
            / data["logistic"]["contrast"][_at(data["logistic"], 0.5)],
        "r_delta_at_largest_r": rate["r_measured"][-1],
        "limit": rate["limit"],
    }
    return Output(fig, {"pruning-identity.json": data}, summary)
