r"""Standout (Ba & Frey 2013) as a penalty: keep probability σ(|w|) at λ = c = 1."""

from __future__ import annotations

import numpy as np
from scipy import special

from dualreg.penalties.base import Penalty

__all__ = ["Standout"]


class Standout(Penalty):
    r"""Standout (Ba & Frey 2013) with keep probability σ(|w|) at λ = c = 1.

    :math:`\Omega = 1 - (1+|w|)e^{-|w|}`, :math:`\hat\eta = e^{|w|}`;
    :math:`f(\eta) = 2 - (2(1 + \log\eta) + \log^2\eta)/\eta` for η ≥ 1, 0 below.
    Bounded, quadratic near 0 (η̂(0) = 1: no exact zeros).
    """

    def _omega(self, t):
        return -special.expm1(-t) - t * np.exp(-t)

    def _slope(self, t):
        return t * np.exp(-t)

    def _eta_hat(self, t):
        with np.errstate(over="ignore"):
            return np.exp(t)

    def _dual(self, eta):
        with np.errstate(divide="ignore", invalid="ignore"):
            log_eta = np.log(eta)
            upper = 2.0 - (2.0 * (1.0 + log_eta) + log_eta**2) / eta
        upper = np.where(np.isinf(eta), 2.0, upper)
        return np.where(eta <= 1.0, 0.0, upper)
