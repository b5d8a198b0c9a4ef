r"""Targeted dropout (Gomez et al. 2019) as a truncated quadratic in the effective weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from dualreg._validation import check_rate, check_scalar
from dualreg.penalties.classical import TwoLevelQuadratic

__all__ = ["TargetedDropout"]


class TargetedDropout(TwoLevelQuadratic):
    r"""Targeted dropout (Gomez et al. 2019): drop weights below a magnitude threshold with
    probability a (``rate``), never rescaled.

    Every function of this object takes the **effective weights** :math:`u = (1-\delta)\odot w`
    (δ_j = a·1[targeted]). Exactly, for gaussian,
    :math:`E L = L(u) + \tfrac12\sum_{targeted}\tfrac{a}{1-a} c_j u_j^2`, so as a function of
    |u| the penalty is the truncated quadratic
    :math:`\Omega(u) = \tfrac{r}{2}\min(u^2, \tau^2)`, r = a/(1−a), with τ the threshold in
    units of u (a raw-weight threshold τ_w maps to τ = (1 − a)τ_w, see
    :meth:`from_weight_threshold`). η̂ = 1/r below τ, +inf beyond; the keep probability at
    λ = c = 1 is 1 − a on the targeted set and 1 elsewhere.
    """

    def __init__(self, rate: float = 0.5, tau: float = 1.0):
        self.rate = check_rate(rate, "rate")
        super().__init__(self.rate / (1.0 - self.rate), 0.0, tau)

    @classmethod
    def from_weight_threshold(cls, rate: float, tau_w: float) -> TargetedDropout:
        """The same rule with its threshold given on the raw weights w."""
        rate = check_rate(rate, "rate")
        return cls(rate, (1.0 - rate) * check_scalar(tau_w, "tau_w", 0.0, np.inf, False))

    @property
    def params(self):
        return {"rate": self.rate, "tau": self.tau}

    def gate_mean(self, w: Any, tau_w: float) -> np.ndarray:
        """E[gate] = 1 − a·1[|w| < τ_w]: the unscaled keep rate of each raw weight."""
        w = np.asarray(w, dtype=float)
        return 1.0 - self.rate * (np.abs(w) < tau_w)
