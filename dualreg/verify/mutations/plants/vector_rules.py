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


# --------------------------------------------------------------------------- ARD (T13.4)
ARD_CLASS = "dualreg.penalties.nonseparable:ARD"


def _ard_eta_hat(update, steps=None):
    """An ``ARD.eta_hat`` whose MM update is ``update(w, z)`` (the library's is |w|/√z),
    optionally stopped after ``steps`` updates whatever max_iter says."""

    def eta_hat(self, w):
        w = self._check_w(w)
        eta = np.abs(w).copy()
        previous = np.inf
        for _ in range(self.max_iter if steps is None else steps):
            sigma = self.tau * np.eye(self.X.shape[0]) + (self.X * eta) @ self.X.T
            z = np.einsum("ij,ij->j", self.X, np.linalg.solve(sigma, self.X))
            eta = update(np.abs(w), np.maximum(z, 1e-300))
            current = self.objective(w, eta)
            if abs(previous - current) <= self.tol * max(1.0, abs(current)):
                break
            previous = current
        return eta

    return eta_hat


@plant("ard-mm-no-sqrt", "penalty faces",
       "ARD's MM update is η_j ← |w_j|/z_j instead of |w_j|/√z_j (the majoriser's minimiser "
       "without its square root)", ("T13.ard-mm", "T13.ard-value", "T13.ard-concave"))
def _(p):
    p.set(ARD_CLASS, "eta_hat", _ard_eta_hat(lambda a, z: a / z))


@plant("ard-eta-hat-one-step", "penalty faces",
       "ARD's eta_hat returns the first MM iterate (one update from η = |w|) instead of running "
       "to the fixed point", ("T13.ard-concave", "T13.ard-mm", "T13.ard-value"))
def _(p):
    p.set(ARD_CLASS, "eta_hat", _ard_eta_hat(lambda a, z: a / np.sqrt(z), steps=1))


@plant("ard-logdet-tau-squared", "penalty faces",
       "ARD's dual f(η) is log det(τ²I + X diag(η) Xᵀ) instead of log det(τI + …)",
       ("T13.ard-orthogonal", "T13.ard-value", "T13.ard-concave"))
def _(p):
    def dual(self, eta):
        eta = np.asarray(eta, dtype=float)
        sigma = self.tau**2 * np.eye(self.X.shape[0]) + (self.X * eta) @ self.X.T
        return float(np.linalg.slogdet(sigma)[1])

    p.set(ARD_CLASS, "dual", dual)


@plant("ard-logdet-drops-n-log-tau", "penalty faces",
       "ARD's dual is log det(I + X diag(η) Xᵀ/τ): the constant n·log τ of log det(τI + …) is "
       "lost (Ω(0) = 0 instead of (n/2) log τ)", ("T13.ard-value", "T13.ard-orthogonal"))
def _(p):
    def dual(self, eta):
        eta = np.asarray(eta, dtype=float)
        sigma = np.eye(self.X.shape[0]) + (self.X * eta) @ self.X.T / self.tau
        return float(np.linalg.slogdet(sigma)[1])

    p.set(ARD_CLASS, "dual", dual)
