"""T1, dropout is a data-weighted ridge (proofs/T1_dropout_ridge.md).

The exact-check helpers it shares with the other claims live in :mod:`dualreg.verify.checks`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dualreg import duality, families
from dualreg.penalties import HardConcrete
from dualreg.verify.checks import (
    ENUM_WHY,
    SYMBOLIC_TOL,
    SYMBOLIC_WHY,
    bernoulli_patterns,
    gaussian_problem,
    mc_limit,
    mc_why,
    mean_loss,
    pattern_probabilities,
    rational_points,
    rel_err,
    standard_error,
    symbolic_residual,
    z_score,
)
from dualreg.verify.registry import Context, Measurement, claim

PROOF_T1 = "proofs/T1_dropout_ridge.md"

# ---------------------------------------------------------------------------------- T1.mask-moments
@claim("T1.mask-moments",
       "inverted Bernoulli s = b/α has mean 1 and variance (1−α)/α; an unscaled gate z has "
       "v = E z²/E[z]² − 1 on w̃ = E[z]w; E L(s⊙w) = L(w) + ½Σ v_j x_j² w_j² per sample",
       PROOF_T1)
def mask_moments(ctx: Context) -> Iterator[Measurement]:
    import sympy as sp

    rng = ctx.rng(101)
    alpha, p, w = sp.symbols("alpha p w", positive=True)
    # Inverted Bernoulli: s = 1/α with probability α, 0 otherwise.
    law = [(1 / alpha, alpha), (sp.Integer(0), 1 - alpha)]
    mean = sum(pr * v for v, pr in law)
    second = sum(pr * v**2 for v, pr in law)
    pts = rational_points(rng, {alpha: (0.05, 0.95)})
    yield Measurement("Bernoulli: E[b/α] − 1", symbolic_residual(mean - 1, pts),
                      SYMBOLIC_TOL, SYMBOLIC_WHY)
    yield Measurement("Bernoulli: Var[b/α] − (1−α)/α",
                      symbolic_residual(second - mean**2 - (1 - alpha) / alpha, pts),
                      SYMBOLIC_TOL, SYMBOLIC_WHY)
    var_p = (second - mean**2).subs(alpha, 1 - p)
    yield Measurement("Bernoulli: Var with α = 1 − p equals p/(1−p)",
                      symbolic_residual(var_p - p / (1 - p),
                                        rational_points(rng, {p: (0.05, 0.95)})),
                      SYMBOLIC_TOL, SYMBOLIC_WHY)

    # Gaussian mask N(1, σ²): mean and variance straight from the density.
    sigma = sp.Symbol("sigma", positive=True)
    x = sp.Symbol("x", real=True)
    dens = sp.exp(-(x - 1) ** 2 / (2 * sigma**2)) / sp.sqrt(2 * sp.pi * sigma**2)
    g_mean = sp.integrate(x * dens, (x, -sp.oo, sp.oo))
    g_var = sp.integrate((x - 1) ** 2 * dens, (x, -sp.oo, sp.oo))
    pts_s = rational_points(rng, {sigma: (0.1, 3.0)})
    yield Measurement("Gaussian N(1,σ²): E s − 1 and Var s − σ² (density integrals)",
                      max(symbolic_residual(g_mean - 1, pts_s),
                          symbolic_residual(g_var - sigma**2, pts_s)),
                      SYMBOLIC_TOL, SYMBOLIC_WHY)

    # Unscaled gate: a three-point law {0, z1, z2}; s = z/μ acts on w̃ = μ w.
    z1, z2, p1, p2 = sp.symbols("z1 z2 p1 p2", positive=True)
    gate = [(sp.Integer(0), 1 - p1 - p2), (z1, p1), (z2, p2)]
    mu = sum(pr * v for v, pr in gate)
    m2 = sum(pr * v**2 for v, pr in gate)
    var_z = m2 - mu**2
    var_s = sum(pr * (v / mu) ** 2 for v, pr in gate) - sum(pr * v / mu for v, pr in gate) ** 2
    pts_g = rational_points(rng, {z1: (0.1, 1.0), z2: (0.1, 1.0), p1: (0.05, 0.45),
                                  p2: (0.05, 0.45), w: (0.1, 3.0)})
    yield Measurement("gate: Var(z/μ)·(μw)² − Var(z)·w²",
                      symbolic_residual(var_s * (mu * w) ** 2 - var_z * w**2, pts_g),
                      SYMBOLIC_TOL, SYMBOLIC_WHY)
    yield Measurement("gate: Var(z/μ) − (E z²/μ² − 1)",
                      symbolic_residual(var_s - (m2 / mu**2 - 1), pts_g),
                      SYMBOLIC_TOL, SYMBOLIC_WHY)
    # Plain (non-inverted) dropout is the gate z = b: the same v as the inverted mask.
    plain_v = (m2 / mu**2 - 1).subs({z1: 1, p1: alpha, p2: 0})
    yield Measurement("plain dropout gate z = b: v − (1−α)/α",
                      symbolic_residual(plain_v - (1 - alpha) / alpha, pts),
                      SYMBOLIC_TOL, SYMBOLIC_WHY)

    # The engine of T1 for one sample and d = 3 independent masks with E s = 1,
    # E s² = 1 + v: expand the square and take expectations monomial by monomial.
    d = 3
    ss = sp.symbols(f"s0:{d}", positive=True)
    xs = sp.symbols(f"x0:{d}", real=True)
    ws = sp.symbols(f"w0:{d}", real=True)
    vs = sp.symbols(f"v0:{d}", positive=True)
    yy = sp.Symbol("y", real=True)

    def expect(poly_expr):
        poly = sp.Poly(sp.expand(poly_expr), *ss)
        total = sp.Integer(0)
        for powers, coeff in poly.terms():
            term = coeff
            for j, k in enumerate(powers):
                term *= {0: 1, 1: 1, 2: 1 + vs[j]}[k]
            total += term
        return total

    loss = (yy - sum(xs[j] * ss[j] * ws[j] for j in range(d))) ** 2 / 2
    plain = (yy - sum(xs[j] * ws[j] for j in range(d))) ** 2 / 2
    ridge = sum(vs[j] * xs[j] ** 2 * ws[j] ** 2 for j in range(d)) / 2
    yield Measurement("one sample, d = 3: E ½(y − Σx s w)² − ½(y − Σx w)² − ½Σ v x² w²",
                      symbolic_residual(expect(loss) - plain - ridge), SYMBOLIC_TOL,
                      SYMBOLIC_WHY)
    grad_res = [expect(sp.diff(loss, ws[j])) - sp.diff(plain + ridge, ws[j]) for j in range(d)]
    yield Measurement("one sample, d = 3: E ∂_w loss − ∂_w(formula), every coordinate",
                      max(symbolic_residual(r) for r in grad_res), SYMBOLIC_TOL, SYMBOLIC_WHY)


# ------------------------------------------------------------------------------ T1.mask-enumeration
def _masked_loss_and_grad(X, y, w, S):
    """L_S(w) and ∇_w L_S(w) for masks S of shape (K, d) (per weight) or (K, n, d)
    (per sample): θ̃_i = Σ_j x_ij s_ij w_j, ∂_j = −(1/n) Σ_i x_ij s_ij (y_i − θ̃_i)."""
    n = X.shape[0]
    if S.ndim == 2:
        theta = (S * w) @ X.T
        resid = y - theta
        grad = -S * (resid @ X) / n
    else:
        theta = np.einsum("ij,kij,j->ki", X, S, w)
        resid = y - theta
        grad = -np.einsum("ij,kij,ki->kj", X, S, resid) / n
    return mean_loss(theta, y), grad


@claim("T1.mask-enumeration",
       "all 2^d Bernoulli masks, per weight and per sample: E L_S = L + ½Σ v c w² and "
       "E ∇L_S = ∇L + v⊙c⊙w exactly, v = (1−α)/α", PROOF_T1)
def mask_enumeration(ctx: Context) -> Iterator[Measurement]:
    rng = ctx.rng(102)
    full = ctx.mode == "full"
    # Per weight: one mask shared by the batch, all 2^d patterns.
    d, n = (8, 60) if full else (6, 40)
    X, y, w = gaussian_problem(rng, n, d)
    keep = rng.uniform(0.3, 0.95, size=d)  # distinct keep probabilities
    v = duality.drop_odds(keep)
    c = families.column_scales(X)
    M = bernoulli_patterns(d)
    P = pattern_probabilities(M, keep)
    loss, grad = _masked_loss_and_grad(X, y, w, M / keep)
    formula = families.loss(X, y, w) + 0.5 * np.sum(v * c * w**2)
    formula_grad = families.gradient(X, y, w)[0] + v * c * w
    yield Measurement(f"per weight, d={d}: E L_S vs L + ½Σ v c w²", rel_err(P @ loss, formula),
                      1e-12, ENUM_WHY)
    yield Measurement(f"per weight, d={d}: E ∇L_S vs ∇L + v⊙c⊙w",
                      rel_err(P @ grad, formula_grad), 1e-12, ENUM_WHY)
    ridge = 0.5 * np.sum(v * c * w**2)
    yield Measurement("the ridge term ½Σ v c w² relative to E L_S (power of the check)",
                      ridge / abs(formula), 1e-6,
                      "≥ 1e6 × the 1e-12 tolerance: a missing or wrong v cannot pass",
                      mode="ge")

    # Per sample: every row has its own mask; enumerate the joint 2^(n·d) patterns.
    n_s, d_s = (3, 5) if full else (3, 4)
    Xs, ys, ws = gaussian_problem(rng, n_s, d_s)
    keep_s = rng.uniform(0.3, 0.95, size=d_s)
    v_s = duality.drop_odds(keep_s)
    c_s = families.column_scales(Xs)
    Mj = bernoulli_patterns(n_s * d_s).reshape(-1, n_s, d_s)
    Pj = pattern_probabilities(Mj, keep_s)
    loss_s, grad_s = _masked_loss_and_grad(Xs, ys, ws, Mj / keep_s)
    yield Measurement(f"per sample, n={n_s}, d={d_s} (2^{n_s * d_s} joint masks): E L_S",
                      rel_err(Pj @ loss_s,
                              families.loss(Xs, ys, ws) + 0.5 * np.sum(v_s * c_s * ws**2)),
                      1e-12, ENUM_WHY)
    yield Measurement(f"per sample, n={n_s}, d={d_s}: E ∇L_S",
                      rel_err(np.tensordot(Pj, grad_s, axes=1),
                              families.gradient(Xs, ys, ws)[0] + v_s * c_s * ws), 1e-12, ENUM_WHY)


# --------------------------------------------------------------------------------- T1.gaussian-mask
@claim("T1.gaussian-mask",
       "Gaussian masks N(1, σ_j²), per sample and batch-shared: E L_S = L + ½Σ σ² c w² "
       "(Monte Carlo within the SE band)", PROOF_T1)
def gaussian_mask(ctx: Context) -> Iterator[Measurement]:
    rng = ctx.rng(103)
    K = 200_000 if ctx.mode == "full" else 20_000
    n, d = 30, 5
    X, y, w = gaussian_problem(rng, n, d)
    sigma = rng.uniform(0.3, 1.0, size=d)
    c = families.column_scales(X)
    base = families.loss(X, y, w)
    ridge = 0.5 * np.sum(sigma**2 * c * w**2)
    grad = families.gradient(X, y, w)[0] + sigma**2 * c * w
    for scheme, shape in (("per weight (batch-shared)", (K, d)), ("per sample", (K, n, d))):
        S = 1.0 + sigma * rng.standard_normal(size=shape)
        loss, g = _masked_loss_and_grad(X, y, w, S)
        yield Measurement(f"{scheme}, K={K}: E L_S in SE", float(z_score(loss, base + ridge)),
                          mc_limit(), mc_why())
        yield Measurement(f"{scheme}: max_j E ∂_j L_S in SE", float(np.max(z_score(g, grad))),
                          mc_limit(d), mc_why(d))
        yield Measurement(f"{scheme}: the ridge term in SE (power)",
                          float(ridge / standard_error(loss)), 10.0,
                          "the penalty must be ≥ 10 SE, so dropping it (or using σ for σ²) "
                          "would fail the SE check", mode="ge")


# ------------------------------------------------------------------------------------ T1.gate-ridge
def sample_hard_concrete(hc: HardConcrete, log_alpha: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Hard-concrete gates z = clip((ζ−γ)σ((logit u + log a)/β) + γ, 0, 1) from uniforms u."""
    from scipy.special import expit, logit

    s = expit((logit(u) + log_alpha) / hc.beta)
    return np.clip((hc.zeta - hc.gamma) * s + hc.gamma, 0.0, 1.0)


