"""T4, the η-trick: the identities every penalty must satisfy (proofs/T4_eta_trick.md)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dualreg import duality
from dualreg.penalties import SUBQUADRATIC, catalogue, from_eta_hat
from dualreg.verify.registry import Context, Measurement, claim

PROOF_T4 = "proofs/T4_eta_trick.md"


def _eta_form_penalties():
    """The separable catalogue penalties with an η-form at their default parameters, plus the
    subquadratic representative parameterisations of the catalogue (shapes that differ: ℓp
    across p, both Sparseout gradient conventions, mirrored Y-Drop, ...)."""
    examples = catalogue.select_examples(separable=True, curvature=SUBQUADRATIC)
    return catalogue.unique(
        [e.build() for e in catalogue.select(separable=True, eta_form=True)]
        + [ex.build() for ex in examples])


def _points(ctx: Context) -> np.ndarray:
    n = 12 if ctx.mode == "quick" else 60
    return np.geomspace(1e-2, 20.0, n)


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


@claim("T4.identity", "Ω(w) = ½ min_η [w²/η + f(η)] for every subquadratic penalty", PROOF_T4)
def eta_identity(ctx: Context) -> Iterator[Measurement]:
    w = _points(ctx)
    for p in _eta_form_penalties():
        numeric = duality.value_from_dual(p.dual, w, eta_lo=1e-10, eta_hi=1e14)
        yield Measurement(
            f"{p!r}: max rel |½min_η − Ω|", _rel(numeric, p.value(w)), 1e-6,
            "golden-section minimum over log η converges to ~1e-12; 1e-6 leaves room for "
            "the kinks of piecewise duals",
        )


@claim("T4.eta-hat", "η̂(w) = |w|/Ω'(|w|) (central differences of Ω)", PROOF_T4)
def eta_hat_fd(ctx: Context) -> Iterator[Measurement]:
    w = _points(ctx)
    for p in _eta_form_penalties():
        fd = duality.eta_hat_from_value(p.value, w)
        closed = p.eta_hat(w)
        finite = np.isfinite(closed) & np.isfinite(fd)
        # Skip the breakpoints of piecewise penalties, where Ω' jumps.
        yield Measurement(
            f"{p!r}: max rel |η̂ − |w|/Ω'_fd|", _rel(fd[finite], closed[finite]), 1e-5,
            "central differences with h = 1e-5|w| have O(h²) ≈ 1e-10 truncation and ~1e-11 "
            "rounding error; 1e-5 also covers points within h of a breakpoint",
        )


KEEP_LAMS = (0.05, 0.7, 3.0)  # λ of the keep-probability checks
KEEP_C_SPREAD = 20.0  # column scales c spread over this factor (geometric)


def _independent_eta_hat(p, w: np.ndarray) -> np.ndarray:
    """η̂(w) = |w|/Ω'(|w|) with Ω' by central differences of the library's ``value``
    (h = 1e-5|w|; the library's ``eta_hat`` is not called)."""
    return duality.eta_hat_from_value(p.value, w)


@claim("T4.keep-prob", "keep_prob(w, λ, c) implements λΩ: the Bernoulli mask variance "
       "(1−α)/α times c w² is λw²/η̂(w) (η̂ from Ω by central differences), and the "
       "enumerated expected dropout loss is L + λΣ w_j²/(2η̂_j), at unequal c and several λ",
       PROOF_T4)
def keep_prob_implements_penalty(ctx: Context) -> Iterator[Measurement]:
    from dualreg import datasets, families
    from dualreg.verify.checks import (
        ENUM_WHY,
        bernoulli_patterns,
        mean_loss,
        pattern_probabilities,
        rel_err,
    )

    w = _points(ctx)
    c = np.geomspace(1.0, KEEP_C_SPREAD, w.size)[ctx.rng(4).permutation(w.size)]
    pens = _eta_form_penalties()
    for p in pens:
        fd = _independent_eta_hat(p, w)
        worst = 0.0
        for lam in KEEP_LAMS:
            alpha = p.keep_prob(w, lam, c)
            # (1 − α)/α loses digits to 1 − α near α = 1 (relative error ≈ 1e-16/(1 − α)):
            # compare where 1 − α ≥ 1e-6; η̂ = ∞ (flat Ω, α = 1) gives 0 on both sides.
            ok = np.isfinite(fd) & (fd > 0) & (alpha <= 1 - 1e-6) & (alpha > 0)
            if not np.any(ok):
                continue
            with np.errstate(divide="ignore"):
                mask_var = c * w**2 * (1.0 - alpha) / alpha
            target = lam * w**2 / fd
            worst = max(worst, float(np.max(np.abs(mask_var - target)[ok] / target[ok])))
        yield Measurement(
            f"{p!r}: max rel |c w²(1−α)/α − λw²/η̂_fd|, λ ∈ {KEEP_LAMS}, c spread "
            f"{KEEP_C_SPREAD:g}", worst, 1e-5,
            "η̂ by central differences (h = 1e-5|w|): O(h²) ≈ 1e-10 truncation and ~1e-11 "
            "rounding, 1e-5 also covers points within h of a breakpoint; 1 − α ≥ 1e-6 keeps "
            "the odds' cancellation ≤ 1e-10. A keep probability without c is off by up to "
            f"{KEEP_C_SPREAD:g}×, one with λ/2 by 2×")
    # Exact expectation over all 2^d weight masks s = b/α on a design with unequal columns.
    rng = ctx.rng(403)
    d, n = (8, 50) if ctx.mode == "full" else (6, 40)
    X = datasets.gaussian_design(rng, n, d, unit_scale=True,
                                 scales=datasets.geometric_scales(d, KEEP_C_SPREAD))
    y = datasets.response(rng, X @ rng.normal(size=d))
    cx = families.column_scales(X)
    wv = datasets.signed_magnitudes(rng, d, 0.2, 2.0)
    M = bernoulli_patterns(d)
    for p in pens[:: 1 if ctx.mode == "full" else 3]:
        fd = _independent_eta_hat(p, wv)
        worst = 0.0
        for lam in KEEP_LAMS:
            keep = p.keep_prob(wv, lam, cx)
            if np.any(keep <= 0):
                continue
            P = pattern_probabilities(M, keep)
            loss = P @ mean_loss((M / keep * wv) @ X.T, y)
            with np.errstate(divide="ignore"):
                ridge = 0.5 * lam * np.sum(np.where(np.isinf(fd), 0.0, wv**2 / fd))
            worst = max(worst, rel_err(loss, families.loss(X, y, wv) + ridge))
        yield Measurement(f"{p!r}, d={d}: enumerated E L(s⊙w) at α = keep_prob(w, λ, c) vs "
                          f"L + λΣw²/(2η̂_fd), λ ∈ {KEEP_LAMS}",
                          worst, 1e-6, ENUM_WHY + "; η̂ by central differences adds ≤ 1e-10 "
                          "relative (1e-6 also covers a weight within h of a breakpoint)")


@claim("T4.classification",
       "every catalogue penalty has the curvature class docs/conventions.md states", PROOF_T4)
def classification(ctx: Context) -> Iterator[Measurement]:
    for entry in catalogue.select(separable=True):
        # The default and one parameterisation of every other documented class.
        variants = [ex.build() for ex in entry.one_per_class()]
        for p in variants:
            found = duality.classify(p, t_max=10.0)
            yield Measurement(
                f"{p!r}: declared {p.curvature_class}, certificate {found}",
                0.0 if found.curvature_class == p.curvature_class else 1.0, 0.0,
                "the class is discrete: the certificate must agree exactly",
            )
    rule = duality.classify(from_eta_hat(lambda s: 2.0 + np.sin(3.0 * s), name="2+sin3t"))
    yield Measurement(
        f"η̂ = 2 + sin 3t: certificate {rule}",
        0.0 if rule.curvature_class == "indefinite" else 1.0, 0.0,
        "a non-monotone rule must be neither sub- nor superquadratic",
    )


# =========================================================================== T4.dual-pairs
# Each row of the table of proofs/T4_eta_trick.md, written symbolically: the pieces of Ω and
# η̂ (on t = |w|), the pieces of the inverse w_η = η̂⁻¹(η) and of f, and the identities that
# glue them (continuity, limits). Ranges are callables of the numeric parameters.


def _dual_pair_rows():
    import sympy as sp

    t, eta = sp.symbols("t eta", positive=True)
    oo = sp.oo
    rows = []

    q, m = sp.symbols("q m", positive=True)
    rows.append(dict(
        name="Power(q, m) (ℓp, ℓ1, Sparseout)",
        params={q: (0.1, 1.9), m: (0.1, 3.0)},
        t_pieces=[(m * t**q / q, t ** (2 - q) / m, lambda P: (0.0, oo))],
        eta_pieces=[((m * eta) ** (1 / (2 - q)), m * (m * eta) ** (q / (2 - q)) / (q / (2 - q)),
                     lambda P: (0.0, oo), 0, True)],
        extras=[],
        instances=[("L1", {q: 1, m: 1}), ("Lp", {q: 0.5, m: 1}), ("Lp", {q: 1.5, m: 1}),
                   ("Sparseout", {q: 1.5, m: 0.3 / 0.7}),
                   ("Sparseout-autograd", {q: 0.5, m: 0.25 * 0.3 / 0.7})],
    ))
    rows.append(dict(
        name="Ridge",
        params={},
        t_pieces=[(t**2 / 2, sp.Integer(1), lambda P: (0.0, oo))],
        eta_pieces=[(sp.Integer(0), sp.Integer(0), lambda P: (0.0, 1.0), 0, False)],
        infinite=lambda P: (1.0, oo),
        extras=[],
        instances=[("Ridge", {})],
    ))
    eps = sp.Symbol("epsilon", positive=True)
    w_log = (sp.sqrt(eps**2 + 4 * eta) - eps) / 2
    f_log = 2 * sp.log(w_log + eps) - 1 + eps * w_log / eta
    rows.append(dict(
        name="LogSum(ε)",
        params={eps: (0.1, 3.0)},
        t_pieces=[(sp.log(t + eps), t * (t + eps), lambda P: (0.0, oo))],
        eta_pieces=[(w_log, f_log, lambda P: (0.0, oo), 0, True)],
        extras=[("f(0+) = 2 log ε", sp.limit(f_log, eta, 0, "+") - 2 * sp.log(eps))],
        instances=[("LogSum", {eps: 1.0}), ("LogSum", {eps: 0.3})],
    ))
    f_log2 = 2 * sp.log(2 * eta) - 2 + eps / eta
    rows.append(dict(
        name="Log2Sum(ε)",
        params={eps: (0.1, 3.0)},
        t_pieces=[(sp.log(t**2 + eps), (t**2 + eps) / 2, lambda P: (0.0, oo))],
        eta_pieces=[(sp.Integer(0), 2 * sp.log(eps), lambda P: (0.0, P["epsilon"] / 2), 0, False),
                    (sp.sqrt(2 * eta - eps), f_log2, lambda P: (P["epsilon"] / 2, oo), 0, True)],
        extras=[("f continuous at ε/2", f_log2.subs(eta, eps / 2) - 2 * sp.log(eps))],
        instances=[("Log2Sum", {eps: 1.0}), ("Log2Sum", {eps: 0.5})],
    ))
    b = sp.Symbol("b", positive=True)
    f_mcp = b * eta / (eta + b)
    rows.append(dict(
        name="MCP(b)",
        params={b: (0.2, 4.0)},
        t_pieces=[(t - t**2 / (2 * b), b * t / (b - t), lambda P: (0.0, P["b"])),
                  (b / 2, oo, lambda P: (P["b"], oo))],
        eta_pieces=[(b * eta / (b + eta), f_mcp, lambda P: (0.0, oo), 0, True)],
        extras=[("f(∞) = 2 sup Ω", sp.limit(f_mcp, eta, oo) - b),
                ("Ω continuous at b", (t - t**2 / (2 * b)).subs(t, b) - b / 2)],
        instances=[("MCP", {b: 3.0}), ("MCP", {b: 1.0})],
    ))
    a, s = sp.symbols("a s", positive=True)
    mid = (2 * a * s * t - t**2 - s**2) / (2 * s * (a - 1))
    f_scad = s * ((a + 1) * eta - s) / (eta + (a - 1) * s)
    rows.append(dict(
        name="SCAD(a, s)",
        params={a: (1.5, 5.0), s: (0.2, 2.0)},
        t_pieces=[(t, t, lambda P: (0.0, P["s"])),
                  (mid, s * (a - 1) * t / (a * s - t), lambda P: (P["s"], P["a"] * P["s"])),
                  (s * (a + 1) / 2, oo, lambda P: (P["a"] * P["s"], oo))],
        eta_pieces=[(eta, eta, lambda P: (0.0, P["s"]), 0, True),
                    (a * s * eta / (s * (a - 1) + eta), f_scad, lambda P: (P["s"], oo), 1, True)],
        extras=[("f continuous at s", f_scad.subs(eta, s) - s),
                ("f(∞) = 2 sup Ω", sp.limit(f_scad, eta, oo) - s * (a + 1)),
                ("Ω continuous at s", mid.subs(t, s) - s),
                ("Ω continuous at as", mid.subs(t, a * s) - s * (a + 1) / 2)],
        instances=[("SCAD", {a: 3.7, s: 1.0}), ("SCAD", {a: 2.5, s: 0.6})],
    ))
    ra, gap, tau = sp.symbols("r_a Delta tau", positive=True)
    rb = ra + gap  # subquadratic: r_b > r_a
    rows.append(dict(
        name="TwoLevel(r_b > r_a, τ) (capped ridge, targeted, mirrored Y-Drop)",
        params={ra: (0.1, 2.0), gap: (0.1, 2.0), tau: (0.2, 2.0)},
        t_pieces=[(rb * t**2 / 2, 1 / rb, lambda P: (0.0, P["tau"])),
                  (rb * tau**2 / 2 + ra * (t**2 - tau**2) / 2, 1 / ra,
                   lambda P: (P["tau"], oo))],
        eta_pieces=[(sp.Integer(0), sp.Integer(0), lambda P: (0.0, 1 / P["r_b"]), 0, False),
                    # η̂ jumps from 1/r_b to 1/r_a at τ: the generalised inverse is τ throughout.
                    (tau, tau**2 * (rb - 1 / eta), lambda P: (1 / P["r_b"], _inv(P["r_a"])),
                     1, False)],
        infinite=lambda P: (_inv(P["r_a"]), oo),
        extras=[("f continuous at 1/r_b", (tau**2 * (rb - 1 / eta)).subs(eta, 1 / rb))],
        instances=[("CappedL2", {ra: 0, gap: 1.0, tau: 1.0}),
                   ("CappedL2", {ra: 0, gap: 1.0, tau: 0.6}),
                   ("TargetedDropout", {ra: 0, gap: 0.3 / 0.7, tau: 0.8}),
                   ("TwoLevelQuadratic", {ra: 0.5, gap: 1.5, tau: 1.3}),
                   ("YDrop-mirrored", {ra: 0.1 / 0.9, gap: 1.0 - 0.1 / 0.9, tau: 1.0})],
    ))
    f_st = 2 - (2 * (1 + sp.log(eta)) + sp.log(eta) ** 2) / eta
    rows.append(dict(
        name="Standout",
        params={},
        t_pieces=[(1 - (1 + t) * sp.exp(-t), sp.exp(t), lambda P: (0.0, oo))],
        eta_pieces=[(sp.Integer(0), sp.Integer(0), lambda P: (0.0, 1.0), 0, False),
                    (sp.log(eta), f_st, lambda P: (1.0, oo), 0, True)],
        extras=[("f continuous at 1", f_st.subs(eta, 1)),
                ("f(∞) = 2 sup Ω", sp.limit(f_st, eta, oo) - 2)],
        instances=[("Standout", {})],
    ))
    return t, eta, rows


def _numeric_params(values: dict) -> dict:
    """{name: float} from {symbol: value}, with r_b = r_a + Δ for the two-level rows."""
    P = {str(k): float(v) for k, v in values.items()}
    if "r_a" in P:
        P["r_b"] = P["r_a"] + P["Delta"]
    return P


def _inv(r: float) -> float:
    return float("inf") if r == 0 else 1.0 / r


def _dual_pair_library(name: str, P: dict):
    from dualreg.penalties import (
        L1,
        MCP,
        SCAD,
        CappedL2,
        Log2Sum,
        LogSum,
        Lp,
        Ridge,
        Sparseout,
        Standout,
        TargetedDropout,
        TwoLevelQuadratic,
        YDrop,
    )

    build = {
        "L1": lambda: L1(),
        "Lp": lambda: Lp(P["q"]),
        "Sparseout": lambda: Sparseout(P["q"], 0.3, "stop"),
        "Sparseout-autograd": lambda: Sparseout(P["q"], 0.3, "autograd"),
        "Ridge": lambda: Ridge(),
        "LogSum": lambda: LogSum(P["epsilon"]),
        "Log2Sum": lambda: Log2Sum(P["epsilon"]),
        "MCP": lambda: MCP(a=P["b"], scale=1.0),
        "SCAD": lambda: SCAD(P["a"], P["s"]),
        "CappedL2": lambda: CappedL2(P["tau"]),
        "TargetedDropout": lambda: TargetedDropout(0.3, P["tau"]),
        "TwoLevelQuadratic": lambda: TwoLevelQuadratic(P["r_b"], P["r_a"], P["tau"]),
        "YDrop-mirrored": lambda: YDrop(0.1, 0.5, P["tau"], "bucket", mirrored=True),
        "Standout": lambda: Standout(),
    }
    return build[name]()


def _sample_in(rng: np.random.Generator, lo: float, hi: float, k: int) -> np.ndarray:
    """``k`` points strictly inside (lo, hi), log-uniform; an infinite end is capped at
    max(10·lo, 20)."""
    hi = float(hi) if np.isfinite(float(hi)) else max(10.0 * lo, 20.0)
    lo = max(float(lo), 1e-3 * hi, 1e-3)
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size=k)) * (1 - 1e-9) + 1e-12


