"""monte_carlo_module: K replicas of any nn.Module in one vmapped program.

The batched run is compared with K separate runs under the same keys (the Done-when of the
trainer), with a plain ``torch.optim.SGD`` loop written here (no vmap, no counter noise) when
no noise is drawn, and with hand-computed Polyak averages; the counter-based noise source is
checked for its distribution and its independence of the batching.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from dualreg.torch import (
    BernoulliDropout,
    GaussianDropout,
    Sparseout,
    VariationalDropout,
    parametrize_weight,
    regularization,
)
from dualreg.torch.noise import CounterNoise, replica_keys
from dualreg.torch.replicas import monte_carlo_module

SCALES = np.array([0.25, 1.0, 4.0, 1.0, 2.0])  # unequal column scales (a missing factor shows)


def _data(seed: int = 0, n: int = 48):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, SCALES.size)) * SCALES
    y = np.tanh(X[:, 0] - 0.3 * X[:, 2]) + 0.1 * rng.normal(size=n)
    return X, y


def _mlp(p_act: float = 0.3, weight_layer: bool | str = True, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    first = nn.Linear(SCALES.size, 6)
    if weight_layer in ("variational", "molchanov"):  # learned log σ², a KL term
        kl = "exact" if weight_layer == "variational" else "molchanov"
        parametrize_weight(first, VariationalDropout(lam=0.01, kl=kl, target="weight"))
    elif weight_layer:
        parametrize_weight(first, GaussianDropout(0.2, target="weight"))
    return nn.Sequential(first, nn.Tanh(), BernoulliDropout(p_act, target="input"),
                         nn.Linear(6, 1))


@pytest.mark.parametrize(("seed", "weight_layer"),
                         [(0, True), (7, "variational"), (3, "molchanov")])
@pytest.mark.parametrize("batch", [None, 12])
def test_batched_replicas_equal_separate_runs(seed, weight_layer, batch):
    X, y = _data(seed)
    kw = dict(steps=30, batch=batch, lr=0.05, progress=False)
    model = _mlp(seed=seed, weight_layer=weight_layer)
    res = monte_carlo_module(model, X, y, replicas=3, seed=seed, **kw)
    assert len(set(res.seeds.tolist())) == 3
    for k in range(3):
        one = monte_carlo_module(model, X, y, replicas=1, seed=[int(res.seeds[k])], **kw)
        for name, value in res.params.items():
            # float64, the same elementwise program: equal up to the rounding of a batched
            # matmul (≤ a few ulps per step over 30 steps)
            np.testing.assert_allclose(one.params[name][0], value[k], rtol=0, atol=1e-12,
                                       err_msg=name)


def test_a_custom_autograd_layer_runs_under_vmap():
    """Sparseout's stop-gradient backward is an autograd.Function with a generated vmap rule."""
    X, y = _data(5)
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), Sparseout(0.3, q=1.5), nn.Linear(6, 1))
    kw = dict(steps=15, batch=8, lr=0.05, progress=False)
    res = monte_carlo_module(model, X, y, replicas=2, seed=5, **kw)
    one = monte_carlo_module(model, X, y, replicas=1, seed=[int(res.seeds[1])], **kw)
    for name, value in res.params.items():
        np.testing.assert_allclose(one.params[name][0], value[1], rtol=0, atol=1e-12)


def test_replicas_differ_only_through_the_noise():
    X, y = _data()
    kw = dict(steps=20, lr=0.05, progress=False, seed=1)
    quiet = monte_carlo_module(_mlp(p_act=0.0, weight_layer=False), X, y, replicas=4, **kw)
    noisy = monte_carlo_module(_mlp(p_act=0.5, weight_layer=False), X, y, replicas=4, **kw)
    for name in quiet.params:
        assert np.all(quiet.params_se[name] == 0.0), name  # full batch, no noise: identical
    assert max(float(np.max(noisy.params_se[n])) for n in noisy.params) > 1e-4


def test_without_noise_equals_a_plain_sgd_loop_and_the_polyak_mean():
    """A hand loop with torch.optim.SGD (no vmap, no counter noise) and the mean of its iterates
    after burn-in: an independent computation of the trainer and of swa_utils' average."""
    X, y = _data(3)
    model = _mlp(p_act=0.0, weight_layer=False, seed=3)
    T, burn, lr = 25, 10, 0.05
    res = monte_carlo_module(model, X, y, replicas=2, steps=T, burn_in=burn, lr=lr,
                             progress=False, loss="gaussian")
    ref = _mlp(p_act=0.0, weight_layer=False, seed=3).double()
    opt = torch.optim.SGD(ref.parameters(), lr=lr)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    sums = {n: torch.zeros_like(p) for n, p in ref.named_parameters()}
    for t in range(T):
        opt.zero_grad()
        loss = 0.5 * ((ref(Xt).squeeze(-1) - yt) ** 2).mean()
        loss.backward()
        opt.step()
        if t >= burn:
            for n, p in ref.named_parameters():
                sums[n] += p.detach()
    for n, s in sums.items():
        expect = (s / (T - burn)).numpy()
        np.testing.assert_allclose(res.params[n][0], expect, rtol=1e-10, atol=1e-12, err_msg=n)
        np.testing.assert_allclose(res.params[n][1], expect, rtol=1e-10, atol=1e-12, err_msg=n)


