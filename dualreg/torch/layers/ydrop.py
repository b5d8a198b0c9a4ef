r"""Y-Drop (Georgiou et al. 2024): units dropped more (or, mirrored, less) the higher their
conductance."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from dualreg import penalties
from dualreg._validation import check_rate, check_scalar
from dualreg.penalties import Penalty
from dualreg.torch.layers.base import DropoutLayer, check_choice, check_tensor, rates_like

__all__ = ["YDrop"]


class YDrop(DropoutLayer):
    r"""Y-Drop (Georgiou et al. 2024): drop probability increases with unit conductance.

    Acts on the input units of a linear head (``target="input"``): the conductance of unit j
    is exactly :math:`w_j(h_j - h'_j)` (baseline h′, default 0), its importance the batch mean
    of the absolute conductance. ``mapping="bucket"``: units above the median importance τ
    are dropped with ``p_high``, the others with ``p_low``; ``mapping="continuous"``: odds
    :math:`r_{low} + (r_{high} - r_{low})\,m^2/(m^2+\tau^2)` of the importance m (the rule of
    ``penalties.YDrop``). ``mirrored=True`` swaps the roles (the least important dropped
    more). The first ``warmup`` calls use uniform dropout at the mean rate. Inverted scaling.

    For a linear/GLM model this is anti-monotone (odds increase with |w|): a superquadratic,
    densifying penalty; mirrored, a sparsifying one. ``conductance=`` may pass importances
    computed elsewhere (e.g. :func:`dualreg.torch.attribution.conductance` for a nonlinear
    head).
    """

    fixed_p = False  # the rates follow from the importances: see drop_probability

    def __init__(
        self,
        p_low: float = 0.1,
        p_high: float = 0.5,
        mapping: str = "bucket",
        mirrored: bool = False,
        warmup: int = 0,
        baseline: Tensor | None = None,
        target: str = "input",
    ):
        super().__init__(target)
        if self.target != "input":
            raise ValueError("YDrop acts on units: use target='input'")
        self.p_low = check_rate(p_low, "p_low")
        self.p_high = check_rate(p_high, "p_high")
        if self.p_low > self.p_high:
            raise ValueError(f"p_low must be <= p_high, got {p_low} > {p_high}")
        self.mapping = check_choice(mapping, "mapping", ("bucket", "continuous"))
        self.mirrored = bool(mirrored)
        self.warmup = int(check_scalar(warmup, "warmup", 0.0, np.inf))
        self.baseline = baseline
        # State in buffers (saved by state_dict): the training-call count and the last median
        # importance τ (NaN until a training call sets it).
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.register_buffer("last_tau", torch.full((), float("nan"), dtype=torch.float64))

    def extra_repr(self) -> str:
        return (
            f"p_low={self.p_low}, p_high={self.p_high}, mapping={self.mapping!r}, "
            f"mirrored={self.mirrored}, warmup={self.warmup}"
        )

    @classmethod
    def contract_examples(cls):
        return cls(0.1, 0.5, warmup=2), cls(0.1, 0.5, mapping="continuous", mirrored=True)

    @property
    def tau(self) -> float | None:
        """The median importance of the last training call (``None`` before one)."""
        value = float(self.last_tau)
        return None if np.isnan(value) else value

    def reset_state(self) -> None:
        self.calls.zero_()
        self.last_tau.fill_(float("nan"))

    @property
    def mean_rate(self) -> float:
        """(p_low + p_high)/2: the mean drop rate of the bucket rule (even unit count)."""
        return 0.5 * (self.p_low + self.p_high)

    @torch.no_grad()
    def importance(self, h: Tensor, weight: Tensor) -> Tensor:
        r"""Batch-mean absolute conductance :math:`\overline{|w_j(h_j - h'_j)|}`, shape (..., d)."""
        base = 0.0 if self.baseline is None else self.baseline
        # mean_i |w_j (h_ij − h'_j)| = |w_j| mean_i |h_ij − h'_j|; h is (B, d) or (..., B, d).
        return weight.abs() * (h - base).abs().mean(-2)

    @torch.no_grad()
    def drop_rates(self, importance: Tensor) -> Tensor:
        """Per-unit drop probabilities from importances (..., d); records τ (the median)."""
        rates, tau = self._rates_and_tau(importance)
        self.last_tau.fill_(tau)
        return rates

    def _rates_and_tau(self, importance: Tensor) -> tuple[Tensor, float]:
        tau = importance.median(dim=-1, keepdim=True).values
        return self._rates_at(importance, tau), float(tau.mean())

    def _rates_at(self, importance: Tensor, tau: Tensor) -> Tensor:
        lo, hi = (self.p_high, self.p_low) if self.mirrored else (self.p_low, self.p_high)
        if self.mapping == "bucket":
            d = importance.shape[-1]
            rank = importance.argsort(-1).argsort(-1)
            top = rank >= d // 2
            hi_t, lo_t = torch.full_like(importance, hi), torch.full_like(importance, lo)
            return torch.where(top, hi_t, lo_t)
        r_lo, r_hi = lo / (1.0 - lo), hi / (1.0 - hi)
        m2 = importance**2
        frac = m2 / (m2 + tau.clamp_min(torch.finfo(m2.dtype).tiny) ** 2)
        odds = r_lo + (r_hi - r_lo) * frac
        return odds / (1.0 + odds)

    @torch.no_grad()
    def _drop(self, z, weight, conductance_: Tensor | None, record: bool) -> Tensor:
        w = self._weight_for_rates(z, weight)
        imp = self.importance(z, w) if conductance_ is None else conductance_.abs()
        if int(self.calls) < self.warmup:
            return torch.full_like(imp, self.mean_rate)
        return self.drop_rates(imp) if record else self._rates_and_tau(imp)[0]

    def _keep(self, z, weight, conductance_: Tensor | None = None) -> Tensor:
        drop = self._drop(z, weight, conductance_, record=True)
        self.calls += 1
        return 1.0 - drop

    @torch.no_grad()
    def drop_probability(self, z: Tensor, weight: Tensor | None = None) -> Tensor:
        """The per-unit rates of the next training call (warm-up: the mean rate)."""
        return rates_like(self._drop(z, weight, None, record=False), z).expand_as(z)

    def _input_keep(self, x, w):
        return self._keep(x, w)

    def _noisy(self, z, weight, conductance_: Tensor | None = None):
        return z * self._bernoulli_mask(self._keep(z, weight, conductance_), z)

    def forward(self, z, weight=None, conductance: Tensor | None = None):
        check_tensor(z, "z")
        if not self.training:
            return z
        return self._noisy(z, weight, conductance)

    def penalty(self) -> Penalty:
        """``penalties.YDrop`` frozen at the last median importance τ (in units of |w|·mean|h|)."""
        if self.tau is None or self.tau <= 0:
            raise ValueError("the threshold is set by a training call: run the layer first")
        return penalties.YDrop(self.p_low, self.p_high, self.tau, self.mapping, self.mirrored)
