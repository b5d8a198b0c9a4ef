r"""Post-hoc magnitude pruning of a network's weights or units.

The groups are targeted dropout's (:class:`dualreg.torch.TargetedDropout`): a weight of shape
(out, \*fan_in) — ``nn.Linear`` (out, in), ``nn.Conv2d`` (out, in, kh, kw) — is ranked per
output unit over its flattened fan-in, and units (rows, filters) by the L2 norm of their
fan-in. Pruning a fraction f

- of the **weights** zeroes, in every output unit, the :math:`\lfloor f\,\mathrm{fan\_in}\rfloor`
  entries of smallest |w|;
- of the **units** zeroes the :math:`\lfloor f\,\mathrm{out}\rfloor` rows of smallest
  :math:`\|w_{o,\cdot}\|_2` together with their biases (the unit then outputs act(0)).

A weight under a :func:`dualreg.torch.parametrize_weight` dropout layer is pruned in its
original tensor (the layer keeps acting on the pruned weight).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from dualreg._validation import check_scalar
from dualreg.torch.layers.targeted import TargetedDropout

__all__ = ["KINDS", "prunable_modules", "prune", "pruning_mask"]

KINDS = ("weight", "unit")


def prunable_modules(model: nn.Module, include_last: bool = False) -> list[nn.Module]:
    """The ``nn.Linear`` and ``nn.Conv*d`` modules of ``model`` in registration order; the last
    one (a classifier head, whose units are the classes) only with ``include_last``."""
    kinds = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    found = [m for m in model.modules() if isinstance(m, kinds)]
    return found if include_last else found[:-1]


def _original_weight(module: nn.Module) -> Tensor:
    if parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    return module.weight


def pruning_mask(weight: Tensor, fraction: float, kind: str) -> Tensor:
    """Boolean tensor shaped like ``weight`` (out, \\*fan_in): True where magnitude pruning of
    ``fraction`` of the ``kind`` ("weight" or "unit") removes an entry."""
    fraction = check_scalar(fraction, "fraction", 0.0, 1.0)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if weight.dim() < 2:
        raise ValueError(f"weight must have shape (out, *fan_in), got {tuple(weight.shape)}")
    flat = weight.detach().flatten(1)
    if kind == "weight":
        return TargetedDropout.targeted_set(flat.abs(), fraction).view(weight.shape)
    rows = TargetedDropout.targeted_set(flat.norm(dim=1), fraction)
    return rows.view(-1, *(1,) * (weight.dim() - 1)).expand_as(weight)


@torch.no_grad()
def prune(modules: Iterable[nn.Module], fraction: float, kind: str) -> int:
    """Zero, in place, ``fraction`` of every module's weights (``kind="weight"``) or units
    (``kind="unit"``, biases too) by magnitude; returns the number of weights zeroed."""
    zeroed = 0
    for module in modules:
        weight = _original_weight(module)
        mask = pruning_mask(weight, fraction, kind)
        weight.masked_fill_(mask, 0.0)
        zeroed += int(mask.sum())
        bias = getattr(module, "bias", None)
        if kind == "unit" and isinstance(bias, Tensor):
            bias.masked_fill_(mask.flatten(1)[:, 0], 0.0)
    return zeroed
