r"""Variational dropout (Kingma et al. 2015; Molchanov et al. 2017): learned Gaussian noise
variances with the log-uniform prior's KL, exact or Molchanov's approximation."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from dualreg._validation import check_bool, check_scalar
from dualreg.penalties import Penalty, VarDrop, VarDropApprox
from dualreg.torch.layers.base import (
    DropoutLayer,
    MaskKind,
    check_choice,
    check_tensor,
    matvec,
    rates_like,
)

__all__ = ["VariationalDropout", "molchanov_kl"]


def molchanov_kl(log_sigma2: Tensor) -> Tensor:
    r"""Molchanov et al.'s (2017) fit of the log-uniform prior's KL, elementwise, normalised to
    0 at :math:`\sigma^2 = \infty`:
    :math:`k_1(1 - \mathrm{sigmoid}(k_2 + k_3\log\sigma^2)) + \tfrac12\log(1 + \sigma^{-2})`
    (= ½ f of ``penalties.VarDropApprox``; k from there)."""
    k1, k2, k3 = VarDropApprox.K1, VarDropApprox.K2, VarDropApprox.K3
    return k1 * (1.0 - torch.sigmoid(k2 + k3 * log_sigma2)) + 0.5 * nn.functional.softplus(
        -log_sigma2)


class _VarDropDual(torch.autograd.Function):
    r""":math:`f(\eta)` of the exact VarDrop dual, with :math:`f'(\eta) = D(u)/u`,
    :math:`u = \sqrt{\eta/2}`, both from ``penalties.VarDrop`` (numpy, at the boundary).

    Elementwise, so its vmap rule evaluates the whole batched tensor at once: the exact KL
    runs inside :func:`dualreg.torch.replicas.monte_carlo_module`."""

    @staticmethod
    def forward(eta, penalty):
        e = eta.detach().cpu().numpy()
        return torch.as_tensor(penalty.dual(e), dtype=eta.dtype, device=eta.device)

    @staticmethod
    def setup_context(ctx, inputs, output):
        eta, penalty = inputs
        ctx.save_for_backward(eta)
        ctx.penalty = penalty

    @staticmethod
    def backward(ctx, grad):
        (eta,) = ctx.saved_tensors
        d = ctx.penalty.dual_derivative(eta.detach().cpu().numpy())
        return grad * torch.as_tensor(d, dtype=eta.dtype, device=eta.device), None

    @staticmethod
    def vmap(info, in_dims, eta, penalty):
        return _VarDropDual.apply(eta, penalty), in_dims[0]


class VariationalDropout(DropoutLayer):
    r"""Variational dropout (Kingma et al. 2015; Molchanov et al. 2017): learned Gaussian noise.

    Learned :math:`\log\sigma_j^2` per weight (``target="weight"``) or per input unit
    (``target="input"``: activations (..., d), one variance per unit on the last axis, a fresh
    draw per sample and unit); the mask is :math:`s = 1 + \sigma\xi`, ξ ~ N(0, 1); the
    regulariser is :math:`\lambda\sum_j \mathrm{KL}(\sigma_j^2)` with the log-uniform prior,
    normalised to 0 at σ² = ∞:

    - ``kl="exact"``: :math:`\mathrm{KL}(\sigma^2) = \tfrac12 f(1/\sigma^2)`, f the exact dual of
      ``penalties.VarDrop`` (Dawson integral);
    - ``kl="molchanov"``: :math:`k_1(1 - \mathrm{sigmoid}(k_2 + k_3\log\sigma^2))
      + \tfrac12\log(1 + \sigma^{-2})` (= ½ f of ``penalties.VarDropApprox``).

    Since :math:`E L(s\odot w) = L(w) + \tfrac12\sum c_j\sigma_j^2w_j^2` (gaussian), minimising
    over σ² at fixed w is the η-trick with :math:`\eta = \lambda/(c\sigma^2)`: the objective is
    :math:`\tfrac\lambda2[w^2/\eta + f(c\eta/\lambda)]`, whose minimiser is
    :math:`\eta = (\lambda/c)\hat\eta_{VD}(\sqrt{c/\lambda}\,|w|)`; the effective penalty is
    :math:`\lambda\Omega_{VD}(\sqrt{c/\lambda}\,w)`. ``penalty()`` returns
    :math:`\Omega_{VD}` (λ = c = 1).

    ``local_reparam=True`` samples the pre-activation :math:`\theta \sim N(x\cdot w,
    \sum_j x_j^2\sigma_j^2w_j^2)` directly (one draw per sample; same expectation).

    **Building.** ``log_sigma2`` is created by :meth:`build`: up front with ``shape=`` (the
    weight's shape, or (d,) for ``target="input"``), by :func:`dualreg.torch.parametrize_weight`
    (eagerly, on the weight's shape, dtype and device), by the trainer, or lazily at the first
    ``forward`` (shape, dtype and device of the input; units = its last axis for
    ``target="input"``). An optimizer created *before* a lazy build does not see the new
    parameter: give ``shape=`` (then ``.to()`` the model) or run one forward pass first.
    ``load_state_dict`` builds an unbuilt layer from the saved tensor.

    **λ.** With the mean-loss scaling of docs/conventions.md §1 the ELBO's KL weight is
    λ = 1/N, N the number of training samples, which the layer cannot know: ``lam=None`` (the
    default) gives the noise without a KL, and asking for the KL (:meth:`regularizer`,
    :func:`dualreg.torch.regularization`, the trainer) is then a ``ValueError``.

    Parameters
    ----------
    lam : float > 0 or None
        KL weight λ.
    init_log_sigma2 : float
        Initial :math:`\log\sigma^2` of every entry.
    kl : {"exact", "molchanov"}
    local_reparam : bool
    log_sigma2_max : float
        Clamp of :math:`\log\sigma^2` in the noise and the KL.
    shape : tuple of int or None
        Build up front (else lazily, see above).
    target : {"weight", "input"}
    """

    mask_kind = MaskKind.GAUSSIAN
    fixed_p = False  # nothing is dropped: the noise variances are learned

    def __init__(
        self,
        lam: float | None = None,
        init_log_sigma2: float = -6.0,
        kl: str = "exact",
        local_reparam: bool = False,
        log_sigma2_max: float = 12.0,
        shape: tuple[int, ...] | None = None,
        target: str = "weight",
    ):
        super().__init__(target)
        self.lam = None if lam is None else check_scalar(lam, "lam", 0.0, np.inf,
                                                         low_inclusive=False)
        self.init_log_sigma2 = check_scalar(init_log_sigma2, "init_log_sigma2")
        self.kl = check_choice(kl, "kl", ("exact", "molchanov"))
        self.local_reparam = check_bool(local_reparam, "local_reparam")
        self.log_sigma2_max = check_scalar(log_sigma2_max, "log_sigma2_max")
        self.register_parameter("log_sigma2", None)
        self._vd = VarDrop()
        if shape is not None:
            self.build(tuple(shape))

    @classmethod
    def contract_examples(cls):
        return (cls(0.1, init_log_sigma2=-1.0, shape=(8,)), cls(0.1, kl="molchanov", shape=(8,)),
                cls(0.1, init_log_sigma2=-1.0, target="input"))

    def extra_repr(self) -> str:
        shape = None if self.log_sigma2 is None else tuple(self.log_sigma2.shape)
        return (f"lam={self.lam}, kl={self.kl!r}, local_reparam={self.local_reparam}, "
                f"target={self.target!r}, shape={shape}")

    @property
    def built(self) -> bool:
        """Whether ``log_sigma2`` exists."""
        return self.log_sigma2 is not None

    def build(self, shape, device=None, dtype=None) -> None:
        dtype = dtype or torch.get_default_dtype()
        try:
            shape = tuple(int(k) for k in shape)
        except TypeError:
            raise ValueError(f"shape must be a tuple of ints, got {shape!r}") from None
        if not shape or min(shape) < 1:
            raise ValueError(f"shape must be a nonempty tuple of positive ints, got {shape!r}")
        init = torch.full(shape, self.init_log_sigma2, device=device, dtype=dtype)
        self.log_sigma2 = nn.Parameter(init)

    def _lazy_build(self, z: Tensor) -> None:
        if self.log_sigma2 is None:
            shape = z.shape if self.target == "weight" else z.shape[-1:]
            self.build(tuple(shape), device=z.device, dtype=z.dtype)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        saved = state_dict.get(prefix + "log_sigma2")
        if saved is not None and self.log_sigma2 is None:  # an unbuilt layer: build from it
            self.build(tuple(saved.shape), device=saved.device, dtype=saved.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def replica_parameters(self) -> dict[str, Tensor]:
        self._require_built()
        return {"log_sigma2": self.log_sigma2}

    def _require_built(self) -> None:
        if self.log_sigma2 is None:
            raise ValueError("VariationalDropout has no log_sigma2 yet: pass shape=, call build, "
                             "or run a forward pass first")

    def _log_sigma2(self) -> Tensor:
        self._require_built()
        return self.log_sigma2.clamp(max=self.log_sigma2_max)

    @property
    def vardrop(self) -> VarDrop:
        """The exact penalty whose dual gives the KL (``kl="exact"``)."""
        return self._vd

    def kl_divergence(self) -> Tensor:
        """KL per weight or unit (normalised to 0 at σ² = ∞), shape of ``log_sigma2``."""
        ls = self._log_sigma2()
        if self.kl == "molchanov":
            return molchanov_kl(ls)
        return 0.5 * _VarDropDual.apply(torch.exp(-ls), self.vardrop)

    def regularizer(self, w: Tensor | None = None) -> Tensor:
        r""":math:`\lambda\sum\mathrm{KL}` over the last axis of ``log_sigma2`` (per replica
        or per output unit; ``w`` is not needed)."""
        if self.lam is None:
            raise ValueError("VariationalDropout(lam=None) has no KL weight: pass lam (with the "
                             "mean loss, lam = 1/N for N training samples) to use its KL")
        return self.lam * self.kl_divergence().sum(-1)

    def forward(self, z: Tensor, weight: Tensor | None = None) -> Tensor:
        """``z`` with the learned Gaussian noise in training, ``z`` in eval; either way the
        first call builds ``log_sigma2`` if it does not exist yet (a dry run)."""
        check_tensor(z, "z")
        self._lazy_build(z)
        return super().forward(z, weight)

    def _noisy(self, z, weight):
        self._lazy_build(z)
        sd = rates_like(torch.exp(0.5 * self._log_sigma2()), z)
        try:
            shape = torch.broadcast_shapes(sd.shape, z.shape)
        except RuntimeError:
            raise ValueError(f"z of shape {tuple(z.shape)} does not match log_sigma2 of shape "
                             f"{tuple(self.log_sigma2.shape)} (built for another input)") from None
        return z * (1.0 + sd * self._randn(shape, z))

    def noisy_linear(self, x: Tensor, w: Tensor) -> Tensor:
        if not (self.training and self.local_reparam):
            return super().noisy_linear(x, w)
        mean = matvec(x, w)
        var = matvec(x * x, torch.exp(self._log_sigma2()) * w * w)
        sd = var.clamp_min(torch.finfo(var.dtype).tiny).sqrt()
        return mean + sd * self._randn(mean.shape, mean)

    def penalty(self) -> Penalty:
        return VarDrop() if self.kl == "exact" else VarDropApprox()
