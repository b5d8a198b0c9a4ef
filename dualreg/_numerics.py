"""Vectorised scalar numerics shared by the penalty library and the conversions.

Every routine here works on a whole array of independent one-dimensional problems at once
(no Python loop over points): bracketed root finding, global minimisation on an interval,
and Gauss–Legendre quadrature. numpy only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray

_GL_CACHE: dict[int, tuple[Array, Array]] = {}


def gauss_legendre(n: int) -> tuple[Array, Array]:
    """Nodes and weights of the ``n``-point Gauss–Legendre rule on [0, 1]."""
    if n not in _GL_CACHE:
        x, w = np.polynomial.legendre.leggauss(n)
        _GL_CACHE[n] = ((x + 1.0) / 2.0, w / 2.0)
    return _GL_CACHE[n]


def integrate(fn: Callable[[Array], Array], lo: Array, hi: Array, nodes: int = 20) -> Array:
    r"""Vectorised Gauss–Legendre rule :math:`\int_{lo}^{hi} fn(t)\,dt` for each pair (lo, hi).

    ``fn`` is called once with an array of shape ``lo.shape + (nodes,)``.
    """
    lo, hi = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float))
    x, w = gauss_legendre(nodes)
    width = (hi - lo)[..., None]
    t = lo[..., None] + width * x
    return np.sum(fn(t) * w, axis=-1) * (hi - lo)


def integrate_from_zero(
    fn: Callable[[Array], Array], upper: Array, nodes: int = 16, panels: int = 48
) -> Array:
    r""":math:`\int_0^{u} fn(t)\,dt` for each ``u``, accurate for integrands with a power-law
    behaviour :math:`C t^{\beta}` (:math:`\beta > -1`) at zero.

    Geometrically graded panels :math:`[u 2^{-k-1}, u 2^{-k}]` each get a Gauss–Legendre rule
    (a smooth problem on every panel, whatever the power at zero); the remaining piece
    :math:`[0, u 2^{-K}]` is integrated exactly for the local power law fitted from two samples,
    so that :math:`t^{p-1}` with small ``p`` (the integrand of ℓp) is still integrated to
    near machine precision.
    """
    u = np.asarray(upper, dtype=float)
    flat = u.reshape(-1)
    scales = 2.0 ** -np.arange(panels + 1)
    edges = flat[:, None] * scales[None, :]  # (N, K+1), decreasing
    total = np.sum(integrate(fn, edges[:, 1:], edges[:, :-1], nodes=nodes), axis=1)
    # Tail on [0, delta]: fit fn(t) = C t^beta from t = delta and delta / 2.
    delta = edges[:, -1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f1 = fn(delta)
        f2 = fn(delta / 2.0)
        beta = np.log2(np.abs(f1) / np.abs(f2))
        beta = np.where(np.isfinite(beta) & (beta > -0.999), beta, 0.0)
        tail = np.where(delta > 0, f1 * delta / (beta + 1.0), 0.0)
    tail = np.where(np.isfinite(tail), tail, 0.0)
    return (total + tail).reshape(u.shape)


def bisect_increasing(
    fn: Callable[[Array], Array],
    target: Array,
    lo: Array,
    hi: Array,
    iterations: int = 100,
    log_space: bool = False,
) -> Array:
    """Solve ``fn(x) = target`` for a nondecreasing ``fn`` on ``[lo, hi]``, elementwise.

    With ``log_space`` the bisection halves the bracket in ``log x`` (for positive brackets
    spanning many decades). Targets outside ``[fn(lo), fn(hi)]`` return the nearer end.
    """
    target, lo, hi = np.broadcast_arrays(
        np.asarray(target, float), np.asarray(lo, float), np.asarray(hi, float)
    )
    lo, hi = lo.copy(), hi.copy()
    if log_space:
        lo, hi = np.log(lo), np.log(hi)
        g = lambda z: fn(np.exp(z))  # noqa: E731
    else:
        g = fn
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        below = g(mid) < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
        if np.all(hi - lo <= 1e-15 * np.maximum(1.0, np.abs(hi))):
            break
    x = 0.5 * (lo + hi)
    return np.exp(x) if log_space else x


def minimize_on_interval(
    objective: Callable[[Array], Array],
    lo: Array,
    hi: Array,
    grid: int = 65,
    iterations: int = 80,
    log_grid: bool = False,
) -> tuple[Array, Array]:
    """Global minimum of a scalar function on ``[lo, hi]`` for each element.

    A dense grid (uniform, or geometric towards ``lo`` when ``log_grid``) locates the best
    basin; golden-section search on the two neighbouring grid cells refines it; the interval
    ends are always candidates. Returns ``(argmin, min)``.

    ``objective`` receives arrays of shape ``lo.shape + (m,)`` and must broadcast.
    """
    lo, hi = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float))
    shape = lo.shape
    lo, hi = lo.reshape(-1, 1), hi.reshape(-1, 1)
    s = np.linspace(0.0, 1.0, grid)
    if log_grid:
        s = np.concatenate([[0.0], np.geomspace(1e-12, 1.0, grid - 1)])
    pts = lo + (hi - lo) * s
    vals = objective(pts)
    vals = np.where(np.isnan(vals), np.inf, vals)
    k = np.argmin(vals, axis=1)
    rows = np.arange(pts.shape[0])
    a = pts[rows, np.maximum(k - 1, 0)]
    b = pts[rows, np.minimum(k + 1, grid - 1)]
    invphi = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(iterations):
        c = b - invphi * (b - a)
        d = a + invphi * (b - a)
        f = objective(np.stack([c, d], axis=1))
        left = f[:, 0] < f[:, 1]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
    x_ref = 0.5 * (a + b)
    cands = np.stack([x_ref, pts[rows, k], lo[:, 0], hi[:, 0]], axis=1)
    cvals = objective(cands)
    cvals = np.where(np.isnan(cvals), np.inf, cvals)
    j = np.argmin(cvals, axis=1)
    best = cands[rows, j]
    return best.reshape(shape), cvals[rows, j].reshape(shape)


class MonotoneInverse:
    """Inverse of a smooth increasing map ``y = fn(x)`` on ``[x_lo, x_hi]``, vectorised.

    A monotone cubic (PCHIP) interpolant of the inverse, built once on ``size`` grid points,
    gives a starting value; ``polish`` quasi-Newton steps with the interpolant's slope then
    bring ``fn(x)`` to the target to near machine precision (each step multiplies the error by
    the slope's relative error, ~1e-6 on a fine grid). Targets outside the range clamp to the
    ends; :attr:`y_lo` and :attr:`y_hi` tell the caller where that happens.
    """

    def __init__(
        self,
        fn: Callable[[Array], Array],
        x_lo: float,
        x_hi: float,
        size: int = 4001,
        polish: int = 3,
    ):
        from scipy.interpolate import PchipInterpolator

        self.fn = fn
        x = np.linspace(x_lo, x_hi, size)
        y = fn(x)
        keep = np.concatenate([[True], np.diff(y) > 0])
        if not np.all(np.isfinite(y)) or keep.sum() < size // 2:
            raise ValueError("MonotoneInverse: fn is not finite and increasing on the grid")
        self.x_grid, self.y_grid = x[keep], y[keep]
        self.y_lo, self.y_hi = float(self.y_grid[0]), float(self.y_grid[-1])
        self._inverse = PchipInterpolator(self.y_grid, self.x_grid, extrapolate=False)
        self._slope = self._inverse.derivative()
        self.polish = polish

    def __call__(self, target: Array) -> Array:
        target = np.clip(np.asarray(target, dtype=float), self.y_lo, self.y_hi)
        x = self._inverse(target)
        lo, hi = self.x_grid[0], self.x_grid[-1]
        for _ in range(self.polish):
            y = self.fn(x)
            step = (target - y) * self._slope(np.clip(y, self.y_lo, self.y_hi))
            x = np.clip(x + np.nan_to_num(step), lo, hi)
        return x
