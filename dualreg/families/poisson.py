r"""Poisson: :math:`A(\theta) = e^\theta`, y counts ≥ 0."""

from __future__ import annotations

from typing import Any

import numpy as np

from dualreg.families.base import Array, Family


class Poisson(Family):
    r"""Poisson regression with the log link: :math:`\ell_i = e^{\theta_i} - y_i\theta_i` (half
    the mean Poisson deviance up to a y-only constant, as scikit-learn's ``PoissonRegressor``);
    every derivative of A is :math:`e^\theta` (unbounded curvature)."""

    name = "poisson"

    def log_partition(self, theta: Array) -> Array:
        with np.errstate(over="ignore"):
            return np.exp(theta)

    mean = log_partition
    curvature = log_partition
    third_derivative = log_partition
    fourth_derivative = log_partition

    def link_of_mean(self, mu: float) -> float:
        return float(np.log(max(mu, 1e-300)))

    def _check_y_values(self, y: Array) -> None:
        if np.any(y < 0):
            raise ValueError("y must be nonnegative counts for family='poisson'")

    def sample(self, theta: Array, rng: np.random.Generator, noise: float = 1.0) -> Array:
        r""":math:`y \sim \text{Poisson}(e^\theta)`, as floats."""
        return rng.poisson(self.mean(theta)).astype(float)

    def cvxpy_loss(self, theta: Any, y: Array) -> Any:
        import cvxpy as cp

        return cp.sum(cp.exp(theta) - cp.multiply(y, theta))

    def log_partition_torch(self, theta: Any) -> Any:
        import torch

        return torch.exp(theta)

    mean_torch = log_partition_torch
    curvature_torch = log_partition_torch
    fourth_derivative_torch = log_partition_torch
