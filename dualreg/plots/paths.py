r"""Figure ``paths``: regularization paths by the η-trick IRLS with warm starts (diabetes).

Data: scikit-learn's diabetes (n = 442, d = 10), every column standardised (mean 0, variance 1,
so every column scale :math:`c_j = \|X_{:,j}\|^2/n = 1`) and y standardised; gaussian family,
mean-loss scaling, intercept fitted. For each penalty the λ grid runs from λ_max (the smallest
λ at which w = 0 is stationary, :func:`dualreg.solvers.lam_max`) down to 1e-3·λ_max, log-spaced,
and each solve of :func:`dualreg.solvers.irls` starts from the previous solution
(:func:`dualreg.solvers.irls_path`).

Penalties: ℓ1 (the lasso path), ℓ0.5 (:math:`\Omega = 2\sqrt{|w|}`: infinite slope at 0, so w = 0
is stationary for every λ and there is no λ_max; its grid is the ℓ1 grid), LogSum(ε = 0.1),
MCP(a = 3, scale 1) and the penalty that variational dropout with KL weight λ induces,
:math:`\lambda\,\Omega_{VD}(\sqrt{c/\lambda}\,w)` with :math:`\Omega_{VD}` the exact
:class:`dualreg.penalties.VarDrop` (proofs/T7, theorem T7.1(e)): not λ times a fixed penalty,
since its kink :math:`\sqrt{\lambda c}` and its LogSum-like tail both move with λ
(λ_max = ‖∇L(0)‖∞²/c). That path is traced by :func:`dualreg.solvers.irls` with the same warm
starts, one rescaled penalty object per λ (:class:`dualreg.penalties.Rescaled`). The last
panel counts the nonzero coefficients along every path.
"""

from __future__ import annotations

import warnings

import numpy as np

from dualreg.penalties import Penalty, Rescaled
from dualreg.plots._common import Context, Output, pyplot
from dualreg.plots.check import Close
from dualreg.plots.registry import figure


def diabetes() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Standardised diabetes features and response, and the feature names."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    X = (data.data - data.data.mean(0)) / data.data.std(0)
    y = (data.target - data.target.mean()) / data.target.std()
    return X, y, list(data.feature_names)


def penalties() -> list[tuple[str, Penalty | None]]:
    """(label, penalty); ``None`` marks the λ-dependent VarDrop penalty."""
    from dualreg.penalties import L1, MCP, LogSum, Lp

    return [("ℓ1 (lasso)", L1()), ("ℓ0.5", Lp(0.5)), ("LogSum(ε=0.1)", LogSum(0.1)),
            ("MCP(a=3)", MCP(3.0, 1.0)), ("VarDrop, KL weight λ", None)]


def vardrop_path(X: np.ndarray, y: np.ndarray, lams: np.ndarray) -> np.ndarray:
    r"""IRLS along ``lams`` (decreasing) for :math:`\lambda\Omega_{VD}(w/\sqrt{\lambda})`
    (c_j = 1), warm-started."""
    from dualreg.penalties import VarDrop
    from dualreg.solvers import irls

    base = VarDrop()
    coefs, init = [], "auto"
    for lam in lams:
        res = irls(X, y, Rescaled(base, np.sqrt(lam)), lam, init=init, tol=1e-9)
        coefs.append(res.coef)
        init = res
    return np.array(coefs)


@figure(
    "paths",
    title="Regularization paths by warm-started IRLS (diabetes)",
    shows=(
        "Standardised diabetes data (10 features, y standardised). Coefficients against λ (from "
        "λ_max down, each solve warm-started from the previous one) for ℓ1, ℓ0.5, LogSum(ε = 0.1),"
        " MCP(a = 3) and the penalty variational dropout with KL weight λ induces, λΩ_VD(w/√λ) "
        "(c_j = 1); last panel: number of nonzeros."
    ),
    claims=("T5.fixed-point-stationary", "T5.zero-absorbing", "T7.vardrop"),
    order=5,
    check=(Close("paths.json/*", rtol=1e-6, atol=1e-9, why="IRLS paths converged to the "
                 "solver's tolerance, not to the last bit"),),
)
def make(ctx: Context) -> Output:
    """Trace the five paths and draw them."""
    from dualreg.penalties import L1
    from dualreg.solvers import irls_path, lam_max

    plt = pyplot()
    X, y, names = diabetes()
    n_lams = 12 if ctx.quick else 50
    grid = np.logspace(0.0, -3.0, n_lams)
    lmax_l1 = lam_max(X, y, L1())
    results = {}
    for label, pen in ctx.bar(penalties(), desc="paths: penalties"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            if pen is None:
                lmax = lmax_l1**2  # √λ_max = ‖∇L(0)‖∞ (c = 1)
                lams = lmax * grid
                coefs = vardrop_path(X, y, lams)
            else:
                try:
                    lmax = lam_max(X, y, pen)
                except ValueError:
                    lmax = lmax_l1
                lams = lmax * grid
                coefs = irls_path(X, y, pen, lams, tol=1e-9).coefs
        results[label] = {"lam": lams, "lam_max": lmax, "coef": coefs,
                          "nonzero": (coefs != 0).sum(axis=1)}

    fig, axes = plt.subplots(2, 3, figsize=(14, 7.6), constrained_layout=True, sharex=True)
    colours = plt.cm.tab10(np.arange(X.shape[1]))
    # One shared axis, λ/λ_max, so the panels line up (each panel states its λ_max).
    for ax, (label, r) in zip(axes.flat, results.items(), strict=False):
        for j in range(X.shape[1]):
            ax.plot(r["lam"] / r["lam_max"], r["coef"][:, j], color=colours[j], lw=1.5,
                    marker=".", ms=3, label=names[j])
        ax.set_xscale("log")
        ax.axhline(0.0, color="black", lw=0.6)
        ax.set(title=f"{label}   (λ_max = {r['lam_max']:.3g})", ylabel="coefficient")
        ax.tick_params(labelbottom=True)
    axes.flat[0].legend(ncol=2, fontsize=7, frameon=False, loc="upper left")
    ax = axes.flat[5]
    for k, (label, r) in enumerate(results.items()):
        ax.plot(r["lam"] / r["lam_max"], r["nonzero"], marker="o", ms=3, lw=1.4,
                label=label, drawstyle="steps-post", color=plt.cm.Dark2(k))
    axes.flat[0].invert_xaxis()  # shared: every panel runs from λ_max down
    for a in axes[1]:
        a.set_xlabel("λ / λ_max (decreasing →; ℓ1's λ_max for ℓ0.5)")
    ax.set(title="support size",
           ylabel="number of nonzero coefficients", ylim=(-0.3, X.shape[1] + 0.3))
    ax.legend(fontsize=7.5, frameon=False, loc="upper left")
    fig.suptitle("Regularization paths on standardised diabetes (n = 442, d = 10): η-trick IRLS, "
                 "each λ warm-started from the previous", fontsize=10)
    data = {"features": names, "grid_relative": grid, "paths": results}
    summary = "; ".join(
        f"{label.split(' ')[0].rstrip(',')}: first nonzero at λ/λ_max = "
        f"{_first_active(r):.3g}, {int(r['nonzero'][-1])} nonzero at 1e-3·λ_max"
        for label, r in results.items()
    ) + "."
    return Output(fig, {"paths.json": data}, summary)


def _first_active(r: dict) -> float:
    idx = np.flatnonzero(r["nonzero"] > 0)
    return float(r["lam"][idx[0]] / r["lam_max"]) if idx.size else float("nan")
