r"""Canonical GLM families, one class per file (docs/conventions.md §1).

=========  ========================  ==============  ===========================
family     :math:`A(\theta)`         y               :math:`A''(\theta)`
=========  ========================  ==============  ===========================
gaussian   :math:`\theta^2/2`        real            1
binomial   :math:`\log(1+e^\theta)`  [0, 1]          :math:`\sigma(\theta)(1-\sigma(\theta))`
poisson    :math:`e^\theta`          counts ≥ 0      :math:`e^\theta`
=========  ========================  ==============  ===========================

Every module of this package is imported here, so a new family is one file: a
:class:`Family` subclass with a ``name`` registers itself, and :func:`get_family` finds it.
numpy and scipy only (the torch and cvxpy twins import their library when called).
"""

import importlib
import pkgutil

from dualreg.families.base import Family, get_family, registered
from dualreg.families.binomial import Binomial
from dualreg.families.gaussian import Gaussian
from dualreg.families.model import column_scales, curvature, gradient, loss
from dualreg.families.poisson import Poisson
from dualreg.families.scaling import (
    dropout_ridge_weights_sum_to_mean,
    lam_mean_to_sum,
    lam_sum_to_mean,
    objective_mean_to_sum,
)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

FAMILIES = tuple(registered())
"""The registered family names, in registration order."""

__all__ = [
    "FAMILIES",
    "Binomial",
    "Family",
    "Gaussian",
    "Poisson",
    "column_scales",
    "curvature",
    "dropout_ridge_weights_sum_to_mean",
    "get_family",
    "gradient",
    "lam_mean_to_sum",
    "lam_sum_to_mean",
    "loss",
    "objective_mean_to_sum",
    "registered",
]
