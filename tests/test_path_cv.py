"""irls_path's automatic grid and warm starts, and the CV estimators, against scikit-learn's
lasso_path / LassoCV and its deviance metrics; argument errors name the argument."""

from __future__ import annotations

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.linear_model import LassoCV, lasso_path
from sklearn.metrics import log_loss, mean_poisson_deviance
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from dualreg.estimators import IRLSClassifier, IRLSPoissonRegressor, IRLSRegressor
from dualreg.estimators_cv import IRLSClassifierCV, IRLSPoissonRegressorCV, IRLSRegressorCV
from dualreg.penalties import L1, Ridge, TextbookMCP
from dualreg.solvers import irls_path, lam_grid, lam_max


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _lasso_data(n=90, d=25, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, d) + rng.normal(size=d)
    w = np.zeros(d)
    w[:5] = [2.0, -1.5, 1.0, 0.5, -0.8][:d]
    return X, X @ w + rng.normal(size=n) + 4.0


@pytest.mark.parametrize("shape", [(90, 25), (30, 60)])
def test_default_grid_is_lasso_paths_geometric_grid_from_alpha_max(shape):
    X, y = _lasso_data(*shape)
    n, d = shape
    # alpha_max written out (sklearn's): ‖Xcᵀ yc‖∞ / n with centred X, y.
    alpha_max = np.max(np.abs((X - X.mean(0)).T @ (y - y.mean()))) / n
    ratio = 1e-4 if n > d else 1e-3
    expected = np.logspace(np.log10(alpha_max), np.log10(alpha_max * ratio), 7)
    np.testing.assert_allclose(lam_max(X, y, L1()), alpha_max, rtol=1e-13)
    np.testing.assert_allclose(lam_grid(X, y, L1(), n_lams=7), expected, rtol=1e-12)
    path = irls_path(X, y, L1(), n_lams=7, tol=1e-10)
    np.testing.assert_allclose(path.lams, expected, rtol=1e-12)
    # λ_max: the zero solution, found by the working sets' first check (no iteration); every
    # smaller λ iterates
    assert path.n_iter.shape == (7,) and path.n_iter[0] >= 0 and np.all(path.n_iter[1:] >= 1)
    assert np.all(path.coefs[0] == 0)


def test_path_matches_lasso_path_at_every_lambda_and_is_warm_started():
    X, y = _lasso_data()
    n = X.shape[0]
    lams = lam_max(X, y, L1()) * np.array([0.02, 0.5, 0.1, 0.9, 0.3, 0.01])  # unsorted
    path = irls_path(X, y, L1(), lams, tol=1e-10)
    Xc, yc = X - X.mean(0), y - y.mean()
    alphas, coefs, _ = lasso_path(Xc, yc, alphas=np.sort(lams)[::-1], tol=1e-14,
                                  max_iter=100_000)
    np.testing.assert_array_equal(path.lams, alphas)  # largest first
    np.testing.assert_allclose(path.coefs, coefs.T, rtol=0, atol=1e-6)
    np.testing.assert_allclose(path.intercepts, y.mean() - X.mean(0) @ coefs, atol=1e-6)
    # Warm start: solve k starts where solve k − 1 ended, i.e. its first recorded objective is
    # F_{λ_k} at the previous solution (written out here).
    for k in range(1, lams.size):
        w, b = path.coefs[k - 1], path.intercepts[k - 1]
        f_start = np.sum((y - X @ w - b) ** 2) / (2 * n) + path.lams[k] * np.abs(w).sum()
        assert path.results[k].objective[0] == pytest.approx(f_start, rel=1e-12), k


def test_cv_picks_lassocv_alpha_on_the_same_grid_and_folds():
    X, y = _lasso_data(seed=3)
    cv = KFold(5, shuffle=True, random_state=0)
    ours = IRLSRegressorCV(n_alphas=25, cv=cv, tol=1e-10).fit(X, y)
    ref = LassoCV(alphas=ours.alphas_, cv=cv, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-15)
    # Within one grid step (here: the same point), same held-out MSE, same refit.
    step = abs(int(np.flatnonzero(ours.alphas_ == ours.alpha_)[0])
               - int(np.argmin(np.abs(ref.alphas_ - ref.alpha_))))
    assert step <= 1
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-6)
    assert ours.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)
    assert ours.n_iter_ >= 1 and ours.deviance_path_ is ours.mse_path_


