"""Y-Drop as a real layer and the conductance of any layer (dualreg.torch.attribution)."""

import pytest
import torch
from torch import nn

from dualreg import penalties
from dualreg.torch import YDrop
from dualreg.torch.attribution import batch_conductance, conductance, layer_conductance

F64 = torch.float64


def _two(top, a, b):
    return torch.where(top, torch.tensor(a, dtype=F64), torch.tensor(b, dtype=F64))


def _mlp(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 5), nn.ReLU(),
                          nn.Linear(5, 4)).double()
    x = torch.randn(7, 3, dtype=F64) * torch.tensor([0.3, 1.0, 4.0], dtype=F64)
    return model, x


# ------------------------------------------------------------------ (a) captum
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("layer_index", [1, 3])
def test_left_rule_reproduces_captum_layer_conductance(seed, layer_index):
    captum = pytest.importorskip("captum.attr")
    model, x = _mlp(seed)
    layer = model[layer_index]
    base = 0.1 * torch.randn_like(x)
    targets = [2, torch.tensor([0, 1, 2, 3, 0, 1, 2])]
    for target in targets:
        for n in (5, 20):
            ref = captum.LayerConductance(model, layer).attribute(
                x, baselines=base, target=target, n_steps=n, method="riemann_trapezoid")
            ours = layer_conductance(model, layer, x, target, base, steps=n, rule="left")
            assert ref.abs().max() > 0
            scale = ref.abs().max()
            assert torch.allclose(ours, ref, rtol=1e-6, atol=1e-6 * float(scale.detach()))


# ------------------------------------------------------------------ (b) trapezoid
def test_trapezoid_is_exact_for_a_linear_head_and_beats_left():
    torch.manual_seed(3)
    features = nn.Sequential(nn.Linear(3, 5), nn.Tanh()).double()
    head = nn.Linear(5, 1).double()
    x = torch.randn(6, 3, dtype=F64) * torch.tensor([0.5, 1.0, 3.0], dtype=F64)
    base = torch.randn(1, 3, dtype=F64)
    exact = head.weight[0].detach() * (features(x) - features(base)).detach()
    for steps in (1, 2, 5, 50):
        got = conductance(features, head, x, base, steps=steps)
        assert torch.allclose(got, exact, rtol=0, atol=1e-12)
    # a nonlinear head: trapezoid closer than left at 5 steps, to a 2000-step reference
    model, x = _mlp(4)
    ref = layer_conductance(model, model[1], x, 1, steps=2000, rule="trapezoid")
    err = {r: (layer_conductance(model, model[1], x, 1, steps=5, rule=r) - ref).abs().max()
           for r in ("trapezoid", "left", "right", "midpoint")}
    assert err["trapezoid"] < err["left"]
    assert err["midpoint"] < err["left"]
    # completeness: the conductances of a layer sum to F(x) − F(x′) (trapezoid, many steps)
    full = layer_conductance(model, model[3], x, 1, steps=400)
    diff = (model(x) - model(torch.zeros_like(x)))[:, 1].detach()
    assert torch.allclose(full.sum(-1), diff, atol=1e-4)


def test_batch_conductance_reductions():
    c = torch.tensor([[1.0, -2.0], [-3.0, 4.0]], dtype=F64)
    assert torch.equal(batch_conductance(c), torch.tensor([-1.0, 1.0], dtype=F64))
    assert torch.equal(batch_conductance(c, "abs"), torch.tensor([2.0, 3.0], dtype=F64))
    with pytest.raises(ValueError, match="reduce"):
        batch_conductance(c, "max")


