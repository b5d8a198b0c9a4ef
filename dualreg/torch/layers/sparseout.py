r"""Sparseout (Khan & Stavness 2019): a power-law noise that is inverted dropout at q = 2."""

from __future__ import annotations

import numpy as np
import torch

from dualreg import penalties
from dualreg._validation import check_rate, check_scalar
from dualreg.penalties import Penalty
from dualreg.torch.layers.base import DropoutLayer, check_choice

__all__ = ["Sparseout"]


class _SparseoutNoise(torch.autograd.Function):
    r"""Forward :math:`\tilde z = z + \operatorname{sgn}(z)|z|^{q/2}\xi`; backward
    :math:`\partial\tilde z/\partial z = 1 + \kappa\,\xi\,\max(|z|, \epsilon)^{(q-2)/2}`.

    κ = 1 is the stop-gradient convention (the noise factor :math:`|z|^{(q-2)/2}\xi` of
    :math:`\tilde z = z(1 + |z|^{(q-2)/2}\xi)` is a constant); κ = q/2 is the true derivative
    (autograd). The floor ε guards the blow-up of :math:`|z|^{(q-2)/2}` at 0 when q < 2.
    """

    generate_vmap_rule = True  # torch ops only: usable under torch.func.vmap (replicas)

    @staticmethod
    def forward(z, xi, q, kappa, eps):
        return z + torch.sign(z) * z.abs().pow(q / 2.0) * xi

    @staticmethod
    def setup_context(ctx, inputs, output):
        z, xi, q, kappa, eps = inputs
        ctx.save_for_backward(z, xi)
        ctx.q, ctx.kappa, ctx.eps = q, kappa, eps

    @staticmethod
    def backward(ctx, grad):
        z, xi = ctx.saved_tensors
        q, kappa, eps = ctx.q, ctx.kappa, ctx.eps
        if q == 2.0:
            factor = torch.ones_like(z)
        else:
            factor = z.abs().clamp_min(eps).pow((q - 2.0) / 2.0)
        return grad * (1.0 + kappa * xi * factor), None, None, None, None


class Sparseout(DropoutLayer):
    r"""Sparseout (Khan & Stavness 2019): :math:`\tilde z = z + \operatorname{sgn}(z)|z|^{q/2}\xi`,
    :math:`\xi = m/(1-p) - 1`, m ~ Bern(1 − p).

    :math:`\operatorname{Var}\tilde z = v|z|^q`, v = p/(1−p); q = 2 is inverted dropout, and at
    |z| = 1 the output is the inverted mask m/(1 − p) whatever q (the contract). On the
    weights of a gaussian linear model :math:`E L = L(w) + \tfrac v2\sum_j c_j|w_j|^q` exactly,
    and SGD converges to a stationary point of

    - ``grad="stop"``: :math:`L + \tfrac vq\sum_j c_j|w_j|^q` (adaptive dropout with odds
      :math:`v t^{q-2}`, the reference implementation);
    - ``grad="autograd"``: :math:`L + \tfrac v2\sum_j c_j|w_j|^q`.

    **Names.** ``p`` is the drop probability here as in every layer (``nn.Dropout``'s name); the
    penalty object :class:`dualreg.penalties.Sparseout` takes ``(q, drop, grad)`` in the
    order of the paper's formula. :meth:`penalty` is the explicit converter:
    ``Sparseout(p, q, grad).penalty() == penalties.Sparseout(q=q, drop=p, grad=grad)``.

    Acts elementwise (``target="input"`` accepts activations of any shape, e.g. conv maps).

    Parameters
    ----------
    p : float in [0, 1)
        Drop probability of the underlying Bernoulli mask (``drop`` of the penalty object).
    q : float > 0
        The power.
    grad : {"stop", "autograd"}
        Gradient convention (see above).
    eps : float > 0
        Floor on |z| in the backward factor :math:`|z|^{(q-2)/2}` (q < 2).
    """

    elementwise_input = True  # the noise of an element depends only on that element

    def __init__(
        self,
        p: float = 0.5,
        q: float = 1.0,
        grad: str = "stop",
        target: str = "weight",
        eps: float = 1e-8,
    ):
        super().__init__(target)
        self.p = check_rate(p, "p")
        self.q = check_scalar(q, "q", 0.0, np.inf, low_inclusive=False)
        self.grad = check_choice(grad, "grad", ("stop", "autograd"))
        self.eps = check_scalar(eps, "eps", 0.0, np.inf, low_inclusive=False)

    @classmethod
    def contract_examples(cls):
        return cls(0.3, q=1.0), cls(0.3, q=1.5, grad="autograd", target="input")

    def extra_repr(self) -> str:
        return f"p={self.p}, q={self.q}, grad={self.grad!r}, target={self.target!r}"

    @property
    def variance(self) -> float:
        """v = p/(1 − p)."""
        return self.p / (1.0 - self.p)

    def _noisy(self, z, weight):
        if self.p == 0.0:
            return z
        keep = 1.0 - self.p
        xi = (self._rand(z.shape, z) < keep).to(z.dtype) / keep - 1.0
        kappa = 1.0 if self.grad == "stop" else self.q / 2.0
        return _SparseoutNoise.apply(z, xi, self.q, kappa, self.eps)

    def penalty(self) -> Penalty:
        """The converter to the penalty object: ``penalties.Sparseout(q=q, drop=p, grad=grad)``
        (this layer's ``p`` is the penalty's ``drop``; Ω at λ = c = 1)."""
        return penalties.Sparseout(q=self.q, drop=self.p, grad=self.grad)
