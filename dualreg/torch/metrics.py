r"""Sparsity metrics of weights and activations."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["hoyer"]


def hoyer(w: Any) -> Tensor:
    r"""Hoyer sparsity :math:`(\sqrt d - \|w\|_1/\|w\|_2)/(\sqrt d - 1)` along the last axis.

    1 for a single nonzero, 0 for equal magnitudes; a tensor, or numpy arrays converted.
    """
    w = torch.as_tensor(w)
    d = w.shape[-1]
    if d < 2:
        raise ValueError("hoyer needs at least two coordinates on the last axis")
    l1 = w.abs().sum(-1)
    l2 = w.pow(2).sum(-1).sqrt()
    ratio = torch.where(l2 > 0, l1 / torch.where(l2 > 0, l2, torch.ones_like(l2)), d**0.5)
    return (d**0.5 - ratio) / (d**0.5 - 1.0)
