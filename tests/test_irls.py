"""The η-trick IRLS: closed forms, the dropout identities, Lasso against scikit-learn, the
nonconvex suite (MM descent, stationarity, support recovery, skglm), schedules, paths, errors."""

from __future__ import annotations

import itertools
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso
from threadpoolctl import threadpool_limits

from dualreg import datasets, families
from dualreg.penalties import (
    ARD,
    L1,
    MCP,
    SCAD,
    HardConcrete,
    HardThreshold,
    LogSum,
    Lp,
    NoEtaFormError,
    Power,
    Ridge,
    TargetedDropout,
    VarDrop,
)
from dualreg.solvers import (
    ConvergenceWarning,
    SeparationWarning,
    UninformativeColumnWarning,
    eta_trick_update,
    irls,
    irls_path,
    lam_max,
    schedules,
)
from dualreg.solvers.linear import solve_weighted_ridge


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # Small matrices on 2 shared cores: BLAS threading only adds contention.
    with threadpool_limits(1):
        yield


def _regression(n, d, k=5, noise=0.5, seed=0, intercept=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    k = min(k, d)
    w[:k] = [3.0, -2.0, 2.5, -3.0, 2.0, 1.5, -1.5, 2.0, -2.5, 3.0][:k]
    y = datasets.response(rng, X @ w + intercept, noise=noise)
    return X, y, w


def _ridge_closed_form(X, y, lam_vec, fit_intercept):
    n = X.shape[0]
    if fit_intercept:
        xm, ym = X.mean(0), y.mean()
        Xc, yc = X - xm, y - ym
    else:
        xm, ym, Xc, yc = np.zeros(X.shape[1]), 0.0, X, y
    w = np.linalg.solve(Xc.T @ Xc / n + np.diag(lam_vec), Xc.T @ yc / n)
    return w, ym - xm @ w


# ============================================================================ closed forms
@pytest.mark.parametrize("shape", [(60, 8), (15, 40)])  # Gram form and Woodbury form
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_and_weighted_ridge_closed_form(shape, fit_intercept):
    X, y, _ = _regression(*shape, seed=1)
    d = X.shape[1]
    for lam in (0.3, np.linspace(0.05, 2.0, d)):
        res = irls(X, y, Ridge(), lam, fit_intercept=fit_intercept)
        w, b = _ridge_closed_form(X, y, np.broadcast_to(lam, (d,)), fit_intercept)
        # Two direct solves of the same well-conditioned (κ ≲ 1e3) system: 1e-10 relative
        # is rounding times the condition number with a margin.
        np.testing.assert_allclose(res.coef, w, rtol=1e-10, atol=1e-12)
        assert res.intercept == pytest.approx(b, rel=1e-10, abs=1e-12)
        assert res.converged


def test_woodbury_and_gram_forms_agree():
    rng = np.random.default_rng(3)
    Xt = rng.standard_normal((12, 30))
    delta = rng.uniform(0.1, 2.0, 30)
    delta[[0, 5]] = 0.0  # unpenalised coordinates go through the Schur complement
    rhs = rng.standard_normal(30)
    v = solve_weighted_ridge(Xt, delta, rhs)
    M = Xt.T @ Xt / 12 + np.diag(delta)
    # κ(M) ~ 1e2 here: agreement to 1e-10 is rounding with margin.
    np.testing.assert_allclose(M @ v, rhs, rtol=1e-10, atol=1e-10)


def _expected_dropout_minimizer(X, y, keep, fit_intercept):
    """Exact minimiser of E_s (1/2n)‖y − X(s ⊙ w) − b‖², s_j = b_j/α_j, b_j ~ Bern(α_j)
    independent (one mask per weight), by enumerating all 2^d masks."""
    n, d = X.shape
    masks = np.array(list(itertools.product([0.0, 1.0], repeat=d)))
    probs = np.prod(np.where(masks == 1, keep, 1.0 - keep), axis=1)
    dim = d + int(fit_intercept)
    A = np.zeros((dim, dim))
    r = np.zeros(dim)
    for m, p in zip(masks, probs, strict=True):
        if p == 0:
            continue
        s = np.where(keep > 0, m / np.where(keep > 0, keep, 1.0), 0.0)
        Z = X * s
        if fit_intercept:
            Z = np.column_stack([Z, np.ones(n)])
        A += p * Z.T @ Z / n
        r += p * Z.T @ y / n
    sol = np.linalg.solve(A, r)
    return (sol[:d], sol[d]) if fit_intercept else (sol, 0.0)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_dropout_is_weighted_ridge_by_mask_enumeration(fit_intercept):
    X, y, _ = _regression(40, 6, seed=2)
    p = np.array([0.1, 0.3, 0.5, 0.2, 0.6, 0.4])  # drop probabilities
    keep = 1.0 - p
    v = p / (1.0 - p)
    c = (X**2).sum(0) / X.shape[0]  # c_j = ‖X_j‖²/n (docs/conventions.md §2; b is not masked)
    res = irls(X, y, Ridge(), v * c, fit_intercept=fit_intercept)
    w_mc, b_mc = _expected_dropout_minimizer(X, y, keep, fit_intercept)
    # Both are exact minimisers of the same quadratic (the identity is exact for gaussian);
    # 64 masks summed then one solve: rounding only, 1e-10 relative.
    np.testing.assert_allclose(res.coef, w_mc, rtol=1e-10, atol=1e-12)
    assert res.intercept == pytest.approx(b_mc, rel=1e-10, abs=1e-12)
    # The converter of glm gives the same ridge weights (same products: rounding).
    np.testing.assert_allclose(families.dropout_ridge_weights_sum_to_mean(v, X), v * c, rtol=1e-14)


@pytest.mark.parametrize("penalty", [L1(), Lp(0.5), LogSum(1.0), MCP(3.0, 0.5), SCAD(3.7, 0.3)])
def test_adaptive_dropout_update_is_the_eta_trick_update(penalty):
    X, y, _ = _regression(40, 6, seed=4)
    rng = np.random.default_rng(5)
    w_t = rng.choice([-1, 1], 6) * rng.uniform(0.2, 2.0, 6)  # includes |w| beyond MCP's b
    lam = 0.4
    c = families.column_scales(X)
    keep = penalty.keep_prob(w_t, lam, c)  # α = cη̂/(cη̂ + λ)
    w_drop, _ = _expected_dropout_minimizer(X, y, keep, fit_intercept=False)
    w_eta, _ = eta_trick_update(X, y, w_t, penalty, lam, fit_intercept=False)
    # Exact identity (docs/conventions.md §4) computed two ways, each a small linear solve:
    # 1e-10 rel.
    np.testing.assert_allclose(w_eta, w_drop, rtol=1e-10, atol=1e-12)


# ============================================================================ Lasso vs sklearn
def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


@pytest.mark.parametrize("design", ["diabetes", "wide"])
def test_lasso_matches_sklearn_along_the_path(design):
    if design == "diabetes":
        X, y = _diabetes()
    else:
        X, y, _ = _regression(50, 120, k=8, seed=6)
    lmax = lam_max(X, y, L1())
    lams = lmax * np.array([0.5, 0.1, 0.02])
    path = irls_path(X, y, L1(), lams)
    for lam, coef, b, res in zip(path.lams, path.coefs, path.intercepts, path.results,
                                 strict=True):
        sk = Lasso(alpha=lam, tol=1e-14, max_iter=1_000_000).fit(X, y)
        # Both solve the problem to ~1e-12 (our stationarity ≤ 1e-9, sklearn's duality gap
        # 1e-14); the 1e-5 absolute is the acceptance bound.
        np.testing.assert_allclose(coef, sk.coef_, atol=1e-5, rtol=0)
        assert b == pytest.approx(sk.intercept_, abs=1e-5)
        np.testing.assert_array_equal(coef != 0, sk.coef_ != 0)
        assert res.converged and res.stationarity[-1] <= 1e-9


def test_lam_max_is_the_smallest_lambda_with_zero_solution():
    X, y = _diabetes()
    lmax = lam_max(X, y, L1())
    assert np.all(irls(X, y, L1(), lmax * (1 + 1e-9)).coef == 0)
    assert np.any(irls(X, y, L1(), lmax * 0.99).coef != 0)
    Xb, yb = X[:200], (y[:200] > np.median(y)).astype(float)
    lb = lam_max(Xb, yb, L1(), "binomial")
    assert np.all(irls(Xb, yb, L1(), lb * (1 + 1e-9), family="binomial").coef == 0)
    assert np.any(irls(Xb, yb, L1(), lb * 0.95, family="binomial").coef != 0)
    # MCP shares the kink Ω'(0+) = 1: same λ_max (same floating-point operations, 1e-15);
    # ℓ0.5 (∞ slope) and ridge (no kink) have none.
    assert lam_max(X, y, MCP(3.0, 1.0)) == pytest.approx(lmax, rel=1e-15)
    with pytest.raises(ValueError, match="stationary for every"):
        lam_max(X, y, Lp(0.5))
    with pytest.raises(ValueError, match="no kink"):
        lam_max(X, y, Ridge())


def test_path_is_decreasing_and_warm_started():
    X, y = _diabetes()
    lmax = lam_max(X, y, L1())
    path = irls_path(X, y, L1(), lmax * np.array([0.01, 0.3, 0.1]))
    assert np.all(np.diff(path.lams) < 0)
    single = irls(X, y, L1(), path.lams[-1])
    # Same convex problem solved to stationarity 1e-9 from two starts.
    np.testing.assert_allclose(path.coefs[-1], single.coef, atol=1e-8)


# ============================================================================ nonconvex suite
_EASY = {"n": 200, "d": 50, "k": 5, "seed": 42}


def _nonconvex_cases():
    return [
        pytest.param(Lp(0.5), 0.05, id="Lp0.5"),
        pytest.param(Lp(0.1), 0.01, id="Lp0.1"),
        pytest.param(LogSum(0.1), 0.02, id="LogSum"),
        pytest.param(MCP(3.0, 0.2), 0.2, id="MCP"),
        pytest.param(SCAD(3.7, 0.2), 0.2, id="SCAD"),
        pytest.param(VarDrop(), 0.1, id="VarDrop"),
        pytest.param(HardConcrete(), 0.1, id="HardConcrete"),
        pytest.param(TargetedDropout(0.5, 1.0), 0.5, id="TargetedDropout"),
    ]


@pytest.mark.parametrize(("penalty", "lam"), _nonconvex_cases())
def test_nonconvex_descent_stationarity_and_support(penalty, lam):
    X, y, w_true = _regression(_EASY["n"], _EASY["d"], k=_EASY["k"], seed=_EASY["seed"])
    res = irls(X, y, penalty, lam)
    sur = np.array(res.surrogate)
    obj = np.array(res.objective)
    # MM theorem: F_ε(w) never increases; 1e-12 relative is the rounding of an O(1) sum of 200
    # terms (no slack for a real increase: a wrong majoriser shows up at 1e-3 or more).
    assert np.all(np.diff(sur) <= 1e-12 * np.abs(sur[:-1]) + 1e-15)
    # The target F also never increased on this instance (not a theorem during the smoothed
    # phase: see the module docstring of irls; guaranteed in the polish).
    assert np.all(np.diff(obj) <= 1e-12 * np.abs(obj[:-1]) + 1e-15)
    assert res.converged and res.stationarity[-1] <= 1e-6
    truth = np.flatnonzero(w_true)
    if penalty.kink_at_zero:
        # Exact zeros: the support is the true one, exactly.
        np.testing.assert_array_equal(np.flatnonzero(res.coef), truth)
    else:
        # Targeted dropout has no kink (a truncated quadratic): no exact zeros; the selected
        # coefficients are the untargeted ones, |w| ≥ τ (where η̂ = ∞, the penalty is flat).
        selected = np.flatnonzero(np.isinf(penalty.eta_hat(res.coef)))
        np.testing.assert_array_equal(selected, truth)


def _skglm_pairs():
    """(ours, λ, skglm penalty) with λΩ_ours = skglm's value (checked in the test)."""
    sk = pytest.importorskip("skglm.penalties")
    s = 0.1
    return [
        (Lp(0.5), 0.05, sk.L0_5(2 * 0.05)),  # λ|w|^½/½ = (2λ)|w|^½
        (MCP(3.0, s), s, sk.MCPenalty(s, 3.0)),  # skglm MCP(α, γ) = α·MCP(a=γ, scale=α)
        (SCAD(3.7, s), s, sk.SCAD(s, 3.7)),  # skglm SCAD(α, γ) = α·SCAD(a=γ, scale=α)
        (LogSum(0.1), 0.02, sk.LogSumPenalty(0.02, 0.1)),  # α log(1+|w|/ε) = α log(|w|+ε) − c
    ]


def test_nonconvex_objective_no_worse_than_skglm_from_same_start():
    """One test (one process) for all of skglm: its numba compilation costs ~8 s a penalty."""
    pytest.importorskip("skglm")
    from skglm.datafits import Quadratic
    from skglm.solvers import AndersonCD

    pairs = _skglm_pairs()
    rng = np.random.default_rng(0)
    w = rng.standard_normal(200) * 0.5
    for ours, lam, theirs in pairs:
        offset = lam * w.size * ours.value(np.zeros(1))[0] if isinstance(ours, LogSum) else 0.0
        # The scaling conversion: same closed forms evaluated two ways, rounding only.
        assert lam * ours.total(w) - offset == pytest.approx(theirs.value(w), rel=1e-12)

    # The easy instance, and a correlated d > n one where local minima differ.
    for seed, (n, d, k, rho) in [(0, (200, 50, 5, 0.0)), (2, (100, 300, 15, 0.7))]:
        rng = np.random.default_rng(seed)
        C = rho ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
        X = rng.standard_normal((n, d)) @ np.linalg.cholesky(C).T
        w_true = np.zeros(d)
        w_true[:k] = rng.choice([-1, 1], k) * rng.uniform(1, 3, k)
        y = X @ w_true + 0.5 * rng.standard_normal(n)
        for ours, lam, theirs in pairs:
            w0 = np.linalg.solve(X.T @ X / n + lam * np.eye(d), X.T @ y / n)  # shared start
            res = irls(X, y, ours, lam, fit_intercept=False, init=w0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                w_sk = AndersonCD(tol=1e-10, max_iter=1000, fit_intercept=False).solve(
                    X, y, Quadratic(), theirs, w_init=w0.copy(), Xw_init=X @ w0
                )[0]
            f_sk = np.sum((y - X @ w_sk) ** 2) / (2 * n) + lam * ours.total(w_sk)
            # "No worse": up to rounding of the objective (1e-12 relative); different local
            # minima are allowed only in our favour.
            assert res.objective[-1] <= f_sk + 1e-12 * abs(f_sk), (seed, ours)
            assert res.stationarity[-1] <= 1e-6


# ============================================================================ MM at fixed ε, GLMs
@pytest.mark.parametrize("family", ["gaussian", "binomial", "poisson"])
@pytest.mark.parametrize("penalty", [L1(), Lp(0.5)])
def test_mm_descent_at_fixed_eps(family, penalty):
    rng = np.random.default_rng(7)
    n, d = 120, 15
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    w = np.zeros(d)
    w[:3] = [2.0, -1.5, 1.0]
    theta = X @ w + 0.3
    if family == "gaussian":
        y = theta + 0.3 * rng.standard_normal(n)
    elif family == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-theta))).astype(float)
    else:
        y = rng.poisson(np.exp(theta)).astype(float)
    res = irls(X, y, penalty, 0.02, family=family, eps_schedule=schedules.fixed(1e-3),
               max_iter=60, warn=False)
    eta_phase = [i for i, ph in enumerate(res.phase) if ph == "eta"]
    sur = np.array(res.surrogate)[[0, *eta_phase]]
    assert len(eta_phase) >= 3
    # F_ε at fixed ε along the MM iterates: nonincreasing up to rounding (1e-12 relative).
    assert np.all(np.diff(sur) <= 1e-12 * np.abs(sur[:-1]) + 1e-15)
    assert np.all(np.array(res.eps)[eta_phase] == 1e-3)