@claim("T4.dual-pairs",
       "sympy: for ℓp/Power, ridge, LogSum, Log²Sum, MCP, SCAD, the two-level quadratics and "
       "standout, η̂ = t/Ω', η̂(w_η) = η, f = 2Ω(w_η) − w_η²/η, f' = (w_η/η)²; the library's "
       "Ω, η̂, f equal these forms", PROOF_T4)
def dual_pairs(ctx: Context) -> Iterator[Measurement]:
    import mpmath
    import sympy as sp

    from dualreg.verify.checks import (
        SYMBOLIC_TOL,
        SYMBOLIC_WHY,
        high_precision,
        symbolic_residual,
    )

    t, eta, rows = _dual_pair_rows()
    rng = ctx.rng(401)
    k_lib = 8 if ctx.mode == "quick" else 40
    for row in rows:
        params = row["params"]

        def sampler(var_range=None, params=params):
            """A lazy list of 20 points: random parameters, and t or η inside the piece's
            range for those parameters (built only if sympy cannot simplify)."""
            def build():
                pts = []
                for _ in range(20):
                    pt = {sym: high_precision(rng.uniform(lo, hi))
                          for sym, (lo, hi) in params.items()}
                    if var_range is not None:
                        var, rng_fn = var_range
                        lo, hi = rng_fn(_numeric_params(pt))
                        pt[var] = high_precision(_sample_in(rng, float(lo), float(hi), 1)[0])
                    pts.append(pt)
                return pts
            return build

        residuals: list[tuple[float, str]] = []
        for i, (omega, eh, rng_t) in enumerate(row["t_pieces"]):
            samples = sampler((t, rng_t))
            if eh is sp.oo:  # flat piece: Ω' = 0, η̂ = ∞
                residuals.append((symbolic_residual(sp.diff(omega, t), samples),
                                  f"(i) Ω' = 0 on t-piece {i}"))
            else:
                residuals.append((symbolic_residual(t / sp.diff(omega, t) - eh, samples),
                                  f"(i) t/Ω' = η̂ on t-piece {i}"))
        for i, (w_eta, f, rng_e, tp, inverse) in enumerate(row["eta_pieces"]):
            samples = sampler((eta, rng_e))
            omega, eh, _ = row["t_pieces"][tp]
            if inverse:
                residuals.append((symbolic_residual(eh.subs(t, w_eta) - eta, samples),
                                  f"(ii) η̂(w_η) = η on η-piece {i}"))
            quad = w_eta**2 / eta
            residuals.append((symbolic_residual(2 * omega.subs(t, w_eta) - quad - f, samples),
                              f"(iii) f = 2Ω(w_η) − w_η²/η on η-piece {i}"))
            residuals.append((symbolic_residual(sp.diff(f, eta) - (w_eta / eta) ** 2, samples),
                              f"(iv) f' = (w_η/η)² on η-piece {i}"))
        for label, expr in row["extras"]:
            residuals.append((symbolic_residual(expr, sampler()), label))
        worst, where = max(residuals, key=lambda r: r[0])
        yield Measurement(
            f"{row['name']}: {len(residuals)} identities, sympy"
            + (f" (worst: {where})" if worst > 0 else ""),
            worst, SYMBOLIC_TOL, SYMBOLIC_WHY)

        # The library against the symbolic forms, in 30-digit arithmetic at float points.
        for lib_name, values in row["instances"]:
            P = _numeric_params(values)
            pen = _dual_pair_library(lib_name, P)
            subs = {sym: sp.Float(v, 30) for sym, v in values.items()}
            errs: list[tuple[float, str]] = []

            def compare(expr, var, xs, got, label, subs=subs, errs=errs):
                fn = sp.lambdify(var, expr.subs(subs), modules="mpmath")
                with mpmath.workdps(30):
                    exact = np.array([float(fn(mpmath.mpf(float(x)))) for x in xs])
                err = np.abs(np.asarray(got, float) - exact) / np.maximum(1.0, np.abs(exact))
                errs.append((float(np.max(err)), label))

            for omega, eh, rng_t in row["t_pieces"]:
                lo, hi = rng_t(P)
                ts = _sample_in(rng, float(lo), float(hi), k_lib)
                compare(omega, t, ts, pen.value(ts), "Ω")
                if eh.subs(subs) in (sp.oo, sp.zoo):  # flat piece (also 1/r_a at r_a = 0)
                    errs.append((float(np.sum(np.isfinite(pen.eta_hat(ts)))), "η̂ = ∞"))
                else:
                    compare(eh, t, ts, pen.eta_hat(ts), "η̂")
            for _, f, rng_e, _, _ in row["eta_pieces"]:
                lo, hi = rng_e(P)
                es = _sample_in(rng, float(lo), float(hi), k_lib)
                compare(f, eta, es, pen.dual(es), "f")
            if "infinite" in row:
                lo, hi = row["infinite"](P)
                if np.isfinite(lo):
                    es = _sample_in(rng, lo * (1 + 1e-6), float(hi), k_lib)
                    errs.append((float(np.sum(np.isfinite(pen.dual(es)))), "f = +∞"))
            worst, where = max(errs, key=lambda r: r[0])
            yield Measurement(
                f"library {pen!r}: Ω, η̂, f vs the symbolic forms (worst: {where})", worst,
                1e-12, "float64 closed forms against 30-digit values: a few ulps, amplified "
                "≤ 100× by cancellation (e.g. 2 − (…)/η near η = 1); relative to max(1, |f|)")


