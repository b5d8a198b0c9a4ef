r"""The generic conversions of ``dualreg.duality`` (docs/conventions.md §3–4) against closed
forms, and
the curvature classifier with its certificate."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dualreg import duality
from dualreg.penalties import (
    L1,
    MCP,
    SCAD,
    CappedL2,
    Log2Sum,
    LogSum,
    Lp,
    Standout,
    TargetedDropout,
    VarDrop,
    YDrop,
)

W = np.array([0.01, 0.2, 0.7, 1.3, 2.4, 5.0])
ETA = np.array([1e-3, 0.05, 0.4, 0.9, 3.0, 20.0])

# Closed-form penalties covering power laws, logs, bounded and piecewise shapes.
CLOSED = {
    "L1": L1(),
    "Lp(0.5)": Lp(0.5),
    "Lp(1.5)": Lp(1.5),
    "LogSum(0.5)": LogSum(0.5),
    "Log2Sum(2)": Log2Sum(2.0),
    "SCAD(3.7,1)": SCAD(3.7, 1.0),
    "MCP(3,1)": MCP(3.0, 1.0),
    "CappedL2(1.1)": CappedL2(1.1),
    "Standout": Standout(),
    "TargetedDropout(0.3,0.6)": TargetedDropout(0.3, 0.6),
}
# Where Ω' jumps (central differences straddle it): excluded from the Ω → η̂ check.
KINKS = {"SCAD(3.7,1)": (1.0, 3.7), "MCP(3,1)": (3.0,), "CappedL2(1.1)": (1.1,),
         "TargetedDropout(0.3,0.6)": (0.6,)}

closed = pytest.mark.parametrize("name", list(CLOSED))


def _smooth(name, w):
    return np.array([x for x in w if all(abs(x - k) > 1e-3 for k in KINKS.get(name, ()))])


@closed
def test_eta_hat_from_value(name):
    p = CLOSED[name]
    w = _smooth(name, np.concatenate([W, -W]))
    # Central differences with h = 1e-5|w|: O(h²) truncation + ε|Ω|/(h Ω') rounding ≲ 1e-7.
    np.testing.assert_allclose(duality.eta_hat_from_value(p.value, w), p.eta_hat(w), rtol=1e-6)


@closed
def test_value_from_eta_hat(name):
    p = CLOSED[name]
    w = np.concatenate([W, -W, [0.0]])
    # Adaptive Gauss–Legendre/Lobatto: ~1e-14 of the integral, ~1e-12 across kinks.
    np.testing.assert_allclose(duality.value_from_eta_hat(p.eta_hat, w),
                               p.value(w) - p.value(0.0), rtol=1e-10, atol=1e-11)


@closed
def test_dual_from_value_and_value_from_dual(name):
    p = CLOSED[name]
    f = p.dual(ETA)
    finite = np.isfinite(f)
    # Global 1-D searches (65-point grid + golden section to 1e-16 of the bracket): the
    # optimum value is flat to second order, so rounding-level; 1e-9 leaves margin at kinks.
    np.testing.assert_allclose(duality.dual_from_value(p.value, ETA[finite]), f[finite],
                               rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(duality.value_from_dual(p.dual, W), p.value(W), rtol=1e-9,
                               atol=1e-10)


@closed
def test_dual_from_eta_hat(name):
    p = CLOSED[name]
    f = p.dual(ETA)
    finite = np.isfinite(f)
    # Bisection to rounding for w_η, then the closed-form Ω: 1e-10.
    np.testing.assert_allclose(duality.dual_from_eta_hat(p.eta_hat, p.value, ETA[finite]),
                               f[finite], rtol=1e-10, atol=1e-12)


def test_conversions_on_vardrop():
    # The table-based dual: f → Ω by minimisation equals Ω, Ω → f by sup equals f.
    p = VarDrop()
    w = np.array([0.05, 0.5, 3.0])
    # Both sides ~1e-13; the 1-D searches are rounding-level at a smooth optimum.
    np.testing.assert_allclose(duality.value_from_dual(p.dual, w), p.value(w), rtol=1e-9)
    np.testing.assert_allclose(duality.dual_from_value(p.value, ETA[:4]), p.dual(ETA[:4]),
                               rtol=1e-9)


# --------------------------------------------------------------------------- η ↔ α, σ²
def test_keep_prob_maps():
    eta = np.array([0.0, 0.2, 1.0, 7.0, np.inf])
    lam, c = 0.4, 2.5
    alpha = duality.eta_to_keep_prob(eta, lam, c)
    # docs/conventions.md §4: α = cη/(cη + λ); η = ∞ keeps always, η = 0 drops always.
    np.testing.assert_allclose(alpha[:4], c * eta[:4] / (c * eta[:4] + lam), rtol=1e-15)
    assert alpha[0] == 0.0 and alpha[-1] == 1.0
    back = duality.keep_prob_to_eta(alpha, lam, c)
    np.testing.assert_allclose(back[:4], eta[:4], rtol=1e-14)  # 1 − α cancellation, α ≤ 0.98
    assert back[-1] == np.inf
    # λ = 0 (no penalty): keep everything.
    np.testing.assert_array_equal(duality.eta_to_keep_prob(eta, 0.0, c), 1.0)
    # Column scales broadcast.
    cs = np.array([0.5, 1.0, 4.0])
    np.testing.assert_allclose(duality.eta_to_keep_prob(1.0, 1.0, cs), cs / (cs + 1), rtol=1e-15)
    # Drop odds v = (1 − α)/α equal λ/(cη) (docs/conventions.md §4: v_j = λ/(c_j η_j)).
    np.testing.assert_allclose(duality.drop_odds(alpha[1:4]), lam / (c * eta[1:4]), rtol=1e-14)


def test_noise_variance_maps():
    eta = np.array([0.2, 1.0, 7.0, np.inf])
    lam, c = 0.4, 2.5
    s2 = duality.eta_to_noise_variance(eta, lam, c)
    np.testing.assert_allclose(s2, lam / (c * eta), rtol=1e-15)  # σ² = λ/(cη)
    np.testing.assert_allclose(duality.noise_variance_to_eta(s2[:3], lam, c), eta[:3],
                               rtol=1e-15)
    assert duality.noise_variance_to_eta(0.0, lam, c) == np.inf
    np.testing.assert_array_equal(duality.eta_to_noise_variance(eta, 0.0, c), 0.0)
    # VarDrop at λ = c = 1: σ² = 1/η̂ is Molchanov's variance ratio α (docs/conventions.md §5).
    p = VarDrop()
    np.testing.assert_allclose(p.noise_variance(W, 1.0), 1 / p.eta_hat(W), rtol=1e-15)


def test_keep_prob_rule_implements_the_penalty_exactly_for_gaussian():
    # docs/conventions.md §2/§4: inverted Bernoulli dropout with keep probs α_j = p.keep_prob(w_j,
    # λ, c_j)
    # gives E_s L(s⊙w) = L(w) + (λ/2) Σ w_j²/η̂_j exactly for the gaussian loss — the
    # reweighted ridge of the η-trick. All 2^d masks enumerated.
    rng = np.random.default_rng(7)
    n, d = 11, 4
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    c = (X**2).sum(axis=0) / n

    def loss(w):
        return 0.5 * np.mean((y - X @ w) ** 2)

    w = np.array([0.3, -1.2, 2.0, 0.05])
    lam = 0.6
    for p in (LogSum(0.5), Standout(), MCP(3.0, 1.0), YDrop(0.1, 0.5, 1.0)):
        alpha = p.keep_prob(w, lam, c)
        expected = 0.0
        for b in itertools.product((0, 1), repeat=d):
            b = np.array(b)
            prob = np.prod(np.where(b == 1, alpha, 1 - alpha))
            expected += prob * loss(np.where(b == 1, w / alpha, 0.0))
        # Rounding of a 16-term sum.
        assert expected == pytest.approx(loss(w) + lam / 2 * np.sum(w**2 / p.eta_hat(w)),
                                         rel=1e-12)


# --------------------------------------------------------------------------- classify
def test_classify_certificates():
    sub = duality.classify(LogSum(1.0))
    assert sub.curvature_class == "subquadratic" and sub.nondecreasing
    assert sub.max_second_difference <= sub.tol < -sub.min_second_difference
    sup = duality.classify(lambda w: np.abs(w) ** 3)
    assert sup.curvature_class == "superquadratic"
    assert -sup.min_second_difference <= sup.tol < sup.max_second_difference
    quad = duality.classify(lambda w: 3.0 * np.square(w))
    assert quad.curvature_class == "quadratic"
    assert max(abs(quad.max_second_difference), abs(quad.min_second_difference)) <= quad.tol
    # g(θ) = −θ² is concave but decreasing: no η-form (docs/conventions.md §3 needs g
    # nondecreasing).
    dec = duality.classify(lambda w: -np.abs(w) ** 4)
    assert dec.curvature_class == "indefinite" and not dec.nondecreasing
    # Neither convex nor concave in θ.
    wavy = duality.classify(lambda w: np.square(w) + np.sin(3 * np.square(w)) / 10)
    assert wavy.curvature_class == "indefinite"
    assert "indefinite" in str(wavy)


def test_classify_detects_curvature_beyond_t_max_only_when_asked():
    # Capped ridge is quadratic on [0, τ]: on t ≤ 1 < τ = 2 it reads quadratic; on the
    # default [0, 10] it is subquadratic. The certificate is for the range it was given.
    p = CappedL2(2.0)
    assert duality.classify(p, t_max=1.0).curvature_class == "quadratic"
    assert duality.classify(p).curvature_class == "subquadratic"