# ============================================================================ schedules
def test_schedules_are_pure_and_follow_their_rules():
    w0 = np.array([2.0, -1.0, 0.5, 0.0])
    cy = schedules.chartrand_yin(eps0=1.0, eps_min=1e-3)
    s0 = cy.init(w0)
    assert s0.eps == 1.0 and not s0.final
    s1 = cy.update(s0, w0 + 0.5)  # ‖Δw‖ = 1 ≥ √ε/100: stays
    assert s1.eps == 1.0
    s2 = cy.update(s1, w0 + 0.5 + 1e-3)  # ‖Δw‖ = 2e-3 < 1e-2: ÷10
    # Schedule arithmetic (one multiplication): pytest.approx's default 1e-6 is ample.
    assert s2.eps == pytest.approx(0.1)
    assert s0.eps == 1.0  # the old state is untouched
    s = s2
    for _ in range(5):
        s = cy.update(s, s.w)
    assert s.eps == pytest.approx(1e-3) and s.final
    rel = schedules.chartrand_yin(eps0=1e-2, relative=True).init(w0)
    assert rel.eps == pytest.approx(1e-2 * 4.0)  # units of ‖w0‖∞² = 4
    geo = schedules.geometric(eps0=1.0, factor=0.5, eps_min=0.2)
    g = geo.init(w0)
    eps_seq = []
    for _ in range(4):
        g = geo.update(g, w0)
        eps_seq.append(g.eps)
    assert eps_seq == [0.5, 0.25, 0.2, 0.2] and g.final
    dd = schedules.ddfg(k=2, eps0=1.0)
    st = dd.update(dd.init(w0), w0)
    # r(w)_{K+1} = third largest |w| = 0.5, N = 4: ε = (0.5/4)².
    assert st.eps == pytest.approx((0.5 / 4) ** 2)
    st = dd.update(st, np.array([2.0, -1.0, 0.0, 0.0]))
    assert st.eps == 0.0 and st.final
    fx = schedules.fixed(1e-4)
    assert fx.update(fx.init(w0), w0).eps == 1e-4
    with pytest.raises(ValueError, match="ddfg"):
        schedules.get_schedule("ddfg")
    with pytest.raises(ValueError, match="eps_schedule must be"):
        schedules.get_schedule("nope")


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.chartrand_yin(eps0=1.0, eps_min=1e-8),
        schedules.geometric(eps0=1.0, factor=0.3, eps_min=1e-10),
        schedules.ddfg(k=5),
        schedules.fixed(1e-6),
    ],
    ids=["chartrand_yin", "geometric", "ddfg", "fixed"],
)
def test_every_schedule_reaches_the_lasso_and_l05_solutions(schedule):
    X, y, w_true = _regression(100, 30, k=5, seed=8)
    ref = irls(X, y, L1(), 0.1)
    res = irls(X, y, L1(), 0.1, eps_schedule=schedule)
    # Convex: same minimiser whatever the schedule (both stationary to 1e-9).
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-7)
    res05 = irls(X, y, Lp(0.5), 0.05, eps_schedule=schedule)
    assert res05.converged
    np.testing.assert_array_equal(np.flatnonzero(res05.coef), np.flatnonzero(w_true))


