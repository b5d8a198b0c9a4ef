r"""Monte-Carlo dropout training converges where the penalty side says it should (issue 4).

Every test trains K independent replicas with real sampled masks and compares the mean of
their Polyak-averaged iterates with a deterministic solution of the effective objective,
per coordinate:

- within ``Z_TOL = 4`` standard errors (replicas are independent, so the standard error
  s/√K is honest; a correct estimator exceeds 4 se on one of ~6 coordinates with probability
  ~4e-4, and every run is seeded, so the outcome is reproducible);
- on the coordinates the reference keeps away from zero, also within ``REL_TOL = 1 %``.

Where two effective objectives are candidates (Sparseout's v/q and v/2), the test also
checks that the *other* one fails these criteria, so the comparison has power. Sizes are
CPU-small (each test a few seconds on one thread).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from dualreg import datasets
from dualreg.penalties import LogSum, Lp, Power
from dualreg.penalties import TargetedDropout as TDPenalty
from dualreg.torch import (
    AdaptiveDropout,
    BernoulliDropout,
    GaussianDropout,
    Sparseout,
    TargetedDropout,
    VariationalDropout,
    YDrop,
    hoyer,
    monte_carlo,
)
from dualreg.torch import expected as ex

Z_TOL = 4.0  # standard errors: see the module docstring
REL_TOL = 0.01  # the 1 % on coordinates the reference keeps nonzero


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors on shared cores: one intra-op thread is several times faster."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


# --------------------------------------------------------------------------- helpers
def _design(n, w_true, seed, noise=0.5, standardize=True, orthogonal=False):
    """Gaussian design with unit column scale c_j = ‖X_j‖²/n = 1 (orthonormal columns times
    √n if ``orthogonal``) and a linear response."""
    rng = np.random.default_rng(seed)
    X = datasets.gaussian_design(rng, n, len(w_true), orthogonal=orthogonal,
                                 unit_scale=standardize)
    return X, datasets.response(rng, X @ np.asarray(w_true, float), noise=noise)


def _gram(X, y):
    n = X.shape[0]
    return X.T @ X / n, X.T @ y / n


def _compare(res, ref, nonzero=None, z_tol=Z_TOL, rel_tol=REL_TOL):
    """(passes, message): per-coordinate z-scores and relative errors against ``ref``."""
    ref = np.asarray(ref, float)
    if nonzero is None:
        nonzero = np.abs(ref) > 1e-8
    z = np.abs(res.coef_mean - ref) / res.coef_se
    rel = np.abs(res.coef_mean - ref) / np.where(nonzero, np.abs(ref), 1.0)
    ok = bool(np.all(z <= z_tol) and np.all(rel[nonzero] <= rel_tol))
    sci = {"float_kind": lambda x: f"{x:.1e}"}
    msg = (
        f"\nref  {np.array2string(ref, precision=5)}\nmc   "
        f"{np.array2string(res.coef_mean, precision=5)}\nse   "
        f"{np.array2string(res.coef_se, formatter=sci)}\nz    {np.array2string(z, precision=2)}"
        f"\nrel  {np.array2string(np.where(nonzero, rel, np.nan), formatter=sci)}"
    )
    if os.environ.get("DUALREG_VERBOSE"):
        print(msg)
    return ok, msg


def _assert_matches(res, ref, nonzero=None):
    ok, msg = _compare(res, ref, nonzero)
    assert ok, "Monte-Carlo mean disagrees with the deterministic solution" + msg


def _prox_gradient(X, y, penalty, weights, w0, tol=1e-15, max_iter=20000):
    r"""Deterministic minimiser of ½‖y − Xw‖²/n + Σ_j weights_j Ω(w_j) (gaussian), by proximal
    gradient with step 1/‖H‖ using the penalty object's own prox; then checks stationarity."""
    from dualreg.solvers import QuadraticLoss, prox_gradient

    H, b = _gram(X, y)
    res = prox_gradient(QuadraticLoss(H, b), penalty, weights, w0, tol=tol, max_iter=max_iter,
                        warn=False)
    assert res.converged, "reference prox-gradient did not converge"
    w = res.coef
    grad = H @ w - b
    # Stationarity of the reference itself, to near rounding (gradient units ~1).
    resid = penalty.subdiff_distance(w, grad / np.asarray(weights), 1.0) * np.asarray(weights)
    assert np.max(resid) < 1e-9, f"reference not stationary: {resid}"
    return w


