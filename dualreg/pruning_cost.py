r"""What pruning a targeted set costs at a trimmed-ridge fixed point (proofs/T12).

Targeted dropout drops the weights of a set T with probability a, unscaled; in the effective
weights u its expected loss is the **trimmed ridge** (T7)

.. math::

    F_T(u) = L(u) + P_T(u),\qquad P_T(u) = \tfrac r2\sum_{j\in T} c_j u_j^2,\qquad
    r = \frac{a}{1-a}.

Pruning T sets :math:`u_T = 0`; write :math:`u^0` for the pruned weights and
:math:`\Delta L = L(u^0) - L(u)`. By Taylor's formula with integral remainder along
:math:`u - t\,u_T`, for any u,

.. math::

    \Delta L = -\nabla L(u)\cdot u_T + R,\qquad
    R = \int_0^1 (1-t)\,u_T^\top\nabla^2 L(u - t u_T)\,u_T\,dt,

and at a stationary point of :math:`F_T` (:math:`\nabla_T L = -r\,C_T u_T`) the first term is
exactly :math:`2P_T(u)`. With :math:`\kappa^\pm` the extreme eigenvalues of
:math:`C_T^{-1/2}\nabla^2_{TT}L\,C_T^{-1/2}` along the segment,
:math:`(2 + \kappa^-/r)P_T \le \Delta L \le (2 + \kappa^+/r)P_T`, and for a convex loss
:math:`P_T \le \|C_T^{-1/2}\nabla_T L(u^0)\|^2/(2r)`, so
:math:`\Delta L \le (2 + \kappa^+/r)\,\|C_T^{-1/2}\nabla_T L(u^0)\|^2/(2r) = O(1/r)`.

:func:`pruning_cost` measures every term; :func:`trimmed_ridge_point` finds the fixed point.
numpy and scipy only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from dualreg._validation import check_scalar
from dualreg.families import model
from dualreg.families.base import Family, get_family
from dualreg.solvers.result import ConvergenceWarning

__all__ = ["PruningCost", "pruning_cost", "raw_weights", "targeted_set", "trimmed_ridge_point"]

#: Gauss–Legendre nodes of the remainder's integral (exact for a quadratic loss; for a GLM
#: the integrand is analytic along the segment).
NODES = 16


@dataclass(frozen=True)
class PruningCost:
    r"""The terms of the pruning identity at weights u for a targeted set T.

    Attributes
    ----------
    loss_increase : float
        :math:`\Delta L = L(u^0) - L(u)`, evaluated directly.
    first_order : float
        :math:`-\nabla L(u)\cdot u_T`; equals :math:`2P_T(u)` at a fixed point.
    penalty : float
        :math:`P_T(u) = \tfrac r2\sum_T c_j u_j^2`.
    remainder : float
        :math:`R = \int_0^1(1-t)\,u_T^\top\nabla^2L(u - tu_T)\,u_T\,dt` (Gauss–Legendre).
    kappa_min, kappa_max : float
        Extreme eigenvalues of :math:`C_T^{-1/2}\nabla^2_{TT}L\,C_T^{-1/2}` over the nodes and
        both ends of the segment (exact for a quadratic loss).
    pruned_gradient : float
        :math:`\|C_T^{-1/2}\nabla_T L(u^0)\|^2`, the gradient on T after pruning.
    stationarity : float
        :math:`\max_T|\nabla_j L(u) + r c_j u_j|`, the fixed-point residual on T.
    r : float
        The ridge weight a/(1 − a).
    """

    loss_increase: float
    first_order: float
    penalty: float
    remainder: float
    kappa_min: float
    kappa_max: float
    pruned_gradient: float
    stationarity: float
    r: float

    @property
    def predicted(self) -> float:
        r""":math:`2P_T + R`, the loss increase the identity predicts at a fixed point."""
        return 2.0 * self.penalty + self.remainder

    @property
    def lower(self) -> float:
        r""":math:`(2 + \kappa^-/r)\,P_T`."""
        return (2.0 + self.kappa_min / self.r) * self.penalty

    @property
    def upper(self) -> float:
        r""":math:`(2 + \kappa^+/r)\,P_T`."""
        return (2.0 + self.kappa_max / self.r) * self.penalty

    @property
    def a_priori(self) -> float:
        r""":math:`(2 + \kappa^+/r)\,\|C_T^{-1/2}\nabla_T L(u^0)\|^2/(2r)`, which needs only the
        pruned weights (convex loss)."""
        return (2.0 + self.kappa_max / self.r) * self.pruned_gradient / (2.0 * self.r)


def _mask(pruned: Any, d: int) -> np.ndarray:
    mask = np.asarray(pruned)
    if mask.dtype != bool:
        idx = mask.astype(int).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= d):
            raise ValueError(f"pruned: indices must lie in [0, {d}), got {pruned!r}")
        mask = np.zeros(d, bool)
        mask[idx] = True
    if mask.shape != (d,):
        raise ValueError(f"pruned: expected a boolean mask of length {d} or indices, "
                         f"got shape {mask.shape}")
    return mask


def _inputs(X: Any, y: Any, u: Any, family: str | Family) -> tuple:
    fam = get_family(family)
    X = np.asarray(X, float)
    if X.ndim != 2:
        raise ValueError(f"X: expected a 2-d array, got shape {X.shape}")
    u = np.asarray(u, float).ravel()
    if u.size != X.shape[1]:
        raise ValueError(f"u: expected {X.shape[1]} weights, got {u.size}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(u))):
        raise ValueError("X and u must be finite")
    return X, fam.check_y(y), u, fam


def targeted_set(w: Any, gamma: float) -> np.ndarray:
    r"""The ⌊γd⌋ entries of smallest |w| (ties by index), as a boolean mask: the set that
    rank-based targeted dropout targets."""
    w = np.asarray(w, float).ravel()
    gamma = check_scalar(gamma, "gamma", 0.0, 1.0)
    k = int(np.floor(gamma * w.size + 1e-12))
    mask = np.zeros(w.size, bool)
    mask[np.argsort(np.abs(w), kind="stable")[:k]] = True
    return mask


def _segment() -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes t ∈ (0, 1) and weights (summing to 1) on the segment."""
    nodes, weights = np.polynomial.legendre.leggauss(NODES)
    return 0.5 * (nodes + 1.0), 0.5 * weights


