"""Magnitude pruning (``dualreg.torch.pruning``) against a sort done by hand, the targeted
dropout's explicit penalty of the targeted-pruning figure against its formula, and the Y-Drop
width figure's importance against the library's path-integral conductance."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from dualreg.torch import BernoulliDropout, TargetedDropout, parametrize_weight  # noqa: E402
from dualreg.torch.pruning import prunable_modules, prune, pruning_mask  # noqa: E402


def _by_hand(w: np.ndarray, fraction: float, kind: str) -> np.ndarray:
    """The entries magnitude pruning removes, by sorting each row (or the row norms)."""
    flat = w.reshape(w.shape[0], -1)
    out = np.zeros_like(flat, dtype=bool)
    if kind == "weight":
        k = int(np.floor(fraction * flat.shape[1] + 1e-9))
        for o, row in enumerate(flat):
            out[o, np.argsort(np.abs(row), kind="stable")[:k]] = True
    else:
        k = int(np.floor(fraction * flat.shape[0] + 1e-9))
        out[np.argsort(np.linalg.norm(flat, axis=1), kind="stable")[:k]] = True
    return out.reshape(w.shape)


@pytest.mark.parametrize("shape", [(7, 11), (5, 3, 2, 2)])
@pytest.mark.parametrize("kind", ["weight", "unit"])
@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.5, 0.99, 1.0])
def test_pruning_mask_matches_a_sort_by_hand(shape, kind, fraction):
    rng = np.random.default_rng(3)
    # Unequal row scales, so that ranking over the whole tensor instead of per row would fail.
    w = rng.standard_normal(shape) * np.geomspace(0.01, 10, shape[0]).reshape(-1, *(1,) * (
        len(shape) - 1))
    got = pruning_mask(torch.as_tensor(w), fraction, kind).numpy()
    np.testing.assert_array_equal(got, _by_hand(w, fraction, kind))


def test_prune_zeroes_rows_and_biases_and_counts():
    torch.manual_seed(0)
    lin = nn.Linear(6, 10)
    norms = lin.weight.detach().norm(dim=1)
    zeroed = prune([lin], 0.3, "unit")
    gone = norms.argsort()[:3]
    assert zeroed == 3 * 6
    assert torch.all(lin.weight[gone] == 0) and torch.all(lin.bias[gone] == 0)
    kept = norms.argsort()[3:]
    assert torch.all(lin.weight[kept] != 0) and torch.all(lin.bias[kept] != 0)


def test_prune_acts_on_the_original_of_a_parametrized_weight():
    torch.manual_seed(0)
    lin = parametrize_weight(nn.Linear(8, 4), BernoulliDropout(0.5))
    prune([lin], 0.5, "weight")
    original = lin.parametrizations.weight.original
    assert int((original == 0).sum()) == 4 * 4
    lin.eval()
    assert torch.equal(lin.weight, original)


def test_prunable_modules_leave_out_the_head():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 5), nn.ReLU(),
                        nn.Linear(5, 3))
    assert prunable_modules(net) == [net[0], net[2]]
    assert prunable_modules(net, include_last=True)[-1] is net[4]


@pytest.mark.parametrize("bad, match", [(1.5, "fraction"), (float("nan"), "fraction")])
def test_bad_fraction_names_the_argument(bad, match):
    with pytest.raises(ValueError, match=match):
        pruning_mask(torch.zeros(2, 2), bad, "weight")


def test_bad_kind_names_the_argument():
    with pytest.raises(ValueError, match="kind"):
        pruning_mask(torch.zeros(2, 2), 0.5, "row")


def test_trimmed_ridge_equals_its_formula():
    """½·p/(1−p)·Σ_targeted c_j w_j², c_j = batch mean of x_j², the bottom-γ of every row."""
    from dualreg.plots.targeted_pruning import TrimmedRidge

    torch.manual_seed(1)
    lin = nn.Linear(5, 3).double()
    x = torch.randn(40, 5, dtype=torch.float64) * torch.tensor([0.1, 1.0, 3.0, 0.5, 2.0],
                                                              dtype=torch.float64)
    layer = TargetedDropout(0.6, 0.4)  # no ramp: p_t = 0.6, γ = 0.4 → 2 of 5 per row
    ridge = TrimmedRidge([lin], layer)
    lin(x)
    got = float(ridge(lin, x).detach())
    w = lin.weight.detach().numpy()
    c = (x.numpy() ** 2).mean(0)
    expected = 0.0
    for row in w:
        small = np.argsort(np.abs(row))[:2]
        expected += float((c[small] * row[small] ** 2).sum())
    expected *= 0.5 * 0.6 / 0.4
    assert got == pytest.approx(expected, rel=1e-12)
    ridge.remove()
    assert not lin._forward_pre_hooks


def test_trimmed_ridge_conv_second_moment_is_per_input_channel():
    from dualreg.plots.targeted_pruning import TrimmedRidge

    torch.manual_seed(2)
    conv = nn.Conv2d(2, 3, 2).double()
    x = torch.randn(4, 2, 5, 5, dtype=torch.float64)
    x[:, 1] *= 4.0
    ridge = TrimmedRidge([conv], TargetedDropout(0.5, 1.0))  # everything targeted
    conv(x)
    c = (x**2).mean(dim=(0, 2, 3))
    expected = 0.5 * 1.0 * float((c.view(1, -1, 1, 1) * conv.weight.detach() ** 2).sum())
    assert float(ridge(conv, x).detach()) == pytest.approx(expected, rel=1e-12)


def test_ydrop_width_importance_is_the_path_integral_conductance():
    """For the one-hidden-layer network the figure's m_j = mean |w_{y_i j} h_ij| equals the
    mean |conductance| that the library's Riemann path integral computes (with h(0) = 0)."""
    from dualreg.plots.ydrop_width import _network, effective_fraction, importance
    from dualreg.torch.attribution import layer_conductance

    torch.manual_seed(4)
    net = _network(6, 9, 4, "none", 10).double().eval()
    with torch.no_grad():
        net.hidden.bias.zero_()  # h(0) = 0: the input baseline 0 is the activation baseline 0
    X = np.random.default_rng(5).standard_normal((30, 6))
    y = np.random.default_rng(6).integers(0, 4, 30)
    hidden = nn.Sequential(net.hidden, nn.ReLU())
    model = nn.Sequential(hidden, net.head)
    cond = layer_conductance(model, hidden, torch.as_tensor(X), target=torch.as_tensor(y),
                             steps=64)
    # The head is linear, so the Riemann sum telescopes: exact up to rounding.
    np.testing.assert_allclose(importance(net, X, y), cond.abs().mean(0).detach().numpy(),
                               rtol=1e-10, atol=1e-14)
    assert effective_fraction(np.array([1.0, 1.0, 0.0, 0.0])) == pytest.approx(0.5)
    assert effective_fraction(np.ones(7)) == pytest.approx(1.0)


@pytest.mark.parametrize("gamma", [0.0, 0.1, 0.3, 0.5, 0.77, 1.0])
def test_targeted_set_breaks_ties_by_lower_index(gamma):
    """The selection (k-th value, then ties by index) equals ranking by a stable sort, on
    scores with many ties."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        score = torch.randint(0, 4, (5, 9), generator=gen).double()
        k = int(np.floor(gamma * 9 + 1e-9))
        expected = score.argsort(dim=-1, stable=True).argsort(dim=-1) < k
        assert torch.equal(TargetedDropout.targeted_set(score, gamma), expected)
