"""T2, the second-order GLM penalty and its error (proofs/T2_glm_second_order.md).

The exact expected dropout objectives (Bernoulli by enumeration of the 2^d masks, Gaussian by
Gauss–Hermite) and the first-order gap constants come from ``dualreg.torch.expected``; torch
is imported inside the checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np

from dualreg import datasets
from dualreg.verify.checks import (
    band,
    band_why,
    compare,
    full,
    one_thread,
    power,
    spread_row,
    train,
)
from dualreg.verify.registry import Context, Measurement, claim

PROOF_T2 = "proofs/T2_glm_second_order.md"
RATES = (0.005, 0.01, 0.02)


def binomial_data(n: int = 300, seed: int = 5, scale: float = 1.0,
                  offset: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The proof's design: n × 5 exponential (nonnegative, skewed) features, population labels
    y = σ(θ), so the MLE is the generating coefficient and scales exactly with the signal.
    Fixed (not seeded from ctx): the proof's table and the tolerances refer to it."""
    rng = np.random.default_rng(seed)
    X = datasets.exponential_design(rng, n, 5)
    theta = offset + scale * X @ np.array([1.0, -0.8, 0.6, 0.5, -0.4])
    return X, datasets.response(rng, theta, "binomial", expected=True)


def rel_gap(X: np.ndarray, y: np.ndarray, mask: str, rate: float) -> tuple[float, float]:
    """G = ‖w_drop − w_Fisher‖/‖w_mle − w_drop‖ and u = mean |x_ij w_drop,j|."""
    from dualreg.torch import expected as ex

    w_m, b_m = ex.solve_glm(X, y)
    v = rate if mask == "gaussian" else rate / (1 - rate)
    w_d, _ = ex.solve_expected_dropout(X, y, "binomial", mask, rate, x0=np.r_[w_m, b_m])
    w_q, _ = ex.solve_fisher_ridge(X, y, "binomial", v, x0=np.r_[w_m, b_m])
    return float(np.linalg.norm(w_d - w_q) / np.linalg.norm(w_m - w_d)), float(
        np.mean(np.abs(X * w_d)))


@lru_cache(maxsize=4)
def _gaps(mask: str, rates: tuple[float, ...]) -> np.ndarray:
    X, y = binomial_data()
    with one_thread():
        return np.array([rel_gap(X, y, mask, r)[0] for r in rates])


def _slopes(xs, ys) -> np.ndarray:
    return np.diff(np.log(ys)) / np.diff(np.log(xs))


def _rates(ctx: Context) -> tuple[float, ...]:
    return (0.0025, *RATES, 0.04) if full(ctx) else RATES


@claim("T2.gaussian-slope",
       "Gaussian masks: the relative gap G between the exact expected-objective minimiser and "
       "the Fisher ridge is O(σ²) (log–log slope 1) and small", PROOF_T2)
def gaussian_slope(ctx: Context) -> Iterator[Measurement]:
    rates = _rates(ctx)
    g = _gaps("gaussian", rates)
    s = _slopes(rates, g)
    yield Measurement(f"max |slope − 1| of log G vs log σ², σ² ∈ {list(rates)}",
                      float(np.max(np.abs(s - 1.0))), 0.15,
                      "the next order is O(σ²) relative; on this fixed design (not seeded, the "
                      "same at every --seed) |slope − 1| is 0.02, so 0.15 admits the O(σ²) "
                      "drift while a slope-0 (Bernoulli-like) gap cannot pass")
    i = rates.index(0.005)
    yield Measurement("G at σ² = 0.005", float(g[i]), 0.01,
                      "C_G σ² ≈ 0.0024 predicted; 0.01 separates it from the Bernoulli gap "
                      "(≈ 0.34 at every p)")


@claim("T2.bernoulli-p-slope",
       "Bernoulli masks: G does not vanish as p → 0 (log–log slope 0 in p, G > 0.1)", PROOF_T2)
