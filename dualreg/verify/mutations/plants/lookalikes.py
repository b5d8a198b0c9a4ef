"""Plants in the look-alike measurements (:mod:`dualreg.lookalike`, proofs/T10)."""

from __future__ import annotations

import numpy as np

from dualreg.verify.mutations.plant import plant

LAYER = "look-alikes"
MODULE = "dualreg.lookalike"


@plant("lookalike-member-not-from-zero", LAYER,
       "penalties are compared as Ω(t), not Ω(t) − Ω(0): LogSum keeps its offset λ log ε",
       ("T10.certified-sup", "T10.paper-pairings"), ci=True)
def _(p):
    p.set(MODULE, "_from_zero", lambda pen, t: pen.value(t))


@plant("lookalike-scale-not-fitted", LAYER,
       "the best match leaves the classical family's scale at λ = 1 instead of fitting it",
       ("T10.best-match", "T10.paper-pairings"))
def _(p):
    p.set(MODULE, "_best_scale", lambda a, b: (1.0, float(np.max(np.abs(a - b)))))


@plant("lookalike-tail-log-log", LAYER,
       "the tail slope is the log-log slope tΩ'/Ω instead of the log slope tΩ' (a log tail "
       "reads 0, so VarDrop ≈ 2·LogSum(2) looks bounded)", ("T10.tails",))
def _(p):
    def tail_slope(penalty, scale=1.0, w_tail=1e6):
        w = np.array([w_tail])
        rise = penalty.value(w)[0] - penalty.value(np.zeros(1))[0]
        return float(w_tail * penalty.derivative(w)[0] / rise)

    p.set(MODULE, "tail_slope", tail_slope)


@plant("lookalike-sup-on-plot-grid", LAYER,
       "the sup gap is the max over the figure's 100-point log grid, with no refinement",
       ("T10.certified-sup",))
def _(p):
    def sup_gap(target, member, scale=1.0, *, interval=(0.0, 5.0), **_):
        lo, hi = interval
        t = np.concatenate([[lo], np.logspace(-2, np.log10(hi), 100)])
        e = np.abs(target.value(t) - target.value(np.zeros(1))[0]
                   - scale * (member.value(t) - member.value(np.zeros(1))[0]))
        k = int(np.argmax(e))
        return float(e[k]), float(t[k]), float(e[k])

    p.set(MODULE, "sup_gap", sup_gap)


@plant("lookalike-figure-mcp-level", LAYER,
       "the paper's hard-concrete pairing is MCP(½, √2) at λ = 1 instead of the figure's √2",
       ("T10.paper-pairings",))
def _(p):
    from dualreg import lookalike

    vd, hc = lookalike.PAPER_PAIRINGS
    p.set(MODULE, "PAPER_PAIRINGS",
          (vd, lookalike.Pairing(hc.label, hc.target, hc.family, hc.member, 1.0)))


@plant("lookalike-vardrop-tail-constant", LAYER,
       "VarDrop's tail constant is 1 + γ_E + log 2 (f's) instead of (1 + γ_E + log 2)/2 (Ω's)",
       ("T10.tails", "T10.paper-pairings"))
def _(p):
    p.set(MODULE, "VARDROP_TAIL_CONSTANT", 1.0 + np.euler_gamma + np.log(2.0))
