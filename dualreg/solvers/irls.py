r"""The η-trick IRLS for :math:`\min_{w,b} F(w,b) = L(w,b) + \sum_j \lambda_j\,\Omega(w_j)`.

Notation and scaling follow MATH.md §1 and §3: L is the mean GLM loss of :mod:`dualreg.families`,
Ω a separable subquadratic penalty with :math:`\Omega(w) = \tfrac12\min_\eta[w^2/\eta + f(\eta)]`
and reweighting :math:`\hat\eta(w) = |w|/\Omega'(|w|)`; λ is a scalar or one λ_j per coefficient
(a weighted penalty); the intercept b is never penalised.

The algorithm has two phases.

**Phase 1 — smoothed η-trick (majorise–minimise).** With a smoothing ε > 0 from a schedule
(:mod:`dualreg.solvers.schedules`) the solver minimises
:math:`F_\varepsilon(w) = L(w) + \sum_j\lambda_j\,\Omega(\sqrt{w_j^2+\varepsilon})`.
For :math:`\Omega = g(w^2)` with g concave nondecreasing,
:math:`\Omega_\varepsilon = g(w^2+\varepsilon)` is again subquadratic, with reweighting
:math:`\hat\eta_\varepsilon(w) = \hat\eta(\sqrt{w^2+\varepsilon})
\ge \hat\eta(\sqrt\varepsilon) > 0`, so a zero is not absorbing.
Each iteration sets :math:`\eta_j = \hat\eta_\varepsilon(w_j)` and decreases the majoriser

.. math::

    Q(w) = L(w) + \tfrac12\sum_j \lambda_j\Big[\frac{w_j^2}{\eta_j} + f_\varepsilon(\eta_j)\Big]
    \;\ge\; F_\varepsilon(w), \qquad Q(w_t) = F_\varepsilon(w_t):

exactly (one weighted-ridge solve) for gaussian, by one damped Newton step with an Armijo line
search for binomial and poisson. Hence :math:`F_{\varepsilon_t}(w_t)` never increases, also
across ε decreases (Ω nondecreasing ⇒ :math:`F_{\varepsilon'} \le F_\varepsilon` for
ε' ≤ ε); the solver records it as ``surrogate``. When ε is not needed (η̂(0) > 0: ridge,
Log²Sum, standout, capped ridge, … have no absorbing zero) it is 0 throughout.

*η floor.* A coordinate whose weight falls to :math:`\eta_j \le` ``eta_floor`` is an exact zero:
it is set to 0 and removed from the working set (its ridge weight :math:`\lambda/\eta_j` would
pin it at :math:`|w_j| \le \eta_j|\nabla_j L|/\lambda` anyway). With ε > 0 this happens only once
:math:`\hat\eta(\sqrt\varepsilon)` is below the floor (e.g. the DDFG schedule, which reaches
ε = 0).

**Support rule.** When the schedule is exhausted (ε at its floor and
:math:`\|\Delta w\|_2 \le 10^{-2}\sqrt\varepsilon`, or 20 iterations there: the MM converges
only linearly, the Newton polish finishes), for penalties with a kink at 0 a coefficient
with :math:`|w_j| \le 10\sqrt\varepsilon` — its η within :math:`\hat\eta(10\sqrt\varepsilon)` of
the smoothing floor :math:`\hat\eta(\sqrt\varepsilon)` — or a frozen η is an exact zero,
provided this does not increase F (else the thresholds √ε and 0.1√ε are tried). A smoothed zero
sits at :math:`|w_j| = O(\sqrt\varepsilon)` (for ℓ1 exactly
:math:`\sqrt\varepsilon\, r/\sqrt{1-r^2}` with :math:`r = |\nabla_j L|/\lambda`), a coefficient
of the support at its own size; misclassified coefficients are repaired by the polish.

**Phase 2 — active-set Newton polish on the target** (ε = 0). Newton steps on the free
coefficients S, with Hessian :math:`\nabla^2_{SS}L + \mathrm{diag}(\lambda_j\Omega''(|w_j|))`
(Ω'' by central differences of Ω'), falling back to the MM (η-trick, ε = 0) step when that
Hessian is not positive definite; an Armijo line search on F that keeps every coefficient on its
orthant (a crossing coefficient is set to exactly 0 and leaves S); and re-admission of every zero
that violates :math:`|\nabla_j L| \le \lambda_j\Omega'(0^+)`, on the orthant of
:math:`-\mathrm{sign}\,\nabla_j L`. It stops at stationarity
:math:`\max_j \mathrm{dist}(-\nabla_j L, \lambda_j\partial\Omega(w_j)) \le` ``tol`` (the Clarke
subdifferential, nonconvex-safe; ``penalty.subdiff_distance``), which is what ``converged``
reports. For a convex penalty the polish is also tried each time ε is lowered (the minimum value
is unique, so the continuation only has to reveal the support); for a nonconvex one the whole
schedule runs first, since the continuation decides which local minimum is reached.

**Working sets** (penalties with :math:`0 < \Omega'(0^+) < \infty`; by default for convex ones
when d > n): the
two phases run on a growing set of coordinates, the others held at 0 until they violate
:math:`|\nabla_j L| \le \lambda_j\Omega'(0^+)`.

Columns that carry no information (constant when an intercept is fitted, all-zero otherwise)
get an exact 0 and an :class:`UninformativeColumnWarning`; perfectly separated binomial data with
a penalty that does not grow without bound (λ = 0, MCP, SCAD, capped ridge) has no finite
minimiser: the iterations stop once the log-loss is below 1e-10, and whenever the returned fit
classifies every sample correctly in that setting the solver warns
(:class:`SeparationWarning`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning as _SkConvergenceWarning

from dualreg._validation import as_finite_array
from dualreg.families import Family, get_family
from dualreg.solvers import schedules as _sched
from dualreg.solvers._linalg import gram, solve_gram, solve_weighted_ridge, try_cholesky_solve

Array = np.ndarray

__all__ = [
    "ConvergenceWarning",
    "IRLSResult",
    "PathResult",
    "SeparationWarning",
    "UninformativeColumnWarning",
    "check_penalty",
    "eta_trick_update",
    "irls",
    "irls_path",
    "lam_max",
]


# ============================================================================ warnings / results
class ConvergenceWarning(_SkConvergenceWarning):
    """The solver stopped before reaching ``tol``. Subclass of scikit-learn's
    ``ConvergenceWarning`` (so existing filters apply); carries the diagnostics."""

    def __init__(self, message: str, stationarity: float = np.nan, eps: float = np.nan,
                 n_iter: int = 0):
        super().__init__(message)
        self.stationarity = stationarity
        self.eps = eps
        self.n_iter = n_iter


class UninformativeColumnWarning(UserWarning):
    """Some columns of X are constant (with an intercept) or zero: their coefficient is 0."""


class SeparationWarning(UserWarning):
    """Binomial data perfectly separated with a penalty that does not grow without bound."""


@dataclass
class IRLSResult:
    """Output of :func:`irls`.

    Attributes
    ----------
    coef, intercept
        The solution (exact zeros off the support).
    objective : list of float
        F(w_t) = L + Σ λ_j Ω(w_j) for the *target* penalty, one entry per iterate (entry 0 is
        the initial point).
    surrogate : list of float
        :math:`F_{\\varepsilon_t}(w_t)` (= F in the polish phase): the majorised quantity,
        nonincreasing by construction.
    stationarity : list of float
        max_j dist(−∇_j L, λ_j ∂Ω(w_j)) (and |∂_b L|) per iterate.
    eps : list of float
        Smoothing used for each iterate (0 in the polish phase).
    phase : list of str
        ``"init"``, ``"eta"`` (smoothed MM) or ``"newton"`` (polish) per iterate.
    n_iter : int
        Number of iterations (len(objective) − 1).
    converged : bool
        Final stationarity ≤ tol.
    """

    coef: Array
    intercept: float
    objective: list[float] = field(default_factory=list)
    surrogate: list[float] = field(default_factory=list)
    stationarity: list[float] = field(default_factory=list)
    eps: list[float] = field(default_factory=list)
    phase: list[str] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False

    @property
    def support(self) -> Array:
        """Boolean mask of the nonzero coefficients."""
        return self.coef != 0


@dataclass
class PathResult:
    """Output of :func:`irls_path`: ``lams`` in decreasing order, one row of ``coefs`` each."""

    lams: Array
    coefs: Array
    intercepts: Array
    results: list[IRLSResult]


# ============================================================================ validation
def check_penalty(penalty: Any) -> None:
    """Raise a ``ValueError`` naming why ``penalty`` cannot be handled by the η-trick IRLS."""
    if not getattr(penalty, "separable", True):
        raise ValueError(
            f"penalty {penalty!r} is not separable: the η-trick IRLS reweights one coefficient "
            "at a time (η_j = η̂(w_j)) and has no form for a coupled penalty"
        )
    if not hasattr(penalty, "eta_hat") or not hasattr(penalty, "subdiff_distance"):
        raise ValueError(
            f"penalty must be a dualreg Penalty (with eta_hat and subdiff_distance), got "
            f"{type(penalty).__name__}"
        )
    if not getattr(penalty, "has_eta_form", False):
        from dualreg.penalties.base import NoEtaFormError

        raise NoEtaFormError(
            f"penalty {penalty!r} is {getattr(penalty, 'curvature_class', '?')}: Ω(√θ) is not "
            "concave, so Ω is a supremum (not an infimum) of quadratics and has no η-form; the "
            "η-trick IRLS does not apply"
        )


def _check_data(X: Any, y: Any, family: Family) -> tuple[Array, Array]:
    if X is None:
        raise ValueError("X must be a 2-D array, got None")
    X = as_finite_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty: shape {X.shape} (need at least 1 sample and 1 feature)")
    y = family.check_y(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y have mismatched shapes: X has {X.shape[0]} samples, y has {y.shape[0]}"
        )
    return np.ascontiguousarray(X), y


def _check_lam(lam: Any, d: int) -> Array:
    arr = np.asarray(lam, dtype=float) if not isinstance(lam, str) else None
    if arr is None:
        raise ValueError(f"lam must be a nonnegative number or array, got {lam!r}")
    if np.any(np.isnan(arr)) or np.any(np.isinf(arr)):
        raise ValueError(f"lam must be finite, got {lam!r}")
    if np.any(arr < 0):
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    if arr.ndim == 0:
        return np.full(d, float(arr))
    if arr.shape != (d,):
        raise ValueError(f"lam must be a scalar or have shape ({d},), got shape {arr.shape}")
    return arr.copy()


# ============================================================================ the model
class _Model:
    """Data, family and penalty, with the pieces every phase needs.

    gaussian + intercept is handled by centring X and y (the intercept is then
    ȳ − x̄ᵀw); the other families carry b as an extra, unpenalised variable.
    """

    def __init__(self, X: Array, y: Array, penalty: Any, lam: Array, family: Family,
                 fit_intercept: bool):
        self.family = family
        self.penalty = penalty
        self.n, self.d = X.shape
        self.fit_intercept = fit_intercept
        self.gauss = family.name == "gaussian"
        self.has_b = fit_intercept and not self.gauss
        if fit_intercept:
            self.x_mean = X.mean(axis=0)
            informative = np.ptp(X, axis=0) > 0
        else:
            self.x_mean = np.zeros(self.d)
            informative = np.any(X != 0, axis=0)
        if self.gauss and fit_intercept:
            self.y_mean = float(y.mean())
            self.X = X - self.x_mean
            self.y = y - self.y_mean
        else:
            self.y_mean = 0.0
            self.X, self.y = X, y
        self.informative = informative
        self.lam = lam
        self.slope0 = float(penalty.slope_at_zero())
        self.kink = bool(getattr(penalty, "kink_at_zero", False)) or self.slope0 > 0
        with np.errstate(all="ignore"):
            self.absorbing = bool(penalty.eta_hat(np.zeros(1))[0] <= 0)
        self.gram = None
        self._cache: Any = None
        if self.gauss and self.d <= self.n:
            self.gram = gram(self.X) / self.n

    # -------------------------------------------------------------- loss pieces
    def theta(self, w: Array, b: float, idx: Array | None = None) -> Array:
        if idx is None:
            t = self.X @ w
        else:
            t = self.X[:, idx] @ w[idx] if idx.size else np.zeros(self.n)
        return t + b if self.has_b else t

    def loss(self, theta: Array) -> float:
        return float(np.mean(self.family.pointwise_loss(theta, self.y)))

    def residual(self, theta: Array) -> Array:
        """μ − y."""
        return self.family.mean(theta) - self.y

    def grad(self, theta: Array) -> tuple[Array, float]:
        r = self.residual(theta)
        gb = float(np.mean(r)) if self.has_b else 0.0
        return self.X.T @ r / self.n, gb

    def pen_value(self, w: Array) -> float:
        lam = self.lam
        nz = lam > 0
        return float(np.sum(lam[nz] * self.penalty.value(w[nz])))

    def pen_value_smoothed(self, w: Array, eps: float) -> float:
        if eps <= 0:
            return self.pen_value(w)
        nz = self.lam > 0
        return float(np.sum(self.lam[nz] * self.penalty.value(np.sqrt(w[nz] ** 2 + eps))))

    def objective(self, w: Array, b: float, theta: Array | None = None) -> float:
        if theta is None:
            theta = self.theta(w, b)
        return self.loss(theta) + self.pen_value(w)

    def stationarity(self, w: Array, g: Array, gb: float) -> tuple[float, Array]:
        """max_j dist(−g_j, λ_j ∂Ω(w_j)) (and |g_b|); the per-coordinate distances too."""
        lam = self.lam
        dist = np.abs(g).copy()
        pen = lam > 0
        if np.any(pen):
            lp = lam[pen]
            with np.errstate(invalid="ignore"):
                dist[pen] = lp * self.penalty.subdiff_distance(w[pen], g[pen] / lp, 1.0)
        dist[~self.informative] = 0.0
        s = float(np.max(dist)) if dist.size else 0.0
        return (max(s, abs(gb)) if self.has_b else s), dist

    def evaluate(self, w: Array, b: float) -> tuple[Array, Array, float, float, Array]:
        """(θ, ∇_w L, ∂_b L, stationarity, per-coordinate distances) at (w, b), with a
        one-entry cache (the record of an iterate and the next polish step share it)."""
        key = (w.tobytes(), float(b))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        theta = self.theta(w, b)
        g, gb = self.grad(theta)
        st, dist = self.stationarity(w, g, gb)
        out = (theta, g, gb, st, dist)
        self._cache = (key, out)
        return out

    # -------------------------------------------------------------- Ω' and Ω''
    def slope(self, w: Array) -> Array:
        """Ω'(|w|) (right derivative at 0)."""
        out = np.abs(self.penalty.derivative(w))
        return np.where(w == 0, self.slope0, out)

    def curv(self, w: Array) -> Array:
        """Ω''(|w|) by central differences of Ω' with a relative step 1e-4 (error ~1e-8 relative,
        enough for a Newton direction; the gradient used is exact)."""
        t = np.abs(w)
        h = 1e-4 * np.maximum(t, 1e-300)
        lo = np.maximum(t - h, 0.0)
        with np.errstate(all="ignore"):
            up = np.abs(self.penalty.derivative(t + h))
            dn = np.abs(self.penalty.derivative(lo))
            dn = np.where(lo == 0, self.slope0, dn)
            c = (up - dn) / (t + h - lo)
        return np.where(np.isfinite(c), c, 0.0)

    # -------------------------------------------------------------- intercept helpers
    def null_intercept(self) -> float:
        if not self.has_b:
            return 0.0
        return self.family.link_of_mean(float(np.mean(self.y)))

    def final_intercept(self, w: Array, b: float) -> float:
        if self.gauss:
            return float(self.y_mean - self.x_mean @ w) if self.fit_intercept else 0.0
        return float(b) if self.fit_intercept else 0.0


