"""The local-rate helper of the η-trick IRLS (dualreg.solvers.rate) against the closed forms of
proofs/T11 and against the library's own MM iterates; and the T11 claims, planted bugs
included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from dualreg.penalties import L1, MCP, LogSum, Lp
from dualreg.solvers import eta_trick_update
from dualreg.solvers.rate import eta_elasticity, mm_jacobian, mm_rate, observed_rate
from dualreg.verify import Context, run, select


def _one_column(c: float, z: float):
    u = np.array([1.0, -1.0, 1.0, -1.0])
    return (np.sqrt(c) * u)[:, None], z * np.sqrt(c) * u


def test_elasticity_closed_forms():
    s = np.array([0.01, 0.3, 2.0])
    np.testing.assert_allclose(eta_elasticity(L1(), s), 1.0, rtol=1e-7)
    np.testing.assert_allclose(eta_elasticity(Lp(0.5), s), 1.5, rtol=1e-7)
    np.testing.assert_allclose(eta_elasticity(LogSum(0.2), s), (2 * s + 0.2) / (s + 0.2),
                               rtol=1e-7)
    # MCP(3): η̂ = 3t/(3 − t) below 3, ∞ beyond (no ridge weight: elasticity 0).
    np.testing.assert_allclose(eta_elasticity(MCP(3.0, 1.0), np.array([1.0, 4.0])),
                               [1.5, 0.0], rtol=1e-7)


@pytest.mark.parametrize("c", [0.5, 2.0])
def test_one_coordinate_rates(c):
    mu = 1.0 / c
    z = 2.5 * mu
    # ℓ1, ε = 0, at the lasso point: μ/|z|.
    assert mm_rate(np.array([[c]]), L1(), 1.0, np.array([z - mu])) == pytest.approx(mu / z,
                                                                                    rel=1e-8)
    # ℓ1, ε > 0: μz²/(s + μ)³ with s² (1 − z²/(s + μ)²) = ε, in both regimes.
    eps = 1e-4
    for zz in (z, 0.4 * mu):
        s = brentq(lambda s, zz=zz: s * s * (1 - zz * zz / (s + mu) ** 2) - eps,
                   np.sqrt(eps), 10.0, xtol=1e-300, rtol=1e-15)
        w = zz * s / (s + mu)
        assert mm_rate(np.array([[c]]), L1(), 1.0, np.array([w]), eps) == pytest.approx(
            mu * zz * zz / (s + mu) ** 3, rel=1e-8)
    # ℓp: (2 − p)(1 − w*/z).
    wp = brentq(lambda w: w + mu * w**-0.5 - z, (mu * 0.5) ** (1 / 1.5), z)
    assert mm_rate(np.array([[c]]), Lp(0.5), 1.0, np.array([wp])) == pytest.approx(
        1.5 * (1 - wp / z), rel=1e-7)


def test_frozen_zero_leaves_the_jacobian():
    # ε = 0 and w_j = 0: η̂ = 0 freezes the coordinate (its row and column are 0).
    G = np.array([[2.0, 0.3], [0.3, 1.0]])
    J = mm_jacobian(G, L1(), 0.5, np.array([1.2, 0.0]))
    assert J[1, 1] == 0 and J[0, 1] == 0 and J[1, 0] == 0 and 0 < J[0, 0] < 1


def test_jacobian_is_the_derivative_of_the_library_map():
    rng = np.random.default_rng(3)
    n, d, lam, eps = 50, 4, 0.05, 1e-3
    X = rng.standard_normal((n, d)) * [0.5, 1.0, 2.0, 3.0]
    y = X @ np.array([1.0, -0.5, 0.0, 0.2]) + 0.3 * rng.standard_normal(n)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    for _ in range(2000):
        w = eta_trick_update(X, y, w, LogSum(0.1), lam, fit_intercept=False, eps=eps)[0]
    h, fd = 1e-6, np.empty((d, d))
    for k in range(d):
        e = np.eye(d)[k] * h
        up = eta_trick_update(X, y, w + e, LogSum(0.1), lam, fit_intercept=False, eps=eps)[0]
        dn = eta_trick_update(X, y, w - e, LogSum(0.1), lam, fit_intercept=False, eps=eps)[0]
        fd[:, k] = (up - dn) / (2 * h)
    J = mm_jacobian(X.T @ X / n, LogSum(0.1), lam, w, eps)
    np.testing.assert_allclose(fd, J, atol=1e-7)


def test_predicted_rate_is_the_measured_one():
    c, z, eps = 2.0, 0.2, 1e-4  # |z| < μ = 0.5: a smoothed zero, rate → (z/μ)² as ε → 0
    X, y = _one_column(c, z)
    its = [np.array([z])]
    for _ in range(60):
        its.append(eta_trick_update(X, y, its[-1], L1(), 1.0, fit_intercept=False, eps=eps)[0])
    its = np.array(its)[:, 0]
    got, k = observed_rate(its[:-1], its[-1], scale=np.sqrt(eps))
    assert k >= 3
    assert got == pytest.approx(mm_rate(np.array([[c]]), L1(), 1.0, its[-1:], eps), rel=1e-3)


def test_observed_rate_of_a_geometric_sequence():
    seq = 2.0 + 0.7 ** np.arange(80)
    assert observed_rate(seq, 2.0, window=(1e-12, 1e-2))[0] == pytest.approx(0.7, rel=1e-6)
    assert observed_rate(seq, None, window=(1e-12, 1e-2))[0] == pytest.approx(0.7, rel=1e-6)
    rate, k = observed_rate(np.full(5, 3.0), 3.0)
    assert np.isnan(rate) and k == 0


def test_t11_claims_pass():
    rows = run(select(["T11"]), Context(), progress=False)
    assert rows and all(r.passed for r in rows), [r.check for r in rows if not r.passed]


def test_damped_step_is_caught_by_the_rate_claim():
    from dualreg.verify import mutations

    plant = mutations.load_plants()["mm-half-step"]
    outcome = mutations.run_inprocess(plant, claim_ids=["T11.local-rate-closed-form"])
    assert outcome.caught and outcome.caught_by == ["T11.local-rate-closed-form"]