def _remainder(fam: Family, theta: np.ndarray, direction: np.ndarray) -> float:
    r""":math:`R = \int_0^1 (1-t)\,\tfrac1n\sum_i A''(\theta_i - t d_i)\,d_i^2\,dt`,
    d = X u_T, by Gauss–Legendre."""
    t, weights = _segment()
    return float(sum(wk * (1.0 - tk) * np.mean(fam.curvature(theta - tk * direction)
                                                 * direction**2)
                     for tk, wk in zip(t, weights, strict=True)))


def _kappa_range(fam: Family, XT: np.ndarray, cT: np.ndarray, theta: np.ndarray,
                 direction: np.ndarray) -> tuple[float, float]:
    r"""Extreme eigenvalues of :math:`C_T^{-1/2}\nabla^2_{TT}L\,C_T^{-1/2}` at the segment's
    nodes and both ends; (0, 0) for an empty T."""
    if XT.shape[1] == 0:
        return 0.0, 0.0
    scaled = XT / np.sqrt(cT)
    n = scaled.shape[0]
    low, high = np.inf, -np.inf
    for tk in (0.0, *_segment()[0], 1.0):
        ev = np.linalg.eigvalsh((scaled.T * fam.curvature(theta - tk * direction)) @ scaled / n)
        low, high = min(low, ev[0]), max(high, ev[-1])
    return float(max(low, 0.0)), float(high)


def raw_weights(u: np.ndarray, T: np.ndarray, r: float) -> np.ndarray:
    """Raw weights w = u/(1 − a) on T (a = r/(1 + r), unscaled drop), u elsewhere."""
    return np.where(T, u * (1.0 + r), u)


