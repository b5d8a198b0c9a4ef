r"""Converters between the mean-loss scaling of dualreg and the sum scaling of the papers.

The dropout papers and benchopt write the gaussian problem as
:math:`\tfrac12\|y - Xw\|^2 + \lambda_{sum}\Omega(w)`; it is n times the mean-scaled problem
with :math:`\lambda = \lambda_{sum}/n` (same minimisers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualreg._validation import check_nonnegative
from dualreg.families.base import Array
from dualreg.families.model import column_scales


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
