r"""The majorise–minimise (η-trick) step and the weighted ridge it solves.

For :math:`\Omega(w) = \tfrac12\min_\eta[w^2/\eta + f(\eta)]` (docs/conventions.md §3), fixing
:math:`\eta_j = \hat\eta_\varepsilon(w_j) = \hat\eta(\sqrt{w_j^2+\varepsilon})` gives the majoriser

.. math::

    Q(w) = L(w) + \tfrac12\sum_j \delta_j w_j^2 + \text{const},
    \qquad \delta_j = \lambda_j/\eta_j ,

tight at the current iterate; one MM step minimises it (one linear solve when L is quadratic)
or decreases it (one damped Newton step with an Armijo search otherwise). :math:`\delta_j = 0`
for unpenalised coordinates and where :math:`\hat\eta = \infty` (Ω flat there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualreg._validation import as_finite_array
from dualreg.families import get_family
from dualreg.solvers.contract import check_family, check_penalty
from dualreg.solvers.line_search import armijo
from dualreg.solvers.linear import AutoLinearSolver, GramCholesky
from dualreg.solvers.problem import Problem, check_data, check_lam

Array = np.ndarray
GRAM_SOLVERS = (GramCholesky, AutoLinearSolver)

__all__ = ["eta_trick_update", "mm_step", "ridge_init", "ridge_start", "ridge_weights",
           "smoothed_eta", "weighted_ridge"]


def smoothed_eta(penalty: Any, w: Array, eps: float) -> Array:
    r""":math:`\hat\eta(\sqrt{w^2+\varepsilon})` (:math:`\hat\eta(w)` when ε = 0)."""
    with np.errstate(all="ignore"):
        return penalty.eta_hat(np.sqrt(w**2 + eps) if eps > 0 else w)


def ridge_weights(lam: Array, eta: Array) -> Array:
    r"""The majoriser's ridge weights :math:`\delta_j = \lambda_j/\eta_j` (0 where λ_j = 0 or
    η_j = ∞; +∞ where η_j = 0)."""
    with np.errstate(divide="ignore"):
        return np.where(np.isinf(eta) | (lam == 0), 0.0, lam / eta)


def weighted_ridge(problem: Problem, w: Array, b: float, active: Array, delta: Array,
                   max_newton: int = 1) -> tuple[Array, float]:
    r"""argmin (or a decrease) of :math:`Q(w) = L(w) + \tfrac12\sum_j \delta_j w_j^2` over the
    active coordinates (the others stay as they are, 0 in practice).

    Quadratic L: one solve of :math:`(X_A^\top X_A/n + \mathrm{diag}\,\delta)w = X_A^\top y/n`.
    Otherwise ``max_newton`` damped Newton steps, each
    :math:`(\tilde X^\top W \tilde X/n + \mathrm{diag}\,\delta)v = \tilde X^\top(W\theta - (\mu -
    y))/n` with X̃ = [X_A, 1] (b unpenalised), backtracking (Armijo) on Q.
    """
    n = problem.n
    solver = problem.linear_solver
    w = w.copy()
    if problem.quadratic:
        full = active.size == problem.d
        rhs = problem.xty if full else problem.xty[active]
        if problem.gram is not None and isinstance(solver, GRAM_SOLVERS):
            # these solvers use the Gram alone: no n × k copy of the columns
            G = problem.gram if full else problem.gram[np.ix_(active, active)]
            w[active] = solver.solve(problem.X, delta, rhs, gram=G)
        else:
            w[active] = solver.solve(problem.X[:, active], delta, rhs)
        return w, b
    XA = problem.X if active.size == problem.d else problem.X[:, active]  # no copy if all
    Xaug = np.column_stack([XA, np.ones(n)]) if problem.has_b else XA  # once, not per step
    dfull = np.concatenate([delta, [0.0]]) if problem.has_b else delta
    for _ in range(max_newton):
        theta = problem.theta(w, b, active)
        resid = problem.residual(theta)  # s·(μ − y)
        W = problem.curvature(theta)
        rhs = Xaug.T @ (W * theta - resid) / n
        x0 = np.concatenate([w[active], [b]]) if problem.has_b else w[active]
        step = solver.solve(Xaug * np.sqrt(W)[:, None], dfull, rhs) - x0
        grad_q = Xaug.T @ resid / n + dfull * x0
        q0 = problem.loss(theta) + 0.5 * float(np.sum(dfull * x0 * x0))
        slope = float(grad_q @ step)
        if not slope < 0:
            break
        Xs = Xaug @ step

        def trial(alpha: float, x0: Array = x0, theta: Array = theta, Xs: Array = Xs,
                  step: Array = step, slope: float = slope) -> tuple[float, float, Array]:
            x1 = x0 + alpha * step
            q1 = problem.loss(theta + alpha * Xs) + 0.5 * float(np.sum(dfull * x1 * x1))
            return q1, alpha * slope, x1

        accepted = armijo(trial, q0)
        if accepted is None:
            break
        x1 = accepted[1]
        w[active] = x1[: active.size]
        if problem.has_b:
            b = float(x1[-1])
    return w, b


def ridge_init(problem: Problem, newton_steps: int = 50) -> tuple[Array, float]:
    """Ridge start: argmin L(w) + ½ Σ λ_j w_j² (weights λ_j).

    Non-quadratic L: damped Newton to 1e-10 relative change, or ``newton_steps`` steps
    (2 for convex penalties, whose minimum does not depend on the start)."""
    active = np.flatnonzero(problem.informative)
    delta = problem.lam[active].copy()
    w = np.zeros(problem.d)
    b = problem.null_intercept()
    if active.size == 0:
        return w, b
    if problem.quadratic:
        return weighted_ridge(problem, w, b, active, delta)
    last = np.inf
    for _ in range(newton_steps):
        w, b = weighted_ridge(problem, w, b, active, delta, max_newton=1)
        theta = problem.theta(w, b, active)
        val = problem.loss(theta) + 0.5 * float(np.sum(delta * w[active] ** 2))
        if abs(last - val) <= 1e-10 * max(1.0, abs(val)):
            break
        last = val
    return w, b


def ridge_start(problem: Problem) -> tuple[Array, float]:
    r"""Ridge start for a lazy (possibly sparse) problem: argmin L(w, b) + ½ Σ λ_j w_j² by
    L-BFGS (``scipy.optimize.minimize``) on θ = X̃w + b, which needs products with X and Xᵀ
    only — no Gram, no copy of X. λ_j = 0 columns get the smallest positive λ (a ridge start
    must exist when d > n)."""
    from scipy import optimize  # lazy: scipy.optimize costs ~0.3 s to import

    lam = problem.lam.copy()
    pos = lam[lam > 0]
    lam[lam == 0] = pos.min() if pos.size else 1e-6
    lam[~problem.informative] = 1.0
    d = problem.d

    def fun(x: Array) -> tuple[float, Array]:
        w, b = x[:d], (x[d] if problem.has_b else 0.0)
        theta = problem.theta(w, b)
        g, gb = problem.grad(theta)
        f = problem.loss(theta) + 0.5 * float(np.sum(lam * w * w))
        grad = g + lam * w
        return f, (np.append(grad, gb) if problem.has_b else grad)

    x0 = np.zeros(d + int(problem.has_b))
    if problem.has_b:
        x0[-1] = problem.null_intercept()
    x = optimize.minimize(fun, x0, jac=True, method="L-BFGS-B",
                          options=dict(maxiter=1000, gtol=1e-10, ftol=1e-14)).x
    w = np.where(problem.informative, x[:d], 0.0)
    return w, (float(x[d]) if problem.has_b else 0.0)


def mm_step(problem: Problem, w: Array, b: float, active_mask: Array, *, eps: float,
            eta_floor: float) -> tuple[Array, float] | None:
    r"""One MM iteration on the active coordinates: :math:`\eta_j = \hat\eta_\varepsilon(w_j)`,
    then :func:`weighted_ridge` with :math:`\delta_j = \lambda_j/\eta_j`.

    A penalised coordinate whose weight is at or below ``eta_floor`` is an exact zero: it is set
    to 0 in ``w`` and removed from ``active_mask`` *in place* (so that ``w`` afterwards is the
    point the step starts from). Returns the new (w, b), or None when no coordinate is left.
    """
    active = np.flatnonzero(active_mask)
    if active.size == 0:
        return None
    unpen = problem.lam[active] == 0
    eta = smoothed_eta(problem.penalty, w[active], eps)
    frozen = (eta <= eta_floor) & ~unpen
    if np.any(frozen):
        w[active[frozen]] = 0.0
        active_mask[active[frozen]] = False
        active, eta = active[~frozen], eta[~frozen]
        if active.size == 0:
            return None
    delta = ridge_weights(problem.lam[active], eta)
    return weighted_ridge(problem, w, b, active, delta)


def eta_trick_update(
    X: Any,
    y: Any,
    w: Any,
    penalty: Any,
    lam: Any,
    family: str = "gaussian",
    fit_intercept: bool = False,
    eps: float = 0.0,
    intercept: float = 0.0,
) -> tuple[Array, float]:
    r"""One η-trick (MM) update from w: :math:`\eta_j = \hat\eta(\sqrt{w_j^2+\varepsilon})`, then
    :math:`w^+ = \arg\min_w L(w) + \tfrac12\sum_j \lambda_j w_j^2/\eta_j` (exact for gaussian,
    one damped Newton step otherwise). Returns ``(w_plus, intercept_plus)``.

    By docs/conventions.md §4 this is the update of adaptive dropout with keep probabilities
    :math:`\alpha_j = c_j\eta_j/(c_j\eta_j + \lambda)` in expectation.
    """
    fam = get_family(family)
    check_family(fam)
    check_penalty(penalty)
    X, y = check_data(X, y, fam)
    lamv = check_lam(lam, X.shape[1])
    w = as_finite_array(w, "w").copy()
    problem = Problem(X, y, penalty, lamv, fam, bool(fit_intercept))
    active = np.flatnonzero(problem.informative)
    delta = ridge_weights(lamv[active], smoothed_eta(penalty, w[active], eps))
    # η = 0 (a zero weight of a penalty with a kink, ε = 0): the ridge weight λ/η is +∞, so the
    # coefficient stays exactly 0 (docs/conventions.md §3: η̂ = 0 is absorbing) and leaves the
    # solve.
    pinned = np.isinf(delta)
    w[active[pinned]] = 0.0
    active, delta = active[~pinned], delta[~pinned]
    b = intercept if problem.has_b else 0.0
    w2, b2 = weighted_ridge(problem, w, b, active, delta)
    return w2, problem.final_intercept(w2, b2)
