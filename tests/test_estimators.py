"""scikit-learn estimators over the IRLS: check_estimator, equivalences, penalty names."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import Lasso, PoissonRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from dualreg.estimators import (
    IRLSClassifier,
    IRLSPoissonRegressor,
    IRLSRegressor,
    resolve_penalty,
)
from dualreg.penalties import L1, MCP, Lp, Ridge
from dualreg.solvers import irls


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # Small matrices on 2 shared cores: BLAS threading only adds contention.
    with threadpool_limits(1):
        yield


@parametrize_with_checks([IRLSRegressor(), IRLSClassifier(), IRLSPoissonRegressor(),
                          IRLSRegressor(penalty="mcp", alpha=0.1)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_regressor_is_lasso():
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    est = IRLSRegressor("l1", alpha=2.0).fit(X, y)
    sk = Lasso(alpha=2.0, tol=1e-14, max_iter=100_000).fit(X, y)
    # Both stationary to ≤ 1e-8 on a well-conditioned 442 × 10 problem: 1e-6 absolute.
    np.testing.assert_allclose(est.coef_, sk.coef_, atol=1e-6)
    assert est.intercept_ == pytest.approx(sk.intercept_, abs=1e-6)
    assert est.n_iter_ >= 1 and est.converged_
    # R² moves at first order with the coefficients (|δ| ≲ 1e-10 in practice, ×‖X‖·‖r‖/TSS
    # ~ 1): 1e-8 is rounding with room, yet catches any difference in the fit.
    assert est.score(X, y) == pytest.approx(sk.score(X, y), abs=1e-8)


def test_classifier_labels_probabilities_and_solver_equivalence():
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    labels = np.where(y == 1, "benign", "malignant")
    clf = IRLSClassifier("l1", alpha=0.02).fit(X, labels)
    assert list(clf.classes_) == ["benign", "malignant"]
    res = irls(X, (labels == "malignant").astype(float), L1(), 0.02, family="binomial")
    # The estimator is a thin wrapper: identical computation.
    np.testing.assert_array_equal(clf.coef_, res.coef)
    proba = clf.predict_proba(X)
    # σ(−t) + σ(t) = 1 and exp(log σ) = σ: rounding only (a few ulps).
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-12)
    assert np.mean(clf.predict(X) == labels) > 0.95
    with pytest.raises(ValueError, match="Only binary classification"):
        IRLSClassifier().fit(X[:30], np.arange(30) % 3)


def test_poisson_regressor_is_sklearn_poisson():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 6))
    y = rng.poisson(np.exp(X @ (0.3 * rng.standard_normal(6)) + 0.3))
    est = IRLSPoissonRegressor("ridge", alpha=0.05).fit(X, y)
    sk = PoissonRegressor(alpha=0.05, tol=1e-12, max_iter=10_000, solver="newton-cholesky")
    sk.fit(X, y)
    # Two Newton solvers on the same strictly convex problem, both to 1e-12: 1e-9 (and the
    # D² they imply).
    np.testing.assert_allclose(est.coef_, sk.coef_, atol=1e-9)
    assert est.score(X, y) == pytest.approx(sk.score(X, y), abs=1e-9)
    with pytest.raises(ValueError, match="nonnegative counts"):
        IRLSPoissonRegressor().fit(X, -y - 1.0)


def test_penalty_names_and_errors():
    assert isinstance(resolve_penalty("l1"), L1)
    assert isinstance(resolve_penalty("Lasso"), L1)
    assert isinstance(resolve_penalty("ridge"), Ridge)
    p = resolve_penalty("l0.5")
    assert isinstance(p, Lp) and p.q == 0.5
    m = resolve_penalty("mcp", {"a": 2.5, "scale": 0.3})
    assert isinstance(m, MCP) and m.a == 2.5 and m.scale == 0.3
    obj = Lp(1.5)
    assert resolve_penalty(obj) is obj
    with pytest.raises(ValueError, match="unknown penalty 'bogus'"):
        resolve_penalty("bogus")
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="alpha must be finite and >= 0"):
        IRLSRegressor(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="superquadratic"):
        IRLSRegressor(penalty="Sparseout", penalty_params={"q": 3.0}).fit(X, y)


def test_linear_solver_is_passed_to_the_solver():
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    auto = IRLSRegressor("l1", alpha=2.0).fit(X, y)
    wood = IRLSRegressor("l1", alpha=2.0, linear_solver="woodbury").fit(X, y)
    # One convex problem, two direct linear solvers, both stationary to 1e-8: 1e-6 absolute.
    np.testing.assert_allclose(wood.coef_, auto.coef_, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="linear_solver must be one of"):
        IRLSRegressor(linear_solver="qr").fit(X, y)
