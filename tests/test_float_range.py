"""Every catalogue penalty's faces and prox over the whole float range (hypothesis).

Magnitudes run from the smallest subnormal (5e-324) to 1.7e308, with ±0; η also takes 0 and
+inf. Each face must give a finite, correct answer or a legitimate overflow, checked against
facts that do not come from the implementation:

- Ω is even and nondecreasing in |w|, and grows at most quadratically (every catalogue
  penalty does: Ω(√θ) is concave, or quadratic beyond a threshold), so Ω(w) = +inf is only
  allowed where Ω(1e150)·(|w|/1e150)² overflows;
- Ω' is odd, and agrees with the secant of Ω where both are representable;
- η̂ = |w|/Ω'(|w|) (the identity, where the ratio is representable), never NaN;
- f is nondecreasing in η (f'(η) = (w_η/η)² ≥ 0), never NaN, and 2Ω(w) = w²/η̂ + f(η̂);
- prox: step 0 is the identity; the result has the sign of v and |x| ≤ |v|; beyond 1e150 it
  solves the stationarity condition x + step·Ω'(x) = v (the far stationary point of a
  penalty with at most quadratic growth).

Rule-built penalties (``from_eta_hat``/``from_keep_prob``) against closed forms:
∫₀^w 1/(1+t) dt = log1p(w), the dual of η̂(t) = t is f(η) = η.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualreg.penalties import L1, Lp, Sparseout, YDrop, from_eta_hat, from_keep_prob
from dualreg.penalties.catalogue import select_examples

SETTINGS = settings(max_examples=12, deadline=5000, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

EDGES = [0.0, -0.0, 5e-324, 1e-320, 2.2250738585072014e-308, 1e-300, 1e-150, 1e-8, 1.0,
         1e8, 1e150, 1e200, 1e300, 1.7976931348623157e308]
magnitudes = st.one_of(st.sampled_from(EDGES),
                       st.floats(min_value=5e-324, max_value=1.7e308, allow_nan=False))
signed = st.builds(lambda t, s: t * s, magnitudes, st.sampled_from([1.0, -1.0]))
steps = st.sampled_from([0.0, 1e-300, 0.3, 1.0, 7.0, 1e10])

EXTRA = [("Sparseout(drop=0)", lambda: Sparseout(drop=0.0)),
         ("YDrop(continuous,mirrored)", lambda: YDrop(0.0, 0.5, mapping="continuous",
                                                       mirrored=True)),
         ("Lp(0.3)", lambda: Lp(0.3))]
CASES = [(ex.id, ex.build) for ex in select_examples(separable=True)] + EXTRA
_BUILT: dict[str, object] = {}


def _penalty(case):
    cid, build = case
    if cid not in _BUILT:
        _BUILT[cid] = build()
    return _BUILT[cid]


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES], scope="module")
def pen(request):
    return _penalty(request.param)


def _may_overflow(p, t: float) -> bool:
    """Ω(t) = +inf is allowed only if quadratic growth from Ω(1e100) overflows at t (a
    penalty with an η-form has Ω(√θ) concave, so Ω(t) ≤ Ω(s)(t/s)² for t ≥ s); a
    superquadratic one (|w|^q, q > 2) may overflow anywhere beyond 1e100."""
    if not p.has_eta_form:
        return t > 1e100
    ref = float(p.value(1e100)[()]) - float(p.value(0.0)[()])
    return ref > 0 and math.log(ref) + 2.0 * math.log(t / 1e100) > math.log(1.7e308) - 1


@SETTINGS
@given(w=signed)
def test_value_is_even_nondecreasing_and_finite_unless_it_overflows(pen, w):
    v, vm = float(pen.value(w)[()]), float(pen.value(-w)[()])
    assert not math.isnan(v) and v == vm
    t = abs(w)
    if math.isinf(v):
        assert v > 0 and t > 1e100 and _may_overflow(pen, t), (pen, w, v)
    smaller = float(pen.value(t / 2)[()])
    assert smaller <= v + 1e-12 * max(1.0, abs(v)), (pen, w, smaller, v)


@SETTINGS
@given(w=signed)
def test_derivative_is_odd_finite_and_matches_the_secant(pen, w):
    d = float(pen.derivative(w)[()])
    assert not math.isnan(d) and float(pen.derivative(-w)[()]) == -d
    assert d * w >= 0
    t = abs(w)
    if 1e-100 < t < 1e100 and math.isfinite(d):
        h = 1e-7 * t
        lo, hi = float(pen.value(t - h)[()]), float(pen.value(t + h)[()])
        d_lo, d_hi = (float(pen.derivative(t - h)[()]), float(pen.derivative(t + h)[()]))
        secant = (hi - lo) / (2 * h)
        # Ω' between its values at the ends (a kink inside makes it a jump), up to rounding
        # of the difference quotient.
        slack = 1e-6 * max(abs(d_lo), abs(d_hi)) + 1e-8 * max(abs(hi), abs(lo), 1e-300) / h
        assert min(d_lo, d_hi) - slack <= secant <= max(d_lo, d_hi) + slack, (pen, w)


@SETTINGS
@given(w=signed)
def test_eta_hat_is_the_ratio_w_over_slope(pen, w):
    e = float(pen.eta_hat(w)[()])
    assert not math.isnan(e) and e >= 0, (pen, w, e)
    t = abs(w)
    d = abs(float(pen.derivative(w)[()]))
    if t > 0 and d > 1e-290 and math.isfinite(d):
        ratio = t / d
        if 1e-290 < ratio < 1e290:
            assert math.isclose(e, ratio, rel_tol=1e-6), (pen, w, e, ratio)


@SETTINGS
@given(eta=st.one_of(st.just(0.0), st.just(math.inf), magnitudes))
def test_dual_is_nondecreasing_and_never_nan(pen, eta):
    if not pen.has_eta_form:
        pytest.skip("no η-form")
    f = float(pen.dual(eta)[()])
    assert not math.isnan(f), (pen, eta)
    if 0 < eta < 1e300:
        f2 = float(pen.dual(2 * eta)[()])
        assert f <= f2 + 1e-9 * max(1.0, abs(f)), (pen, eta, f, f2)


@SETTINGS
@given(w=st.floats(min_value=1e-6, max_value=1e6))
def test_eta_trick_identity(pen, w):
    if not pen.has_eta_form:
        pytest.skip("no η-form")
    e = float(pen.eta_hat(w)[()])
    if not (0 < e < math.inf):
        return
    lhs = 2.0 * float(pen.value(w)[()])
    rhs = w * w / e + float(pen.dual(e)[()])
    assert math.isclose(lhs, rhs, rel_tol=1e-6, abs_tol=1e-6), (pen, w, lhs, rhs)


@SETTINGS
@given(v=signed, step=steps)
def test_prox_over_the_float_range(pen, v, step):
    x = float(pen.prox(v, step)[()])
    assert math.isfinite(x), (pen, v, step, x)
    if step == 0:
        assert x == v
        return
    assert x * v >= 0 and abs(x) <= abs(v), (pen, v, step, x)
    t = abs(v)
    if t > 1e150 and 1e-100 < step <= 7.0:
        # the far stationary point: x + step·Ω'(x) = v, compared after dividing by v
        assert abs(x) > 0
        slope = abs(float(pen.derivative(x)[()]))
        if math.isinf(slope):  # |w|^q, q > 2: Ω'(x) itself overflows; x ≤ v is all we ask
            return
        resid = abs(abs(x) / t + step * (slope / t) - 1.0)
        assert resid <= 1e-6, (pen, v, step, x)


# --------------------------------------------------------------------------- rule penalties
SUBNORMAL_TOL = 1e-320
LOG1P_RULE = from_eta_hat(lambda t: t * (1.0 + t), name="t(1+t)")
L1_RULE = from_eta_hat(lambda t: t, name="t")


@settings(max_examples=15, deadline=5000, derandomize=True)
@given(w=st.one_of(st.sampled_from([5e-324, 1e-310, 1e-300, 1e-5, 1.0, 1e20, 1e100]),
                   st.floats(min_value=5e-324, max_value=1e100)))
def test_rule_value_matches_log1p_from_subnormals_to_1e100(w):
    """Ω of η̂ = t(1+t) is log(1 + |w|): bounded work and memory at every magnitude."""
    got = float(LOG1P_RULE.value(w)[()])
    # Below the normal range the quadrature's nodes are rounded to the subnormal grid: an
    # absolute 1e-320 (a few thousand subnormal ulps) is all that can be asked there.
    assert math.isclose(got, math.log1p(w), rel_tol=1e-9, abs_tol=SUBNORMAL_TOL), (w, got)


def test_rule_value_refuses_an_overflowing_rule():
    with pytest.raises(ValueError, match="eta_hat overflows"):
        LOG1P_RULE.value([1e300])


@settings(max_examples=15, deadline=5000, derandomize=True)
@given(eta=st.one_of(st.sampled_from([0.0, 5e-324, 1e-300, 1e-5, 1.0, 1e10, 1e300]),
                     st.floats(min_value=5e-324, max_value=1e300)))
def test_rule_dual_of_l1_is_identity_on_all_floats(eta):
    """f of η̂ = t (the ℓ1 rule) is f(η) = η, whatever η's magnitude (no capped bracket)."""
    got = float(L1_RULE.dual(eta)[()])
    assert math.isclose(got, eta, rel_tol=1e-9, abs_tol=SUBNORMAL_TOL), (eta, got)


def test_rule_with_a_zero_keep_probability_is_infinite_not_a_hang():
    """α = 0 on [0, 1] means 'always drop': λΩ = ∫ t(1−α)/α = +inf beyond 0, found at once."""
    rule = from_keep_prob(lambda t: (t > 1) * 1.0, 1.0)
    assert np.isinf(rule.value([2.0])[0])


def test_l1_rule_matches_l1_at_the_extremes():
    w = np.array([5e-324, 1e-300, 1.0, 1e150])
    np.testing.assert_allclose(L1_RULE.value(w), L1().value(w), rtol=1e-9, atol=SUBNORMAL_TOL)
