"""Every registered layer inside real networks: an ``nn.Sequential`` MLP and a small CNN.

The cases are discovered: every class of :func:`dualreg.torch.layers.registered_layers` and
each instance of its ``contract_examples()`` (plus a few scheduled variants below, so that
schedule state is exercised), so a new layer file is checked without touching this test.

**Placement.** A ``target="weight"`` layer is attached with
:func:`dualreg.torch.parametrize_weight` to the first ``nn.Linear`` weight of the MLP and to
the ``nn.Conv2d`` kernel of the CNN. A ``target="input"`` layer is a module of the
``nn.Sequential`` between the hidden activation and the ``nn.Linear`` that reads it, linked to
that ``nn.Linear`` by :meth:`~dualreg.torch.DropoutLayer.set_weight_of` (the rules whose rates
depend on a weight use it; the others ignore it). On the CNN, a layer whose input noise is
elementwise (``elementwise_input``: Bernoulli, Gaussian, Sparseout) acts on the conv feature
maps (B, C, H, W); a layer with per-unit rates on the last axis (adaptive, targeted, Y-Drop,
variational) acts on the flattened features before the linear head.

**Checks** (float32 and float64; the CUDA variant is skipped without CUDA):

- training output of the input's dtype, finite; ``eval()`` deterministic and the identity
  (an activation layer: the network without it; a weight layer: the plain weight);
- a few SGD steps with :func:`~dualreg.torch.attach_schedules` and
  :func:`~dualreg.torch.regularization`: finite loss and gradients, every learned tensor of
  the layer in the optimizer and given a gradient, every ``steps`` buffer = optimizer steps
  (activation layers get one eval-mode dry run before the optimizer is created, the documented
  way to build lazy state such as ``VariationalDropout(target="input")``'s log σ²;
  ``parametrize_weight`` builds eagerly, so weight layers get none);
- no layer state as a plain tensor attribute (it would be neither saved nor moved);
- ``state_dict`` into a freshly built model: the same state (buffers, parameters), identical
  eval outputs and identical seeded training outputs (so any schedule state was saved);
- ``.double()`` / ``.to(torch.float64)``: every floating buffer and parameter is float64
  (integer buffers keep their dtype), and the network then runs in float64.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import dualreg.torch as dt
from dualreg.penalties import L1, LogSum, Ridge
from dualreg.penalties import Sparseout as SparseoutPenalty
from dualreg.torch import (
    AdaptiveDropout,
    DropoutLayer,
    Sparseout,
    TargetedDropout,
    VariationalDropout,
    attach_schedules,
    parametrize_weight,
    regularization,
)
from dualreg.torch.layers import registered_layers

D_IN, HIDDEN, OUT, BATCH, SIDE, CHANNELS = 6, 8, 3, 16, 5, 4
STEPS = 3
PLAIN_TENSOR_ATTRS = {"column_scale"}  # an input of the step, documented as not state

# Scheduled variants (the default examples of TargetedDropout have no ramp, so a schedule that
# is not saved would go unnoticed there).
EXTRA = {
    "TargetedDropout": (lambda: TargetedDropout(0.3, 0.5, ramp=10),
                        lambda: TargetedDropout(0.3, 0.5, mode="unit", target="input", ramp=10,
                                                schedule="piecewise")),
}


def _cases():
    cases = []
    for name, cls in registered_layers().items():
        n = len(cls.contract_examples())
        for i in range(n):
            cases.append(pytest.param((cls, i), id=f"{name}-{i}"))
        for j, _ in enumerate(EXTRA.get(name, ())):
            cases.append(pytest.param((name, j), id=f"{name}-extra{j}"))
    return cases


CASES = _cases()
DTYPES = [pytest.param(torch.float32, id="f32"), pytest.param(torch.float64, id="f64")]
ARCHS = ["mlp", "cnn"]


def _layer(lcase) -> DropoutLayer:
    key, i = lcase
    if isinstance(key, str):
        return EXTRA[key][i]()
    return key.contract_examples()[i]


def _build(lcase, arch: str, dtype, device="cpu", seed=0) -> tuple[nn.Sequential, DropoutLayer]:
    """A freshly initialised network with a fresh instance of the lcase's layer."""
    torch.manual_seed(seed)
    layer = _layer(lcase)
    if arch == "mlp":
        fc1, head = nn.Linear(D_IN, HIDDEN), nn.Linear(HIDDEN, OUT)
        if layer.target == "weight":
            mods = [fc1, nn.Tanh(), head]
        else:
            mods = [fc1, nn.Tanh(), layer, head]
        first = fc1
    else:
        conv = nn.Conv2d(1, CHANNELS, 3, padding=1)
        head = nn.Linear(CHANNELS * SIDE * SIDE, OUT)
        first = conv
        if layer.target == "weight":
            mods = [conv, nn.Tanh(), nn.Flatten(), head]
        elif layer.elementwise_input:  # on the feature maps (B, C, H, W)
            mods = [conv, nn.Tanh(), layer, nn.Flatten(), head]
        else:  # per-unit rates on the last axis: on the flattened features
            mods = [conv, nn.Tanh(), nn.Flatten(), layer, head]
    model = nn.Sequential(*mods).to(device=device, dtype=dtype)
    if layer.target == "weight":
        parametrize_weight(first, layer)  # builds learned state eagerly: no dry run needed
    else:
        layer.set_weight_of(head)
    layer.to(device=device)  # a layer's own buffers (counters) live on the model's device
    if layer.target == "input":  # the documented dry run: lazy state exists before the optimizer
        with torch.no_grad():
            model.eval()(_data(arch, dtype, device)[0])
        model.train()
    return model, layer


