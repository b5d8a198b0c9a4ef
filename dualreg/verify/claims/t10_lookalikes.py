"""T10, quantified look-alikes (proofs/T10_lookalikes.md).

The library (:mod:`dualreg.lookalike`) computes sup gaps by a monotone bracket and fits members
with Brent and Nelder–Mead through the library's penalty classes. Every check here recomputes
what it judges another way: the members in closed form written out below, the sup as the
maximum over a dense uniform grid (the definition), the fit by differential evolution, the
tails from the asymptotics of T7.1(d) and the figure's pairings from the figure module.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import optimize

from dualreg import lookalike
from dualreg.penalties import HardConcrete, VarDrop
from dualreg.verify.registry import Context, Measurement, claim

PROOF_T10 = "proofs/T10_lookalikes.md"
INTERVAL = (0.0, 5.0)

#: The measured constants of proofs/T10 on [0, 5] (sup gaps, penalties measured from 0).
MEASURED = {
    "figure VarDrop ≈ 2·LogSum(2)": 0.32085,
    "figure HardConcrete ≈ √2·MCP(½, √2)": 0.03227,
    "best LogSum for VarDrop": 0.06726,
    "best MCP for HardConcrete": 0.00774,
    "MCP with HardConcrete's slope and plateau": 0.02346,
    "LogSum with VarDrop's tail asymptote": 0.50542,
}
MEASURED_WHY = ("the documented value to its 5 digits: the sup is certified to 1e-7 and the fit "
                "converged to 1e-6 (fit tolerance), so only the documented rounding (5e-6) "
                "remains; a wrong normalisation, level or scale moves it by > 1e-3")


# --------------------------------------------------------------------------- independent forms
def closed_form(family: str, params: dict, lam: float, t: np.ndarray) -> np.ndarray:
    """λ[Ψ(t) − Ψ(0)] of a member, written out (docs/conventions.md §5)."""
    if family == "LogSum":
        return lam * np.log1p(t / params["eps"])
    if family == "MCP":
        b = params["b"] if "b" in params else params["a"] * params["scale"]
        return lam * np.where(t <= b, t - t * t / (2 * b), b / 2)
    if family == "SCAD":
        a, s = params["a"], params.get("s", params.get("scale"))
        mid = (2 * a * s * t - t * t - s * s) / (2 * s * (a - 1))
        return lam * np.where(t <= s, t, np.where(t <= a * s, mid, s * (a + 1) / 2))
    if family == "Lp":
        return lam * t ** params["p"] / params["p"]
    raise ValueError(family)


def dense_sup(target_values: np.ndarray, member_values: np.ndarray, t: np.ndarray
              ) -> tuple[float, float]:
    """max |e| on the grid and the grid's bound on the rest: h/2 · max |Δe/h| (the largest
    slope of e between neighbours, doubled for safety)."""
    e = target_values - member_values
    k = int(np.argmax(np.abs(e)))
    slope = float(np.max(np.abs(np.diff(e)) / np.diff(t)))
    return float(abs(e[k])), float(np.max(np.diff(t))) * slope


def _pairings(ctx: Context) -> list[tuple[str, object, str, dict, float]]:
    """(label, target, family, params, λ): the paper's and the matched pairings, then random
    members (seeded) of LogSum and MCP (and SCAD in full mode) against VarDrop and HC."""
    out = [(p.label, p.target, p.family, dict(p.member.params), p.scale)
           for p in lookalike.PAPER_PAIRINGS + lookalike.matched_pairings()]
    rng = ctx.rng(10)
    families = ("LogSum", "MCP") + (("SCAD",) if ctx.mode == "full" else ())
    for _ in range(2 if ctx.mode == "quick" else 6):
        for fam in families:
            target = VarDrop() if rng.random() < 0.5 else HardConcrete()
            lam = float(rng.uniform(0.5, 2.0))
            params = {"LogSum": lambda: {"eps": float(rng.uniform(0.2, 3.0))},
                      "MCP": lambda: {"b": float(rng.uniform(0.3, 3.0))},
                      "SCAD": lambda: {"a": float(rng.uniform(2.0, 5.0)),
                                       "s": float(rng.uniform(0.1, 1.0))}}[fam]()
            out.append((f"random {fam}{params} λ={lam:.3g} vs {target.name}", target, fam,
                        params, lam))
    return out


def _member(family: str, params: dict):
    from dualreg.penalties import MCP, SCAD, LogSum, Lp

    if family == "LogSum":
        return LogSum(params["eps"])
    if family == "MCP":
        return MCP(params["b"], 1.0) if "b" in params else MCP(params["a"], params["scale"])
    if family == "SCAD":
        return SCAD(params["a"], params.get("s", params.get("scale")))
    return Lp(params["p"])


@claim("T10.certified-sup", "the library's sup gap sup_t |[Ω(t) − Ω(0)] − λ[Ψ(t) − Ψ(0)]| on "
       "[0, 5], certified by its monotone bracket, equals the definition (max over a dense grid "
       "with Ψ written out) for the paper's, the matched and random pairings", PROOF_T10)
def certified_sup(ctx: Context) -> Iterator[Measurement]:
    n = 200_001 if ctx.mode == "quick" else 2_000_001
    t = np.linspace(*INTERVAL, n)
    values = {}
    worst_gap = worst_bracket = worst_upper = 0.0
    worst = ""
    for label, target, fam, params, lam in _pairings(ctx):
        if target.name not in values:
            values[target.name] = target.value(t)
        brute, slack = dense_sup(values[target.name], closed_form(fam, params, lam, t), t)
        gap, _, upper = lookalike.sup_gap(target, _member(fam, params), lam, interval=INTERVAL)
        err = abs(gap - brute) / max(slack + 1e-7, 1e-12)
        if err > worst_gap:
            worst_gap, worst = err, label
        worst_bracket = max(worst_bracket, upper - gap)
        worst_upper = max(worst_upper, brute - upper)
    yield Measurement(f"max |gap − dense max| / (grid slack h·max|Δe/h| + 1e-7), {n} points "
                      f"(worst: {worst})", worst_gap, 1.0,
                      "the sup of e lies within h/2·max|e'| of its max on a grid of step h (the "
                      "slope measured between neighbours, doubled); the library's gap is within "
                      "1e-7 of the sup (its certificate): ≤ 1 when both are right")
    yield Measurement("max certified bracket width gap_upper − gap", worst_bracket, 1e-7 + 1e-12,
                      "the library's tolerance 1e-7 (cells are bisected until the bracket "
                      "closes) plus float rounding")
    yield Measurement("max (dense max − gap_upper): the upper bound is an upper bound",
                      worst_upper, 1e-12, "a grid max never exceeds the sup (rounding only)")


def _de_best(target_values: np.ndarray, t: np.ndarray, fam: str, seed: int) -> tuple[float, dict]:
    """The minimax member by differential evolution on (log λ, shape), with the member in
    closed form; its gap re-measured on a 10× finer grid by the caller."""
    bounds = {"LogSum": [(-3, 3), (-6, 4)], "MCP": [(-3, 3), (-4, 3)],
              "SCAD": [(-3, 3), (-4, 3), (-4, 2)], "Lp": [(-4, 3), (0.05, 2.0)]}[fam]

    def params(x):
        if fam == "LogSum":
            return {"eps": float(np.exp(x[1]))}
        if fam == "MCP":
            return {"b": float(np.exp(x[1]))}
        if fam == "SCAD":
            return {"a": 1.0 + float(np.exp(x[1])), "s": float(np.exp(x[2]))}
        return {"p": float(x[1])}

    def obj(x):
        return float(np.max(np.abs(target_values - closed_form(fam, params(x), np.exp(x[0]), t))))

    res = optimize.differential_evolution(obj, bounds, seed=seed, tol=1e-10, maxiter=600,
                                          popsize=20, polish=False)
    res = optimize.minimize(obj, res.x, method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 4000})
    return float(np.exp(res.x[0])), params(res.x)


@claim("T10.best-match", "the library's best member of a family (λ and shape fitted, sup norm "
       "on [0, 5]) is as good as differential evolution finds, to 1e-4", PROOF_T10)
def best_match(ctx: Context) -> Iterator[Measurement]:
    cases = [(VarDrop(), "LogSum"), (HardConcrete(), "MCP")]
    if ctx.mode == "full":
        cases += [(VarDrop(), "MCP"), (HardConcrete(), "SCAD"), (HardConcrete(), "LogSum"),
                  (VarDrop(), "Lp")]
    coarse = np.linspace(*INTERVAL, 4001)
    fine = np.linspace(*INTERVAL, 40_001 if ctx.mode == "quick" else 400_001)
    for k, (target, fam) in enumerate(cases):
        m = lookalike.best_match(target, fam, interval=INTERVAL)
        lam, params = _de_best(target.value(coarse), coarse, fam, seed=int(ctx.rng(k).integers(
            2**31)))
        de_gap, _ = dense_sup(target.value(fine), closed_form(fam, params, lam, fine), fine)
        yield Measurement(f"{target.name} vs {fam}: library gap {m.gap:.6f} − DE gap "
                          f"{de_gap:.6f} (λ = {lam:.4g}, {params})", m.gap - de_gap, 1e-4,
                          "the library must not be worse than an independent global optimiser; "
                          "the DE member's gap is measured on a grid finer than its fit grid "
                          "(it can only grow, by ≤ 1e-5 here); 1e-4 is the reported precision. "
                          "λ left at 1 costs ≥ 0.02")


@claim("T10.tails", "tail log-slopes t Ω'(t) (T7.1(d) and closed forms): VarDrop 1, λ·LogSum λ, "
       "bounded penalties 0; the figure's VarDrop pairing diverges like log t, the tail-matched "
       "LogSum stays bounded and has kink slope e^C ≠ 1", PROOF_T10)
def tails(ctx: Context) -> Iterator[Measurement]:
    from dualreg.penalties import MCP, SCAD, LogSum, Lp

    w = lookalike.W_TAIL
    got = {
        "VarDrop": (lookalike.tail_slope(VarDrop()), 1.0 + 1.0 / w**2),
        "2·LogSum(2)": (lookalike.tail_slope(LogSum(2.0), 2.0), 2.0 * w / (w + 2.0)),
        "HardConcrete": (lookalike.tail_slope(HardConcrete()), 0.0),
        "MCP(0.5, √2)": (lookalike.tail_slope(MCP(0.5, np.sqrt(2.0))), 0.0),
        "SCAD(3.7, 1)": (lookalike.tail_slope(SCAD(3.7, 1.0)), 0.0),
        "0.7·Lp(0.6)": (lookalike.tail_slope(Lp(0.6), 0.7), 0.7 * w**0.6),
    }
    err = max(abs(a - b) / max(1.0, abs(b)) for a, b in got.values())
    yield Measurement(f"max rel. error of t Ω'(t) at t = {w:g} against closed forms "
                      f"({', '.join(got)})", err, 1e-6,
                      "VarDrop: tΩ' = 1 + 1/t² + O(t⁻⁴) (T7.1(d)), its derivative through the "
                      "inverse of η√f' (~1e-8 relative); the others closed forms (rounding). A "
                      "log-log slope tΩ'/Ω gives 0.07 for VarDrop")
    drawn = [lookalike.pairing_gap(p.target, p.member, p.scale)
             for p in lookalike.PAPER_PAIRINGS]
    yield Measurement("divergence flags: VarDrop ≈ 2·LogSum(2) diverges, HC ≈ √2·MCP does not "
                      "(number wrong)", float((not drawn[0].diverges) + drawn[1].diverges), 0.0,
                      "Δs = 1 − 2 ≠ 0 and 0 − 0 = 0 (exact)")
    vd, two = lookalike.PAPER_PAIRINGS[0].target, lookalike.PAPER_PAIRINGS[0].member
    g2, g3 = (lookalike.pairing_gap(vd, two, 2.0, interval=(0.0, x)).gap for x in (1e2, 1e3))
    growth = np.log(10.0) - 4.0 * (1e-2 - 1e-3)
    yield Measurement(f"gap on [0, 1e3] − gap on [0, 1e2] vs log 10 − 4(1e-2 − 1e-3) = "
                      f"{growth:.5f}", abs((g3 - g2) - growth), 2e-3,
                      "e(t) = −log t + C + 2 log 2 − 4/t + O(t⁻²) (T7.1(d) minus 2 log(1 + t/2)); "
                      "the O(t⁻²) terms are ≤ 1e-3 at t = 100")
    tail_matched = lookalike.matched_pairings()[2]
    # C measured, not quoted: Ω(t) − log t + 1/(2t²) at t = 1e4 (remainder O(t⁻⁴) = 1e-16).
    c = float(VarDrop().value(np.array([1e4]))[0] - np.log(1e4) + 0.5e-8)
    g5, g4 = (lookalike.pairing_gap(vd, tail_matched.member, 1.0, interval=(0.0, x)).gap
              for x in (5.0, 1e4))
    yield Measurement("tail-matched LogSum(e^−C): gap on [0, 1e4] − gap on [0, 5]", g4 - g5,
                      1e-6, "same tail asymptote log t + C: the error tends to 0 in the tail, the "
                      "sup is interior (at 0.85); certification 1e-7")
    kink = tail_matched.scale / tail_matched.member.eps
    yield Measurement(f"its kink slope λ/ε against e^C = {np.exp(c):.5f} and VarDrop's 1: "
                      "|λ/ε − e^C| + |VarDrop Ω'(0+) − 1|",
                      abs(kink - np.exp(c)) + abs(VarDrop().slope_at_zero() - 1.0), 1e-9,
                      "C from VarDrop's own tail (T7.1(d)): the two asymptotes fix λ = 1, "
                      "ε = e^−C, so the slope at 0 is e^C = 3.11, not 1; the tail value at 1e4 "
                      "carries ~1e-15 relative rounding, hence 1e-9 after e^C")


@claim("T10.paper-pairings", "the paper's pairings are the figure's; on [0, 5] VarDrop ≈ "
       "2·LogSum(2) has gap 0.32085 against 0.06726 for the best LogSum, hard concrete ≈ "
       "√2·MCP(½, √2) 0.03227 against 0.00774 for the best MCP", PROOF_T10)
def paper_pairings(ctx: Context) -> Iterator[Measurement]:
    from dualreg.plots import penalties as fig

    drawn = {type(pen).__name__: (pen, lam) for _, pen, lam, kind in fig.methods()
             if kind == "classical"}
    targets = {type(pen).__name__ for _, pen, _, kind in fig.methods() if kind == "dropout"}
    wrong = 0
    for p in lookalike.PAPER_PAIRINGS:
        pen, lam = drawn[type(p.member).__name__]
        wrong += (repr(pen) != repr(p.member)) + (lam != p.scale) + (p.target.name not in targets)
    yield Measurement("pairings that differ from the figure's methods() (member, λ, target)",
                      float(wrong), 0.0, "the same objects and levels: exact")
    (vd, vd_best), (hc, hc_best) = (lookalike.compare(p) for p in lookalike.PAPER_PAIRINGS)
    hc_matched, _, vd_tail = (lookalike.pairing_gap(p.target, p.member, p.scale)
                              for p in lookalike.matched_pairings())
    got = {
        "figure VarDrop ≈ 2·LogSum(2)": vd.gap,
        "figure HardConcrete ≈ √2·MCP(½, √2)": hc.gap,
        "best LogSum for VarDrop": vd_best.gap,
        "best MCP for HardConcrete": hc_best.gap,
        "MCP with HardConcrete's slope and plateau": hc_matched.gap,
        "LogSum with VarDrop's tail asymptote": vd_tail.gap,
    }
    for name, value in got.items():
        yield Measurement(f"{name}: |gap − {MEASURED[name]}| ({value:.6f})",
                          abs(value - MEASURED[name]), 1e-4, MEASURED_WHY)
    yield Measurement("figure gap / best gap, the smaller of the two pairings",
                      min(vd.gap / vd_best.gap, hc.gap / hc_best.gap), 4.0,
                      "documented ratios 4.77 (VarDrop) and 4.17 (hard concrete)", mode="ge")