def test_eta_floor_makes_exact_zeros_absorbing():
    # DDFG drives ε to exactly 0 once w is K-sparse; then η̂(w_j) → 0 for the zeros and the
    # floor freezes them: the run ends with exact zeros without the support rule.
    X, y, w_true = _regression(100, 30, k=5, seed=9)
    res = irls(X, y, Lp(0.5), 0.05, eps_schedule=schedules.ddfg(k=5), eta_floor=1e-12)
    assert 0.0 in res.eps
    np.testing.assert_array_equal(np.flatnonzero(res.coef), np.flatnonzero(w_true))


# ============================================================================ edge cases
def test_bad_inputs_name_the_argument():
    X, y, _ = _regression(20, 4, seed=10)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        irls(Xn, y, L1(), 0.1)
    Xi = X.copy()
    Xi[1, 1] = np.inf
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        irls(Xi, y, L1(), 0.1)
    yn = y.copy()
    yn[2] = np.inf
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        irls(X, yn, L1(), 0.1)
    with pytest.raises(ValueError, match="mismatched shapes"):
        irls(X, y[:-1], L1(), 0.1)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        irls(X, y, L1(), -0.1)
    with pytest.raises(ValueError, match="lam must be a scalar or have shape"):
        irls(X, y, L1(), np.ones(3))
    with pytest.raises(ValueError, match=r"y must take values in \{0, 1\}"):
        irls(X, y, L1(), 0.1, family="binomial")
    with pytest.raises(ValueError, match="nonnegative counts"):
        irls(X, -np.abs(y), L1(), 0.1, family="poisson")
    with pytest.raises(ValueError, match="X is empty"):
        irls(np.empty((0, 3)), np.empty(0), L1(), 0.1)
    with pytest.raises(ValueError, match="X is empty"):
        irls(np.empty((5, 0)), np.ones(5), L1(), 0.1)
    with pytest.raises(ValueError, match="X must be 2-D"):
        irls(np.ones(5), np.ones(5), L1(), 0.1)
    with pytest.raises(ValueError, match="init must have shape"):
        irls(X, y, L1(), 0.1, init=np.ones(3))


