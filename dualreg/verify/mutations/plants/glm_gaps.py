"""Plants in the GLM gaps of proofs/T14 (:mod:`dualreg.solvers.frozen_scales`, and the
families' third derivative that its coefficient uses)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from dualreg.verify.mutations.plant import plant

MODULE = "dualreg.solvers.frozen_scales"


@plant("frozen-gap-missing-half", "solvers",
       "the term frozen scales leave out is Σ_j w_j²∇c_j, without the ½ of ∂(½c_jw_j²)",
       ("T14.frozen-gap-coefficient", "T14.which-point", "T14.sparseout-features-field"), ci=True)
def _(p):
    def make(orig):
        def scale_gradient(*args, **kwargs):
            return 2.0 * orig(*args, **kwargs)

        return scale_gradient

    p.wrap_function(f"{MODULE}:scale_gradient", make)


@plant("frozen-gap-no-hessian", "solvers",
       "the first-order coefficient is g itself instead of H⁻¹g (the implicit-function step "
       "forgotten)", ("T14.frozen-gap-coefficient", "T14.which-point"))
def _(p):
    from dualreg.solvers import frozen_scales as fz

    def frozen_gap_coefficient(X, y, family="binomial", power=2.0, weights=None,
                               fit_intercept=True):
        w0, b0 = fz.glm_optimum(X, y, family, fit_intercept)
        g = fz.scale_gradient(X, w0, b0, family, power, weights, fit_intercept)
        return g[: np.shape(X)[1]]

    p.set_function(f"{MODULE}:frozen_gap_coefficient", frozen_gap_coefficient)


@plant("frozen-point-scales-never-updated", "solvers",
       "the reweighted ridge freezes c at the unpenalised optimum and never recomputes it (one "
       "outer step)", ("T14.frozen-gap-order",))
def _(p):
    from dualreg.solvers import frozen_scales as fz

    def frozen_scale_point(X, y, v, family="binomial", power=2.0, weights=None,
                           fit_intercept=True, tol=1e-12, max_outer=500):
        X, y = np.asarray(X, float), np.asarray(y, float)
        d = X.shape[1]
        w, b = fz.glm_optimum(X, y, family, fit_intercept)
        ridge = v * fz._nu(weights, d) * fz.feature_scales(X, w, b, family, power)
        x = fz._newton(X, y, fz.get_family(family), ridge, np.r_[w, b] if fit_intercept else w,
                       fit_intercept, tol)
        return x[:d], (float(x[-1]) if fit_intercept else 0.0)

    p.set_function(f"{MODULE}:frozen_scale_point", frozen_scale_point)


@plant("binomial-third-derivative-sign", "families",
       "the logistic A''' is A''(2σ − 1) instead of A''(1 − 2σ)",
       ("T14.frozen-gap-coefficient", "T14.sparseout-features-field"), ci=True)
def _(p):
    def third_derivative(self, theta):
        theta = np.asarray(theta, dtype=float)
        return expit(theta) * expit(-theta) * (expit(theta) - expit(-theta))

    p.set("dualreg.families.binomial:Binomial", "third_derivative", third_derivative)


@plant("feature-scales-half-power", "solvers",
       "Sparseout's feature scales use |x_ij|^(q/2) (the noise amplitude) instead of |x_ij|^q "
       "(its variance)", ("T14.sparseout-features-loss", "T14.sparseout-features-field"))
def _(p):
    from dualreg.families import get_family

    def feature_scales(X, w, intercept=0.0, family="binomial", power=2.0):
        X, w = np.asarray(X, float), np.asarray(w, float)
        a2 = get_family(family).curvature(X @ w + intercept)
        return a2 @ np.abs(X) ** (power / 2) / X.shape[0]

    p.set_function(f"{MODULE}:feature_scales", feature_scales)


@plant("feature-scales-no-curvature", "solvers",
       "Sparseout's feature scales drop the Fisher weight: (1/n)Σ_i|x_ij|^q (the gaussian "
       "statement) for every family", ("T14.sparseout-features-loss",))
def _(p):
    def feature_scales(X, w, intercept=0.0, family="binomial", power=2.0):
        X = np.asarray(X, float)
        return np.mean(np.abs(X) ** power, axis=0)

    p.set_function(f"{MODULE}:feature_scales", feature_scales)
