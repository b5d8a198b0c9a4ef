r"""Regularisation paths: :func:`lam_max`, the smallest λ with w = 0 stationary, and
:func:`irls_path`, warm-started solves along a decreasing grid of λ."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dualreg.families import get_family
from dualreg.solvers.contract import check_penalty
from dualreg.solvers.irls import irls
from dualreg.solvers.problem import Problem, check_data
from dualreg.solvers.result import PathResult

Array = np.ndarray

__all__ = ["irls_path", "lam_max"]


def lam_max(X: Any, y: Any, penalty: Any, family: Any = "gaussian",
            fit_intercept: bool = True) -> float:
    r"""Smallest λ for which w = 0 is stationary (optimal when Ω is convex):
    :math:`\lambda_{max} = \|\nabla_w L(0, b_0)\|_\infty / \Omega'(0^+)`, with :math:`b_0` the
    fitted null intercept. Exists only for penalties with a finite kink at 0 (ValueError
    otherwise: with Ω'(0+) = 0 zero is never optimal, with Ω'(0+) = ∞ it always is)."""
    fam = get_family(family)
    check_penalty(penalty, ("slope_at_zero", "eta_hat"), who="lam_max", need_eta_form=False)
    X, y = check_data(X, y, fam)
    slope = float(penalty.slope_at_zero())
    if not slope > 0:
        raise ValueError(f"{penalty!r} has no kink at 0 (Ω'(0+) = 0): no λ makes w = 0 optimal")
    if not np.isfinite(slope):
        raise ValueError(f"{penalty!r} has Ω'(0+) = ∞: w = 0 is stationary for every λ > 0")
    problem = Problem(X, y, penalty, np.zeros(X.shape[1]), fam, bool(fit_intercept))
    theta = problem.theta(np.zeros(X.shape[1]), problem.null_intercept())
    g, _ = problem.grad(theta)
    return float(np.max(np.abs(g))) / slope


def irls_path(
    X: Any,
    y: Any,
    penalty: Any,
    lams: Sequence[float] | Array,
    family: Any = "gaussian",
    fit_intercept: bool = True,
    **kwargs: Any,
) -> PathResult:
    """:func:`~dualreg.solvers.irls` along a grid of λ, largest first, each warm-started from
    the previous solution (the first from ``kwargs.get('init', 'auto')``). Returns the λ in
    decreasing order.
    """
    lams = np.asarray(lams, dtype=float)
    if lams.ndim != 1 or lams.size == 0:
        raise ValueError("lams must be a non-empty 1-D sequence")
    if np.any(~np.isfinite(lams)) or np.any(lams < 0):
        raise ValueError("lams must be finite and >= 0")
    order = np.sort(lams)[::-1]
    init = kwargs.pop("init", "auto")
    results = []
    for lam_k in order:
        r = irls(X, y, penalty, lam_k, family=family, fit_intercept=fit_intercept, init=init,
                 **kwargs)
        results.append(r)
        init = r
    return PathResult(
        lams=order,
        coefs=np.array([r.coef for r in results]),
        intercepts=np.array([r.intercept for r in results]),
        results=results,
    )