def _data(arch: str, dtype, device="cpu", seed=1):
    g = torch.Generator().manual_seed(seed)
    shape = (BATCH, D_IN) if arch == "mlp" else (BATCH, 1, SIDE, SIDE)
    x = torch.randn(shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)
    y = torch.randn(BATCH, OUT, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)
    return x, y


def _seed(layer: DropoutLayer, seed: int, device="cpu") -> None:
    layer.generator = torch.Generator(device=device).manual_seed(seed)


def _forward(model, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. the absorbing-zero notice
        return model(x)


def _train(model, layer, x, y, steps=STEPS, seed=100):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    handle = attach_schedules(model, opt)
    in_opt = {id(p) for group in opt.param_groups for p in group["params"]}
    learned = [p for p in layer.parameters() if p.requires_grad]
    assert all(id(p) in in_opt for p in learned), "a learned tensor of the layer is not in the " \
        "optimizer (built after it was created?)"
    for k in range(steps):
        _seed(layer, seed + k, x.device)
        opt.zero_grad()
        loss = nn.functional.mse_loss(_forward(model, x), y) + regularization(model)
        assert torch.isfinite(loss), (k, float(loss))
        loss.backward()
        for name, p in model.named_parameters():
            assert p.grad is None or torch.isfinite(p.grad).all(), (k, name)
        for p in learned:
            assert p.grad is not None, "a learned tensor of the layer got no gradient"
        opt.step()
    handle.remove()
    missing = [n for n, p in layer.named_parameters() if id(p) not in in_opt]
    assert missing == [], f"{missing} not in the optimizer (built after it was created?)"
    return opt


def _plain_tensor_attrs(layer: nn.Module) -> list[str]:
    return [k for k, v in vars(layer).items()
            if isinstance(v, torch.Tensor) and k not in PLAIN_TENSOR_ATTRS]


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and (
        torch.equal(a, b) or bool((a.isnan() == b.isnan()).all()
                                  and torch.equal(a.nan_to_num(), b.nan_to_num())))


def _without(model: nn.Sequential, layer: DropoutLayer) -> nn.Sequential:
    return nn.Sequential(*[m for m in model if m is not layer])


# --------------------------------------------------------------------------- the checks
def test_every_registered_layer_has_cases():
    names = {p.id.split("-")[0] for p in CASES}
    assert names == set(registered_layers()) == set(dt.LAYERS)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("lcase", CASES)
def test_train_and_eval(lcase, arch, dtype):
    model, layer = _build(lcase, arch, dtype)
    x, _ = _data(arch, dtype)
    model.train()
    _seed(layer, 3)
    out = _forward(model, x)
    assert out.dtype == dtype and out.shape == (BATCH, OUT)
    assert torch.isfinite(out).all()
    model.eval()
    a, b = _forward(model, x), _forward(model, x)
    assert torch.equal(a, b), "eval() is not deterministic"
    if layer.target == "input":
        assert torch.equal(a, _without(model, layer)(x)), "eval() is not the identity"
    else:
        module = model[0]
        assert torch.equal(module.weight, module.parametrizations.weight.original)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("lcase", CASES)
def test_optimizer_steps_schedules_and_gradients(lcase, arch, dtype):
    model, layer = _build(lcase, arch, dtype)
    x, y = _data(arch, dtype)
    _train(model, layer, x, y)
    for name, buf in layer.named_buffers():
        if name.split(".")[-1] == "steps":
            assert int(buf) == STEPS, f"{name} = {int(buf)} after {STEPS} optimizer steps"
    assert _plain_tensor_attrs(layer) == [], "state kept as plain tensor attributes"


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("lcase", CASES)
def test_state_dict_round_trip_keeps_schedule_state(lcase, arch):
    dtype = torch.float64
    model, layer = _build(lcase, arch, dtype)
    x, y = _data(arch, dtype)
    _train(model, layer, x, y)
    state = model.state_dict()
    fresh, fresh_layer = _build(lcase, arch, dtype, seed=7)
    fresh.load_state_dict(state)
    assert list(fresh.state_dict()) == list(state)
    for key, value in fresh.state_dict().items():
        assert _same(value, state[key]), key
    for (name, a), (_, b) in zip(layer.named_buffers(), fresh_layer.named_buffers(), strict=True):
        assert _same(a, b), name
    model.eval()
    fresh.eval()
    assert torch.equal(_forward(fresh, x), _forward(model, x))
    model.train()
    fresh.train()
    _seed(layer, 55)
    _seed(fresh_layer, 55)
    assert torch.equal(_forward(fresh, x), _forward(model, x)), \
        "seeded training outputs differ after load_state_dict (unsaved state?)"


@pytest.mark.parametrize("move", ["double", "to"])
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("lcase", CASES)
def test_double_moves_every_buffer_and_parameter(lcase, arch, move):
    model, layer = _build(lcase, arch, torch.float32)
    x, y = _data(arch, torch.float32)
    _train(model, layer, x, y, steps=1)  # any lazily built state exists now
    int_dtypes = {name: b.dtype for name, b in model.named_buffers() if not b.is_floating_point()}
    model = model.double() if move == "double" else model.to(torch.float64)
    for name, t in [*model.named_parameters(), *model.named_buffers()]:
        if t.is_floating_point():
            assert t.dtype == torch.float64, (name, t.dtype)
        else:
            assert t.dtype == int_dtypes[name], (name, t.dtype)
    assert _plain_tensor_attrs(layer) == []
    x64, y64 = _data(arch, torch.float64)
    _train(model, layer, x64, y64, steps=1)
    model.train()
    assert _forward(model, x64).dtype == torch.float64
    model.eval()
    assert _forward(model, x64).dtype == torch.float64


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("lcase", CASES)
def test_cuda(lcase, arch):
    dev = torch.device("cuda")
    model, layer = _build(lcase, arch, torch.float32, device=dev)
    x, y = _data(arch, torch.float32, device=dev)
    _train(model, layer, x, y)
    for name, t in [*model.named_parameters(), *model.named_buffers()]:
        assert t.device.type == "cuda", name
    fresh, _ = _build(lcase, arch, torch.float32, device=dev, seed=7)
    fresh.load_state_dict(model.state_dict())
    model.eval()
    fresh.eval()
    assert torch.equal(_forward(fresh, x), _forward(model, x))


# --------------------------------------------------------------------------- adaptive layers
def test_adaptive_warns_on_an_all_zero_start_of_an_absorbing_penalty():
    layer = AdaptiveDropout(L1(), 0.1).train()
    assert layer.absorbing and AdaptiveDropout(LogSum(0.1), 0.1).absorbing
    assert not AdaptiveDropout(Ridge(), 0.1).absorbing
    with pytest.warns(UserWarning, match="absorbing.*ridge_start"):
        layer(torch.zeros(5, dtype=torch.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AdaptiveDropout(L1(), 0.1, ridge_start=3).train()(torch.zeros(5))
        AdaptiveDropout(L1(), 0.1).train()(torch.ones(5))


def test_adaptive_ridge_start_uses_ridge_rates_then_the_rule():
    layer = AdaptiveDropout(L1(), 0.5, ridge_start=2)
    w = torch.tensor([0.0, 0.1, 2.0], dtype=torch.float64)
    ridge = torch.full_like(w, 1.0 / 1.5)  # c/(c + λ) at c = 1
    torch.testing.assert_close(layer.rates(w), ridge, rtol=0, atol=0)
    layer.step()
    torch.testing.assert_close(layer.rates(w), ridge, rtol=0, atol=0)
    layer.step()
    rule = (w / (w + 0.5)).clamp(min=layer.keep_floor)
    torch.testing.assert_close(layer.rates(w), rule)
    assert int(layer.steps) == 2
    layer.reset_state()
    torch.testing.assert_close(layer.rates(w), ridge, rtol=0, atol=0)


def test_adaptive_ridge_start_moves_the_trainer_off_zero():
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = X @ np.array([1.0, -0.5, 0.3]) + 0.1 * rng.standard_normal(60)
    res = dt.monte_carlo(X, y, AdaptiveDropout(L1(), 0.02, ridge_start=200), replicas=4,
                         steps=600, lr=0.05, progress=False)
    assert (np.abs(res.coef) > 0.1).all(), res.coef


def test_adaptive_input_accepts_matrix_weights_and_names_bad_shapes():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(10, 8, generator=g, dtype=torch.float64)
    fc2 = nn.Linear(8, 3).double()
    layer = AdaptiveDropout(L1(), 0.2, target="input").train()
    norms = fc2.weight.detach().norm(dim=0)
    expected = 1 - (norms / (norms + 0.2)).clamp(min=layer.keep_floor)
    torch.testing.assert_close(layer.drop_probability(x, weight=fc2.weight),
                               expected.expand_as(x))
    assert layer(x, weight=fc2.weight).shape == x.shape
    linked = AdaptiveDropout(L1(), 0.2, target="input", weight_of=fc2).train()
    torch.testing.assert_close(linked.drop_probability(x), expected.expand_as(x))
    wrong = nn.Linear(5, 3).double()
    with pytest.raises(ValueError, match="weight must have 8 columns"):
        layer(x, weight=wrong.weight)
    with pytest.raises(ValueError, match=r"weight_of.weight must have 8 columns"):
        AdaptiveDropout(L1(), 0.2, target="input", weight_of=wrong).train()(x)
    with pytest.raises(ValueError, match=r"weight=w.*weight_of"):
        AdaptiveDropout(L1(), 0.2, target="input").train()(x)
    with pytest.raises(ValueError, match="weight_of"):
        AdaptiveDropout(L1(), 0.2, weight_of=fc2)  # a weight-target layer


def test_adaptive_state_dict_without_steps_still_loads():
    layer = AdaptiveDropout(L1(), 0.2, ridge_start=5)
    state = layer.state_dict()
    del state["steps"]
    layer.step()
    layer.load_state_dict(state)
    assert int(layer.steps) == 0


# --------------------------------------------------------------------------- variational
def test_variational_builds_lazily_on_the_input():
    layer = VariationalDropout(0.1, target="input")
    assert layer.log_sigma2 is None and not layer.built
    x = torch.randn(4, 7, dtype=torch.float64)
    layer.eval()(x)  # a dry run in eval mode builds too
    assert layer.log_sigma2.shape == (7,) and layer.log_sigma2.dtype == torch.float64
    w = VariationalDropout(0.1)
    w.train()(torch.randn(3, 5))
    assert w.log_sigma2.shape == (3, 5) and w.log_sigma2.dtype == torch.float32
    with pytest.raises(ValueError, match="does not match log_sigma2"):
        layer.train()(torch.randn(4, 6, dtype=torch.float64))


def test_variational_kl_is_collected_for_weights_and_activations():
    torch.manual_seed(0)
    fc1, fc2 = nn.Linear(4, 6), nn.Linear(6, 2)
    on_weight = VariationalDropout(0.1, init_log_sigma2=-2.0)
    on_units = VariationalDropout(0.2, init_log_sigma2=-1.0, kl="molchanov", target="input")
    parametrize_weight(fc1, on_weight)
    model = nn.Sequential(fc1, nn.ReLU(), on_units, fc2)
    model(torch.randn(3, 4))
    assert on_weight.log_sigma2.shape == fc1.weight.shape
    expected = 0.1 * on_weight.kl_divergence().sum() + 0.2 * on_units.kl_divergence().sum()
    torch.testing.assert_close(regularization(model), expected)
    regularization(model).backward()
    assert on_units.log_sigma2.grad is not None and on_weight.log_sigma2.grad is not None


def test_variational_without_lam_is_noise_only_and_the_kl_needs_lam():
    layer = VariationalDropout(target="input")
    model = nn.Sequential(nn.Linear(3, 4), layer, nn.Linear(4, 1))
    out = model.train()(torch.randn(5, 3))
    assert torch.isfinite(out).all()
    with pytest.raises(ValueError, match="lam"):
        regularization(model)
    unbuilt = nn.Sequential(nn.Linear(3, 4), VariationalDropout(0.1, target="input"))
    with pytest.raises(ValueError, match="no log_sigma2 yet"):
        regularization(unbuilt)


def test_variational_unbuilt_layer_loads_a_state_dict():
    layer = VariationalDropout(0.1, target="input")
    layer(torch.randn(2, 5, dtype=torch.float64))
    with torch.no_grad():
        layer.log_sigma2.add_(torch.arange(5.0, dtype=torch.float64))
    fresh = VariationalDropout(0.1, target="input")
    fresh.load_state_dict(layer.state_dict())
    assert torch.equal(fresh.log_sigma2, layer.log_sigma2)


# --------------------------------------------------------------------------- naming
def test_sparseout_penalty_is_the_explicit_converter():
    for grad in ("stop", "autograd"):
        pen = Sparseout(0.2, 1.5, grad=grad).penalty()
        ref = SparseoutPenalty(q=1.5, drop=0.2, grad=grad)
        assert isinstance(pen, SparseoutPenalty)
        assert (pen.drop, pen.grad) == (0.2, grad)
        w = torch.linspace(-2, 2, 9, dtype=torch.float64).numpy()
        assert (pen.value(w) == ref.value(w)).all()


def test_set_weight_of_is_not_registered():
    head = nn.Linear(4, 2)
    layer = AdaptiveDropout(L1(), 0.1, target="input").set_weight_of(head)
    assert layer.weight_of is head
    assert list(layer.state_dict()) == ["steps"] and list(layer.children()) == []
    assert not parametrize.is_parametrized(head)
    with pytest.raises(ValueError, match=r"weight_of must be an nn.Module"):
        layer.set_weight_of(torch.ones(3))
