"""Plants in the GLM families and the model functions."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from dualreg.verify.mutations.plant import plant

LAYER = "families"


@plant("binomial-curvature-sigma", LAYER, "the logistic A'' is σ(θ) instead of σ(θ)(1 − σ(θ))",
       ("T5", "T2"), ci=True)
def _(p):
    p.set("dualreg.families.binomial:Binomial", "curvature",
          lambda self, theta: expit(np.asarray(theta, dtype=float)))


@plant("poisson-curvature-one", LAYER, "the Poisson A'' is 1 (the gaussian one) instead of e^θ",
       ("T5",))
def _(p):
    p.set("dualreg.families.poisson:Poisson", "curvature",
          lambda self, theta: np.ones_like(np.asarray(theta, dtype=float)))


@plant("gradient-without-1-over-n", LAYER, "∇L = Xᵀ(μ − y) without the 1/n of the mean loss",
       ("T5",))
def _(p):
    def make(orig):
        def gradient(X, y, w, intercept=0.0, family="gaussian"):
            g, gb = orig(X, y, w, intercept, family)
            return g * np.shape(X)[0], gb * np.shape(X)[0]

        return gradient

    p.wrap_function("dualreg.families.model:gradient", make)


@plant("column-scales-ignore-curvature", LAYER,
       "c_j(w) = ‖X_j‖²/n for every family (the A''(θ) weight dropped)", ("T2", "T9", "T5"))
def _(p):
    def column_scales(X, w=None, intercept=0.0, family="gaussian"):
        X = np.asarray(X, float)
        return (X * X).mean(0)

    p.set_function("dualreg.families.model:column_scales", column_scales)


@plant("binomial-torch-loss-sign", LAYER,
       "the torch twin of the logistic loss is softplus(θ) + yθ (sign of the linear term)",
       ("T2", "T9"))
def _(p):
    def loss(self, theta, y):
        import torch

        return torch.nn.functional.softplus(theta) + y * theta

    p.set("dualreg.families.binomial:Binomial", "pointwise_loss_torch", loss)
