"""T7, the effective penalties of dropout methods (proofs/T7_dropout_penalties.md)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dualreg.penalties import HardConcrete, VarDrop, VarDropApprox
from dualreg.verify.registry import Context, Measurement, claim

PROOF_T7 = "proofs/T7_dropout_penalties.md"


@claim("T7.vardrop", "variational dropout: f(0) = 0, f'(0) = 1, Ω(w) − log w → (1+γ+log 2)/2",
       PROOF_T7)
def vardrop_asymptotics(ctx: Context) -> Iterator[Measurement]:
    p = VarDrop()
    yield Measurement("f(0)", abs(float(p.dual(0.0))), 1e-15, "exact zero of the integral")
    h = 1e-6
    yield Measurement("|f'(0) − 1| (forward difference, h = 1e-6)",
                      abs(float(p.dual(h)) / h - 1.0), 1e-6, "f''(0) = −1/3, so error ≈ h/6")
    target = (1.0 + np.euler_gamma + np.log(2.0)) / 2.0
    yield Measurement("|Ω(100) − log 100 − (1+γ+log 2)/2|",
                      abs(float(p.value(100.0)) - np.log(100.0) - target), 1e-3,
                      "the next term of the tail expansion is O(1/w²) = 1e-4 at w = 100")


@claim("T7.vardrop-molchanov", "Molchanov's sigmoid KL is within 0.015 (KL units) of the exact one",
       PROOF_T7)
def vardrop_molchanov(ctx: Context) -> Iterator[Measurement]:
    eta = np.geomspace(1e-3, 1e4, 2000)
    gap = np.abs(VarDropApprox().dual(eta) - VarDrop().dual(eta))
    yield Measurement("max KL gap on η ∈ [1e-3, 1e4] (f = 2 KL)", float(np.max(gap)) / 2.0, 0.015,
                      "the sigmoid fit's own error is ≈ 0.0094 in KL units (0.0188 in f)")


@claim("T7.hard-concrete", "hard concrete: η(a) increasing, f = P(z≠0), Ω ≤ ½", PROOF_T7)
def hard_concrete(ctx: Context) -> Iterator[Measurement]:
    p = HardConcrete()
    la = np.linspace(-20, 20, 401)
    eta = p.eta_of_log_alpha(la)
    yield Measurement("min Δ log η(log a) on [−20, 20]", float(np.min(np.diff(np.log(eta)))),
                      0.0, "strictly increasing", mode="ge")
    w = np.linspace(0, 3, 61)
    yield Measurement("max Ω(w) − ½", float(np.max(p.value(w)) - 0.5), 1e-12,
                      "f ≤ 1 so Ω ≤ ½ up to rounding")
