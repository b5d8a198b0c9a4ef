r"""Binomial (logistic): :math:`A(\theta) = \log(1+e^\theta)`, y in [0, 1]."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from dualreg.families.base import Array, Family


class Binomial(Family):
    r"""Logistic regression: :math:`\ell_i = \log(1+e^{\theta_i}) - y_i\theta_i` (the log-loss),
    :math:`A' = \sigma`, :math:`A'' = \sigma(\theta)\sigma(-\theta) \le \tfrac14`,
    :math:`A''' = A''(1 - 2\sigma)`, :math:`A'''' = A''(1 - 6A'')`.

    ``y`` takes values in {0, 1}, or is a proportion in [0, 1] (the log-loss is the same convex
    function of θ; population labels y = σ(θ) make the MLE the generating coefficient). One
    rule for every backend.
    """

    name = "binomial"
    curvature_bound = 0.25

    def log_partition(self, theta: Array) -> Array:
        return np.logaddexp(0.0, theta)

    def mean(self, theta: Array) -> Array:
        return expit(theta)

    def curvature(self, theta: Array) -> Array:
        theta = np.asarray(theta, dtype=float)
        return expit(theta) * expit(-theta)

    def third_derivative(self, theta: Array) -> Array:
        theta = np.asarray(theta, dtype=float)
        return self.curvature(theta) * (expit(-theta) - expit(theta))

    def fourth_derivative(self, theta: Array) -> Array:
        a2 = self.curvature(theta)
        return a2 * (1.0 - 6.0 * a2)

    def link_of_mean(self, mu: float) -> float:
        mu = min(max(mu, 1e-15), 1.0 - 1e-15)
        return float(np.log(mu) - np.log1p(-mu))

    def perfectly_separated(self, theta: Array, y: Array) -> bool:
        """Every sample on its own side: :math:`(2y_i - 1)\\theta_i > 0` for all i."""
        return bool(np.all((2.0 * y - 1.0) * theta > 0))

    def _check_y_values(self, y: Array) -> None:
        if np.any((y < 0) | (y > 1)):
            bad = np.unique(y[(y < 0) | (y > 1)])[:5]
            raise ValueError(
                f"y must take values in {{0, 1}} (or be proportions in [0, 1]) for "
                f"family='binomial', got {bad}"
            )

    def sample(self, theta: Array, rng: np.random.Generator, noise: float = 1.0) -> Array:
        r""":math:`y \sim \text{Bern}(\sigma(\theta))`, as 0/1 floats."""
        return (rng.random(np.shape(theta)) < expit(theta)).astype(float)

    def cvxpy_loss(self, theta: Any, y: Array) -> Any:
        import cvxpy as cp

        return cp.sum(cp.logistic(theta) - cp.multiply(y, theta))

    def log_partition_torch(self, theta: Any) -> Any:
        import torch

        return torch.nn.functional.softplus(theta)

    def mean_torch(self, theta: Any) -> Any:
        import torch

        return torch.sigmoid(theta)

    def curvature_torch(self, theta: Any) -> Any:
        import torch

        return torch.sigmoid(theta) * torch.sigmoid(-theta)

    def fourth_derivative_torch(self, theta: Any) -> Any:
        a2 = self.curvature_torch(theta)
        return a2 * (1.0 - 6.0 * a2)
