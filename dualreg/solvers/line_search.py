r"""One backtracking (Armijo) line search for every step of the solvers.

Along a step with trial points :math:`x(\alpha)`, :math:`\alpha = \alpha_0, \alpha_0/2, \dots`,
accept the first with

.. math::

    f(x(\alpha)) \le f_0 + c\,\ell(\alpha), \qquad c = 10^{-4},

where :math:`\ell(\alpha) = \nabla f(x_0)^\top (x(\alpha) - x_0)` is the first-order change of the
*actual* displacement (for a plain step :math:`\alpha\,\nabla f^\top d`; for a projected one,
e.g. coefficients clipped at zero, that of the clipped point). The caller's ``trial`` builds
:math:`x(\alpha)` and returns :math:`(f, \ell, x)`, so clipping and orthant rules stay with the
caller while the acceptance rule lives here once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

__all__ = ["ARMIJO_C", "armijo"]

ARMIJO_C = 1e-4
"""The sufficient-decrease constant c."""

T = TypeVar("T")


def armijo(
    trial: Callable[[float], tuple[float, float, T]],
    f0: float,
    *,
    alpha: float = 1.0,
    max_steps: int = 60,
    shrink: float = 0.5,
    c: float = ARMIJO_C,
    predicted: float | None = None,
) -> tuple[float, T] | None:
    r"""Backtrack from ``alpha`` until the Armijo condition holds.

    Parameters
    ----------
    trial : callable
        ``trial(alpha) -> (f, lin, point)``: the objective at the trial point, the first-order
        change :math:`\ell(\alpha)` of its displacement (≤ 0 along a descent direction) and the
        point itself (returned on acceptance).
    f0 : float
        The objective at the start.
    alpha, max_steps, shrink, c
        First step, number of trials, backtracking factor, sufficient-decrease constant.
    predicted : float, optional
        The first-order change of the first (full) step. When given, that first trial is also
        accepted within a floating-point allowance, :math:`f \le f_0 + 10^{-14}|f_0|`, if
        :math:`|\text{predicted}| \le 10^{-12}\max(|f_0|, 1)`: the last Newton steps predict a
        decrease below rounding, which the plain test cannot see.

    Returns
    -------
    (alpha, point) of the accepted trial, or None when none of the ``max_steps`` is accepted
    (non-finite objectives are never accepted).
    """
    first = True
    for _ in range(int(max_steps)):
        f1, lin, point = trial(alpha)
        if np.isfinite(f1) and (
            f1 <= f0 + c * lin or (first and _within_rounding(f1, f0, predicted))
        ):
            return alpha, point
        first = False
        alpha *= shrink
    return None


def _within_rounding(f1: float, f0: float, predicted: Any) -> bool:
    return (predicted is not None and f1 <= f0 + 1e-14 * abs(f0)
            and -predicted <= 1e-12 * max(abs(f0), 1.0))
