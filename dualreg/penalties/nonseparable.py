r"""Non-separable penalties: magnitude pruning (hard threshold k) and ARD.

They do not decompose over coordinates, so they offer the faces that make sense for a whole
vector: ``total(w)``, ``eta_hat(w)``, ``keep_prob``, ``prox`` (hard threshold) or ``dual``
(ARD), and say so: ``value`` raises.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from dualreg._conventions import INDEFINITE, SUBQUADRATIC, eta_to_keep_prob
from dualreg._validation import (
    as_finite_array,
    check_int,
    check_nonnegative,
    check_positive,
    check_scalar,
)

__all__ = ["ARD", "HardThreshold"]


class _NonSeparable:
    separable: ClassVar[bool] = False
    is_convex = False

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def has_eta_form(self) -> bool:
        return self.curvature_class == SUBQUADRATIC

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"

    def value(self, w: Any) -> np.ndarray:
        raise ValueError(f"{self.name} is not separable: use total(w) for the vector penalty")

    def keep_prob(self, w: Any, lam: float, c: Any = 1.0) -> np.ndarray:
        """Bernoulli keep probabilities α = cη̂/(cη̂ + λ) from the vector η̂(w)."""
        return eta_to_keep_prob(self.eta_hat(w), lam, c)


class HardThreshold(_NonSeparable):
    r"""Magnitude pruning: keep the k largest |w_j|. :math:`\Omega(w) = \iota\{\|w\|_0 \le k\}`
    (0 or +inf).

    As a dropout rule it keeps the top k with probability 1 and drops the rest always:
    η̂ = +inf on the k largest magnitudes, 0 elsewhere. ``prox`` is the projection (hard
    thresholding to the k largest; ties broken by position).
    """

    curvature_class = INDEFINITE

    def __init__(self, k: int):
        self.k = check_int(k, "k", 0)

    @property
    def params(self) -> dict[str, Any]:
        return {"k": self.k}

    def _top_k(self, w: np.ndarray) -> np.ndarray:
        mask = np.zeros(w.shape, dtype=bool)
        if self.k > 0:
            order = np.argsort(-np.abs(w), axis=-1, kind="stable")[..., : self.k]
            np.put_along_axis(mask, order, True, axis=-1)
        return mask

    def total(self, w: Any) -> float:
        """0 if at most k entries are nonzero, +inf otherwise."""
        w = as_finite_array(w, "w")
        return 0.0 if np.count_nonzero(w) <= self.k else float("inf")

    def eta_hat(self, w: Any) -> np.ndarray:
        w = as_finite_array(w, "w")
        return np.where(self._top_k(w), np.inf, 0.0)

    def prox(self, v: Any, step: Any = 1.0) -> np.ndarray:
        """Projection onto {‖w‖₀ ≤ k} (the step is irrelevant for an indicator)."""
        v = as_finite_array(v, "v")
        check_nonnegative(step, "step")
        return np.where(self._top_k(v), v, 0.0)


class ARD(_NonSeparable):
    r"""Automatic relevance determination (sparse Bayesian learning) as an η-trick penalty:

    :math:`f(\eta) = \log\det(\tau I_n + X\,\mathrm{diag}(\eta)\,X^\top)`,
    :math:`\Omega(w) = \tfrac12\min_{\eta \ge 0}[\sum_j w_j^2/\eta_j + f(\eta)]`.

    f is concave in η, so linearising it at the current η gives a majoriser; minimising that
    gives the MM update :math:`\eta_j \leftarrow |w_j|/\sqrt{z_j}`,
    :math:`z_j = x_j^\top(\tau I + X\mathrm{diag}(\eta)X^\top)^{-1}x_j` (Wipf & Nagarajan 2008),
    which decreases the objective monotonically; :meth:`eta_hat` runs it to convergence.
    """

    curvature_class = SUBQUADRATIC

    def __init__(self, X: Any, tau: float = 1.0, max_iter: int = 500, tol: float = 1e-10):
        X = as_finite_array(X, "X")
        if X.ndim != 2 or X.size == 0:
            raise ValueError(f"X must be a nonempty 2-D array, got shape {X.shape}")
        self.X = X
        self.tau = check_scalar(tau, "tau", 0.0, np.inf, low_inclusive=False)
        self.max_iter = check_int(max_iter, "max_iter", 1)
        # tol < 0 never stops early: exactly max_iter MM steps (the T13 claim reads them).
        self.tol = check_scalar(tol, "tol", -np.inf, 1.0)

    @property
    def params(self) -> dict[str, Any]:
        return {"X": f"<{self.X.shape[0]}x{self.X.shape[1]}>", "tau": self.tau}

    def _check_w(self, w: Any, name: str = "w") -> np.ndarray:
        w = as_finite_array(w, name)
        if w.shape != (self.X.shape[1],):
            raise ValueError(f"{name} must have shape ({self.X.shape[1]},), got {w.shape}")
        return w

    def dual(self, eta: Any) -> float:
        """f(η) = log det(τI + X diag(η) Xᵀ)."""
        eta = np.asarray(eta, dtype=float)
        if eta.shape != (self.X.shape[1],) or np.any(~np.isfinite(eta)) or np.any(eta < 0):
            raise ValueError(f"eta must be a finite nonnegative vector of length {self.X.shape[1]}")
        sigma = self.tau * np.eye(self.X.shape[0]) + (self.X * eta) @ self.X.T
        _, logdet = np.linalg.slogdet(sigma)
        return float(logdet)

    def objective(self, w: Any, eta: Any) -> float:
        r""":math:`\tfrac12[\sum_j w_j^2/\eta_j + f(\eta)]` (terms with w_j = 0 contribute 0)."""
        w = self._check_w(w)
        eta = np.asarray(eta, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            quad = np.where(w != 0, w**2 / eta, 0.0)
        return 0.5 * (float(np.sum(quad)) + self.dual(eta))

    def eta_hat(self, w: Any) -> np.ndarray:
        """The minimising η, by the MM fixed-point iteration from η = |w|."""
        w = self._check_w(w)
        eta = np.abs(w).copy()
        previous = np.inf
        for _ in range(self.max_iter):
            sigma = self.tau * np.eye(self.X.shape[0]) + (self.X * eta) @ self.X.T
            z = np.einsum("ij,ij->j", self.X, np.linalg.solve(sigma, self.X))
            eta = np.abs(w) / np.sqrt(np.maximum(z, 1e-300))
            current = self.objective(w, eta)
            if abs(previous - current) <= self.tol * max(1.0, abs(current)):
                break
            previous = current
        return eta

    def total(self, w: Any) -> float:
        """Ω(w) at the converged η̂(w)."""
        w = self._check_w(w)
        return self.objective(w, self.eta_hat(w))

    def keep_prob(self, w: Any, lam: float, c: Any = 1.0) -> np.ndarray:
        check_positive(c, "c")
        return super().keep_prob(w, lam, c)
