r"""Dropout layers as ``nn.Module``\ s, each with the penalty it implements (MATH.md §2, §4, §5).

Every layer follows :class:`torch.nn.Dropout` semantics: ``p`` is a *drop* probability,
inverted scaling in training (the mask has mean one: :math:`s = b/\alpha`), the identity in
``eval()``. Each layer acts either on **weights** (``target="weight"``: one mask per weight and
step, DropConnect style; ``forward(w)``) or on **inputs / activations** (``target="input"``:
one mask per sample and unit; ``forward(x, weight=w)``, the weight being needed only by rules
whose rates depend on it). For a gaussian linear model both give the same expected loss

.. math::

    E_s L(s \odot w) = L(w) + \tfrac12 \sum_j v_j c_j w_j^2, \qquad
    c_j = \tfrac1n\|X_{:,j}\|^2, \quad v_j = \operatorname{Var} s_j,

so each layer's :meth:`~DropoutLayer.penalty` is the penalty object Ω of
:mod:`dualreg.penalties` with the normalisation of MATH.md §4 (λ = c = 1 for the rules that
define a penalty: the training objective is :math:`L(w) + \sum_j c_j \Omega(w_j)`;
:class:`AdaptiveDropout` implements :math:`L(w) + \lambda\sum_j\Omega(w_j)` at the scales c it
is given by :meth:`~DropoutLayer.set_column_scale`).

All randomness comes from ``layer.generator`` (a :class:`torch.Generator`, or ``None`` for
torch's global generator): the Monte-Carlo trainer binds its seeded generator there. All
layers broadcast over leading dimensions, so K replicas are trained as one batched program:
weights of shape ``(K, d)``, inputs ``(K, B, d)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dualreg._numerics import bisect_increasing
from dualreg._validation import check_rate, check_scalar
from dualreg.penalties import Log2Sum, LogSum, Penalty, Power
from dualreg.penalties.base import SUBQUADRATIC

__all__ = [
    "AdaptiveDropout",
    "BernoulliDropout",
    "DropoutLayer",
    "FlooredPenalty",
    "GaussianDropout",
    "Sparseout",
    "TargetedDropout",
    "VariationalDropout",
    "YDrop",
    "conductance",
    "hoyer",
    "torch_eta_hat",
]

TARGETS = ("weight", "input")


# --------------------------------------------------------------------------- helpers
def _check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def _check_tensor(z: Any, name: str) -> Tensor:
    if not isinstance(z, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(z).__name__}")
    if not z.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {z.dtype}")
    return z


def _rates_like(rates: Tensor, z: Tensor) -> Tensor:
    """Broadcast per-unit rates of shape (..., d) against per-sample values (..., B, d)."""
    if rates.dim() == z.dim() - 1:
        return rates.unsqueeze(-2)
    return rates


def _matvec(x: Tensor, w: Tensor) -> Tensor:
    r"""Batched :math:`\theta = x w`: ``x`` (B, d) or (..., B, d), ``w`` (..., d) → (..., B)."""
    if x.dim() == 2 and w.dim() == 2:
        return w @ x.T
    if x.dim() == 2 and w.dim() == 1:
        return x @ w
    return torch.matmul(x, w.unsqueeze(-1)).squeeze(-1)


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


def torch_eta_hat(penalty: Penalty, t: Tensor) -> Tensor | None:
    r"""Torch-native :math:`\hat\eta(t)` for the classical closed forms, else ``None``.

    Power family (ridge, ℓ1, ℓp, Sparseout): :math:`t^{2-q}/m`; LogSum: :math:`t(t+\varepsilon)`;
    Log²Sum: :math:`(t^2+\varepsilon)/2`. Validated against ``penalty.eta_hat`` in the tests;
    any other penalty goes through its numpy ``eta_hat``.
    """
    if isinstance(penalty, Power):
        if penalty.q == 2:
            return torch.full_like(t, 1.0 / penalty.weight)
        return t.pow(2.0 - penalty.q) / penalty.weight
    if type(penalty) is LogSum:
        return t * (t + penalty.eps)
    if type(penalty) is Log2Sum:
        return 0.5 * (t * t + penalty.eps)
    return None


# --------------------------------------------------------------------------- base
class DropoutLayer(nn.Module, ABC):
    r"""Base class: mask sampling, the weight/input targets, and the trainer's hooks.

    Parameters
    ----------
    target : {"weight", "input"}
        Where the noise acts: on the weights (one mask per weight and step) or on the inputs /
        activations (one mask per sample and unit).

    Notes
    -----
    Hooks used by :func:`dualreg.torch.train.monte_carlo`: :meth:`noisy_linear` (the noisy
    natural parameter :math:`\theta = x\cdot(s\odot w)`), :meth:`regularizer` (an extra loss
    term per replica, e.g. the KL of variational dropout), :meth:`build` (per-replica learned
    state), :meth:`set_column_scale` and :meth:`reset_state`.
    """

    needs_column_scale = False

    def __init__(self, target: str = "weight"):
        super().__init__()
        self.target = _check_choice(target, "target", TARGETS)
        self.generator: torch.Generator | None = None
        self.column_scale: Tensor | None = None
        # Reuse per-step scratch buffers (set by the trainer, which runs exactly one backward
        # per forward; a second forward before backward would then fail autograd's in-place
        # check instead of silently corrupting a saved tensor).
        self.reuse_buffers = False
        self._scratch: dict[str, Tensor] = {}

    # -- randomness
    # Uniforms and normals are drawn in float32 (about twice as fast as float64 on CPU, the
    # dominant cost of per-sample masks) and cast; a uniform on the 2^-24 grid moves
    # P(u < α) by at most 6e-8, far below any Monte-Carlo error.
    def _rand(self, shape: torch.Size, like: Tensor) -> Tensor:
        u = torch.rand(shape, generator=self.generator, device=like.device, dtype=torch.float32)
        return u.to(like.dtype)

    def _randn(self, shape: torch.Size, like: Tensor) -> Tensor:
        z = torch.randn(shape, generator=self.generator, device=like.device, dtype=torch.float32)
        return z.to(like.dtype)

    def _bernoulli_mask(self, keep: Tensor, like: Tensor) -> Tensor:
        r"""Inverted Bernoulli mask :math:`b/\alpha`, b ~ Bern(α), shaped like ``like``."""
        keep = _rates_like(keep, like)
        shape = torch.broadcast_shapes(keep.shape, like.shape)
        b = (self._rand(shape, like) < keep).to(like.dtype)
        return b / keep

    # -- trainer hooks
    def set_column_scale(self, c: Tensor | None) -> None:
        r"""Column scales :math:`c_j` (MATH.md §1) used by rules that depend on λ and c."""
        self.column_scale = c

    def reset_state(self) -> None:
        """Forget any per-run state (step counters, thresholds)."""

    def build(self, shape: tuple[int, ...], device: Any = None, dtype: Any = None) -> None:
        """Create per-replica learned state for weights of ``shape`` (default: none)."""

    def replica_parameters(self) -> dict[str, Tensor]:
        """Learned tensors the trainer must update alongside the weights (default: none)."""
        return {}

    def regularizer(self, w: Tensor) -> Tensor:
        """An extra loss term per replica, shape ``w.shape[:-1]`` (default: zero)."""
        return w.new_zeros(w.shape[:-1])

    def noisy_linear(self, x: Tensor, w: Tensor) -> Tensor:
        r"""The natural parameter :math:`\theta = x\cdot(s \odot w)` under this layer's noise.

        ``x`` is (B, d) shared by the replicas or (K, B, d); ``w`` is (K, d) or (d,); the
        result is (K, B) (or (B,)). In ``eval()`` mode no noise is applied.
        """
        if not self.training:
            return _matvec(x, w)
        if self.target == "weight":
            return _matvec(x, self(w))
        keep = self._input_keep(x, w)
        if keep is not None:
            return self._bernoulli_linear(x, w, keep)
        if x.dim() == w.dim():  # shared data: one mask per replica, sample and unit
            x = x.expand(*w.shape[:-1], *x.shape)
        return _matvec(self(x, weight=w), w)

    def _input_keep(self, x: Tensor, w: Tensor) -> Tensor | None:
        """Per-unit keep probabilities (shape of w) when the input noise is an inverted
        Bernoulli mask — enables the fused path of :meth:`noisy_linear` — else ``None``."""
        return None

    def _bernoulli_linear(self, x: Tensor, w: Tensor, keep: Tensor) -> Tensor:
        r""":math:`\theta = (x \odot b/\alpha)\cdot w = (x\odot b)\cdot(w/\alpha)`, b ~ Bern(α)
        per sample and unit: the same numbers as masking x, with fewer passes over the
        (K, B, d) tensor (uniforms compared in float32, the mask never converted)."""
        shape = torch.Size((*w.shape[:-1], *x.shape[-2:]) if x.dim() == w.dim() else x.shape)
        keep32 = keep.to(torch.float32).unsqueeze(-2)
        if not self.reuse_buffers:
            u = torch.rand(shape, generator=self.generator, device=x.device, dtype=torch.float32)
            return _matvec(x * (u < keep32), w / keep)
        # Large per-step temporaries written into cached buffers: a fresh multi-megabyte
        # allocation per step costs page faults that exceed the arithmetic on CPU.
        u = self._buffer("u", shape, torch.float32, x.device)
        kept = self._buffer("kept", shape, torch.bool, x.device)
        xm = self._buffer("xm", shape, x.dtype, x.device)
        torch.rand(shape, generator=self.generator, out=u)
        torch.lt(u, keep32, out=kept)
        torch.mul(x, kept, out=xm)
        return _matvec(xm, w / keep)

    def _buffer(self, name: str, shape: torch.Size, dtype: torch.dtype, device) -> Tensor:
        buf = self._scratch.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype or buf.device != device:
            buf = torch.empty(shape, dtype=dtype, device=device)
            self._scratch[name] = buf
        return buf

    # -- the layer itself
    def forward(self, z: Tensor, weight: Tensor | None = None) -> Tensor:
        """``z`` with this layer's noise in training mode; ``z`` unchanged in eval mode."""
        _check_tensor(z, "z")
        if not self.training:
            return z
        return self._noisy(z, weight)

    @abstractmethod
    def _noisy(self, z: Tensor, weight: Tensor | None) -> Tensor:
        """The noisy version of ``z`` in training mode (``weight``: the layer's weights)."""

    def _weight_for_rates(self, z: Tensor, weight: Tensor | None) -> Tensor:
        if self.target == "weight":
            return z
        if weight is None:
            raise ValueError(
                f"{type(self).__name__}(target='input') computes its rates from the weights: "
                "call it as layer(x, weight=w)"
            )
        return weight

    @abstractmethod
    def penalty(self) -> Penalty:
        """The effective penalty object Ω (MATH.md §4 normalisation)."""


