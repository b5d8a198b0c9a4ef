r"""Dropout layers inside a user's network: attach a layer to a weight, step the schedules
with the optimizer, and collect the regularisers.

A weight-target layer acts on a module's weight through
:func:`torch.nn.utils.parametrize.register_parametrization` (every access of
``module.weight`` is the noisy weight in training mode, the plain weight in eval mode); an
input-target layer is an ordinary module placed before the layer that reads its output, e.g.
in an ``nn.Sequential``. An activation layer whose rates depend on the weight that reads its
output (adaptive, targeted) takes it as ``layer(x, weight=w)`` or, inside an
``nn.Sequential``, by reference: ``weight_of=next_linear`` or
``layer.set_weight_of(next_linear)`` (not registered, not saved).

Learned layer state (variational dropout's log σ²) must exist before the optimizer is
created: :func:`parametrize_weight` builds it eagerly; an activation layer builds it at its
first forward call (give ``shape=``, or run one dry forward pass before creating the
optimizer). :func:`regularization` collects the extra loss terms of both kinds.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from dualreg.torch.layers.base import DropoutLayer

__all__ = ["attach_schedules", "dropout_layers", "parametrize_weight", "regularization",
           "step_schedules"]


def dropout_layers(model: nn.Module) -> Iterator[DropoutLayer]:
    """Every :class:`DropoutLayer` in ``model`` (including parametrizations), each once."""
    seen: set[int] = set()
    for module in model.modules():
        if isinstance(module, DropoutLayer) and id(module) not in seen:
            seen.add(id(module))
            yield module


def parametrize_weight(module: nn.Module, layer: DropoutLayer, name: str = "weight"
                       ) -> nn.Module:
    """Put ``layer`` (``target="weight"``) on ``module.<name>`` as a parametrization and return
    ``module``. Learned per-weight state (variational dropout's log σ²) is built here, on the
    weight's shape, dtype and device, so an optimizer created afterwards sees it."""
    if not isinstance(layer, DropoutLayer):
        raise ValueError(f"layer must be a dualreg.torch DropoutLayer, got {type(layer).__name__}")
    if layer.target != "weight":
        raise ValueError(f"{type(layer).__name__}(target={layer.target!r}) acts on activations: "
                         "place it in the network instead of on a weight")
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"module has no tensor {name!r} to parametrize")
    layer.build(tuple(weight.shape), device=weight.device, dtype=weight.dtype)
    parametrize.register_parametrization(module, name, layer)
    return module


def step_schedules(model: nn.Module) -> None:
    """Advance every layer's schedule (warm-up, ramp) by one optimizer step."""
    for layer in dropout_layers(model):
        layer.step()


def attach_schedules(model: nn.Module, optimizer: torch.optim.Optimizer):
    """Step every layer's schedule after each ``optimizer.step()`` (a post-step hook).

    Returns the hook handle (``handle.remove()`` detaches it)."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got "
                         f"{type(optimizer).__name__}")
    return optimizer.register_step_post_hook(lambda *_: step_schedules(model))


def _has_regularizer(layer: DropoutLayer) -> bool:
    return type(layer).regularizer is not DropoutLayer.regularizer


def regularization(model: nn.Module) -> Tensor:
    r"""Sum of every layer's extra loss term (variational dropout's :math:`\lambda\sum
    \mathrm{KL}`; zero for layers without one), to add to the data loss.

    A parametrization layer (:func:`parametrize_weight`) is given the weight it acts on; any
    other layer in ``model`` with a regularizer (an activation layer, e.g.
    ``VariationalDropout(target="input")`` in an ``nn.Sequential``) is called with
    ``w=None``. Each layer counts once. A layer that has not built its state yet (a lazy
    variational layer before its first forward) is an error, not a silent zero."""
    total: Tensor | None = None
    seen: set[int] = set()
    for module in model.modules():
        if not parametrize.is_parametrized(module):
            continue
        for plist in module.parametrizations.values():
            for layer in plist:
                if isinstance(layer, DropoutLayer) and id(layer) not in seen:
                    seen.add(id(layer))
                    term = layer.regularizer(plist.original).sum()
                    total = term if total is None else total + term
    for layer in dropout_layers(model):
        if id(layer) in seen or not _has_regularizer(layer):
            continue
        seen.add(id(layer))
        term = layer.regularizer(None).sum()
        total = term if total is None else total + term
    if total is None:
        ref = next(iter(model.parameters()), None)
        return torch.zeros((), dtype=None if ref is None else ref.dtype,
                           device=None if ref is None else ref.device)
    return total