# ------------------------------------------------------------------ (c) reference rule
def test_reference_rule_buckets_by_signed_batch_mean_and_mask_means():
    d, B = 8, 40
    layer = YDrop(0.25, 0.75, rule="reference")
    gen = torch.Generator().manual_seed(0)
    layer.generator = gen
    # per-sample conductances whose per-sample ranking differs from the batch-mean ranking,
    # and whose |.| ranking differs from the signed one
    mean = torch.tensor([3.0, -5.0, 1.0, 2.0, -0.5, 0.1, 4.0, -4.0], dtype=F64)
    c = mean + 6.0 * torch.randn(B, d, dtype=F64, generator=torch.Generator().manual_seed(1))
    c = c - c.mean(0) + mean
    top = torch.zeros(d, dtype=torch.bool)
    top[mean.argsort()[d // 2:]] = True
    rates = layer.drop_probability(torch.ones(B, d, dtype=F64), conductance=c)[0]
    assert torch.equal(rates, _two(top, 0.75, 0.25))
    x = torch.ones(B, d, dtype=F64)
    draws = 2000
    total = torch.zeros(d, dtype=F64)
    for _ in range(draws):
        total += layer(x, conductance=c).mean(0)
    est = total / draws
    expected = torch.where(top, 0.5, 1.5).to(F64)
    # each unit: mean of draws·B = 80000 masks with values in {0, 2}; SE ≤ 1/sqrt(80000)
    # = 0.0035; 6 SE band
    assert torch.allclose(est, expected, atol=0.021)
    with pytest.raises(ValueError, match="reference"):
        layer.penalty()
    # an odd unit count: the top ceil(d/2) units in the high bucket (the reference's
    # floor(d/2) split of the ascending order), survivors divided by 1 - mean bucket rate
    odd = YDrop(0.25, 0.75, rule="reference").train()
    c5 = torch.tensor([0.3, -1.0, 2.0, 0.0, 5.0], dtype=F64)
    z = torch.ones(2, 5, dtype=F64)
    assert torch.equal(odd.drop_probability(z, conductance=c5)[0],
                       torch.tensor([0.75, 0.25, 0.75, 0.25, 0.75], dtype=F64))
    values = torch.unique(odd(z, conductance=c5))
    assert set(values.tolist()) <= {0.0, 2.0}


def test_absolute_rule_is_inverted_per_unit():
    d, B = 6, 50
    layer = YDrop(0.1, 0.5)
    layer.generator = torch.Generator().manual_seed(2)
    c = torch.tensor([-9.0, 1.0, 2.0, -3.0, 0.5, 4.0], dtype=F64)
    rates = layer.drop_probability(torch.ones(B, d, dtype=F64), conductance=c)[0]
    top = torch.zeros(d, dtype=torch.bool)
    top[c.abs().argsort()[d // 2:]] = True
    assert torch.equal(rates, _two(top, 0.5, 0.1))
    est = torch.stack([layer(torch.ones(B, d, dtype=F64), conductance=c).mean(0)
                       for _ in range(1500)]).mean(0)
    # masks in {0, 2} or {0, 1.11}: SE ≤ 1/sqrt(75000) = 0.0037, 6 SE band
    assert torch.allclose(est, torch.ones(d, dtype=F64), atol=0.022)
    assert isinstance(layer.penalty(), penalties.YDrop)


def test_reference_rule_in_the_trainers_replica_path():
    """noisy_linear with K replica weights (K, d) on shared data (B, d): each replica ranks its
    own signed batch-mean conductance w_kj·mean_i(x_ij) and its mean θ is x·(w ⊙ E s)."""
    K, B, d = 3, 6, 8
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(B, d, dtype=F64, generator=gen) * torch.linspace(0.2, 3.0, d, dtype=F64)
    w = torch.randn(K, d, dtype=F64, generator=gen)
    layer = YDrop(0.25, 0.75, rule="reference").train()
    layer.generator = torch.Generator().manual_seed(3)
    imp = w * x.mean(0)  # signed, by hand
    top = imp.argsort(-1).argsort(-1) >= d // 2
    es = torch.where(top, 0.25 / 0.5, 0.75 / 0.5).to(F64)  # (1 - p_j) / mean keep
    expected = torch.einsum("bd,kd->kb", x, w * es)
    draws = torch.stack([layer.noisy_linear(x, w) for _ in range(4000)])
    assert draws.shape == (4000, K, B)
    se = draws.std(0) / 4000**0.5
    # normal band at 5 SE over K·B = 18 entries: false-failure rate < 18 · 5.7e-7 = 1e-5
    assert ((draws.mean(0) - expected).abs() <= 5 * se).all()
    assert int(layer.steps) == 0  # forward calls never move the schedule

def test_head_weight_form_is_exact_for_every_head_shape():
    torch.manual_seed(5)
    h = torch.randn(4, 4, dtype=F64)  # batch size == out on purpose
    W = torch.randn(4, 4, dtype=F64)
    base = torch.randn(4, dtype=F64)
    layer = YDrop(0.1, 0.5, baseline=base)
    # no row named: the l2 norm over outputs of each unit's conductance, by hand
    per_output = W[None, :, :] * (h - base)[:, None, :]  # (B, out, d)
    assert torch.allclose(layer.head_conductance(h, W).abs(), per_output.norm(dim=1))
    with pytest.raises(ValueError, match="output"):  # the signed rule needs one logit
        YDrop(0.1, 0.5, rule="reference").train()(h, weight=W)
    got = layer.head_conductance(h, W, output=2)
    assert torch.allclose(got, W[2] * (h - base))
    labels = torch.tensor([0, 3, 1, 1])
    got = layer.head_conductance(h, W, output=labels)
    assert torch.allclose(got, W[labels] * (h - base))
    assert torch.allclose(layer.importance(h, W[1]), (W[1] * (h - base)).abs().mean(0))
    ref = YDrop(0.1, 0.5, baseline=base, rule="reference")
    assert torch.allclose(ref.importance(h, W[1]), W[1] * (h - base).mean(0))


# ------------------------------------------------------------------ (d) as a layer
def test_ydrop_in_sequential_trains_and_keeps_state():
    torch.manual_seed(6)
    drop = YDrop(0.1, 0.5, warmup=3)
    head = nn.Linear(8, 3)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), drop, head)
    drop.set_weight_of(head)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    for k in range(5):
        assert drop.in_warmup == (k < 3)
        if k >= 3:  # after warm-up: importances from conductances of the label logit
            c = layer_conductance(model.eval(), model[1], x, y, steps=8)
            drop.set_conductance(c)
            model.train()
        for _ in range(2):  # two forwards per step: the schedule counts steps only
            loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        drop.step()
    assert int(drop.steps) == 5 and drop.tau is not None
    model.eval()
    h = model[1](model[0](x))
    assert torch.equal(drop(h), h)
    # no importances in training after warm-up: one clear error
    fresh = YDrop(0.1, 0.5).train()
    with pytest.raises(ValueError, match="conductance="):
        fresh(torch.randn(3, 4))
    warm = YDrop(0.1, 0.5, warmup=1, warmup_rate=0.5).train()
    assert torch.all(warm.drop_probability(torch.randn(3, 4)) == 0.5)
    # state_dict round trip (a baseline buffer, steps, tau), old "calls" key
    layer = YDrop(0.1, 0.5, baseline=torch.ones(8))
    layer.set_conductance(torch.arange(8.0))
    layer.train()(torch.randn(5, 8))
    layer.step()
    layer.step()
    other = YDrop(0.1, 0.5)
    other.load_state_dict(layer.state_dict())
    assert int(other.steps) == 2 and other.tau == layer.tau
    assert torch.equal(other.baseline, torch.ones(8))
    sd = layer.state_dict()
    sd["calls"] = sd.pop("steps")
    other = YDrop(0.1, 0.5, baseline=torch.zeros(8))
    other.load_state_dict(sd)
    assert int(other.steps) == 2
    assert layer.double().baseline.dtype == F64


# ------------------------------------------------------------------ (e) bad inputs
def test_bad_inputs_name_the_argument():
    layer = YDrop(0.1, 0.5).train()
    x = torch.randn(5, 4)
    with pytest.raises(ValueError, match="weight"):
        layer(x, weight=torch.randn(3))
    with pytest.raises(ValueError, match="weight"):
        layer(x, weight=torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="conductance"):
        layer(x, conductance=torch.randn(3))
    with pytest.raises(ValueError, match="conductance"):
        layer.set_conductance(torch.randn(5)).train()(x)
    with pytest.raises(ValueError, match="rule"):
        YDrop(rule="signed")
    with pytest.raises(ValueError, match="mapping"):
        YDrop(rule="reference", mapping="continuous")
    with pytest.raises(ValueError, match="rule"):
        layer_conductance(nn.Linear(4, 2), nn.Linear(4, 2), x, 0, rule="simpson")
