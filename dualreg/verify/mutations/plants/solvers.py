"""Plants in the η-trick IRLS solver and the cvxpy reference."""

from __future__ import annotations

import numpy as np

from dualreg.verify.mutations.plant import plant

LAYER = "solvers"


@plant("mm-eta-unsmoothed", LAYER, "the MM step uses η̂(w) instead of η̂(√(w² + ε)), so a zero "
       "coefficient is absorbing", ("T5",), ci=True)
def _(p):
    def smoothed_eta(penalty, w, eps):
        with np.errstate(all="ignore"):
            return penalty.eta_hat(w)

    p.set_function("dualreg.solvers.mm:smoothed_eta", smoothed_eta)


@plant("mm-ridge-weights-halved", LAYER, "the majoriser's ridge weights are λ/(2η) instead of "
       "λ/η", ("T5",))
def _(p):
    def ridge_weights(lam, eta):
        with np.errstate(divide="ignore"):
            return np.where(np.isinf(eta) | (lam == 0), 0.0, lam / (2.0 * eta))

    p.set_function("dualreg.solvers.mm:ridge_weights", ridge_weights)


@plant("gaussian-intercept-sign", LAYER, "the gaussian intercept is ȳ + x̄ᵀw instead of "
       "ȳ − x̄ᵀw", ("T5",), ci=True)
def _(p):
    def final_intercept(self, w, b):
        if self.quadratic:
            return float(self.y_mean + self.x_mean @ w) if self.fit_intercept else 0.0
        return float(b) if self.fit_intercept else 0.0

    p.set("dualreg.solvers.problem:Problem", "final_intercept", final_intercept)


@plant("lam-max-halved", LAYER, "λ_max is ‖∇L(0)‖∞/(2Ω'(0⁺))", ("T5",))
def _(p):
    def make(orig):
        return lambda *args, **kwargs: 0.5 * orig(*args, **kwargs)

    p.wrap_function("dualreg.solvers.path:lam_max", make)


@plant("reference-sum-loss", LAYER, "the cvxpy reference minimises the summed loss (no 1/n) with "
       "the mean-scaled λ", ("T5",))
def _(p):
    def make(orig):
        def build_problem(X, y, penalty, lam, family="gaussian", fit_intercept=True):
            n = np.shape(X)[0]
            return orig(X, y, penalty, np.asarray(lam, dtype=float) / n, family, fit_intercept)

        return build_problem

    p.wrap_function("dualreg.solvers.reference:build_problem", make)
