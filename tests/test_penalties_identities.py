r"""The η-trick identities of every penalty in the catalogue (docs/conventions.md §3–5), each
checked
against an independent numerical computation (scipy or a dense grid), never against the
library's own conversions:

- Ω(0) as documented, evenness;
- Ω(w) = ½ min_η [w²/η + f(η)] and its argmin η̂(w);
- f(η) = sup_w [2Ω(w) − w²/η];
- η̂ = |w|/Ω'(|w|) with Ω' by central differences;
- the keep probability: α ↔ η̂ round trip, the method's own rule at λ = c = 1;
- the curvature class (as docs/conventions.md states, and as ``classify`` measures it);
- ``from_eta_hat`` / ``from_keep_prob`` reproducing the closed forms;
- Hypothesis over the hyperparameters of the parametric families.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from dualreg import duality
from dualreg.penalties import (
    MCP,
    SCAD,
    CappedL2,
    LogSum,
    Lp,
    NoEtaFormError,
    Sparseout,
    Standout,
    from_eta_hat,
    from_keep_prob,
)

ETA_POINTS = np.array([1e-3, 0.05, 0.3, 0.8, 2.5, 10.0, 100.0])
LOG_ETA_GRID = np.linspace(-32.0, 32.0, 6401)  # η ∈ [1.3e-14, 7.9e13], steps of 1 % in η
LOG_W_GRID = np.linspace(np.log(1e-9), np.log(1e9), 8001)

eta_form = pytest.mark.cases(lambda c: c.eta_form)
no_eta_form = pytest.mark.cases(lambda c: not c.eta_form)


def independent_eta_min(dual, w):
    r"""½ min_η [w²/η + f(η)] and the minimising η, for each w, computed independently.

    A grid of 6401 points in log η on [e⁻³², e³²] finds the basin of the global minimum;
    scipy's bounded Brent search on the two grid cells around the best point refines it;
    η = +∞ (the limit, value f(∞)) is a candidate too (the minimiser of MCP, SCAD, capped
    ridge and hard concrete beyond their thresholds).
    """
    eta = np.exp(LOG_ETA_GRID)
    f = dual(eta)
    f_inf = float(dual(np.array([np.inf]))[0])
    values, argmins = [], []
    with warnings.catch_warnings():  # scipy warns when a probe lands where f = +inf
        warnings.simplefilter("ignore")
        for wi in np.abs(np.asarray(w, dtype=float)):
            h = wi**2 / eta + f
            k = int(np.argmin(h))
            lo, hi = LOG_ETA_GRID[max(k - 1, 0)], LOG_ETA_GRID[min(k + 1, eta.size - 1)]

            def obj(z, wi=wi):
                return wi**2 * np.exp(-z) + float(dual(np.array([np.exp(z)]))[0])

            res = optimize.minimize_scalar(obj, bounds=(lo, hi), method="bounded",
                                           options={"xatol": 1e-12})
            cands = [(h[k], eta[k]), (float(res.fun), float(np.exp(res.x))), (f_inf, np.inf)]
            best = min(cands, key=lambda c: c[0])
            values.append(0.5 * best[0])
            argmins.append(best[1])
    return np.array(values), np.array(argmins)


def independent_sup(value, eta):
    r"""sup_{w ≥ 0} [2Ω(w) − w²/η] for each η: w = 0, a grid of 8001 points in log w on
    [1e-9, 1e9], and bounded Brent on the two cells around the best grid point.
    Returns the supremum and whether the grid's maximum sat at its right end (unbounded)."""
    wg = np.exp(LOG_W_GRID)
    omega_grid = value(wg)
    omega0 = float(value(np.array([0.0]))[0])
    sups, at_end = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in np.asarray(eta, dtype=float):
            g = 2.0 * omega_grid - wg**2 / e
            k = int(np.argmax(g))
            lo, hi = LOG_W_GRID[max(k - 1, 0)], LOG_W_GRID[min(k + 1, wg.size - 1)]

            def neg(z, e=e):
                return -(2.0 * float(value(np.array([np.exp(z)]))[0]) - np.exp(2 * z) / e)

            res = optimize.minimize_scalar(neg, bounds=(lo, hi), method="bounded",
                                           options={"xatol": 1e-13})
            sups.append(max(g[k], 2.0 * omega0, -float(res.fun)))
            at_end.append(k == wg.size - 1)
    return np.array(sups), np.array(at_end)


