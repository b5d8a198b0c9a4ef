r"""Penalties given by their η-trick dual f (docs/conventions.md §3): η̂ inverts
:math:`w(\eta) = \eta\sqrt{f'(\eta)}`; the base of variational dropout and hard concrete."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from dualreg.penalties.base import SUBQUADRATIC, Penalty

__all__ = ["DualDefinedPenalty"]


class DualDefinedPenalty(Penalty):
    r"""A subquadratic penalty given by its η-trick dual f (and f').

    The minimiser of :math:`w^2/\eta + f(\eta)` satisfies :math:`w^2 = \eta^2 f'(\eta)`, so
    :math:`\hat\eta` inverts :math:`w(\eta) = \eta\sqrt{f'(\eta)}` (increasing for a valid
    dual), and :math:`\Omega(w) = \tfrac12[w^2/\hat\eta + f(\hat\eta)]`,
    :math:`\Omega'(w) = w/\hat\eta` (envelope theorem).

    Subclasses provide ``_dual``, ``_eta_hat`` and ``_slope_zero`` (= Ω'(0+) = √f'(0)).
    """

    curvature_class = SUBQUADRATIC
    kink_at_zero = True

    @abstractmethod
    def _slope_zero(self) -> float:
        """Ω'(0+) = √f'(0)."""

    def _omega(self, t):
        eta = self._eta_hat(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            quad = np.where((t > 0) & np.isfinite(eta), t * t / eta, 0.0)
        return 0.5 * (quad + self._dual(eta))

    def _slope(self, t):
        eta = self._eta_hat(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(np.isinf(eta), 0.0, t / eta)
        return np.where(t > 0, s, self._slope_zero())
