r"""Attribution of hidden units: conductance (Dhamdhere et al. 2018), the importance Y-Drop
ranks units by."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from dualreg._validation import check_int

__all__ = ["RULES", "batch_conductance", "conductance", "layer_conductance"]

RULES = ("trapezoid", "left", "right", "midpoint")


def _grid(steps: int, dtype, device) -> Tensor:
    # float32 linspace then cast: the same path points as captum's riemann builders.
    return torch.linspace(0.0, 1.0, steps + 1).to(dtype=dtype, device=device)


def _combine(gs: list[Tensor], hs: list[Tensor], rule: str) -> Tensor:
    total = torch.zeros_like(hs[0])
    for k in range(len(hs) - 1):
        dh = hs[k + 1] - hs[k]
        if rule == "trapezoid":
            g = 0.5 * (gs[k] + gs[k + 1])
        elif rule == "left":
            g = gs[k]
        else:  # right
            g = gs[k + 1]
        total = total + g * dh
    return total


def _scalar_output(out: Tensor, target: Any) -> Tensor:
    """One scalar per sample from the model output (B, ...) and ``target``."""
    if callable(target):
        s = target(out)
    elif target is None:
        s = out.reshape(out.shape[0], -1)
        if s.shape[1] != 1:
            raise ValueError(f"target is required for a model with {s.shape[1]} outputs")
        s = s[:, 0]
    elif isinstance(target, Tensor):
        idx = target.to(device=out.device, dtype=torch.long).reshape(-1, 1)
        if idx.shape[0] != out.shape[0]:
            raise ValueError(f"target must have one index per sample ({out.shape[0]}), got "
                             f"shape {tuple(target.shape)}")
        s = out.reshape(out.shape[0], -1).gather(1, idx)[:, 0]
    else:
        s = out.reshape(out.shape[0], -1)[:, int(target)]
    if s.shape != out.shape[:1]:
        raise ValueError(f"target must give one scalar per sample, got shape {tuple(s.shape)}")
    return s


def layer_conductance(model: nn.Module, layer: nn.Module, x: Tensor, target: Any = None,
                      baseline: Tensor | None = None, steps: int = 16,
                      rule: str = "trapezoid") -> Tensor:
    r"""Per-sample, per-unit conductance of the output ``h`` of ``layer`` inside ``model``.

    Along the straight path :math:`x_a = x' + a(x - x')` in input space (baseline ``x'``,
    default 0), with :math:`F` the scalar per sample chosen by ``target``,

    .. math::

        \mathrm{Cond}_j(x) = \int_0^1 \frac{\partial F}{\partial h_j}(x_a)\,
        \frac{d h_j(x_a)}{da}\,da \approx \sum_{k=0}^{N-1} g_j(a_k^*)\,
        \big[h_j(x_{a_{k+1}}) - h_j(x_{a_k})\big], \qquad a_k = k/N,

    on ``steps`` = N equal intervals, with :math:`g(a_k^*)` the mean of both endpoint gradients
    (``rule="trapezoid"``: exact for a linear head, since the sum telescopes), the left one
    (``"left"``: captum's ``LayerConductance(...).attribute(..., n_steps=N,
    method="riemann_trapezoid")``, which uses these N + 1 points), the right one (``"right"``),
    or the gradient at the interval midpoint (``"midpoint"``, the h differences still taken
    between the grid points).

    Parameters
    ----------
    model : nn.Module
        Maps a batch ``x`` (B, ...) to outputs (B, ...).
    layer : nn.Module
        A submodule of ``model``; its output (B, d) are the hidden units (read by a forward
        hook, whose replacement of h by a leaf tensor gives ∂F/∂h).
    target : int, Tensor of per-sample indices, callable or None
        The output index, e.g. the labels, or a callable mapping the output to (B,) scalars;
        ``None`` for a model with one output.
    """
    steps = check_int(steps, "steps", 1)
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if not isinstance(layer, nn.Module):
        raise ValueError(f"layer must be an nn.Module, got {type(layer).__name__}")
    x = x.detach()
    base = torch.zeros_like(x) if baseline is None else baseline.detach().to(x).expand_as(x)
    grid = _grid(steps, x.dtype, x.device)
    points = grid if rule != "midpoint" else torch.cat([grid, 0.5 * (grid[1:] + grid[:-1])])
    captured: list[Tensor] = []

    def hook(_module, _inputs, output):
        h = output.detach().requires_grad_(True)
        captured.append(h)
        return h

    hs, gs = [], []
    handle = layer.register_forward_hook(hook)
    try:
        for a in points:
            captured.clear()
            with torch.enable_grad():
                out = model(base + a * (x - base))
                if len(captured) != 1:
                    raise ValueError(f"layer must run exactly once per forward of model, ran "
                                     f"{len(captured)} times")
                (g,) = torch.autograd.grad(_scalar_output(out, target).sum(), captured[0],
                                           allow_unused=True)
            h = captured[0].detach()
            hs.append(h)
            gs.append(torch.zeros_like(h) if g is None else g.detach())
    finally:
        handle.remove()
    if rule == "midpoint":
        n = steps + 1
        total = torch.zeros_like(hs[0])
        for k in range(steps):
            total = total + gs[n + k] * (hs[k + 1] - hs[k])
        return total
    return _combine(gs, hs, rule)


def batch_conductance(cond: Tensor, reduce: str = "mean") -> Tensor:
    """Per-unit batch summary of per-sample conductances (B, d): ``"mean"`` of the signed
    values (the Y-Drop reference rule) or ``"abs"``, the mean of |conductance| (the theory's
    variant)."""
    if reduce == "mean":
        return cond.mean(-2)
    if reduce == "abs":
        return cond.abs().mean(-2)
    raise ValueError(f"reduce must be 'mean' or 'abs', got {reduce!r}")


class _Composed(nn.Module):
    def __init__(self, features: Any, head: Any):
        super().__init__()
        self.features, self.head_fn = features, head
        self.hidden = nn.Identity()

    def forward(self, x):
        return self.head_fn(self.hidden(self.features(x)))


def conductance(
    features: Any, head: Any, x: Tensor, baseline: Tensor | None = None, steps: int = 16,
    rule: str = "trapezoid",
) -> Tensor:
    r"""Conductance of each hidden unit :math:`h = \phi(x)` (``features``) for the head
    :math:`F = \text{head}(h)` (one output per sample), per sample: :func:`layer_conductance`
    of the composed model at h (Riemann–trapezoid on ``steps`` equal intervals by default).
    For a linear head :math:`F'_j = w_j` is constant, the sum telescopes, and the trapezoid
    result is exactly :math:`w_j(h_j(x) - h_j(x'))` whatever ``steps``.
    """
    model = _Composed(features, head)

    def one(out):
        return out.reshape(out.shape[0], -1).sum(-1)

    return layer_conductance(model, model.hidden, x, one, baseline, steps, rule)
