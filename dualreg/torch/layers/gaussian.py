r"""Multiplicative Gaussian dropout :math:`s \sim N(1, \sigma^2)` with its ridge penalty."""

from __future__ import annotations

import numpy as np

from dualreg._validation import check_rate, check_scalar
from dualreg.penalties import Penalty, Power
from dualreg.torch.layers.base import DropoutLayer, MaskKind

__all__ = ["GaussianDropout"]


class GaussianDropout(DropoutLayer):
    r"""Multiplicative Gaussian noise :math:`s \sim N(1, \sigma^2)`: mean one, nothing zeroed.

    Effective penalty :math:`\tfrac12\sigma^2\sum_j c_j w_j^2`: ``Power(2, weight=sigma2)``.

    Parameters
    ----------
    sigma2 : float >= 0
        The noise variance (default 1, unless ``p`` is given).
    target : {"weight", "input"}
    p : float in [0, 1), keyword only
        Instead of ``sigma2``: the drop probability whose inverted Bernoulli dropout this
        matches in the first two moments, :math:`\sigma^2 = p/(1 - p)` (as Keras'
        ``GaussianDropout(rate)``), so ``GaussianDropout(p=0.5)`` pairs with
        ``BernoulliDropout(0.5)``.
    """

    mask_kind = MaskKind.GAUSSIAN
    fixed_p = False  # no drop probability: the noise level is sigma2

    elementwise_input = True  # fixed rates: any activation shape

    def __init__(self, sigma2: float | None = None, target: str = "weight", *,
                 p: float | None = None):
        super().__init__(target)
        if p is not None:
            if sigma2 is not None:
                raise ValueError("give sigma2 or p (the matching drop probability), not both")
            p = check_rate(p, "p")
            sigma2 = p / (1.0 - p)
        self.sigma2 = check_scalar(1.0 if sigma2 is None else sigma2, "sigma2", 0.0, np.inf)

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