# --------------------------------------------------------------------------- fixed rates
class BernoulliDropout(DropoutLayer):
    r"""Inverted Bernoulli dropout with drop probability ``p``: :math:`s = b/(1-p)`.

    Mask variance :math:`v = p/(1-p)`; effective penalty :math:`\tfrac12 v\sum_j c_j w_j^2`,
    i.e. ``penalty()`` = ``Power(2, weight=v)`` (Ω = v w²/2 at c = 1).
    """

    def __init__(self, p: float = 0.5, target: str = "weight"):
        super().__init__(target)
        self.p = check_rate(p, "p")

    def extra_repr(self) -> str:
        return f"p={self.p}, target={self.target!r}"

    @property
    def variance(self) -> float:
        """v = p/(1 − p)."""
        return self.p / (1.0 - self.p)

    def _noisy(self, z, weight):
        if self.p == 0.0:
            return z
        keep = 1.0 - self.p
        b = (self._rand(z.shape, z) < keep).to(z.dtype)
        return z * b / keep

    def _input_keep(self, x, w):
        return torch.full_like(w, 1.0 - self.p)

    def penalty(self) -> Penalty:
        if self.p == 0.0:
            raise ValueError("p = 0: this layer applies no noise and has no penalty")
        return Power(2.0, weight=self.variance)


