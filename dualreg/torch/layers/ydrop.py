r"""Y-Drop (Georgiou et al. 2024): units dropped more (or, mirrored, less) the higher their
conductance."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from dualreg import penalties
from dualreg._validation import check_bool, check_int, check_rate
from dualreg.penalties import Penalty
from dualreg.torch.layers.base import (
    DropoutLayer,
    check_choice,
    check_tensor,
    matvec,
    rates_like,
    reader_weight,
)

__all__ = ["YDrop"]


class YDrop(DropoutLayer):
    r"""Y-Drop (Georgiou et al. 2024): drop probability increases with unit conductance.

    Acts on activations (``target="input"``), units on the last axis (..., B, d). The
    importance of unit j comes from, in this order of precedence,

    1. conductances passed as ``forward(x, conductance=c)`` or set beforehand with
       :meth:`set_conductance` (per unit at batch level, shape (d,) or broadcastable to it;
       a per-sample (..., B, d) array is reduced over the batch by the rule below, never
       ranked per sample), e.g. from :func:`dualreg.torch.attribution.layer_conductance`;
    2. the frozen linear head ``weight=`` (or the module named by :meth:`set_weight_of`):
       conductance exactly :math:`c_{ij} = w_{j}(h_{ij} - h'_j)` (baseline h′, default 0).
       A head vector (d,) (or one per replica, (..., d) for inputs (..., B, d)) is used as is;
       a multi-output head (out, d) reads row ``output=`` (an int, or per-sample labels
       (B,)); without ``output`` the absolute rule uses the ℓ2 norm of unit j's conductances
       over the outputs, :math:`\|W_{:,j}\|_2\,|h_{ij} - h'_j|` (so a layer linked to any
       ``nn.Linear`` head works inside ``nn.Sequential``), and the reference rule raises.

    Without either, a training call raises ``ValueError`` (except during warm-up).

    ``rule="absolute"`` (default, the theory's variant): importance
    :math:`m_j = \overline{|c_{\cdot j}|}` (batch mean of |conductance|), per-unit drop
    probability p_j from ``mapping``, inverted scaling per unit (E mask = 1).
    ``rule="reference"`` (the reference code, efthymisgeo/regit): importance the batch mean of
    the *signed* conductance, median split (top ⌈d/2⌉ dropped with ``p_high``, the rest with
    ``p_low``), survivors rescaled by the *mean keep probability*
    :math:`\bar\alpha = 1 - (p_{low} + p_{high})/2` (the reference's ``1 - p_mean``; the mean
    of 1 − p_j for an even unit count), so :math:`E\,s_j = (1 - p_j)/\bar\alpha` (0.5 and 1.5
    for the reference's p_high = 0.75, p_low = 0.25).

    ``mapping="bucket"``: units above the median importance τ are dropped with ``p_high``,
    the others with ``p_low``; ``mapping="continuous"`` (absolute rule only): odds
    :math:`r_{low} + (r_{high} - r_{low})\,m^2/(m^2+\tau^2)` (the rule of
    ``penalties.YDrop``). ``mirrored=True`` swaps the roles (the least important dropped more).

    Parameters
    ----------
    warmup : int
        Number of optimizer steps (:meth:`step`, not forward calls) with uniform dropout at
        ``warmup_rate``; the schedule counter is the ``steps`` buffer.
    warmup_rate : float, optional
        The uniform drop probability of the warm-up (inverted scaling); default the mean
        rate (p_low + p_high)/2, which is the reference's 0.5.
    baseline : Tensor, optional
        The baseline activations h′ (d,) of the linear-head form; a buffer (follows ``.to()``,
        ``.double()`` and ``state_dict``).
    output : int, optional
        Default head row for a multi-output head weight (out, d).

    For a linear/GLM model the absolute rule is anti-monotone (odds increase with |w|): a
    superquadratic, densifying penalty; mirrored, a sparsifying one.
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
        rule: str = "absolute",
        warmup_rate: float | None = None,
        output: int | None = None,
    ):
        super().__init__(target)
        if self.target != "input":
            raise ValueError("YDrop acts on units: use target='input'")
        self.p_low = check_rate(p_low, "p_low")
        self.p_high = check_rate(p_high, "p_high")
        if self.p_low > self.p_high:
            raise ValueError(f"p_low must be <= p_high, got {p_low} > {p_high}")
        self.mapping = check_choice(mapping, "mapping", ("bucket", "continuous"))
        self.rule = check_choice(rule, "rule", ("absolute", "reference"))
        if self.rule == "reference" and self.mapping != "bucket":
            raise ValueError("rule='reference' uses the median split: mapping must be 'bucket'")
        self.mirrored = check_bool(mirrored, "mirrored")
        self.warmup = check_int(warmup, "warmup", 0)
        self.warmup_rate = (self.mean_rate if warmup_rate is None
                            else check_rate(warmup_rate, "warmup_rate"))
        self.output = None if output is None else int(output)
        if baseline is not None:
            baseline = check_tensor(torch.as_tensor(baseline), "baseline").detach().clone()
            if not bool(torch.isfinite(baseline).all()):
                raise ValueError("baseline must be finite")
        self.register_buffer("baseline", baseline)
        # State in buffers (saved by state_dict): the optimizer-step count and the last median
        # importance τ (NaN until a training call sets it).
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("last_tau", torch.full((), float("nan"), dtype=torch.float64))
        # An input of the next training calls, not schedule state: moved by .to(), not saved.
        self.register_buffer("_conductance", None, persistent=False)

    def extra_repr(self) -> str:
        return (
            f"p_low={self.p_low}, p_high={self.p_high}, mapping={self.mapping!r}, "
            f"rule={self.rule!r}, mirrored={self.mirrored}, warmup={self.warmup}"
        )

    @classmethod
    def contract_examples(cls):
        return cls(0.1, 0.5, warmup=2), cls(0.1, 0.5, mapping="continuous", mirrored=True)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        old = prefix + "calls"
        if old in state_dict and prefix + "steps" not in state_dict:
            state_dict[prefix + "steps"] = state_dict.pop(old)
        key = prefix + "baseline"
        if key in state_dict and self.baseline is None:
            self.baseline = state_dict[key].detach().clone()
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    @property
    def tau(self) -> float | None:
        """The median importance of the last training call (``None`` before one)."""
        value = float(self.last_tau)
        return None if np.isnan(value) else value

    @property
    def in_warmup(self) -> bool:
        """Whether the next training call uses the uniform warm-up rate."""
        return int(self.steps) < self.warmup

    def reset_state(self) -> None:
        self.steps.zero_()
        self.last_tau.fill_(float("nan"))

    def step(self) -> None:
        """Advance the warm-up schedule by one optimizer step."""
        self.steps += 1

    @property
    def mean_rate(self) -> float:
        """(p_low + p_high)/2: the mean drop rate of the bucket rule (even unit count)."""
        return 0.5 * (self.p_low + self.p_high)

    # -- importances
    def set_conductance(self, conductance: Tensor | None) -> YDrop:
        """Conductances used by every later training call until replaced (``None`` clears):
        per unit (d,) or per sample (..., B, d) (reduced over the batch by the rule).

        They are an input, not state: they follow ``.to()`` but are not in ``state_dict``."""
        if conductance is not None:
            check_tensor(conductance, "conductance")
            conductance = conductance.detach()
        self._conductance = conductance
        return self

    def _reduce(self, c: Tensor, z: Tensor, name: str) -> Tensor:
        """Batch-level importance (..., d) from conductances, checked against z (..., B, d)."""
        d = z.shape[-1]
        if c.dim() == 0 or c.shape[-1] != d:
            raise ValueError(f"{name} must have {d} units on its last axis (the units of the "
                             f"input of shape {tuple(z.shape)}), got shape {tuple(c.shape)}")
        c = c.to(z.dtype)
        if c.dim() == z.dim():  # per sample
            if c.shape != z.shape:
                raise ValueError(f"{name} per sample must have the input's shape "
                                 f"{tuple(z.shape)}, got {tuple(c.shape)}")
            return c.mean(-2) if self.rule == "reference" else c.abs().mean(-2)
        try:
            torch.broadcast_shapes(c.shape, (*z.shape[:-2], d))
        except RuntimeError as err:
            raise ValueError(f"{name} of shape {tuple(c.shape)} does not broadcast to the "
                             f"units {(*z.shape[:-2], d)}") from err
        return c if self.rule == "reference" else c.abs()

    def head_conductance(self, h: Tensor, weight: Tensor, output=None) -> Tensor:
        r"""Per-sample conductance :math:`w_j(h_{ij} - h'_j)` of a frozen linear head.

        ``weight``: (d,), one row per replica (..., d) for ``h`` (..., B, d), or an (out, d)
        head with ``output`` an int row or per-sample indices (B,) (without ``output``, the
        absolute rule takes the column norms :math:`\|W_{:,j}\|_2`)."""
        check_tensor(weight, "weight")
        d = h.shape[-1]
        if weight.shape[-1] != d:
            raise ValueError(f"weight must have {d} columns (the units of the input of shape "
                             f"{tuple(h.shape)}), got shape {tuple(weight.shape)}")
        base = 0.0 if self.baseline is None else self.baseline.to(h.dtype)
        w = weight.detach().to(h.dtype)
        output = self.output if output is None else output
        if w.dim() == 2 and h.dim() == 2:  # an (out, d) head reading (B, d)
            if output is None:
                if w.shape[0] == 1:
                    w = w[0]
                elif self.rule == "absolute":  # |c_ij| = ||W_{:,j}||_2 |h_ij - h'_j|
                    w = w.norm(dim=0)
                else:
                    raise ValueError(f"weight of shape {tuple(w.shape)} is a multi-output "
                                     "head and rule='reference' ranks the signed conductance "
                                     "of one logit: pass output= (a row index or per-sample "
                                     "labels)")
            elif isinstance(output, Tensor):
                idx = output.to(device=w.device, dtype=torch.long).reshape(-1)
                if idx.shape[0] != h.shape[0]:
                    raise ValueError(f"output must have one index per sample ({h.shape[0]}), "
                                     f"got shape {tuple(output.shape)}")
                w = w[idx]  # (B, d)
            else:
                w = w[int(output)]
        elif w.dim() > 1 and w.dim() != h.dim() - 1:
            raise ValueError(f"weight must be (d,), (out, d) or one row per replica "
                             f"{(*h.shape[:-2], d)}, got shape {tuple(w.shape)}")
        if w.dim() == h.dim() - 1 and w.dim() > 1:
            w = w.unsqueeze(-2)
        return w * (h - base)

    @torch.no_grad()
    def importance(self, h: Tensor, weight: Tensor, output=None) -> Tensor:
        """Batch-level importance (..., d) of a linear head (per the rule)."""
        return self._reduce(self.head_conductance(h, weight, output), h, "weight")

    def _importance_of(self, z, weight, conductance, output) -> Tensor | None:
        if conductance is not None:
            return self._reduce(check_tensor(conductance, "conductance").detach(), z,
                                "conductance")
        if self._conductance is not None:
            return self._reduce(self._conductance, z, "conductance")
        if weight is None and self.weight_of is not None:
            weight = reader_weight(self.weight_of, z)
        if weight is not None:
            return self.importance(z, weight, output)
        return None

    # -- rates
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
    def _drop(self, z, weight, conductance, output, record: bool, imp=None) -> Tensor:
        if self.in_warmup:
            shape = (*z.shape[:-2], z.shape[-1]) if z.dim() > 1 else z.shape
            return z.new_full(shape, self.warmup_rate)
        if imp is None:
            imp = self._importance_of(z, weight, conductance, output)
        if imp is None:
            raise ValueError(
                "YDrop needs unit importances in training: pass conductance= (or call "
                "set_conductance, e.g. with dualreg.torch.attribution.layer_conductance), or "
                "weight= (the frozen linear head), or name the reading layer with "
                "set_weight_of")
        return self.drop_rates(imp) if record else self._rates_and_tau(imp)[0]

    @torch.no_grad()
    def drop_probability(self, z: Tensor, weight: Tensor | None = None,
                         conductance: Tensor | None = None, output=None) -> Tensor:
        """The per-unit rates of the next training call (warm-up: ``warmup_rate``)."""
        return rates_like(self._drop(z, weight, conductance, output, record=False),
                          z).expand_as(z)

    def _scale(self, keep: Tensor) -> Tensor:
        """The survivors' divisor: keep per unit (absolute); for the reference rule, as in its
        code, one minus the mean bucket rate, 1 - (p_low + p_high)/2 (the mean keep for an even
        unit count); the warm-up divides by its own keep 1 - warmup_rate."""
        if self.rule == "reference" and not self.in_warmup:
            return torch.full_like(keep, 1.0 - self.mean_rate)
        return keep

    def _input_keep(self, x, w):
        # The trainer's path: every leading axis of w is a replica (not a head row).
        if self.rule == "reference":
            return None
        if x.dim() == w.dim() and x.dim() == 2:  # shared (B, d) data, (K, d) replicas
            imp = None
            if self._conductance is None:
                base = 0.0 if self.baseline is None else self.baseline.to(x.dtype)
                imp = w.detach().abs() * (x - base).abs().mean(-2)
            return 1.0 - self._drop(x, w, None, None, record=True, imp=imp)
        return 1.0 - self._drop(x, w, None, None, record=True)

    def noisy_linear(self, x: Tensor, w: Tensor) -> Tensor:
        if self.rule != "reference" or not self.training:
            return super().noisy_linear(x, w)
        if x.dim() == w.dim():
            x = x.expand(*w.shape[:-1], *x.shape)
        return matvec(self._noisy(x, w), w)

    def _noisy(self, z, weight, conductance=None, output=None):
        keep = 1.0 - self._drop(z, weight, conductance, output, record=True)
        keep_b = rates_like(keep, z)
        b = (self._rand(torch.broadcast_shapes(keep_b.shape, z.shape), z) < keep_b).to(z.dtype)
        return z * b / rates_like(self._scale(keep), z)

    def forward(self, z, weight=None, conductance: Tensor | None = None, output=None):
        """``z`` with Y-Drop in training (importances: see the class notes); ``z`` in eval."""
        check_tensor(z, "z")
        if not self.training:
            return z
        return self._noisy(z, weight, conductance, output)

    def penalty(self) -> Penalty:
        """``penalties.YDrop`` frozen at the last median importance τ (in units of |w|·mean|h|)."""
        if self.rule == "reference":
            raise ValueError("rule='reference' rescales by the mean keep probability: it "
                             "defines no separable penalty (use rule='absolute')")
        if self.tau is None or self.tau <= 0:
            raise ValueError("the threshold is set by a training call: run the layer first")
        return penalties.YDrop(self.p_low, self.p_high, self.tau, self.mapping, self.mirrored)
