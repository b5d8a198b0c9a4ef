r"""Penalties built from an adaptive dropout rule: the η̂ → Ω direction of the duality.

A reweighting rule η̂(t) (or a keep-probability rule α(t) at level λ and scale c) implements
:math:`\Omega(w) = \int_0^{|w|} t/\hat\eta(t)\,dt` (docs/conventions.md §3–4); whether that
penalty has an
η-form is decided numerically by :func:`dualreg.duality.classify`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np

from dualreg import duality
from dualreg._validation import check_callable, check_positive, check_scalar
from dualreg.penalties._display import describe_callable
from dualreg.penalties.base import Penalty

__all__ = ["RulePenalty", "from_eta_hat", "from_keep_prob"]


class RulePenalty(Penalty):
    r"""The penalty implemented by a reweighting rule η̂(t) ≥ 0 (vectorised callable).

    :math:`\Omega(w) = \int_0^{|w|} t/\hat\eta(t)\,dt` (graded Gauss–Legendre quadrature, exact
    for power-law behaviour at 0), :math:`\Omega' = t/\hat\eta`; the dual, where the rule is
    monotone, from :math:`f(\eta) = 2\Omega(w_\eta) - w_\eta^2/\eta`. The curvature class comes
    from :func:`~dualreg.duality.classify` on :math:`[0, t_{max}]`; a kink at zero is detected
    from the local exponent of :math:`t/\hat\eta(t)` between 1e-12 and 1e-8 (≤ 0.01: kink).
    """

    def __init__(self, eta_hat: Callable[[np.ndarray], np.ndarray], name: str | None = None,
                 t_max: float = 10.0):
        self._rule = check_callable(eta_hat, "eta_hat")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name must be a string or None, got {name!r}")
        self._label = name or describe_callable(eta_hat)
        # classify() squares t_max: beyond 1e150 θ = t² would overflow.
        self.t_max = check_scalar(t_max, "t_max", 0.0, 1e150, low_inclusive=False)
        self._repr = f"from_eta_hat({self._label}" + (
            f", t_max={self.t_max:g})" if self.t_max != 10.0 else ")")
        try:
            probe = np.asarray(self._rule(np.linspace(0.0, self.t_max, 17)), dtype=float)
        except (TypeError, ValueError) as err:
            raise ValueError(f"eta_hat must map an array of t >= 0 to an array of values >= 0 "
                             f"(calling it on one failed: {err})") from err
        if probe.shape != (17,) or np.any(np.isnan(probe)) or np.any(probe < 0):
            raise ValueError("eta_hat must map an array of t >= 0 to an array of values >= 0")

    @property
    def name(self):
        return f"rule[{self._label}]"

    def __repr__(self):
        return self._repr

    @cached_property
    def classification(self) -> duality.Classification:
        """The curvature class with its certificate."""
        return duality.classify(self, t_max=self.t_max)

    @property
    def curvature_class(self) -> str:  # type: ignore[override]
        return self.classification.curvature_class

    @cached_property
    def is_convex(self) -> bool:  # type: ignore[override]
        """Ω is even, so it is convex iff Ω'(t) is nondecreasing on t >= 0 (checked on a grid)."""
        slope = self._slope(np.linspace(0.0, self.t_max, 2001))
        return bool(np.all(np.diff(slope) >= -1e-12 * max(float(np.max(np.abs(slope))), 1e-300)))

    @cached_property
    def kink_at_zero(self) -> bool:  # type: ignore[override]
        t = np.array([1e-12, 1e-8])
        s = self._slope(t)
        if np.any(s <= 0):
            return False
        return bool(np.log(s[1] / s[0]) / np.log(t[1] / t[0]) <= 0.01)

    def _eta_values(self, t):
        return np.asarray(self._rule(t), dtype=float)

    def _omega(self, t):
        return duality.value_from_eta_hat(self._eta_values, t)

    def _slope(self, t):
        e = self._eta_values(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(np.isinf(e), 0.0, t / e)
        at_zero = self._slope_zero()
        return np.where(t > 0, s, at_zero)

    def _slope_zero(self) -> float:
        """Ω'(0+) ≈ t/η̂(t) at t = 1e-12 (+inf if the rule is 0 there: an infinite slope)."""
        e = float(self._eta_values(np.array([1e-12]))[0])
        if e == 0:
            return float("inf")
        return 0.0 if np.isinf(e) else 1e-12 / e

    def _eta_hat(self, t):
        return self._eta_values(t)

    def _dual(self, eta):
        return duality.dual_from_eta_hat(self._eta_values, self._omega, eta)


def from_eta_hat(eta_hat: Callable[[np.ndarray], np.ndarray], name: str | None = None,
                 t_max: float = 10.0) -> RulePenalty:
    r"""The penalty :math:`\Omega(w) = \int_0^{|w|} t/\hat\eta(t)\,dt` of a reweighting rule."""
    return RulePenalty(eta_hat, name=name, t_max=t_max)


def from_keep_prob(keep_prob: Callable[[np.ndarray], np.ndarray], lam: float, c: Any = 1.0,
                   name: str | None = None, t_max: float = 10.0) -> RulePenalty:
    r"""The penalty Ω that an adaptive Bernoulli rule α(t) implements as λΩ at scale c:

    :math:`\lambda\Omega(w) = c\int_0^{|w|} t\,(1-\alpha(t))/\alpha(t)\,dt`, i.e.
    :math:`\hat\eta(t) = \lambda\alpha(t)/(c(1-\alpha(t)))`.
    """
    keep_prob = check_callable(keep_prob, "keep_prob")
    lam = check_scalar(lam, "lam", 0.0, np.inf, low_inclusive=False)
    check_positive(c, "c")

    def eta_hat(t):
        alpha = np.asarray(keep_prob(t), dtype=float)
        if np.any((alpha < 0) | (alpha > 1)) or np.any(np.isnan(alpha)):
            raise ValueError("keep_prob must return probabilities in [0, 1]")
        return duality.keep_prob_to_eta(alpha, lam, c)

    label = name or describe_callable(keep_prob)
    penalty = RulePenalty(eta_hat, name=label, t_max=t_max)
    penalty._repr = f"from_keep_prob({label}, lam={lam:g}, c={c!r}" + (
        f", t_max={t_max:g})" if t_max != 10.0 else ")")
    return penalty
