r"""The GLM model functions over any family (docs/conventions.md §1).

.. math::

    L(w, b) = \frac1n \sum_i \ell_i(x_i^\top w + b),\qquad
    \nabla_w L = \frac1n X^\top\big(A'(\theta) - y\big),\qquad
    c_j(w) = \frac1n \sum_i A''(\theta_i)\,x_{ij}^2 .

``family`` is a name or a :class:`~dualreg.families.Family`; each function asks the object.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualreg.families.base import Array, Family, get_family


def _theta(X: Array, w: Array, intercept: float) -> Array:
    return X @ w + intercept


def loss(
    X: Any, y: Any, w: Any, intercept: float = 0.0, family: str | Family = "gaussian"
) -> float:
    r"""Mean loss :math:`L(w, b) = \tfrac1n\sum_i \ell_i(x_i^\top w + b)`."""
    fam = get_family(family)
    X, y, w = np.asarray(X, float), np.asarray(y, float), np.asarray(w, float)
    return float(np.mean(fam.pointwise_loss(_theta(X, w, intercept), y)))


def gradient(
    X: Any, y: Any, w: Any, intercept: float = 0.0, family: str | Family = "gaussian"
) -> tuple[Array, float]:
    r""":math:`(\nabla_w L, \partial_b L) = \big(\tfrac1n X^\top(\mu - y),\ \overline{\mu - y}\big)`
    with :math:`\mu = A'(\theta)`."""
    fam = get_family(family)
    X, y, w = np.asarray(X, float), np.asarray(y, float), np.asarray(w, float)
    r = fam.mean(_theta(X, w, intercept)) - y
    return X.T @ r / X.shape[0], float(np.mean(r))


def curvature(X: Any, w: Any, intercept: float = 0.0, family: str | Family = "gaussian") -> Array:
    r"""Per-sample curvature :math:`A''(x_i^\top w + b)` (the IRLS weights)."""
    fam = get_family(family)
    X, w = np.asarray(X, float), np.asarray(w, float)
    return fam.curvature(_theta(X, w, intercept))


def column_scales(
    X: Any, w: Any = None, intercept: float = 0.0, family: str | Family = "gaussian"
) -> Array:
    r"""Dropout curvature weights :math:`c_j(w) = \tfrac1n\sum_i A''(x_i^\top w + b)\,x_{ij}^2`.

    Exact for gaussian (:math:`c_j = \|X_{:,j}\|^2/n`, independent of w), the second-order
    (Wager, Wang & Liang 2013) weight for the other families. ``w=None`` means w = 0.
    """
    X = np.asarray(X, float)
    if w is None:
        w = np.zeros(X.shape[1])
    a2 = curvature(X, w, intercept, family)
    return (a2 @ (X * X)) / X.shape[0]
