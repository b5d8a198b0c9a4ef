"""Plants in the pruning identity and its bounds (:mod:`dualreg.pruning_cost`, proofs/T12)."""

from __future__ import annotations

import numpy as np

from dualreg.verify.mutations.plant import plant

LAYER = "pruning"
MODULE = "dualreg.pruning_cost"


@plant("pruning-single-penalty", LAYER,
       "the identity predicts ΔL = P_T + R: the fixed point's first-order term −∇L·u_T is "
       "taken as P_T instead of 2P_T", ("T12.pruning-identity",), ci=True)
def _(p):
    p.set(f"{MODULE}:PruningCost", "predicted",
          property(lambda self: self.penalty + self.remainder))


@plant("pruning-remainder-untapered", LAYER,
       "the remainder drops the Taylor weight (1 − t): ∫u_Tᵀ∇²L u_T dt (twice ½u_TᵀHu_T "
       "for a quadratic loss)", ("T12.pruning-identity",))
def _(p):
    def remainder(fam, theta, direction):
        t, weights = np.polynomial.legendre.leggauss(16)
        t = 0.5 * (t + 1.0)
        return float(sum(0.5 * wk * np.mean(fam.curvature(theta - tk * direction)
                                            * direction**2)
                         for tk, wk in zip(t, weights, strict=True)))

    p.set_function(f"{MODULE}:_remainder", remainder)


@plant("pruning-kappa-unscaled", LAYER,
       "κ± are eigenvalues of ∇²_TT L itself, not of C_T^{-1/2}∇²_TT L C_T^{-1/2}",
       ("T12.pruning-bounds",))
def _(p):
    def make(original):
        def kappa_range(fam, XT, cT, theta, direction):
            return original(fam, XT, np.ones_like(cT), theta, direction)

        return kappa_range

    p.wrap_function(f"{MODULE}:_kappa_range", make)


@plant("pruning-gradient-before-pruning", LAYER,
       "the a-priori bound uses ∇_T L(u) at the trained weights instead of ∇_T L(u⁰) after "
       "pruning", ("T12.pruning-bounds",))
def _(p):
    def make(original):
        def pruning_cost(X, y, u, pruned, r, c=None, intercept=0.0, family="gaussian"):
            cost = original(X, y, u, pruned, r, c, intercept, family)
            from dataclasses import replace

            from dualreg.families import model

            X = np.asarray(X, float)
            T = np.zeros(X.shape[1], bool)
            T[np.asarray(pruned)] = True
            cs = (model.column_scales(X, u, intercept, family) if c is None
                  else np.broadcast_to(np.asarray(c, float), T.shape))
            g = model.gradient(X, y, u, intercept, family)[0]
            return replace(cost, pruned_gradient=float(np.sum(g[T] ** 2 / cs[T])))

        return pruning_cost

    p.wrap_function(f"{MODULE}:pruning_cost", make)


@plant("pruning-ridge-unscaled", LAYER,
       "the trimmed ridge on T is (r/2)Σu_j², without the column scales c_j",
       ("T12.pruning-rate", "T12.pruning-identity"))
def _(p):
    def make(original):
        def trimmed_ridge_point(X, y, r, gamma=None, pruned=None, c=None, **kwargs):
            return original(X, y, r, gamma=gamma, pruned=pruned,
                            c=np.ones(np.shape(X)[1]), **kwargs)

        return trimmed_ridge_point

    p.wrap_function(f"{MODULE}:trimmed_ridge_point", make)