# ============================================================================ inner solves
def _weighted_ridge(model: _Model, w: Array, b: float, active: Array, delta: Array,
                    max_newton: int = 1) -> tuple[Array, float]:
    r"""argmin (or a decrease) of :math:`Q(w) = L(w) + \tfrac12\sum_j \delta_j w_j^2` over the
    active coordinates (others stay 0).

    gaussian: one solve of :math:`(X_A^\top X_A/n + \mathrm{diag}\,\delta)w = X_A^\top y/n`.
    Others: ``max_newton`` damped Newton steps, each :math:`(X̃^\top W X̃/n + \mathrm{diag}\,\delta)v
    = X̃^\top(W\theta - (\mu - y))/n` with X̃ = [X_A, 1] and Armijo backtracking on Q.
    """
    n = model.n
    w = w.copy()
    if model.gauss:
        if model.gram is not None:
            G = model.gram[np.ix_(active, active)]
            rhs = model.X[:, active].T @ model.y / n
            w[active] = solve_gram(G, delta, rhs)
        else:
            XA = model.X[:, active]
            w[active] = solve_weighted_ridge(XA, delta, XA.T @ model.y / n)
        return w, b
    XA = model.X[:, active]
    dfull = np.concatenate([delta, [0.0]]) if model.has_b else delta
    for _ in range(max_newton):
        theta = model.theta(w, b, active)
        mu = model.family.mean(theta)
        W = model.family.curvature(theta)
        sw = np.sqrt(W)
        Xaug = np.column_stack([XA, np.ones(n)]) if model.has_b else XA
        rhs = Xaug.T @ (W * theta - (mu - model.y)) / n
        x0 = np.concatenate([w[active], [b]]) if model.has_b else w[active]
        v = solve_weighted_ridge(Xaug * sw[:, None], dfull, rhs)
        step = v - x0
        grad_q = Xaug.T @ (mu - model.y) / n + dfull * x0
        q0 = model.loss(theta) + 0.5 * float(np.sum(dfull * x0 * x0))
        slope = float(grad_q @ step)
        if not slope < 0:
            break
        Xs = Xaug @ step
        alpha = 1.0
        for _ in range(60):
            x1 = x0 + alpha * step
            q1 = model.loss(theta + alpha * Xs) + 0.5 * float(np.sum(dfull * x1 * x1))
            if np.isfinite(q1) and q1 <= q0 + 1e-4 * alpha * slope:
                break
            alpha *= 0.5
        else:
            break
        w[active] = x1[: active.size]
        if model.has_b:
            b = float(x1[-1])
    return w, b


