r"""A proximal coordinate sweep: moves every coefficient that is not the global minimiser of its
one-dimensional majoriser.

A stationary point of a nonconvex F need not be coordinate-wise optimal (a small spurious
coefficient of ℓp, p < 1, is a local minimum). With :math:`c_j = \kappa\|X_j\|^2/n`,
:math:`\kappa = \sup A''` (``family.curvature_bound``: 1 gaussian, ¼ binomial; the norm weighted
by the sample weights, if any),

.. math::

    \phi_j(t) = L + g_j(t - w_j) + \tfrac{c_j}{2}(t - w_j)^2 + \lambda_j\Omega(t)
    \;\ge\; F(w + (t - w_j)e_j),

with equality at :math:`t = w_j` and the global minimiser
:math:`\mathrm{prox}_{\lambda_j\Omega/c_j}(w_j - g_j/c_j)` (``penalty.prox``); every accepted
move decreases F. A family with unbounded curvature (κ = ∞, poisson) has no such bound and is
skipped. After the sweep and the polish, the result is also a fixed point of proximal
coordinate descent.
"""

from __future__ import annotations

import numpy as np

from dualreg.solvers.problem import Problem

Array = np.ndarray

__all__ = ["prox_sweep"]


def prox_sweep(problem: Problem, w: Array, b: float) -> tuple[Array, float, bool]:
    """One Gauss–Seidel sweep (module docstring), the most promising coordinates first; returns
    (w, b, whether anything moved)."""
    kappa = float(problem.family.curvature_bound)
    if not np.isfinite(kappa):
        return w, b, False
    X = problem.X
    n = problem.n
    c = (np.einsum("ij,ij->j", X, X) if problem.sw is None
         else np.einsum("ij,ij,i->j", X, X, problem.sw)) / n * kappa
    lam = problem.lam
    penalty = problem.penalty
    theta = problem.theta(w, b)
    g, _ = problem.grad(theta)
    cand = np.flatnonzero((lam > 0) & (c > 0) & problem.informative)
    if cand.size == 0:
        return w, b, False
    cj, lj = c[cand], lam[cand]
    z = w[cand] - g[cand] / cj
    t = penalty.prox(z, lj / cj)
    gain = (0.5 * cj * (t - z) ** 2 + lj * penalty.value(t)) - (
        0.5 * cj * (w[cand] - z) ** 2 + lj * penalty.value(w[cand])
    )
    f_now = problem.loss(theta) + problem.pen_value(w)
    tiny = 1e-12 * max(abs(f_now), 1e-300)
    order = np.argsort(gain)
    changed = False
    w = w.copy()
    for k in order[gain[order] < -tiny]:
        j = cand[k]
        r = problem.residual(theta)
        gj = float(X[:, j] @ r) / n
        zj = w[j] - gj / c[j]
        tj = float(penalty.prox(np.array([zj]), lam[j] / c[j])[0])
        if tj == w[j]:
            continue
        theta_new = theta + X[:, j] * (tj - w[j])
        w_new = w.copy()
        w_new[j] = tj
        f_new = problem.loss(theta_new) + problem.pen_value(w_new)
        if f_new < f_now - tiny:
            w, theta, f_now, changed = w_new, theta_new, f_new, True
    return w, b, changed
