r"""Penalties built from a penalty: floored, rescaled and ε-smoothed.

Each combinator is itself a :class:`~dualreg.penalties.base.Penalty` with every face derived
from the base's faces in closed form (docs/conventions.md §3):

- :class:`Floored`: :math:`\hat\eta_{floor} = \max(\hat\eta, \eta_{min})`,
  :math:`\Omega = \int_0^{|w|} t/\hat\eta_{floor}`, :math:`f_{floor} = f - f(\eta_{min})` on
  :math:`\eta \ge \eta_{min}`;
- :class:`Rescaled`: :math:`\Omega(w/s)`, :math:`\hat\eta_s = s^2\hat\eta(t/s)`,
  :math:`f_s = f(\eta/s^2)`;
- :class:`Smoothed`: :math:`\Omega(\sqrt{w^2+\varepsilon})`,
  :math:`\hat\eta_\varepsilon = \hat\eta(\sqrt{t^2+\varepsilon})`,
  :math:`f_\varepsilon = f(\eta) + \varepsilon/\eta`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualreg._conventions import SUBQUADRATIC
from dualreg._numerics import bisect_increasing
from dualreg._validation import check_scalar
from dualreg.penalties.base import Penalty

__all__ = ["Floored", "Rescaled", "Smoothed"]


def _require_eta_form(base: Any) -> Penalty:
    if not isinstance(base, Penalty) or not base.has_eta_form:
        raise ValueError("base must be a dualreg Penalty with an η-form")
    return base


class Floored(Penalty):
    r"""The penalty of an η-trick rule with a floor:
    :math:`\Omega_{floor}(w) = \int_0^{|w|} t/\max(\hat\eta(t), \eta_{min})\,dt`.

    With :math:`t^*` the point where the (nondecreasing) η̂ of ``base`` reaches
    :math:`\eta_{min}`: :math:`\Omega_{floor} = t^2/(2\eta_{min})` below :math:`t^*` and
    :math:`\Omega(t) - \Omega(t^*) + t^{*2}/(2\eta_{min})` above (so :math:`\Omega_{floor}(0) = 0`);
    :math:`\hat\eta_{floor} = \max(\hat\eta, \eta_{min})`; dual
    :math:`f_{floor}(\eta) = f(\eta) - f(\eta_{min})` on :math:`\eta \ge \eta_{min}`, +inf
    below. It is the problem that adaptive dropout with a keep floor α_min solves,
    :math:`\eta_{min} = \lambda\alpha_{min}/(c(1-\alpha_{min}))`, and the one to hand to IRLS
    (whose own ``eta_floor`` is a different thing: a zeroing threshold). Subquadratic, no kink
    at 0 (no exact zeros).
    """

    curvature_class = SUBQUADRATIC
    kink_at_zero = False

    def __init__(self, base: Penalty, eta_min: float):
        self.base = _require_eta_form(base)
        self.eta_min = check_scalar(eta_min, "eta_min", 0.0, np.inf, low_inclusive=False)
        self.is_convex = bool(base.is_convex)
        hi = 1.0
        while float(base.eta_hat(np.array([hi]))[0]) < self.eta_min:
            hi *= 2.0
            if hi > 1e300:
                raise ValueError("eta_hat of base never reaches eta_min")
        if float(base.eta_hat(np.zeros(1))[0]) >= self.eta_min:
            self.t_star = 0.0
        else:
            self.t_star = float(
                bisect_increasing(base.eta_hat, np.array(self.eta_min), np.array(0.0),
                                  np.array(hi), iterations=200)
            )
        self._omega_star = float(base.value(np.array([self.t_star]))[0])

    @property
    def params(self) -> dict[str, Any]:
        return {"base": self.base, "eta_min": self.eta_min}

    def _eta_hat(self, t):
        return np.maximum(self.base._eta_hat(t), self.eta_min)

    def _slope(self, t):
        e = self._eta_hat(t)
        with np.errstate(invalid="ignore"):
            return np.where(np.isinf(e), 0.0, t / e)

    def _omega(self, t):
        ts, em = self.t_star, self.eta_min
        below = 0.5 * np.minimum(t, ts) ** 2 / em
        above = np.where(t > ts, self.base._omega(np.maximum(t, ts)) - self._omega_star, 0.0)
        return below + above

    def _dual(self, eta):
        f_min = float(self.base.dual(np.array([self.eta_min]))[0])
        with np.errstate(invalid="ignore"):
            out = self.base.dual(np.maximum(eta, self.eta_min)) - f_min
        return np.where(eta >= self.eta_min, out, np.inf)


class Rescaled(Penalty):
    r""":math:`\Omega_s(w) = \Omega(w/s)` for a base penalty Ω and a scale s > 0.

    Faces: :math:`\Omega_s'(t) = \Omega'(t/s)/s`, :math:`\hat\eta_s(t) = s^2\hat\eta(t/s)`,
    :math:`f_s(\eta) = f(\eta/s^2)` (substitute u = w/s in the sup defining f), prox
    :math:`\mathrm{prox}_{\gamma\Omega_s}(v) = s\,\mathrm{prox}_{(\gamma/s^2)\Omega}(v/s)`. The
    curvature class, convexity and the kink at 0 are those of Ω.
    """

    def __init__(self, base: Penalty, scale: float):
        if not isinstance(base, Penalty):
            raise ValueError("base must be a dualreg Penalty")
        self.base = base
        self.scale = check_scalar(scale, "scale", 0.0, np.inf, low_inclusive=False)
        self.curvature_class = base.curvature_class
        self.is_convex = base.is_convex
        self.kink_at_zero = base.kink_at_zero

    @property
    def params(self) -> dict[str, Any]:
        return {"base": self.base, "scale": self.scale}

    def _omega(self, t):
        return self.base._omega(t / self.scale)

    def _slope(self, t):
        return self.base._slope(t / self.scale) / self.scale

    def _eta_hat(self, t):
        return self.scale**2 * self.base._eta_hat(t / self.scale)

    def _dual(self, eta):
        return self.base._dual(eta / self.scale**2)

    def _prox(self, v, step):
        s = self.scale
        return s * self.base._prox(v / s, step / s**2)


class Smoothed(Penalty):
    r""":math:`\Omega_\varepsilon(w) = \Omega(\sqrt{w^2 + \varepsilon})`, the surrogate IRLS
    minimises at smoothing ε.

    With :math:`s = \sqrt{t^2+\varepsilon}`: :math:`\Omega_\varepsilon'(t) = \Omega'(s)\,t/s`,
    :math:`\hat\eta_\varepsilon(t) = \hat\eta(s)`, and from
    :math:`\Omega_\varepsilon(w) = \tfrac12\min_\eta[(w^2+\varepsilon)/\eta + f(\eta)]` the dual
    :math:`f_\varepsilon(\eta) = f(\eta) + \varepsilon/\eta`. :math:`g_\varepsilon(\theta) =
    g(\theta + \varepsilon)` keeps the curvature class; convexity is kept (a nondecreasing
    convex function of the convex :math:`\sqrt{w^2+\varepsilon}`); no kink at 0.
    """

    kink_at_zero = False

    def __init__(self, base: Penalty, eps: float):
        if not isinstance(base, Penalty):
            raise ValueError("base must be a dualreg Penalty")
        self.base = base
        self.eps = check_scalar(eps, "eps", 0.0, np.inf, low_inclusive=False)
        self.curvature_class = base.curvature_class
        self.is_convex = base.is_convex

    @property
    def params(self) -> dict[str, Any]:
        return {"base": self.base, "eps": self.eps}

    def _smooth(self, t):
        return np.sqrt(t * t + self.eps)

    def _omega(self, t):
        return self.base._omega(self._smooth(t))

    def _slope(self, t):
        s = self._smooth(t)
        return self.base._slope(s) * t / s

    def _eta_hat(self, t):
        return self.base._eta_hat(self._smooth(t))

    def _dual(self, eta):
        with np.errstate(divide="ignore"):
            return self.base._dual(eta) + self.eps / eta
