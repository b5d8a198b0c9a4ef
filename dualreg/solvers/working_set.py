r"""Working sets for penalties with a finite kink at 0 (:math:`0 < \Omega'(0^+) < \infty`).

Solve on a set W of coordinates (the others held at exactly 0), then check the optimality of
the zeros outside, :math:`|\nabla_j L| \le \lambda_j\Omega'(0^+)`; add the worst violators (at
most |W| of them) and repeat from the current solution. W starts as the
:math:`\max(10, \min(n, d)/2)` largest :math:`|w_0|` (the ridge start) plus every unpenalised
coefficient. Used by default when d > n and the penalty is convex: for a nonconvex one the
working set changes the continuation, and with it the local minimum reached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dualreg.solvers.problem import Problem

Array = np.ndarray

__all__ = ["default_working_set", "solve_on_working_sets"]

Solve = Callable[[Problem, Array, float, Any, int], tuple[Array, float, bool]]
"""``solve(problem, w, b, trace, max_iter) -> (w, b, stopped)``: the two IRLS phases."""


def default_working_set(problem: Problem, working_set: Any) -> bool:
    """Resolve ``working_set`` ("auto", True, False) for ``problem`` (errors name it)."""
    if working_set not in ("auto", True, False):
        raise ValueError(f"working_set must be 'auto', True or False, got {working_set!r}")
    finite_kink = 0 < problem.slope0 < np.inf
    if working_set == "auto":
        return problem.d > problem.n and finite_kink and problem.is_convex
    if working_set and not finite_kink:
        raise ValueError(
            f"working_set=True needs a penalty with a finite kink at 0 (0 < Ω'(0+) < ∞) so that "
            f"the optimality of the zeros can be checked; {problem.penalty!r} has Ω'(0+) = "
            f"{problem.slope0}"
        )
    return bool(working_set)


def solve_on_working_sets(problem: Problem, w: Array, b: float, trace: Any, *, solve: Solve,
                          budget: int, tol: float) -> tuple[Array, float, bool]:
    """The outer loop (module docstring), at most 50 working sets; ``trace`` sees full-length
    iterates (``trace.restricted(idx)`` embeds a working set's). Returns (w, b, stopped)."""
    d = problem.d
    unpen = (problem.lam == 0) & problem.informative
    size = max(10, min(d, problem.n) // 2)
    score = np.where(problem.informative, np.abs(w), -1.0)
    W = np.zeros(d, dtype=bool)
    W[np.argsort(-score)[:size]] = True
    W |= unpen
    W &= problem.informative
    w = np.where(W, w, 0.0)
    stop = False
    for _ in range(50):
        idx = np.flatnonzero(W)
        remaining = max(budget - len(trace.history), 1)
        w_sub, b, stop = solve(problem.restrict(idx), w[idx], b, trace.restricted(idx),
                               remaining)
        w = np.zeros(d)
        w[idx] = w_sub
        if stop:
            break
        theta = problem.theta(w, b)
        g, gb = problem.grad(theta)
        _, dist = problem.stationarity(w, g, gb)
        viol = np.where(~W & problem.informative, dist, 0.0)
        if float(np.max(viol)) <= tol or len(trace.history) > budget:
            break
        order = np.argsort(-viol)
        k = int(min(np.count_nonzero(viol > tol), max(idx.size, 10)))
        W[order[:k]] = True
    return w, b, stop
