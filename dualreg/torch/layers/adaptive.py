r"""Adaptive dropout: the rule that implements λΩ for any penalty with an η-form
(docs/conventions.md §4), its rates taken from the penalty object."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from dualreg._conventions import keep_prob_to_eta
from dualreg._validation import check_scalar
from dualreg.penalties import L1, Floored, Penalty
from dualreg.torch.layers.base import DropoutLayer, MaskKind, check_choice, rates_like

__all__ = ["AdaptiveDropout"]


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
    fast : bool
        Use the penalty's torch η̂ (``False``: the numpy faces ``keep_prob`` /
        ``noise_variance`` on host copies; the same numbers).
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
        self.fast = bool(fast)

    @classmethod
    def contract_examples(cls):
        return cls(L1(), 0.5), cls(L1(), 0.5, mask="gaussian", target="input")

    def extra_repr(self) -> str:
        return (
            f"penalty={self._penalty!r}, lam={self.lam}, mask={self.mask!r}, "
            f"keep_floor={self.keep_floor}, target={self.target!r}"
        )

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
        """Keep probabilities (Bernoulli) or mask variances (Gaussian) for weights ``w``."""
        w = w.detach()
        c = self._scale_like(w)
        if self.fast:
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
    def drop_probability(self, z: Tensor, weight: Tensor | None = None) -> Tensor:
        """1 − α(w) per element (Bernoulli), 0 (Gaussian)."""
        if self.mask == "gaussian":
            return torch.zeros_like(z)
        keep = rates_like(self.rates(self._weight_for_rates(z, weight)), z)
        return (1.0 - keep).expand_as(z)

    def _input_keep(self, x, w):
        return self.rates(w) if self.mask == "bernoulli" else None

    def _noisy(self, z, weight):
        rates = self.rates(self._weight_for_rates(z, weight))
        if self.mask == "bernoulli":
            return z * self._bernoulli_mask(rates, z)
        sd = rates_like(rates, z).sqrt()
        shape = torch.broadcast_shapes(sd.shape, z.shape)
        return z * (1.0 + sd * self._randn(shape, z))
