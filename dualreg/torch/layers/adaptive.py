r"""Adaptive dropout: the rule that implements λΩ for any penalty with an η-form
(docs/conventions.md §4), its rates taken from the penalty object."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dualreg._conventions import keep_prob_to_eta
from dualreg._validation import check_bool, check_int, check_scalar
from dualreg.penalties import L1, Floored, Penalty
from dualreg.torch.layers.base import (
    DropoutLayer,
    MaskKind,
    check_choice,
    check_weight_of,
    rates_like,
    reader_weight,
    unit_magnitudes,
)

__all__ = ["AdaptiveDropout"]


def _wrapped(t: Tensor) -> bool:
    """Whether ``t`` lives inside a functorch transform (vmap, grad): no host reads."""
    return torch._C._functorch.is_functorch_wrapped_tensor(t)


class AdaptiveDropout(DropoutLayer):
    r"""Adaptive dropout implementing :math:`\lambda\Omega` by the duality of
    docs/conventions.md §4.

    Rates are recomputed from the current weights under ``no_grad`` (never differentiated):

    .. math::

        \alpha_j = \max\Big(\frac{c_j\hat\eta(w_j)}{c_j\hat\eta(w_j) + \lambda},
        \alpha_{min}\Big)
        \quad\text{(Bernoulli)}, \qquad
        \sigma_j^2 = \min\Big(\frac{\lambda}{c_j\hat\eta(w_j)},
        \frac{1-\alpha_{min}}{\alpha_{min}}\Big) \quad\text{(Gaussian)},

    with η̂ from the penalty object (:meth:`Penalty.eta_hat_torch`: tensor arithmetic for the
    closed forms, the numpy η̂ otherwise). The floor :math:`\alpha_{min}` is the η floor
    :math:`\eta_{min} = \lambda\alpha_{min}/(c(1-\alpha_{min}))` (:meth:`eta_floor`): both
    solve :math:`\min L(w) + \lambda\sum_j\Omega_{floor}(w_j)`, the
    :class:`dualreg.penalties.Floored` penalty (:meth:`effective_penalty`).

    **Weights.** ``target="weight"``: the rates are per weight, from |w| (any shape: a GLM head
    (d,), a replica stack (K, d), an ``nn.Linear`` (out, in) or a conv kernel). ``target="input"``:
    the rates are per input unit (the last axis of x), from :func:`unit_magnitudes` of the weight
    that reads x — ``forward(x, weight=w)`` with w of shape (d,), (..., d) per replica, or an
    (out, d) matrix (the next ``nn.Linear``'s weight: its column norms); else the weight of
    ``weight_of`` (or :meth:`set_weight_of`), e.g. the next ``nn.Linear`` in an
    ``nn.Sequential``. A weight whose last axis is not d is a ``ValueError`` naming ``weight``.
    In the trainer's protocol (:meth:`noisy_linear`) every leading axis of w is a replica.

    **Zero is absorbing** for penalties with η̂(0) = 0 (ℓ1, ℓp, log-sum, ... — :attr:`absorbing`):
    a zero weight gets the keep floor :math:`\alpha_{min}`, so it leaves zero only through rare
    1/α_min-scaled survivors (docs/conventions.md §3). ``ridge_start=N`` runs the first N
    optimizer steps (counted by :meth:`step`, buffer ``steps``) with the ridge rates of η = 1
    (:math:`\alpha = c/(c + \lambda)`, :math:`\sigma^2 = \lambda/c`: the dropout of
    :math:`\tfrac\lambda2\|w\|^2`, the IRLS ridge start) and then the adaptive rule. Without a
    ridge start, a first training call whose weights are all exactly zero (the trainer's default
    ``init``) warns.

    Parameters
    ----------
    penalty : Penalty
        A penalty with an η-form (subquadratic or quadratic).
    lam : float > 0
        Regularisation strength λ (mean-loss scaling, docs/conventions.md §1).
    mask : {"bernoulli", "gaussian"}
    keep_floor : float in (0, 1)
        :math:`\alpha_{min}`; also caps the Gaussian variance at
        :math:`(1-\alpha_{min})/\alpha_{min}`.
    target : {"weight", "input"}
    fast : bool
        Use the penalty's torch η̂ (``False``: the numpy faces ``keep_prob`` /
        ``noise_variance`` on host copies; the same numbers).
    ridge_start : int >= 0
        Optimizer steps run with the ridge rates before the adaptive rule takes over.
    weight_of : nn.Module or None
        Input target: the module that reads the activations (its weight gives the rates when
        ``forward`` gets no ``weight=``); kept by reference, not registered or saved.
    """

    fixed_p = False  # the rates follow from the weights: see drop_probability
    needs_column_scale = True

    def __init__(
        self,
        penalty: Penalty,
        lam: float,
        mask: str = "bernoulli",
        keep_floor: float = 1e-3,
        target: str = "weight",
        fast: bool = True,
        ridge_start: int = 0,
        weight_of: nn.Module | None = None,
    ):
        super().__init__(target)
        if not isinstance(penalty, Penalty):
            raise ValueError(f"penalty must be a dualreg Penalty, got {type(penalty).__name__}")
        if not penalty.has_eta_form:
            raise ValueError(
                f"penalty {penalty!r} is {penalty.curvature_class}: no η-form, so no adaptive "
                "dropout rule implements it"
            )
        self._penalty = penalty
        self.lam = check_scalar(lam, "lam", 0.0, np.inf, low_inclusive=False)
        self.mask = check_choice(mask, "mask", ("bernoulli", "gaussian"))
        self.mask_kind = MaskKind.INVERTED if self.mask == "bernoulli" else MaskKind.GAUSSIAN
        self.keep_floor = check_scalar(keep_floor, "keep_floor", 0.0, 1.0, False, False)
        self.fast = check_bool(fast, "fast")
        self.ridge_start = check_int(ridge_start, "ridge_start", 0)
        self._weight_of = (check_weight_of(weight_of, self.target),)
        with np.errstate(all="ignore"):
            self.absorbing = bool(np.asarray(penalty.eta_hat(np.zeros(1))).ravel()[0] <= 0)
        """Whether η̂(0) = 0: an exactly-zero weight only gets the keep floor."""
        # Optimizer steps taken (saved by state_dict: the ridge start resumes where it was).
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self._start_checked = False

    @classmethod
    def contract_examples(cls):
        return (cls(L1(), 0.5), cls(L1(), 0.5, mask="gaussian", target="input"),
                cls(L1(), 0.5, target="input", ridge_start=2))

    def extra_repr(self) -> str:
        return (
            f"penalty={self._penalty!r}, lam={self.lam}, mask={self.mask!r}, "
            f"keep_floor={self.keep_floor}, target={self.target!r}, "
            f"ridge_start={self.ridge_start}"
        )

    def _load_from_state_dict(self, state_dict, prefix, *args: Any, **kwargs: Any):
        if prefix + "steps" not in state_dict:  # saved before the layer counted steps
            state_dict[prefix + "steps"] = torch.zeros((), dtype=torch.long)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- schedule
    def reset_state(self) -> None:
        self.steps.zero_()
        self._start_checked = False

    @torch.no_grad()
    def step(self) -> None:
        """One optimizer step: ``steps += 1`` (moves the ridge start)."""
        self.steps.add_(1)

    def in_ridge_start(self) -> bool:
        """Whether the next training call uses the ridge rates (``steps < ridge_start``)."""
        return self.ridge_start > 0 and int(self.steps) < self.ridge_start

    def penalty(self) -> Penalty:
        return self._penalty

    def eta_floor(self, c: Any = 1.0) -> np.ndarray:
        r"""The IRLS η floor :math:`\lambda\alpha_{min}/(c(1-\alpha_{min}))` equivalent to the
        keep floor."""
        return keep_prob_to_eta(self.keep_floor, self.lam, c)

    def effective_penalty(self, c: float = 1.0) -> Floored:
        r"""The penalty this layer implements (as λ·Ω) at a scalar column scale c: the floored
        penalty with :math:`\eta_{min}` = :meth:`eta_floor` (c), for IRLS."""
        c = check_scalar(c, "c", 0.0, np.inf, low_inclusive=False)
        return Floored(self._penalty, float(self.eta_floor(c)))

    def _scale_like(self, w: Tensor) -> Tensor:
        c = self.column_scale
        if c is None:
            return torch.ones_like(w)
        return torch.as_tensor(c, dtype=w.dtype, device=w.device).expand_as(w)

    @torch.no_grad()
    def rates(self, w: Tensor) -> Tensor:
        """Keep probabilities (Bernoulli) or mask variances (Gaussian) for weights ``w``
        (elementwise in |w|; during the ridge start, those of η = 1)."""
        w = w.detach()
        c = self._scale_like(w)
        if self.in_ridge_start():
            ce = c  # η = 1: the ridge λ/2 Σ w²
            if self.mask == "bernoulli":
                out = ce / (ce + self.lam)
            else:
                out = self.lam / ce
        elif self.fast:
            ce = c * self._penalty.eta_hat_torch(w.abs())
            if self.mask == "bernoulli":
                out = torch.where(torch.isinf(ce), torch.ones_like(ce), ce / (ce + self.lam))
            else:
                out = self.lam / ce
        else:
            w_np, c_np = w.cpu().numpy(), c.cpu().numpy()
            if self.mask == "bernoulli":
                out = self._penalty.keep_prob(w_np, self.lam, c_np)
            else:
                with np.errstate(divide="ignore"):
                    out = self._penalty.noise_variance(w_np, self.lam, c_np)
            out = torch.as_tensor(np.asarray(out), dtype=w.dtype, device=w.device)
        if self.mask == "bernoulli":
            return out.clamp(min=self.keep_floor, max=1.0)
        return out.clamp(min=0.0, max=(1.0 - self.keep_floor) / self.keep_floor)

    @torch.no_grad()
    def _magnitudes(self, z: Tensor, weight: Tensor | None) -> Tensor:
        """What the rates are computed from: z itself (weight target), else the unit
        magnitudes of ``weight`` (or of ``weight_of``'s weight) for the units of z."""
        if self.target == "weight":
            return z
        if weight is not None:
            return unit_magnitudes(weight, z, "weight")
        module = self._weight_of[0]
        if module is not None:
            return unit_magnitudes(reader_weight(module, z), z, "weight_of.weight")
        raise ValueError(
            "AdaptiveDropout(target='input') computes its rates from the weights that read its "
            "input: call it as layer(x, weight=w), or pass weight_of= (the next nn.Linear)"
        )

    def _check_start(self, w: Tensor) -> None:
        """Warn once per run when every weight is exactly zero and zero is absorbing."""
        if self._start_checked:
            return
        self._start_checked = True
        if not self.absorbing or self.ridge_start > 0 or _wrapped(w):
            return
        if bool((w == 0).all()):
            warnings.warn(
                f"AdaptiveDropout({self._penalty!r}): every weight is exactly 0 and η̂(0) = 0, "
                f"so zero is absorbing (keep probability = keep_floor {self.keep_floor}): start "
                "from a nonzero init (e.g. the ridge or OLS solution) or pass ridge_start=N",
                UserWarning, stacklevel=3)

    @torch.no_grad()
    def drop_probability(self, z: Tensor, weight: Tensor | None = None) -> Tensor:
        """1 − α(w) per element (Bernoulli), 0 (Gaussian)."""
        if self.mask == "gaussian":
            return torch.zeros_like(z)
        keep = rates_like(self.rates(self._magnitudes(z, weight)), z)
        return (1.0 - keep).expand_as(z)

    def _input_keep(self, x, w):
        # The trainer's GLM head: every leading axis of w is a replica, |w| per unit.
        self._check_start(w)
        return self.rates(w) if self.mask == "bernoulli" else None

    def _noisy(self, z, weight):
        m = self._magnitudes(z, weight)
        self._check_start(m)
        rates = self.rates(m)
        if self.mask == "bernoulli":
            return z * self._bernoulli_mask(rates, z)
        sd = rates_like(rates, z).sqrt()
        shape = torch.broadcast_shapes(sd.shape, z.shape)
        return z * (1.0 + sd * self._randn(shape, z))
