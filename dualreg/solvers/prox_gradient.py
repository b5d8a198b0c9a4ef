r"""Proximal gradient for :math:`\min_w F(w) = L(w) + \sum_j \lambda_j\,\Omega(w_j)`.

With a step :math:`t \le 1/\mathrm{Lip}(\nabla L)` each iteration is

.. math::

    w^{k+1} = \mathrm{prox}_{t\lambda\Omega}\big(v^k - t\,\nabla L(v^k)\big),
    \qquad \mathrm{prox}_{s\Omega}(z) = \arg\min_x \tfrac12(x - z)^2 + s\,\Omega(x)
    \;(\texttt{penalty.prox}),

with :math:`v^k = w^k` (plain; F never increases, also for a nonconvex Ω whose prox is the
global minimiser) or :math:`v^k = w^k + \tfrac{k-1}{k+2}(w^k - w^{k-1})` (accelerated, FISTA,
for convex Ω; the momentum restarts whenever F increases). The step is :math:`1/\mathrm{Lip}`
when the loss knows its Lipschitz constant, otherwise found by backtracking on the quadratic
upper bound :math:`L(w^+) \le L(v) + \nabla L(v)^\top(w^+ - v) + \|w^+ - v\|^2/(2t)`.
It stops when no coordinate moves by ``tol`` or more.

Two losses: :class:`QuadraticLoss` (:math:`\tfrac12 w^\top Hw - b^\top w`; least squares with
H = XᵀX/n, b = Xᵀy/n) and :class:`GLMLoss` (the mean loss of a family, no intercept: add a
constant column with λ_j = 0, whose prox is the identity).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from dualreg._validation import as_finite_array
from dualreg.families import get_family
from dualreg.solvers.contract import check_penalty
from dualreg.solvers.line_search import armijo
from dualreg.solvers.result import ConvergenceWarning

Array = np.ndarray

__all__ = ["GLMLoss", "ProxGradientResult", "QuadraticLoss", "prox_gradient"]


class QuadraticLoss:
    r""":math:`L(w) = \tfrac12 w^\top H w - b^\top w` (H symmetric positive semidefinite)."""

    def __init__(self, H: Any, b: Any):
        self.H = as_finite_array(H, "H")
        self.b = as_finite_array(b, "b")
        if self.H.ndim != 2 or self.H.shape != (self.b.size, self.b.size):
            raise ValueError(f"H must be ({self.b.size}, {self.b.size}), got {self.H.shape}")

    @classmethod
    def least_squares(cls, X: Any, y: Any) -> QuadraticLoss:
        r""":math:`\tfrac1{2n}\|y - Xw\|^2` up to the constant :math:`\|y\|^2/(2n)`."""
        X, y = as_finite_array(X, "X"), as_finite_array(y, "y")
        n = X.shape[0]
        return cls(X.T @ X / n, X.T @ y / n)

    def value(self, w: Array) -> float:
        return float(0.5 * w @ self.H @ w - self.b @ w)

    def grad(self, w: Array) -> Array:
        return self.H @ w - self.b

    @property
    def lipschitz(self) -> float:
        """The largest eigenvalue of H."""
        return float(np.linalg.eigvalsh(self.H)[-1])


class GLMLoss:
    r""":math:`L(w) = \tfrac1n\sum_i \ell_i(x_i^\top w)` of a family (docs/conventions.md §1);
    Lipschitz constant :math:`\sup A''\cdot\sigma_{max}(X)^2/n` (``family.curvature_bound``;
    infinite, hence backtracking, for poisson)."""

    def __init__(self, X: Any, y: Any, family: Any = "gaussian"):
        self.family = get_family(family)
        self.X = as_finite_array(X, "X")
        self.y = self.family.check_y(y)
        if self.X.ndim != 2 or self.X.shape[0] != self.y.size:
            raise ValueError(f"X must be ({self.y.size}, d), got shape {self.X.shape}")

    def value(self, w: Array) -> float:
        return float(np.mean(self.family.pointwise_loss(self.X @ w, self.y)))

    def grad(self, w: Array) -> Array:
        return self.X.T @ (self.family.mean(self.X @ w) - self.y) / self.X.shape[0]

    @property
    def lipschitz(self) -> float:
        bound = float(self.family.curvature_bound)
        if not np.isfinite(bound):
            return np.inf
        return bound * float(np.linalg.norm(self.X, 2)) ** 2 / self.X.shape[0]


@dataclass
class ProxGradientResult:
    """Output of :func:`prox_gradient`: the last iterate, the iterations run, whether the
    stopping rule was met, and the last step used."""

    coef: Array
    n_iter: int
    converged: bool
    step: float


def prox_gradient(loss: Any, penalty: Any, lam: Any, init: Any, *, accelerated: bool = False,
                  step: float | None = None, tol: float = 1e-15, max_iter: int = 20000,
                  warn: bool = True) -> ProxGradientResult:
    r"""Minimise :math:`L(w) + \sum_j\lambda_j\Omega(w_j)` by proximal gradient (module
    docstring) from ``init``.

    Parameters
    ----------
    loss : QuadraticLoss, GLMLoss or any object with ``value(w)``, ``grad(w)`` and
        ``lipschitz`` (``inf`` when unknown)
    penalty : Penalty
        Needs ``prox`` and ``value``.
    lam : float or array (d,)
        λ_j ≥ 0 (0: unpenalised).
    init : array (d,)
    accelerated : bool
        FISTA momentum with restart (convex penalties).
    step : float, optional
        A fixed step; default 1/``loss.lipschitz``, backtracking when that is infinite.
    tol, max_iter
        Stop when max_j |w_j^{k+1} − w_j^k| < tol, or after max_iter iterations.
    warn : bool
        Emit :class:`~dualreg.solvers.ConvergenceWarning` when max_iter is reached.
    """
    check_penalty(penalty, ("prox", "value"), who="prox_gradient", need_eta_form=False)
    w = as_finite_array(init, "init").astype(float).copy()
    lam = np.asarray(lam, dtype=float)
    if np.any(~np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError(f"lam must be finite and >= 0, got {lam!r}")
    if step is None:
        lipschitz = float(loss.lipschitz)
        t, search = (1.0 / lipschitz, False) if np.isfinite(lipschitz) else (1.0, True)
    else:
        if not step > 0:
            raise ValueError(f"step must be > 0, got {step!r}")
        t, search = float(step), False

    def objective(v: Array) -> float:
        return loss.value(v) + float(np.sum(lam * penalty.value(v)))

    prev, f_prev, k_momentum = w, objective(w) if accelerated else np.nan, 1
    for it in range(1, int(max_iter) + 1):
        v = w + (k_momentum - 1) / (k_momentum + 2) * (w - prev) if accelerated else w
        g = loss.grad(v)
        if search:
            t, new = _backtrack(loss, penalty, lam, v, g, t)
        else:
            new = penalty.prox(v - t * g, t * lam)
        if accelerated:
            f_new = objective(new)
            k_momentum = 1 if f_new > f_prev else k_momentum + 1
            f_prev = f_new
        if np.max(np.abs(new - w)) < tol:
            return ProxGradientResult(new, it, True, t)
        prev, w = w, new
    if warn:
        warnings.warn(ConvergenceWarning(
            f"prox_gradient did not converge: the iterate still moves by ≥ tol {tol:g} after "
            f"{int(max_iter)} iterations; increase max_iter or loosen tol", n_iter=int(max_iter)),
            stacklevel=2)
    return ProxGradientResult(w, int(max_iter), False, t)


def _backtrack(loss: Any, penalty: Any, lam: Array, v: Array, g: Array,
               t: float) -> tuple[float, Array]:
    """The step t (halved from 2t) whose prox point satisfies the quadratic upper bound: the
    Armijo rule with c = 1 and the bound's linear + quadratic term as the model."""
    f_v = loss.value(v)

    def trial(step: float) -> tuple[float, float, Array]:
        new = penalty.prox(v - step * g, step * lam)
        d = new - v
        return loss.value(new), float(g @ d + d @ d / (2.0 * step)), new

    found = armijo(trial, f_v, alpha=2.0 * t, c=1.0, max_steps=100)
    if found is None:
        raise FloatingPointError("prox_gradient: no step satisfies the quadratic upper bound")
    return found
