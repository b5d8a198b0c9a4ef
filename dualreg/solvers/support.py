r"""The support rule: which smoothed coefficients become exact zeros.

A smoothed zero of a penalty with a kink at 0 sits at :math:`|w_j| = O(\sqrt\varepsilon)` (for
ℓ1 exactly :math:`\sqrt\varepsilon\, r/\sqrt{1-r^2}` with :math:`r = |\nabla_j L|/\lambda`),
whereas a coefficient of the support keeps its own size. So a coefficient with
:math:`|w_j| \le 10\sqrt\varepsilon` (its η within :math:`\hat\eta(10\sqrt\varepsilon)` of the
smoothing floor), or a frozen one, is set to exactly 0 — provided this does not increase F
(else the thresholds √ε and 0.1√ε are tried). Misclassified coefficients are repaired by the
polish, which re-admits every zero that violates :math:`|\nabla_j L| \le \lambda_j\Omega'(0^+)`.
"""

from __future__ import annotations

import numpy as np

from dualreg.solvers.problem import Problem

Array = np.ndarray

__all__ = ["cap_support", "newton_capacity", "support_rule"]


def support_rule(problem: Problem, w: Array, b: float, *, eps: float, active_mask: Array,
                 smoothed: bool) -> Array:
    """w with the exact zeros of the rule (module docstring); uninformative columns are 0.

    ``active_mask`` False marks frozen coordinates; ``smoothed`` False (no ε in use) zeroes
    only those.
    """
    w = np.where(problem.informative, w, 0.0)
    if not problem.kink:
        return w
    f_w = problem.objective(w, b)
    for factor in (10.0, 1.0, 0.1):
        thresh = factor * np.sqrt(eps) if smoothed else 0.0
        cand = (~active_mask | (np.abs(w) <= thresh)) & (problem.lam > 0)
        if not np.any(cand & (w != 0)):
            return w
        w_try = np.where(cand, 0.0, w)
        if problem.objective(w_try, b) <= f_w:
            return w_try
    return np.where(~active_mask, 0.0, w)


def newton_capacity(problem: Problem) -> int:
    """The largest support a Newton system on S can take, |S| (+ b) < n."""
    return problem.n_samples - 1 - int(problem.has_b)


def cap_support(problem: Problem, w: Array, b: float, bound: float) -> Array:
    """Keep the :func:`newton_capacity` largest penalised coefficients of w (the polish
    re-admits violators) if that leaves F(w) ≤ ``bound``; else w unchanged."""
    supp = w != 0
    cap = newton_capacity(problem)
    if not supp.sum() > cap > 0:
        return w
    pen = np.flatnonzero(supp & (problem.lam > 0))
    drop = pen[np.argsort(np.abs(w[pen]))[: supp.sum() - cap]]
    w_c = w.copy()
    w_c[drop] = 0.0
    return w_c if problem.objective(w_c, b) <= bound else w
