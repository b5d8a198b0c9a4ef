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
    """(e) Adaptive dropout that ignores its keep floor: the layer's sampled gradients no
    longer average to the enumerated mean field (= ∇F_fl) on the coordinates under the floor,
    and land on the unfloored one instead."""
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
    assert sum("α_min" in c and "sampled gradients" in c for c in failed) == 2, failed
    assert any("rejects the unfloored" in c for c in failed), failed


def test_trainer_passing_unit_column_scales_fails(monkeypatch):
    """(f) The trainer hands c ≡ 1 to the layers (whatever sets the column scale returns ones):
    on the designs with c spread over a factor 10 the adaptive runs land far from the
    floored-IRLS point."""
    import torch

    from dualreg.torch import train

    monkeypatch.setattr(train, "column_scale",
                        lambda X, w, b, family: torch.ones(X.shape[1], dtype=X.dtype,
                                                           device=X.device))
    failed = _failures(_run(["T9.adaptive-irls"]))
    bands = [m for c, (m, *_) in failed.items() if "max |mean − ref|/SE" in c]
    assert len(bands) >= 5, failed
    assert max(bands) > 20, bands  # caught by a wide margin, not by a hair
    assert any(c.startswith("binomial") for c in failed), failed


def test_fisher_ridge_with_v_instead_of_half_v_fails(monkeypatch):
    """(g) The Fisher ridge built with v instead of v/2 (dualreg.torch.expected
    fisher_ridge_loss): the gap no longer scales like σ², nor tends to C_B, C_G."""
    from dualreg.torch import expected

    ridge = expected.fisher_ridge_loss
    monkeypatch.setattr(expected, "fisher_ridge_loss",
                        lambda w, b, X, y, family, variance: ridge(w, b, X, y, family,
                                                                   2.0 * variance))
    expected_gaps = sys.modules["dualreg.verify.claims.t2_glm"]._gaps
    expected_gaps.cache_clear()
    try:
        failed = {c.split(":")[0] for c in _failures(_run(["T2.gaussian-slope", "T2.limits"]))}
    finally:
        expected_gaps.cache_clear()
    assert any("slope − 1" in c for c in failed), failed
    assert any(c.startswith("|G_G(0.005)") for c in failed), failed


def test_adaptive_layer_floor_on_the_drop_probability_fails(monkeypatch):
    """(h) The layer applies its floor to the wrong quantity (caps the keep probability at
    1 − α_min instead of flooring it at α_min): the layer's own sampled gradients leave the
    enumerated expectation."""
    from dualreg.torch import AdaptiveDropout

    rates = AdaptiveDropout.rates

    def wrong_floor(self, w):
        saved, self.keep_floor = self.keep_floor, 1e-12
        try:
            keep = rates(self, w)
        finally:
            self.keep_floor = saved
        return keep.clamp(max=1.0 - self.keep_floor)

    monkeypatch.setattr(AdaptiveDropout, "rates", wrong_floor)
    failed = _failures(_run(["T9.expected-gradient"]))
    rows = [m for c, (m, *_) in failed.items() if "sampled gradients" in c]
    assert len(rows) == 2 and min(rows) > 10, failed


def test_sparseout_drawing_bern_p_fails(monkeypatch):
    """(i) torch Sparseout keeps with probability p instead of 1 − p."""
    from dualreg.torch import Sparseout
    from dualreg.torch.layers import sparseout

    def bern_p(self, z, weight):
        xi = (self._rand(z.shape, z) < self.p).to(z.dtype) / (1.0 - self.p) - 1.0
        kappa = 1.0 if self.grad == "stop" else self.q / 2.0
        return sparseout._SparseoutNoise.apply(z, xi, self.q, kappa, self.eps)

    monkeypatch.setattr(Sparseout, "_noisy", bern_p)
    failed = _failures(_run(["T9.expected-gradient"]))
    assert any(c.startswith("Sparseout") and "sampled gradients" in c for c in failed), failed


def test_conductance_dropping_its_last_interval_fails(monkeypatch):
    """(j) The library's conductance sums steps − 1 of its intervals."""
    import torch

    from dualreg.torch import attribution

    def short(features, head, x, baseline=None, steps=16):
        base = torch.zeros_like(x) if baseline is None else baseline.expand_as(x)
        grid = torch.linspace(0.0, 1.0, steps + 1, dtype=x.dtype)
        hs, gs = [], []
        for a in grid:
            with torch.enable_grad():
                h = features(base + a * (x - base)).detach().requires_grad_(True)
                (g,) = torch.autograd.grad(head(h).sum(), h)
            hs.append(h.detach())
            gs.append(g)
        total = torch.zeros_like(hs[0])
        for k in range(steps - 1):
            total = total + 0.5 * (gs[k] + gs[k + 1]) * (hs[k + 1] - hs[k])
        return total

    monkeypatch.setattr(attribution, "conductance", short)
    failed = _failures(_run(["T8.conductance-identity"]))
    assert any(c.startswith("dualreg.torch.conductance") for c in failed), failed


def test_captum_row_passes_when_captum_is_absent(monkeypatch):
    """Without captum the comparison row says so and passes."""
    import builtins

    real_import = builtins.__import__

    def no_captum(name, *args, **kwargs):
        if name.startswith("captum"):
            raise ImportError("no captum")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_captum)
    rows = _run(["T8.conductance-identity"])
    assert any("captum not installed" in r.check and r.passed for r in rows)
    assert not _failures(rows)
