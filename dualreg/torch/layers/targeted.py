r"""Targeted dropout (Gomez et al. 2019): the smallest weights or units are dropped, unscaled."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from dualreg import penalties
from dualreg._validation import check_rate, check_scalar
from dualreg.penalties import Penalty
from dualreg.torch.layers.base import DropoutLayer, MaskKind, check_choice, rates_like

__all__ = ["TargetedDropout"]


class TargetedDropout(DropoutLayer):
    r"""Targeted dropout (Gomez et al. 2019): the bottom-γ fraction by magnitude is dropped
    with probability ``rate``, never rescaled (``mask_kind`` UNSCALED; the rates per element
    are :meth:`drop_probability`).

    ``mode="weight"`` (``target="weight"``): per column, i.e. per leading index of a weight
    tensor (..., d), the :math:`\lfloor\gamma d\rfloor` entries of smallest |w| are targeted
    and each is dropped independently with probability a. ``mode="unit"``: units are ranked
    by the L2 norm of their weights — rows of a weight tensor (..., out, in) with
    ``target="weight"`` (one mask per row and step), or the input units of a linear head
    with ``target="input"`` (importance |w_j|, or the column norm of a (…, out, d) weight;
    one mask per sample and unit).

    With δ_j = a·1[targeted] and effective weights u = (1 − δ) ⊙ w, exactly (gaussian)
    :math:`E L = L(u) + \tfrac12\sum_{targeted}\frac{a}{1-a}c_j u_j^2`: a trimmed ridge, and as
    a function of |u| the truncated quadratic ``penalties.TargetedDropout(rate, tau)``.

    Parameters
    ----------
    rate : float in [0, 1)
        Drop probability a of a targeted weight (``p`` in nn.Dropout terms, but unscaled).
    targ : float in [0, 1]
        Targeted proportion γ.
    ramp : int or None
        If given, the rate grows linearly from 0 to ``rate`` over the first ``ramp`` training
        calls (Gomez et al. ramp it over 40k steps).
    """

    mask_kind = MaskKind.UNSCALED
    fixed_p = False  # only the targeted set is dropped, at a possibly ramped rate

    def __init__(
        self,
        rate: float = 0.5,
        targ: float = 0.5,
        mode: str = "weight",
        ramp: int | None = None,
        target: str = "weight",
    ):
        super().__init__(target)
        self.rate = check_rate(rate, "rate")
        self.targ = check_scalar(targ, "targ", 0.0, 1.0)
        self.mode = check_choice(mode, "mode", ("weight", "unit"))
        if self.mode == "weight" and self.target == "input":
            raise ValueError("mode='weight' targets individual weights: use target='weight'")
        if ramp is not None:
            ramp = int(check_scalar(ramp, "ramp", 1.0, np.inf))
        self.ramp = ramp
        # State in buffers (saved by state_dict): the training-call count and the last
        # threshold (NaN until a training call sets it).
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.register_buffer("last_threshold", torch.full((), float("nan"), dtype=torch.float64))

    def extra_repr(self) -> str:
        return (
            f"rate={self.rate}, targ={self.targ}, mode={self.mode!r}, ramp={self.ramp}, "
            f"target={self.target!r}"
        )

    @classmethod
    def contract_examples(cls):
        return cls(0.3, 0.5, ramp=4), cls(0.3, 0.5, mode="unit", target="input")

    @property
    def threshold(self) -> float | None:
        """The magnitude threshold of the last training call (``None`` before one)."""
        value = float(self.last_threshold)
        return None if np.isnan(value) else value

    def reset_state(self) -> None:
        self.calls.zero_()
        self.last_threshold.fill_(float("nan"))

    def current_rate(self) -> float:
        """The drop rate at this call (after the ramp: ``rate``)."""
        if self.ramp is None:
            return self.rate
        return self.rate * min(1.0, int(self.calls) / self.ramp)

    def _targeted(self, z: Tensor, weight: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """The score, the targeted set, and that set broadcast against ``z``."""
        score = self._score(z, weight)
        targeted = self.targeted_set(score, self.targ)
        spread = targeted.unsqueeze(-1) if self.target == "weight" and self.mode == "unit" else (
            rates_like(targeted, z) if self.target == "input" else targeted)
        return score, targeted, spread

    @torch.no_grad()
    def drop_probability(self, z: Tensor, weight: Tensor | None = None) -> Tensor:
        """``current_rate()`` on the targeted set, 0 elsewhere (survivors are not rescaled)."""
        spread = self._targeted(z, weight)[2]
        return (spread * self.current_rate()).to(z.dtype).expand_as(z)

    @staticmethod
    def targeted_set(score: Tensor, targ: float) -> Tensor:
        """Boolean mask of the ⌊γ d⌋ smallest entries of ``score`` along its last axis."""
        d = score.shape[-1]
        k = int(np.floor(targ * d + 1e-12))
        if k == 0:
            return torch.zeros_like(score, dtype=torch.bool)
        idx = torch.topk(score, k, dim=-1, largest=False).indices
        out = torch.zeros_like(score, dtype=torch.bool)
        return out.scatter(-1, idx, True)

    @torch.no_grad()
    def _score(self, z: Tensor, weight: Tensor | None) -> Tensor:
        if self.target == "weight":
            return z.abs() if self.mode == "weight" else z.norm(dim=-1)
        w = self._weight_for_rates(z, weight)
        return w.abs() if w.dim() == z.dim() - 1 else w.norm(dim=-2)

    def _noisy(self, z, weight):
        a = self.current_rate()
        self.calls += 1
        score, targeted, spread = self._targeted(z, weight)
        if targeted.any():
            self.last_threshold.fill_(float(score[targeted].max()))
        if a == 0.0:
            return z
        shape = torch.broadcast_shapes(spread.shape, z.shape)
        dropped = spread & (self._rand(shape, z) < a)
        return z * (~dropped).to(z.dtype)

    def penalty(self) -> Penalty:
        """The truncated quadratic in the effective weights u, with the last threshold seen."""
        if self.threshold is None or self.threshold <= 0:
            raise ValueError("the threshold is set by a training call: run the layer first")
        return penalties.TargetedDropout.from_weight_threshold(self.rate, self.threshold)
