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

**Working sets (:mod:`.working_set`)** for penalties with :math:`0 < \Omega'(0^+) < \infty`
(by default for convex ones when d > n). The weighted ridges go through an injectable linear
solver (:mod:`.linear`); the penalty and family methods called are declared in
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

from dualreg._validation import as_finite_array
from dualreg.families import get_family
from dualreg.solvers import schedules as _sched
from dualreg.solvers.contract import check_family, check_penalty
from dualreg.solvers.history import History, IterationRecord
from dualreg.solvers.mm import eta_trick_update, mm_step, ridge_init, smoothed_eta
from dualreg.solvers.polish import polish
from dualreg.solvers.problem import Problem, check_data, check_lam
from dualreg.solvers.prox_sweep import prox_sweep
from dualreg.solvers.result import (
    ConvergenceWarning,
    IRLSResult,
    SeparationWarning,
    UninformativeColumnWarning,
)
from dualreg.solvers.support import cap_support, newton_capacity, support_rule
from dualreg.solvers.working_set import default_working_set, solve_on_working_sets

Array = np.ndarray

__all__ = ["SolveOptions", "Trace", "check_penalty", "eta_trick_update", "irls"]


@dataclass(frozen=True)
class SolveOptions:
    """What a run of the two phases needs besides the problem and the start."""

    schedule: Any
    tol: float
    max_iter: int
    eta_floor: float | None = None