# =========================================================================== T4.conversions
def _conversion_penalties(ctx: Context):
    """(penalty, largest η to compare f at, catalogue example) for every separable
    subquadratic penalty of the catalogue (defaults and examples); the table-based (``slow``)
    ones only in full mode (their Ω costs microseconds per point). f is compared where the
    documented f is the biconjugate (hard concrete: η ≤ 2.3 < η*, proofs/T7)."""
    examples = [e.default for e in catalogue.select(separable=True, curvature=SUBQUADRATIC)]
    examples += catalogue.select_examples(separable=True, curvature=SUBQUADRATIC)
    out, seen = [], set()
    for ex in examples:
        p = ex.build()
        if repr(p) in seen or (ex.slow and ctx.mode != "full"):
            continue
        seen.add(repr(p))
        up_to = ex.biconjugate_up_to
        out.append((p, up_to if np.isfinite(up_to) else None, ex))
    return out


@claim("T4.conversions", "the generic converters of dualreg.duality reproduce the closed "
       "forms: η̂ → Ω (quadrature), Ω → f (search), η̂ → f (bisection), Ω → f → Ω (two "
       "searches); α ↔ η ↔ σ² maps are inverse", PROOF_T4)
def conversions(ctx: Context) -> Iterator[Measurement]:
    quick = ctx.mode == "quick"
    w = np.geomspace(1e-2, 20.0, 12 if quick else 40)
    # The nested search Ω → f → Ω costs ~0.4 s of Python per penalty whatever the number of
    # points (seconds for the table-based ones): in quick mode it runs on the first penalty
    # without kinks away from 0 and on the first with some (Ω' jumps or η̂ blows up there),
    # in full mode on every closed form (not the slow, table-based ones).
    pens = _conversion_penalties(ctx)
    smooth = next(p for p, _, ex in pens if not ex.kinks_of(p))
    kinked = next(p for p, _, ex in pens if ex.kinks_of(p))
    for p, eta_max, ex in pens:
        eta = np.geomspace(1e-2, eta_max or 20.0, 12 if quick else 40)
        f = p.dual(eta)
        eta, f = eta[np.isfinite(f)], f[np.isfinite(f)]
        results = {
            "η̂ → Ω": _rel(duality.value_from_eta_hat(p.eta_hat, w) + p.value(0.0), p.value(w)),
            "Ω → f": _rel(duality.dual_from_value(p.value, eta), f),
            "η̂ → f": _rel(duality.dual_from_eta_hat(p.eta_hat, p.value, eta), f),
        }
        if (p is smooth or p is kinked) if quick else not ex.slow:
            results["Ω → f → Ω"] = _rel(duality.value_from_dual(
                lambda e, p=p: duality.dual_from_value(p.value, e), w,
                eta_lo=1e-10, eta_hi=1e14), p.value(w))
        where = max(results, key=results.get)
        yield Measurement(
            f"{p!r}: worst of {', '.join(results)} is {where}", results[where], 1e-6,
            "quadrature (rtol 1e-14), golden-section searches (~1e-12) and bisection (1e-15): "
            "≤ 1e-11 on smooth pieces; 1e-6 leaves room for the kinks of piecewise duals",
        )
    rng = ctx.rng(402)
    eta = np.exp(rng.uniform(-8, 8, size=200))
    lam, c = float(rng.uniform(0.1, 3.0)), rng.uniform(0.2, 2.0, size=200)
    alpha = duality.eta_to_keep_prob(eta, lam, c)
    sigma2 = duality.eta_to_noise_variance(eta, lam, c)
    errs = [
        _rel(duality.noise_variance_to_eta(sigma2, lam, c), eta),
        # The Bernoulli odds of the rule are the Gaussian variance: one mask variance v.
        _rel(duality.drop_odds(alpha), sigma2),
    ]
    yield Measurement(f"σ² = λ/(cη) round trip and Bernoulli odds (1−α)/α = σ² at λ={lam:.3g}",
                      max(errs), 1e-9, "rational maps in float64; (1−α)/α loses "
                      "digits to 1 − α near α = 1 (≤ 1e-16/(1−α) ≤ 1e-10 here)")