def _ridge_init(model: _Model, newton_steps: int = 50) -> tuple[Array, float]:
    """Ridge start: argmin L(w) + ½ Σ λ_j w_j² (weights λ_j; a tiny ridge where λ_j = 0).

    Non-gaussian families: damped Newton to 1e-10 relative change, or ``newton_steps`` steps
    (2 for convex penalties, whose minimum does not depend on the start)."""
    active = np.flatnonzero(model.informative)
    delta = model.lam[active].copy()
    w = np.zeros(model.d)
    b = model.null_intercept()
    if active.size == 0:
        return w, b
    if model.gauss:
        return _weighted_ridge(model, w, b, active, delta)
    last = np.inf
    for _ in range(newton_steps):
        w, b = _weighted_ridge(model, w, b, active, delta, max_newton=1)
        theta = model.theta(w, b, active)
        val = model.loss(theta) + 0.5 * float(np.sum(delta * w[active] ** 2))
        if abs(last - val) <= 1e-10 * max(1.0, abs(val)):
            break
        last = val
    return w, b


# ============================================================================ the solver
def irls(
    X: Any,
    y: Any,
    penalty: Any,
    lam: Any,
    family: str = "gaussian",
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
) -> IRLSResult:
    r"""Minimise :math:`F(w, b) = L(w, b) + \sum_j \lambda_j\Omega(w_j)` by the η-trick IRLS.

    Parameters
    ----------
    X : array (n, d)
    y : array (n,)
        Real (gaussian), {0, 1} (binomial) or counts ≥ 0 (poisson).
    penalty : Penalty
        A separable penalty with an η-form (subquadratic or quadratic); otherwise ValueError.
    lam : float or array (d,)
        λ ≥ 0 (mean-loss scaling, MATH.md §1), or one λ_j per coefficient.
    family : {"gaussian", "binomial", "poisson"}
    fit_intercept : bool
        Fit an unpenalised intercept.
    init : "auto", "ridge", "zeros", array (d,) or IRLSResult
        Start. "auto" = "ridge": argmin L + ½Σλ_j w_j² — never the zero vector, which is a
        stationary point of every ℓp with p < 1 (binomial/poisson with a convex penalty: two
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

    Returns
    -------
    IRLSResult
    """
    fam = get_family(family)
    check_penalty(penalty)
    X, y = _check_data(X, y, fam)
    n, d = X.shape
    lamv = _check_lam(lam, d)
    tol = float(tol)
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    model = _Model(X, y, penalty, lamv, fam, bool(fit_intercept))
    if not np.all(model.informative):
        bad = np.flatnonzero(~model.informative)
        what = "constant" if fit_intercept else "all-zero"
        warnings.warn(
            f"X has {bad.size} {what} column(s) {bad[:10].tolist()}: they carry no information "
            "and get coefficient exactly 0",
            UninformativeColumnWarning,
            stacklevel=2,
        )

    # ---------------------------------------------------------------- start
    if isinstance(init, IRLSResult):
        init_intercept = init.intercept if init_intercept is None else init_intercept
        init = init.coef
    if isinstance(init, str):
        if init in ("auto", "ridge"):
            w, b = _ridge_init(model, 2 if getattr(penalty, "is_convex", False) else 50)
        elif init == "zeros":
            w, b = np.zeros(d), model.null_intercept()
        else:
            raise ValueError(f"init must be 'auto', 'ridge', 'zeros' or an array, got {init!r}")
    else:
        w = as_finite_array(init, "init").astype(float).copy()
        if w.shape != (d,):
            raise ValueError(f"init must have shape ({d},), got {w.shape}")
        if model.has_b:
            b = float(init_intercept) if init_intercept is not None else model.null_intercept()
        else:
            b = 0.0
    w[~model.informative] = 0.0

    schedule = _sched.get_schedule(eps_schedule, bool(getattr(penalty, "is_convex", False)))
    if eta_floor is not None:
        eta_floor = float(eta_floor)
        if eta_floor < 0 or not np.isfinite(eta_floor):
            raise ValueError(f"eta_floor must be finite and >= 0, got {eta_floor!r}")
    if working_set not in ("auto", True, False):
        raise ValueError(f"working_set must be 'auto', True or False, got {working_set!r}")
    if working_set == "auto":
        # Convex only: for a nonconvex penalty the working set changes the continuation, and
        # with it the local minimum reached (measured worse than the full continuation on MCP).
        working_set = d > n and 0 < model.slope0 < np.inf and bool(
            getattr(penalty, "is_convex", False)
        )
    elif working_set and not 0 < model.slope0 < np.inf:
        raise ValueError(
            f"working_set=True needs a penalty with a finite kink at 0 (0 < Ω'(0+) < ∞) so that "
            f"the optimality of the zeros can be checked; {penalty!r} has Ω'(0+) = {model.slope0}"
        )

    res = IRLSResult(coef=w, intercept=0.0)

    def record(w: Array, b: float, eps_used: float, phase: str) -> float:
        theta, _, _, st, _ = model.evaluate(w, b)
        lossv = model.loss(theta)
        res.objective.append(lossv + model.pen_value(w))
        res.surrogate.append(lossv + model.pen_value_smoothed(w, eps_used))
        res.stationarity.append(st)
        res.eps.append(eps_used)
        res.phase.append(phase)
        return st

    budget = int(max_iter)
    if not working_set:
        record(w, b, schedule.init(w).eps if model.absorbing else 0.0, "init")
        w, b, stop = _run(model, w, b, schedule, eta_floor, tol, budget, callback, record, res)
    else:
        record(w, b, 0.0, "init")
        w, b, stop = _run_working_set(model, X, y, w, b, schedule, eta_floor, tol, budget,
                                      callback, record, res)

    res.coef = w
    res.intercept = model.final_intercept(w, b)
    res.n_iter = len(res.objective) - 1
    res.converged = res.stationarity[-1] <= tol
    if _separated(model, w, b):
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
                f"irls did not converge: stationarity {res.stationarity[-1]:.3g} > tol {tol:g} "
                f"after {res.n_iter} iterations (last eps {last_eps:.3g}); increase max_iter "
                "or loosen tol",
                stationarity=res.stationarity[-1],
                eps=last_eps,
                n_iter=res.n_iter,
            ),
            stacklevel=2,
        )
    return res


