r"""The conventions every layer shares (docs/conventions.md): curvature classes and the
η ↔ α ↔ σ² maps of the adaptive-dropout duality.

A leaf module: it imports nothing from dualreg but validation, so both ``duality`` and
``penalties`` can use it without importing each other.

=================  ==============================================================
η ↔ α (Bernoulli)  :math:`\alpha = c\eta/(c\eta + \lambda)`,
                   :math:`\eta = \lambda\alpha/(c(1-\alpha))`
η ↔ σ² (Gaussian)  :math:`\sigma^2 = \lambda/(c\eta)`
α → v              :math:`v = (1-\alpha)/\alpha` (variance of the inverted mask b/α)
=================  ==============================================================
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np

from dualreg._validation import (
    as_finite_array,
    as_nonnegative_array,
    check_nonnegative,
    check_positive,
)

Array = np.ndarray


class CurvatureClass(StrEnum):
    r"""Curvature of :math:`g(\theta) = \Omega(\sqrt\theta)` (docs/conventions.md §3).

    ``SUBQUADRATIC``: g concave and nondecreasing, so Ω has an η-form (an infimum of
    quadratics); ``QUADRATIC``: g affine (ridge); ``SUPERQUADRATIC``: g convex, no η-form (a
    supremum of quadratics); ``INDEFINITE``: neither. Members compare equal to their string
    values (``CurvatureClass.SUBQUADRATIC == "subquadratic"``).
    """

    SUBQUADRATIC = "subquadratic"
    QUADRATIC = "quadratic"
    SUPERQUADRATIC = "superquadratic"
    INDEFINITE = "indefinite"

    @property
    def has_eta_form(self) -> bool:
        """Whether :math:`\\Omega(w) = \tfrac12\\min_\\eta[w^2/\\eta + f(\\eta)]` holds."""
        return self in (CurvatureClass.SUBQUADRATIC, CurvatureClass.QUADRATIC)


SUBQUADRATIC = CurvatureClass.SUBQUADRATIC
QUADRATIC = CurvatureClass.QUADRATIC
SUPERQUADRATIC = CurvatureClass.SUPERQUADRATIC
INDEFINITE = CurvatureClass.INDEFINITE
CURVATURE_CLASSES = tuple(CurvatureClass)


# --------------------------------------------------------------------------- η ↔ α, σ²
def eta_to_keep_prob(eta: Any, lam: float, c: Any = 1.0) -> Array:
    r"""Bernoulli keep probability :math:`\alpha = c\eta / (c\eta + \lambda)`.

    Matches :math:`\tfrac12 v c w^2` with :math:`\tfrac{\lambda}{2} w^2/\eta`, where
    :math:`v = (1-\alpha)/\alpha`. ``eta = inf`` gives 1; ``lam = 0`` gives 1.
    """
    eta = as_nonnegative_array(eta, "eta", allow_inf=True)
    lam = float(check_nonnegative(lam, "lam"))
    c = np.asarray(check_positive(c, "c"), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ce = c * eta
        alpha = np.where(np.isinf(ce), 1.0, ce / (ce + lam))
    return np.where(lam == 0, 1.0, alpha)


def keep_prob_to_eta(alpha: Any, lam: float, c: Any = 1.0) -> Array:
    r"""Inverse of :func:`eta_to_keep_prob`: :math:`\eta = \lambda\alpha / (c(1-\alpha))`."""
    alpha = as_finite_array(alpha, "alpha")
    if np.any((alpha < 0) | (alpha > 1)):
        raise ValueError("alpha (keep probability) must be in [0, 1]")
    lam = float(check_nonnegative(lam, "lam"))
    c = np.asarray(check_positive(c, "c"), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = lam * alpha / (c * (1.0 - alpha))
    return np.where(alpha == 1.0, np.inf, eta)


def eta_to_noise_variance(eta: Any, lam: float, c: Any = 1.0) -> Array:
    r"""Gaussian-mask variance :math:`\sigma^2 = \lambda / (c\eta)` (inf where η = 0)."""
    eta = as_nonnegative_array(eta, "eta", allow_inf=True)
    lam = float(check_nonnegative(lam, "lam"))
    c = np.asarray(check_positive(c, "c"), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = lam / (c * eta)
    return np.where(lam == 0, 0.0, out)


def noise_variance_to_eta(sigma2: Any, lam: float, c: Any = 1.0) -> Array:
    r"""Inverse of :func:`eta_to_noise_variance`: :math:`\eta = \lambda / (c\sigma^2)`."""
    sigma2 = as_nonnegative_array(sigma2, "sigma2", allow_inf=True)
    lam = float(check_nonnegative(lam, "lam"))
    c = np.asarray(check_positive(c, "c"), dtype=float)
    with np.errstate(divide="ignore"):
        return lam / (c * sigma2)


def drop_odds(alpha: Any) -> Array:
    r"""Mask variance :math:`v = (1-\alpha)/\alpha` of inverted Bernoulli dropout, for a keep
    probability α in [0, 1] (+inf at α = 0)."""
    alpha = as_finite_array(alpha, "alpha")
    if np.any((alpha < 0) | (alpha > 1)):
        raise ValueError(f"alpha (keep probability) must be in [0, 1], got {float(alpha.max())!r}"
                         if np.any(alpha > 1) else
                         f"alpha (keep probability) must be in [0, 1], got {float(alpha.min())!r}")
    with np.errstate(divide="ignore"):
        return (1.0 - alpha) / alpha