# --------------------------------------------------------------------------- (1) Bernoulli
@pytest.mark.parametrize("target", ["weight", "input"])
def test_bernoulli_dropout_is_weighted_ridge(target):
    r"""Fixed-rate inverted dropout on a gaussian model converges to the weighted ridge
    :math:`(H + v\,\mathrm{diag}(c))w = X^\top y/n`, v = p/(1−p) (docs/conventions.md §2, closed
    form)."""
    w_true = np.array([2.0, -1.5, 1.0, 0.5, -0.8])
    X, y = _design(200 if target == "input" else 400, w_true, seed=0)
    H, b = _gram(X, y)
    p = 0.3
    layer = BernoulliDropout(p, target=target)
    c = np.diag(H)
    ref = np.linalg.solve(H + layer.variance * np.diag(c), b)
    # The same ridge from the layer's penalty object: Σ c_j Ω(w_j), Ω = v w²/2.
    pen = layer.penalty()
    assert np.allclose(c * pen.derivative(ref), layer.variance * c * ref, rtol=1e-14)
    res = monte_carlo(X, y, layer, replicas=16, steps=2000, lr=0.1, seed=1, progress=False)
    _assert_matches(res, ref)
    # Power: the unregularised least squares solution is rejected.
    ols = np.linalg.solve(H, b)
    assert not _compare(res, ols)[0]


def test_gaussian_mask_is_the_same_ridge():
    """Gaussian masks with σ² = v give the ridge of Bernoulli masks with the same variance."""
    w_true = np.array([1.5, -1.0, 0.7, 0.3])
    X, y = _design(300, w_true, seed=2)
    H, b = _gram(X, y)
    sigma2 = 0.4
    ref = np.linalg.solve(H + sigma2 * np.diag(np.diag(H)), b)
    res = monte_carlo(X, y, GaussianDropout(sigma2), replicas=16, steps=2000, lr=0.1, seed=3,
                      progress=False)
    _assert_matches(res, ref)


# --------------------------------------------------------------------------- (2) binomial
def _binomial_data(n=300, seed=5, scale=1.0, offset=1.0, soft=False):
    """Nonnegative (skewed) features, as in bag-of-words data: the third-order term of the
    Bernoulli remainder does not cancel by symmetry (proofs/T2_glm_second_order.md)."""
    rng = np.random.default_rng(seed)
    X = datasets.exponential_design(rng, n, 5)
    theta = offset + scale * X @ np.array([1.0, -0.8, 0.6, 0.5, -0.4])
    return X, datasets.response(rng, theta, "binomial", expected=soft)


def test_binomial_dropout_matches_exact_expected_objective_not_fisher_ridge():
    r"""Bernoulli input dropout on logistic regression: the Monte-Carlo mean is the minimiser
    of the *exact* expected dropout loss (enumerated over all 2^d masks), and the Fisher
    ridge (second order) is off by the predicted gap, which the replicas resolve."""
    X, y = _binomial_data(soft=True)  # population labels: the MLE is w0, no tiny coefficient
    p = 0.2
    v = p / (1 - p)
    w_m, b_m = ex.solve_glm(X, y)
    w_d, b_d = ex.solve_expected_dropout(X, y, "binomial", "bernoulli", p, x0=np.r_[w_m, b_m])
    w_q, _ = ex.solve_fisher_ridge(X, y, "binomial", v, x0=np.r_[w_m, b_m])
    res = monte_carlo(X, y, BernoulliDropout(p, target="input"), family="binomial",
                      intercept=True, replicas=16, steps=1500, lr=0.5, schedule="inverse_sqrt",
                      init=w_m, seed=7, progress=False)
    _assert_matches(res, w_d)
    # The intercept too (4 standard errors).
    assert abs(res.intercept_mean - b_d) <= Z_TOL * res.intercept_se
    # The measured gap to the Fisher ridge is the exact one, and it is resolved (> 4 se).
    gap_mc = res.coef_mean - w_q
    gap_exact = w_d - w_q
    assert np.all(np.abs(gap_mc - gap_exact) <= Z_TOL * res.coef_se)
    assert np.max(np.abs(gap_mc) / res.coef_se) > Z_TOL


def _rel_gap(X, y, mask, rate):
    """‖w_drop − w_fisher‖ / ‖w_mle − w_drop‖: the expansion error relative to the shrinkage."""
    w_m, b_m = ex.solve_glm(X, y)
    v = rate if mask == "gaussian" else rate / (1 - rate)
    w_d, _ = ex.solve_expected_dropout(X, y, "binomial", mask, rate, x0=np.r_[w_m, b_m])
    w_q, _ = ex.solve_fisher_ridge(X, y, "binomial", v, x0=np.r_[w_m, b_m])
    return np.linalg.norm(w_d - w_q) / np.linalg.norm(w_m - w_d), np.mean(np.abs(X * w_d))


