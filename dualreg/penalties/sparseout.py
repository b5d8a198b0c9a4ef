r"""Sparseout (Khan & Stavness 2019) as a weighted power penalty, λ = c = 1."""

from __future__ import annotations

import numpy as np

from dualreg._validation import check_choice, check_rate, check_scalar
from dualreg.penalties.classical import Power

__all__ = ["Sparseout"]


class Sparseout(Power):
    r"""Sparseout (Khan & Stavness 2019) on the weights of a linear model, λ = c = 1.

    Drop probability δ, odds :math:`v = \delta/(1-\delta)`; the noise has variance
    :math:`v|w|^q`. The penalty depends on the gradient convention:

    - ``grad="stop"`` (the reference implementation): :math:`\Omega = (v/q)|w|^q`, the
      adaptive-dropout rule with odds :math:`v t^{q-2}`;
    - ``grad="autograd"``: :math:`\Omega = (v/2)|w|^q`.

    q < 2 subquadratic (sparsifying), q = 2 inverted dropout, q > 2 superquadratic.
    """

    def __init__(self, q: float = 1.0, drop: float = 0.5, grad: str = "stop"):
        self.drop = check_rate(drop, "drop")
        self.grad = check_choice(grad, "grad", ("stop", "autograd"))
        q = check_scalar(q, "q", 0.0, np.inf, low_inclusive=False)
        odds = self.drop / (1.0 - self.drop)
        weight = odds if grad == "stop" else odds * q / 2.0
        super().__init__(q, weight)

    @property
    def odds(self) -> float:
        """v = δ/(1 − δ)."""
        return self.drop / (1.0 - self.drop)

    @property
    def params(self):
        return {"q": self.q, "drop": self.drop, "grad": self.grad}