def test_cv_deviances_are_sklearns_metrics_for_each_family():
    # The held-out deviance of fold f at α_k, recomputed with an independent cold-started fit
    # and sklearn's metric (binomial: 2·log-loss; poisson: mean Poisson deviance).
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 6))
    cases = [
        (IRLSClassifierCV, IRLSClassifier, (X[:, 0] - X[:, 1] + rng.normal(size=80) > 0),
         StratifiedKFold(3),
         lambda m, Xt, yt: 2 * log_loss(yt, m.predict_proba(Xt)[:, 1], labels=[False, True])),
        (IRLSPoissonRegressorCV, IRLSPoissonRegressor,
         rng.poisson(np.exp(0.4 * X[:, 0] - 0.3 * X[:, 2])), KFold(3),
         lambda m, Xt, yt: mean_poisson_deviance(yt, m.predict(Xt))),
    ]
    for cv_cls, cls, y, cv, metric in cases:
        model = cv_cls(n_alphas=4, cv=cv, tol=1e-10).fit(X, y)
        assert model.deviance_path_.shape == (4, 3)
        for f, (train, test) in enumerate(cv.split(X, y)):
            for k in (1, 3):
                fit = cls("l1", alpha=model.alphas_[k], tol=1e-10).fit(X[train], y[train])
                assert model.deviance_path_[k, f] == pytest.approx(
                    metric(fit, X[test], y[test]), rel=1e-7), (cv_cls.__name__, f, k)
        k_best = int(np.argmin(model.deviance_path_.mean(1)))
        assert model.alpha_ == model.alphas_[k_best]


def test_cv_searches_the_textbook_family_and_runs_folds_in_parallel():
    X, y = _lasso_data(seed=4)
    grid = lam_max(X, y, L1()) * np.array([0.5, 0.1, 0.02])
    one = IRLSRegressorCV(TextbookMCP(3.0), alphas=grid, cv=3).fit(X, y)
    with parallel_config(backend="threading"):  # joblib's processes take seconds to start
        two = IRLSRegressorCV(TextbookMCP(3.0), alphas=grid, cv=3, n_jobs=2).fit(X, y)
    assert one.penalty_.lam == one.alpha_ and one.penalty_.gamma == 3.0
    np.testing.assert_array_equal(one.mse_path_, two.mse_path_)
    np.testing.assert_array_equal(one.coef_, two.coef_)


@parametrize_with_checks([IRLSRegressorCV(n_alphas=4, cv=3), IRLSClassifierCV(n_alphas=4, cv=3),
                          IRLSPoissonRegressorCV(n_alphas=4, cv=3)])
def test_cv_estimators_are_sklearn_compatible(estimator, check):
    check(estimator)


def test_bad_arguments_name_the_argument():
    X, y = _lasso_data(30, 4)
    bad_path = [
        (dict(fit_intercept="no"), "fit_intercept"), (dict(n_lams=0), "n_lams"),
        (dict(n_lams=True), "n_lams"), (dict(n_lams=2.5), "n_lams"),
        (dict(lam_min_ratio=0.0), "lam_min_ratio"), (dict(lam_min_ratio=2.0), "lam_min_ratio"),
        (dict(lams="abc"), "lams"), (dict(lams=[[0.1]]), "lams"), (dict(lams=[-1.0]), "lams"),
        (dict(lams=[0.1], tolerance=1.0), "tolerance"),
    ]
    for kwargs, name in bad_path:
        with pytest.raises(ValueError, match=name):
            irls_path(X, y, L1(), **kwargs)
    with pytest.raises(ValueError, match="penalty"):
        irls_path(X, y, None)
    with pytest.raises(ValueError, match="X"):
        lam_max(None, y, L1())
    with pytest.raises(ValueError, match="fit_intercept"):
        lam_max(X, y, L1(), fit_intercept="yes")
    with pytest.raises(ValueError, match="kink"):
        irls_path(X, y, Ridge())  # no λ_max: the grid must be given
    with pytest.raises(ValueError, match="fit_intercept"):
        IRLSRegressor(fit_intercept="no").fit(X, y)
    bad_cv = [(dict(alphas="abc"), "alphas"), (dict(alphas=[]), "alphas"),
              (dict(alphas=[np.nan]), "alphas"), (dict(n_alphas=0), "n_alphas"),
              (dict(alpha_min_ratio=0.0), "alpha_min_ratio"), (dict(n_jobs=0), "n_jobs"),
              (dict(n_jobs=1.5), "n_jobs"), (dict(penalty="ridge"), "alphas")]
    for kwargs, name in bad_cv:
        with pytest.raises(ValueError, match=name):
            IRLSRegressorCV(**kwargs).fit(X, y)