def _slopes(xs, ys):
    return np.diff(np.log(ys)) / np.diff(np.log(xs))


def test_second_order_gap_scaling_gaussian_vs_bernoulli_masks():
    r"""proofs/T2_glm_second_order.md: with Gaussian masks the relative gap is O(σ²) (log-log
    slope 1 in σ²); with Bernoulli masks it tends to a nonzero constant as p → 0 (slope 0 in
    p) and is O(u), u = mean |x_ij w_j| (slope 1 in u); and the p → 0 constant equals the
    first-order formula of the proof."""
    X, y = _binomial_data(soft=True)
    rates = np.array([0.005, 0.01, 0.02])
    g_gauss = np.array([_rel_gap(X, y, "gaussian", r)[0] for r in rates])
    g_bern = np.array([_rel_gap(X, y, "bernoulli", r)[0] for r in rates])
    # Slopes: the next-order corrections are O(σ²) and O(p) relative, i.e. a few % at these
    # rates (measured 0.985, 0.978 and -0.016, -0.032); ±0.15 and ±0.1 leave room for them only.
    assert np.all(np.abs(_slopes(rates, g_gauss) - 1.0) < 0.15), _slopes(rates, g_gauss)
    assert np.all(np.abs(_slopes(rates, g_bern)) < 0.1), _slopes(rates, g_bern)
    assert g_gauss[0] < 0.01 and g_bern[0] > 0.1  # vanishing vs not vanishing
    # The p → 0 limit from the first-order (one-unit-dropped) formula of the proof.
    # The O(p) and O(σ²) corrections move them by ~0.6 % per doubling of the rate (measured
    # 1.1 % and 1.3 % at rate 0.005): 2 % admits those, not a wrong constant.
    limit = ex.bernoulli_gap_limit(X, y, "binomial")
    assert abs(g_bern[0] / limit - 1.0) < 0.02, (g_bern[0], limit)
    slope = ex.gaussian_gap_slope(X, y, "binomial")
    assert abs(g_gauss[0] / rates[0] / slope - 1.0) < 0.02, (g_gauss[0] / rates[0], slope)
    # Slope in the size of the dropped contributions: scale the signal (population labels,
    # so that the fitted coefficients scale exactly).
    scales = [0.1, 0.2, 0.4]
    gu = [_rel_gap(*_binomial_data(scale=s, soft=True), "bernoulli", 0.01) for s in scales]
    su = _slopes([g[1] for g in gu], [g[0] for g in gu])
    # First order in u plus O(u²): measured 1.09, 0.97; ±0.2 for the O(u) drift of the slope.
    assert np.all(np.abs(su - 1.0) < 0.2), su


# --------------------------------------------------------------------------- (3) Sparseout
@pytest.mark.parametrize("q", [1.0, 1.5, 3.0])
@pytest.mark.parametrize("grad", ["stop", "autograd"])
def test_sparseout_constant_depends_on_gradient_convention(q, grad):
    r"""Sparseout on the weights: stop-gradient → ℓq with v/q, autograd → with v/2; the
    other convention's constant is rejected."""
    w_true = np.array([2.0, -1.5, 1.2, -1.0])
    X, y = _design(300, w_true, seed=11)
    p = 0.2
    v = p / (1 - p)
    layer = Sparseout(p, q, grad=grad)
    c = np.diag(_gram(X, y)[0])
    w0 = np.linalg.solve(*_gram(X, y))
    m_pred = v if grad == "stop" else v * q / 2  # Power(q, m): Ω = m|w|^q/q
    m_other = v * q / 2 if grad == "stop" else v
    pen = layer.penalty()
    assert isinstance(pen, Power) and pen.q == q and np.isclose(pen.weight, m_pred)
    ref = _prox_gradient(X, y, Power(q, m_pred), c, w0)
    other = _prox_gradient(X, y, Power(q, m_other), c, w0)
    res = monte_carlo(X, y, layer, replicas=16, steps=2000, lr=0.05, schedule="inverse_sqrt",
                      init=w0, seed=12, progress=False)
    _assert_matches(res, ref)
    ok_other, msg = _compare(res, other)
    assert not ok_other, "the other gradient convention's constant was not rejected" + msg