@claim("T1.gate-ridge",
       "hard-concrete gates: E L(z⊙w) = L(w̃) + ½Σ v c w̃², w̃ = E[z]w, v = E z²/E[z]² − 1 "
       "(Monte Carlo within the SE band; the other conventions are off by many SE)", PROOF_T1)
def gate_ridge(ctx: Context) -> Iterator[Measurement]:
    rng = ctx.rng(104)
    K = 200_000 if ctx.mode == "full" else 20_000
    n, d = 30, 5
    X, y, w = gaussian_problem(rng, n, d)
    hc = HardConcrete()
    la = np.array([-1.5, -0.5, 0.3, 1.2, 2.5])
    mu, var, _ = hc.gate_moments(la)
    wt = mu * w
    v = var / mu**2
    c = families.column_scales(X)
    formula = families.loss(X, y, wt) + 0.5 * np.sum(v * c * wt**2)
    wrong_on_w = families.loss(X, y, wt) + 0.5 * np.sum(v * c * w**2)
    wrong_no_minus1 = families.loss(X, y, wt) + 0.5 * np.sum((v + 1.0) * c * wt**2)

    z = sample_hard_concrete(hc, la, rng.uniform(size=(K, d)))
    yield Measurement("quadrature E z against Monte Carlo, max over gates, in SE",
                      float(np.max(z_score(z, mu))), mc_limit(d), mc_why(d))
    yield Measurement("quadrature E z² against Monte Carlo, max over gates, in SE",
                      float(np.max(z_score(z**2, var + mu**2))), mc_limit(d),
                      mc_why(d))
    for scheme, zz in (("per weight (batch-shared)", z),
                       ("per sample", sample_hard_concrete(hc, la, rng.uniform(size=(K, n, d))))):
        loss, _ = _masked_loss_and_grad(X, y, w, zz)
        yield Measurement(f"{scheme}, K={K}: E L(z⊙w) in SE", float(z_score(loss, formula)),
                          mc_limit(), mc_why())
        worst = min(float(z_score(loss, wrong_on_w)), float(z_score(loss, wrong_no_minus1)))
        yield Measurement(f"{scheme}: the wrong conventions (penalty on w; v without −1) in SE",
                          worst, 10.0,
                          "a check that cannot tell the conventions apart would be vacuous: "
                          "each must be ≥ 10 SE away", mode="ge")
