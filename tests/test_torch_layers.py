"""Dropout layers and the trainer's contract: semantics, gradients, validation, seeds, errors.

Statistical checks use k = 4 standard errors of a Monte-Carlo mean over seeded draws (a
correct implementation fails one with probability ~6e-5 per coordinate, and the seed makes
the outcome reproducible); deterministic identities use floating-point tolerances.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dualreg import datasets
from dualreg.penalties import (
    L1,
    MCP,
    Floored,
    Log2Sum,
    LogSum,
    Lp,
    Ridge,
    VarDrop,
    VarDropApprox,
    from_eta_hat,
)
from dualreg.penalties import Sparseout as SparseoutPenalty
from dualreg.penalties import YDrop as YDropPenalty
from dualreg.torch import (
    AdaptiveDropout,
    BernoulliDropout,
    GaussianDropout,
    Sparseout,
    TargetedDropout,
    VariationalDropout,
    YDrop,
    conductance,
    hoyer,
    monte_carlo,
    torch_eta_hat,
)

K_SE = 4.0  # standard errors for Monte-Carlo means (module docstring)
F64 = torch.float64


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _data(n=60, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, datasets.response(rng, X @ np.linspace(1.0, -1.0, d), noise=0.3)


# --------------------------------------------------------------------------- nn.Dropout semantics
@pytest.mark.parametrize(
    "layer",
    [
        BernoulliDropout(0.3),
        GaussianDropout(0.5),
        Sparseout(0.3, 1.5),
        AdaptiveDropout(LogSum(0.1), 0.1),
        TargetedDropout(0.5, 0.5),
        VariationalDropout(0.1, shape=(5,)),
    ],
    ids=lambda m: type(m).__name__,
)
def test_eval_is_identity_and_training_is_random(layer):
    w = torch.linspace(-1.0, 1.5, 5, dtype=F64)
    if isinstance(layer, VariationalDropout):
        layer.build((5,), dtype=F64)
    layer.generator = _gen()
    layer.eval()
    assert torch.equal(layer(w), w)
    layer.train()
    draws = torch.stack([layer(w) for _ in range(50)])
    assert not torch.all(draws == w)  # some noise was applied


def test_bernoulli_mask_values_and_moments():
    layer = BernoulliDropout(0.25)
    layer.generator = _gen(1)
    z = torch.ones(200_000, dtype=F64)
    out = layer(z)
    vals = torch.unique(out)
    assert torch.allclose(vals, torch.tensor([0.0, 1 / 0.75], dtype=F64))
    # Mean 1 and variance p/(1−p) = 1/3 within 4 standard errors of 200k draws.
    se_mean = (1 / 3 / z.numel()) ** 0.5
    assert abs(out.mean().item() - 1.0) < K_SE * se_mean
    var = out.var().item()
    se_var = ((out - 1).pow(4).mean().item() - var**2) ** 0.5 / z.numel() ** 0.5
    assert abs(var - 1 / 3) < K_SE * se_var
    assert BernoulliDropout(0.0)(z) is z  # p = 0: no noise at all


def test_input_target_masks_are_per_sample_and_unit():
    layer = BernoulliDropout(0.5, target="input")
    layer.generator = _gen(2)
    x = torch.ones(3, 100, 4, dtype=F64)  # (K, B, d)
    out = layer(x)
    # Different samples get different masks (a shared mask would make rows identical).
    assert not torch.all(out[:, :1, :] == out)
    w = torch.ones(3, 4, dtype=F64)
    theta = layer.noisy_linear(torch.ones(100, 4, dtype=F64), w)
    assert theta.shape == (3, 100)


@pytest.mark.parametrize(
    "make",
    [lambda: BernoulliDropout(0.3, target="input"),
     lambda: AdaptiveDropout(LogSum(0.1), 0.05, keep_floor=0.05, target="input"),
     lambda: YDrop(0.1, 0.5)],
    ids=["bernoulli", "adaptive", "ydrop"],
)
def test_fused_input_path_equals_masking_the_inputs(make):
    """The trainer's fused path (with or without scratch buffers) gives the numbers of masking
    x with the same uniforms and inverted scaling, up to rounding."""
    X = torch.randn(30, 4, dtype=F64, generator=_gen(10))
    w = torch.randn(3, 4, dtype=F64, generator=_gen(11))
    outs = []
    for reuse in (False, True):
        layer = make()
        layer.generator = _gen(12)
        layer.reuse_buffers = reuse
        outs.append(layer.noisy_linear(X, w))
    assert torch.equal(outs[0], outs[1])
    layer = make()
    keep = layer._input_keep(X, w)
    u = torch.rand((3, 30, 4), generator=_gen(12), dtype=torch.float32)
    masked = X * (u < keep.to(torch.float32).unsqueeze(-2)) / keep.unsqueeze(-2)
    expected = (masked * w.unsqueeze(-2)).sum(-1)
    assert torch.allclose(outs[0], expected, rtol=1e-13, atol=1e-13)


def test_penalty_objects_of_fixed_rate_layers():
    assert BernoulliDropout(0.2).penalty().weight == pytest.approx(0.25)
    assert GaussianDropout(0.3).penalty().weight == pytest.approx(0.3)
    with pytest.raises(ValueError, match="p = 0"):
        BernoulliDropout(0.0).penalty()
    for grad in ("stop", "autograd"):
        pen = Sparseout(0.2, 1.5, grad=grad).penalty()
        assert isinstance(pen, SparseoutPenalty) and pen.grad == grad and pen.q == 1.5
    assert isinstance(VariationalDropout(0.1).penalty(), VarDrop)
    assert isinstance(VariationalDropout(0.1, kl="molchanov").penalty(), VarDropApprox)


# ----------------------------------------------------------------- autograd vs closed form
@pytest.mark.parametrize("target", ["weight", "input"])
def test_autograd_through_masks_matches_closed_form_expected_loss(target):
    r"""Mean over many masks of the sampled loss and of its autograd gradient equals the closed
    form :math:`L(w) + \tfrac12 v\sum_j c_j w_j^2` and its gradient (4 standard errors)."""
    X, y = _data(n=40, d=3, seed=3)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    p = 0.3
    v = p / (1 - p)
    layer = BernoulliDropout(p, target=target)
    layer.generator = _gen(4)
    M = 4000
    w = torch.tensor([0.7, -0.4, 1.1], dtype=F64).expand(M, 3).clone().requires_grad_(True)
    theta = layer.noisy_linear(Xt, w)  # (M, n): M independent mask draws
    losses = 0.5 * ((yt - theta) ** 2).mean(-1)
    (grads,) = torch.autograd.grad(losses.sum(), w)
    w0 = w[0].detach().numpy()
    c = (X**2).mean(0)
    closed = 0.5 * np.mean((y - X @ w0) ** 2) + 0.5 * v * np.sum(c * w0**2)
    closed_grad = X.T @ (X @ w0 - y) / len(y) + v * c * w0
    lv = losses.detach().numpy()
    gv = grads.numpy()
    assert abs(lv.mean() - closed) < K_SE * lv.std(ddof=1) / np.sqrt(M)
    assert np.all(np.abs(gv.mean(0) - closed_grad) < K_SE * gv.std(0, ddof=1) / np.sqrt(M))


# --------------------------------------------------------------------------- Sparseout
@pytest.mark.parametrize("q", [1.0, 1.5, 3.0])
def test_sparseout_backward_conventions(q):
    r"""autograd convention = torch autograd of the plain formula (|z| > eps); stop-gradient =
    the noise factor :math:`|z|^{(q-2)/2}\xi` held constant; both guarded at z = 0."""
    z = torch.tensor([-1.3, -0.2, 0.05, 0.7, 2.0], dtype=F64)
    kept = torch.tensor([True, False, True, True, False])
    xi = kept.to(F64) / 0.7 - 1.0  # ξ = m/(1 − p) − 1 for a chosen mask m

    def fixed_uniforms(shape, like):  # u < 0.7 ⇔ kept
        return torch.where(kept, 0.0, 0.99).to(like.dtype)

    layer = Sparseout(0.3, q, grad="autograd")
    layer._rand = fixed_uniforms
    za = z.clone().requires_grad_(True)
    out = layer(za)
    (ga,) = torch.autograd.grad(out.sum(), za)
    zr = z.clone().requires_grad_(True)
    plain = zr + torch.sign(zr) * zr.abs() ** (q / 2) * xi
    (gr,) = torch.autograd.grad(plain.sum(), zr)
    assert torch.allclose(out, plain.detach(), rtol=1e-14, atol=0)
    assert torch.allclose(ga, gr, rtol=1e-12, atol=0)
    stop = Sparseout(0.3, q, grad="stop")
    stop._rand = fixed_uniforms
    zs = z.clone().requires_grad_(True)
    (gs,) = torch.autograd.grad(stop(zs).sum(), zs)
    factor = 1 + z.abs() ** ((q - 2) / 2) * xi
    assert torch.allclose(gs, factor, rtol=1e-12, atol=0)
    # Guard at 0: finite gradients for q < 2 (the raw factor |z|^{(q−2)/2} is infinite there).
    z0 = torch.zeros(5, dtype=F64, requires_grad=True)
    (g0,) = torch.autograd.grad(stop(z0).sum(), z0)
    assert torch.all(torch.isfinite(g0))


# --------------------------------------------------------------------------- adaptive
@pytest.mark.parametrize("penalty", [LogSum(0.1), Lp(0.5), L1(), Ridge(), Log2Sum(0.5)])
def test_torch_fast_path_matches_numpy_penalty(penalty):
    w = torch.tensor([0.0, 1e-6, 0.03, -0.4, 2.5, -17.0], dtype=F64)
    fast = torch_eta_hat(penalty, w.abs())
    assert fast is not None
    np.testing.assert_allclose(fast.numpy(), penalty.eta_hat(w.numpy()), rtol=1e-14)
    c = torch.tensor([0.5, 1.0, 2.0, 1.5, 0.7, 1.0], dtype=F64)
    for mask in ("bernoulli", "gaussian"):
        a = AdaptiveDropout(penalty, 0.2, mask=mask, keep_floor=0.01, fast=True)
        b = AdaptiveDropout(penalty, 0.2, mask=mask, keep_floor=0.01, fast=False)
        a.set_column_scale(c)
        b.set_column_scale(c)
        np.testing.assert_allclose(a.rates(w).numpy(), b.rates(w).numpy(), rtol=1e-13)


def test_adaptive_rates_use_penalty_object_and_floor():
    pen = LogSum(0.1)
    layer = AdaptiveDropout(pen, 0.3, keep_floor=0.05, fast=False)
    w = torch.tensor([0.0, 0.01, 0.5, 3.0], dtype=F64)
    expected = np.maximum(pen.keep_prob(w.numpy(), 0.3, 1.0), 0.05)
    np.testing.assert_allclose(layer.rates(w).numpy(), expected, rtol=1e-14)
    # keep floor α_min ↔ IRLS η floor λα_min/(c(1−α_min)).
    assert layer.eta_floor(2.0) == pytest.approx(0.3 * 0.05 / (2.0 * 0.95), rel=1e-14)
    g = AdaptiveDropout(pen, 0.3, mask="gaussian", keep_floor=0.05)
    assert g.rates(w).max().item() == pytest.approx(0.95 / 0.05)


def test_floored_penalty_faces_are_consistent():
    base = LogSum(0.1)
    eta_min = 0.02
    fp = Floored(base, eta_min)
    t = np.array([0.0, 0.05, fp.t_star, 0.3, 2.0])
    np.testing.assert_allclose(fp.eta_hat(t), np.maximum(base.eta_hat(t), eta_min), rtol=1e-14)
    # Ω' = t/η̂ against a central difference of Ω (smooth away from t*: relative 1e-7).
    s = np.array([0.05, 0.3, 2.0])
    h = 1e-6
    fd = (fp.value(s + h) - fp.value(s - h)) / (2 * h)
    np.testing.assert_allclose(fd, fp.derivative(s), rtol=1e-7)
    # Continuity at t* and Ω(√θ) concave (subquadratic) on a grid.
    ts = fp.t_star
    assert abs(fp.value(np.array([ts * (1 + 1e-9)]))[0] - ts**2 / (2 * eta_min)) < 1e-9
    theta = np.linspace(0, 4, 2001)
    g = fp.value(np.sqrt(theta))
    assert np.max(np.diff(g, 2)) < 1e-12
    # The same penalty from the generic rule constructor (graded quadrature, ~1e-14 here;
    # 1e-10 allows its error estimate) — closed form and quadrature agree, value and dual.
    rule = from_eta_hat(lambda t: np.maximum(base.eta_hat(t), eta_min), name="floored")
    assert rule.curvature_class == "subquadratic"
    np.testing.assert_allclose(fp.value(t), rule.value(t), rtol=1e-10, atol=1e-12)
    e = np.array([eta_min, 0.1, 1.0, 10.0])
    np.testing.assert_allclose(fp.dual(e), rule.dual(e), rtol=1e-10, atol=1e-12)
    # Ω = ½ min_η [w²/η + f(η)] over η ≥ η_min, by a dense log grid (grid error < 1e-4).
    etas = np.geomspace(eta_min, 1e3, 200001)
    for w in (0.05, 0.3, 2.0):
        direct = 0.5 * np.min(w**2 / etas + fp.dual(etas))
        assert abs(direct - fp.value(np.array([w]))[0]) < 1e-4


# --------------------------------------------------------------------------- targeted
def test_targeted_dropout_targets_bottom_fraction_per_column_without_rescaling():
    layer = TargetedDropout(p=0.9, gamma=0.5)
    layer.generator = _gen(6)
    W = torch.tensor([[0.1, -3.0, 0.2, 2.0], [5.0, 0.01, -4.0, -0.02]], dtype=F64)
    targeted = TargetedDropout.targeted_set(W.abs(), 0.5)
    assert torch.equal(targeted, torch.tensor([[1, 0, 1, 0], [0, 1, 0, 1]], dtype=torch.bool))
    draws = torch.stack([layer(W) for _ in range(200)])
    # Untargeted weights are never touched; targeted ones are either kept as is or zeroed.
    assert torch.all(draws[:, ~targeted] == W[~targeted])
    t_vals = draws[:, targeted]
    assert torch.all((t_vals == 0) | (t_vals == W[targeted]))
    frac = (t_vals == 0).double().mean().item()
    se = (0.9 * 0.1 / t_vals.numel()) ** 0.5
    assert abs(frac - 0.9) < K_SE * se
    # Unit mode on a weight matrix drops whole rows (units ranked by row norm).
    unit = TargetedDropout(p=1.0 - 1e-12, gamma=0.5, mode="unit")
    unit.generator = _gen(7)
    out = unit(W)
    assert torch.all(out[0] == 0) and torch.equal(out[1], W[1])


def test_targeted_ramp():
    layer = TargetedDropout(p=0.5, gamma=0.5, ramp=10)
    layer.generator = _gen(8)
    w = torch.arange(1.0, 5.0, dtype=F64)
    layer(w)  # forward calls never move the ramp; optimizer steps do
    assert layer.current_p() == 0.0
    layer.step()
    assert layer.current_p() == pytest.approx(0.05)
    layer.reset_state()
    assert layer.current_p() == 0.0


# --------------------------------------------------------------------------- Y-Drop
def test_conductance_linear_head_is_exact_for_any_steps():
    torch.manual_seed(0)
    feat = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh()).double()
    w = torch.tensor([0.5, -1.0, 2.0, 0.3], dtype=F64)
    x = torch.randn(7, 3, dtype=F64)
    exact = w * (feat(x) - feat(torch.zeros_like(x))).detach()
    for steps in (1, 3, 16):
        got = conductance(feat, lambda h: h @ w, x, steps=steps)
        assert torch.allclose(got, exact, rtol=1e-12, atol=1e-14)


def test_conductance_nonlinear_head_trapezoid_converges_quadratically():
    torch.manual_seed(1)
    feat = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh()).double()
    head = lambda h: torch.sin(h).sum(-1) + (h**2).sum(-1)  # noqa: E731
    x = torch.randn(5, 3, dtype=F64)
    ref = conductance(feat, head, x, steps=1024)
    e8 = (conductance(feat, head, x, steps=8) - ref).abs().max().item()
    e16 = (conductance(feat, head, x, steps=16) - ref).abs().max().item()
    # Trapezoid error O(1/m²): halving the step divides it by ~4 (3 to 5 allows the O(1/m⁴) term).
    assert 3.0 < e8 / e16 < 5.0
    # Completeness: Σ_j Cond_j = F(x) − F(x′) up to the quadrature error.
    total = ref.sum(-1)
    delta = head(feat(x)) - head(feat(torch.zeros_like(x)))
    assert torch.allclose(total, delta.detach(), atol=1e-4)


def test_ydrop_rates_bucket_continuous_mirrored():
    imp = torch.tensor([[0.1, 3.0, 0.5, 2.0]], dtype=F64)
    ydrop = YDrop(0.1, 0.5)
    np.testing.assert_allclose(ydrop.drop_rates(imp).numpy(), [[0.1, 0.5, 0.1, 0.5]])
    mirrored = YDrop(0.1, 0.5, mirrored=True)
    np.testing.assert_allclose(mirrored.drop_rates(imp).numpy(), [[0.5, 0.1, 0.5, 0.1]])
    cont = YDrop(0.1, 0.5, mapping="continuous")
    rates = cont.drop_rates(imp)[0].numpy()
    assert np.all(np.diff(rates[np.argsort(imp[0].numpy())]) > 0)  # increasing in importance
    # The continuous rule is the one of penalties.YDrop (odds from |w|/τ at λ = c = 1).
    pen = YDropPenalty(0.1, 0.5, cont.tau, mapping="continuous")
    odds = rates / (1 - rates)
    t = imp[0].numpy()
    np.testing.assert_allclose(odds, 1.0 / pen.eta_hat(t), rtol=1e-12)


# --------------------------------------------------------------------------- variational
def test_variational_kl_matches_penalty_duals_and_gradient():
    ls = torch.linspace(-8, 6, 29, dtype=F64)
    for kl, pen in (("exact", VarDrop()), ("molchanov", VarDropApprox())):
        layer = VariationalDropout(0.1, kl=kl)
        layer.build((29,), dtype=F64)
        with torch.no_grad():
            layer.log_sigma2.copy_(ls)
        val = layer.kl_divergence()
        np.testing.assert_allclose(val.detach().numpy(), 0.5 * pen.dual(np.exp(-ls.numpy())),
                                   rtol=1e-12, atol=1e-14)
        (g,) = torch.autograd.grad(val.sum(), layer.log_sigma2)
        eta = np.exp(-ls.numpy())
        # d/d log σ² of ½ f(1/σ²) = −½ η f'(η).
        np.testing.assert_allclose(g.numpy(), -0.5 * eta * pen.dual_derivative(eta),
                                   rtol=1e-10, atol=1e-14)


def test_local_reparameterisation_has_the_right_moments():
    X = torch.tensor([[1.0, -2.0, 0.5]], dtype=F64)
    w = torch.tensor([0.8, 0.3, -1.2], dtype=F64)
    layer = VariationalDropout(0.1, local_reparam=True)
    layer.build((3,), dtype=F64)
    layer.log_sigma2.data = torch.tensor([-1.0, 0.0, -2.0], dtype=F64)
    layer.generator = _gen(9)
    M = 100_000
    th = layer.noisy_linear(X, w.expand(M, 3))[:, 0]
    var = float((X**2 @ (torch.exp(layer.log_sigma2.data) * w**2)).item())
    mean = float((X @ w).item())
    assert abs(th.mean().item() - mean) < K_SE * (var / M) ** 0.5
    assert abs(th.var().item() - var) < K_SE * var * (2 / M) ** 0.5


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: BernoulliDropout(1.0), "p"),
        (lambda: BernoulliDropout(-0.1), "p"),
        (lambda: BernoulliDropout(float("nan")), "p"),
        (lambda: GaussianDropout(-1.0), "sigma2"),
        (lambda: GaussianDropout(p=1.0), "p"),
        (lambda: GaussianDropout(0.5, p=0.2), "p"),
        (lambda: YDrop(baseline=torch.tensor([0.0, float("nan")])), "baseline"),
        (lambda: Sparseout(0.2, 0.0), "q"),
        (lambda: Sparseout(0.2, -1.0), "q"),
        (lambda: Sparseout(1.2, 1.0), "p"),
        (lambda: Sparseout(0.2, 1.0, grad="straight"), "grad"),
        (lambda: BernoulliDropout(0.2, target="output"), "target"),
        (lambda: AdaptiveDropout(LogSum(), 0.1, keep_floor=0.0), "keep_floor"),
        (lambda: AdaptiveDropout(LogSum(), -0.1), "lam"),
        (lambda: AdaptiveDropout(LogSum(), 0.1, mask="uniform"), "mask"),
        (lambda: AdaptiveDropout("logsum", 0.1), "penalty"),
        (lambda: TargetedDropout(1.0, 0.5), "p"),
        (lambda: TargetedDropout(0.5, 1.5), "gamma"),
        (lambda: YDrop(0.6, 0.2), "p_low"),
        (lambda: YDrop(0.1, 1.0), "p_high"),
        (lambda: VariationalDropout(0.0), "lam"),
        (lambda: VariationalDropout(0.1, kl="approx"), "kl"),
    ],
)
def test_bad_layer_arguments_name_the_argument(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_gaussian_dropout_from_a_drop_probability_matches_bernoulli_moments():
    # E s = 1 and E s^2 = 1 + sigma2 = 1/(1 - p), the inverted Bernoulli mask's second moment
    for p in (0.1, 0.5, 0.8):
        assert GaussianDropout(p=p).sigma2 == pytest.approx(p / (1 - p), rel=1e-15)
        assert 1 + GaussianDropout(p=p).sigma2 == pytest.approx(1 / (1 - p), rel=1e-15)
    assert GaussianDropout().sigma2 == 1.0


def test_superquadratic_penalty_has_no_adaptive_rule():
    from dualreg.penalties import Power

    with pytest.raises(ValueError, match="η-form"):
        AdaptiveDropout(Power(3.0), 0.1)
    assert AdaptiveDropout(MCP(), 0.1).penalty().name == "MCP"


def test_input_target_needs_weight():
    layer = AdaptiveDropout(LogSum(), 0.1, target="input")
    with pytest.raises(ValueError, match="weight=w"):
        layer(torch.ones(3, 2, dtype=F64))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"X": np.ones(5)}, "X"),
        ({"y": np.ones(7)}, "y"),
        ({"X": np.full((6, 2), np.nan)}, "X"),
        ({"y": np.array([0, 1, np.inf, 0, 1, 0.0])}, "y"),
        ({"family": "gamma"}, "family"),
        ({"replicas": 0}, "replicas"),
        ({"steps": 2.5}, "steps"),
        ({"batch": 0}, "batch"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("inf")}, "lr"),
        ({"burn_in": 10}, "burn_in"),
        ({"average": "ema"}, "average"),
        ({"schedule": "cosine"}, "schedule"),
        ({"init": np.ones(3)}, "init"),
        ({"layer": torch.nn.Dropout(0.5)}, "layer"),
        ({"family": "binomial", "y": np.array([0, 1, 2, 0, 1, 0.0])}, "y"),
        ({"family": "poisson", "y": -np.ones(6)}, "y"),
    ],
)
def test_bad_trainer_arguments_name_the_argument(kwargs, name):
    args = {"X": np.ones((6, 2)), "y": np.zeros(6), "layer": BernoulliDropout(0.2),
            "steps": 10, "replicas": 2, "progress": False}
    args.update(kwargs)
    X, y, layer = args.pop("X"), args.pop("y"), args.pop("layer")
    with pytest.raises(ValueError, match=name):
        monte_carlo(X, y, layer, **args)


# --------------------------------------------------------------------------- trainer contract
def test_same_seed_same_result_and_replicas_independent():
    X, y = _data()
    w0 = np.linalg.lstsq(X, y, rcond=None)[0]  # away from the absorbing zero of LogSum
    kw = {"replicas": 4, "steps": 50, "lr": 0.05, "progress": False, "init": w0}
    a = monte_carlo(X, y, AdaptiveDropout(LogSum(0.1), 0.05), seed=3, **kw)
    b = monte_carlo(X, y, AdaptiveDropout(LogSum(0.1), 0.05), seed=3, **kw)
    c = monte_carlo(X, y, AdaptiveDropout(LogSum(0.1), 0.05), seed=4, **kw)
    assert np.array_equal(a.coef, b.coef) and np.array_equal(a.trace["loss"], b.trace["loss"])
    assert not np.array_equal(a.coef, c.coef)
    assert not np.allclose(a.coef[0], a.coef[1])  # replicas draw their own masks
    assert a.coef.shape == (4, 4) and a.coef_se.shape == (4,)
    np.testing.assert_allclose(a.coef_se, a.coef.std(0, ddof=1) / 2.0)
    assert a.trace["coef"].shape[1] == 4 and a.device == "cpu"


def test_minibatches_intercept_and_families_run():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    yb = (rng.random(50) < 0.5).astype(float)
    yp = rng.poisson(1.0, 50).astype(float)
    for fam, y in (("binomial", yb), ("poisson", yp)):
        layer = AdaptiveDropout(Lp(0.5), 0.05, target="input", keep_floor=0.2)
        r = monte_carlo(X, y, layer, family=fam, batch=8, intercept=True, replicas=3, steps=40,
                        lr=0.05, init=np.full(3, 0.1), progress=False)
        assert np.all(np.isfinite(r.coef)) and r.intercept.shape == (3,)
        assert r.column_scale.shape == (3, 3)  # c_j(w) per replica for a GLM


def test_nonfinite_training_stops_with_step_and_quantity():
    X, y = _data()
    with pytest.raises(FloatingPointError, match=r"non-finite .* at step \d+"):
        monte_carlo(X * 1e3, y, BernoulliDropout(0.2), replicas=2, steps=500, lr=10.0,
                    progress=False)


def test_nonfinite_training_with_numpy_rates_reports_the_step():
    X, y = _data()
    layer = AdaptiveDropout(MCP(), 0.05)  # no torch fast path: rates via numpy
    with pytest.raises(FloatingPointError, match=r"at step \d+"):
        monte_carlo(X * 1e3, y, layer, replicas=2, steps=500, lr=10.0, progress=False)


def test_hoyer_measure():
    assert hoyer(torch.tensor([0.0, 0.0, 3.0], dtype=F64)).item() == pytest.approx(1.0)
    assert hoyer(torch.tensor([1.0, -1.0, 1.0], dtype=F64)).item() == pytest.approx(0.0, abs=1e-15)
    assert hoyer(np.zeros((2, 4))).shape == (2,)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_run_agrees_with_cpu_statistically():
    X, y = _data(n=200, d=4, seed=1)
    kw = {"replicas": 64, "steps": 1500, "lr": 0.1, "progress": False}
    gpu = monte_carlo(X, y, BernoulliDropout(0.3), device="cuda", seed=1, **kw)
    cpu = monte_carlo(X, y, BernoulliDropout(0.3), device="cpu", seed=2, **kw)
    assert gpu.device.startswith("cuda")
    se = np.hypot(gpu.coef_se, cpu.coef_se)
    assert np.all(np.abs(gpu.coef_mean - cpu.coef_mean) < K_SE * se)
    again = monte_carlo(X, y, BernoulliDropout(0.3), device="cuda", seed=1, **kw)
    np.testing.assert_allclose(again.coef, gpu.coef, rtol=1e-12)
