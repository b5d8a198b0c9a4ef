"""Dropout layers (nn.Module), the batched Monte-Carlo dropout trainer, attribution and
sparsity metrics. Requires torch.

Layers live in :mod:`dualreg.torch.layers` (one kind per file; ``LAYERS`` lists them all),
the GLM trainer in :mod:`dualreg.torch.train`, replicas of any ``nn.Module`` in
:mod:`dualreg.torch.replicas`, exact expected objectives in
:mod:`dualreg.torch.expected`.
"""
# ruff: noqa: E402  (the imports follow the check that names the extra)

from dualreg._extras import require

require("dualreg.torch", "torch", "torch")  # one line naming the extra, not a traceback

from dualreg.torch.attribution import conductance
from dualreg.torch.layers import (
    LAYERS,
    AdaptiveDropout,
    BernoulliDropout,
    DropoutLayer,
    GaussianDropout,
    MaskKind,
    Sparseout,
    TargetedDropout,
    VariationalDropout,
    YDrop,
)
from dualreg.torch.metrics import hoyer
from dualreg.torch.model import (
    attach_schedules,
    dropout_layers,
    parametrize_weight,
    regularization,
    step_schedules,
)
from dualreg.torch.replicas import ModuleMonteCarloResult, monte_carlo_module
from dualreg.torch.train import FAMILIES, MonteCarloResult, column_scale, glm_loss, monte_carlo


def torch_eta_hat(penalty, t):
    r""":math:`\hat\eta(t)` on a tensor of magnitudes: ``penalty.eta_hat_torch(t)`` (tensor
    arithmetic for the closed forms, the numpy η̂ on detached values otherwise)."""
    return penalty.eta_hat_torch(t)


__all__ = [
    "FAMILIES",
    "LAYERS",
    "AdaptiveDropout",
    "BernoulliDropout",
    "DropoutLayer",
    "GaussianDropout",
    "MaskKind",
    "ModuleMonteCarloResult",
    "MonteCarloResult",
    "Sparseout",
    "TargetedDropout",
    "VariationalDropout",
    "YDrop",
    "attach_schedules",
    "column_scale",
    "conductance",
    "dropout_layers",
    "glm_loss",
    "hoyer",
    "monte_carlo",
    "monte_carlo_module",
    "parametrize_weight",
    "regularization",
    "step_schedules",
    "torch_eta_hat",
]
