r"""The problem :math:`\min_{w,b} F(w,b) = L(w,b) + \sum_j \lambda_j\,\Omega(w_j)` as one object:
data, family, penalty, centring, caches, and every quantity the solver phases evaluate.

:math:`L = \tfrac1n\sum_i \ell_i(\theta_i)`, :math:`\theta = Xw + b` (docs/conventions.md §1).
A family with constant curvature (:math:`A'' \equiv 1`, gaussian) fits the intercept by centring X
and y (b = ȳ − x̄ᵀw afterwards) and caches the Gram X̃ᵀX̃/n when d ≤ n; every other family
carries b as an extra, unpenalised variable. Also here: the input checks of X, y and λ.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg, sparse

from dualreg.families import Family
from dualreg.solvers.linear import LinearSolver, get_linear_solver, gram_matrix

Array = np.ndarray

__all__ = ["Problem", "check_data", "check_finite_solution", "check_lam", "check_sample_weight",
           "null_gradient"]


def check_data(X: Any, y: Any, family: Family, *,
               return_range: bool = False) -> tuple[Any, ...]:
    """X as a finite 2-D float array (dense, or scipy.sparse CSC: never densified) and y as
    the family accepts it (errors name the argument). With ``return_range`` also the column
    minima and maxima, which the checks compute anyway (two passes over X in all) and
    :class:`Problem` reuses."""
    if X is None:
        raise ValueError("X must be a 2-D array or a scipy.sparse matrix, got None")
    if sparse.issparse(X):
        X = sparse.csc_array(X, dtype=np.float64)
    else:
        try:
            X = np.asarray(X, dtype=float)
        except (TypeError, ValueError) as err:
            raise ValueError(f"X must be numeric, got {type(X).__name__}") from err
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty: shape {X.shape} (need at least 1 sample and 1 feature)")
    lo, hi = column_range(X)  # NaN propagates through min and max
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("X contains NaN or inf")
    big = max(float(hi.max()), -float(lo.min()))
    limit = 1e154 / np.sqrt(X.shape[0])
    if big > limit:
        raise ValueError(
            f"X has entries up to {big:.3g}: sums of their squares overflow float64 (largest "
            f"safe magnitude {limit:.3g} for {X.shape[0]} samples); rescale X"
        )
    y = family.check_y(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y have mismatched shapes: X has {X.shape[0]} samples, y has {y.shape[0]}"
        )
    return (X, y, (lo, hi)) if return_range else (X, y)


def column_range(X: Any) -> tuple[Array, Array]:
    """(column minima, column maxima) of a dense or sparse X (implicit zeros count)."""
    if sparse.issparse(X):
        return (np.asarray(X.min(axis=0).toarray()).ravel(),
                np.asarray(X.max(axis=0).toarray()).ravel())
    return X.min(axis=0), X.max(axis=0)


def check_lam(lam: Any, d: int) -> Array:
    """λ as one finite, nonnegative weight per coefficient (a scalar is broadcast)."""
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


def check_sample_weight(sample_weight: Any, n: int) -> Array | None:
    """Sample weights as a finite, nonnegative array of shape (n,) with a positive sum,
    rescaled to mean 1 (so that λ keeps its meaning); None stays None."""
    if sample_weight is None:
        return None
    s = np.asarray(sample_weight, dtype=float) if not isinstance(sample_weight, str) else None
    if s is None or s.dtype.kind != "f":
        raise ValueError(f"sample_weight must be an array of numbers, got {sample_weight!r}")
    if s.ndim == 0:
        s = np.full(n, float(s))
    if s.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {s.shape}")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("sample_weight must be finite and >= 0")
    if not s.sum() > 0:
        raise ValueError("sample_weight is zero for every sample: nothing to fit")
    return s * (n / s.sum())


class Problem:
    r"""Data, family and penalty of one IRLS problem, with the pieces every phase needs.

    Two storage modes. *Eager* (the default): X is a dense array, centred in a copy for a
    constant-curvature family with an intercept, with the Gram cached when d ≤ n — what the
    phases that touch X directly (MM step, polish, prox sweep) need. *Lazy* (``lazy=True``, the
    outer problem of a working-set run): X is kept as given, dense or sparse, never copied;
    θ and ∇L centre implicitly (:math:`\tilde X w = Xw - \bar x^\top w`) and
    :meth:`restrict` hands out small eager problems on column subsets.

    Attributes
    ----------
    X, y : the (centred, for a constant-curvature family with an intercept) data; X is None
        in lazy mode (use :meth:`columns`)
    lam : array (d,), one λ_j per coefficient
    quadratic : bool, the family's ``constant_curvature`` (L quadratic in w)
    has_b : bool, whether b is an explicit variable (intercept and non-quadratic L)
    informative : bool array (d,), columns that are not constant (with an intercept) / zero
    slope0, kink, absorbing : Ω'(0+); Ω has a kink at 0; η̂(0) = 0 (a zero is absorbing)
    gram, xty : X̃ᵀX̃/n when L is quadratic and d ≤ n (eager), else None; X̃ᵀỹ/n
        (quadratic eager); both given by ``gram=(G, c)`` for a compressed working set
    n_samples : the number of samples of the original data (a compressed working-set problem
        has fewer rows, see :meth:`restrict`)
    loss_offset : constant added to L (nonzero only for a compressed problem)
    b_weight : the factor on |∂_b L| in the stationarity, which is measured in the units of
        ∇_w L (:func:`null_gradient` over the null model's mean |y − μ|; 1 by default)
    outside_lam : the λ_j of the coordinates held at 0 outside a working set, whose
        λ_jΩ(0) (λ_jΩ(√ε) smoothed) the objective includes, so that it is the full problem's
    linear_solver : the :class:`~dualreg.solvers.linear.LinearSolver` of the weighted ridges
    weights : the sample weights s (mean 1) or None; L = Σ s_i ℓ_i / n. A quadratic eager
        problem absorbs them into its rows (X̃ ← √s·X̃, ỹ ← √s·ỹ, centring by weighted means),
        every other one applies them in :meth:`loss`, :meth:`residual` and :meth:`curvature`
        (``sw``, None when absorbed)
    """

    def __init__(self, X: Any, y: Array, penalty: Any, lam: Array, family: Family,
                 fit_intercept: bool, linear_solver: Any = "auto", *, lazy: bool = False,
                 col_range: tuple[Array, Array] | None = None, weights: Array | None = None,
                 gram: tuple[Array, Array] | None = None):
        self.data = (X, y)
        self.family = family
        self.penalty = penalty
        self.linear_solver: LinearSolver = get_linear_solver(linear_solver)
        self.n, self.d = X.shape
        self.n_samples = self.n
        self.loss_offset = 0.0
        self.outside_lam = np.zeros(0)
        self.b_weight = 1.0
        self.fit_intercept = fit_intercept
        self.quadratic = bool(family.constant_curvature)
        self.has_b = fit_intercept and not self.quadratic
        self.lazy = bool(lazy) or sparse.issparse(X)
        self.weights = weights
        self.x_mean, informative = _column_summary(X, fit_intercept, col_range, weights)
        self.centred = self.quadratic and fit_intercept
        self.y_mean = float(np.average(y, weights=weights)) if self.centred else 0.0
        self.y = y - self.y_mean if self.centred else y
        self.sw = weights
        if self.lazy:
            self.X = None
        else:
            self.X = X - self.x_mean if self.centred else X
            if weights is not None and self.quadratic:  # absorbed into the rows
                root = np.sqrt(weights)
                self.X, self.y, self.sw = self.X * root[:, None], self.y * root, None
        self.informative = informative
        self.lam = lam
        self.slope0 = float(penalty.slope_at_zero())
        self.kink = bool(getattr(penalty, "kink_at_zero", False)) or self.slope0 > 0
        self.is_convex = bool(getattr(penalty, "is_convex", False))
        with np.errstate(all="ignore"):
            self.absorbing = bool(penalty.eta_hat(np.zeros(1))[0] <= 0)
        # A family keeping the base's "never separated" answer needs no θ for that test.
        self.can_separate = type(family).perfectly_separated is not Family.perfectly_separated
        self.gram = None
        self.xty = None
        self._cache: Any = None
        if gram is not None:  # (X̃ᵀX̃/n, X̃ᵀỹ/n) known already (a compressed working set)
            self.gram, self.xty = gram
        elif self.quadratic and not self.lazy:
            self.xty = self.X.T @ self.y / self.n
            if self.d <= self.n:
                self.gram = gram_matrix(self.X) / self.n

    def columns(self, idx: Array) -> Array:
        """The dense (centred, where L is centred) columns ``idx`` of X, n × |idx|."""
        X = self.data[0] if self.lazy else self.X
        cols = X[:, idx]
        if sparse.issparse(cols):
            cols = cols.toarray()
        if self.lazy and self.centred:
            cols = cols - self.x_mean[idx]
        return np.asarray(cols, dtype=np.float64)

    def restrict(self, idx: Array, compress: bool = False) -> Problem:
        r"""The same problem on the columns ``idx`` (the others held at 0): a working set, as
        an eager problem with dense columns.

        ``compress`` (quadratic L, |idx| < n): replace the n × k design by the k × k factor
        :math:`\sqrt{k}\,R` of :math:`\tilde X^\top\tilde X/n = R^\top R` and y by
        :math:`\sqrt{k}\,R^{-\top}\tilde X^\top y/n`, so that
        :math:`\tfrac1{2k}\|y' - X'w\|^2 = \tfrac1{2n}\|y - \tilde Xw\|^2 -` ``loss_offset``
        for every w: the same minimiser at O(k²) per evaluation instead of O(nk).
        """
        k = idx.size
        if not (compress and self.quadratic and k < self.n):
            sub = Problem(self.columns(idx), self.data[1], self.penalty, self.lam[idx],
                          self.family, self.fit_intercept, self.linear_solver,
                          weights=self.weights)
        else:
            s = np.ones(self.n) if self.sw is None else self.sw
            G, c = self._gram_and_rhs(idx, s)
            R, upper = _psd_factor(G)
            Xc = np.sqrt(k) * R
            yc = np.sqrt(k) * (linalg.solve_triangular(R, c, trans="T", check_finite=False)
                               if upper else np.linalg.lstsq(R.T, c, rcond=None)[0])
            sub = Problem(Xc, yc, self.penalty, self.lam[idx], self.family, False,
                          self.linear_solver, gram=(G, c))
            # the constant (Σ s y²/n − ‖y'‖²/k)/2, and the centring of the outer problem
            sub.loss_offset = self.loss_offset + 0.5 * (float(s @ self.y**2) / self.n
                                                        - float(yc @ yc) / k)
            sub.informative = self.informative[idx].copy()
            sub.fit_intercept, sub.centred = self.fit_intercept, self.centred
            sub.x_mean, sub.y_mean = self.x_mean[idx], self.y_mean
        sub.n_samples, sub.b_weight = self.n_samples, self.b_weight
        out = np.ones(self.d, dtype=bool)
        out[idx] = False
        sub.outside_lam = np.concatenate([self.outside_lam, self.lam[out & (self.lam > 0)]])
        return sub

    def _gram_and_rhs(self, idx: Array, s: Array) -> tuple[Array, Array]:
        r"""(X̃_Wᵀ S X̃_W/n, X̃_Wᵀ S ỹ/n) of the columns ``idx``. Sparse X: from the sparse
        product and the rank-one centring term :math:`-\bar x\bar x^\top` (Σ s_i = n), so
        that no n × k block is densified."""
        X = self.data[0] if self.lazy else self.X
        if not sparse.issparse(X):
            cols = self.columns(idx)
            return gram_matrix(cols * np.sqrt(s)[:, None]) / self.n, cols.T @ (s * self.y) / self.n
        cols = X[:, idx]
        weighted = cols if self.sw is None else sparse.diags_array(s) @ cols
        G = (cols.T @ weighted).toarray() / self.n
        c = np.asarray(weighted.T @ self.y).ravel() / self.n
        if self.centred:  # ỹ has weighted mean 0, so the rhs needs no correction
            m = self.x_mean[idx]
            G -= np.outer(m, m)
        return G, c

    # -------------------------------------------------------------- loss pieces
    def theta(self, w: Array, b: float, idx: Array | None = None) -> Array:
        """θ = X̃w (+ b), on the columns ``idx`` only when given."""
        if self.lazy:
            X = self.data[0]
            if idx is not None:
                X, w = X[:, idx], w[idx]
            t = X @ w if np.any(w) else np.zeros(self.n)  # w = 0: no pass over X
            if self.centred:
                t = t - float(self.x_mean[idx] @ w if idx is not None else self.x_mean @ w)
        elif idx is None:
            t = self.X @ w
        else:
            t = self.X[:, idx] @ w[idx] if idx.size else np.zeros(self.n)
        return t + b if self.has_b else t

    def loss(self, theta: Array) -> float:
        """L = mean s_i ℓ_i(θ_i) (+ ``loss_offset``)."""
        losses = self.family.pointwise_loss(theta, self.y)
        if self.sw is not None:
            losses = self.sw * losses
        return float(np.mean(losses)) + self.loss_offset

    def residual(self, theta: Array) -> Array:
        """s·(μ − y)."""
        r = self.family.mean(theta) - self.y
        return r if self.sw is None else self.sw * r

    def curvature(self, theta: Array) -> Array:
        """s·A''(θ), the weights of the Newton systems."""
        c = self.family.curvature(theta)
        return c if self.sw is None else self.sw * c

    def grad(self, theta: Array) -> tuple[Array, float]:
        """(∇_w L, ∂_b L) = (Xᵀ(μ − y)/n, mean(μ − y))."""
        r = self.residual(theta)
        gb = float(np.mean(r)) if self.has_b else 0.0
        if not self.lazy:
            return self.X.T @ r / self.n, gb
        g = self.data[0].T @ r / self.n
        if self.centred:
            g = g - self.x_mean * float(np.mean(r))
        return np.asarray(g), gb

    def pen_value(self, w: Array) -> float:
        """Σ_j λ_j Ω(w_j) (with the zeros outside a working set)."""
        lam = self.lam
        nz = lam > 0
        return float(np.sum(lam[nz] * self.penalty.value(w[nz]))) + self._outside(0.0)

    def pen_value_smoothed(self, w: Array, eps: float) -> float:
        """Σ_j λ_j Ω(√(w_j² + ε)) (the target's value when ε ≤ 0)."""
        if eps <= 0:
            return self.pen_value(w)
        nz = self.lam > 0
        return float(np.sum(self.lam[nz] * self.penalty.value(np.sqrt(w[nz] ** 2 + eps)))
                     ) + self._outside(np.sqrt(eps))

    def _outside(self, t: float) -> float:
        """Σ λ_j Ω(t) over the coordinates held at 0 outside a working set."""
        if self.outside_lam.size == 0:
            return 0.0
        return float(self.outside_lam.sum() * self.penalty.value(np.array([t]))[0])

    def objective(self, w: Array, b: float, theta: Array | None = None) -> float:
        """F(w, b) = L + Σ_j λ_j Ω(w_j)."""
        if theta is None:
            theta = self.theta(w, b)
        return self.loss(theta) + self.pen_value(w)

    def stationarity(self, w: Array, g: Array, gb: float) -> tuple[float, Array]:
        """max_j dist(−g_j, λ_j ∂Ω(w_j)) (and ``b_weight``·|g_b|); the per-coordinate distances
        too."""
        lam = self.lam
        dist = np.abs(g).copy()
        pen = lam > 0
        if np.any(pen):
            lp = lam[pen]
            with np.errstate(invalid="ignore"):
                dist[pen] = lp * self.penalty.subdiff_distance(w[pen], g[pen] / lp, 1.0)
        dist[~self.informative] = 0.0
        s = float(np.max(dist)) if dist.size else 0.0
        return (max(s, abs(gb) * self.b_weight) if self.has_b else s), dist

    def stationarity_at(self, w: Array, b: float) -> float:
        """The stationarity of (w, b), computed afresh."""
        g, gb = self.grad(self.theta(w, b))
        return self.stationarity(w, g, gb)[0]

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

    # -------------------------------------------------------------- intercept, separation
    def null_intercept(self) -> float:
        """The intercept of the null model, (A')⁻¹(ȳ) (0 without an explicit b)."""
        if not self.has_b:
            return 0.0
        return self.family.link_of_mean(float(np.average(self.y, weights=self.weights)))

    def final_intercept(self, w: Array, b: float) -> float:
        """The reported intercept: ȳ − x̄ᵀw after centring, else b (0 without intercept)."""
        if self.quadratic:
            return float(self.y_mean - self.x_mean @ w) if self.fit_intercept else 0.0
        return float(b) if self.fit_intercept else 0.0

    def separated(self, w: Array, b: float, loss_below: float | None = None) -> bool:
        """The data are fitted perfectly by (w, b) (``family.perfectly_separated``) with an
        objective that is not coercive along w (λ = 0, or a penalty flat far out:
        η̂(10¹²) = ∞), so that no finite minimiser exists. ``loss_below``: also require the
        loss below it (the stop rule of the iterations)."""
        if not self.can_separate:
            return False
        theta = self.theta(w, b)
        if not self.family.perfectly_separated(theta, self.y):
            return False
        if loss_below is not None and self.loss(theta) >= loss_below:
            return False
        if np.all(self.lam == 0):
            return True
        with np.errstate(all="ignore"):
            far = self.penalty.eta_hat(np.array([1e12]))
        return bool(np.isinf(far[0]))


def _column_summary(X: Any, fit_intercept: bool, col_range: tuple[Array, Array] | None,
                    weights: Array | None = None) -> tuple[Array, Array]:
    """(column means — weighted by ``weights`` (mean 1) — or 0 without an intercept;
    informative columns: not constant with an intercept, not all-zero without) for dense or
    sparse X, without densifying."""
    lo, hi = column_range(X) if col_range is None else col_range
    if fit_intercept:
        if weights is None:
            return np.asarray(X.mean(axis=0)).ravel(), hi > lo
        return np.asarray(X.T @ weights).ravel() / X.shape[0], hi > lo
    return np.zeros(X.shape[1]), (hi != 0) | (lo != 0)


def _psd_factor(G: Array) -> tuple[Array, bool]:
    r"""(R, upper triangular) with RᵀR = G for a symmetric positive semidefinite G: the
    Cholesky factor, or (singular G) the scaled eigenvectors :math:`\Lambda^{1/2}V^\top`."""
    try:
        return linalg.cholesky(G, lower=False, check_finite=False), True
    except linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(G)
        return np.sqrt(np.clip(vals, 0.0, None))[:, None] * vecs.T, False


def check_finite_solution(problem: Problem) -> None:
    """ValueError when the intercept has no finite value: with an explicit intercept and ȳ at
    the edge of the family's mean range (all-zero poisson counts, one binomial class), L
    decreases without bound as b → ±∞ whatever w is."""
    if not problem.has_b:
        return
    ybar = float(np.average(problem.y, weights=problem.weights))
    with np.errstate(all="ignore"):
        lo, hi = (float(v) for v in problem.family.mean(np.array([-1e300, 1e300])))
    if ybar <= lo or ybar >= hi:
        raise ValueError(
            f"y has mean {ybar:g}, at the edge of the {problem.family.name} mean range "
            f"[{lo:g}, {hi:g}] (e.g. all-zero counts or a single class): the intercept has no "
            "finite value; fit without an intercept or check y"
        )


def null_gradient(problem: Problem) -> tuple[float, float]:
    """(‖∇_w L(0, b₀)‖∞ over the informative columns, mean |y − μ(b₀)|), b₀ the null model's
    intercept: the scales of ∇_w L and ∂_b L that make ``tol`` unit-free."""
    theta, g, _, _, _ = problem.evaluate(np.zeros(problem.d), problem.null_intercept())
    g = np.abs(g[problem.informative])
    return (float(g.max()) if g.size else 0.0), float(np.mean(np.abs(problem.residual(theta))))
