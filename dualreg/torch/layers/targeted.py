r"""Targeted dropout (Gomez et al. 2019): the smallest weights or units are dropped, unscaled.

The grouping follows the reference code (``for-ai/TD``, ``models/utils/dropouts.py``): a
weight of shape (out, \*fan_in) — ``nn.Linear`` (out, in), ``nn.Conv1d/2d/3d``
(out, in, k...) — is ranked per output unit over its flattened fan-in (a TF kernel reshaped to
(fan_in, out) there; the transpose here), and units are ranked by the L2 norm of their fan-in.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from dualreg import penalties
from dualreg._validation import check_int, check_rate, check_scalar
from dualreg.penalties import Penalty
from dualreg.torch.layers.base import (
    DropoutLayer,
    MaskKind,
    check_choice,
    check_tensor,
    matvec,
    rates_like,
    unit_magnitudes,
)

__all__ = ["TargetedDropout"]

SCHEDULES = ("linear", "piecewise")
REFERENCE_RAMP = 40_000  # for-ai/TD's ``*_piecewise`` dropouts: p over 40k steps, γ over 2×20k


def _wrapped(t: Tensor) -> bool:
    """Whether ``t`` lives inside a functorch transform (vmap, grad): no state is written."""
    return torch._C._functorch.is_functorch_wrapped_tensor(t)


class TargetedDropout(DropoutLayer):
    r"""Targeted dropout (Gomez et al. 2019): the bottom-γ fraction by magnitude is the
    *targeted* set; each targeted weight (or unit) is dropped with probability ``p``, and
    nothing is rescaled (``mask_kind`` UNSCALED: E out = (1 − δ) ⊙ z, δ = p·1[targeted];
    :meth:`drop_probability` gives δ).

    **Groups** (``target="weight"``; ``forward(w)``, e.g. through
    :func:`dualreg.torch.parametrize_weight`). Past ``replica_dims`` leading replica axes, a
    weight of shape (out, \*fan_in) is grouped by output unit:

    - ``mode="weight"``: in each output unit the :math:`\lfloor\gamma\,\mathrm{fan\_in}\rfloor`
      entries of smallest |w| (over all of in·kh·kw for a conv kernel) are targeted, and each
      targeted weight is dropped independently with probability p — a fresh mask per weight
      and forward call, shared by the whole batch;
    - ``mode="unit"``: the :math:`\lfloor\gamma\,\mathrm{out}\rfloor` output units (rows,
      filters) of smallest :math:`\|w_{o,\cdot}\|_2` are targeted, and each is dropped whole
      with probability p (the reference draws per weight inside a targeted unit; the paper and
      this layer drop the unit).

    A weight vector (d,) — a GLM head, or the rows of a replica stack (K, d) in
    :meth:`noisy_linear` (the trainer's protocol: every leading axis there is a replica) — is
    one group of d single-weight units, so both modes target its ⌊γd⌋ smallest |w_j|. A (K, d)
    tensor passed to ``forward`` is an (out, in) matrix unless ``replica_dims=1``.

    **Inputs** (``mode="unit", target="input"``; ``forward(x)`` on activations (..., d), units
    on the last axis). The importance of unit j is, in this order: :func:`unit_magnitudes` of
    ``weight=`` when given (|w_j| for a GLM head, the column norm of an (out, d) matrix); the
    column norms of ``weight_of.weight`` (the module that reads x, e.g. the next
    ``nn.Linear``; kept by reference, not registered as a submodule); else the batch mean
    :math:`\overline{|x_{\cdot j}|}` over all leading axes. The ⌊γd⌋ least important units are
    targeted; masks are drawn per sample and unit, as ``nn.Dropout``.

    **Schedules**, counted by :meth:`step` (buffer ``steps``; forward calls never move them),
    with t = steps and R = ``ramp``: ``schedule="linear"``: :math:`p_t = p\min(1, t/R)`, γ
    fixed; ``schedule="piecewise"`` (for-ai/TD): :math:`p_t = p\min(1, t/R)` and
    :math:`\gamma_t = \gamma[0.95\min(1, 2t/R) + 0.05\,\mathrm{clip}(2t/R - 1, 0, 1)]`.

    With u = (1 − δ) ⊙ w, exactly (gaussian)
    :math:`E L = L(u) + \tfrac12\sum_{targeted}\frac{p}{1-p}c_j u_j^2`: a trimmed ridge, and as a
    function of |u| the truncated quadratic ``dualreg.penalties.TargetedDropout(rate, tau)``;
    :meth:`penalty` is the explicit converter (its ``rate`` is this layer's ``p``).

    Parameters
    ----------
    p : float in [0, 1)
        Drop probability of a targeted weight or unit (unscaled).
    gamma : float in [0, 1]
        Targeted proportion γ (``targ_rate`` in the reference).
    mode : {"weight", "unit"}
        Target single weights or whole units.
    ramp : int or None
        Ramp length R in optimizer steps (None: no ramp for ``"linear"``; the reference's
        40 000 for ``"piecewise"``).
    target : {"weight", "input"}
        Act on a weight, or on activations (``mode="unit"`` only).
    schedule : {"linear", "piecewise"}
        How p (and, piecewise, γ) grow with ``steps``.
    prune_eval : bool
        In ``eval()`` mode zero the targeted set (the paper evaluates the pruned network);
        default False: the identity, as ``nn.Dropout``.
    replica_dims : int
        Leading axes of ``forward``'s weight that index independent replicas.
    weight_of : nn.Module or None
        Input target: the module reading the activations, whose weight ranks the units.
    """

    mask_kind = MaskKind.UNSCALED
    fixed_p = False  # only the targeted set is dropped, at a possibly ramped rate

    def __init__(
        self,
        p: float = 0.5,
        gamma: float = 0.5,
        mode: str = "weight",
        ramp: int | None = None,
        target: str = "weight",
        schedule: str = "linear",
        prune_eval: bool = False,
        replica_dims: int = 0,
        weight_of: nn.Module | None = None,
    ):
        super().__init__(target)
        self.p = check_rate(p, "p")
        self.gamma = check_scalar(gamma, "gamma", 0.0, 1.0)
        self.mode = check_choice(mode, "mode", ("weight", "unit"))
        if self.mode == "weight" and self.target == "input":
            raise ValueError("mode='weight' targets individual weights: use target='weight' "
                             "(or mode='unit' for activations)")
        self.schedule = check_choice(schedule, "schedule", SCHEDULES)
        if ramp is None and self.schedule == "piecewise":
            ramp = REFERENCE_RAMP
        if ramp is not None:
            ramp = check_int(ramp, "ramp", 1)
        self.ramp = ramp
        if not isinstance(prune_eval, bool):
            raise ValueError(f"prune_eval must be a bool, got {prune_eval!r}")
        self.prune_eval = prune_eval
        self.replica_dims = check_int(replica_dims, "replica_dims", 0)
        if weight_of is not None:
            if self.target != "input":
                raise ValueError("weight_of ranks activation units: it needs target='input'")
            if not isinstance(weight_of, nn.Module) or not isinstance(
                    getattr(weight_of, "weight", None), Tensor):
                raise ValueError(f"weight_of must be an nn.Module with a tensor weight, got "
                                 f"{type(weight_of).__name__}")
        self._weight_of = (weight_of,)  # a tuple: not registered, not in state_dict
        # State in buffers (saved by state_dict): optimizer steps taken, and the largest
        # targeted magnitude of the last training call (NaN until one targets something).
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("last_threshold", torch.full((), float("nan"), dtype=torch.float64))

    def extra_repr(self) -> str:
        return (f"p={self.p}, gamma={self.gamma}, mode={self.mode!r}, ramp={self.ramp}, "
                f"target={self.target!r}, schedule={self.schedule!r}, "
                f"prune_eval={self.prune_eval}")

    @classmethod
    def contract_examples(cls):
        return cls(0.3, 0.5), cls(0.3, 0.5, mode="unit", target="input")

    def _load_from_state_dict(self, state_dict, prefix, *args: Any, **kwargs: Any):
        old = prefix + "calls"  # the counter's name before it counted optimizer steps
        if old in state_dict and prefix + "steps" not in state_dict:
            state_dict[prefix + "steps"] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- state and schedules
    @property
    def threshold(self) -> float | None:
        """The largest targeted magnitude of the last training call (``None`` before one)."""
        value = float(self.last_threshold)
        return None if math.isnan(value) else value

    def reset_state(self) -> None:
        self.steps.zero_()
        self.last_threshold.fill_(float("nan"))

    @torch.no_grad()
    def step(self) -> None:
        """One optimizer step: ``steps += 1`` (moves the ramp)."""
        self.steps.add_(1)

    def _schedule(self, like: Tensor) -> tuple[Tensor, Tensor]:
        """(p_t, γ_t) as 0-d tensors of ``like``'s dtype (no host sync: vmap-friendly)."""
        t = self.steps.to(device=like.device, dtype=torch.float64)
        if self.ramp is None:
            frac = torch.ones_like(t)
        else:
            frac = (t / self.ramp).clamp(max=1.0)
        gamma = torch.full_like(t, self.gamma)
        if self.schedule == "piecewise" and self.ramp is not None:
            half = 2.0 * t / self.ramp
            gamma = self.gamma * (0.95 * half.clamp(max=1.0) + 0.05 * (half - 1).clamp(0.0, 1.0))
        return (self.p * frac).to(like.dtype), gamma

    def current_p(self) -> float:
        """The drop probability p_t at the current step (after the ramp: ``p``)."""
        return float(self._schedule(self.steps.double())[0])

    def current_gamma(self) -> float:
        """The targeted proportion γ_t at the current step (after the ramp: ``gamma``)."""
        return float(self._schedule(self.steps.double())[1])

    # -- the targeted set
    @staticmethod
    def targeted_set(score: Tensor, gamma: float | Tensor) -> Tensor:
        r"""Boolean mask of the :math:`\lfloor\gamma n\rfloor` smallest entries of ``score``
        along its last axis (n entries; ties go to the lower index)."""
        n = score.shape[-1]
        k = torch.floor(torch.as_tensor(gamma, dtype=torch.float64, device=score.device) * n
                        + 1e-9)
        k = int(k)
        if k <= 0:
            return torch.zeros_like(score, dtype=torch.bool)
        if k >= n:
            return torch.ones_like(score, dtype=torch.bool)
        # The k-th smallest value (a selection, ~4× cheaper than a sort of a 300×784 weight),
        # everything below it, and of the entries equal to it the first ones by index.
        kth = score.kthvalue(k, dim=-1, keepdim=True).values
        below = score < kth
        tied = score == kth
        need = k - below.sum(dim=-1, keepdim=True)
        return below | (tied & (tied.cumsum(dim=-1) <= need))

    @torch.no_grad()
    def _groups(self, z: Tensor, weight: Tensor | None, lead: int | None
                ) -> tuple[Tensor, Tensor, Tensor, torch.Size]:
        """(score, its targeted set, that set broadcastable against ``z``, the shape of one
        mask draw)."""
        _, gamma = self._schedule(z)
        if self.target == "input":
            score = self._unit_importance(z, weight)
            targeted = self.targeted_set(score, gamma)
            return score, targeted, rates_like(targeted, z), z.shape
        lead = self.replica_dims if lead is None else lead
        if z.dim() <= lead:
            raise ValueError(f"z must have more than replica_dims={lead} axes, got shape "
                             f"{tuple(z.shape)}")
        body = z.shape[lead:]
        if len(body) == 1:  # a weight vector: d single-weight units
            score = z.abs()
            targeted = self.targeted_set(score, gamma)
            return score, targeted, targeted, z.shape
        flat = z.flatten(lead + 1)  # (..., out, fan_in)
        if self.mode == "weight":
            score = flat.abs()
            targeted = self.targeted_set(score, gamma)
            return score, targeted, targeted.view(z.shape), z.shape
        score = flat.norm(dim=-1)  # (..., out): one draw per unit
        targeted = self.targeted_set(score, gamma)
        spread = targeted.view(*targeted.shape, *(1,) * (len(body) - 1))
        return score, targeted, spread, spread.shape

    def _unit_importance(self, x: Tensor, weight: Tensor | None) -> Tensor:
        if weight is not None:
            return unit_magnitudes(weight, x, "weight")
        module = self._weight_of[0]
        if module is not None:
            w = (module.parametrizations.weight.original
                 if parametrize.is_parametrized(module, "weight") else module.weight)
            if w.dim() != 2:
                raise ValueError(f"weight_of must have an (out, d) weight, got shape "
                                 f"{tuple(w.shape)}")
            return unit_magnitudes(w.detach().to(x.dtype), x, "weight_of.weight")
        return x.abs().flatten(0, -2).mean(0) if x.dim() > 1 else x.abs()

    def targeted_mask(self, z: Tensor, weight: Tensor | None = None,
                      replica_dims: int | None = None) -> Tensor:
        """The current targeted set as a boolean tensor shaped like ``z`` (no state change)."""
        check_tensor(z, "z")
        return self._groups(z, weight, replica_dims)[2].expand_as(z)

    @torch.no_grad()
    def drop_probability(self, z: Tensor, weight: Tensor | None = None) -> Tensor:
        """p_t on the targeted set, 0 elsewhere (survivors are not rescaled)."""
        p, _ = self._schedule(z)
        return (self.targeted_mask(z, weight) * p).to(z.dtype)

    # -- the layer
    def forward(self, z: Tensor, weight: Tensor | None = None) -> Tensor:
        """``z`` with targeted dropout in training; in eval ``z`` (``prune_eval``: with the
        targeted set zeroed)."""
        return self._targeted_dropout(check_tensor(z, "z"), weight, None)

    def noisy_linear(self, x: Tensor, w: Tensor) -> Tensor:
        r""":math:`\theta = x\cdot(s\odot w)` for GLM heads ``w`` (K, d) or (d,): every leading
        axis of ``w`` is a replica (see the class notes); eval honours ``prune_eval``."""
        if not (self.training or self.prune_eval):
            return matvec(x, w)
        if self.target == "weight":
            return matvec(x, self._targeted_dropout(w, None, w.dim() - 1))
        if x.dim() == w.dim():  # shared data: one mask per replica, sample and unit
            x = x.expand(*w.shape[:-1], *x.shape)
        return matvec(self._targeted_dropout(x, w, None), w)

    def _targeted_dropout(self, z: Tensor, weight: Tensor | None, lead: int | None) -> Tensor:
        if self.training:
            return self._noisy(z, weight, lead)
        if not self.prune_eval:
            return z
        return z * (~self._groups(z, weight, lead)[2]).to(z.dtype)

    def _draw(self, z: Tensor, weight: Tensor | None, lead: int | None
              ) -> tuple[Tensor, Tensor, Tensor]:
        """(targeted set, dropped set, p_t) of one training call; records the threshold."""
        p, _ = self._schedule(z)
        score, targeted, spread, draw_shape = self._groups(z, weight, lead)
        dropped = spread & (self._rand(draw_shape, z) < p)
        if not _wrapped(score):
            with torch.no_grad():
                top = torch.where(targeted, score, -torch.inf).amax()
                self.last_threshold.copy_(torch.where(top.isfinite(), top, torch.nan))
        return spread, dropped, p

    def _noisy(self, z: Tensor, weight: Tensor | None, lead: int | None = None) -> Tensor:
        _, dropped, _ = self._draw(z, weight, lead)
        return z * (~dropped).to(z.dtype)

    def penalty(self) -> Penalty:
        """The truncated quadratic in u with the last threshold seen:
        ``dualreg.penalties.TargetedDropout.from_weight_threshold(p, threshold)``."""
        if self.threshold is None or self.threshold <= 0:
            raise ValueError("the threshold is set by a training call: run the layer first")
        return penalties.TargetedDropout.from_weight_threshold(self.p, self.threshold)
