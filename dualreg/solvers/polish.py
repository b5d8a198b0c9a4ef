r"""Phase 2 of the IRLS: active-set Newton (Levenberg–Marquardt when indefinite) on the target F.

On the free coefficients S (nonzero or unpenalised) the Newton system is

.. math::

    \big(\nabla^2_{SS}L + \mathrm{diag}(\lambda_j\Omega''(|w_j|))\big)\,d = -\nabla_S F ,

(Ω'' by central differences of Ω'), shifted by the smallest μ·mean(diag ∇²L) that makes it
positive definite (nonconvex penalties), and replaced by the MM (η-trick, ε = 0) direction —
weights :math:`\lambda_j\Omega'(|w_j|)/|w_j|` — when no shift works or the step does not
descend. An Armijo search on F keeps every coefficient on its orthant (a crossing coefficient
is set to exactly 0 and leaves S); every zero violating :math:`|\nabla_j L| \le
\lambda_j\Omega'(0^+)` is re-admitted on the orthant of :math:`-\mathrm{sign}\,\nabla_j L`. The
polish stops at stationarity :math:`\max_j \mathrm{dist}(-\nabla_j L, \lambda_j\partial\Omega(w_j))
\le` ``tol``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualreg.solvers.line_search import armijo
from dualreg.solvers.linear import gram_matrix, try_cholesky
from dualreg.solvers.problem import Problem

Array = np.ndarray

__all__ = ["hessian_blocks", "newton_direction", "orthant_line_search", "polish"]


def polish(problem: Problem, w: Array, b: float, trace: Any, *, tol: float, max_steps: int,
           n_iter: int) -> tuple[Array, float, int, bool]:
    """Up to ``max_steps`` polish steps from (w, b) (module docstring), each recorded through
    ``trace.record`` and reported through ``trace.report``. Returns (w, b, n_iter, stopped by
    the callback)."""
    lam = problem.lam
    unpen = lam == 0
    stop = False
    for _ in range(max_steps):
        free = ((w != 0) | unpen) & problem.informative
        theta, g, gb, st, dist = problem.evaluate(w, b)
        if st <= tol:
            break
        f0 = problem.loss(theta) + problem.pen_value(w)
        st_free = max(float(np.max(dist[free])) if np.any(free) else 0.0,
                      abs(gb) if problem.has_b else 0.0)
        viol = np.where(~free & problem.informative, dist, 0.0)
        vmax = float(np.max(viol)) if viol.size else 0.0
        added = np.zeros(problem.d, dtype=bool)
        if vmax > tol and st_free <= 0.5 * vmax:
            added = viol > tol
        step = None
        for _k in range(4):
            S = np.flatnonzero(free | added)
            sign = np.sign(w)
            sign[added] = -np.sign(g[added])
            # gradient of F on the orthant of sign (re-admitted zeros: the descent orthant)
            gF = g[S] + np.where(unpen[S], 0.0, lam[S] * sign[S] * problem.slope(w[S]))
            if problem.has_b:
                gF = np.concatenate([gF, [gb]])
            step = newton_direction(problem, w, S, gF, theta)
            if step is None:
                break
            wrong = added[S] & (step[: S.size] * sign[S] <= 0)
            if not np.any(wrong):
                break
            added[S[wrong]] = False  # that zero does not want to leave: keep it at 0
            step = None
        if step is None:
            break
        moved = orthant_line_search(problem, w, b, S, step, sign[S], theta, f0, gF)
        if moved is None:
            break
        w, b = moved
        n_iter += 1
        trace.record(w, b, 0.0, "newton")
        if trace.report(n_iter, w, problem.final_intercept(w, b)):
            stop = True
            break
    return w, b, n_iter, stop


def orthant_line_search(problem: Problem, w: Array, b: float, S: Array, step: Array,
                        sgn: Array, theta: Array, f0: float,
                        gF: Array) -> tuple[Array, float] | None:
    """Armijo backtracking along ``step`` on S (+ b) for the target F; (w, b) or None.

    Kink penalties keep each coefficient on its orthant (sign ``sgn``): first the projected
    step (coefficients that would cross zero are set to exactly 0, so that many can leave the
    support at once), with the Armijo test on the actual displacement; failing that, the step
    to the first zero crossing and its halvings. The full step is also accepted within
    rounding (``predicted`` of :func:`~dualreg.solvers.line_search.armijo`).
    """
    n_s = S.size
    dS = step[:n_s]
    db = float(step[-1]) if problem.has_b else 0.0
    wS = w[S]
    XS = problem.X[:, S]
    unpenS = problem.lam[S] == 0
    predicted = float(gF @ step)

    def at(new_S: Array, alpha: float) -> tuple[float, float, tuple[Array, float]]:
        w_new = w.copy()
        w_new[S] = new_S
        th = theta + XS @ (new_S - wS) + alpha * db
        f1 = problem.loss(th) + problem.pen_value(w_new)
        disp = np.concatenate([new_S - wS, [alpha * db]]) if problem.has_b else new_S - wS
        return f1, float(gF @ disp), (w_new, b + alpha * db)

    if not problem.kink:
        found = armijo(lambda alpha: at(wS + alpha * dS, alpha), f0, predicted=predicted)
        return None if found is None else found[1]

    ref = np.where(wS != 0, np.sign(wS), sgn)

    def projected(alpha: float) -> tuple[float, float, tuple[Array, float]]:
        new_S = wS + alpha * dS
        return at(np.where((new_S * ref < 0) & ~unpenS, 0.0, new_S), alpha)

    found = armijo(projected, f0, max_steps=30, predicted=predicted)
    if found is not None:
        return found[1]
    toward = (wS != 0) & (np.sign(dS) == -np.sign(wS)) & ~unpenS
    if not np.any(toward):
        return None
    ratios = np.full(n_s, np.inf)
    ratios[toward] = np.abs(wS[toward]) / np.abs(dS[toward])
    amax = float(np.min(ratios))
    hit = ratios <= amax * (1 + 1e-12)

    def to_crossing(alpha: float) -> tuple[float, float, tuple[Array, float]]:
        new_S = wS + alpha * dS
        if alpha == amax:
            new_S[hit] = 0.0
        return at(new_S, alpha)

    found = armijo(to_crossing, f0, alpha=min(1.0, amax))
    return None if found is None else found[1]


def hessian_blocks(problem: Problem, S: Array, theta: Array) -> tuple[Array | None, Array]:
    """(dense Hessian of L on S (+ b), or None when |S| (+1) > n; the weighted design)."""
    n = problem.n
    XS = problem.X[:, S]
    if problem.quadratic:
        if problem.gram is not None:
            return problem.gram[np.ix_(S, S)], XS
        if S.size <= n:
            return gram_matrix(XS) / n, XS
        return None, XS
    W = problem.curvature(theta)
    Xaug = np.column_stack([XS, np.ones(n)]) if problem.has_b else XS
    Xt = Xaug * np.sqrt(W)[:, None]
    if Xt.shape[1] <= n:
        return gram_matrix(Xt) / n, Xt
    return None, Xt


def newton_direction(problem: Problem, w: Array, S: Array, gF: Array,
                     theta: Array) -> Array | None:
    """Newton direction on S (+ b) for F at w (module docstring): Levenberg–Marquardt shifted
    when the Hessian is indefinite; the MM direction when no shift works or the step is not a
    descent direction; None when that fails too.

    Hessian: ∇²L + diag(λ_j Ω''(|w_j|)) (0 for zeros and unpenalised coordinates);
    MM weights: λ_j Ω'(|w_j|)/|w_j| ≥ 0.
    """
    lam = problem.lam
    solver = problem.linear_solver
    wS = w[S]
    unpenS = lam[S] == 0
    H, Xt = hessian_blocks(problem, S, theta)
    extra = [0.0] if problem.has_b else []
    q = np.where(unpenS | (wS == 0), 0.0, lam[S] * problem.curv(wS))
    qfull = np.concatenate([q, extra])

    def descent(step: Array | None) -> bool:
        return step is not None and bool(np.all(np.isfinite(step))) and float(gF @ step) < 0

    step = None
    if H is not None:
        M = H + np.diag(qfull)
        step = try_cholesky(M, -gF)
        if step is None and np.any(qfull < 0):
            # Levenberg–Marquardt: the smallest shift μ·mean(diag H) (μ = 1e-8, 1e-6, …, 1)
            # that makes the Hessian positive definite; μ → 0 near a strict local minimum,
            # where the Newton step takes over (superlinear, unlike the MM direction).
            scale = float(np.mean(np.abs(np.diag(H)))) or 1.0
            for mu in (1e-8, 1e-6, 1e-4, 1e-2, 1.0):
                step = try_cholesky(M + mu * scale * np.eye(M.shape[0]), -gF)
                if step is not None:
                    break
    elif np.all(qfull >= 0):
        step = -solver.solve(Xt, qfull, gF)
    if descent(step):
        return step
    with np.errstate(divide="ignore", invalid="ignore"):
        mm = np.where(unpenS | (wS == 0), 0.0, lam[S] * problem.slope(wS) / np.abs(wS))
    mfull = np.concatenate([np.where(np.isfinite(mm), mm, 0.0), extra])
    step = (solver.solve(Xt, mfull, -gF, gram=H) if H is not None
            else -solver.solve(Xt, mfull, gF))
    return step if descent(step) else None
