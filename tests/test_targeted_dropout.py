"""TargetedDropout in a user's network: the reference grouping (per output unit over its whole
fan-in), whole-unit drops, activations in ``nn.Sequential``, step-counted schedules, state,
eval-time pruning and argument checks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dualreg.penalties import TargetedDropout as TDPenalty
from dualreg.torch import TargetedDropout, attach_schedules, parametrize_weight

F64 = torch.float64
K_SE = 5.0  # acceptance band in standard errors for Monte-Carlo fractions


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _conv(seed=0, dtype=F64, **kwargs):
    torch.manual_seed(seed)
    conv = nn.Conv2d(4, 6, 3).to(dtype)
    layer = TargetedDropout(**kwargs)
    layer.generator = _gen(seed + 1)
    return parametrize_weight(conv, layer), layer


# --------------------------------------------------------------------------- the grouping
def test_conv_kernel_targets_half_of_each_filters_fan_in_and_drops_gamma_p():
    gamma, p, draws = 0.5, 0.5, 400
    conv, layer = _conv(gamma=gamma, p=p)
    w = conv.parametrizations.weight.original.detach()
    targeted = layer.targeted_mask(w)
    fan_in = 4 * 3 * 3
    k = math.floor(gamma * fan_in)
    assert torch.equal(targeted.flatten(1).sum(1), torch.full((6,), k))  # 18 per filter: 50 %
    # The targeted entries are each filter's k smallest |w| over all of in·kh·kw.
    flat = w.abs().flatten(1)
    assert torch.all(flat[targeted.flatten(1)].view(6, k).amax(1)
                     <= flat[~targeted.flatten(1)].view(6, -1).amin(1))
    noisy = torch.stack([conv.weight.detach() for _ in range(draws)])
    assert torch.all(noisy[:, ~targeted] == w[~targeted])  # untouched, never rescaled
    assert torch.all((noisy[:, targeted] == 0) | (noisy[:, targeted] == w[targeted]))
    frac = (noisy == 0).double().mean().item()
    # Each targeted weight is an independent Bernoulli(p) per draw: SE of the zeroed fraction.
    se = math.sqrt(p * (1 - p) * targeted.sum().item() * draws) / (w.numel() * draws)
    assert abs(frac - gamma * p) < K_SE * se, (frac, se)


@pytest.mark.parametrize("module", [nn.Linear(10, 3), nn.Conv1d(3, 5, 4), nn.Conv3d(2, 3, 2)],
                         ids=["Linear", "Conv1d", "Conv3d"])
def test_every_weight_shape_is_grouped_per_output_unit(module):
    layer = TargetedDropout(0.5, 0.3)
    parametrize_weight(module, layer)
    w = module.parametrizations.weight.original
    fan_in = w[0].numel()
    counts = layer.targeted_mask(w.detach()).flatten(1).sum(1)
    assert torch.equal(counts, torch.full((w.shape[0],), math.floor(0.3 * fan_in)))


def test_unit_mode_on_a_conv_drops_whole_filters_by_norm():
    p, draws = 0.5, 400
    conv, layer = _conv(seed=3, gamma=0.5, p=p, mode="unit")
    w = conv.parametrizations.weight.original.detach()
    norms = w.flatten(1).norm(dim=1)
    low = torch.zeros(6, dtype=torch.bool)
    low[norms.argsort()[:3]] = True
    assert torch.equal(layer.targeted_mask(w).flatten(1).all(1), low)
    noisy = torch.stack([conv.weight.detach() for _ in range(draws)]).flatten(2)
    zero = (noisy == 0).all(-1)  # (draws, filters): a filter is all zero or all kept
    assert torch.all(zero | (noisy == w.flatten(1)).all(-1))
    assert not zero[:, ~low].any()
    frac = zero[:, low].double().mean().item()
    assert abs(frac - p) < K_SE * math.sqrt(p * (1 - p) / (3 * draws))


def test_replica_stack_is_a_set_of_weight_vectors():
    # (K, d) in noisy_linear (the GLM trainer) or with replica_dims=1: per replica, both modes
    # target the ⌊γd⌋ smallest |w_j|; as an (out, in) matrix, unit mode ranks rows.
    W = torch.tensor([[0.1, -3.0, 0.2, 2.0], [5.0, 0.01, -4.0, -0.02]], dtype=F64)
    per_entry = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 1]], dtype=torch.bool)
    stacked = TargetedDropout(0.5, 0.5, mode="unit", replica_dims=1)
    assert torch.equal(stacked.targeted_mask(W), per_entry)
    matrix = TargetedDropout(0.5, 0.5, mode="unit")
    assert torch.equal(matrix.targeted_mask(W), torch.tensor([[True] * 4, [False] * 4]))
    layer = TargetedDropout(1.0 - 1e-12, 0.5, mode="unit").eval()
    layer.prune_eval = True
    x = torch.eye(4, dtype=F64)
    assert torch.equal(layer.noisy_linear(x, W), W * ~per_entry)


# --------------------------------------------------------------------------- activations
def test_input_target_in_sequential_ranks_by_batch_mean_or_next_weight():
    torch.manual_seed(0)
    x = torch.randn(64, 8, dtype=F64) * torch.arange(1.0, 9.0, dtype=F64)
    layer = TargetedDropout(0.5, 0.5, mode="unit", target="input")
    assert torch.equal(layer.targeted_mask(x)[0], torch.arange(8) < 4)  # small columns
    nxt = nn.Linear(8, 3).double()
    with torch.no_grad():
        nxt.weight.mul_(torch.arange(8.0, 0.0, -1.0, dtype=F64))
    by_next = TargetedDropout(0.5, 0.5, mode="unit", target="input", weight_of=nxt)
    assert torch.equal(by_next.targeted_mask(x)[0], nxt.weight.norm(dim=0) <= nxt.weight.norm(
        dim=0).sort().values[3])
    assert list(by_next.children()) == [] and list(by_next.state_dict()) == [
        "steps", "last_threshold"]
    net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), by_next, nxt).double()
    assert net(torch.randn(7, 5, dtype=F64)).shape == (7, 3)


@pytest.mark.parametrize("dtype", [torch.float32, F64], ids=["float32", "float64"])
def test_mlp_and_cnn_train_with_finite_gradients(dtype):
    torch.manual_seed(1)
    mlp = nn.Sequential(nn.Linear(6, 16), nn.ReLU(),
                        TargetedDropout(0.5, 0.5, mode="unit", target="input", ramp=3),
                        nn.Linear(16, 2))
    parametrize_weight(mlp[0], TargetedDropout(0.5, 0.5, ramp=3, schedule="piecewise"))
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    parametrize_weight(cnn[0], TargetedDropout(0.5, 0.5, mode="unit", ramp=3))
    parametrize_weight(cnn[3], TargetedDropout(0.5, 0.5))
    for net, x in ((mlp, torch.randn(32, 6)), (cnn, torch.randn(32, 1, 8, 8))):
        net.to(dtype).train()
        x, y = x.to(dtype), torch.randint(0, 2, (32,))
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        attach_schedules(net, opt)
        for _ in range(4):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            assert all(torch.isfinite(q.grad).all() for q in net.parameters())
            opt.step()
        layers = [m for m in net.modules() if isinstance(m, TargetedDropout)]
        assert layers and all(int(m.steps) == 4 for m in layers)
        assert all(q.dtype == dtype for q in net.parameters())


def test_forward_is_vmap_friendly():
    layer = TargetedDropout(0.5, 0.5)
    out = torch.func.vmap(layer, randomness="different")(torch.randn(3, 4, 5, dtype=F64))
    assert out.shape == (3, 4, 5) and layer.threshold is None  # no state written under vmap


# --------------------------------------------------------------------------- schedules, state
def test_ramps_advance_with_step_only():
    w = torch.randn(4, 10, dtype=F64)
    lin = TargetedDropout(0.4, 0.5, ramp=10)
    pw = TargetedDropout(0.4, 0.5, ramp=10, schedule="piecewise")
    for _ in range(5):
        lin(w), pw(w)
    assert int(lin.steps) == 0 and lin.current_p() == 0.0 and pw.current_gamma() == 0.0
    for t in range(1, 13):
        lin.step(), pw.step()
        frac = min(1.0, t / 10)
        assert lin.current_p() == pytest.approx(0.4 * frac) and lin.current_gamma() == 0.5
        assert pw.current_p() == pytest.approx(0.4 * frac)
        half = 2 * t / 10  # for-ai/TD: 95 % of γ over the first half, 5 % over the second
        gamma_t = 0.5 * (0.95 * min(1.0, half) + 0.05 * min(1.0, max(0.0, half - 1)))
        assert pw.current_gamma() == pytest.approx(gamma_t)
    pw.reset_state()
    pw.step(), pw.step()  # γ_2 = 0.19: ⌊1.9⌋ = 1 of 10 targeted per row
    assert torch.equal(pw.targeted_mask(w).sum(1), torch.ones(4, dtype=torch.long))
    assert TargetedDropout(0.4, 0.5, schedule="piecewise").ramp == 40_000


def test_state_dict_keeps_the_ramp_position_and_to_moves_buffers():
    layer = TargetedDropout(0.4, 0.5, ramp=10)
    layer.train()(torch.randn(3, 6, dtype=F64))
    for _ in range(7):
        layer.step()
    fresh = TargetedDropout(0.4, 0.5, ramp=10)
    fresh.load_state_dict(layer.state_dict())
    assert int(fresh.steps) == 7 and fresh.current_p() == pytest.approx(0.28)
    assert fresh.threshold == pytest.approx(layer.threshold)
    old = {"calls": torch.tensor(3), "last_threshold": torch.tensor(0.5, dtype=F64)}
    fresh.load_state_dict(old)  # a checkpoint from before the rename
    assert int(fresh.steps) == 3
    fresh.to(torch.float32)
    assert fresh.last_threshold.dtype == torch.float32
    fresh.to(F64)
    assert fresh.last_threshold.dtype == F64 and fresh.steps.dtype == torch.long


def test_threshold_and_penalty_converter():
    layer = TargetedDropout(0.3, 0.5)
    w = torch.tensor([0.1, -3.0, 0.2, 2.0], dtype=F64)
    layer(w)
    assert layer.threshold == pytest.approx(0.2)
    pen = layer.penalty()
    assert isinstance(pen, TDPenalty) and pen.rate == 0.3
    with pytest.raises(ValueError, match="training call"):
        TargetedDropout().penalty()


def test_prune_eval_zeroes_the_targeted_set():
    conv, layer = _conv(seed=5, gamma=0.5, p=0.5, prune_eval=True)
    w = conv.parametrizations.weight.original.detach()
    conv.eval()
    targeted = layer.targeted_mask(w)
    assert torch.equal(conv.weight.detach(), w * ~targeted)
    layer.prune_eval = False
    assert torch.equal(conv.weight.detach(), w)
    unit = TargetedDropout(0.5, 0.5, mode="unit", target="input", prune_eval=True).eval()
    x = torch.randn(10, 6, dtype=F64)
    assert torch.equal(unit(x), x * ~unit.targeted_mask(x))


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"p": 1.0}, "p"),
        ({"p": -0.1}, "p"),
        ({"gamma": 1.5}, "gamma"),
        ({"mode": "filter"}, "mode"),
        ({"mode": "weight", "target": "input"}, "mode"),
        ({"schedule": "cosine"}, "schedule"),
        ({"ramp": 0}, "ramp"),
        ({"prune_eval": 1}, "prune_eval"),
        ({"replica_dims": -1}, "replica_dims"),
        ({"weight_of": nn.Linear(2, 2)}, "weight_of"),
        ({"mode": "unit", "target": "input", "weight_of": nn.ReLU()}, "weight_of"),
        ({"target": "output"}, "target"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TargetedDropout(**kwargs)


def test_bad_call_inputs_name_the_argument():
    with pytest.raises(ValueError, match="z"):
        TargetedDropout()(torch.arange(4))
    with pytest.raises(ValueError, match="replica_dims"):
        TargetedDropout(replica_dims=2)(torch.ones(3, 4))
    conv = nn.Conv2d(3, 2, 2)
    with pytest.raises(ValueError, match="weight_of"):
        TargetedDropout(mode="unit", target="input", weight_of=conv)(torch.ones(2, 3))