def test_the_kl_term_is_trained():
    """With a variational weight layer the loss includes λ·KL: the trained log σ² differ from
    a run with a 100× smaller λ (the regulariser reaches the gradient)."""
    X, y = _data(1)
    runs = {}
    for lam in (1.0, 0.01):
        model = _mlp(weight_layer="variational", seed=1)
        model[0].parametrizations.weight[0].lam = lam
        assert float(regularization(model).detach()) > 0.0
        res = monte_carlo_module(model, X, y, replicas=2, steps=40, lr=0.05, progress=False)
        runs[lam] = next(v for k, v in res.params.items() if "log_sigma2" in k)
    assert np.max(np.abs(runs[1.0] - runs[0.01])) > 1e-3


def test_cross_entropy_on_integer_labels_and_result_reload():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 4))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), BernoulliDropout(0.2, target="input"),
                          nn.Linear(8, 3))
    res = monte_carlo_module(model, X, y, loss="cross_entropy", replicas=2, steps=40, lr=0.2,
                             progress=False)
    assert res.trace["loss"][-1] < res.trace["loss"][0]
    copy = res.load_into(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Identity(),
                                       nn.Linear(8, 3)).double(), 1)
    assert torch.equal(copy[0].weight, torch.as_tensor(res.params["0.weight"][1]))


def test_model_is_not_modified():
    X, y = _data()
    model = _mlp(weight_layer=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    monte_carlo_module(model, X, y, replicas=2, steps=5, progress=False)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert model[2].__dict__.get("noise_source") is None


@pytest.mark.parametrize(("kwargs", "name"), [
    (dict(replicas=0), "replicas"),
    (dict(steps=0), "steps"),
    (dict(lr=-1.0), "lr"),
    (dict(loss="hinge"), "loss"),
    (dict(average="median"), "average"),
    (dict(burn_in=50, steps=10), "burn_in"),
    (dict(optimizer=torch.optim.LBFGS), "optimizer"),
    (dict(seed=[1, 2]), "seed"),
    (dict(init="random"), "init"),
])
def test_bad_arguments_name_themselves(kwargs, name):
    X, y = _data()
    with pytest.raises(ValueError, match=name):
        monte_carlo_module(_mlp(weight_layer=False), X, y, progress=False, **kwargs)


def test_bad_data_and_models():
    X, y = _data()
    with pytest.raises(ValueError, match="model"):
        monte_carlo_module("not a model", X, y)
    with pytest.raises(ValueError, match="y must have"):
        monte_carlo_module(_mlp(), X, y[:-1], progress=False)
    Xbad = X.copy()
    Xbad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        monte_carlo_module(_mlp(), Xbad, y, progress=False)
    plain = nn.Sequential(nn.Linear(5, 4), nn.Dropout(0.5), nn.Linear(4, 1))
    with pytest.raises(ValueError, match="BernoulliDropout"):
        monte_carlo_module(plain, X, y, replicas=2, steps=2, progress=False)


def test_divergence_is_reported_with_the_step():
    X, y = _data()
    with pytest.raises(FloatingPointError, match="step"):
        monte_carlo_module(_mlp(weight_layer=False), X * 1e3, y, replicas=2, steps=200, lr=50.0,
                           progress=False)


# --------------------------------------------------------------------------- the noise source
def test_counter_noise_is_uniform_and_normal():
    noise = CounterNoise(12345)
    like = torch.zeros((), dtype=torch.float64)
    u = noise.rand(torch.Size((200_000,)), like).numpy()
    z = noise.randn(torch.Size((200_000,)), like).numpy()
    # KS at n = 2e5: a correct generator exceeds p < 1e-4 with probability 1e-4
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    assert stats.kstest(z, "norm").pvalue > 1e-4
    assert 0.0 <= u.min() and u.max() < 1.0
    # consecutive draws are different numbers; the same (key, step, draw) repeats
    again = CounterNoise(12345)
    assert np.array_equal(again.rand(torch.Size((5,)), like).numpy(), u[:5])
    assert not np.array_equal(noise.rand(torch.Size((5,)), like).numpy(), u[:5])


def test_counter_noise_under_vmap_equals_per_key_draws():
    keys = replica_keys(4, 3)
    noise = CounterNoise()
    like = torch.zeros((), dtype=torch.float64)

    def draw(key):
        noise.begin(key, 2)
        return noise.rand(torch.Size((6,)), like)

    batched = torch.func.vmap(draw)(keys)
    for k in range(3):
        assert torch.equal(batched[k], draw(keys[k]))
    assert not torch.equal(batched[0], batched[1])


def test_default_generator_path_is_unchanged():
    layer = BernoulliDropout(0.4, target="input")
    x = torch.ones(3, 5, dtype=torch.float64)
    torch.manual_seed(9)
    a = layer(x)
    torch.manual_seed(9)
    u = torch.rand((3, 5), dtype=torch.float32)
    assert torch.equal(a, x * (u < 0.6) / 0.6)
