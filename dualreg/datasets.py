r"""Seeded synthetic designs shared by the claims, tests, benchmarks and figures.

Every function takes a ``numpy.random.Generator`` and draws from it in a documented order, so
a caller's seed fixes the data. The column scale of a design is the dropout curvature weight
:math:`c_j = \|X_{:,j}\|^2/n` of docs/conventions.md §1; :func:`gaussian_design` can make it
exactly 1 (``unit_scale``), spread it (``scales``), correlate the columns or orthogonalise them.
Responses come from the family objects (:meth:`dualreg.families.Family.sample`), so any
registered family works.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualreg.families import Family, get_family

Array = np.ndarray

__all__ = [
    "exponential_design",
    "gaussian_design",
    "geometric_scales",
    "response",
    "signed_magnitudes",
]


def gaussian_design(rng: np.random.Generator, n: int, d: int, *, corr: float = 0.0,
                    orthogonal: bool = False, unit_scale: bool = False,
                    scales: Any = None) -> Array:
    r"""An n × d gaussian design.

    Draws :math:`Z_{ij} \sim N(0, 1)`; with ``corr`` ρ > 0 the columns are equicorrelated,
    :math:`\sqrt{1-\rho}\,Z + \sqrt\rho\,z_0` (one more (n, 1) draw); ``orthogonal`` makes the
    columns orthonormal times √n (QR); ``unit_scale`` divides each column so that
    :math:`c_j = 1` exactly; ``scales`` (length d) finally multiplies column j by
    :math:`s_j` (so :math:`c_j = s_j^2` after ``unit_scale``).
    """
    X = rng.standard_normal((n, d))
    if corr:
        X = np.sqrt(1.0 - corr) * X + np.sqrt(corr) * rng.standard_normal((n, 1))
    if orthogonal:
        X = np.linalg.qr(X)[0] * np.sqrt(n)
    if unit_scale:
        X /= np.sqrt((X**2).mean(0))
    if scales is not None:
        X = X * np.asarray(scales, dtype=float)
    return X


def exponential_design(rng: np.random.Generator, n: int, d: int) -> Array:
    r"""Nonnegative, skewed features :math:`X_{ij} \sim \text{Exp}(1)` (bag-of-words-like: odd
    moments of a mask do not cancel by symmetry)."""
    return rng.exponential(1.0, (n, d))


def geometric_scales(d: int, ratio: float) -> Array:
    r"""Column multipliers :math:`s_j` spaced geometrically with :math:`s_{max}/s_{min}` =
    √ratio, so that the column scales :math:`c_j = s_j^2` of a unit-scale design spread over
    exactly a factor ``ratio`` (geometric mean 1)."""
    if not ratio >= 1:
        raise ValueError(f"ratio must be >= 1, got {ratio!r}")
    return np.geomspace(ratio**-0.25, ratio**0.25, d)


def signed_magnitudes(rng: np.random.Generator, k: int, low: float, high: float) -> Array:
    """k coefficients with random signs and magnitudes uniform on [low, high] (signs drawn
    first, then magnitudes)."""
    return rng.choice([-1.0, 1.0], size=k) * rng.uniform(low, high, size=k)


def response(rng: np.random.Generator, theta: Any, family: str | Family = "gaussian",
             noise: float = 1.0, expected: bool = False) -> Array:
    r"""A response at natural parameter θ: a draw from the family (gaussian
    :math:`\theta + \text{noise}\cdot N(0,1)`, binomial Bern(σ(θ)), poisson Poisson(e^θ)), or
    its mean :math:`A'(\theta)` with ``expected=True`` (no draw)."""
    fam = get_family(family)
    theta = np.asarray(theta, dtype=float)
    return fam.mean(theta) if expected else fam.sample(theta, rng, noise)
