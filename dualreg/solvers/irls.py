r"""The η-trick IRLS for :math:`\min_{w,b} F(w,b) = L(w,b) + \sum_j \lambda_j\,\Omega(w_j)`: the
driver that runs the phases kept in their own modules.

Notation and scaling follow docs/conventions.md §1 and §3: L is the mean GLM loss of
:mod:`dualreg.families`, Ω a separable subquadratic penalty with
:math:`\Omega(w) = \tfrac12\min_\eta[w^2/\eta + f(\eta)]` and reweighting
:math:`\hat\eta(w) = |w|/\Omega'(|w|)`; λ is a scalar or one λ_j per coefficient; the intercept
b is never penalised.

**Phase 1 — smoothed η-trick (majorise–minimise, :mod:`.mm`).** With a smoothing ε > 0 from a
schedule (:mod:`.schedules`) the solver minimises
:math:`F_\varepsilon(w) = L(w) + \sum_j\lambda_j\,\Omega(\sqrt{w_j^2+\varepsilon})`, whose
reweighting :math:`\hat\eta(\sqrt{w^2+\varepsilon}) \ge \hat\eta(\sqrt\varepsilon) > 0` makes
no zero absorbing. Each iteration decreases the majoriser
:math:`Q(w) = L(w) + \tfrac12\sum_j \lambda_j[w_j^2/\eta_j + f_\varepsilon(\eta_j)] \ge
F_\varepsilon(w)`, tight at :math:`w_t`, so :math:`F_{\varepsilon_t}(w_t)` never increases, also
across ε decreases (Ω nondecreasing); it is recorded as ``surrogate``. When η̂(0) > 0 (ridge,
Log²Sum, standout, …) ε is 0 throughout. A coordinate whose weight falls to
:math:`\eta_j \le` ``eta_floor`` is an exact zero and leaves the working set.

**Support rule (:mod:`.support`).** When the schedule is exhausted (ε at its floor and
:math:`\|\Delta w\|_2 \le 10^{-2}\sqrt\varepsilon`, or 20 iterations there), for penalties with
a kink at 0 the coefficients at the smoothing scale become exact zeros, if F does not increase.

**Phase 2 — active-set Newton polish on the target (:mod:`.polish`).** Newton /
Levenberg–Marquardt steps on the free coefficients with an orthant-keeping Armijo search
(:mod:`.line_search`), re-admitting every zero that violates :math:`|\nabla_j L| \le
\lambda_j\Omega'(0^+)`, until :math:`\max_j \mathrm{dist}(-\nabla_j L, \lambda_j\partial
\Omega(w_j)) \le` ``tol`` (``converged``). For a convex penalty the polish is also tried each
time ε is lowered (the minimum is unique: the continuation only has to reveal the support); for
a nonconvex one the whole schedule runs first, then proximal coordinate sweeps
(:mod:`.prox_sweep`) alternate with the polish until no coordinate moves.

**Working sets (:mod:`.working_set`)** for every penalty with a kink at 0 (by default when
d ≥ 40 or X is sparse): the phases run on small problems restricted to W — for least squares
compressed to |W| × |W| — while the outer problem keeps X as given (dense or sparse, never
copied). ``tol`` is relative to ‖∇L(0)‖∞ (:func:`~dualreg.solvers.problem.null_gradient`), so
the answer does not depend on the units of X and y. The weighted ridges go through an
injectable linear solver (:mod:`.linear`); the penalty and family methods called are declared in
:mod:`.contract` and checked before any iteration.

Columns that carry no information (constant when an intercept is fitted, all-zero otherwise)
get an exact 0 and an :class:`UninformativeColumnWarning`; perfectly separated binomial data with
a penalty that does not grow without bound (λ = 0, MCP, SCAD, capped ridge) has no finite
minimiser: the iterations stop once the loss is below 1e-10, and the solver warns
(:class:`SeparationWarning`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from dualreg._validation import as_finite_array, check_bool, check_int, check_scalar
from dualreg.families import get_family
from dualreg.solvers import schedules as _sched
from dualreg.solvers.contract import check_family, check_penalty, penalty_at
from dualreg.solvers.mm import eta_trick_update, mm_step, ridge_init, ridge_start, smoothed_eta
from dualreg.solvers.polish import polish
from dualreg.solvers.problem import (
    Problem,
    check_data,
    check_finite_solution,
    check_lam,
    check_sample_weight,
    null_gradient,
)
from dualreg.solvers.prox_sweep import prox_sweep
from dualreg.solvers.result import (
    ConvergenceWarning,
    IRLSResult,
    SeparationWarning,
    UninformativeColumnWarning,
)
from dualreg.solvers.support import cap_support, newton_capacity, support_rule
from dualreg.solvers.trace import Trace
from dualreg.solvers.working_set import (
    default_working_set,
    initial_working_set,
    solve_on_working_sets,
)

Array = np.ndarray

__all__ = ["SolveOptions", "Trace", "check_penalty", "eta_trick_update", "irls"]


@dataclass(frozen=True)
class SolveOptions:
    """What a run of the two phases needs besides the problem and the start."""

    schedule: Any
    tol: float
    max_iter: int
    eta_floor: float | None = None
    eps_cap: float | None = None
    """A later working set continues at the previous one's smoothing (no restart upwards)."""


