"""Adding a family is one file: a Family subclass with a name, and every layer that asks the
family object (the model functions, IRLS, the torch trainer's losses) works with it.

The plugin is the symmetric ±1 family (a "spin": P(y) ∝ e^{θy}, y ∈ {−1, 1}), with
A(θ) = log(2 cosh θ), A' = tanh θ, A'' = 1 − tanh² θ ≤ 1. It is written to a separate file,
as a user would, and loaded under a private name.
"""

from __future__ import annotations

import importlib.util
import textwrap

import numpy as np
import pytest

from dualreg import datasets, families

PLUGIN = textwrap.dedent('''
    import numpy as np
    from dualreg.families.base import Family

    class Spin(Family):
        name = "spin-test-plugin"
        curvature_bound = 1.0

        def log_partition(self, theta):
            t = np.abs(np.asarray(theta, dtype=float))
            return t + np.log1p(np.exp(-2 * t))

        def mean(self, theta):
            return np.tanh(theta)

        def curvature(self, theta):
            return 1.0 - np.tanh(theta) ** 2

        def fourth_derivative(self, theta):
            t = np.tanh(theta)
            return -2.0 * (1 - t**2) * (1 - 3 * t**2)

        def link_of_mean(self, mu):
            return float(np.arctanh(np.clip(mu, -1 + 1e-15, 1 - 1e-15)))

        def sample(self, theta, rng, noise=1.0):
            p_up = 0.5 * (1 + np.tanh(theta))
            return np.where(rng.random(np.shape(theta)) < p_up, 1.0, -1.0)

        def _check_y_values(self, y):
            if not np.all(np.abs(y) == 1):
                raise ValueError("y must be -1 or 1 for family='spin-test-plugin'")

        def cvxpy_loss(self, theta, y):
            raise NotImplementedError

        def log_partition_torch(self, theta):
            import torch
            return torch.logaddexp(theta, -theta)

        def mean_torch(self, theta):
            import torch
            return torch.tanh(theta)

        def curvature_torch(self, theta):
            import torch
            return 1 - torch.tanh(theta) ** 2

        def fourth_derivative_torch(self, theta):
            import torch
            t = torch.tanh(theta)
            return -2 * (1 - t**2) * (1 - 3 * t**2)
''')


@pytest.fixture(scope="module")
def spin(tmp_path_factory):
    path = tmp_path_factory.mktemp("plugin") / "spin_family.py"
    path.write_text(PLUGIN, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("spin_family_plugin", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return families.get_family("spin-test-plugin")


def _data(spin, seed=0, n=200, d=4):
    rng = np.random.default_rng(seed)
    X = datasets.gaussian_design(rng, n, d, scales=[0.5, 1.0, 2.0, 4.0])
    return X, datasets.response(rng, X @ np.array([0.8, -0.5, 0.3, 0.0]), spin)


def test_a_one_file_family_is_found_by_name_and_checks_y(spin):
    assert type(spin).__name__ == "Spin"
    with pytest.raises(ValueError, match="y must be -1 or 1"):
        spin.check_y([1.0, 0.0])


def test_model_functions_use_the_plugin(spin):
    X, y = _data(spin)
    w = np.array([0.1, -0.2, 0.3, 0.05])
    theta = X @ w
    # Independent closed form: mean of log(2cosh θ) − yθ.
    expected = np.mean(np.log(2 * np.cosh(theta)) - y * theta)
    assert families.loss(X, y, w, 0.0, spin) == pytest.approx(expected, rel=1e-13)


def test_irls_solves_a_ridge_over_the_plugin(spin):
    from dualreg.penalties import Ridge
    from dualreg.solvers import irls

    X, y = _data(spin)
    lam = 0.05
    res = irls(X, y, Ridge(), lam, family=spin, fit_intercept=False, tol=1e-10)
    g, _ = families.gradient(X, y, res.coef, 0.0, spin)
    # Stationarity of L + (λ/2)‖w‖², checked independently of the solver's own residual:
    # a wrong mean or curvature in the solver path would leave it at O(1e-2).
    np.testing.assert_allclose(g + lam * res.coef, 0.0, atol=1e-8)


def test_torch_loss_twin_matches_numpy(spin):
    torch = pytest.importorskip("torch")
    theta = np.linspace(-30, 30, 13)
    y = np.where(np.arange(13) % 2, 1.0, -1.0)
    t = spin.pointwise_loss_torch(torch.as_tensor(theta), torch.as_tensor(y)).numpy()
    np.testing.assert_allclose(t, spin.pointwise_loss(theta, y), rtol=1e-12)
