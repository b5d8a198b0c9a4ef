r"""Counter-based noise: uniforms and normals as a pure function of (key, step, draw, element).

A :class:`torch.Generator` is a mutable stream shared by everything that draws from it, so
under :func:`torch.func.vmap` it cannot give each replica the stream a separate run would
see. :class:`CounterNoise` instead hashes its inputs: the b-th 64-bit word of a draw is

.. math::

    h = \mathrm{mix}\big(s + (b + 1)\,\gamma\big), \qquad
    s = \mathrm{fold}\big(\mathrm{fold}(\text{key}, \text{step}), \text{draw}\big), \qquad
    \mathrm{fold}(k, d) = \mathrm{mix}\big(k + \mathrm{mix}((d + 1)\gamma)\big),

with :math:`\gamma` = 0x9E3779B97F4A7C15 and mix the SplitMix64 finaliser (xor-shift-multiply;
the element stream of a draw is SplitMix64 seeded by s). All arithmetic is int64 with
wrap-around, the logical shifts masked, so the key may be a batched per-replica tensor
inside ``vmap``: replica k's noise is bit-identical to a separate run keyed ``key_k``.
Uniforms take the top 24 bits, :math:`u = \lfloor h / 2^{40}\rfloor\,2^{-24}` (float32, the
grid of the layers' own draws); normals are Box–Muller on two 24-bit halves of one word,
:math:`z = \sqrt{-2\ln u_1}\cos(2\pi u_2)`, :math:`u_1 \in (0, 1]` (so :math:`|z| \le 5.77`,
a tail cut at probability 8e-9). Not cryptographic; SplitMix64 passes BigCrush.

Plug it into a :class:`~dualreg.torch.layers.DropoutLayer` by ``layer.noise_source = noise``
(``None``, the default, keeps the generator path).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

__all__ = ["CounterNoise", "batch_indices", "fold_in", "mix64", "replica_keys", "splitmix64"]

_U64 = 1 << 64


def _signed(c: int) -> int:
    """A 64-bit constant as the int64 with the same bits."""
    c %= _U64
    return c - _U64 if c >= 1 << 63 else c


GAMMA = _signed(0x9E3779B97F4A7C15)
_M1 = _signed(0xBF58476D1CE4E5B9)
_M2 = _signed(0x94D049BB133111EB)
_BATCH_DRAW = -1  # the draw index of minibatch indices (model draws count from 0)


def _shr(z: Tensor, s: int) -> Tensor:
    """Logical right shift of int64 bits (torch's ``>>`` is arithmetic)."""
    return (z >> s) & ((1 << (64 - s)) - 1)


def mix64(z: Tensor) -> Tensor:
    r"""SplitMix64 finaliser: :math:`z \oplus (z \gg 30)`, × M1, :math:`\oplus (\gg 27)`,
    × M2, :math:`\oplus (\gg 31)` (int64, wrap-around)."""
    z = (z ^ _shr(z, 30)) * _M1
    z = (z ^ _shr(z, 27)) * _M2
    return z ^ _shr(z, 31)


def splitmix64(state: Tensor, index: Tensor) -> Tensor:
    r"""Word ``index`` of SplitMix64 seeded by ``state``: :math:`\mathrm{mix}(s + (b+1)\gamma)`."""
    return mix64(state + (index + 1) * GAMMA)


def _mix_int(z: int) -> int:
    """:func:`mix64` on a Python int (unsigned 64-bit arithmetic), returned as int64 bits."""
    m = _U64 - 1
    z &= m
    z = ((z ^ (z >> 30)) * (_M1 % _U64)) & m
    z = ((z ^ (z >> 27)) * (_M2 % _U64)) & m
    return _signed(z ^ (z >> 31))


def fold_in(key: Tensor, data: int) -> Tensor:
    r"""A new key from ``key`` and an integer: :math:`\mathrm{mix}(k + \mathrm{mix}((d+1)\gamma))`
    (the inner mix on the host)."""
    return mix64(key + _mix_int((data + 1) * GAMMA))


def replica_keys(seed: Any, replicas: int) -> Tensor:
    r"""Per-replica int64 keys: an int seed gives SplitMix64's first K words,
    :math:`\mathrm{mix}(\text{seed} + (k+1)\gamma)`; a sequence of K ints is used as is."""
    if isinstance(seed, bool):
        raise ValueError(f"seed must be an int or a sequence of {replicas} ints, got {seed!r}")
    if isinstance(seed, int) or (isinstance(seed, Tensor) and seed.dim() == 0):
        s = torch.tensor(_signed(int(seed)), dtype=torch.int64)
        return splitmix64(s, torch.arange(replicas, dtype=torch.int64))
    try:
        values = [int(v) for v in seed]
        if any(isinstance(v, bool) or int(v) != v for v in seed):
            raise TypeError
    except (TypeError, ValueError) as err:
        raise ValueError(f"seed must be an int or a sequence of {replicas} ints, got {seed!r}"
                         ) from err
    if len(values) != replicas:
        raise ValueError(f"seed must have {replicas} entries (one per replica), got "
                         f"{len(values)}")
    return torch.tensor([_signed(v) for v in values], dtype=torch.int64)


def batch_indices(keys: Tensor, step: int, batch: int, n: int) -> Tensor:
    r"""Minibatch rows with replacement, (K, B): :math:`(h \gg 1) \bmod n` of the words of
    ``fold(fold(key, step), -1)`` (per replica; modulo bias ≤ n/2^63)."""
    s = fold_in(fold_in(keys, step), _BATCH_DRAW)
    b = torch.arange(batch, dtype=torch.int64, device=keys.device)
    return torch.remainder(_shr(splitmix64(s.unsqueeze(-1), b), 1), n)


class CounterNoise:
    r"""A noise source for dropout layers: draw number ``draw`` of step ``step`` under
    ``key`` is a pure hash (module docstring), so it can run per replica under ``vmap``.

    Attributes
    ----------
    key : int64 tensor, shape ()
        The replica's key (a batched tensor inside ``vmap``).
    step : int
        The optimizer step; :meth:`begin` sets it and restarts the draw counter.
    draw : int
        The number of draws so far in this step (each :meth:`rand` / :meth:`randn` call
        takes one, so the same program draws the same numbers).
    """

    def __init__(self, key: Any = 0):
        self.key = torch.as_tensor(key, dtype=torch.int64)
        self.step = 0
        self.draw = 0

    def begin(self, key: Tensor, step: int) -> None:
        """Bind ``key`` and ``step`` and restart the draw counter."""
        self.key, self.step, self.draw = key, int(step), 0

    def bits(self, shape: torch.Size, device: Any = None) -> Tensor:
        """One 64-bit word per element (int64) of the next draw."""
        s = fold_in(fold_in(self.key, self.step), self.draw)
        self.draw += 1
        n = math.prod(shape)
        idx = torch.arange(n, dtype=torch.int64, device=device or self.key.device)
        return splitmix64(s.to(idx.device), idx).reshape(shape)

    def rand(self, shape: torch.Size, like: Tensor) -> Tensor:
        r"""Uniforms on [0, 1), the 2^-24 grid: :math:`\lfloor h/2^{40}\rfloor 2^{-24}`."""
        u = _shr(self.bits(shape, like.device), 40).to(torch.float32) * 2.0**-24
        return u.to(like.dtype)

    def randn(self, shape: torch.Size, like: Tensor) -> Tensor:
        r"""Standard normals by Box–Muller: :math:`\sqrt{-2\ln u_1}\cos(2\pi u_2)`,
        :math:`u_1 = (\lfloor h/2^{40}\rfloor + 1)2^{-24}`, :math:`u_2` bits 16–39 of h."""
        h = self.bits(shape, like.device)
        u1 = (_shr(h, 40) + 1).to(torch.float32) * 2.0**-24
        u2 = (_shr(h, 16) & 0xFFFFFF).to(torch.float32) * 2.0**-24
        z = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos((2.0 * math.pi) * u2)
        return z.to(like.dtype)
