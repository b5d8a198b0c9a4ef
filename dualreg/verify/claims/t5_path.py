r"""T5, the threshold λ_max above which w = 0 solves the penalised problem.

See proofs/T5_adaptive_dropout_irls.md ("Where the path starts"). With the intercept at its
null value b₀, w = 0 is (Clarke) stationary iff :math:`\|\nabla_wL(0,b_0)\|_\infty \le
\lambda\,\Omega'(0^+)`, so :math:`\lambda_{\max} = \|\nabla_wL(0,b_0)\|_\infty/\Omega'(0^+)`.
The check writes the gradient out (no ``dualreg.families``) and runs the library solver on both
sides of the threshold.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import numpy as np

from dualreg.verify.checks import rel_err, scaled_problem
from dualreg.verify.registry import Context, Measurement, claim

PROOF_T5 = "proofs/T5_adaptive_dropout_irls.md"


def _null_gradient(X: np.ndarray, y: np.ndarray, family: str, fit_intercept: bool) -> np.ndarray:
    r""":math:`\nabla_wL(0, b_0) = X^\top(\mu_0 - y)/n`: the null mean μ₀ is ȳ with an intercept
    (the null fit matches the mean for canonical links), else the mean at θ = 0 (0 gaussian,
    ½ binomial)."""
    if fit_intercept:
        mu0 = float(np.mean(y))
    else:
        mu0 = {"gaussian": 0.0, "binomial": 0.5}[family]
    return X.T @ (mu0 - y) / len(y)


def _penalties():
    """Penalties with a finite kink at 0 and their slopes Ω'(0⁺), written out."""
    from dualreg.penalties import L1, MCP, SCAD, LogSum, Rescaled

    return [(L1(), 1.0), (MCP(3.0, 1.0), 1.0), (SCAD(3.7, 1.0), 1.0), (LogSum(0.5), 2.0),
            (Rescaled(L1(), 0.25), 4.0)]


@claim("T5.lam-max",
       "λ_max = ‖∇L(0, b₀)‖∞ / Ω'(0⁺) (gradient written out; gaussian and binomial, with and "
       "without intercept, column scales spread 20; five kinked penalties); the library ℓ1 "
       "IRLS returns w = 0 just above λ_max and a nonzero w just below", PROOF_T5)
def lam_max_claim(ctx: Context) -> Iterator[Measurement]:
    solvers = importlib.import_module("dualreg.solvers")
    from dualreg.penalties import L1

    rng = ctx.rng(509)
    n, d = (120, 12) if ctx.mode == "full" else (60, 8)
    for family in ("gaussian", "binomial"):
        X, y = scaled_problem(rng, family, n, d)
        for fit_intercept in (True, False):
            grad = _null_gradient(X, y, family, fit_intercept)
            tag = f"{family}, intercept={fit_intercept}"
            worst = 0.0
            for pen, slope in _penalties():
                got = solvers.lam_max(X, y, pen, family, fit_intercept)
                worst = max(worst, rel_err(got, np.max(np.abs(grad)) / slope))
            yield Measurement(f"{tag}: lam_max vs ‖Xᵀ(μ₀ − y)/n‖∞/Ω'(0⁺), 5 penalties", worst,
                              1e-10, "one matrix-vector product (~1e-15) and, for the binomial "
                              "intercept, the solver's null fit (stationary to ~1e-12); a "
                              "factor in λ_max or a missed Ω'(0⁺) is O(1)")
            lmax = solvers.lam_max(X, y, L1(), family, fit_intercept)
            above = solvers.irls(X, y, L1(), 1.001 * lmax, family=family,
                                 fit_intercept=fit_intercept, tol=1e-10)
            yield Measurement(f"{tag}: max |w| of ℓ1 IRLS at 1.001·λ_max", float(
                np.max(np.abs(above.coef))), 0.0, "w = 0 is the unique minimiser above λ_max "
                "(convex, strict subgradient inequality): the solver's exact zeros")
            below = solvers.irls(X, y, L1(), 0.99 * lmax, family=family,
                                 fit_intercept=fit_intercept, tol=1e-10)
            yield Measurement(f"{tag}: nonzero coefficients of ℓ1 IRLS at 0.99·λ_max",
                              float(np.count_nonzero(below.coef)), 1.0,
                              "below λ_max, w = 0 violates |∇_jL| ≤ λ for the argmax column: "
                              "at least one coefficient must enter", mode="ge")