class Trace:
    """Where a run reports its iterates: one record each in ``history`` (evaluated on the full
    ``problem``) and each iterate to the user's ``callback(k, coef, intercept)``.

    ``index`` embeds the iterates of a working-set run into the full coefficient vector;
    ``iterates``, when a list, also collects every recorded (w, b) (a trial polish).
    """

    def __init__(self, problem: Problem, history: History, callback: Callable | None = None,
                 index: Array | None = None, iterates: list | None = None):
        self.problem, self.history, self.callback = problem, history, callback
        self.index, self.iterates = index, iterates

    def _full(self, w: Array) -> Array:
        if self.index is None:
            return w
        full = np.zeros(self.problem.d)
        full[self.index] = w
        return full

    def record(self, w: Array, b: float, eps: float, phase: str) -> float:
        """Append the record of (w, b) at smoothing ``eps``; returns its stationarity."""
        if self.iterates is not None:
            self.iterates.append((w.copy(), b))
        full = self._full(w)
        theta, _, _, st, _ = self.problem.evaluate(full, b)
        loss = self.problem.loss(theta)
        self.history.append(IterationRecord(loss + self.problem.pen_value(full),
                                            loss + self.problem.pen_value_smoothed(full, eps),
                                            st, eps, phase))
        return st

    def report(self, k: int, w: Array, intercept: float) -> bool:
        """Hand iterate k to the callback; True when it asks to stop."""
        if self.callback is None:
            return False
        return bool(self.callback(k, self._full(w).copy(), intercept))

    def restricted(self, idx: Array) -> Trace:
        """The trace of a run on the coordinates ``idx``."""
        index = idx if self.index is None else self.index[idx]
        return Trace(self.problem, self.history, self.callback, index)

    def collecting(self) -> Trace:
        """A trace that records and collects iterates but calls no callback (a trial)."""
        return Trace(self.problem, self.history, None, self.index, [])


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
) -> IRLSResult:
    r"""Minimise :math:`F(w, b) = L(w, b) + \sum_j \lambda_j\Omega(w_j)` by the η-trick IRLS.

    Parameters
    ----------
    X : array (n, d)
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
        Target stationarity max_j dist(−∇_j L, λ_j∂Ω(w_j)) (absolute, gradient units).
    max_iter : int
        Iterations of the smoothed phase; the polish gets at most 100 + max_iter // 10 more.
    callback : callable, optional
        ``callback(n_iter, coef, intercept)`` after every iterate; returning True stops.
    init_intercept : float, optional
        Starting intercept for an array init (binomial/poisson); default the null model's.
    working_set : "auto", bool
        Solve on growing working sets, checking the zeros outside (penalties with a finite kink
        at 0 only). "auto": when d > n and the penalty is convex.
    warn : bool
        Emit :class:`ConvergenceWarning` when not converged.
    linear_solver : "auto", "cholesky", "woodbury" or a LinearSolver
        The weighted-ridge solver (:mod:`dualreg.solvers.linear`). "auto": Cholesky on the
        Gram when the system has k ≤ n unknowns, Woodbury (n × n) when k > n.

    Returns
    -------
    IRLSResult
    """
    fam = get_family(family)
    check_family(fam)
    check_penalty(penalty)
    X, y = check_data(X, y, fam)
    d = X.shape[1]
    lamv = check_lam(lam, d)
    tol = float(tol)
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    problem = Problem(X, y, penalty, lamv, fam, bool(fit_intercept), linear_solver)
    if not np.all(problem.informative):
        bad = np.flatnonzero(~problem.informative)
        what = "constant" if fit_intercept else "all-zero"
        warnings.warn(
            f"X has {bad.size} {what} column(s) {bad[:10].tolist()}: they carry no information "
            "and get coefficient exactly 0",
            UninformativeColumnWarning,
            stacklevel=2,
        )
    w, b = _start(problem, init, init_intercept)
    schedule = _sched.get_schedule(eps_schedule, problem.is_convex)
    if eta_floor is not None:
        eta_floor = float(eta_floor)
        if eta_floor < 0 or not np.isfinite(eta_floor):
            raise ValueError(f"eta_floor must be finite and >= 0, got {eta_floor!r}")
    use_working_set = default_working_set(problem, working_set)
    options = SolveOptions(schedule=schedule, tol=tol, max_iter=int(max_iter),
                           eta_floor=eta_floor)

    res = IRLSResult(coef=w, intercept=0.0)
    trace = Trace(problem, res.history, callback)
    if not use_working_set:
        trace.record(w, b, schedule.init(w).eps if problem.absorbing else 0.0, "init")
        w, b, stop = _solve(problem, w, b, trace, options)
    else:
        trace.record(w, b, 0.0, "init")

        def solve(sub: Problem, w_sub: Array, b_sub: float, sub_trace: Trace,
                  max_iter: int) -> tuple[Array, float, bool]:
            return _solve(sub, w_sub, b_sub, sub_trace,
                          dataclasses.replace(options, max_iter=max_iter))

        w, b, stop = solve_on_working_sets(problem, w, b, trace, solve=solve,
                                           budget=options.max_iter, tol=tol)

    res.coef = w
    res.intercept = problem.final_intercept(w, b)
    res.n_iter = len(res.history) - 1
    final = res.history.last.stationarity
    res.converged = final <= tol
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
                f"irls did not converge: stationarity {final:.3g} > tol {tol:g} after "
                f"{res.n_iter} iterations (last eps {last_eps:.3g}); increase max_iter or "
                "loosen tol",
                stationarity=final,
                eps=last_eps,
                n_iter=res.n_iter,
            ),
            stacklevel=2,
        )
    return res


def _start(problem: Problem, init: Any, init_intercept: float | None) -> tuple[Array, float]:
    """The starting (w, b) for ``init`` (see :func:`irls`); uninformative columns are 0."""
    if isinstance(init, IRLSResult):
        init_intercept = init.intercept if init_intercept is None else init_intercept
        init = init.coef
    if isinstance(init, str):
        if init in ("auto", "ridge"):
            w, b = ridge_init(problem, 2 if problem.is_convex else 50)
        elif init == "zeros":
            w, b = np.zeros(problem.d), problem.null_intercept()
        else:
            raise ValueError(f"init must be 'auto', 'ridge', 'zeros' or an array, got {init!r}")
    else:
        w = as_finite_array(init, "init").astype(float).copy()
        if w.shape != (problem.d,):
            raise ValueError(f"init must have shape ({problem.d},), got {w.shape}")
        if problem.has_b:
            b = float(init_intercept) if init_intercept is not None else problem.null_intercept()
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