# ============================================================================ the solver
def irls(
    X: Any,
    y: Any,
    penalty: Any,
    lam: Any,
    family: Any = "gaussian",
    fit_intercept: bool = True,
    init: Any = "auto",
    eps_schedule: Any = "auto",
    eta_floor: float | None = None,
    tol: float = 1e-9,
    max_iter: int = 1000,
    callback: Callable[..., Any] | None = None,
    init_intercept: float | None = None,
    working_set: Any = "auto",
    warn: bool = True,
    linear_solver: Any = "auto",
    sample_weight: Any = None,
) -> IRLSResult:
    r"""Minimise :math:`F(w, b) = L(w, b) + \sum_j \lambda_j\Omega(w_j)` by the η-trick IRLS.

    Parameters
    ----------
    X : array (n, d) or scipy.sparse matrix
        A sparse X is never densified when working sets are used (a penalty with a kink at 0);
        otherwise it is.
    y : array (n,)
        Real (gaussian), {0, 1} (binomial) or counts ≥ 0 (poisson).
    penalty : Penalty
        A separable penalty with an η-form (subquadratic or quadratic) implementing the methods
        of :data:`dualreg.solvers.contract.PENALTY_METHODS`; otherwise ValueError.
    lam : float or array (d,)
        λ ≥ 0 (mean-loss scaling, docs/conventions.md §1), or one λ_j per coefficient.
    family : {"gaussian", "binomial", "poisson"} or a Family
    fit_intercept : bool
        Fit an unpenalised intercept.
    init : "auto", "ridge", "zeros", array (d,) or IRLSResult
        Start. "auto" = "ridge": argmin L + ½Σλ_j w_j² — never the zero vector, which is a
        stationary point of every ℓp with p < 1 (non-gaussian with a convex penalty: two
        Newton steps towards it, the start not mattering there).
    eps_schedule : "auto", "fixed", "chartrand_yin", "geometric" or an EpsSchedule
        Smoothing schedule (module docstring). Ignored (ε = 0) when η̂(0) > 0.
    eta_floor : float, optional
        η at or below which a coefficient is an exact zero and leaves the working set. Default
        1e-14 × the largest finite η̂(w_0).
    tol : float
        Target stationarity max_j dist(−∇_j L, λ_j∂Ω(w_j)), relative to the gradient's scale
        ‖∇_w L(0, b₀)‖∞ at the null model (1 if that is 0): the same digits whatever the units
        of X and y. ``result.stationarity`` stays in gradient units.
    max_iter : int
        Iterations of the smoothed phase; the polish gets at most 100 + max_iter // 10 more.
    callback : callable, optional
        ``callback(n_iter, coef, intercept)`` after every iterate; returning True stops.
    init_intercept : float, optional
        Starting intercept for an array init (binomial/poisson); default the null model's.
    working_set : "auto", bool
        Solve on growing working sets, checking the zeros outside (penalties with a kink at 0
        only; :mod:`dualreg.solvers.working_set`). "auto": when the penalty has a kink and
        d ≥ 40, or X is sparse.
    warn : bool
        Emit :class:`ConvergenceWarning` when not converged.
    linear_solver : "auto", "cholesky", "woodbury" or a LinearSolver
        The weighted-ridge solver (:mod:`dualreg.solvers.linear`). "auto": Cholesky on the
        Gram when the system has k ≤ n unknowns, Woodbury (n × n) when k > n.

    sample_weight : array (n,), optional
        Nonnegative weights s_i: L = Σ s_i ℓ_i / Σ s_i (rescaled to mean 1, so that λ keeps its
        meaning; integer weights are repeated rows).

    Returns
    -------
    IRLSResult
    """
    fam = get_family(family)
    check_family(fam)
    check_penalty(penalty)
    X, y, col_range = check_data(X, y, fam, return_range=True)
    d = X.shape[1]
    lamv = check_lam(lam, d)
    if getattr(penalty, "follows_lam", False):  # a textbook form: its knots at this λ
        if np.ndim(lam) != 0:
            raise ValueError(f"lam must be a scalar for {penalty!r}, whose threshold follows λ")
        penalty = penalty_at(penalty, float(lam))
    fit_intercept = check_bool(fit_intercept, "fit_intercept")
    warn = check_bool(warn, "warn")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable or None, got {callback!r}")
    tol = check_scalar(tol, "tol", 0.0, np.inf, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", 1)
    if eta_floor is not None:
        eta_floor = check_scalar(eta_floor, "eta_floor", 0.0, np.inf)
    weights = check_sample_weight(sample_weight, X.shape[0])
    outer = Problem(X, y, penalty, lamv, fam, fit_intercept, linear_solver, lazy=True,
                    col_range=col_range, weights=weights)
    check_finite_solution(outer)
    use_working_set = default_working_set(outer, working_set)
    if use_working_set:
        problem = outer
    else:  # the phases run on the whole problem: an eager copy (dense)
        Xd = X.toarray() if sparse.issparse(X) else X
        problem = Problem(Xd, y, penalty, lamv, fam, fit_intercept, linear_solver,
                          col_range=col_range, weights=weights)
    if not np.all(problem.informative):
        bad = np.flatnonzero(~problem.informative)
        what = "constant" if fit_intercept else "all-zero"
        warnings.warn(
            f"X has {bad.size} {what} column(s) {bad[:10].tolist()}: they carry no information "
            "and get coefficient exactly 0",
            UninformativeColumnWarning,
            stacklevel=2,
        )
    # tol is relative to the gradient's scale at the null model, so that the answer does not
    # depend on the units of X and y (docs: Parameters, tol)
    g0, r0 = null_gradient(outer)
    scale = g0 if g0 > 0 else 1.0
    tol_abs = tol * scale
    if problem.has_b and r0 > 0:  # |∂_b L| in the units of ∇_w L
        problem.b_weight = scale / r0
    w, b = _start(problem, init, init_intercept, zeros_ok=use_working_set)
    schedule = _sched.get_schedule(eps_schedule, problem.is_convex)
    options = SolveOptions(schedule=schedule, tol=tol_abs, max_iter=max_iter,
                           eta_floor=eta_floor)

    res = IRLSResult(coef=w, intercept=0.0)
    trace = Trace(problem, res.history, callback)
    if not use_working_set:
        trace.record(w, b, schedule.init(w).eps if problem.absorbing else 0.0, "init")
        w, b, stop = _solve(problem, w, b, trace, options)
        final = res.history.last.stationarity
    else:
        W, w = initial_working_set(problem, w)
        trace.record(w, b, schedule.init(w).eps if problem.absorbing else 0.0, "init")

        def solve(sub: Problem, w_sub: Array, b_sub: float, sub_trace: Trace,
                  max_iter: int) -> tuple[Array, float, bool]:
            # continue at the smallest smoothing reached so far (never 0: at ε = 0 a new
            # coordinate of an absorbing penalty could not leave 0)
            last_eps = next((e for e in reversed(res.eps) if e > 0), None)
            return _solve(sub, w_sub, b_sub, sub_trace,
                          dataclasses.replace(options, max_iter=max_iter, eps_cap=last_eps))

        w, b, stop, final = solve_on_working_sets(problem, w, b, trace, W=W, solve=solve,
                                                  budget=options.max_iter, tol=tol_abs)
        res.history.set_last_stationarity(final)

    res.coef = w
    res.intercept = problem.final_intercept(w, b)
    res.n_iter = len(res.history) - 1
    res.converged = final <= tol_abs
    if problem.separated(w, b):
        warnings.warn(
            "binomial data are perfectly separated by the fit and the penalty does not grow "
            f"without bound ({penalty!r}, lam max {lamv.max():g}): no finite minimiser exists; "
            "returning the last iterate (the iterations stop once the log-loss is below 1e-10)",
            SeparationWarning,
            stacklevel=2,
        )
    elif warn and not res.converged and not stop:
        last_eps = next((e for e in reversed(res.eps) if e > 0), 0.0)
        warnings.warn(
            ConvergenceWarning(
                f"irls did not converge: stationarity {final:.3g} > tol·‖∇L(0)‖∞ = "
                f"{tol:g}·{scale:.3g} after {res.n_iter} iterations (last eps "
                f"{last_eps:.3g}); increase max_iter or loosen tol",
                stationarity=final,
                eps=last_eps,
                n_iter=res.n_iter,
            ),
            stacklevel=2,
        )
    return res


def _start(problem: Problem, init: Any, init_intercept: float | None,
           zeros_ok: bool = False) -> tuple[Array, float]:
    """The starting (w, b) for ``init`` (see :func:`irls`); uninformative columns are 0.

    ``zeros_ok`` (a working-set run): "auto" starts a convex penalty from w = 0 (its minimum
    does not depend on the start, and the working set then grows from the violators)."""
    if isinstance(init, IRLSResult):
        init_intercept = init.intercept if init_intercept is None else init_intercept
        init = init.coef
    if isinstance(init, str):
        if init == "zeros" or (init == "auto" and zeros_ok and problem.is_convex):
            w, b = np.zeros(problem.d), problem.null_intercept()
        elif init in ("auto", "ridge"):
            w, b = (ridge_start(problem) if problem.lazy
                    else ridge_init(problem, 2 if problem.is_convex else 50))
        else:
            raise ValueError(f"init must be 'auto', 'ridge', 'zeros' or an array, got {init!r}")
    else:
        w = as_finite_array(init, "init").astype(float).copy()
        if w.shape != (problem.d,):
            raise ValueError(f"init must have shape ({problem.d},), got {w.shape}")
        if problem.has_b:
            b = (check_scalar(init_intercept, "init_intercept") if init_intercept is not None
                 else problem.null_intercept())
        else:
            b = 0.0
    w[~problem.informative] = 0.0
    return w, b


def _norm_inf(w: Array) -> float:
    return float(np.max(np.abs(w))) if w.size else 0.0


def _solve(problem: Problem, w: Array, b: float, trace: Trace,
           options: SolveOptions) -> tuple[Array, float, bool]:
    """Phases 1 and 2 (module docstring) on ``problem`` from (w, b); returns (w, b, stopped by
    the callback)."""
    return _Run(problem, w, b, trace, options).run()


class _Run:
    """The state of one run of the phases: the iterate, ε and its schedule state, the frozen
    coordinates and the iteration count."""

    def __init__(self, problem: Problem, w: Array, b: float, trace: Trace,
                 options: SolveOptions):
        self.problem, self.trace, self.options = problem, trace, options
        self.w, self.b = w.copy(), b
        self.state = options.schedule.init(self.w)
        if options.eps_cap is not None and self.state.eps > options.eps_cap:
            floor_reached = self.state.final or options.eps_cap <= 0
            self.state = self.state._replace(eps=options.eps_cap, final=floor_reached)
        self.smoothed = problem.absorbing
        self.eps = self.state.eps if self.smoothed else 0.0
        self.eta_floor = options.eta_floor
        if self.eta_floor is None:
            e0 = smoothed_eta(problem.penalty, self.w, 0.0)
            finite = e0[np.isfinite(e0) & (e0 > 0)]
            self.eta_floor = 1e-14 * float(finite.max()) if finite.size else 1e-300
        self.active_mask = problem.informative.copy()
        self.n_iter = len(trace.history) - 1
        self.last_trial: Array | None = None

    def notify(self, phase: str, eps: float = 0.0) -> bool:
        """Count, record and report the current iterate; True when the callback stops."""
        self.n_iter += 1
        self.trace.record(self.w, self.b, eps, phase)
        return self.trace.report(self.n_iter, self.w, self.problem.final_intercept(self.w,
                                                                                   self.b))

    def run(self) -> tuple[Array, float, bool]:
        finished, stop = self.smoothed_phase()
        if not (finished or stop):
            stop = self.final_polish()
        return self.w, self.b, stop

    # ------------------------------------------------------------ phase 1
    def smoothed_phase(self) -> tuple[bool, bool]:
        """MM iterations along the ε schedule; (solved by a trial polish, stopped)."""
        problem = self.problem
        trial = problem.is_convex and problem.kink
        at_floor = 0  # iterations since the schedule reached its floor (the polish finishes)
        since_trial = 0
        for _ in range(self.options.max_iter):
            step = mm_step(problem, self.w, self.b, self.active_mask, eps=self.eps,
                           eta_floor=self.eta_floor)
            if step is None:
                break
            w_old, (self.w, self.b) = self.w, step  # w_old: after freezing, before the step
            if self.notify("eta", self.eps):
                return False, True
            if problem.separated(self.w, self.b, loss_below=1e-10):
                break
            dw = float(np.linalg.norm(self.w - w_old))
            if self.smoothed:
                self.state = self.options.schedule.update(self.state, self.w)
                at_floor = at_floor + 1 if self.state.final else 0
                done = self.state.final and (
                    dw <= max(1e-2 * np.sqrt(self.eps), 1e-12 * _norm_inf(self.w))
                    or at_floor >= 20
                )
                lowered = self.state.eps < self.eps
                self.eps = self.state.eps
            else:
                at_floor += 1
                done = dw <= 1e-8 * max(_norm_inf(self.w), 1e-300) or at_floor >= 50
                lowered = False
            if done:
                break
            # Convex penalties: the minimum value is unique, so the continuation in ε only has
            # to find the support; try the polish (≤ 15 Newton steps) whenever ε is lowered or
            # every 4 iterations, keep it if it reaches tol. Nonconvex: the whole schedule.
            since_trial += 1
            if trial and (lowered or since_trial >= 4):
                since_trial = 0
                outcome = self.trial_polish()
                if outcome is not None:
                    return True, outcome
        return False, False

    def trial_polish(self) -> bool | None:
        """Support rule + ≤ 15 polish steps from the current iterate. Kept (and its iterates
        reported) if it reaches tol: returns whether the callback stopped; else its records
        are dropped and None is returned."""
        problem, history = self.problem, self.trace.history
        w_z = support_rule(problem, self.w, self.b, eps=self.eps,
                           active_mask=self.active_mask, smoothed=self.smoothed)
        # A Newton system on S needs |S| < n: try the largest coefficients, if F allows.
        w_z = cap_support(problem, w_z, self.b, bound=history.last.surrogate)
        supp = w_z != 0
        if supp.sum() > max(newton_capacity(problem), 0) or (
            self.last_trial is not None and np.all(supp == self.last_trial)
        ):
            return None
        self.last_trial = supp
        mark = len(history)
        collector = self.trace.collecting()
        n_iter = self.n_iter
        if np.any(w_z != self.w):
            n_iter += 1
            collector.record(w_z, self.b, 0.0, "support")
        w_p, b_p, _, _ = polish(problem, w_z, self.b, collector, tol=self.options.tol,
                                max_steps=15, n_iter=n_iter)
        if problem.stationarity_at(w_p, b_p) > self.options.tol:
            history.truncate(mark)
            return None
        self.w, self.b = w_p, b_p
        for i, (wt, bt) in enumerate(collector.iterates):  # the accepted trial's, in order
            if self.trace.report(self.n_iter + i + 1, wt, problem.final_intercept(wt, bt)):
                self.w, self.b = wt, bt
                history.truncate(mark + i + 1)
                return True
        return False

    # ------------------------------------------------------------ phase 2
    def final_polish(self) -> bool:
        """Support rule, polish, then (nonconvex) prox sweeps alternating with the polish;
        returns whether the callback stopped."""
        problem = self.problem
        w_z = support_rule(problem, self.w, self.b, eps=self.eps, active_mask=self.active_mask,
                           smoothed=self.smoothed)
        if np.any(w_z != self.w):
            self.w = w_z
            if self.notify("support"):
                return True
        budget = 100 + self.options.max_iter // 10
        stop = self._polish(budget)
        # Nonconvex: a stationary point may still not be coordinate-wise optimal; a proximal
        # coordinate sweep moves every coefficient that is not the global minimiser of its 1-D
        # majoriser, then the polish resumes (a fixed point of proximal coordinate descent).
        sweeps = 0
        while not stop and not problem.is_convex and sweeps < 10:
            w_s, b_s, changed = prox_sweep(problem, self.w, self.b)
            if not changed:
                break
            sweeps += 1
            self.w, self.b = w_s, b_s
            if self.notify("prox"):
                return True
            stop = self._polish(budget)
        return stop

    def _polish(self, max_steps: int) -> bool:
        self.w, self.b, self.n_iter, stop = polish(
            self.problem, self.w, self.b, self.trace, tol=self.options.tol,
            max_steps=max_steps, n_iter=self.n_iter)
        return stop
