"""Dropout layers (nn.Module) and the batched Monte-Carlo dropout trainer. Requires torch."""

from dualreg.torch.layers import (
    AdaptiveDropout,
    BernoulliDropout,
    DropoutLayer,
    FlooredPenalty,
    GaussianDropout,
    Sparseout,
    TargetedDropout,
    VariationalDropout,
    YDrop,
    conductance,
    hoyer,
    torch_eta_hat,
)
from dualreg.torch.train import FAMILIES, MonteCarloResult, column_scale, glm_loss, monte_carlo

__all__ = [
    "FAMILIES",
    "AdaptiveDropout",
    "BernoulliDropout",
    "DropoutLayer",
    "FlooredPenalty",
    "GaussianDropout",
    "MonteCarloResult",
    "Sparseout",
    "TargetedDropout",
    "VariationalDropout",
    "YDrop",
    "column_scale",
    "conductance",
    "glm_loss",
    "hoyer",
    "monte_carlo",
    "torch_eta_hat",
]