def bernoulli_p_slope(ctx: Context) -> Iterator[Measurement]:
    rates = _rates(ctx)
    g = _gaps("bernoulli", rates)
    s = _slopes(rates, g)
    yield Measurement(f"max |slope| of log G vs log p, p ∈ {list(rates)}",
                      float(np.max(np.abs(s))), 0.1,
                      "admits an O(p) drift of the slope (0.03 on this fixed design, the same "
                      "at every --seed); a Gaussian-like O(p) gap would have slope 1")
    yield Measurement("G at p = 0.005", float(g[rates.index(0.005)]), 0.1,
                      "C_B = 0.345 predicted: the gap stays O(u), not O(p)", mode="ge")


@claim("T2.bernoulli-u-slope",
       "Bernoulli masks: G = O(u), u the size of the dropped contributions |x_ij w_j| (log–log "
       "slope 1 in u at p = 0.01)", PROOF_T2)
def bernoulli_u_slope(ctx: Context) -> Iterator[Measurement]:
    scales = (0.05, 0.1, 0.2, 0.4) if full(ctx) else (0.1, 0.2, 0.4)
    with one_thread():
        gu = [rel_gap(*binomial_data(scale=s), "bernoulli", 0.01) for s in scales]
    s = _slopes([g[1] for g in gu], [g[0] for g in gu])
    yield Measurement(f"max |slope − 1| of log G vs log u, signal scales {list(scales)}",
                      float(np.max(np.abs(s - 1.0))), 0.2,
                      "first order in u plus O(u²): ±0.2 for the O(u) drift of the slope (0.09 "
                      "on this fixed design, the same at every --seed); a gap of order u² "
                      "would have slope 2")


@claim("T2.limits",
       "the first-order constants of the proof: G_Bernoulli(p) → C_B and G_Gaussian/σ² → C_G "
       "(dualreg.torch.expected.bernoulli_gap_limit, gaussian_gap_slope)", PROOF_T2)
def limits(ctx: Context) -> Iterator[Measurement]:
    from dualreg.torch import expected as ex

    X, y = binomial_data()
    with one_thread():
        c_b = ex.bernoulli_gap_limit(X, y, "binomial")
        c_g = ex.gaussian_gap_slope(X, y, "binomial")
    why = ("the O(rate) corrections move G by ~0.6 % per doubling of the rate (1.1 % and "
           "1.3 % at rate 0.005 on this fixed design, the same at every --seed): 2 % "
           "admits them, not a wrong constant")
    rates = _rates(ctx)
    i = rates.index(0.005)
    yield Measurement(f"|G_B(0.005)/C_B − 1|, C_B = {c_b:.4f}",
                      abs(_gaps("bernoulli", rates)[i] / c_b - 1.0), 0.02, why)
    yield Measurement(f"|G_G(0.005)/(0.005·C_G) − 1|, C_G = {c_g:.4f}",
                      abs(_gaps("gaussian", rates)[i] / (0.005 * c_g) - 1.0), 0.02, why)