# --------------------------------------------------------------------------- (4) adaptive
def _irls_reference(X, y, layer, w0):
    r"""IRLS (dualreg.solvers.irls) on the floored penalty the layer implements,
    :math:`\Omega_{floor}(w) = \int_0^{|w|} t/\max(\hat\eta(t), \eta_{min})\,dt`, checked
    against a plain η-trick fixed point :math:`\eta = \max(\hat\eta(w), \eta_{min})`."""
    from dualreg.solvers.irls import irls

    floored = layer.effective_penalty(1.0)  # c_j = 1 in these designs
    lam, eta_min, penalty = layer.lam, floored.eta_min, layer.penalty()
    sol = irls(X, y, floored, lam, family="gaussian", fit_intercept=False, init=w0, tol=1e-12)
    H, b = _gram(X, y)
    w = np.asarray(w0, float).copy()
    for _ in range(10000):
        eta = np.maximum(penalty.eta_hat(w), eta_min)
        w_new = np.linalg.solve(H + lam * np.diag(1.0 / eta), b)
        if np.max(np.abs(w_new - w)) < 1e-15:
            break
        w = w_new
    # Two solvers, one floored problem, one shared start: the same stationary point. IRLS
    # stops at stationarity 1e-12 (gradient units) and the Hessian's smallest eigenvalue is
    # ~0.5 here, so 1e-10 in the coefficients.
    assert np.allclose(sol.coef, w_new, rtol=0, atol=1e-10), (sol.coef, w_new)
    return w_new


@pytest.mark.parametrize("penalty", [LogSum(0.1), Lp(0.5)], ids=["logsum", "l_half"])
def test_adaptive_dropout_is_irls_with_the_same_floor(penalty):
    w_true = np.array([2.0, -1.5, 1.0, 0.0, 0.0, 0.0])
    X, y = _design(200, w_true, seed=1)
    lam, floor = 0.05, 0.2
    layer = AdaptiveDropout(penalty, lam, keep_floor=floor)
    c = np.diag(_gram(X, y)[0])
    eta_min = float(np.max(layer.eta_floor(c)))  # c_j = 1 here: one floor
    assert np.allclose(layer.eta_floor(c), eta_min)
    assert np.isclose(eta_min, lam * floor / (1 - floor))
    w0 = np.linalg.solve(*_gram(X, y))
    ref = _irls_reference(X, y, layer, w0)
    res = monte_carlo(X, y, layer, replicas=16, steps=2500, lr=0.02, schedule="inverse_sqrt",
                      init=w0, seed=4, progress=False)
    # Coordinates in the floor regime (η̂(w) < η_min: ridge-shrunk noise) are judged by their
    # standard error only (docs/conventions.md §6).
    kept = penalty.eta_hat(ref) > eta_min
    assert kept.sum() == 3
    _assert_matches(res, ref, nonzero=kept)


# --------------------------------------------------------------------------- (5) targeted
def test_targeted_dropout_is_trimmed_ridge_fixed_point():
    r"""Targeted dropout (bottom half, a = 0.5, no rescaling) on the weights: stationary point
    :math:`(H D + \mathrm{diag}(c\delta))w = X^\top y/n`, D = diag(1 − δ), δ = a on the targeted
    set, the set consistent with |w| — in u = (1 − δ)w the trimmed ridge with odds a/(1−a)."""
    w_true = np.array([2.0, -1.5, 1.2, 0.3, -0.2, 0.1])
    X, y = _design(300, w_true, seed=21)
    H, b = _gram(X, y)
    c = np.diag(H)
    a, targ = 0.5, 0.5
    layer = TargetedDropout(p=a, gamma=targ)
    w = np.linalg.solve(H, b)
    for _ in range(20):  # set-valued fixed point: targeted set ↔ solution
        delta = a * TargetedDropout.targeted_set(torch.as_tensor(np.abs(w)), targ).numpy()
        w_new = np.linalg.solve(H * (1 - delta)[None, :] + np.diag(c * delta), b)
        if np.array_equal(np.argsort(np.abs(w_new)), np.argsort(np.abs(w))):
            w = w_new
            break
        w = w_new
    ref = w
    res = monte_carlo(X, y, layer, replicas=16, steps=2000, lr=0.1, init=np.linalg.solve(H, b),
                      seed=22, progress=False)
    _assert_matches(res, ref)
    # The same point from the penalty object: in u = (1 − δ)w, ∇L(u) + c·Ω'(u) = 0 for the
    # truncated quadratic with its threshold between the targeted and the kept weights.
    td = layer.penalty()
    assert isinstance(td, TDPenalty) and td.rate == a
    targeted = delta > 0
    tau_w = 0.5 * (np.abs(ref[targeted]).max() + np.abs(ref[~targeted]).min())
    u = (1 - delta) * ref
    pen = TDPenalty.from_weight_threshold(a, tau_w)
    assert np.allclose(H @ u - b + c * pen.derivative(u), 0.0, atol=1e-12)