def _run_working_set(model: _Model, X: Array, y: Array, w: Array, b: float, schedule: Any,
                     eta_floor: float | None, tol: float, budget: int, callback: Any,
                     record: Any, res: IRLSResult) -> tuple[Array, float, bool]:
    """Working sets for penalties with a finite kink at 0 (Ω'(0+) ∈ (0, ∞)), used by default
    when d > n: solve on a set W of coordinates (the others held at exactly 0), then check the
    optimality of the zeros outside, |∇_j L| ≤ λ_j Ω'(0+); add the worst violators (at most |W|
    of them) and repeat from the current solution. W starts as the 2·min(n, d)/4 largest |w_0|
    (the ridge start) plus every unpenalised coefficient."""
    d = model.d
    lam = model.lam
    unpen = (lam == 0) & model.informative
    size = max(10, min(d, model.n) // 2)
    score = np.where(model.informative, np.abs(w), -1.0)
    W = np.zeros(d, dtype=bool)
    W[np.argsort(-score)[:size]] = True
    W |= unpen
    W &= model.informative
    w = np.where(W, w, 0.0)
    stop = False
    for _ in range(50):
        idx = np.flatnonzero(W)
        sub = _Model(X[:, idx], y, model.penalty, lam[idx], model.family, model.fit_intercept)

        def record_sub(ws: Array, bs: float, e: float, ph: str, idx: Array = idx) -> float:
            full = np.zeros(d)
            full[idx] = ws
            return record(full, bs, e, ph)

        cb = None
        if callback is not None:
            def cb(k: int, ws: Array, bs: float, idx: Array = idx) -> Any:
                full = np.zeros(d)
                full[idx] = ws
                return callback(k, full, bs)

        used = len(res.objective)
        remaining = max(budget - used, 1)
        w_sub, b, stop = _run(sub, w[idx], b, schedule, eta_floor, tol, remaining, cb,
                              record_sub, res)
        w = np.zeros(d)
        w[idx] = w_sub
        if stop:
            break
        theta = model.theta(w, b)
        g, gb = model.grad(theta)
        _, dist = model.stationarity(w, g, gb)
        viol = np.where(~W & model.informative, dist, 0.0)
        if float(np.max(viol)) <= tol or len(res.objective) > budget:
            break
        order = np.argsort(-viol)
        k = int(min(np.count_nonzero(viol > tol), max(idx.size, 10)))
        W[order[:k]] = True
    return w, b, stop


def _run(model: _Model, w: Array, b: float, schedule: Any, eta_floor: float | None, tol: float,
         max_iter: int, callback: Any, record: Any, res: IRLSResult) -> tuple[Array, float, bool]:
    """Phases 1 and 2 (module docstring) on ``model``; appends to ``res`` through ``record``."""
    penalty = model.penalty
    lamv = model.lam
    w = w.copy()
    state = schedule.init(w)
    use_eps = model.absorbing
    eps = state.eps if use_eps else 0.0
    if eta_floor is None:
        with np.errstate(all="ignore"):
            e0 = penalty.eta_hat(w)
        finite = e0[np.isfinite(e0) & (e0 > 0)]
        eta_floor = 1e-14 * float(finite.max()) if finite.size else 1e-300
    stop = False
    active_mask = model.informative.copy()
    unpen = lamv == 0
    n_iter = len(res.objective) - 1
    trial = bool(getattr(penalty, "is_convex", False))
    trial_done = False
    last_trial = None
    at_floor = 0  # iterations since the schedule reached its floor (the polish finishes)
    since_trial = 0

    # ---------------------------------------------------------------- phase 1: smoothed MM
    for _ in range(int(max_iter)):
        active = np.flatnonzero(active_mask)
        if active.size == 0:
            break
        with np.errstate(all="ignore"):
            eta = penalty.eta_hat(np.sqrt(w[active] ** 2 + eps) if eps > 0 else w[active])
        frozen = (eta <= eta_floor) & ~unpen[active]
        if np.any(frozen):
            w[active[frozen]] = 0.0
            active_mask[active[frozen]] = False
            active, eta = active[~frozen], eta[~frozen]
            if active.size == 0:
                break
        with np.errstate(divide="ignore"):
            delta = np.where(np.isinf(eta) | unpen[active], 0.0, lamv[active] / eta)
        w_old = w.copy()
        w, b = _weighted_ridge(model, w, b, active, delta)
        n_iter += 1
        record(w, b, eps, "eta")
        if callback is not None and callback(n_iter, w.copy(), model.final_intercept(w, b)):
            stop = True
            break
        if _separated(model, w, b, loss_below=1e-10):
            break
        dw = float(np.linalg.norm(w - w_old))
        if use_eps:
            state = schedule.update(state, w)
            at_floor = at_floor + 1 if state.final else 0
            done = state.final and (
                dw <= max(1e-2 * np.sqrt(eps), 1e-12 * _norm_inf(w)) or at_floor >= 20
            )
            lowered = state.eps < eps
            eps = state.eps
        else:
            at_floor += 1
            done = dw <= 1e-8 * max(_norm_inf(w), 1e-300) or at_floor >= 50
            lowered = False
        if done:
            break
        # Convex penalties: the minimum value is unique, so the continuation in ε only has to
        # find the support; try the polish (≤ 15 Newton steps) whenever ε is lowered or every
        # 4 iterations, keep it if it reaches tol. Nonconvex penalties run the whole schedule.
        since_trial += 1
        if trial and model.kink and (lowered or since_trial >= 4):
            since_trial = 0
            w_z = _support_rule(model, w, b, eps, active_mask, use_eps)
            supp = w_z != 0
            cap = model.n - 1 - int(model.has_b)
            if supp.sum() > cap > 0:
                # A Newton system on S needs |S| < n: try the cap largest coefficients (the
                # polish re-admits violators), if that does not raise F above F_ε(w).
                pen = np.flatnonzero(supp & (lamv > 0))
                drop = pen[np.argsort(np.abs(w_z[pen]))[: supp.sum() - cap]]
                w_c = w_z.copy()
                w_c[drop] = 0.0
                if model.objective(w_c, b) <= res.surrogate[-1]:
                    w_z, supp = w_c, w_c != 0
            if supp.sum() > max(cap, 0) or (
                last_trial is not None and np.all(supp == last_trial)
            ):
                continue
            last_trial = supp
            mark = len(res.objective)
            it_z = n_iter
            trial_iterates: list[tuple[Array, float]] = []

            def record_trial(wt: Array, bt: float, e: float, ph: str,
                             out: list = trial_iterates) -> float:
                out.append((wt.copy(), bt))
                return record(wt, bt, e, ph)

            if np.any(w_z != w):
                it_z += 1
                record_trial(w_z, b, 0.0, "support")
            w_p, b_p, _, _ = _polish(model, w_z, b, tol, 15, record_trial, None, it_z)
            if _stationarity_at(model, w_p, b_p) <= tol:
                w, b, trial_done = w_p, b_p, True
                if callback is not None:  # the accepted trial's iterates, in order
                    for i, (wt, bt) in enumerate(trial_iterates):
                        if callback(n_iter + i + 1, wt.copy(), model.final_intercept(wt, bt)):
                            stop = True
                            w, b = wt, bt
                            for lst in (res.objective, res.surrogate, res.stationarity,
                                        res.eps, res.phase):
                                del lst[mark + i + 1:]
                            break
                break
            for lst in (res.objective, res.surrogate, res.stationarity, res.eps, res.phase):
                del lst[mark:]

    # ---------------------------------------------------------------- phase 2: Newton polish
    if not stop and not trial_done:
        w_z = _support_rule(model, w, b, eps, active_mask, use_eps)
        if np.any(w_z != w):
            w = w_z
            n_iter += 1
            record(w, b, 0.0, "support")
            if callback is not None and callback(n_iter, w.copy(), model.final_intercept(w, b)):
                return w, b, True
        budget = 100 + int(max_iter) // 10
        w, b, n_iter, stop = _polish(model, w, b, tol, budget, record, callback, n_iter)
        # Nonconvex: a stationary point may still not be coordinate-wise optimal (a small
        # spurious coefficient of ℓp, p < 1, is a local minimum of F). A proximal coordinate
        # sweep moves every coefficient that is not the global minimiser of its 1-D majoriser,
        # then the polish resumes: the result is also a fixed point of proximal coordinate
        # descent (what skglm's solvers reach).
        sweeps = 0
        while not stop and not getattr(penalty, "is_convex", False) and sweeps < 10:
            w_s, b_s, changed = _prox_sweep(model, w, b)
            if not changed:
                break
            sweeps += 1
            w, b = w_s, b_s
            n_iter += 1
            record(w, b, 0.0, "prox")
            if callback is not None and callback(n_iter, w.copy(), model.final_intercept(w, b)):
                return w, b, True
            w, b, n_iter, stop = _polish(model, w, b, tol, budget, record, callback, n_iter)
    return w, b, stop


def _prox_sweep(model: _Model, w: Array, b: float) -> tuple[Array, float, bool]:
    r"""One Gauss–Seidel sweep of proximal coordinate descent on the coefficients whose 1-D
    majoriser :math:`\phi_j(t) = L + g_j(t-w_j) + \tfrac{c_j}{2}(t-w_j)^2 + \lambda_j\Omega(t)`
    has a global minimiser (``penalty.prox``) better than :math:`w_j`.

    :math:`c_j = \|X_j\|^2/n` is exact for gaussian and an upper bound (×¼) for binomial, so
    every accepted move decreases F; poisson has no global bound and is skipped.
    """
    fam = model.family.name
    if fam == "poisson":
        return w, b, False
    X = model.X
    n = model.n
    c = np.einsum("ij,ij->j", X, X) / n * (0.25 if fam == "binomial" else 1.0)
    lam = model.lam
    theta = model.theta(w, b)
    g, _ = model.grad(theta)
    cand = np.flatnonzero((lam > 0) & (c > 0) & model.informative)
    if cand.size == 0:
        return w, b, False
    cj, lj = c[cand], lam[cand]
    z = w[cand] - g[cand] / cj
    t = model.penalty.prox(z, lj / cj)
    gain = (0.5 * cj * (t - z) ** 2 + lj * model.penalty.value(t)) - (
        0.5 * cj * (w[cand] - z) ** 2 + lj * model.penalty.value(w[cand])
    )
    f_now = model.loss(theta) + model.pen_value(w)
    tiny = 1e-12 * max(abs(f_now), 1e-300)
    order = np.argsort(gain)
    changed = False
    w = w.copy()
    for k in order[gain[order] < -tiny]:
        j = cand[k]
        r = model.residual(theta)
        gj = float(X[:, j] @ r) / n
        zj = w[j] - gj / c[j]
        tj = float(model.penalty.prox(np.array([zj]), lam[j] / c[j])[0])
        if tj == w[j]:
            continue
        theta_new = theta + X[:, j] * (tj - w[j])
        w_new = w.copy()
        w_new[j] = tj
        f_new = model.loss(theta_new) + model.pen_value(w_new)
        if f_new < f_now - tiny:
            w, theta, f_now, changed = w_new, theta_new, f_new, True
    return w, b, changed


def _stationarity_at(model: _Model, w: Array, b: float) -> float:
    g, gb = model.grad(model.theta(w, b))
    return model.stationarity(w, g, gb)[0]


def _norm_inf(w: Array) -> float:
    return float(np.max(np.abs(w))) if w.size else 0.0


def _separated(model: _Model, w: Array, b: float, loss_below: float | None = None) -> bool:
    """Binomial data perfectly classified by (w, b) — every (2y − 1)θ > 0 — with an objective
    that is not coercive along w (λ = 0, or a penalty flat far out: η̂(10¹²) = ∞), so that no
    finite minimiser exists. ``loss_below``: also require the log-loss below it (the stop
    rule of the iterations)."""
    if model.family.name != "binomial":
        return False
    theta = model.theta(w, b)
    if not np.all((2.0 * model.y - 1.0) * theta > 0):
        return False
    if loss_below is not None and model.loss(theta) >= loss_below:
        return False
    if np.all(model.lam == 0):
        return True
    with np.errstate(all="ignore"):
        far = model.penalty.eta_hat(np.array([1e12]))
    return bool(np.isinf(far[0]))


def _support_rule(model: _Model, w: Array, b: float, eps: float, active_mask: Array,
                  use_eps: bool) -> Array:
    """Exact zeros for kink penalties: frozen coordinates and |w_j| ≤ 10√ε, kept only if
    zeroing them does not increase F (else the thresholds √ε, then 0.1√ε, are tried)."""
    w = np.where(model.informative, w, 0.0)
    if not model.kink:
        return w
    f_w = model.objective(w, b)
    for factor in (10.0, 1.0, 0.1):
        thresh = factor * np.sqrt(eps) if use_eps else 0.0
        cand = (~active_mask | (np.abs(w) <= thresh)) & (model.lam > 0)
        if not np.any(cand & (w != 0)):
            return w
        w_try = np.where(cand, 0.0, w)
        if model.objective(w_try, b) <= f_w:
            return w_try
    return np.where(~active_mask, 0.0, w)


def _polish(model: _Model, w: Array, b: float, tol: float, max_polish: int, record: Any,
            callback: Any, n_iter: int) -> tuple[Array, float, int, bool]:
    """Phase 2 of :func:`irls` (module docstring): active-set Newton on the target."""
    lam = model.lam
    unpen = lam == 0
    stop = False
    for _ in range(max_polish):
        free = ((w != 0) | unpen) & model.informative
        theta, g, gb, st, dist = model.evaluate(w, b)
        if st <= tol:
            break
        f0 = model.loss(theta) + model.pen_value(w)
        st_free = max(float(np.max(dist[free])) if np.any(free) else 0.0,
                      abs(gb) if model.has_b else 0.0)
        viol = np.where(~free & model.informative, dist, 0.0)
        vmax = float(np.max(viol)) if viol.size else 0.0
        added = np.zeros(model.d, dtype=bool)
        if vmax > tol and st_free <= 0.5 * vmax:
            added = viol > tol
        step = None
        for _k in range(4):
            S = np.flatnonzero(free | added)
            sign = np.sign(w)
            sign[added] = -np.sign(g[added])
            # gradient of F on the orthant of sign (re-admitted zeros: the descent orthant)
            gF = g[S] + np.where(unpen[S], 0.0, lam[S] * sign[S] * model.slope(w[S]))
            if model.has_b:
                gF = np.concatenate([gF, [gb]])
            step = _newton_direction(model, w, S, gF, added[S], sign[S], theta)
            if step is None:
                break
            wrong = added[S] & (step[: S.size] * sign[S] <= 0)
            if not np.any(wrong):
                break
            added[S[wrong]] = False  # that zero does not want to leave: keep it at 0
            step = None
        if step is None:
            break
        moved = _line_search(model, w, b, S, step, sign[S], theta, f0, gF)
        if moved is None:
            break
        w, b = moved
        n_iter += 1
        record(w, b, 0.0, "newton")
        if callback is not None and callback(n_iter, w.copy(), model.final_intercept(w, b)):
            stop = True
            break
    return w, b, n_iter, stop


def _line_search(model: _Model, w: Array, b: float, S: Array, step: Array, sgn: Array,
                 theta: Array, f0: float, gF: Array) -> tuple[Array, float] | None:
    """Backtracking (Armijo, c = 1e-4) along ``step`` on S (+ b) for the target F.

    Kink penalties keep each coefficient on its orthant (sign ``sgn``): first the projected
    step (coefficients that would cross zero are set to exactly 0, so that many can leave the
    support at once), with the Armijo test on the actual displacement; failing that, the step
    to the first zero crossing and its halvings. A floating-point allowance of 1e-14 |F| admits
    full steps whose predicted decrease is below rounding (the last Newton steps).
    """
    n_s = S.size
    dS = step[:n_s]
    db = float(step[-1]) if model.has_b else 0.0
    wS = w[S]
    XS = model.X[:, S]
    pen_fixed = lambda wn: model.pen_value(wn)  # noqa: E731
    kink = model.kink
    unpenS = model.lam[S] == 0
    predicted = float(gF @ step)

    def trial(new_S: Array, alpha: float) -> tuple[float, Array, float, float]:
        w_new = w.copy()
        w_new[S] = new_S
        b_new = b + alpha * db
        th = theta + XS @ (new_S - wS) + alpha * db
        f1 = model.loss(th) + pen_fixed(w_new)
        disp = np.concatenate([new_S - wS, [alpha * db]]) if model.has_b else new_S - wS
        return f1, w_new, b_new, float(gF @ disp)

    def accept(f1: float, lin: float, full: bool) -> bool:
        if not np.isfinite(f1):
            return False
        if f1 <= f0 + 1e-4 * lin:
            return True
        return full and f1 <= f0 + 1e-14 * abs(f0) and -predicted <= 1e-12 * max(abs(f0), 1.0)

    if kink:
        ref = np.where(wS != 0, np.sign(wS), sgn)
        alpha = 1.0
        for _ in range(30):
            new_S = wS + alpha * dS
            cross = (new_S * ref < 0) & ~unpenS
            new_S = np.where(cross, 0.0, new_S)
            f1, w_new, b_new, lin = trial(new_S, alpha)
            if accept(f1, lin, alpha == 1.0):
                return w_new, b_new
            alpha *= 0.5
        toward = (wS != 0) & (np.sign(dS) == -np.sign(wS)) & ~unpenS
        if not np.any(toward):
            return None
        ratios = np.full(n_s, np.inf)
        ratios[toward] = np.abs(wS[toward]) / np.abs(dS[toward])
        amax = float(np.min(ratios))
        hit = ratios <= amax * (1 + 1e-12)
        alpha = min(1.0, amax)
        for _ in range(60):
            new_S = wS + alpha * dS
            if alpha == amax:
                new_S[hit] = 0.0
            f1, w_new, b_new, lin = trial(new_S, alpha)
            if accept(f1, lin, False):
                return w_new, b_new
            alpha *= 0.5
        return None
    alpha = 1.0
    for _ in range(60):
        f1, w_new, b_new, lin = trial(wS + alpha * dS, alpha)
        if accept(f1, lin, alpha == 1.0):
            return w_new, b_new
        alpha *= 0.5
    return None


def _hessian_blocks(model: _Model, S: Array, theta: Array) -> tuple[Array | None, Array]:
    """(dense Hessian of L on S (+ b), or None when |S| (+1) > n; the weighted design)."""
    n = model.n
    XS = model.X[:, S]
    if model.gauss:
        if model.gram is not None:
            return model.gram[np.ix_(S, S)], XS
        if S.size <= n:
            return gram(XS) / n, XS
        return None, XS
    W = model.family.curvature(theta)
    Xaug = np.column_stack([XS, np.ones(n)]) if model.has_b else XS
    Xt = Xaug * np.sqrt(W)[:, None]
    if Xt.shape[1] <= n:
        return gram(Xt) / n, Xt
    return None, Xt


def _newton_direction(model: _Model, w: Array, S: Array, gF: Array, addS: Array, sgnS: Array,
                      theta: Array) -> Array | None:
    """Newton direction on S (+ b) for F on the orthant ``sgnS``: Levenberg–Marquardt shifted
    when the Hessian is indefinite (nonconvex penalties); the MM (η-trick, ε = 0) direction
    when no shift works or the step is not a descent direction.

    Hessian: ∇²L + diag(λ_j Ω''(|w_j|)) (0 for re-admitted zeros and unpenalised coordinates);
    MM weights: λ_j Ω'(|w_j|)/|w_j| ≥ 0.
    """
    lam = model.lam
    wS = w[S]
    unpenS = lam[S] == 0
    H, Xt = _hessian_blocks(model, S, theta)
    extra = [0.0] if model.has_b else []
    q = np.where(unpenS | (wS == 0), 0.0, lam[S] * model.curv(wS))
    qfull = np.concatenate([q, extra])

    def descent(step: Array | None) -> bool:
        return step is not None and bool(np.all(np.isfinite(step))) and float(gF @ step) < 0

    step = None
    if H is not None:
        M = H + np.diag(qfull)
        step = try_cholesky_solve(M, -gF)
        if step is None and np.any(qfull < 0):
            # Levenberg–Marquardt: the smallest shift μ·mean(diag H) (μ = 1e-8, 1e-6, …, 1)
            # that makes the Hessian positive definite; μ → 0 near a strict local minimum,
            # where the Newton step takes over (superlinear, unlike the MM direction).
            scale = float(np.mean(np.abs(np.diag(H)))) or 1.0
            for mu in (1e-8, 1e-6, 1e-4, 1e-2, 1.0):
                step = try_cholesky_solve(M + mu * scale * np.eye(M.shape[0]), -gF)
                if step is not None:
                    break
    elif np.all(qfull >= 0):
        step = -solve_weighted_ridge(Xt, qfull, gF)
    if descent(step):
        return step
    with np.errstate(divide="ignore", invalid="ignore"):
        mm = np.where(unpenS | (wS == 0), 0.0, lam[S] * model.slope(wS) / np.abs(wS))
    mfull = np.concatenate([np.where(np.isfinite(mm), mm, 0.0), extra])
    step = solve_gram(H, mfull, -gF) if H is not None else -solve_weighted_ridge(Xt, mfull, gF)
    return step if descent(step) else None


# ============================================================================ one η-trick step
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

    By MATH.md §4 this is the update of adaptive dropout with keep probabilities
    :math:`\alpha_j = c_j\eta_j/(c_j\eta_j + \lambda)` in expectation.
    """
    fam = get_family(family)
    check_penalty(penalty)
    X, y = _check_data(X, y, fam)
    lamv = _check_lam(lam, X.shape[1])
    w = as_finite_array(w, "w").copy()
    model = _Model(X, y, penalty, lamv, fam, bool(fit_intercept))
    active = np.flatnonzero(model.informative)
    with np.errstate(all="ignore"):
        eta = penalty.eta_hat(np.sqrt(w[active] ** 2 + eps) if eps > 0 else w[active])
    with np.errstate(divide="ignore"):
        delta = np.where(np.isinf(eta) | (lamv[active] == 0), 0.0, lamv[active] / eta)
    # η = 0 (a zero weight of a penalty with a kink, ε = 0): the ridge weight λ/η is +∞, so the
    # coefficient stays exactly 0 (MATH.md §3: η̂ = 0 is absorbing) and leaves the solve.
    pinned = np.isinf(delta)
    w[active[pinned]] = 0.0
    active, delta = active[~pinned], delta[~pinned]
    b = intercept if model.has_b else 0.0
    w2, b2 = _weighted_ridge(model, w, b, active, delta)
    return w2, model.final_intercept(w2, b2)


# ============================================================================ λ_max and paths
def lam_max(X: Any, y: Any, penalty: Any, family: str = "gaussian",
            fit_intercept: bool = True) -> float:
    r"""Smallest λ for which w = 0 is stationary (optimal when Ω is convex):
    :math:`\lambda_{max} = \|\nabla_w L(0, b_0)\|_\infty / \Omega'(0^+)`, with :math:`b_0` the
    fitted null intercept. Exists only for penalties with a finite kink at 0 (ValueError
    otherwise: with Ω'(0+) = 0 zero is never optimal, with Ω'(0+) = ∞ it always is)."""
    fam = get_family(family)
    X, y = _check_data(X, y, fam)
    slope = float(penalty.slope_at_zero())
    if not slope > 0:
        raise ValueError(f"{penalty!r} has no kink at 0 (Ω'(0+) = 0): no λ makes w = 0 optimal")
    if not np.isfinite(slope):
        raise ValueError(f"{penalty!r} has Ω'(0+) = ∞: w = 0 is stationary for every λ > 0")
    model = _Model(X, y, penalty, np.zeros(X.shape[1]), fam, bool(fit_intercept))
    b0 = model.null_intercept()
    theta = model.theta(np.zeros(X.shape[1]), b0)
    g, _ = model.grad(theta)
    return float(np.max(np.abs(g))) / slope


def irls_path(
    X: Any,
    y: Any,
    penalty: Any,
    lams: Sequence[float] | Array,
    family: str = "gaussian",
    fit_intercept: bool = True,
    **kwargs: Any,
) -> PathResult:
    """:func:`irls` along a grid of λ, largest first, each warm-started from the previous
    solution (the first from ``kwargs.get('init', 'auto')``). Returns the λ in decreasing order.
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
