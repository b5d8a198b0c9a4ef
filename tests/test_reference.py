"""IRLS against the cvxpy/Clarabel references and scikit-learn's GLMs (convex problems)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from threadpoolctl import threadpool_limits

from dualreg import datasets, families
from dualreg.penalties import L1, Lp, Ridge
from dualreg.solvers import irls
from dualreg.solvers.reference import build_problem, solve_reference

pytest.importorskip("cvxpy")


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # Small matrices on 2 shared cores: BLAS threading only adds contention.
    with threadpool_limits(1):
        yield


def _reference(*args, **kwargs):
    with warnings.catch_warnings():
        # Clarabel at 1e-11 gaps sometimes reports "inaccurate" at the last digits; the
        # comparison below is what decides.
        warnings.simplefilter("ignore", UserWarning)
        return solve_reference(*args, **kwargs)


@pytest.fixture(scope="module")
def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y.astype(float)


def _poisson_data(seed=1, n=300, d=10):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, datasets.response(rng, X @ (0.3 * rng.standard_normal(d)) + 0.5, "poisson")


# Tolerance 1e-6 (absolute, coefficients O(1)): Clarabel stops at gaps of 1e-11, which for
# these strongly convex (n > d) problems puts its coefficients within ~1e-7 of the optimum;
# ours are stationary to 1e-9. A wrong scaling or a penalised intercept moves them by > 1e-3.
TOL_CVXPY = 1e-6


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_l15_gaussian_matches_cvxpy(fit_intercept):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 12))
    y = X @ rng.standard_normal(12) + 0.5 * rng.standard_normal(80) + 2.0
    res = irls(X, y, Lp(1.5), 0.1, fit_intercept=fit_intercept)
    ref = _reference(X, y, Lp(1.5), 0.1, fit_intercept=fit_intercept)
    np.testing.assert_allclose(res.coef, ref.coef, atol=TOL_CVXPY)
    assert res.intercept == pytest.approx(ref.intercept, abs=TOL_CVXPY)
    # Objectives: ours is the (numerically) exact minimum, so never above the reference's
    # beyond its own error (1e-10 relative is below Clarabel's 1e-11 absolute gap here).
    assert res.objective[-1] <= ref.objective + 1e-10


def test_weighted_ridge_and_weighted_l1_match_cvxpy():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 8))
    y = X @ rng.standard_normal(8) + rng.standard_normal(60)
    lam = rng.uniform(0.01, 0.5, 8)
    for pen in (Ridge(), L1()):
        res = irls(X, y, pen, lam)
        ref = _reference(X, y, pen, lam)
        np.testing.assert_allclose(res.coef, ref.coef, atol=TOL_CVXPY)


def test_logistic_l1_breast_cancer_matches_cvxpy_and_sklearn(breast_cancer):
    X, y = breast_cancer
    n = X.shape[0]
    lam = 0.01
    res = irls(X, y, L1(), lam, family="binomial")
    ref = _reference(X, y, L1(), lam, family="binomial")
    np.testing.assert_allclose(res.coef, ref.coef, atol=TOL_CVXPY)
    assert res.intercept == pytest.approx(ref.intercept, abs=TOL_CVXPY)
    assert res.objective[-1] <= ref.objective + 1e-10
    # scikit-learn: C Σ ℓ_i + ‖w‖₁ = n C [L + (1/(nC))‖w‖₁] ⇒ C = 1/(nλ). "saga" leaves the
    # intercept unpenalised (liblinear would penalise it).
    sk = LogisticRegression(l1_ratio=1.0, C=1.0 / (n * lam), solver="saga", tol=1e-10,
                            max_iter=100_000).fit(X, y)
    # saga stops when the largest coefficient change is below 1e-10 × its size: on this
    # problem that leaves ~1e-7 of error (measured 6e-8); 1e-6 keeps a margin.
    np.testing.assert_allclose(res.coef, sk.coef_[0], atol=1e-6)
    assert res.intercept == pytest.approx(sk.intercept_[0], abs=1e-6)
    np.testing.assert_array_equal(res.coef != 0, sk.coef_[0] != 0)


def test_logistic_ridge_and_poisson_l1_match_cvxpy(breast_cancer):
    X, y = breast_cancer
    res = irls(X, y, Ridge(), 0.05, family="binomial")
    ref = _reference(X, y, Ridge(), 0.05, family="binomial")
    np.testing.assert_allclose(res.coef, ref.coef, atol=TOL_CVXPY)
    Xp, yp = _poisson_data()
    res = irls(Xp, yp, L1(), 0.05, family="poisson")
    ref = _reference(Xp, yp, L1(), 0.05, family="poisson")
    np.testing.assert_allclose(res.coef, ref.coef, atol=TOL_CVXPY)
    np.testing.assert_array_equal(res.coef != 0, np.abs(ref.coef) > 1e-7)


@pytest.mark.parametrize("lam", [0.1, 0.01])
def test_poisson_ridge_matches_cvxpy_and_sklearn(lam):
    X, y = _poisson_data()
    res = irls(X, y, Ridge(), lam, family="poisson")
    ref = _reference(X, y, Ridge(), lam, family="poisson")
    np.testing.assert_allclose(res.coef, ref.coef, atol=TOL_CVXPY)
    assert res.intercept == pytest.approx(ref.intercept, abs=TOL_CVXPY)
    # PoissonRegressor(alpha): (1/2n) deviance + (α/2)‖w‖² — our loss plus λ·Ridge with λ = α
    # (the deviance differs from Σ(e^θ − yθ) by a y-only constant). Both are Newton solvers
    # run to 1e-12: agreement to 1e-9.
    sk = PoissonRegressor(alpha=lam, tol=1e-12, max_iter=10_000, solver="newton-cholesky")
    sk.fit(X, y)
    np.testing.assert_allclose(res.coef, sk.coef_, atol=1e-9)
    assert res.intercept == pytest.approx(sk.intercept_, abs=1e-9)


def test_reference_objective_is_the_package_objective():
    X, y = _poisson_data(seed=3, n=50, d=4)
    ref = _reference(X, y, L1(), 0.1, family="poisson")
    manual = families.loss(X, y, ref.coef, ref.intercept, "poisson") + 0.1 * np.abs(ref.coef).sum()
    # Same formula, two code paths: rounding.
    assert ref.objective == pytest.approx(manual, rel=1e-13)
    prob, w, b = build_problem(X, y, L1(), 0.1, family="poisson", fit_intercept=False)
    assert b is None and w.shape == (4,)
    assert prob.is_dcp()


def test_reference_refuses_nonconvex_and_bad_input():
    X, y = _poisson_data(n=20, d=3)
    with pytest.raises(ValueError, match="not convex"):
        solve_reference(X, y, Lp(0.5), 0.1)
    with pytest.raises(ValueError, match="lam must be finite and >= 0"):
        solve_reference(X, y, L1(), -1.0)
    with pytest.raises(ValueError, match="nonnegative counts"):
        solve_reference(X, -y - 1, L1(), 0.1, family="poisson")