def pruning_cost(X: Any, y: Any, u: Any, pruned: Any, r: float, c: Any = None,
                 intercept: float = 0.0, family: str | Family = "gaussian") -> PruningCost:
    r"""Every term of the pruning identity :math:`\Delta L = -\nabla L\cdot u_T + R` at u.

    Parameters
    ----------
    X, y : array_like
        Design (n, d) and response of ``family``.
    u : array_like
        Effective weights (d,): for targeted dropout, :math:`(1-\delta)\odot w`.
    pruned : array_like of bool or int
        The targeted set T, as a mask or indices.
    r : float
        Ridge weight of the trimmed ridge, a/(1 − a) for drop probability a.
    c : array_like, optional
        Column scales c_j of the penalty; by default :math:`c_j(u)` of ``family``
        (``dualreg.families.model.column_scales``; exact for gaussian).
    intercept : float
        Unpenalised, never pruned.

    Returns
    -------
    PruningCost
    """
    X, y, u, fam = _inputs(X, y, u, family)
    r = check_scalar(r, "r", 0.0, np.inf, low_inclusive=False)
    d = u.size
    T = _mask(pruned, d)
    c = (model.column_scales(X, u, intercept, fam) if c is None
         else np.broadcast_to(np.asarray(c, float), (d,)))
    if np.any(~np.isfinite(c)) or np.any(c[T] <= 0):
        raise ValueError("c: column scales on the pruned set must be finite and positive")
    uT = np.where(T, u, 0.0)
    pruned_u = u - uT
    loss = model.loss(X, y, u, intercept, fam)
    grad = model.gradient(X, y, u, intercept, fam)[0]
    grad0 = model.gradient(X, y, pruned_u, intercept, fam)[0]
    direction = X @ uT  # θ moves by −t·X u_T along the segment
    theta = X @ u + intercept
    kappa_min, kappa_max = _kappa_range(fam, X[:, T], c[T], theta, direction)
    return PruningCost(
        loss_increase=model.loss(X, y, pruned_u, intercept, fam) - loss,
        first_order=-float(grad @ uT),
        penalty=0.5 * r * float(np.sum(c[T] * u[T] ** 2)),
        remainder=_remainder(fam, theta, direction),
        kappa_min=kappa_min,
        kappa_max=kappa_max,
        pruned_gradient=float(np.sum(grad0[T] ** 2 / c[T])),
        stationarity=float(np.max(np.abs(grad[T] + r * c[T] * u[T]), initial=0.0)),
        r=r,
    )


def trimmed_ridge_point(X: Any, y: Any, r: float, gamma: float | None = None,
                        pruned: Any = None, c: Any = None, family: str | Family = "gaussian",
                        max_rounds: int = 50, gtol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    r"""A stationary point of :math:`L(u) + \tfrac r2\sum_T c_j u_j^2` and its set T.

    With ``pruned`` the set is fixed; with ``gamma`` it is rank-based: T is the ⌊γd⌋ smallest
    |w_j| of the solution's raw weights :math:`w = u/(1-\delta)`, δ = a = r/(1 + r) on T,
    found by re-solving until T repeats (the rank rule's fixed point, T7). Each solve is a
    strictly convex problem, minimised by ``scipy.optimize.minimize`` (trust-exact, exact
    Hessian) from the previous solution. ``c`` defaults to the gaussian scales ‖X_j‖²/n.

    Returns
    -------
    u : ndarray (d,)
        The effective weights at the fixed point.
    T : ndarray of bool (d,)

    Raises
    ------
    RuntimeError
        When the rank-based set does not settle within ``max_rounds`` (the set cycles).
    """
    from scipy.optimize import minimize

    fam = get_family(family)
    X = np.asarray(X, float)
    y = fam.check_y(y)
    n, d = X.shape
    r = check_scalar(r, "r", 0.0, np.inf, low_inclusive=False)
    if (gamma is None) == (pruned is None):
        raise ValueError("give exactly one of gamma (rank-based set) and pruned (fixed set)")
    c = (X**2).sum(0) / n if c is None else np.broadcast_to(np.asarray(c, float), (d,))

    def solve(T: np.ndarray, u0: np.ndarray) -> np.ndarray:
        weight = r * c * T

        def fun(u):
            theta = X @ u
            return (float(np.mean(fam.pointwise_loss(theta, y))) + 0.5 * float(weight @ u**2),
                    X.T @ (fam.mean(theta) - y) / n + weight * u)

        def hess(u):
            return (X.T * fam.curvature(X @ u)) @ X / n + np.diag(weight)

        res = minimize(fun, u0, jac=True, hess=hess, method="trust-exact",
                       options={"gtol": gtol, "maxiter": 500})
        residual = float(np.max(np.abs(fun(res.x)[1]), initial=0.0))
        if not res.success and residual > 1e-8 * scale:
            warnings.warn(f"trimmed_ridge_point: the solve stopped with gradient {residual:.3g} "
                          f"after {res.nit} iterations ({res.message})", ConvergenceWarning,
                          stacklevel=3)
        return res.x

    scale = max(1.0, float(np.max(np.abs(X.T @ (fam.mean(np.zeros(n)) - y) / n))))

    u = np.zeros(d)
    if pruned is not None:
        T = _mask(pruned, d)
        return solve(T, u), T
    T = np.zeros(d, bool)  # start from the untrimmed solution: every weight kept
    u = solve(T, u)
    for _ in range(max_rounds):
        T_new = targeted_set(raw_weights(u, T, r), gamma)
        if np.array_equal(T_new, T):
            return u, T
        T = T_new
        u = solve(T, u)
    raise RuntimeError(f"trimmed_ridge_point: the rank-based set did not settle in "
                       f"{max_rounds} rounds (gamma={gamma}, r={r})")