# --------------------------------------------------------------------------- (6) Y-Drop
def test_ydrop_densifies_and_mirrored_sparsifies():
    r"""Y-Drop on a linear model: lower Hoyer sparsity than plain dropout at equal mean rate;
    mirrored: higher. Each replica mean also matches the frozen two-level ridge fixed point."""
    # Two halves separated enough that the importance ranking (hence the frozen two-level
    # ridge) is the same at every iterate even after Y-Drop shrinks the top half by 1/(1+r):
    # min(top)/(1 + r_high) > max(bottom)/(1 + r_low). Orthogonal columns (H = I) keep the
    # smallest coefficient large enough for the 1 % criterion.
    w_true = np.array([2.4, -2.0, 1.6, 0.6, -0.55, 0.45])
    X, y = _design(200, w_true, seed=31, orthogonal=True)
    H, b = _gram(X, y)
    mean_abs_x = np.abs(X).mean(0)
    p_low, p_high = 0.1, 0.5
    runs = {}
    refs = {}
    for name, layer in [
        ("ydrop", YDrop(p_low, p_high)),
        ("plain", BernoulliDropout(0.5 * (p_low + p_high), target="input")),
        ("mirrored", YDrop(p_low, p_high, mirrored=True)),
    ]:
        runs[name] = monte_carlo(X, y, layer, replicas=12, steps=1500, lr=0.1, seed=32,
                                 init=np.linalg.solve(H, b), progress=False)
        if name == "plain":
            v = np.full(6, layer.variance)
            refs[name] = np.linalg.solve(H + np.diag(v * np.diag(H)), b)
            continue
        w = np.linalg.solve(H, b)
        for _ in range(20):
            imp = np.abs(w) * mean_abs_x
            top = np.argsort(np.argsort(imp)) >= 3
            pd = np.where(top == (not layer.mirrored), p_high, p_low)
            w = np.linalg.solve(H + np.diag(pd / (1 - pd) * np.diag(H)), b)
        refs[name] = w
    for name in runs:
        _assert_matches(runs[name], refs[name])
    h = {k: hoyer(torch.as_tensor(r.coef)).numpy() for k, r in runs.items()}
    m = {k: v.mean() for k, v in h.items()}
    se = {k: v.std(ddof=1) / np.sqrt(len(v)) for k, v in h.items()}
    # Ordering with a margin of 4 standard errors of the difference (independent runs).
    assert m["ydrop"] + Z_TOL * np.hypot(se["ydrop"], se["plain"]) < m["plain"], (m, se)
    assert m["plain"] + Z_TOL * np.hypot(se["plain"], se["mirrored"]) < m["mirrored"], (m, se)


# --------------------------------------------------------------------------- (7) VarDrop
def test_variational_dropout_satisfies_eta_trick_optimality():
    r"""Learned σ² and w: :math:`\eta = \lambda/(c\sigma^2)` equals the VarDrop η̂ of the
    effective penalty, :math:`(\lambda/c)\hat\eta_{VD}(\sqrt{c/\lambda}|w|)`, within 5 %."""
    w_true = np.array([2.0, -1.5, 1.0, 0.05, -0.03])
    X, y = _design(300, w_true, seed=41)
    H, b = _gram(X, y)
    c = np.diag(H)
    lam = 0.02
    # The cap on log σ² keeps lr·c·σ² < 2 for pruned weights (SGD stability).
    layer = VariationalDropout(lam, init_log_sigma2=-3.0, local_reparam=True, log_sigma2_max=3.0)
    res = monte_carlo(X, y, layer, replicas=8, steps=2500, lr=0.2, schedule="inverse_sqrt",
                      init=np.linalg.solve(H, b), seed=42, progress=False)
    log_s2 = res.state["log_sigma2"].mean(0)
    sigma2 = np.exp(log_s2)
    w = res.coef_mean
    # Kept weights converge to log σ² = −log η̂_VD(√(c/λ)|w|) ≈ −3.7 or below; pruned ones
    # (w → 0, σ² → ∞) climb only logarithmically in the steps, from −3: a cut at −1 separates.
    kept = log_s2 < -1.0
    assert kept.sum() == 3
    eta = lam / (c * sigma2)
    vd = layer.penalty()
    eta_hat = (lam / c) * vd.eta_hat(np.sqrt(c / lam) * np.abs(w))
    np.testing.assert_allclose(eta[kept], eta_hat[kept], rtol=0.05)
    # And w is stationary for the weighted ridge with those η (the other half of the trick).
    grad = H @ w - b + lam * w / eta
    assert np.all(np.abs(grad[kept]) < 0.01 * np.abs(w[kept]))
