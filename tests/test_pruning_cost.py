"""``dualreg.pruning_cost``: the pruning identity on a case solved by hand, the fixed point's
set, and bad arguments (proofs/T12)."""

from __future__ import annotations

import numpy as np
import pytest

from dualreg.pruning_cost import pruning_cost, targeted_set, trimmed_ridge_point


def _orthogonal(scales, coef, n=64):
    """Columns s_j·√n·e_j-like (orthogonal), y with least-squares fit ``coef``."""
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.normal(size=(n, len(scales))))
    X = Q * np.sqrt(n) * np.asarray(scales)
    return X, X @ np.asarray(coef)


def test_orthogonal_design_by_hand():
    # H = diag(c), c_j = s_j²: the trimmed ridge shrinks u_j = z_j/(1 + r) on T, z the OLS fit;
    # ΔL = Σ_T c z²/(1+r)²·(r + ½) = 2P_T + ½ Σ_T c u², P_T = (r/2) Σ_T c u², κ± = 1.
    s, z = np.array([0.5, 1.0, 2.0, 3.0]), np.array([0.1, -0.2, 1.0, 2.0])
    X, y = _orthogonal(s, z)
    r = 1.5
    u, T = trimmed_ridge_point(X, y, r, gamma=0.5)
    assert T.tolist() == [True, True, False, False]
    np.testing.assert_allclose(u, np.where(T, z / (1 + r), z), rtol=1e-10, atol=1e-12)
    cost = pruning_cost(X, y, u, T, r)
    c = s**2
    expected = float(np.sum((c * z**2)[T])) / (1 + r) ** 2 * (r + 0.5)
    assert cost.loss_increase == pytest.approx(expected, rel=1e-10)
    assert cost.predicted == pytest.approx(expected, rel=1e-10)
    assert cost.kappa_min == pytest.approx(1.0) and cost.kappa_max == pytest.approx(1.0)
    assert cost.lower == pytest.approx(cost.upper) == pytest.approx(expected, rel=1e-10)
    assert cost.stationarity < 1e-12


def test_indices_and_mask_agree_and_empty_set():
    X, y = _orthogonal([1.0, 2.0, 3.0], [0.5, 1.0, 1.5])
    u = np.array([0.2, 0.9, 1.5])
    a = pruning_cost(X, y, u, [0], 1.0)
    b = pruning_cost(X, y, u, np.array([True, False, False]), 1.0)
    assert a == b
    empty = pruning_cost(X, y, u, np.zeros(3, bool), 1.0)
    assert empty.loss_increase == 0.0 and empty.predicted == 0.0 and empty.kappa_max == 0.0


def test_targeted_set_ranks_magnitudes_with_index_ties():
    assert targeted_set([3.0, -0.1, 0.1, 2.0], 0.5).tolist() == [False, True, True, False]
    assert targeted_set([1.0, 1.0, 1.0, 1.0], 0.25).tolist() == [True, False, False, False]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"r": 0.0}, "r must be"),
    ({"r": True}, "r must be"),
    ({"pruned": [7]}, "pruned"),
    ({"pruned": np.ones(2, bool)}, "pruned"),
    ({"u": np.ones(2)}, "u: expected 3"),
    ({"c": [1.0, -1.0, 1.0], "pruned": [1]}, "c: column scales"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    X, y = _orthogonal([1.0, 2.0, 3.0], [0.5, 1.0, 1.5])
    args = {"X": X, "y": y, "u": np.ones(3), "pruned": [0], "r": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        pruning_cost(**args)


def test_trimmed_ridge_point_needs_one_set_rule():
    X, y = _orthogonal([1.0, 2.0], [0.5, 1.0])
    with pytest.raises(ValueError, match="exactly one of gamma"):
        trimmed_ridge_point(X, y, 1.0)
    with pytest.raises(ValueError, match="exactly one of gamma"):
        trimmed_ridge_point(X, y, 1.0, gamma=0.5, pruned=[0])


def test_an_unconverged_solve_warns_with_its_gradient(monkeypatch):
    import scipy.optimize
    from scipy.optimize import OptimizeResult

    from dualreg.solvers import ConvergenceWarning

    def stalled(fun, x0, **kwargs):
        return OptimizeResult(x=np.asarray(x0, float), success=False, nit=500,
                              message="maximum iterations")

    monkeypatch.setattr(scipy.optimize, "minimize", stalled)
    X, y = _orthogonal([1.0, 2.0], [0.5, 1.0])
    with pytest.warns(ConvergenceWarning, match="gradient .* after 500 iterations"):
        trimmed_ridge_point(X, y, 1.0, pruned=[0])
