"""GLM families (docs/conventions.md §1): loss, gradient, curvature, column scales, scaling
converters."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from dualreg import datasets, families
from dualreg.penalties import Lp


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # Small matrices on 2 shared cores: BLAS threading only adds contention.
    with threadpool_limits(1):
        yield


def _data(family: str, n: int = 40, d: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = 0.3 * rng.standard_normal(d)
    return X, datasets.response(rng, X @ w + 0.2, family), w


@pytest.mark.parametrize("family", families.FAMILIES)
def test_gradient_matches_central_differences(family):
    X, y, w = _data(family)
    g, gb = families.gradient(X, y, w, 0.2, family)
    h = 1e-6
    num = np.array([
        (families.loss(X, y, w + h * e, 0.2, family)
         - families.loss(X, y, w - h * e, 0.2, family)) / (2 * h)
        for e in np.eye(w.size)
    ])
    num_b = (families.loss(X, y, w, 0.2 + h, family)
             - families.loss(X, y, w, 0.2 - h, family)) / (2 * h)
    # Central differences with h = 1e-6 on O(1) losses: truncation O(h²) ~ 1e-12 plus
    # cancellation ~1e-16/1e-6 = 1e-10; 1e-7 leaves a wide margin and still catches a wrong
    # factor or sign.
    np.testing.assert_allclose(g, num, rtol=1e-7, atol=1e-8)
    assert gb == pytest.approx(num_b, rel=1e-7, abs=1e-8)


@pytest.mark.parametrize("family", families.FAMILIES)
def test_curvature_is_derivative_of_mean(family):
    fam = families.get_family(family)
    theta = np.linspace(-5, 5, 41)
    h = 1e-6
    num = (fam.mean(theta + h) - fam.mean(theta - h)) / (2 * h)
    # Same central-difference budget as above (μ is O(1) up to e^5 ≈ 150 for poisson).
    np.testing.assert_allclose(fam.curvature(theta), num, rtol=1e-7)


def test_losses_match_closed_forms_and_sklearn_objectives():
    X, y, w = _data("gaussian")
    theta = X @ w + 0.2
    # gaussian: the sklearn Lasso datafit (1/2n)‖y − Xw − b‖², to rounding.
    assert families.loss(X, y, w, 0.2) == pytest.approx(np.mean((y - theta) ** 2) / 2, rel=1e-14)
    Xb, yb, wb = _data("binomial")
    tb = Xb @ wb + 0.2
    ref = -np.mean(yb * np.log(1 / (1 + np.exp(-tb))) + (1 - yb) * np.log(1 / (1 + np.exp(tb))))
    assert families.loss(Xb, yb, wb, 0.2, "binomial") == pytest.approx(ref, rel=1e-12)


def test_extreme_natural_parameters_are_stable():
    theta = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
    fam = families.get_family("binomial")
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    out = fam.pointwise_loss(theta, y)
    # log(1 + e^θ) − yθ: 0 where the label agrees with a saturated θ, |θ| where it disagrees.
    np.testing.assert_allclose(out, [0.0, 800.0, np.log(2.0), 800.0, 0.0], rtol=1e-15, atol=0)
    assert np.all(np.isfinite(fam.curvature(theta)))
    assert fam.curvature(np.array([1e4]))[0] == 0.0
    pois = families.get_family("poisson")
    # e^θ overflows to +inf silently (RuntimeWarnings are errors in this suite).
    assert np.isinf(pois.pointwise_loss(np.array([1e4]), np.array([1.0]))[0])


@pytest.mark.parametrize("family", families.FAMILIES)
def test_column_scales_definition(family):
    X, _, w = _data(family)
    fam = families.get_family(family)
    a2 = fam.curvature(X @ w + 0.1)
    expected = np.array([np.mean(a2 * X[:, j] ** 2) for j in range(X.shape[1])])
    # Two ways of summing the same n = 40 products: rounding only.
    np.testing.assert_allclose(families.column_scales(X, w, 0.1, family), expected, rtol=1e-13)


def test_gaussian_column_scales_ignore_w():
    X, _, w = _data("gaussian")
    # Exactly ‖X_j‖²/n (A'' = 1), whatever w: rounding only.
    np.testing.assert_allclose(families.column_scales(X, 5 * w), (X**2).sum(0) / X.shape[0],
                               rtol=1e-13)


def test_sum_scaling_converters():
    X, y, w = _data("gaussian", n=30, d=4)
    n = X.shape[0]
    lam_sum = 3.0
    lam = families.lam_sum_to_mean(lam_sum, n)
    assert lam == pytest.approx(lam_sum / n, rel=1e-15)
    assert families.lam_mean_to_sum(lam, n) == pytest.approx(lam_sum, rel=1e-15)
    pen = Lp(1.5)
    mean_obj = families.loss(X, y, w, 0.0) + lam * pen.total(w)
    sum_obj = 0.5 * np.sum((y - X @ w) ** 2) + lam_sum * pen.total(w)
    # n·F(mean scaling) is the sum-scaled objective: rounding only.
    assert families.objective_mean_to_sum(mean_obj, n) == pytest.approx(sum_obj, rel=1e-13)
    v = np.array([0.5, 1.0, 2.0, 0.0])
    lam_j = families.dropout_ridge_weights_sum_to_mean(v, X)
    sum_ridge = 0.5 * np.sum(v * (X**2).sum(0) * w**2)
    assert n * 0.5 * np.sum(lam_j * w**2) == pytest.approx(sum_ridge, rel=1e-13)
    with pytest.raises(ValueError, match="lam_sum"):
        families.lam_sum_to_mean(-1.0, n)


def test_family_validation_names_the_argument():
    with pytest.raises(ValueError, match="family must be one of"):
        families.get_family("gamma")
    with pytest.raises(ValueError, match=r"y must take values in \{0, 1\}"):
        families.get_family("binomial").check_y([0.0, 2.0])
    with pytest.raises(ValueError, match="nonnegative counts"):
        families.get_family("poisson").check_y([1.0, -1.0])
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        families.get_family("gaussian").check_y([1.0, np.nan])


class _BareLogistic(families.get_family("binomial").__class__):
    """The logistic family without its closed-form third derivative and inverse link (a
    user's first draft of a family): the Family defaults must serve. No ``name``, so it is
    not registered."""

    third_derivative = families.Family.third_derivative
    link_of_mean = families.Family.link_of_mean


def test_default_third_derivative_and_inverse_link_match_closed_forms():
    fam = _BareLogistic()
    theta = np.array([-30.0, -4.0, -0.3, 0.0, 0.7, 5.0, 30.0])
    p = fam.mean(theta)
    np.testing.assert_allclose(fam.third_derivative(theta), p * (1 - p) * (1 - 2 * p),
                               rtol=1e-6, atol=1e-12)
    for mu in (1e-6, 0.2, 0.5, 0.93):
        assert fam.link_of_mean(mu) == pytest.approx(np.log(mu / (1 - mu)), rel=1e-10, abs=1e-12)
    for bad in (1.5, float("nan")):
        with pytest.raises(ValueError, match="mu"):
            fam.link_of_mean(bad)
