"""T4, the η-trick: the identities every penalty must satisfy (proofs/T4_eta_trick.md)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dualreg import duality
from dualreg.penalties import CATALOGUE, from_eta_hat
from dualreg.verify.registry import Context, Measurement, claim

PROOF_T4 = "proofs/T4_eta_trick.md"


def _eta_form_penalties():
    """The separable catalogue penalties with an η-form, at their default parameters, plus
    a few parameter variants that change the shape."""
    pens = []
    for name, entry in CATALOGUE.items():
        p = entry.build() if name != "ARD" else None
        if p is not None and p.separable and p.has_eta_form:
            pens.append(p)
    pens += [
        CATALOGUE["Lp"].build(p=0.1),
        CATALOGUE["Lp"].build(p=1.5),
        CATALOGUE["Sparseout"].build(q=1.5, grad="autograd"),
        CATALOGUE["YDrop"].build(mirrored=True, mapping="continuous"),
    ]
    return pens


def _points(ctx: Context) -> np.ndarray:
    n = 12 if ctx.mode == "quick" else 60
    return np.geomspace(1e-2, 20.0, n)


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


@claim("T4.identity", "Ω(w) = ½ min_η [w²/η + f(η)] for every subquadratic penalty", PROOF_T4)
def eta_identity(ctx: Context) -> Iterator[Measurement]:
    w = _points(ctx)
    for p in _eta_form_penalties():
        numeric = duality.value_from_dual(p.dual, w, eta_lo=1e-10, eta_hi=1e14)
        yield Measurement(
            f"{p!r}: max rel |½min_η − Ω|", _rel(numeric, p.value(w)), 1e-6,
            "golden-section minimum over log η converges to ~1e-12; 1e-6 leaves room for "
            "the kinks of piecewise duals",
        )


@claim("T4.eta-hat", "η̂(w) = |w|/Ω'(|w|) (central differences of Ω)", PROOF_T4)
def eta_hat_fd(ctx: Context) -> Iterator[Measurement]:
    w = _points(ctx)
    for p in _eta_form_penalties():
        fd = duality.eta_hat_from_value(p.value, w)
        closed = p.eta_hat(w)
        finite = np.isfinite(closed) & np.isfinite(fd)
        # Skip the breakpoints of piecewise penalties, where Ω' jumps.
        yield Measurement(
            f"{p!r}: max rel |η̂ − |w|/Ω'_fd|", _rel(fd[finite], closed[finite]), 1e-5,
            "central differences with h = 1e-5|w| have O(h²) ≈ 1e-10 truncation and ~1e-11 "
            "rounding error; 1e-5 also covers points within h of a breakpoint",
        )


@claim("T4.keep-prob", "α = cη̂/(cη̂ + λ) and η̂ = λα/(c(1−α)) are inverse maps", PROOF_T4)
def keep_prob_roundtrip(ctx: Context) -> Iterator[Measurement]:
    w = _points(ctx)
    rng = ctx.rng(4)
    lam, c = float(rng.uniform(0.1, 3.0)), float(rng.uniform(0.2, 2.0))
    for p in _eta_form_penalties():
        eta = p.eta_hat(w)
        back = duality.keep_prob_to_eta(p.keep_prob(w, lam, c), lam, c)
        # Near α = 1 the inverse loses digits to 1 − α (relative error ≈ 1e-16/(1 − α)),
        # so the check keeps α ≤ 1 − 1e-6, where that error is ≤ 1e-10.
        finite = np.isfinite(eta) & (p.keep_prob(w, lam, c) <= 1 - 1e-6)
        yield Measurement(
            f"{p!r}: round trip at λ={lam:.3g}, c={c:.3g}", _rel(back[finite], eta[finite]),
            1e-9, "two rational maps in float64 with 1 − α ≥ 1e-6: error ≤ 1e-10",
        )


@claim("T4.classification", "every catalogue penalty has the curvature class MATH.md states",
       PROOF_T4)
def classification(ctx: Context) -> Iterator[Measurement]:
    for name, entry in CATALOGUE.items():
        if name in ("ARD", "HardThreshold"):
            continue
        variants = [entry.build()]
        if name == "Sparseout":
            variants += [entry.build(q=3.0), entry.build(q=2.0)]
        if name == "YDrop":
            variants += [entry.build(mirrored=True)]
        for p in variants:
            found = duality.classify(p, t_max=10.0)
            yield Measurement(
                f"{p!r}: declared {p.curvature_class}, certificate {found}",
                0.0 if found.curvature_class == p.curvature_class else 1.0, 0.0,
                "the class is discrete: the certificate must agree exactly",
            )
    rule = duality.classify(from_eta_hat(lambda s: 2.0 + np.sin(3.0 * s), name="2+sin3t"))
    yield Measurement(
        f"η̂ = 2 + sin 3t: certificate {rule}",
        0.0 if rule.curvature_class == "indefinite" else 1.0, 0.0,
        "a non-monotone rule must be neither sub- nor superquadratic",
    )