def test_penalties_without_eta_form_are_refused_with_the_reason():
    X, y, _ = _regression(20, 4, seed=11)
    with pytest.raises(NoEtaFormError, match=r"superquadratic.*no η-form"):
        irls(X, y, Power(3.0), 0.1)
    with pytest.raises(ValueError, match="not separable"):
        irls(X, y, HardThreshold(2), 0.1)
    with pytest.raises(ValueError, match="not separable"):
        irls(X, y, ARD(X), 0.1)


@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_constant_and_zero_columns_get_exact_zero_with_a_warning(family):
    X, y, _ = _regression(80, 5, seed=12)
    if family == "binomial":
        y = (y > np.median(y)).astype(float)
    Xc = np.column_stack([X[:, :2], np.full(80, 3.0), X[:, 2:], np.zeros(80)])
    with pytest.warns(UninformativeColumnWarning, match=r"2 constant column\(s\) \[2, 6\]"):
        res = irls(Xc, y, L1(), 0.01, family=family)
    ref = irls(X, y, L1(), 0.01, family=family)
    assert res.coef[2] == 0.0 and res.coef[6] == 0.0
    # The same problem without the useless columns, both solved to stationarity 1e-9.
    np.testing.assert_allclose(np.delete(res.coef, [2, 6]), ref.coef, atol=1e-7)


