"""The nn.Dropout contract, checked on every layer ``dualreg.torch`` exports.

The layers are discovered (``dualreg.torch.LAYERS``: every concrete public DropoutLayer
subclass of ``dualreg.torch.layers``), so a new layer file is checked without touching this
test. Each layer declares how the contract applies to it (``mask_kind``, ``fixed_p``,
``drop_probability``); the checks are:

- ``p`` is the drop probability: on unit inputs the fraction of zeros matches the declared
  rates (``layer.p`` itself when ``fixed_p``) within 5 binomial standard errors;
- inverted scaling: E[output] = input (``UNSCALED`` layers: (1 − p)·input) within 5 SE;
- the identity in ``eval()``;
- state in ``state_dict``: a fresh layer loaded from it gives identical eval and seeded
  training outputs;
- ``.to(torch.float32)`` moves the floating buffers and parameters.
"""

from __future__ import annotations

import pytest
import torch

import dualreg.torch as dt
from dualreg.torch import DropoutLayer, MaskKind

N, D = 25_000, 8  # 200,000 elements: the 5-SE bands are ~1 % of p
Z_SE = 5.0
F64 = torch.float64

EXAMPLES = [
    pytest.param(cls, i, id=f"{name}-{i}")
    for name, cls in dt.LAYERS.items()
    for i in range(len(cls.contract_examples()))
]


def _example(cls, i) -> DropoutLayer:
    return cls.contract_examples()[i]


def _inputs(layer: DropoutLayer, z: torch.Tensor, w: torch.Tensor):
    """Call arguments: weight-target layers act on the weights, input-target ones on x."""
    return (z,) if layer.target == "weight" else (z, w)


def _call(layer, z, w, seed=None):
    if seed is not None:
        layer.generator = torch.Generator().manual_seed(seed)
    out = layer(z) if layer.target == "weight" else layer(z, weight=w)
    return out.detach()


def _data(seed: int, unit: bool):
    g = torch.Generator().manual_seed(seed)
    if unit:
        return torch.ones(N, D, dtype=F64), torch.ones(D, dtype=F64)
    z = 0.5 + torch.rand(N, D, generator=g, dtype=F64)
    w = 0.5 + torch.rand(D, generator=g, dtype=F64)
    return z, w


def test_every_exported_layer_is_discovered():
    classes = {name: getattr(dt, name) for name in dt.__all__}
    exported = {name for name, obj in classes.items()
                if isinstance(obj, type) and issubclass(obj, DropoutLayer)
                and obj is not DropoutLayer}
    assert exported <= set(dt.LAYERS), exported - set(dt.LAYERS)
    assert len(dt.LAYERS) >= 7


@pytest.mark.parametrize(("cls", "i"), EXAMPLES)
def test_p_is_the_drop_probability(cls, i):
    layer = _example(cls, i).train()
    z, w = _data(0, unit=True)
    if layer.fixed_p:
        assert layer.mask_kind is not MaskKind.GAUSSIAN
        expected = torch.full_like(z, layer.p)
        torch.testing.assert_close(layer.drop_probability(*_inputs(layer, z, w)), expected)
    else:
        expected = layer.drop_probability(*_inputs(layer, z, w))
    out = _call(layer, z, w, seed=1)
    dropped = (out == 0).to(F64)
    p = expected.mean()
    se = (expected * (1 - expected)).sum().sqrt() / expected.numel()
    assert abs(dropped.mean() - p) <= Z_SE * se + 1e-12, (float(dropped.mean()), float(p))


@pytest.mark.parametrize(("cls", "i"), EXAMPLES)
def test_inverted_scaling(cls, i):
    layer = _example(cls, i).train()
    z, w = _data(2, unit=False)
    drop = layer.drop_probability(*_inputs(layer, z, w))
    ratio = _call(layer, z, w, seed=3) / z
    target = 1 - drop if layer.mask_kind is MaskKind.UNSCALED else torch.ones_like(z)
    se = ratio.std() / ratio.numel() ** 0.5
    assert abs(float((ratio - target).mean())) <= Z_SE * float(se), float((ratio - target).mean())


@pytest.mark.parametrize(("cls", "i"), EXAMPLES)
def test_identity_in_eval(cls, i):
    layer = _example(cls, i).eval()
    z, w = _data(4, unit=False)
    assert torch.equal(_call(layer, z, w, seed=5), z)


@pytest.mark.parametrize(("cls", "i"), EXAMPLES)
def test_state_dict_round_trip(cls, i):
    layer = _example(cls, i).train()
    z, w = _data(6, unit=False)
    with torch.no_grad():
        for param in layer.parameters():
            param.add_(0.3 * torch.randn(param.shape, generator=torch.Generator().manual_seed(7),
                                         dtype=param.dtype))
    for k in range(3):  # advance any per-call state (counters, thresholds)
        _call(layer, z, w, seed=10 + k)
    fresh = _example(cls, i)
    fresh.load_state_dict(layer.state_dict())
    for a, b in zip(layer.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b) or (a.isnan().all() and b.isnan().all())
    fresh.train()
    torch.testing.assert_close(_call(fresh, z, w, seed=20), _call(layer, z, w, seed=20),
                               rtol=0, atol=0)
    fresh.eval()
    layer.eval()
    assert torch.equal(_call(fresh, z, w), _call(layer, z, w))


@pytest.mark.parametrize(("cls", "i"), EXAMPLES)
def test_to_float32_moves_state(cls, i):
    layer = _example(cls, i).to(torch.float32).train()
    tensors = [*layer.parameters(), *layer.buffers()]
    assert all(t.dtype == torch.float32 for t in tensors if t.is_floating_point())
    z, w = _data(8, unit=False)
    out = _call(layer, z.float(), w.float(), seed=9)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
