"""Plants in the data path of the figures."""

from __future__ import annotations

import numpy as np

from dualreg.verify.mutations.plant import plant

LAYER = "figures"


@plant("penalty-figure-reference-point", LAYER, "the paper's penalty figure subtracts Ω(0.1) "
       "instead of Ω(0.01)", ("T7.penalty-figure",), ci=True)
def _(p):
    p.set("dualreg.plots.penalties", "W_REF", 0.1)


@plant("penalty-figure-mcp-level", LAYER, "the penalty figure draws MCP at λ = 2 instead of "
       "λ = √2", ("T7.penalty-figure",))
def _(p):
    def make(orig):
        def methods():
            return [(label, pen, 2.0 if label.startswith("MCP") else lam, kind)
                    for label, pen, lam, kind in orig()]

        return methods

    p.wrap_function("dualreg.plots.penalties:methods", make)


@plant("penalty-figure-vector-norm", LAYER, "the vector panel's k equal entries are 1/k instead "
       "of 1/√k (not unit norm)", ("T7.penalty-figure",))
def _(p):
    def vectors(d=32):
        out = np.zeros((d + 1, d))
        for k in range(1, d + 1):
            out[k, :k] = 1.0 / (k + 1e-3)
        return out

    p.set_function("dualreg.plots.penalties:vectors", vectors)


@plant("faces-figure-keep-prob-level", LAYER, "the faces figure draws the keep probability at "
       "λ = 2 while its caption and other panels are at λ = 1", ("T4.faces-figure",))
def _(p):
    def make(orig):
        def faces(penalty, n):
            out = orig(penalty, n)
            w = out["keep_prob"][0]
            out["keep_prob"] = (w, penalty.keep_prob(w, 2.0, 1.0))
            return out

        return faces

    p.wrap_function("dualreg.plots.faces:faces", make)


@plant("faces-figure-omega-halved", LAYER, "the faces figure's Ω panel plots Ω/2 (the η-form's "
       "½ applied twice)", ("T4.faces-figure",))
def _(p):
    def make(orig):
        def faces(penalty, n):
            out = orig(penalty, n)
            w, omega = out["omega"]
            out["omega"] = (w, 0.5 * omega)
            return out

        return faces

    p.wrap_function("dualreg.plots.faces:faces", make)
