r"""Working sets: solve on a small set W of coordinates (the others held at exactly 0), then
check the zeros outside and grow W.

A zero :math:`w_j = 0` outside W is *violating* when it is not the global minimiser of the
one-dimensional majoriser of F along :math:`e_j` (:mod:`.prox_sweep`), i.e. when

.. math::

    \mathrm{prox}_{\lambda_j\Omega/h_j}\!\big(-\nabla_j L/h_j\big) \ne 0,
    \qquad h_j = \kappa\,\|\tilde X_j\|^2/n ,

its score being :math:`h_j|\mathrm{prox}(\cdot)|` (gradient units). For a finite kink
(:math:`0 < \Omega'(0^+) < \infty`) the score is the subdifferential distance
:math:`(|\nabla_j L| - \lambda_j\Omega'(0^+))_+`, which is zero exactly when the prox is. With
:math:`\Omega'(0^+) = \infty` (ℓp, p < 1) every zero is stationary, and the prox test is what
still detects a coordinate worth adding; a family with unbounded curvature (poisson) uses
the curvature at the current θ for h_j there.

W starts as the support of the start (:func:`initial_working_set`: a dense start, such as
the ridge start of a nonconvex penalty, is cut to its min(n, d)/8 largest entries) plus the
``p0`` worst violators; each round W grows to ``max(p0, 2|supp w|)`` coordinates, the support
first, then the violators by score (as in Massias et al.'s Celer / skglm), and the inner
problem — an eager :meth:`~dualreg.solvers.problem.Problem.restrict` of size n × |W|, or
|W| × |W| for a quadratic loss — is solved warm-started from the current point. The loop
stops when no zero outside W violates beyond ``tol``; should the inner solve stop short of
``tol`` on W, one last round runs on every coordinate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse

from dualreg.solvers.problem import Problem

Array = np.ndarray

__all__ = ["default_working_set", "initial_working_set", "solve_on_working_sets",
           "zero_violation"]

Solve = Callable[[Problem, Array, float, Any, int], tuple[Array, float, bool]]
"""``solve(problem, w, b, trace, max_iter) -> (w, b, stopped)``: the two IRLS phases."""

P0 = 10
"""The smallest working set beyond the support."""

AUTO_MIN_D = 40
"""With ``working_set="auto"``, problems with fewer coordinates are solved whole."""


def default_working_set(problem: Problem, working_set: Any) -> bool:
    """Resolve ``working_set`` ("auto", True, False) for ``problem`` (errors name it).

    "auto": working sets whenever Ω has a kink at 0 (zeros are exact, so a small W can hold
    the solution) and d ≥ 40, or X is sparse."""
    if working_set not in ("auto", True, False) or isinstance(working_set, np.bool_):
        raise ValueError(f"working_set must be 'auto', True or False, got {working_set!r}")
    if working_set == "auto":
        return problem.kink and (problem.d >= AUTO_MIN_D or sparse.issparse(problem.data[0]))
    if working_set and not problem.kink:
        raise ValueError(
            "working_set=True needs a penalty with a kink at 0 (Ω'(0+) > 0), whose zeros are "
            f"exact; {problem.penalty!r} has Ω'(0+) = {problem.slope0}"
        )
    return bool(working_set)


def _column_sq_norms(problem: Problem) -> Array:
    """Σ_i s_i X̃_ij²/n for every column (s the sample weights, 1 without), without
    densifying."""
    X = problem.data[0] if problem.lazy else problem.X
    s = np.ones(problem.n) if problem.sw is None else problem.sw
    if sparse.issparse(X):
        sq = np.asarray(X.multiply(X).T @ s).ravel() / problem.n
    else:
        sq = np.einsum("ij,ij,i->j", X, X, s) / problem.n
    if problem.lazy and problem.centred:
        sq = np.maximum(sq - problem.x_mean**2, 0.0)
    return sq


def zero_violation(problem: Problem, w: Array, g: Array, theta: Array,
                   sq_norms: Array | None) -> Array:
    """The score of every coordinate of w that is 0 and penalised (module docstring); 0
    elsewhere."""
    lam = problem.lam
    cand = (w == 0) & (lam > 0) & problem.informative
    score = np.zeros(problem.d)
    if not np.any(cand):
        return score
    if np.isfinite(problem.slope0):
        score[cand] = np.maximum(np.abs(g[cand]) - lam[cand] * problem.slope0, 0.0)
        return score
    kappa = float(problem.family.curvature_bound)
    if np.isfinite(kappa):
        h = kappa * sq_norms[cand]
    else:  # unbounded curvature: the curvature at θ
        X = problem.data[0] if problem.lazy else problem.X
        W = problem.curvature(theta)
        h = np.asarray(X[:, cand].multiply(X[:, cand]).T @ W if sparse.issparse(X)
                       else np.einsum("ij,ij,i->j", X[:, cand], X[:, cand], W)) / problem.n
    ok = h > 0
    idx = np.flatnonzero(cand)[ok]
    h = h[ok]
    with np.errstate(all="ignore"):
        moved = problem.penalty.prox(-g[idx] / h, lam[idx] / h)
    score[idx] = np.where(np.isfinite(moved), h * np.abs(moved), np.abs(g[idx]))
    return score


def initial_working_set(problem: Problem, w: Array) -> tuple[Array, Array]:
    """(W, w restricted to W): the unpenalised coordinates and the support of w — of a dense w
    (more than max(P0, min(n, d)/2) nonzeros: a ridge start, not a warm start from a sparse
    solution) and a finite kink, its max(P0, min(n, d)/8) largest entries,
    the rest set to 0. With Ω'(0+) = ∞ (ℓp, p < 1) a zero is a local minimum however large
    its gradient, so a dense start is kept whole: cutting it changes the minimum reached."""
    informative = problem.informative
    W = (problem.lam == 0) & informative
    supp = (w != 0) & informative
    if supp.sum() > max(P0, min(problem.d, problem.n) // 2) and np.isfinite(problem.slope0):
        size = max(P0, min(problem.d, problem.n) // 8)
        keep = np.argsort(-np.where(supp, np.abs(w), -1.0))[:size]
        W[keep] = True
        W &= informative
        return W, np.where(W, w, 0.0)
    return W | supp, w


def solve_on_working_sets(problem: Problem, w: Array, b: float, trace: Any, *, W: Array,
                          solve: Solve, budget: int, tol: float,
                          compress: bool = True) -> tuple[Array, float, bool, float]:
    """The outer loop (module docstring) from the working set ``W``
    (:func:`initial_working_set`), at most 50 rounds; ``trace`` sees full-length iterates
    (``trace.restricted(idx, sub)``). Returns (w, b, stopped, full stationarity)."""
    d = problem.d
    informative = problem.informative
    # the prox test's curvature: only Ω'(0+) = ∞ needs it (one pass over X)
    sq_norms = None if np.isfinite(problem.slope0) else _column_sq_norms(problem)
    W = W.copy()
    stop, st = False, np.inf
    for round_ in range(50):
        theta, g, _, st, _ = problem.evaluate(w, b)  # cached: the null model's at round 0
        score = zero_violation(problem, w, g, theta, sq_norms)
        outside = np.where(~W, score, 0.0)
        if round_ > 0 and (float(np.max(outside)) <= tol or len(trace.history) > budget):
            # every zero outside W is optimal; report the stationarity of the full problem
            st = max(st, float(np.max(outside)))
            whole = np.all(W | ~informative)
            if st <= tol or whole or len(trace.history) > budget:
                break
            # the inner solve stopped short of tol on W (e.g. a support at the Newton
            # capacity |S| = n − 1): finish on the whole problem, as without working sets
            W |= informative
        size = max(P0, 2 * int(np.count_nonzero(w[informative])))
        order = np.argsort(-outside)
        n_new = int(min(np.count_nonzero(outside > tol), max(size - W.sum(), P0)))
        W[order[:n_new]] = True
        idx = np.flatnonzero(W)
        if idx.size == 0:  # w = 0 is optimal (λ ≥ λ_max): nothing to solve
            break
        sub = problem.restrict(idx, compress=compress)
        remaining = max(budget - len(trace.history), 1)
        w_sub, b, stop = solve(sub, w[idx], b, trace.restricted(idx, sub), remaining)
        w = np.zeros(d)
        w[idx] = w_sub
        if stop:
            st = problem.stationarity_at(w, b)
            break
    return w, b, stop, st
