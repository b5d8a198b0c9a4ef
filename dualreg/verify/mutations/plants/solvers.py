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


@plant("mm-eta-additive-smoothing", LAYER, "the MM step smooths additively, η̂(|w| + √ε), "
       "instead of η̂(√(w² + ε)): still no absorbing zero, but its fixed points are not "
       "stationary for F_ε = L + λΣΩ(√(w² + ε))", ("T11.fixed-eps",))
def _(p):
    def smoothed_eta(penalty, w, eps):
        with np.errstate(all="ignore"):
            return penalty.eta_hat(np.abs(w) + np.sqrt(eps) if eps > 0 else w)

    p.set_function("dualreg.solvers.mm:smoothed_eta", smoothed_eta)


@plant("mm-half-step", LAYER, "the gaussian MM step is damped: w⁺ = w + ½(w_ridge − w) instead "
       "of the weighted-ridge minimiser (same fixed points, rate (1 + ρ)/2)", ("T11.local-rate",))
def _(p):
    def make(orig):
        def weighted_ridge(problem, w, b, active, delta, max_newton=1):
            w2, b2 = orig(problem, w, b, active, delta, max_newton)
            if problem.quadratic:
                w2 = w + 0.5 * (w2 - w)
            return w2, b2

        return weighted_ridge

    p.wrap_function("dualreg.solvers.mm:weighted_ridge", make)


@plant("chartrand-yin-test-inverted", LAYER, "the Chartrand–Yin schedule lowers ε when "
       "‖Δw‖ ≥ ratio·√ε instead of < (so at fixed ε, where the steps vanish, it never lowers)",
       ("T11.clarke",))
def _(p):
    from dualreg.solvers import schedules

    def make(orig):
        def chartrand_yin(eps0=1.0, eps_min=1e-8, factor=0.1, ratio=0.01, relative=False,
                          max_per_level=None):
            sched = orig(eps0, eps_min, factor, ratio, relative, max_per_level)
            cap = np.inf if max_per_level is None else max_per_level

            def update(state, w):
                w = np.array(w, dtype=float)
                eps, count = state.eps, state.count + 1
                floor = eps_min * state.scale
                if not np.linalg.norm(w - state.w) < ratio * np.sqrt(eps) or count >= cap:
                    eps, count = max(factor * eps, floor), 0
                return schedules.EpsState(eps, w, eps <= floor, state.scale, count)

            return schedules.EpsSchedule(sched.name, sched.init, update)

        return chartrand_yin

    p.wrap_function("dualreg.solvers.schedules:chartrand_yin", make)


@plant("mm-rate-no-smoothing-factor", LAYER, "the predicted MM rate uses the elasticity κ̂(s) "
       "of η̂ without the smoothing factor w²/(w² + ε)", ("T11.local-rate-jacobian",))
def _(p):
    from dualreg.solvers import rate

    def mm_jacobian(hess_loss, penalty, lam, w, eps=0.0):
        w = np.asarray(w, dtype=float)
        lam = np.broadcast_to(np.asarray(lam, dtype=float), w.shape)
        s = np.sqrt(w**2 + eps)
        with np.errstate(all="ignore"):
            eta = penalty.eta_hat(s)
            delta = np.where(np.isinf(eta) | (lam == 0), 0.0, lam / eta)
        kappa = rate.eta_elasticity(penalty, s)
        H = np.asarray(hess_loss, dtype=float) + np.diag(delta)
        return np.linalg.solve(H, np.diag(delta * kappa))

    p.set_function("dualreg.solvers.rate:mm_jacobian", mm_jacobian)