# --------------------------------------------------------------------------- Ω(0), evenness
def test_value_at_zero_is_documented(case):
    p = case.penalty
    # Ω(0) is a closed-form constant (0, log ε, ...): equal to rounding.
    assert p.value(0.0) == pytest.approx(case.omega0, abs=1e-15)
    assert p.total(np.zeros(4)) == pytest.approx(4 * case.omega0, abs=1e-14)


def test_even_and_odd_faces(case, penalty_points):
    p = case.penalty
    w = np.concatenate([penalty_points, [0.0, 0.37, 12.0]])
    # Ω, η̂ act on |w| and the derivative is sgn(w)Ω'(|w|): exactly even / odd.
    np.testing.assert_array_equal(p.value(-w), p.value(w))
    np.testing.assert_array_equal(p.eta_hat(-w), p.eta_hat(w))
    np.testing.assert_array_equal(p.derivative(-w), -p.derivative(w))
    np.testing.assert_array_equal(p.prox(-w, 0.7), -p.prox(w, 0.7))
    assert p.total(-w) == p.total(w)
    assert p.total(w) == pytest.approx(np.sum(p.value(w)), rel=1e-15)


def test_value_nondecreasing_in_magnitude(case):
    # Every penalty of the catalogue is a nondecreasing function of |w| (docs/conventions.md §3: g
    # nondecreasing): on a fine grid, no decrease beyond rounding of Ω's evaluation.
    p = case.penalty
    t = np.linspace(0.0, 12.0, 2401 if not case.slow else 601)
    v = p.value(t)
    assert np.all(np.diff(v) >= -1e-12 * max(1.0, np.ptp(v)))


# --------------------------------------------------------------------------- η-trick minimum
@eta_form
def test_eta_trick_minimum_is_value_and_argmin_is_eta_hat(case, penalty_points):
    p = case.penalty
    w = case.smooth_points(penalty_points)
    value, argmin = independent_eta_min(p.dual, w)
    # The rel 1e-6; the grid + Brent minimum is good to ~1e-10 relative. The atol
    # covers LogSum(0.5) at |w| = 0.5, where Ω = log 1 = 0.
    np.testing.assert_allclose(p.value(w), value, rtol=1e-6, atol=1e-12)

    eta_hat = p.eta_hat(w)
    infinite = np.isinf(eta_hat)
    # η̂ = ∞: the independent minimiser is η = ∞ or as far out as floats can tell (the grid
    # end e³² gives the same value to 1e-14).
    assert np.all(argmin[infinite] >= 1e10)
    # Argmin to the rel 1e-4: near a smooth minimum the objective is flat to second
    # order, so the search pins η only to ~sqrt(1e-16 / curvature) ≈ 1e-7 relative.
    np.testing.assert_allclose(argmin[~infinite], eta_hat[~infinite], rtol=1e-4)


@eta_form
def test_eta_hat_is_a_global_minimiser_over_a_grid(case, penalty_points):
    # Fenchel–Young: ½[w²/η + f(η)] ≥ Ω(w) for every η, not only near η̂.
    p = case.penalty
    w = penalty_points
    eta = np.exp(LOG_ETA_GRID[::10])
    with np.errstate(over="ignore"):
        h = 0.5 * (w[:, None] ** 2 / eta + p.dual(eta))
    # Rounding of Ω and f only (both O(1) here).
    assert np.all(h >= p.value(w)[:, None] - 1e-12 * (1 + np.abs(p.value(w)[:, None])))


# --------------------------------------------------------------------------- f = sup
@eta_form
def test_dual_is_sup_of_two_omega_minus_quadratic(case):
    p = case.penalty
    f = p.dual(ETA_POINTS)
    sup, unbounded = independent_sup(p.value, ETA_POINTS)
    finite = np.isfinite(f)
    # f = +∞ (ridge-type penalties with η beyond 1/r): the supremum is unbounded — the grid
    # maximum sits at w = 1e9 and is huge.
    assert np.all(unbounded[~finite]) and np.all(sup[~finite] > 1e6)
    if np.isfinite(case.biconjugate_up_to):  # hard concrete
        # f = P(z ≠ 0) (docs/conventions.md §5) is the biconjugate only up to η* = η̂(saturation⁻);
        # beyond,
        # sup_w is attained at the saturation w₀ (Ω = ½) and equals 1 − w₀²/η < f(η)
        # (documented in HardConcrete's docstring).
        w0 = p.saturation
        eta_star = float(p.eta_hat(np.array([w0 * (1 - 1e-9)]))[0])
        assert 1.0 < eta_star < 10.0
        beyond = ETA_POINTS > eta_star
        np.testing.assert_allclose(sup[beyond], 1.0 - w0**2 / ETA_POINTS[beyond], rtol=1e-6)
        assert np.all(f[beyond] >= sup[beyond])
        finite &= ~beyond
    # The rel 1e-6; atol for f(η) = 0 (Standout, capped ridge below η = 1).
    np.testing.assert_allclose(f[finite], sup[finite], rtol=1e-6, atol=1e-12)