class GaussianDropout(DropoutLayer):
    r"""Multiplicative Gaussian noise :math:`s \sim N(1, \sigma^2)`.

    Effective penalty :math:`\tfrac12\sigma^2\sum_j c_j w_j^2`: ``Power(2, weight=sigma2)``.
    ``GaussianDropout(p/(1-p))`` matches the second moments of ``BernoulliDropout(p)``.
    """

    def __init__(self, sigma2: float = 1.0, target: str = "weight"):
        super().__init__(target)
        self.sigma2 = check_scalar(sigma2, "sigma2", 0.0, np.inf)

    def extra_repr(self) -> str:
        return f"sigma2={self.sigma2}, target={self.target!r}"

    def _noisy(self, z, weight):
        if self.sigma2 == 0.0:
            return z
        return z * (1.0 + self.sigma2**0.5 * self._randn(z.shape, z))

    def penalty(self) -> Penalty:
        if self.sigma2 == 0.0:
            raise ValueError("sigma2 = 0: this layer applies no noise and has no penalty")
        return Power(2.0, weight=self.sigma2)


# --------------------------------------------------------------------------- Sparseout
class _SparseoutNoise(torch.autograd.Function):
    r"""Forward :math:`\tilde z = z + \operatorname{sgn}(z)|z|^{q/2}\xi`; backward
    :math:`\partial\tilde z/\partial z = 1 + \kappa\,\xi\,\max(|z|, \epsilon)^{(q-2)/2}`.

    κ = 1 is the stop-gradient convention (the noise factor :math:`|z|^{(q-2)/2}\xi` of
    :math:`\tilde z = z(1 + |z|^{(q-2)/2}\xi)` is a constant); κ = q/2 is the true derivative
    (autograd). The floor ε guards the blow-up of :math:`|z|^{(q-2)/2}` at 0 when q < 2.
    """

    @staticmethod
    def forward(ctx, z, xi, q, kappa, eps):
        ctx.save_for_backward(z, xi)
        ctx.q, ctx.kappa, ctx.eps = q, kappa, eps
        return z + torch.sign(z) * z.abs().pow(q / 2.0) * xi

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

    :math:`\operatorname{Var}\tilde z = v|z|^q`, v = p/(1−p); q = 2 is inverted dropout. On the
    weights of a gaussian linear model :math:`E L = L(w) + \tfrac v2\sum_j c_j|w_j|^q` exactly,
    and SGD converges to a stationary point of

    - ``grad="stop"``: :math:`L + \tfrac vq\sum_j c_j|w_j|^q` (adaptive dropout with odds
      :math:`v t^{q-2}`, the reference implementation);
    - ``grad="autograd"``: :math:`L + \tfrac v2\sum_j c_j|w_j|^q`.

    Parameters
    ----------
    p : float in [0, 1)
        Drop probability of the underlying Bernoulli mask.
    q : float > 0
        The power.
    grad : {"stop", "autograd"}
        Gradient convention (see above).
    eps : float > 0
        Floor on |z| in the backward factor :math:`|z|^{(q-2)/2}` (q < 2).
    """

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
        self.grad = _check_choice(grad, "grad", ("stop", "autograd"))
        self.eps = check_scalar(eps, "eps", 0.0, np.inf, low_inclusive=False)

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
        from dualreg.penalties import Sparseout as SparseoutPenalty

        return SparseoutPenalty(self.q, self.p, grad=self.grad)


# --------------------------------------------------------------------------- adaptive
class FlooredPenalty(Penalty):
    r"""The penalty of an η-trick rule with a floor:
    :math:`\Omega_{floor}(w) = \int_0^{|w|} t/\max(\hat\eta(t), \eta_{min})\,dt`.

    With :math:`t^*` the point where the (nondecreasing) η̂ of ``base`` reaches
    :math:`\eta_{min}`: :math:`\Omega_{floor} = t^2/(2\eta_{min})` below :math:`t^*` and
    :math:`\Omega(t) - \tfrac12 f(\eta_{min})` above (so :math:`\Omega_{floor}(0) = 0`);
    :math:`\hat\eta_{floor} = \max(\hat\eta, \eta_{min})`; dual
    :math:`f_{floor}(\eta) = f(\eta) - f(\eta_{min})` on :math:`\eta \ge \eta_{min}`, +inf
    below. It is the problem that :class:`AdaptiveDropout` with ``keep_floor`` α_min solves,
    :math:`\eta_{min} = \lambda\alpha_{min}/(c(1-\alpha_{min}))`, and the one to hand to IRLS
    (whose own ``eta_floor`` is a different thing: a zeroing threshold). Subquadratic, no kink
    at 0 (no exact zeros).
    """

    curvature_class = SUBQUADRATIC
    kink_at_zero = False

    def __init__(self, base: Penalty, eta_min: float):
        if not isinstance(base, Penalty) or not base.has_eta_form:
            raise ValueError("base must be a dualreg Penalty with an η-form")
        self.base = base
        self.eta_min = check_scalar(eta_min, "eta_min", 0.0, np.inf, low_inclusive=False)
        self.is_convex = bool(base.is_convex)
        hi = 1.0
        while float(base.eta_hat(np.array([hi]))[0]) < self.eta_min:
            hi *= 2.0
            if hi > 1e300:
                raise ValueError("eta_hat of base never reaches eta_min")
        if float(base.eta_hat(np.zeros(1))[0]) >= self.eta_min:
            self.t_star = 0.0
        else:
            self.t_star = float(
                bisect_increasing(base.eta_hat, np.array(self.eta_min), np.array(0.0),
                                  np.array(hi), iterations=200)
            )
        self._omega_star = float(base.value(np.array([self.t_star]))[0])

    @property
    def params(self) -> dict[str, Any]:
        return {"base": self.base, "eta_min": self.eta_min}

    def _eta_hat(self, t):
        return np.maximum(self.base._eta_hat(t), self.eta_min)

    def _slope(self, t):
        e = self._eta_hat(t)
        with np.errstate(invalid="ignore"):
            return np.where(np.isinf(e), 0.0, t / e)

    def _omega(self, t):
        ts, em = self.t_star, self.eta_min
        below = 0.5 * np.minimum(t, ts) ** 2 / em
        above = np.where(t > ts, self.base._omega(np.maximum(t, ts)) - self._omega_star, 0.0)
        return below + above

    def _dual(self, eta):
        f_min = float(self.base.dual(np.array([self.eta_min]))[0])
        with np.errstate(invalid="ignore"):
            out = self.base.dual(np.maximum(eta, self.eta_min)) - f_min
        return np.where(eta >= self.eta_min, out, np.inf)


class AdaptiveDropout(DropoutLayer):
    r"""Adaptive dropout implementing :math:`\lambda\Omega` by the duality of MATH.md §4.

    Rates are recomputed from the current weights under ``no_grad`` (never differentiated):

    .. math::

        \alpha_j = \max\Big(\frac{c_j\hat\eta(w_j)}{c_j\hat\eta(w_j) + \lambda},
        \alpha_{min}\Big)
        \quad\text{(Bernoulli)}, \qquad
        \sigma_j^2 = \min\Big(\frac{\lambda}{c_j\hat\eta(w_j)},
        \frac{1-\alpha_{min}}{\alpha_{min}}\Big) \quad\text{(Gaussian)},

    with η̂, α and σ² taken from the penalty object (``keep_prob`` / ``noise_variance``; a
    torch-native η̂ for the classical closed forms, see :func:`torch_eta_hat`). The floor
    :math:`\alpha_{min}` is the η floor :math:`\eta_{min} = \lambda\alpha_{min}/(c(1-\alpha_{min}))`
    of IRLS (:meth:`eta_floor`): both solve :math:`\min L(w) + \lambda\sum_j\Omega_{floor}(w_j)`,
    :math:`\Omega_{floor}(w) = \int_0^{|w|} t/\max(\hat\eta(t), \eta_{min})\,dt`.

    Parameters
    ----------
    penalty : Penalty
        A penalty with an η-form (subquadratic or quadratic).
    lam : float > 0
        Regularisation strength λ (mean-loss scaling, MATH.md §1).
    mask : {"bernoulli", "gaussian"}
    keep_floor : float in (0, 1)
        :math:`\alpha_{min}`; also caps the Gaussian variance at
        :math:`(1-\alpha_{min})/\alpha_{min}`.
    fast : bool
        Use the torch-native η̂ when one exists (same numbers, no host round trip).
    """

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
        self.mask = _check_choice(mask, "mask", ("bernoulli", "gaussian"))
        self.keep_floor = check_scalar(keep_floor, "keep_floor", 0.0, 1.0, False, False)
        self.fast = bool(fast)

    def extra_repr(self) -> str:
        return (
            f"penalty={self._penalty!r}, lam={self.lam}, mask={self.mask!r}, "
            f"keep_floor={self.keep_floor}, target={self.target!r}"
        )

    def penalty(self) -> Penalty:
        return self._penalty

    def eta_floor(self, c: Any = 1.0) -> np.ndarray:
        r"""The IRLS η floor :math:`\lambda\alpha_{min}/(c(1-\alpha_{min}))` equivalent to the
        keep floor (``dualreg.duality.keep_prob_to_eta``)."""
        from dualreg.duality import keep_prob_to_eta

        return keep_prob_to_eta(self.keep_floor, self.lam, c)

    def effective_penalty(self, c: float = 1.0) -> FlooredPenalty:
        r"""The penalty this layer implements (as λ·Ω) at a scalar column scale c: the floored
        penalty with :math:`\eta_{min}` = :meth:`eta_floor` (c), for IRLS."""
        c = check_scalar(c, "c", 0.0, np.inf, low_inclusive=False)
        return FlooredPenalty(self._penalty, float(self.eta_floor(c)))

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
        eta = torch_eta_hat(self._penalty, w.abs()) if self.fast else None
        if eta is None:
            w_np = w.cpu().numpy()
            c_np = c.cpu().numpy()
            if self.mask == "bernoulli":
                out = self._penalty.keep_prob(w_np, self.lam, c_np)
            else:
                with np.errstate(divide="ignore"):
                    out = self._penalty.noise_variance(w_np, self.lam, c_np)
            out = torch.as_tensor(np.asarray(out), dtype=w.dtype, device=w.device)
        else:
            ce = c * eta
            if self.mask == "bernoulli":
                out = torch.where(torch.isinf(ce), torch.ones_like(ce), ce / (ce + self.lam))
            else:
                out = self.lam / ce
        if self.mask == "bernoulli":
            return out.clamp(min=self.keep_floor, max=1.0)
        return out.clamp(min=0.0, max=(1.0 - self.keep_floor) / self.keep_floor)

    def _input_keep(self, x, w):
        return self.rates(w) if self.mask == "bernoulli" else None

    def _noisy(self, z, weight):
        rates = self.rates(self._weight_for_rates(z, weight))
        if self.mask == "bernoulli":
            return z * self._bernoulli_mask(rates, z)
        sd = _rates_like(rates, z).sqrt()
        shape = torch.broadcast_shapes(sd.shape, z.shape)
        return z * (1.0 + sd * self._randn(shape, z))


# --------------------------------------------------------------------------- targeted
class TargetedDropout(DropoutLayer):
    r"""Targeted dropout (Gomez et al. 2019): the bottom-γ fraction by magnitude is dropped
    with probability ``rate``, never rescaled.

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
        self.mode = _check_choice(mode, "mode", ("weight", "unit"))
        if self.mode == "weight" and self.target == "input":
            raise ValueError("mode='weight' targets individual weights: use target='weight'")
        if ramp is not None:
            ramp = int(check_scalar(ramp, "ramp", 1.0, np.inf))
        self.ramp = ramp
        self.calls = 0
        self.threshold: float | None = None

    def extra_repr(self) -> str:
        return (
            f"rate={self.rate}, targ={self.targ}, mode={self.mode!r}, ramp={self.ramp}, "
            f"target={self.target!r}"
        )

    def reset_state(self) -> None:
        self.calls = 0
        self.threshold = None

    def current_rate(self) -> float:
        """The drop rate at this call (after the ramp: ``rate``)."""
        if self.ramp is None:
            return self.rate
        return self.rate * min(1.0, self.calls / self.ramp)

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
        score = self._score(z, weight)
        targeted = self.targeted_set(score, self.targ)
        if targeted.any():
            self.threshold = float(score[targeted].max())
        if a == 0.0:
            return z
        if self.target == "weight" and self.mode == "unit":
            targeted = targeted.unsqueeze(-1)
        targeted = _rates_like(targeted, z) if self.target == "input" else targeted
        shape = torch.broadcast_shapes(targeted.shape, z.shape)
        dropped = targeted & (self._rand(shape, z) < a)
        return z * (~dropped).to(z.dtype)

    def penalty(self) -> Penalty:
        """The truncated quadratic in the effective weights u, with the last threshold seen."""
        from dualreg.penalties import TargetedDropout as TDPenalty

        if self.threshold is None or self.threshold <= 0:
            raise ValueError("the threshold is set by a training call: run the layer first")
        return TDPenalty.from_weight_threshold(self.rate, self.threshold)


