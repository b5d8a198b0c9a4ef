r"""The dropout-layer base class: ``nn.Dropout`` semantics, the two targets, and the trainer
protocol (docs/conventions.md §2, §4).

Every layer follows :class:`torch.nn.Dropout`: ``p`` is a *drop* probability, inverted scaling
in training (the mask has mean one: :math:`s = b/\alpha`), the identity in ``eval()``, and any
state it carries between calls (step counters, thresholds, learned variances) lives in buffers
or parameters, so ``state_dict`` saves it and ``.to()`` moves it. Each layer acts either on
**weights** (``target="weight"``: one mask per weight and step; ``forward(w)``) or on
**inputs / activations** (``target="input"``: one mask per sample and unit;
``forward(x, weight=w)``, the weight being needed only by rules whose rates depend on it).
For a gaussian linear model both give the same expected loss

.. math::

    E_s L(s \odot w) = L(w) + \tfrac12 \sum_j v_j c_j w_j^2, \qquad
    c_j = \tfrac1n\|X_{:,j}\|^2, \quad v_j = \operatorname{Var} s_j,

so each layer's :meth:`~DropoutLayer.penalty` is a penalty object Ω of
:mod:`dualreg.penalties` (λ = c = 1 for the rules that define a penalty).

All randomness comes from ``layer.generator`` (a :class:`torch.Generator`, or ``None`` for
torch's global generator). All layers broadcast over leading dimensions, so K replicas are
trained as one batched program: weights ``(K, d)``, inputs ``(K, B, d)``.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from dualreg._validation import check_choice as _check_choice
from dualreg.penalties import Penalty

__all__ = ["TARGETS", "DropoutLayer", "MaskKind", "reader_weight", "registered_layers",
           "unit_magnitudes"]

TARGETS = ("weight", "input")


class MaskKind(StrEnum):
    """How a layer's noise relates to its drop probabilities (the contract it declares).

    ``INVERTED``: zeros with probability p, survivors scaled by 1/(1 − p), so E[out] = z;
    ``UNSCALED``: zeros with probability p, survivors unchanged, so E[out] = (1 − p) z;
    ``GAUSSIAN``: multiplicative mean-one noise, nothing zeroed, so E[out] = z.
    """

    INVERTED = "inverted"
    UNSCALED = "unscaled"
    GAUSSIAN = "gaussian"


# --------------------------------------------------------------------------- helpers
def check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else a ``ValueError`` naming ``name``
    (:func:`dualreg._validation.check_choice`, kept here for the layers' imports)."""
    return _check_choice(value, name, allowed)


def check_tensor(z: Any, name: str) -> Tensor:
    """``z`` if it is a floating-point tensor, else a ``ValueError`` naming ``name``."""
    if not isinstance(z, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(z).__name__}")
    if not z.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {z.dtype}")
    return z


def rates_like(rates: Tensor, z: Tensor) -> Tensor:
    """Broadcast per-unit rates of shape (..., d) against per-sample values (..., B, d)."""
    if rates.dim() == z.dim() - 1:
        return rates.unsqueeze(-2)
    return rates


def matvec(x: Tensor, w: Tensor) -> Tensor:
    r"""Batched :math:`\theta = x w`: ``x`` (B, d) or (..., B, d), ``w`` (..., d) → (..., B)."""
    if x.dim() == 2 and w.dim() == 2:
        return w @ x.T
    if x.dim() == 2 and w.dim() == 1:
        return x @ w
    return torch.matmul(x, w.unsqueeze(-1)).squeeze(-1)


def unit_magnitudes(weight: Tensor, z: Tensor, name: str = "weight") -> Tensor:
    r"""The magnitude of each input unit of ``z`` (..., d) under ``weight``.

    A weight vector per unit, shape ``z.shape[:-2] + (d,)`` or (d,) (a GLM head, one row per
    replica): :math:`|w_j|`; a weight matrix (..., out, d) of the layer that reads ``z`` (the
    next ``nn.Linear``): the column norms :math:`\|W_{:,j}\|_2` (the unit's whole fan-out).
    Any other shape is a ``ValueError`` naming ``name``.
    """
    check_tensor(weight, name)
    d = z.shape[-1]
    if weight.shape[-1] != d:
        raise ValueError(f"{name} must have {d} columns (the units of the input, last axis of "
                         f"shape {tuple(z.shape)}), got shape {tuple(weight.shape)}")
    if weight.dim() == 1 or (weight.dim() == z.dim() - 1 and z.dim() > 2):
        return weight.abs()
    if weight.dim() >= 2:
        return weight.norm(dim=-2)
    raise ValueError(f"{name} must be (d,), (..., d) per replica or (out, d), got shape "
                     f"{tuple(weight.shape)}")