def test_separable_logistic_data():
    rng = np.random.default_rng(13)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(float)  # perfectly separated by the first feature
    # A coercive penalty: a finite minimiser exists and is found, no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = irls(X, y, L1(), 0.01, family="binomial")
    assert res.converged and np.all(np.isfinite(res.coef))
    # λ = 0 (or a penalty bounded far out, MCP): no finite minimiser: stated warning, no crash.
    for pen, lam in [(L1(), 0.0), (MCP(3.0, 0.1), 0.1)]:
        with pytest.warns(SeparationWarning, match="perfectly separated"):
            res = irls(X, y, pen, lam, family="binomial")
        assert np.all(np.isfinite(res.coef))
        # Stopped on the way to infinity: a near-perfect fit (log-loss < 1e-10 or gradient
        # below tol), every sample on the right side.
        assert families.loss(X, y, res.coef, res.intercept, "binomial") < 1e-6
        assert np.all((2 * y - 1) * (X @ res.coef + res.intercept) > 0)


def test_convergence_warning_carries_diagnostics():
    X, y, _ = _regression(60, 20, seed=14)
    with pytest.warns(ConvergenceWarning, match="stationarity .*last eps") as rec:
        res = irls(X, y, Lp(0.5), 0.05, tol=1e-300, max_iter=3)
    warning = rec[0].message
    assert warning.stationarity == res.stationarity[-1] > 1e-300
    assert np.isfinite(warning.eps) and warning.eps > 0
    assert not res.converged


@pytest.mark.parametrize("penalty", [L1(), Lp(0.5)])
def test_callback_sees_every_iterate_and_can_stop(penalty):
    X, y, _ = _regression(60, 10, seed=15)
    seen = []
    full = irls(X, y, penalty, 0.05, callback=lambda k, w, b: seen.append((k, w.copy())))
    assert [k for k, _ in seen] == list(range(1, full.n_iter + 1))
    # The last iterate reported is the solution returned.
    np.testing.assert_array_equal(seen[-1][1], full.coef)
    stopped = irls(X, y, penalty, 0.05, callback=lambda k, w, b: k >= 2)
    assert stopped.n_iter == 2


def test_solvers_import_neither_torch_nor_cvxpy():
    code = (
        "import sys, dualreg.solvers, dualreg.families, dualreg.estimators; "
        "print('torch' in sys.modules, 'cvxpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
