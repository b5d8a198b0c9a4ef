r"""Canonical GLM families with the mean-loss scaling of MATH.md §1.

For data ``X`` (n × d), response ``y`` and natural parameter :math:`\theta_i = x_i^\top w + b`,

.. math::

    L(w, b) = \frac1n \sum_i \big[A(\theta_i) - y_i\theta_i\big] \;(+\,\text{const}),\qquad
    \nabla_w L = \frac1n X^\top\big(A'(\theta) - y\big),\qquad
    c_j(w) = \frac1n \sum_i A''(\theta_i)\,x_{ij}^2 .

=========  =====================  ==============  ===========================
family     :math:`A(\theta)`      y               :math:`A''(\theta)`
=========  =====================  ==============  ===========================
gaussian   :math:`\theta^2/2`     real            1
binomial   :math:`\log(1+e^\theta)`  {0, 1}       :math:`\sigma(\theta)(1-\sigma(\theta))`
poisson    :math:`e^\theta`       counts ≥ 0      :math:`e^\theta`
=========  =====================  ==============  ===========================

The constant is chosen so that the reported loss is the one users compare against:
gaussian reports :math:`\tfrac1{2n}\|y-\theta\|^2` (scikit-learn's ``Lasso`` datafit),
binomial the mean log-loss, poisson :math:`\tfrac1n\sum(e^{\theta_i} - y_i\theta_i)` (half the
mean Poisson deviance up to a y-only constant, as in scikit-learn's ``PoissonRegressor``).

The dropout papers and benchopt write the gaussian problem in the *sum* scaling
:math:`\tfrac12\|y - Xw\|^2 + \lambda_{sum}\Omega(w)`; it is n times the mean-scaled problem with
:math:`\lambda = \lambda_{sum}/n` (same minimisers). The converters below make that explicit.

numpy and scipy only; every exponential is written in an overflow-safe form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from dualreg._validation import as_finite_array, check_nonnegative

Array = np.ndarray

FAMILIES = ("gaussian", "binomial", "poisson")


@dataclass(frozen=True)
class Family:
    r"""A canonical exponential family: :math:`A`, :math:`A'` (the mean) and :math:`A''`.

    Attributes
    ----------
    name : str
        ``"gaussian"``, ``"binomial"`` or ``"poisson"``.
    """

    name: str

    # ------------------------------------------------------------------ pointwise pieces
    def pointwise_loss(self, theta: Array, y: Array) -> Array:
        r"""Per-sample loss :math:`\ell_i = A(\theta_i) - y_i\theta_i` (+ the reported constant).

        gaussian: :math:`\tfrac12(y_i-\theta_i)^2`; binomial:
        :math:`\log(1+e^{\theta_i}) - y_i\theta_i` via ``logaddexp``; poisson:
        :math:`e^{\theta_i} - y_i\theta_i` (+inf on overflow, never a warning).
        """
        if self.name == "gaussian":
            return 0.5 * (y - theta) ** 2
        if self.name == "binomial":
            return np.logaddexp(0.0, theta) - y * theta
        with np.errstate(over="ignore"):
            return np.exp(theta) - y * theta

    def mean(self, theta: Array) -> Array:
        r""":math:`\mu = A'(\theta)`: θ, :math:`\sigma(\theta)` (``expit``) or :math:`e^\theta`."""
        if self.name == "gaussian":
            return np.asarray(theta, dtype=float)
        if self.name == "binomial":
            return expit(theta)
        with np.errstate(over="ignore"):
            return np.exp(theta)

    def curvature(self, theta: Array) -> Array:
        r""":math:`A''(\theta)`: 1, :math:`\sigma(\theta)\sigma(-\theta)` (no cancellation) or
        :math:`e^\theta`."""
        theta = np.asarray(theta, dtype=float)
        if self.name == "gaussian":
            return np.ones_like(theta)
        if self.name == "binomial":
            return expit(theta) * expit(-theta)
        with np.errstate(over="ignore"):
            return np.exp(theta)

    def link_of_mean(self, mu: float) -> float:
        r"""The natural parameter of a constant mean: θ = μ, logit μ or log μ (the intercept
        of the null model)."""
        if self.name == "gaussian":
            return float(mu)
        if self.name == "binomial":
            mu = min(max(mu, 1e-15), 1.0 - 1e-15)
            return float(np.log(mu) - np.log1p(-mu))
        return float(np.log(max(mu, 1e-300)))

    # ------------------------------------------------------------------ validation
    def check_y(self, y: Any) -> Array:
        """``y`` as a finite 1-D float array valid for the family (error names ``y``)."""
        y = as_finite_array(y, "y")
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {y.shape}")
        if self.name == "binomial" and not np.all((y == 0) | (y == 1)):
            bad = np.unique(y[(y != 0) & (y != 1)])[:5]
            raise ValueError(f"y must take values in {{0, 1}} for family='binomial', got {bad}")
        if self.name == "poisson" and np.any(y < 0):
            raise ValueError("y must be nonnegative counts for family='poisson'")
        return y


def get_family(family: str | Family) -> Family:
    """The :class:`Family` named ``family`` (error lists the valid names)."""
    if isinstance(family, Family):
        return family
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    return Family(family)


# ---------------------------------------------------------------------------- model functions
def _theta(X: Array, w: Array, intercept: float) -> Array:
    return X @ w + intercept


def loss(X: Any, y: Any, w: Any, intercept: float = 0.0, family: str = "gaussian") -> float:
    r"""Mean loss :math:`L(w, b) = \tfrac1n\sum_i \ell_i(x_i^\top w + b)` (MATH.md §1)."""
    fam = get_family(family)
    X, y, w = np.asarray(X, float), np.asarray(y, float), np.asarray(w, float)
    return float(np.mean(fam.pointwise_loss(_theta(X, w, intercept), y)))


def gradient(
    X: Any, y: Any, w: Any, intercept: float = 0.0, family: str = "gaussian"
) -> tuple[Array, float]:
    r""":math:`(\nabla_w L, \partial_b L) = \big(\tfrac1n X^\top(\mu - y),\ \overline{\mu - y}\big)`
    with :math:`\mu = A'(\theta)`."""
    fam = get_family(family)
    X, y, w = np.asarray(X, float), np.asarray(y, float), np.asarray(w, float)
    r = fam.mean(_theta(X, w, intercept)) - y
    return X.T @ r / X.shape[0], float(np.mean(r))


def curvature(X: Any, w: Any, intercept: float = 0.0, family: str = "gaussian") -> Array:
    r"""Per-sample curvature :math:`A''(x_i^\top w + b)` (the IRLS weights)."""
    fam = get_family(family)
    X, w = np.asarray(X, float), np.asarray(w, float)
    return fam.curvature(_theta(X, w, intercept))


def column_scales(X: Any, w: Any = None, intercept: float = 0.0, family: str = "gaussian") -> Array:
    r"""Dropout curvature weights :math:`c_j(w) = \tfrac1n\sum_i A''(x_i^\top w + b)\,x_{ij}^2`.

    Exact for gaussian (:math:`c_j = \|X_{:,j}\|^2/n`, independent of w), the second-order
    (Wager, Wang & Liang 2013) weight for the other families. ``w=None`` means w = 0.
    """
    X = np.asarray(X, float)
    if w is None:
        w = np.zeros(X.shape[1])
    a2 = curvature(X, w, intercept, family)
    return (a2 @ (X * X)) / X.shape[0]


# ---------------------------------------------------------------------------- scalings
def lam_sum_to_mean(lam_sum: Any, n_samples: int) -> Any:
    r"""λ of the mean scaling from λ of the sum scaling:
    :math:`\tfrac12\|y-Xw\|^2 + \lambda_{sum}\Omega = n\,[\tfrac1{2n}\|y-Xw\|^2 +
    (\lambda_{sum}/n)\,\Omega]`, so :math:`\lambda = \lambda_{sum}/n`."""
    check_nonnegative(lam_sum, "lam_sum")
    return np.asarray(lam_sum, dtype=float) / int(n_samples) if np.ndim(lam_sum) else float(
        lam_sum
    ) / int(n_samples)


def lam_mean_to_sum(lam: Any, n_samples: int) -> Any:
    r""":math:`\lambda_{sum} = n\,\lambda` (inverse of :func:`lam_sum_to_mean`)."""
    check_nonnegative(lam, "lam")
    return np.asarray(lam, dtype=float) * int(n_samples) if np.ndim(lam) else float(lam) * int(
        n_samples
    )


def objective_mean_to_sum(objective: float, n_samples: int) -> float:
    r"""Sum-scaled objective :math:`\tfrac12\|y-Xw\|^2 + \lambda_{sum}\Omega = n F` from the
    mean-scaled :math:`F = L + \lambda\Omega`."""
    return float(objective) * int(n_samples)


def dropout_ridge_weights_sum_to_mean(v: Any, X: Any) -> Array:
    r"""The dropout ridge of the sum scaling, :math:`\tfrac12\sum_j v_j\|X_{:,j}\|^2 w_j^2`, is n
    times the mean-scaled :math:`\tfrac12\sum_j v_j c_j w_j^2`; this returns the per-coordinate
    mean-scale ridge weights :math:`\lambda_j = v_j c_j` (so ``irls(..., Ridge(), lam=λ_j)``
    solves it)."""
    X = np.asarray(X, float)
    v = np.broadcast_to(np.asarray(v, float), (X.shape[1],))
    return v * column_scales(X)
