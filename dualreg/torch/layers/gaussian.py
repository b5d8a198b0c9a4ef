r"""Multiplicative Gaussian dropout :math:`s \sim N(1, \sigma^2)` with its ridge penalty."""

from __future__ import annotations

import numpy as np

from dualreg._validation import check_scalar
from dualreg.penalties import Penalty, Power
from dualreg.torch.layers.base import DropoutLayer, MaskKind

__all__ = ["GaussianDropout"]


class GaussianDropout(DropoutLayer):
    r"""Multiplicative Gaussian noise :math:`s \sim N(1, \sigma^2)`: mean one, nothing zeroed.

    Effective penalty :math:`\tfrac12\sigma^2\sum_j c_j w_j^2`: ``Power(2, weight=sigma2)``.
    ``GaussianDropout(p/(1-p))`` matches the second moments of ``BernoulliDropout(p)``.
    """

    mask_kind = MaskKind.GAUSSIAN
    fixed_p = False  # no drop probability: the noise level is sigma2

    elementwise_input = True  # fixed rates: any activation shape

    def __init__(self, sigma2: float = 1.0, target: str = "weight"):
        super().__init__(target)
        self.sigma2 = check_scalar(sigma2, "sigma2", 0.0, np.inf)

    @classmethod
    def contract_examples(cls):
        return cls(0.5), cls(0.5, target="input")

    def extra_repr(self) -> str:
        return f"sigma2={self.sigma2}, target={self.target!r}"

    def _noisy(self, z, weight):
        if self.sigma2 == 0.0:
            return z
        return z * (1.0 + self.sigma2**0.5 * self._randn(z.shape, z))

    def penalty(self) -> Penalty:
        if self.sigma2 == 0.0:
            raise ValueError("sigma2 = 0: this layer applies no noise and has no penalty")
        return Power(2.0, weight=self.sigma2)