def check_weight_of(weight_of: Any, target: str) -> nn.Module | None:
    """``weight_of`` if it is ``None`` or an ``nn.Module`` with a tensor ``weight`` (and the layer
    acts on activations), else a ``ValueError`` naming ``weight_of``."""
    if weight_of is None:
        return None
    if target != "input":
        raise ValueError("weight_of ranks activation units: it needs target='input'")
    if not isinstance(weight_of, nn.Module) or not isinstance(
            getattr(weight_of, "weight", None), Tensor):
        raise ValueError(f"weight_of must be an nn.Module with a tensor weight, got "
                         f"{type(weight_of).__name__}")
    return weight_of


def reader_weight(module: nn.Module, z: Tensor) -> Tensor:
    """The detached weight of ``module`` (the layer that reads ``z``; under a parametrization,
    the original weight, not a noisy draw), in ``z``'s dtype; it must be an (out, d) matrix
    (an ``nn.Linear`` reading the units), else a ``ValueError`` naming ``weight_of``."""
    from torch.nn.utils import parametrize

    w = (module.parametrizations.weight.original
         if parametrize.is_parametrized(module, "weight") else module.weight)
    w = w.detach().to(z.dtype)
    if w.dim() != 2:
        raise ValueError(f"weight_of must have an (out, d) weight, got shape {tuple(w.shape)}")
    return w


