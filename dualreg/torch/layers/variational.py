r"""Variational dropout (Kingma et al. 2015; Molchanov et al. 2017): learned Gaussian noise
variances with the log-uniform prior's KL, exact or Molchanov's approximation."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from dualreg._validation import check_scalar
from dualreg.penalties import Penalty, VarDrop, VarDropApprox
from dualreg.torch.layers.base import DropoutLayer, MaskKind, check_choice, matvec

__all__ = ["VariationalDropout"]


class _VarDropDual(torch.autograd.Function):
    r""":math:`f(\eta)` of the exact VarDrop dual, with :math:`f'(\eta) = D(u)/u`,
    :math:`u = \sqrt{\eta/2}`, both from ``penalties.VarDrop`` (numpy, at the boundary)."""

    @staticmethod
    def forward(ctx, eta, penalty):
        e = eta.detach().cpu().numpy()
        ctx.save_for_backward(eta)
        ctx.penalty = penalty
        return torch.as_tensor(penalty.dual(e), dtype=eta.dtype, device=eta.device)

    @staticmethod
    def backward(ctx, grad):
        (eta,) = ctx.saved_tensors
        d = ctx.penalty.dual_derivative(eta.detach().cpu().numpy())
        return grad * torch.as_tensor(d, dtype=eta.dtype, device=eta.device), None


class VariationalDropout(DropoutLayer):
    r"""Variational dropout (Kingma et al. 2015; Molchanov et al. 2017) on the weights.

    Learned :math:`\log\sigma_j^2` per weight (per replica); the mask is
    :math:`s = 1 + \sigma\xi`, ξ ~ N(0, 1); the regulariser is :math:`\lambda\sum_j
    \mathrm{KL}(\sigma_j^2)` with the log-uniform prior, normalised to 0 at σ² = ∞:

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
    """

    mask_kind = MaskKind.GAUSSIAN
    fixed_p = False  # nothing is dropped: the noise variances are learned

    def __init__(
        self,
        lam: float,
        init_log_sigma2: float = -6.0,
        kl: str = "exact",
        local_reparam: bool = False,
        log_sigma2_max: float = 12.0,
        shape: tuple[int, ...] | None = None,
    ):
        super().__init__("weight")
        self.lam = check_scalar(lam, "lam", 0.0, np.inf, low_inclusive=False)
        self.init_log_sigma2 = check_scalar(init_log_sigma2, "init_log_sigma2")
        self.kl = check_choice(kl, "kl", ("exact", "molchanov"))
        self.local_reparam = bool(local_reparam)
        self.log_sigma2_max = check_scalar(log_sigma2_max, "log_sigma2_max")
        self.log_sigma2: nn.Parameter | None = None
        self._vd = VarDrop()
        if shape is not None:
            self.build(tuple(shape))

    @classmethod
    def contract_examples(cls):
        return cls(0.1, init_log_sigma2=-1.0, shape=(8,)), cls(0.1, kl="molchanov", shape=(8,))

    def extra_repr(self) -> str:
        return f"lam={self.lam}, kl={self.kl!r}, local_reparam={self.local_reparam}"

    def build(self, shape, device=None, dtype=None) -> None:
        dtype = dtype or torch.get_default_dtype()
        init = torch.full(tuple(shape), self.init_log_sigma2, device=device, dtype=dtype)
        self.log_sigma2 = nn.Parameter(init)

    def replica_parameters(self) -> dict[str, Tensor]:
        self._require_built()
        return {"log_sigma2": self.log_sigma2}

    def _require_built(self) -> None:
        if self.log_sigma2 is None:
            raise ValueError("VariationalDropout has no log_sigma2 yet: pass shape= or call build")

    def _log_sigma2(self) -> Tensor:
        self._require_built()
        return self.log_sigma2.clamp(max=self.log_sigma2_max)

    @property
    def vardrop(self) -> VarDrop:
        """The exact penalty whose dual gives the KL (``kl="exact"``)."""
        return self._vd

    def kl_divergence(self) -> Tensor:
        """KL per weight (normalised to 0 at σ² = ∞), shape of ``log_sigma2``."""
        ls = self._log_sigma2()
        if self.kl == "molchanov":
            k1, k2, k3 = VarDropApprox.K1, VarDropApprox.K2, VarDropApprox.K3
            return k1 * (1.0 - torch.sigmoid(k2 + k3 * ls)) + 0.5 * nn.functional.softplus(-ls)
        return 0.5 * _VarDropDual.apply(torch.exp(-ls), self.vardrop)

    def regularizer(self, w: Tensor) -> Tensor:
        return self.lam * self.kl_divergence().sum(-1)

    def _noisy(self, z, weight):
        sd = torch.exp(0.5 * self._log_sigma2())
        return z * (1.0 + sd * self._randn(z.shape, z))

    def noisy_linear(self, x: Tensor, w: Tensor) -> Tensor:
        if not (self.training and self.local_reparam):
            return super().noisy_linear(x, w)
        mean = matvec(x, w)
        var = matvec(x * x, torch.exp(self._log_sigma2()) * w * w)
        sd = var.clamp_min(torch.finfo(var.dtype).tiny).sqrt()
        return mean + sd * self._randn(mean.shape, mean)

    def penalty(self) -> Penalty:
        return VarDrop() if self.kl == "exact" else VarDropApprox()