@no_eta_form
def test_superquadratic_has_no_dual(case):
    p = case.penalty
    assert not p.has_eta_form
    with pytest.raises(NoEtaFormError, match="no η-trick dual"):
        p.dual(1.0)


# --------------------------------------------------------------------------- η̂ = |w|/Ω'
def test_eta_hat_is_w_over_central_difference_slope(case, penalty_points):
    p = case.penalty
    w = case.smooth_points(penalty_points, rel=1e-2)
    h = 1e-5 * w
    slope = (p.value(w + h) - p.value(w - h)) / (2 * h)
    with np.errstate(divide="ignore"):
        expected = np.where(slope > 0, w / slope, np.inf)
    eta_hat = p.eta_hat(w)
    np.testing.assert_array_equal(np.isinf(eta_hat), np.isinf(expected))
    finite = np.isfinite(eta_hat)
    # Truncation O(h²) ~ 1e-10, rounding ε|Ω|/(hΩ') ≲ 1e-7 (Log²Sum at |w| = 0.01) and the
    # table interpolation of hard concrete (~1e-7): 1e-6 covers them with margin.
    np.testing.assert_allclose(eta_hat[finite], expected[finite], rtol=1e-6)
    # And the signed derivative agrees with the same difference quotient.
    np.testing.assert_allclose(p.derivative(w), slope, rtol=1e-6, atol=1e-12)


def test_kink_at_zero(case):
    p = case.penalty
    assert p.kink_at_zero == case.kink_at_zero
    assert (p.slope_at_zero() > 0) == case.kink_at_zero
    t = np.array([1e-8, 1e-6])
    ratio = p.eta_hat(t) / t
    secant = (p.value(t) - case.omega0) / t
    if case.kink_at_zero:
        # docs/conventions.md §4: a kink at 0 iff η̂(t) = O(t): η̂(t)/t → 1/Ω'(0+) and Ω rises
        # with slope
        # Ω'(0+) (O(t^0.5) corrections at t = 1e-8 — VarDropApprox — are below 1e-3) ...
        if np.isfinite(p.slope_at_zero()):
            np.testing.assert_allclose(ratio[0], 1 / p.slope_at_zero(), rtol=1e-3)
            np.testing.assert_allclose(secant[0], p.slope_at_zero(), rtol=1e-3)
        else:
            # ... or, with an infinite slope (ℓp, p < 1), η̂(t)/t → 0 and Ω/t → ∞.
            assert ratio[0] < ratio[1] and secant[0] > secant[1] > 0
    else:
        # No kink: η̂(t)/t blows up as t ↓ 0 (η̂(0) > 0, or η̂ = t^(2−p) with p > 1) and
        # the secant slope of Ω falls to 0.
        assert ratio[0] > 1.5 * ratio[1]
        assert 0 <= secant[0] < secant[1] or secant[1] == 0


# --------------------------------------------------------------------------- α ↔ η̂
@pytest.mark.parametrize("lam, c", [(1.0, 1.0), (0.3, 1.7), (2.0, 0.5)])
def test_keep_prob_round_trip(case, penalty_points, lam, c):
    p = case.penalty
    w = np.concatenate([penalty_points, [0.0]])
    alpha = p.keep_prob(w, lam, c)
    assert np.all((alpha >= 0) & (alpha <= 1))
    back = duality.keep_prob_to_eta(alpha, lam, c)
    eta_hat = p.eta_hat(w)
    np.testing.assert_array_equal(np.isinf(back), np.isinf(eta_hat))
    finite = np.isfinite(eta_hat)
    # 1 − α loses ~ε/(1−α) relative; with η̂ ≤ ~1e3 here that is ≤ 1e-12.
    np.testing.assert_allclose(back[finite], eta_hat[finite], rtol=1e-10, atol=1e-300)
    # The map itself, as docs/conventions.md §4 writes it: α = cη̂/(cη̂ + λ).
    with np.errstate(invalid="ignore"):
        direct = np.where(np.isinf(eta_hat), 1.0, c * eta_hat / (c * eta_hat + lam))
    np.testing.assert_allclose(alpha, direct, rtol=1e-14)
    # Gaussian masks: σ² = λ/(cη̂).
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(p.noise_variance(w, lam, c)[w > 0],
                                   lam / (c * eta_hat[w > 0]), rtol=1e-14)