# --------------------------------------------------------------------------- base
class DropoutLayer(nn.Module, ABC):
    r"""Base class: mask sampling, the weight/input targets, and the trainer protocol.

    Parameters
    ----------
    target : {"weight", "input"}
        Where the noise acts: on the weights (one mask per weight and step) or on the inputs /
        activations (one mask per sample and unit).

    Attributes
    ----------
    mask_kind : MaskKind
        The noise's contract: inverted Bernoulli, unscaled Bernoulli or mean-one Gaussian.
    fixed_p : bool
        ``True`` when the attribute ``p`` is the drop probability of every element; ``False``
        when the rates follow from the weights or the layer's state, and
        :meth:`drop_probability` gives them.
    needs_column_scale : bool
        Whether the rates depend on the column scales c (the trainer then calls
        :meth:`set_column_scale` every step).
    noise_source : object or None
        Where the layer's uniforms and normals come from: ``None`` (the default) for
        ``generator``; an object with ``rand(shape, like)`` / ``randn(shape, like)``, e.g. the
        per-replica :class:`dualreg.torch.noise.CounterNoise` that
        :func:`dualreg.torch.replicas.monte_carlo_module` sets on its copy of a model.
    elementwise_input : bool
        ``True`` when the ``target="input"`` noise of an element depends on nothing but that
        element (fixed rates: Bernoulli, Gaussian, Sparseout), so activations of any shape are
        accepted, e.g. conv feature maps (B, C, H, W); ``False`` (the default): the rates are
        per *unit*, units on the last axis (..., d), so on a CNN the layer belongs on the
        flattened features before the linear head.

    Notes
    -----
    **The trainer protocol** (what :func:`dualreg.torch.monte_carlo` calls, in this order):

    1. :meth:`build` ``(shape, device, dtype)`` — create per-replica learned state;
    2. :meth:`replica_parameters` — the learned tensors updated alongside the weights;
    3. :meth:`training_session` ``(generator)`` — a context: binds the run's generator,
       resets the per-run state (:meth:`reset_state`), switches to train mode and lets the
       layer reuse its per-step work buffers; everything is restored on exit;
    4. every step: :meth:`set_column_scale` (if ``needs_column_scale``), then
       :meth:`noisy_linear` ``(x, w)`` (the noisy natural parameter) and :meth:`regularizer`
       ``(w)`` (an extra loss per replica).

    A new layer subclasses this, implements :meth:`_noisy` and :meth:`penalty`, declares
    ``mask_kind`` / ``fixed_p``, and overrides :meth:`drop_probability` when ``p`` is not a
    fixed number; the generic contract test picks it up from :func:`registered_layers`.
    """

    mask_kind: ClassVar[MaskKind] = MaskKind.INVERTED
    fixed_p: ClassVar[bool] = True
    needs_column_scale: ClassVar[bool] = False
    elementwise_input: ClassVar[bool] = False

    def __init__(self, target: str = "weight"):
        super().__init__()
        self.target = check_choice(target, "target", TARGETS)
        self.generator: torch.Generator | None = None
        self.column_scale: Tensor | None = None
        # The module reading this layer's activations (set_weight_of): a tuple, so it is
        # neither registered as a submodule nor saved in state_dict.
        self._weight_of: tuple[nn.Module | None] = (None,)
        # Per-step work buffers, reused only inside a training session (the trainer runs
        # exactly one backward per forward; a second forward before backward would then fail
        # autograd's in-place check instead of silently corrupting a saved tensor).
        self.reuse_buffers = False
        self._scratch: dict[str, Tensor] = {}

    @classmethod
    def contract_examples(cls) -> tuple[DropoutLayer, ...]:
        """Instances the generic contract test checks (default: the default constructor)."""
        return (cls(),)

    def set_weight_of(self, module: nn.Module | None) -> DropoutLayer:
        """Name the module that reads this layer's activations (``target="input"``), e.g. the
        next ``nn.Linear`` of an ``nn.Sequential``, and return the layer.

        Rules whose rates depend on a weight (adaptive, targeted, Y-Drop) then use that
        module's weight when ``forward`` gets no ``weight=`` (the ``weight_of=`` constructor
        argument does the same); it is kept by reference, not registered or saved, and layers
        whose rates ignore the weights ignore it."""
        self._weight_of = (check_weight_of(module, self.target),)
        return self

    @property
    def weight_of(self) -> nn.Module | None:
        """The module whose weight the rates use when ``forward`` gets none (or ``None``)."""
        return self._weight_of[0]

    # -- randomness
    # Uniforms and normals are drawn in float32 (about twice as fast as float64 on CPU, the
    # dominant cost of per-sample masks) and cast; a uniform on the 2^-24 grid moves
    # P(u < α) by at most 6e-8, far below any Monte-Carlo error.
    def _rand(self, shape: torch.Size, like: Tensor) -> Tensor:
        """Uniforms on [0, 1) from ``self.noise_source`` when one is set (e.g. the per-replica
        :class:`dualreg.torch.noise.CounterNoise`), else from ``self.generator``."""
        noise = self.__dict__.get("noise_source")
        if noise is not None:
            return noise.rand(shape, like)
        u = torch.rand(shape, generator=self.generator, device=like.device, dtype=torch.float32)
        return u.to(like.dtype)

    def _randn(self, shape: torch.Size, like: Tensor) -> Tensor:
        """Standard normals, from ``self.noise_source`` when set, else ``self.generator``."""
        noise = self.__dict__.get("noise_source")
        if noise is not None:
            return noise.randn(shape, like)
        z = torch.randn(shape, generator=self.generator, device=like.device, dtype=torch.float32)
        return z.to(like.dtype)

    def _bernoulli_mask(self, keep: Tensor, like: Tensor) -> Tensor:
        r"""Inverted Bernoulli mask :math:`b/\alpha`, b ~ Bern(α), shaped like ``like``."""
        keep = rates_like(keep, like)
        shape = torch.broadcast_shapes(keep.shape, like.shape)
        b = (self._rand(shape, like) < keep).to(like.dtype)
        return b / keep

    # -- the contract
    @torch.no_grad()
    def drop_probability(self, z: Tensor, weight: Tensor | None = None) -> Tensor:
        """Per-element drop probability of the next training call on ``z`` (no state change);
        0 for Gaussian noise. Default: the fixed ``p``."""
        if self.mask_kind is MaskKind.GAUSSIAN:
            return torch.zeros_like(z)
        return torch.full_like(z, float(self.p))

    # -- trainer protocol
    def set_column_scale(self, c: Tensor | None) -> None:
        r"""Column scales :math:`c_j` (docs/conventions.md §1) for rules that depend on λ and c.

        An input of the step, not state (not saved by ``state_dict``)."""
        self.column_scale = c

    def reset_state(self) -> None:
        """Forget any per-run state (step counters, thresholds)."""

    def step(self) -> None:
        """Advance the layer's schedule (warm-up, ramp) by one optimizer step.

        Forward calls never move a schedule: call this after each ``optimizer.step()``, or let
        :func:`dualreg.torch.attach_schedules` do it with an optimizer hook;
        :func:`dualreg.torch.monte_carlo` calls it once per SGD step. Default: no schedule.
        """

    def build(self, shape: tuple[int, ...], device: Any = None, dtype: Any = None) -> None:
        """Create per-replica learned state for weights of ``shape`` (default: none)."""

    def replica_parameters(self) -> dict[str, Tensor]:
        """Learned tensors the trainer must update alongside the weights (default: none)."""
        return {}

    def regularizer(self, w: Tensor) -> Tensor:
        """An extra loss term per replica, shape ``w.shape[:-1]`` (default: zero).

        Layers that override it are collected by :func:`dualreg.torch.regularization`, with the
        weight they act on for a parametrization and with ``w=None`` for an activation layer
        (such a layer's term must not need ``w``)."""
        return w.new_zeros(w.shape[:-1])

    @contextmanager
    def training_session(self, generator: torch.Generator | None) -> Iterator[DropoutLayer]:
        """Bind ``generator``, reset the per-run state, train mode, reuse work buffers; restore
        the generator, the mode and the buffer policy (and free the buffers) on exit."""
        saved = self.generator, self.training, self.reuse_buffers
        self.generator, self.reuse_buffers = generator, True
        self.reset_state()
        self.train()
        try:
            yield self
        finally:
            self.generator, self.reuse_buffers = saved[0], saved[2]
            self._scratch.clear()
            self.train(saved[1])

    def noisy_linear(self, x: Tensor, w: Tensor) -> Tensor:
        r"""The natural parameter :math:`\theta = x\cdot(s \odot w)` under this layer's noise.

        ``x`` is (B, d) shared by the replicas or (K, B, d); ``w`` is (K, d) or (d,); the
        result is (K, B) (or (B,)). In ``eval()`` mode no noise is applied.
        """
        if not self.training:
            return matvec(x, w)
        if self.target == "weight":
            return matvec(x, self(w))
        keep = self._input_keep(x, w)
        if keep is not None:
            return self._bernoulli_linear(x, w, keep)
        if x.dim() == w.dim():  # shared data: one mask per replica, sample and unit
            x = x.expand(*w.shape[:-1], *x.shape)
        return matvec(self(x, weight=w), w)

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
        noise = self.__dict__.get("noise_source")
        if noise is not None:  # a pluggable source (no generator, no cached buffers)
            return matvec(x * (noise.rand(shape, keep32) < keep32), w / keep)
        if not self.reuse_buffers:
            u = torch.rand(shape, generator=self.generator, device=x.device, dtype=torch.float32)
            return matvec(x * (u < keep32), w / keep)
        # Large per-step temporaries written into cached buffers: a fresh multi-megabyte
        # allocation per step costs page faults that exceed the arithmetic on CPU.
        u = self._buffer("u", shape, torch.float32, x.device)
        kept = self._buffer("kept", shape, torch.bool, x.device)
        xm = self._buffer("xm", shape, x.dtype, x.device)
        torch.rand(shape, generator=self.generator, out=u)
        torch.lt(u, keep32, out=kept)
        torch.mul(x, kept, out=xm)
        return matvec(xm, w / keep)

    def _buffer(self, name: str, shape: torch.Size, dtype: torch.dtype, device) -> Tensor:
        buf = self._scratch.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype or buf.device != device:
            buf = torch.empty(shape, dtype=dtype, device=device)
            self._scratch[name] = buf
        return buf

    # -- the layer itself
    def forward(self, z: Tensor, weight: Tensor | None = None) -> Tensor:
        """``z`` with this layer's noise in training mode; ``z`` unchanged in eval mode."""
        check_tensor(z, "z")
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
        """The effective penalty object Ω (docs/conventions.md §4 normalisation)."""


def registered_layers() -> dict[str, type[DropoutLayer]]:
    """Every concrete public layer class defined in :mod:`dualreg.torch.layers`, by name."""
    found: dict[str, type[DropoutLayer]] = {}
    stack = list(DropoutLayer.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        public = not cls.__name__.startswith("_")
        if public and not inspect.isabstract(cls) and cls.__module__.startswith(__package__):
            found[cls.__name__] = cls
    return dict(sorted(found.items()))
