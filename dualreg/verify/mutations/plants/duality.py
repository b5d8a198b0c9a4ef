"""Plants in the conversions between the faces and in the η ↔ α ↔ σ² maps."""

from __future__ import annotations

import numpy as np

from dualreg.verify.mutations.plant import plant

LAYER = "duality"


@plant("keep-prob-without-c", LAYER,
       "the Bernoulli keep probability forgets the column scale: α = η/(η + λ)", ("T4", "T6", "T9"),
       ci=True)
def _(p):
    def make(orig):
        return lambda eta, lam, c=1.0: orig(eta, lam, 1.0)

    p.wrap_function("dualreg._conventions:eta_to_keep_prob", make)


@plant("keep-prob-half-lambda", LAYER, "α = cη/(cη + λ/2): the ridge's ½ counted twice",
       ("T4", "T6"))
def _(p):
    def make(orig):
        return lambda eta, lam, c=1.0: orig(eta, 0.5 * lam, c)

    p.wrap_function("dualreg._conventions:eta_to_keep_prob", make)


@plant("keep-prob-to-eta-plus", LAYER, "the inverse map is η = λα/(c(1 + α)) instead of (1 − α)",
       ("T6",))
def _(p):
    def keep_prob_to_eta(alpha, lam, c=1.0):
        alpha = np.asarray(alpha, dtype=float)
        return lam * alpha / (np.asarray(c, dtype=float) * (1.0 + alpha))

    p.set_function("dualreg._conventions:keep_prob_to_eta", keep_prob_to_eta)


@plant("noise-variance-without-c", LAYER, "the Gaussian mask variance is λ/η instead of λ/(cη)",
       ("T4", "T9"))
def _(p):
    def make(orig):
        return lambda eta, lam, c=1.0: orig(eta, lam, 1.0)

    p.wrap_function("dualreg._conventions:eta_to_noise_variance", make)


@plant("drop-odds-inverted", LAYER, "the mask variance of inverted dropout is α/(1 − α)",
       ("T1", "T3"))
def _(p):
    def drop_odds(alpha):
        alpha = np.asarray(alpha, dtype=float)
        with np.errstate(divide="ignore"):
            return alpha / (1.0 - alpha)

    p.set_function("dualreg._conventions:drop_odds", drop_odds)


@plant("rule-integral-halved", LAYER,
       "η̂ → Ω integrates t/(2η̂) instead of t/η̂ (the ½ of the η-form applied twice)", ("T4", "T6"))
def _(p):
    def make(orig):
        return lambda eta_hat, w: 0.5 * np.asarray(orig(eta_hat, w))

    p.wrap_function("dualreg.duality:value_from_eta_hat", make)


@plant("dual-from-value-no-2", LAYER, "Ω → f computes sup[Ω − w²/η] (the factor 2 dropped)",
       ("T4",))
def _(p):
    def make(orig):
        return lambda omega, eta, w_max=None: orig(lambda w: 0.5 * omega(w), eta, w_max)

    p.wrap_function("dualreg.duality:dual_from_value", make)


@plant("classify-sign-flipped", LAYER,
       "classify reads the sign of the second difference backwards (sub ↔ super)", ("T4", "T8"))
def _(p):
    import dataclasses

    from dualreg._conventions import SUBQUADRATIC, SUPERQUADRATIC

    swap = {SUBQUADRATIC: SUPERQUADRATIC, SUPERQUADRATIC: SUBQUADRATIC}

    def make(orig):
        def classify(*args, **kwargs):
            c = orig(*args, **kwargs)
            return dataclasses.replace(c, curvature_class=swap.get(c.curvature_class,
                                                                   c.curvature_class))

        return classify

    p.wrap_function("dualreg.duality:classify", make)
