r"""Attribution of hidden units: conductance (Dhamdhere et al. 2018), the importance Y-Drop
ranks units by."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from dualreg._validation import check_scalar

__all__ = ["conductance"]


def conductance(
    features: Any, head: Any, x: Tensor, baseline: Tensor | None = None, steps: int = 16
) -> Tensor:
    r"""Conductance of each hidden unit (Dhamdhere et al. 2018), per sample.

    With :math:`h = \phi(x)` (``features``), :math:`F = \text{head}(h)` (one output per sample)
    and the path :math:`x_a = x' + a(x - x')`,

    .. math::

        \mathrm{Cond}_j(x) = \int_0^1 \frac{\partial F}{\partial h_j}(\phi(x_a))\,
        \frac{d h_j(x_a)}{da}\,da
        \approx \sum_{k} \tfrac12\big[F'_j(a_k) + F'_j(a_{k+1})\big]
        \big[h_j(x_{a_{k+1}}) - h_j(x_{a_k})\big]

    (Riemann–trapezoid on ``steps`` equal intervals). For a linear head :math:`F'_j = w_j` is
    constant, the sum telescopes, and the result is exactly :math:`w_j(h_j(x) - h_j(x'))`
    whatever ``steps``.
    """
    steps = int(check_scalar(steps, "steps", 1.0, np.inf))
    x = x.detach()
    base = torch.zeros_like(x) if baseline is None else baseline.detach().expand_as(x)
    grid = torch.linspace(0.0, 1.0, steps + 1, dtype=x.dtype, device=x.device)
    hs, gs = [], []
    for a in grid:
        with torch.enable_grad():
            h = features(base + a * (x - base)).detach().requires_grad_(True)
            out = head(h)
            (g,) = torch.autograd.grad(out.sum(), h)
        hs.append(h.detach())
        gs.append(g.detach())
    total = torch.zeros_like(hs[0])
    for k in range(steps):
        total = total + 0.5 * (gs[k] + gs[k + 1]) * (hs[k + 1] - hs[k])
    return total