# --------------------------------------------------------------------------- Y-Drop
def conductance(
    features: Any, head: Any, x: Tensor, baseline: Tensor | None = None, steps: int = 16
) -> Tensor:
    r"""Conductance of each hidden unit (Dhamdhere et al. 2018), per sample.

    With :math:`h = \phi(x)` (``features``), :math:`F = \text{head}(h)` (one output per sample)
    and the path :math:`x_a = x' + a(x - x')`,

    .. math::

        \mathrm{Cond}_j(x) = \int_0^1 \frac{\partial F}{\partial h_j}(\phi(x_a))\,
        \frac{d h_j(x_a)}{da}\,da
        \approx \sum_{k} \tfrac12\big[F'_j(a_k) + F'_j(a_{k+1})\big]
        \big[h_j(x_{a_{k+1}}) - h_j(x_{a_k})\big]

    (Riemann–trapezoid on ``steps`` equal intervals). For a linear head :math:`F'_j = w_j` is
    constant, the sum telescopes, and the result is exactly :math:`w_j(h_j(x) - h_j(x'))`
    whatever ``steps``.
    """
    steps = int(check_scalar(steps, "steps", 1.0, np.inf))
    x = x.detach()
    base = torch.zeros_like(x) if baseline is None else baseline.detach().expand_as(x)
    grid = torch.linspace(0.0, 1.0, steps + 1, dtype=x.dtype, device=x.device)
    hs, gs = [], []
    for a in grid:
        with torch.enable_grad():
            h = features(base + a * (x - base)).detach().requires_grad_(True)
            out = head(h)
            (g,) = torch.autograd.grad(out.sum(), h)
        hs.append(h.detach())
        gs.append(g.detach())
    total = torch.zeros_like(hs[0])
    for k in range(steps):
        total = total + 0.5 * (gs[k] + gs[k + 1]) * (hs[k + 1] - hs[k])
    return total


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
    computed elsewhere (e.g. :func:`conductance` for a nonlinear head).
    """

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
        self.mapping = _check_choice(mapping, "mapping", ("bucket", "continuous"))
        self.mirrored = bool(mirrored)
        self.warmup = int(check_scalar(warmup, "warmup", 0.0, np.inf))
        self.baseline = baseline
        self.calls = 0
        self.tau: float | None = None

    def extra_repr(self) -> str:
        return (
            f"p_low={self.p_low}, p_high={self.p_high}, mapping={self.mapping!r}, "
            f"mirrored={self.mirrored}, warmup={self.warmup}"
        )

    def reset_state(self) -> None:
        self.calls = 0
        self.tau = None

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
        """Per-unit drop probabilities from importances (..., d)."""
        tau = importance.median(dim=-1, keepdim=True).values
        self.tau = float(tau.mean())
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

    def _keep(self, z, weight, conductance_: Tensor | None = None) -> Tensor:
        w = self._weight_for_rates(z, weight)
        imp = self.importance(z, w) if conductance_ is None else conductance_.abs()
        if self.calls < self.warmup:
            drop = torch.full_like(imp, self.mean_rate)
        else:
            drop = self.drop_rates(imp)
        self.calls += 1
        return 1.0 - drop

    def _input_keep(self, x, w):
        return self._keep(x, w)

    def _noisy(self, z, weight, conductance_: Tensor | None = None):
        return z * self._bernoulli_mask(self._keep(z, weight, conductance_), z)

    def forward(self, z, weight=None, conductance: Tensor | None = None):
        _check_tensor(z, "z")
        if not self.training:
            return z
        return self._noisy(z, weight, conductance)

    def penalty(self) -> Penalty:
        """``penalties.YDrop`` frozen at the last median importance τ (in units of |w|·mean|h|)."""
        from dualreg.penalties import YDrop as YDropPenalty

        if self.tau is None or self.tau <= 0:
            raise ValueError("the threshold is set by a training call: run the layer first")
        return YDropPenalty(self.p_low, self.p_high, self.tau, self.mapping, self.mirrored)


# --------------------------------------------------------------------------- variational
_K1, _K2, _K3 = 0.63576, 1.87320, 1.48695


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
        self.kl = _check_choice(kl, "kl", ("exact", "molchanov"))
        self.local_reparam = bool(local_reparam)
        self.log_sigma2_max = check_scalar(log_sigma2_max, "log_sigma2_max")
        self.log_sigma2: nn.Parameter | None = None
        self._vd = None
        if shape is not None:
            self.build(tuple(shape))

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
    def vardrop(self):
        if self._vd is None:
            from dualreg.penalties import VarDrop

            self._vd = VarDrop()
        return self._vd

    def kl_divergence(self) -> Tensor:
        """KL per weight (normalised to 0 at σ² = ∞), shape of ``log_sigma2``."""
        ls = self._log_sigma2()
        if self.kl == "molchanov":
            return _K1 * (1.0 - torch.sigmoid(_K2 + _K3 * ls)) + 0.5 * torch.nn.functional.softplus(
                -ls
            )
        return 0.5 * _VarDropDual.apply(torch.exp(-ls), self.vardrop)

    def regularizer(self, w: Tensor) -> Tensor:
        return self.lam * self.kl_divergence().sum(-1)

    def _noisy(self, z, weight):
        sd = torch.exp(0.5 * self._log_sigma2())
        return z * (1.0 + sd * self._randn(z.shape, z))

    def noisy_linear(self, x: Tensor, w: Tensor) -> Tensor:
        if not (self.training and self.local_reparam):
            return super().noisy_linear(x, w)
        mean = _matvec(x, w)
        var = _matvec(x * x, torch.exp(self._log_sigma2()) * w * w)
        sd = var.clamp_min(torch.finfo(var.dtype).tiny).sqrt()
        return mean + sd * self._randn(mean.shape, mean)

    def penalty(self) -> Penalty:
        from dualreg.penalties import VarDrop, VarDropApprox

        return VarDrop() if self.kl == "exact" else VarDropApprox()
