r"""Frozen column scales against the Fisher ridge on a GLM (proofs/T14_glm_gaps.md).

With the feature power q (q = 2: dropout; q ≠ 2: Sparseout on the features) and per-coordinate
weights :math:`\nu_j` (1 by default), the column scales and the two penalised points are

.. math::

    c_j(\vartheta) = \tfrac1n\sum_i A''(\theta_i)\,|x_{ij}|^q,\qquad
    \theta_i = x_i^\top w + b,\qquad \vartheta = (w, b),

    w_F:\ \nabla L + v\,\nabla P = 0,\quad P = \tfrac12\sum_j\nu_jc_j(\vartheta)w_j^2
    \qquad\text{(Fisher ridge: }\partial c/\partial\vartheta\text{ differentiated)},

    w_Z:\ \nabla L + v\,\nu\odot c(\vartheta)\odot w = 0
    \qquad\text{(frozen scales: what the reweighted ridge / IRLS reaches)}.

Their difference is first order in v (Theorem T14.1):

.. math::

    w_Z - w_F = v\,D + O(v^2),\qquad D = [H^{-1}g]_w,\qquad
    H = \tfrac1n\bar X^\top\operatorname{diag}A''(\theta)\bar X,

    g = \tfrac12\sum_j\nu_jw_j^2\,\nabla_\vartheta c_j
      = \tfrac1{2n}\bar X^\top\Big(A'''(\theta)\odot\sum_j\nu_j|x_{\cdot j}|^qw_j^2\Big),

all at the unpenalised optimum :math:`\vartheta_0`, with :math:`\bar X = (X, 1)` when an
intercept is fitted (it is never penalised). numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualreg.families import Family, get_family

__all__ = [
    "feature_scales",
    "frozen_field",
    "frozen_gap_coefficient",
    "frozen_scale_point",
    "glm_optimum",
    "scale_gradient",
]

Array = np.ndarray


def _design(X: Array, fit_intercept: bool) -> Array:
    return np.column_stack([X, np.ones(X.shape[0])]) if fit_intercept else X


def _nu(weights: Any, d: int) -> Array:
    return np.ones(d) if weights is None else np.broadcast_to(np.asarray(weights, float), (d,))


def feature_scales(X: Any, w: Any, intercept: float = 0.0, family: str | Family = "binomial",
                   power: float = 2.0) -> Array:
    r"""Column scales of power q: :math:`c_j(w) = \tfrac1n\sum_i A''(x_i^\top w + b)|x_{ij}|^q`
    (q = 2 is :func:`dualreg.families.column_scales`)."""
    X, w = np.asarray(X, float), np.asarray(w, float)
    a2 = get_family(family).curvature(X @ w + intercept)
    return a2 @ np.abs(X) ** power / X.shape[0]


def scale_gradient(X: Any, w: Any, intercept: float = 0.0, family: str | Family = "binomial",
                   power: float = 2.0, weights: Any = None, fit_intercept: bool = True) -> Array:
    r"""The term the frozen scales leave out,
    :math:`g = \tfrac12\sum_j\nu_jw_j^2\nabla_\vartheta c_j(\vartheta)
    = \tfrac1{2n}\bar X^\top\big(A'''(\theta)\odot\sum_j\nu_j|x_{\cdot j}|^qw_j^2\big)`
    (length d, plus the intercept's component when ``fit_intercept``)."""
    X, w = np.asarray(X, float), np.asarray(w, float)
    a3 = get_family(family).third_derivative(X @ w + intercept)
    s = np.abs(X) ** power @ (_nu(weights, w.size) * w * w)
    return _design(X, fit_intercept).T @ (a3 * s) / (2.0 * X.shape[0])


def frozen_field(X: Any, y: Any, w: Any, intercept: float, v: float,
                 family: str | Family = "binomial", power: float = 2.0, weights: Any = None,
                 fit_intercept: bool = True) -> Array:
    r"""The frozen-scale field :math:`\nabla_\vartheta L + v\,(\nu\odot c\odot w, 0)`; its zero
    is :math:`w_Z` (adding :func:`scale_gradient` times v gives the Fisher-ridge field)."""
    fam = get_family(family)
    X, y, w = np.asarray(X, float), np.asarray(y, float), np.asarray(w, float)
    r = fam.mean(X @ w + intercept) - y
    grad = _design(X, fit_intercept).T @ r / X.shape[0]
    grad[: w.size] += v * _nu(weights, w.size) * feature_scales(X, w, intercept, fam, power) * w
    return grad


def _newton(X: Array, y: Array, fam: Family, ridge: Array, x0: Array, fit_intercept: bool,
            tol: float, max_iter: int = 100) -> Array:
    r"""Damped Newton for :math:`L(\vartheta) + \tfrac12\sum_j r_jw_j^2` (fixed ridge r)."""
    Xb = _design(X, fit_intercept)
    n, d = X.shape
    r_full = np.r_[ridge, np.zeros(Xb.shape[1] - d)]
    x = x0.copy()

    def obj(z):
        theta = Xb @ z
        return float(np.mean(fam.log_partition(theta) - y * theta) + 0.5 * r_full @ (z * z))

    for _ in range(max_iter):
        theta = Xb @ x
        g = Xb.T @ (fam.mean(theta) - y) / n + r_full * x
        if np.max(np.abs(g)) < tol:
            return x
        H = Xb.T @ (fam.curvature(theta)[:, None] * Xb) / n + np.diag(r_full)
        step = np.linalg.solve(H, g)
        t, f0 = 1.0, obj(x)
        while t > 1e-10 and obj(x - t * step) > f0 + 1e-15 * abs(f0):
            t /= 2
        x = x - t * step
    raise RuntimeError(f"Newton did not reach gradient {tol:g} in {max_iter} iterations")


def glm_optimum(X: Any, y: Any, family: str | Family = "binomial", fit_intercept: bool = True,
                tol: float = 1e-13) -> tuple[Array, float]:
    """The unpenalised GLM optimum :math:`\\vartheta_0` by Newton: ``(coef, intercept)``."""
    X, y = np.asarray(X, float), np.asarray(y, float)
    m = X.shape[1] + int(fit_intercept)
    x = _newton(X, y, get_family(family), np.zeros(X.shape[1]), np.zeros(m), fit_intercept, tol)
    return x[: X.shape[1]], (float(x[-1]) if fit_intercept else 0.0)


def frozen_scale_point(X: Any, y: Any, v: float, family: str | Family = "binomial",
                       power: float = 2.0, weights: Any = None, fit_intercept: bool = True,
                       tol: float = 1e-12, max_outer: int = 500) -> tuple[Array, float]:
    r"""The frozen-scale point :math:`w_Z` by the reweighted ridge that IRLS runs: freeze
    :math:`c = c(\vartheta^t)`, minimise :math:`L + \tfrac v2\sum_j\nu_jc_jw_j^2` (Newton),
    recompute c; stop when the frozen field (:func:`frozen_field`) is below ``tol``.

    A fixed point solves :math:`\nabla L + v\,\nu\odot c(\vartheta)\odot w = 0`; the outer map
    contracts at rate :math:`O(v)` near :math:`\vartheta_0`. Returns ``(coef, intercept)``."""
    fam = get_family(family)
    X, y = np.asarray(X, float), np.asarray(y, float)
    d = X.shape[1]
    nu = _nu(weights, d)
    w, b = glm_optimum(X, y, fam, fit_intercept)
    x = np.r_[w, b] if fit_intercept else w.copy()
    for _ in range(max_outer):
        b = float(x[-1]) if fit_intercept else 0.0
        if np.max(np.abs(frozen_field(X, y, x[:d], b, v, fam, power, nu, fit_intercept))) < tol:
            return x[:d], b
        ridge = v * nu * feature_scales(X, x[:d], b, fam, power)
        x = _newton(X, y, fam, ridge, x, fit_intercept, tol / 10)
    raise RuntimeError(f"the frozen-scale iteration did not reach {tol:g} in {max_outer} steps")


def frozen_gap_coefficient(X: Any, y: Any, family: str | Family = "binomial",
                           power: float = 2.0, weights: Any = None,
                           fit_intercept: bool = True) -> Array:
    r"""The first-order coefficient :math:`D = [H^{-1}g]_w` of
    :math:`w_Z - w_F = vD + O(v^2)` (module docstring), at the unpenalised optimum."""
    fam = get_family(family)
    X, y = np.asarray(X, float), np.asarray(y, float)
    w0, b0 = glm_optimum(X, y, fam, fit_intercept)
    Xb = _design(X, fit_intercept)
    H = Xb.T @ (fam.curvature(X @ w0 + b0)[:, None] * Xb) / X.shape[0]
    g = scale_gradient(X, w0, b0, fam, power, weights, fit_intercept)
    return np.linalg.solve(H, g)[: X.shape[1]]
