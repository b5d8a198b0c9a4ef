"""The vector η-trick library (proofs/T13): rank rules, circulations, the certificate, the
ordered ridges and the vector IRLS."""

from __future__ import annotations

import numpy as np
import pytest

from dualreg import vector_rules as vr
from dualreg.penalties import OrderedRidge, TopHalfRidge, TrimmedRidge


def _circle(sides=64):
    ang = 2 * np.pi * np.arange(sides) / sides
    return np.stack([1 + 0.5 * np.cos(ang), 1 + 0.5 * np.sin(ang)], -1)


def test_unequal_scales_circulate_by_the_jump_formula():
    rule = vr.RankRule.ydrop(0.1, 0.5, [1.0, 4.0], [1.0, 1.0])
    gamma, err = vr.circulation(rule.field, _circle()[None])
    assert gamma[0] == pytest.approx(-4 * np.sqrt(2) / 3, abs=1e-10) and err[0] < 1e-10


def test_certificate_separates_conservative_from_not():
    c = np.array([0.5, 1.0, 2.0, 4.0])
    good = vr.has_effective_penalty(vr.RankRule.ydrop(0.1, 0.5, c, np.sqrt(c)).field, 4,
                                    np.random.default_rng(0), loops=6)
    bad = vr.has_effective_penalty(vr.RankRule.targeted(0.5, 0.5, c).field, 4,
                                   np.random.default_rng(0), loops=6)
    assert good.conservative and good.curvature_class == "superquadratic"
    assert not good.eta_form and good.potential is not None
    assert not bad.conservative and bad.potential is None and "no effective" in str(bad)


def test_ordered_ridges_classes_faces_and_refusals():
    c = np.array([1.0, 2.0, 3.0])
    assert TrimmedRidge(0.5, 1, c).curvature_class == "subquadratic"
    assert TrimmedRidge(0.5, 1, c).has_eta_form
    assert TopHalfRidge(0.1, 0.5, c).curvature_class == "superquadratic"
    assert TopHalfRidge(0.1, 0.5, c, mirrored=True).has_eta_form
    assert OrderedRidge([1.0, 0.0, 1.0], c).curvature_class == "indefinite"
    pen = TrimmedRidge(0.5, 1, c)
    w = np.array([1.0, 0.1, -2.0])
    assert pen.total(w) == pytest.approx(0.5 * 1.0 * 2.0 * 0.01)
    assert np.isinf(pen.eta_hat(w)).sum() == 2
    assert pen.keep_prob(w)[1] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="not separable"):
        pen.value(w)
    with pytest.raises(ValueError):
        OrderedRidge([1.0, -1.0], [1.0, 1.0])


def test_vector_irls_reaches_the_trimmed_ridge_fixed_point():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 4))
    H, b = X.T @ X / 50, X.T @ (X @ np.array([2.0, 1.0, 0.2, -0.1])) / 50
    pen = TrimmedRidge(0.5, 2, np.diag(H))
    w, _, ok = vr.vector_irls(H, b, pen.eta_hat, np.linalg.solve(H, b))
    assert ok
    assert np.allclose(H @ w - b + pen.gradient(w), 0.0, atol=1e-12)
