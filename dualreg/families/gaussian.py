r"""Gaussian: :math:`A(\theta) = \theta^2/2`, reported loss :math:`\tfrac12(y-\theta)^2`."""

from __future__ import annotations

from typing import Any

import numpy as np

from dualreg.families.base import Array, Family


class Gaussian(Family):
    r"""Least squares: :math:`\ell_i = \tfrac12(y_i-\theta_i)^2`, :math:`A'' \equiv 1`, y real.

    The reported constant :math:`y^2/2` makes the mean loss scikit-learn's ``Lasso`` datafit
    :math:`\tfrac1{2n}\|y-\theta\|^2`.
    """

    name = "gaussian"
    curvature_bound = 1.0
    constant_curvature = True

    def log_partition(self, theta: Array) -> Array:
        return 0.5 * np.asarray(theta, dtype=float) ** 2

    def pointwise_loss(self, theta: Array, y: Array) -> Array:
        return 0.5 * (y - theta) ** 2

    def mean(self, theta: Array) -> Array:
        return np.asarray(theta, dtype=float)

    def curvature(self, theta: Array) -> Array:
        return np.ones_like(np.asarray(theta, dtype=float))

    def third_derivative(self, theta: Array) -> Array:
        return np.zeros_like(np.asarray(theta, dtype=float))

    def fourth_derivative(self, theta: Array) -> Array:
        return np.zeros_like(np.asarray(theta, dtype=float))

    def link_of_mean(self, mu: float) -> float:
        return float(mu)

    def sample(self, theta: Array, rng: np.random.Generator, noise: float = 1.0) -> Array:
        r""":math:`y = \theta + \text{noise}\cdot N(0, 1)`."""
        return theta + noise * rng.standard_normal(np.shape(theta))

    def cvxpy_loss(self, theta: Any, y: Array) -> Any:
        import cvxpy as cp

        return cp.sum_squares(y - theta) / 2

    def log_partition_torch(self, theta: Any) -> Any:
        return 0.5 * theta**2

    def pointwise_loss_torch(self, theta: Any, y: Any) -> Any:
        return 0.5 * (y - theta) ** 2

    def mean_torch(self, theta: Any) -> Any:
        return theta

    def curvature_torch(self, theta: Any) -> Any:
        import torch

        return torch.ones_like(theta)

    def fourth_derivative_torch(self, theta: Any) -> Any:
        import torch

        return torch.zeros_like(theta)