def spread_binomial_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The proof's design with its columns rescaled so that the column scales
    :math:`c_j = \|X_{:,j}\|^2/n` spread over exactly a factor 10
    (:func:`dualreg.datasets.geometric_scales`); the labels are unchanged (the coefficients
    absorb the rescaling)."""
    X, y = binomial_data(n=n)
    X = X / np.sqrt(np.mean(X**2, axis=0)) * datasets.geometric_scales(X.shape[1], 10.0)
    return X, y


@claim("T2.monte-carlo",
       "logistic regression, Bernoulli input dropout p = 0.2, column scales spread over a "
       "factor 10: the Monte-Carlo mean is the minimiser of the exact expected objective, and "
       "its distance to the Fisher ridge is the exact gap, resolved beyond 4 SE", PROOF_T2)
def monte_carlo_gap(ctx: Context) -> Iterator[Measurement]:
    from dualreg.torch import BernoulliDropout
    from dualreg.torch import expected as ex

    n = 300 if full(ctx) else 150
    X, y = spread_binomial_data(n)
    p = 0.2
    v = p / (1 - p)
    K, T = (64, 3000) if full(ctx) else (16, 1000)
    with one_thread():
        w_m, b_m = ex.solve_glm(X, y)
        w_d, b_d = ex.solve_expected_dropout(X, y, "binomial", "bernoulli", p,
                                             x0=np.r_[w_m, b_m])
        w_q, _ = ex.solve_fisher_ridge(X, y, "binomial", v, x0=np.r_[w_m, b_m])
        # lr = 1: the Hessian of the rescaled design spans ~0.02 … 1.1, so lr·λ_max·(1 + v) < 2
        # and the slowest direction relaxes in ~60 of the 500 burn-in steps.
        res = train(ctx, X, y, BernoulliDropout(p, target="input"), 201, family="binomial",
                    intercept=True, replicas=K, steps=T, lr=1.0, schedule="inverse_sqrt",
                    init=w_m)
    yield spread_row(X)
    name = f"n={n}, K={K}, T={T} vs exact E L"
    yield from compare(name, res, w_d)
    yield Measurement(f"{name}: intercept |mean − b|/SE",
                      abs(res.intercept_mean - b_d) / res.intercept_se, band(K), band_why(K, 1))
    yield power(f"n={n}, K={K}", res, w_q, what="the Fisher ridge")


# ------------------------------------------------------------------------- T2.column-scales
# A'' of each family written out here, independently of dualreg.families.
_CURVATURE_WRITTEN_OUT = {
    "gaussian": lambda theta: np.ones_like(theta),
    "binomial": lambda theta: np.exp(-np.logaddexp(0.0, theta) - np.logaddexp(0.0, -theta)),
    "poisson": np.exp,
}


@claim("T2.column-scales", "the Fisher weights c_j(w) = (1/n) Σ_i A''(x_iᵀw + b) x_ij² of every "
       "family, and each family's A'' is the second derivative of its loss", PROOF_T2)
def column_scales(ctx: Context) -> Iterator[Measurement]:
    from dualreg import families

    rng = ctx.rng(211)
    n, d = 200, 4
    X = datasets.gaussian_design(rng, n, d, scales=datasets.geometric_scales(d, 10.0))
    w, b = 0.4 * rng.standard_normal(d) / np.sqrt((X**2).mean(0)), 0.3
    theta = X @ w + b
    y = np.ones(n)  # any valid y: the second derivative of ℓ in θ does not depend on it
    h = 1e-3
    for name, a2 in _CURVATURE_WRITTEN_OUT.items():
        fam = families.get_family(name)
        expected = a2(theta) @ (X * X) / n
        got = families.column_scales(X, w, b, name)
        yield Measurement(f"{name}: c_j(w) against (1/n) Σ A''(θ_i) x_ij² written out",
                          float(np.max(np.abs(got / expected - 1.0))), 1e-12,
                          "the same sum in float64 by two routes: rounding only")
        second = (fam.pointwise_loss(theta + h, y) - 2 * fam.pointwise_loss(theta, y)
                  + fam.pointwise_loss(theta - h, y)) / h**2
        yield Measurement(f"{name}: A''(θ) against the central second difference of ℓ (h = 1e-3)",
                          float(np.max(np.abs(fam.curvature(theta) - second)
                                       / np.maximum(np.abs(second), 1e-3))), 1e-5,
                          "truncation h²/12·|A⁗| ≤ 1e-8 plus cancellation ≈ 4·2e-16·|ℓ|/h² ≤ 4e-9 "
                          "(|θ| ≲ 4, |ℓ| ≲ 5), relative to A'' ≥ 0.01: ≤ 1e-6, so 1e-5 has a "
                          "10× margin at every seed; a wrong A'' is off by O(1)")