@pytest.mark.cases(lambda c: c.own_rule is not None)
def test_keep_prob_at_unit_scale_is_the_methods_own_rule(case, penalty_points):
    # docs/conventions.md §4: a penalty defined by a dropout rule is normalised at λ = c = 1, where
    # keep_prob is the method's own rule (standout σ(|w|), targeted 1 − a / 1, Sparseout
    # odds v t^(q−2), Y-Drop 1 − p by bucket).
    w = np.concatenate([penalty_points, -penalty_points[::3]])
    w = case.smooth_points(w)
    np.testing.assert_allclose(case.penalty.keep_prob(w, 1.0, 1.0), case.own_rule(w),
                               rtol=1e-12)
    # And the rule implements Ω: Ω(w) − Ω(0) = ∫₀^|w| t(1 − α(t))/α(t) dt (docs/conventions.md §4),
    # integrated independently by scipy.
    from scipy import integrate

    p = case.penalty
    for wi in (0.4, 2.0):
        ref, _ = integrate.quad(
            lambda t: t * (1 - case.own_rule(np.array([t]))[0]) / case.own_rule(np.array([t]))[0],
            0.0, wi, points=[k for k in case.kinks if k < wi] or None, epsabs=1e-13,
            epsrel=1e-12, limit=200,
        )
        # quad's own tolerance.
        assert p.value(wi) - case.omega0 == pytest.approx(ref, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- curvature class
def test_curvature_class_as_documented_and_measured(case):
    p = case.penalty
    assert p.curvature_class == case.curvature
    assert p.has_eta_form == case.eta_form
    cert = duality.classify(p)
    assert cert.curvature_class == case.curvature
    assert cert.nondecreasing
    # The certificate: concave (second differences of Ω(√θ) ≤ tol) and strictly so somewhere
    # for subquadratic; the mirror image for superquadratic.
    if case.curvature == "subquadratic":
        assert cert.max_second_difference <= cert.tol < -cert.min_second_difference
    if case.curvature == "superquadratic":
        assert -cert.min_second_difference <= cert.tol < cert.max_second_difference


def test_non_monotone_rule_is_neither_sub_nor_super():
    rule = from_eta_hat(lambda t: 2.0 + np.sin(3.0 * t))
    cert = duality.classify(rule)
    assert rule.curvature_class == cert.curvature_class == "indefinite"
    # Its certificate shows both signs of curvature, beyond the tolerance.
    assert cert.max_second_difference > cert.tol and cert.min_second_difference < -cert.tol
    with pytest.raises(NoEtaFormError):
        rule.dual(1.0)


def test_monotone_and_anti_monotone_rules_are_classified():
    # docs/conventions.md §4: η̂ nondecreasing ⇒ subquadratic; decreasing ⇒ superquadratic.
    assert from_eta_hat(lambda t: 1.0 + t**2).curvature_class == "subquadratic"
    assert from_eta_hat(lambda t: 1.0 / (1.0 + t)).curvature_class == "superquadratic"
    assert from_eta_hat(lambda t: np.full_like(t, 0.5)).curvature_class == "quadratic"


# --------------------------------------------------------------------------- rule constructors
@pytest.mark.cases(lambda c: not c.slow)
def test_from_eta_hat_reproduces_the_closed_form(case, penalty_points):
    p = case.penalty
    rule = from_eta_hat(p.eta_hat)
    w = np.concatenate([penalty_points, [0.0, 1e-6]])
    # docs/conventions.md §3: Ω(w) − Ω(0) = ∫₀^|w| t/η̂ dt. The adaptive quadrature is accurate to
    # ~1e-14 of the integral on smooth pieces and ~1e-12 across kinks (measured ≤ 1.4e-12).
    np.testing.assert_allclose(rule.value(w), p.value(w) - case.omega0, rtol=1e-10,
                               atol=1e-11)
    # Same class (from the rule's own values), same kink at zero.
    assert rule.curvature_class == case.curvature
    assert rule.kink_at_zero == case.kink_at_zero
    if not case.eta_form:
        return
    f = p.dual(ETA_POINTS)
    finite = np.isfinite(f)
    # Ω shifted by −Ω(0) shifts f by −2Ω(0). Bisection for w_η (exact to rounding) on top
    # of the quadrature above; rtol for f ~ 3e5 (ℓ1.5 at η = 100).
    np.testing.assert_allclose(rule.dual(ETA_POINTS[finite]), f[finite] - 2 * case.omega0,
                               rtol=1e-10, atol=1e-10)


@pytest.mark.cases(lambda c: c.slow)
def test_from_eta_hat_reproduces_table_based_penalties(case):
    # VarDrop and hard concrete: η̂ costs microseconds, so a few points, no classification.
    p = case.penalty
    w = np.array([0.05, 0.3, 0.5, 2.0])
    # Quadrature (1e-14) on top of η̂'s table interpolation (≤ 1e-9 relative).
    np.testing.assert_allclose(duality.value_from_eta_hat(p.eta_hat, w), p.value(w),
                               rtol=1e-8, atol=1e-12)
    eta = np.array([0.05, 0.8, 2.0])
    np.testing.assert_allclose(duality.dual_from_eta_hat(p.eta_hat, p.value, eta), p.dual(eta),
                               rtol=1e-8)


def test_logsum_rule_matches_closed_form_shifted():
    # The example: from_eta_hat(LogSum(0.5).eta_hat) = LogSum(0.5).value − log 0.5.
    p = LogSum(0.5)
    rule = from_eta_hat(p.eta_hat)
    w = np.array([0.0, 0.1, 1.0, 5.0, -3.0])
    np.testing.assert_allclose(rule.value(w), p.value(w) - np.log(0.5), rtol=1e-12, atol=1e-15)


def test_from_keep_prob_of_sigmoid_is_standout():
    # docs/conventions.md §5: keep prob σ(|w|) at λ = c = 1 ⇒ Ω = 1 − (1+|w|)e^{−|w|}.
    rule = from_keep_prob(lambda t: special.expit(t), lam=1.0)
    p = Standout()
    w = np.array([0.0, 0.01, 0.3, 1.0, 2.5, 6.0, 9.0])
    # Smooth rule: quadrature to rounding.
    np.testing.assert_allclose(rule.value(w), p.value(w), rtol=1e-12, atol=1e-15)
    eta = np.array([0.5, 1.0, 1.5, 4.0, 50.0])
    np.testing.assert_allclose(rule.dual(eta), p.dual(eta), rtol=1e-10, atol=1e-14)
    assert rule.curvature_class == "subquadratic" and not rule.kink_at_zero


@pytest.mark.parametrize("lam, c", [(2.0, 0.5), (0.1, 3.0)])
@pytest.mark.cases(lambda c: c.id in ("L1", "LogSum(2.0)", "Standout", "MCP(2.0,0.7)",
                                      "Sparseout(0.5,0.3,stop)"))
def test_from_keep_prob_inverts_keep_prob(case, lam, c):
    # The rule that implements λΩ at scale c gives back Ω (docs/conventions.md §4, both directions).
    p = case.penalty
    rule = from_keep_prob(p.as_dropout_rule(lam, c), lam=lam, c=c)
    w = np.array([0.02, 0.4, 1.2, 3.0])
    # η̂ → α → η̂ loses ≤ 1e-12 relative (see the round-trip test); quadrature ~1e-14.
    np.testing.assert_allclose(rule.value(w), p.value(w) - case.omega0, rtol=1e-10)


# --------------------------------------------------------------------------- Hypothesis
HYP = settings(max_examples=20, deadline=None)
W_HYP = np.array([0.003, 0.04, 0.3, 0.77, 1.9, 4.2, 11.0])


def _check_identities(p, kinks=()):
    """The η-trick identities at W_HYP, for any subquadratic penalty with closed forms."""
    w = W_HYP[np.all([np.abs(W_HYP - k) > 1e-2 * k for k in kinks], axis=0)] if kinks else W_HYP
    eta = p.eta_hat(w)
    finite = np.isfinite(eta)
    # Ω = ½[w²/η̂ + f(η̂)] at the reweighting (closed forms: rounding only).
    half = 0.5 * (w[finite] ** 2 / eta[finite] + p.dual(eta[finite]))
    np.testing.assert_allclose(p.value(w[finite]), half, rtol=1e-9, atol=1e-12)
    inf_part = ~finite
    if np.any(inf_part):
        np.testing.assert_allclose(p.value(w[inf_part]), 0.5 * p.dual(np.inf), rtol=1e-12)
    # η̂ is the global minimiser: no grid η does better (Fenchel–Young), rounding only.
    grid = np.exp(np.linspace(-25, 25, 1001))
    with np.errstate(over="ignore"):
        h = 0.5 * (w[:, None] ** 2 / grid + p.dual(grid))
    assert np.all(h >= p.value(w)[:, None] - 1e-10 * (1 + np.abs(p.value(w)[:, None])))
    # η̂ = |w|/Ω' (central differences). Truncation O(h²) ≤ 1e-9 relative; rounding of the
    # difference is a few ulps of Ω over hΩ' — large for a tiny slope on a large Ω (LogSum
    # with ε = 100 at |w| = 0.003: 3e-7) — so the tolerance carries that term explicitly.
    h_ = 1e-5 * w
    slope = (p.value(w + h_) - p.value(w - h_)) / (2 * h_)
    pos = finite & (slope > 0)
    rounding = 8 * np.finfo(float).eps * np.abs(p.value(w[pos])) / (h_[pos] * slope[pos])
    assert np.all(np.abs(eta[pos] * slope[pos] / w[pos] - 1) <= 1e-7 + rounding)
    # Prox: never worse than a brute-force grid on [0, v] (objective values).
    v, step = 2.5, 0.8
    x = float(p.prox(v, step))
    g = np.linspace(0.0, v, 20001)
    obj = 0.5 * (g - v) ** 2 + step * p.value(g)
    assert 0.5 * (x - v) ** 2 + step * p.value(x) <= obj.min() + 1e-12


@HYP
@given(p=st.floats(0.05, 1.95))
def test_hypothesis_lp(p):
    pen = Lp(p)
    _check_identities(pen)
    r = p / (2 - p)
    eta = np.array([0.1, 1.0, 7.0])
    # docs/conventions.md §5 closed form f = η^r / r.
    np.testing.assert_allclose(pen.dual(eta), eta**r / r, rtol=1e-12)


@HYP
@given(eps=st.floats(1e-3, 1e2))
def test_hypothesis_logsum(eps):
    pen = LogSum(eps)
    _check_identities(pen)
    assert pen.value(0.0) == pytest.approx(np.log(eps), rel=1e-15, abs=1e-15)


@HYP
@given(a=st.floats(1.1, 8.0), scale=st.floats(0.05, 3.0))
def test_hypothesis_mcp(a, scale):
    pen = MCP(a, scale)
    b = a * scale
    _check_identities(pen, kinks=(b,))
    eta = np.array([0.1, 1.0, 7.0])
    # f = bη/(η + b), docs/conventions.md §5
    np.testing.assert_allclose(pen.dual(eta), b * eta / (eta + b), rtol=1e-12)
    assert pen.value(10 * b) == pytest.approx(b / 2, rel=1e-15)


@HYP
@given(a=st.floats(1.2, 8.0), scale=st.floats(0.05, 3.0))
def test_hypothesis_scad(a, scale):
    pen = SCAD(a, scale)
    _check_identities(pen, kinks=(scale, a * scale))
    assert pen.value(10 * a * scale) == pytest.approx(scale * (a + 1) / 2, rel=1e-14)


@HYP
@given(q=st.floats(0.2, 1.9), drop=st.floats(0.01, 0.9), grad=st.sampled_from(["stop", "autograd"]))
def test_hypothesis_sparseout(q, drop, grad):
    pen = Sparseout(q, drop, grad)
    _check_identities(pen)
    v = drop / (1 - drop)
    w = np.array([0.3, 2.0])
    # docs/conventions.md §5: (v/q)|w|^q with stop-gradient, (v/2)|w|^q with autograd.
    expected = (v / q if grad == "stop" else v / 2) * w**q
    np.testing.assert_allclose(pen.value(w), expected, rtol=1e-13)


@HYP
@given(tau=st.floats(0.05, 5.0))
def test_hypothesis_capped_l2(tau):
    pen = CappedL2(tau)
    _check_identities(pen, kinks=(tau,))
    w = np.array([0.5 * tau, 2 * tau])
    np.testing.assert_allclose(pen.value(w), np.minimum(w**2, tau**2) / 2, rtol=1e-14)
