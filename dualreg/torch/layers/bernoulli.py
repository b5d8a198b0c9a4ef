r"""Inverted Bernoulli dropout (the ``nn.Dropout`` rule) with its ridge penalty."""

from __future__ import annotations

import torch

from dualreg._validation import check_rate
from dualreg.penalties import Penalty, Power
from dualreg.torch.layers.base import DropoutLayer

__all__ = ["BernoulliDropout"]


class BernoulliDropout(DropoutLayer):
    r"""Inverted Bernoulli dropout with drop probability ``p``: :math:`s = b/(1-p)`.

    Mask variance :math:`v = p/(1-p)`; effective penalty :math:`\tfrac12 v\sum_j c_j w_j^2`,
    i.e. ``penalty()`` = ``Power(2, weight=v)`` (Ω = v w²/2 at c = 1).
    """

    elementwise_input = True  # fixed rates: any activation shape

    def __init__(self, p: float = 0.5, target: str = "weight"):
        super().__init__(target)
        self.p = check_rate(p, "p")

    @classmethod
    def contract_examples(cls):
        return cls(0.3), cls(0.3, target="input")

    def extra_repr(self) -> str:
        return f"p={self.p}, target={self.target!r}"

    @property
    def variance(self) -> float:
        """v = p/(1 − p)."""
        return self.p / (1.0 - self.p)

    def _noisy(self, z, weight):
        if self.p == 0.0:
            return z
        keep = 1.0 - self.p
        b = (self._rand(z.shape, z) < keep).to(z.dtype)
        return z * b / keep

    def _input_keep(self, x, w):
        return torch.full_like(w, 1.0 - self.p)

    def penalty(self) -> Penalty:
        if self.p == 0.0:
            raise ValueError("p = 0: this layer applies no noise and has no penalty")
        return Power(2.0, weight=self.variance)
