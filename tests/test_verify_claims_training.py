"""The solver and Monte-Carlo claims of ``dualreg verify``: they pass in quick mode, and they
fail — with a row that says what is wrong — when the implementation is perturbed."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest

from dualreg.verify import Context, run, select

pytest.importorskip("torch")

MINE = [
    "T2",
    "T3.stop-gradient-constant",
    "T3.autograd-constant",
    "T5",
    "T7.targeted-training",
    "T7.vardrop-training",
    "T8.ydrop-denser",
    "T9",
]


def _run(ids):
    return run(select(ids), Context(), progress=False)


def _failures(rows):
    return {r.check: (r.measured, r.relation, r.tolerance, r.error) for r in rows
            if not r.passed}


def test_solver_and_training_claims_pass_in_quick_mode():
    rows = _run(MINE)
    claims = {r.claim for r in rows}
    assert {"T2.monte-carlo", "T5.irls-vs-cvxpy", "T5.irls-vs-sklearn", "T9.adaptive-irls",
            "T8.ydrop-denser", "T7.vardrop-training"} <= claims
    assert not _failures(rows), _failures(rows)
    assert all(r.why for r in rows), "every measurement states why its tolerance is that size"


# --------------------------------------------------------------------------- perturbations
def test_swapped_sparseout_constant_fails(monkeypatch):
    """(a) The layer's stop-gradient backward uses the autograd factor q/2: the trainer now
    lands on the v/2 minimiser, so the v/q check fails and the v/2 one is no longer rejected."""
    from dualreg.torch import layers

    apply = layers._SparseoutNoise.apply

    def swapped(z, xi, q, kappa, eps):
        return apply(z, xi, q, q / 2.0 if kappa == 1.0 else 1.0, eps)

    monkeypatch.setattr(layers._SparseoutNoise, "apply", swapped)
    failed = _failures(_run(["T3.stop-gradient-constant"]))
    assert any("vs v/q: max |mean − ref|/SE" in c for c in failed), failed
    assert any("rejects the swapped v/2" in c for c in failed), failed
    z = next(m for c, (m, *_) in failed.items() if "vs v/q: max |" in c)
    assert z > 10, z  # rejected by a wide margin, not by a hair


def test_irls_without_smoothing_or_floor_fails(monkeypatch):
    """(b) A plain η-trick IRLS (ε = 0, no floor): started at w = 0 it stays there, and the
    zero-start row of T5.zero-absorbing reports the distance to the lasso value."""
    irls_mod = sys.modules["dualreg.solvers.irls"]
    step = irls_mod.eta_trick_update

    def plain_irls(X, y, penalty, lam, family="gaussian", fit_intercept=True, init="auto",
                   max_iter=500, **_):
        X = np.asarray(X, float)
        w = np.zeros(X.shape[1]) if isinstance(init, str) and init == "zeros" else (
            np.linalg.lstsq(X, y, rcond=None)[0] if isinstance(init, str) else np.asarray(init))
        b = 0.0
        for _ in range(max_iter):
            w, b = step(X, y, w, penalty, lam, family, fit_intercept, 0.0, b)
        return SimpleNamespace(coef=w, intercept=b)

    monkeypatch.setattr(irls_mod, "irls", plain_irls)
    rows = _run(["T5.zero-absorbing"])
    failed = _failures(rows)
    assert list(failed) == ["library IRLS (ε schedule) from w0 = 0 vs the lasso value z − λ sgn z"
                            ], failed
    measured = next(iter(failed.values()))[0]
    assert measured > 0.2  # it stayed at 0: off by |z| − λ
    # The plain ε = 0 step itself is still reported as absorbing (that row passes).
    assert any(r.passed and "ε = 0" in r.check for r in rows)


def test_missing_inverted_scaling_fails(monkeypatch):
    """(c) Bernoulli dropout without the 1/(1−p): the weights are shrunk by 1 − p on average,
    so the fixed-rate ridge check fails for the Bernoulli layer only."""
    from dualreg.torch import BernoulliDropout

    def unscaled(self, z, weight):
        keep = 1.0 - self.p
        return z * (self._rand(z.shape, z) < keep).to(z.dtype)

    monkeypatch.setattr(BernoulliDropout, "_noisy", unscaled)
    failed = _failures(_run(["T9.fixed-rate-ridge"]))
    assert failed, "a missing 1/(1−p) went unnoticed"
    assert all(c.startswith("Bernoulli p=0.3") for c in failed), failed
    assert any("max |mean − ref|/SE" in c for c in failed), failed


def test_wrong_fisher_constant_fails(monkeypatch):
    """(d) The Fisher ridge with v instead of v/2 in the first-order gap constant: the measured
    Bernoulli gap no longer converges to C_B."""
    from dualreg.torch import expected

    quadratic = expected._penalty_quadratic
    monkeypatch.setattr(expected, "_penalty_quadratic",
                        lambda w, b, X, family: 2.0 * quadratic(w, b, X, family))
    failed = _failures(_run(["T2.limits"]))
    assert any(c.startswith("|G_B(0.005)/C_B − 1|") for c in failed), failed


def test_adaptive_rates_without_keep_floor_fail(monkeypatch):
    """(e) Adaptive dropout that ignores its keep floor: the exact mean field is no longer
    ∇F_fl on the coordinates under the floor."""
    from dualreg.torch import AdaptiveDropout

    rates = AdaptiveDropout.rates

    def no_floor(self, w):
        saved, self.keep_floor = self.keep_floor, 1e-12
        try:
            return rates(self, w)
        finally:
            self.keep_floor = saved

    monkeypatch.setattr(AdaptiveDropout, "rates", no_floor)
    failed = _failures(_run(["T9.expected-gradient"]))
    assert sum("α_min" in c for c in failed) == 2, failed
