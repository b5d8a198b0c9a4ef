"""Plants in the vector η-trick (:mod:`dualreg.vector_rules`, :mod:`dualreg.penalties.ranked`,
the rank rules of the torch layers; proofs/T13)."""

from __future__ import annotations

import numpy as np

from dualreg.verify.mutations.plant import plant

MODULE = "dualreg.vector_rules"


@plant("rankrule-ignores-kappa", "duality",
       "the rank rule ranks |w_j| instead of the importance κ_j|w_j| (Y-Drop's conductance "
       "scale dropped)", ("T13.circulation", "T13.penalty-gradient"))
def _(p):
    def ranks(self, w):
        return np.argsort(np.argsort(np.abs(w), axis=-1, kind="stable"), axis=-1,
                          kind="stable")

    p.set(f"{MODULE}:RankRule", "ranks", ranks)


@plant("circulation-open-loop", "duality",
       "the circulation integrates the polygon's sides but not the closing one (last vertex "
       "back to the first)", ("T13.circulation",))
def _(p):
    from dualreg import vector_rules

    def circulation(field, loops, **kwargs):
        out = [vector_rules.line_integral(field, lp, **kwargs) for lp in np.asarray(loops)]
        return np.array([o[0] for o in out]), np.array([o[1] for o in out])

    p.set(MODULE, "circulation", circulation)


@plant("vector-irls-eta-not-inverted", "duality",
       "the vector IRLS ridge weight is λη̂ instead of λ/η̂", ("T13.targeted-training",))
def _(p):
    from dualreg import vector_rules

    original = vector_rules.vector_irls

    def vector_irls(H, b, eta_hat, w0, lam=1.0, max_iter=200):
        def inverted(w):
            with np.errstate(divide="ignore"):
                return np.minimum(1.0 / eta_hat(w), 1e300)

        return original(H, b, inverted, w0, lam, max_iter)

    p.set(MODULE, "vector_irls", vector_irls)


@plant("ordered-ridge-sorts-w2", "penalty faces",
       "the ordered ridge ranks w² instead of c ⊙ w² (the odds follow the unweighted "
       "magnitudes)", ("T13.penalty-gradient",))
def _(p):
    def total(self, w):
        w = self._check_w(w)
        order = np.argsort(w**2, axis=-1, kind="stable")
        q = np.take_along_axis(self.c * w**2, order, axis=-1)
        return 0.5 * np.sum(q * self.rho, axis=-1)

    p.set("dualreg.penalties.ranked:OrderedRidge", "total", total)


@plant("ydrop-ranks-by-weight", "torch layers",
       "torch Y-Drop on a GLM head ranks units by |w_j| instead of the conductance "
       "|w_j|·mean|x_j − x'_j|", ("T13.ydrop-training",))
def _(p):
    def input_keep(self, x, w):
        if self.rule == "reference":
            return None
        return 1.0 - self._drop(x, w, None, None, record=True, imp=w.detach().abs())

    p.set("dualreg.torch.layers.ydrop:YDrop", "_input_keep", input_keep)
