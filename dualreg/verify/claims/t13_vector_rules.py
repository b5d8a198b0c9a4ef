"""T13, the vector η-trick: which rank rules have an effective penalty
(proofs/T13_vector_eta_trick.md).

The library (:mod:`dualreg.vector_rules`, :mod:`dualreg.penalties.ranked`) integrates the rule's
mean field adaptively and builds the ordered-ridge penalties. Every check here recomputes what
it judges another way: circulations from the jump formula of T13.2 (the potentials' difference
at the crossing points), and from masks sampled by the real torch layer; penalties by
enumerating subsets; minimisers by enumerating the top (or targeted) set; gradients by central
differences.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
from scipy import optimize

from dualreg import vector_rules as vr
from dualreg.penalties.ranked import TopHalfRidge, TrimmedRidge
from dualreg.verify.checks import (
    band,
    band_why,
    full,
    gram,
    mc_limit,
    mc_why,
    one_thread,
    planted_response,
    power,
    spread_design,
    spread_row,
    train,
    z_scores,
)
from dualreg.verify.registry import Context, Measurement, claim

PROOF_T13 = "proofs/T13_vector_eta_trick.md"
P_LOW, P_HIGH = 0.1, 0.5
R_LOW, R_HIGH = P_LOW / (1 - P_LOW), P_HIGH / (1 - P_HIGH)


def circle(centre, radius: float, sides: int = 64) -> np.ndarray:
    """A regular polygon (sides, 2), vertex 0 at angle 0, counter-clockwise."""
    ang = 2 * np.pi * np.arange(sides) / sides
    return np.asarray(centre, float) + radius * np.stack([np.cos(ang), np.sin(ang)], -1)


def jump_circulation(c, kappa, radius: float, centre: float = 1.0) -> float:
    r"""T13.2's formula for two units: the counter-clockwise circle about (t₀, t₀) crosses the
    interface κ₁w₁ = κ₂w₂ (κ equal: the diagonal) at t₀ ± a, a = radius/√2, leaving region A
    (unit 1 on top) at P = t₀ + a and re-entering at Q = t₀ − a, so
    Γ = D(P) − D(Q), D(t) = φ_A − φ_B = ½Δr(c₁ − c₂)t²."""
    assert kappa[0] == kappa[1]
    a = radius / np.sqrt(2.0)
    D = lambda t: 0.5 * (R_HIGH - R_LOW) * (c[0] - c[1]) * t * t  # noqa: E731
    return D(centre + a) - D(centre - a)


def two_unit_design() -> np.ndarray:
    """n = 8 rows with c = mean x² = (1, 4) and s = mean|x| = (1, 1): column 1 is ±1, column 2
    is ±4 on two rows and 0 elsewhere."""
    x1 = np.array([1, -1, 1, -1, 1, 1, -1, -1], float)
    x2 = np.array([4, -4, 0, 0, 0, 0, 0, 0], float)
    return np.stack([x1, x2], 1)


def layer_field(layer, X: np.ndarray, w: np.ndarray, draws: int, seed: int):
    r"""The real layer's penalty field at each row of ``w`` (P, d) by Monte Carlo:
    mean over ``draws`` masks of the sampled gradient of L(s ⊙ x · w), minus ∇L(w) (exact);
    returns (mean, SE), each (P, d). Rates are the layer's own (its rank rule on the batch)."""
    import torch

    torch.manual_seed(seed)
    Xt = torch.as_tensor(X)
    y = torch.zeros(X.shape[0], dtype=torch.float64)
    means, ses = [], []
    for point in w:
        W = torch.tensor(np.tile(point, (draws, 1)), requires_grad=True)
        theta = layer.noisy_linear(Xt, W)  # (draws, n), one mask per draw, sample and unit
        loss = 0.5 * ((y - theta) ** 2).mean(-1).sum()
        (g,) = torch.autograd.grad(loss, W)
        g = g.numpy() - X.T @ (X @ point) / X.shape[0]
        means.append(g.mean(0))
        ses.append(g.std(0, ddof=1) / np.sqrt(draws))
    return np.array(means), np.array(ses)


@claim("T13.circulation",
       "rank-based Y-Drop's mean field with c/κ² unequal (c = (1, 4), κ = (1, 1)) has a nonzero "
       "circulation (jump formula; the library's adaptive quadrature; masks sampled by the "
       "torch YDrop layer, in SE); equal c/κ² (Y-Drop) and equal c (targeted) are conservative "
       "on random loops, rank targeted dropout with spread c is not",
       PROOF_T13)
def circulation_claim(ctx: Context) -> Iterator[Measurement]:
    from dualreg.torch import YDrop

    c, kappa = np.array([1.0, 4.0]), np.array([1.0, 1.0])
    rule = vr.RankRule.ydrop(P_LOW, P_HIGH, c, kappa)
    loop = circle([1.0, 1.0], 0.5)
    gamma, err = (float(v[0]) for v in vr.circulation(rule.field, loop[None]))
    exact = jump_circulation(c, kappa, 0.5)
    yield Measurement(f"c = (1, 4), κ = (1, 1): |Γ_library − Γ_jump| (Γ_jump = {exact:.6f})",
                      abs(gamma - exact), 1e-9,
                      "the field is linear between the two crossings: Gauss is exact on the "
                      "smooth panels and bisection confines each jump to < 1e-13 of the loop; "
                      "a wrong jump (c ≡ 1, κ = √c ranking, a wrong Δr) moves Γ by O(1)")
    yield Measurement("c = (1, 4): |Γ| / (its quadrature error)", abs(gamma) / err, 1e6,
                      "nonzero by a million quadrature errors: a conservative field gives a "
                      "ratio ≲ 10 (its Γ is the quadrature error itself)", mode="ge")
    # The same circulation from the real layer: masks sampled at Gauss nodes of each side (the
    # crossings are vertices, so 2 nodes per side are exact for the piecewise-linear field).
    X = two_unit_design()
    layer = YDrop(P_LOW, P_HIGH).double().train()
    closed = np.concatenate([loop, loop[:1]])
    t, wts = np.polynomial.legendre.leggauss(2)
    t, wts = (t + 1) / 2, wts / 2
    starts, steps = closed[:-1], np.diff(closed, axis=0)
    nodes = (starts[:, None, :] + t[None, :, None] * steps[:, None, :]).reshape(-1, 2)
    draws = 4000 if full(ctx) else 1000
    with one_thread():
        g, se = layer_field(layer, X, nodes, draws, int(ctx.rng(1301).integers(2**31)))
    coef = (wts[None, :, None] * steps[:, None, :]).reshape(-1, 2)
    mc = float(np.sum(g * coef))
    mc_se = float(np.sqrt(np.sum((se * coef) ** 2)))
    yield Measurement(f"torch YDrop, {draws} masks per node: |Γ_MC − Γ_jump| / SE "
                      f"[Γ_MC = {mc:.4f} ± {mc_se:.4f}]", abs(mc - exact) / mc_se, mc_limit(1),
                      mc_why(1) + " (a sum of independent node means: normal)")
    yield Measurement("torch YDrop: |Γ_MC| / SE (no penalty: the circulation is resolved)",
                      abs(mc) / mc_se, 10.0,
                      "power: a conservative field would read ~N(0, 1) here; 10 SE leaves "
                      "the false-pass probability < 1e-20", mode="ge")
    rng = ctx.rng(1302)
    loops = 64 if full(ctx) else 16
    c6 = np.geomspace(1.0, 10.0, 6)[rng.permutation(6)]
    cases = {
        "Y-Drop, c spread 10, κ = √c (equal c/κ²)": (vr.RankRule.ydrop(P_LOW, P_HIGH, c6,
                                                                       np.sqrt(c6)), True),
        "targeted, c ≡ 1 (κ ≡ 1)": (vr.RankRule.targeted(0.5, 0.5, np.ones(6)), True),
        "targeted, c spread 10 (κ ≡ 1)": (vr.RankRule.targeted(0.5, 0.5, c6), False),
        "Y-Drop, c spread 10, κ ≡ 1": (vr.RankRule.ydrop(P_LOW, P_HIGH, c6, np.ones(6)), False),
    }
    for name, (r, conservative) in cases.items():
        cert = vr.has_effective_penalty(r.field, 6, rng, loops=loops)
        if conservative:
            yield Measurement(f"{name}: max |Γ| over {loops} random loops / tol "
                              f"[{cert.max_circulation:.2g} ± {cert.error:.1g}]",
                              cert.max_circulation / cert.tol, 1.0,
                              "zero within 10 quadrature errors + 1e-12 of the loop's work: "
                              "rounding and the panels holding a jump; a jump with a "
                              "tangential part leaves O(Δr·c·w²) ≫ tol")
        else:
            yield Measurement(f"{name}: max |Γ| over {loops} random loops / tol",
                              cert.max_circulation / cert.tol, 1e6,
                              "the circulation of T13.2's tangential jump, ≥ a million times "
                              "the quadrature tolerance on some loop", mode="ge")


@claim("T13.penalty-gradient",
       "the ordered ridges are the rank rules' potentials: TopHalfRidge = ½r_low Σcw² + ½Δr·(top "
       "⌈d/2⌉ of cw²) and TrimmedRidge = ½r·(bottom k of cw²) equal subset enumeration, their "
       "central-difference gradients equal the rule's field, the line integral of the field "
       "from 0 equals them; the certificate's class is super / sub",
       PROOF_T13)
def penalty_gradient(ctx: Context) -> Iterator[Measurement]:
    rng = ctx.rng(1311)
    d = 6
    c = np.geomspace(0.3, 3.0, d)[rng.permutation(d)]
    kappa = np.sqrt(c) * 0.7  # equal c/κ² (any common factor)
    pairs = {
        "TopHalfRidge": (TopHalfRidge(P_LOW, P_HIGH, c), vr.RankRule.ydrop(P_LOW, P_HIGH, c,
                                                                           kappa)),
        "TrimmedRidge": (TrimmedRidge(0.5, 3, c), vr.RankRule.targeted(0.5, 0.5, c, kappa)),
    }
    W = rng.normal(size=(40, d)) * 1.5
    m = d - d // 2
    for name, (pen, rule) in pairs.items():
        r = R_HIGH - R_LOW if name == "TopHalfRidge" else 1.0
        brute = []
        for w in W:
            q = c * w * w
            if name == "TopHalfRidge":
                top = max(sum(q[list(s)]) for s in itertools.combinations(range(d), m))
                brute.append(0.5 * R_LOW * q.sum() + 0.5 * r * top)
            else:
                brute.append(0.5 * r * min(sum(q[list(s)])
                                           for s in itertools.combinations(range(d), 3)))
        brute = np.array(brute)
        yield Measurement(f"{name}: max |total − subset enumeration| / max|total|",
                          float(np.max(np.abs(pen.total(W) - brute)) / np.max(brute)), 1e-14,
                          "the same sums in another order: rounding")
        h = 1e-6
        fd = np.stack([(pen.total(W + h * e) - pen.total(W - h * e)) / (2 * h)
                       for e in np.eye(d)], -1)
        field = rule.field(W)
        yield Measurement(f"{name}: max |central difference of total − rule field| / max|field|",
                          float(np.max(np.abs(fd - field)) / np.max(np.abs(field))), 1e-7,
                          "Ω is quadratic on each rank cone, so central differences are exact "
                          "up to rounding (~1e-16/1e-6 = 1e-10) unless a step crosses a tie "
                          "(gaps between c w² are ≫ 1e-6 for gaussian draws)")
        pot = vr.potential(rule.field, W[:8])
        yield Measurement(f"{name}: max |∫₀¹ G(tw)·w dt − total| / max|total|",
                          float(np.max(np.abs(pot - pen.total(W[:8]))) / np.max(pen.total(W[:8]))),
                          1e-10, "adaptive quadrature of a piecewise-linear integrand: rounding "
                          "and the panels at the ≤ d−1 rank changes along the ray")
        cert = vr.has_effective_penalty(rule.field, d, rng, loops=8)
        want = "superquadratic" if name == "TopHalfRidge" else "subquadratic"
        yield Measurement(f"{name}: certificate class ≠ {want} / declared ≠ {want} (count)",
                          float(cert.curvature_class != want) + float(pen.curvature_class != want),
                          0.0, "discrete: a monotone field (θ-pairs) and the order of ρ")


def sign_design(rng: np.random.Generator, n: int, sigma: np.ndarray) -> np.ndarray:
    """±σ_j entries (random signs): c_j = σ_j² and mean|x_j| = σ_j exactly, so c/κ² ≡ 1."""
    return rng.choice([-1.0, 1.0], size=(n, sigma.size)) * sigma


def top_half_minimiser(H, b, c):
    """Enumerate the top set T (|T| = ⌈d/2⌉) of the convex F = L + TopHalfRidge: the ridge
    with r_high on T whose top ⌈d/2⌉ of c w² is T. Returns (w, number consistent, margin)."""
    d = b.size
    m = d - d // 2
    found = []
    for T in itertools.combinations(range(d), m):
        r = np.full(d, R_LOW)
        r[list(T)] = R_HIGH
        w = np.linalg.solve(H + np.diag(c * r), b)
        q = c * w * w
        if set(np.argsort(q)[d - m:]) == set(T):
            found.append((w, float(np.sort(q)[d - m] / np.sort(q)[d - m - 1])))
    return found[0][0], len(found), found[0][1]


@claim("T13.ydrop-training",
       "Monte-Carlo training with the real rank rule (torch YDrop, median split of |w_j|·mean|x_j| "
       "recomputed every step), ±σ_j design (c/κ² ≡ 1, c spread over 10): lands on the minimiser "
       "of L + TopHalfRidge (subset enumeration = L-BFGS on the library penalty), SE band; the "
       "ridge at the mean rate is rejected",
       PROOF_T13)
def ydrop_training(ctx: Context) -> Iterator[Measurement]:
    from dualreg.torch import YDrop

    rng = ctx.rng(1321)
    # c ascending; the top half by c w² at the minimiser is {3, 4, 5} while by |w| it holds
    # unit 1 (at seed 0): ranking |w| instead of the conductance trains to another point.
    w_true = np.array([1.2, -0.8, 0.4, 2.6, -2.4, 2.0])
    d = w_true.size
    n = 256 if full(ctx) else 128
    sigma = np.sqrt(np.geomspace(1 / np.sqrt(10), np.sqrt(10), d))
    X = sign_design(rng, n, sigma)
    y = planted_response(rng, X, w_true, 0.5)
    yield spread_row(X)
    H, b = gram(X, y)
    c = np.diag(H)
    ref, count, margin = top_half_minimiser(H, b, c)
    yield Measurement("enumeration: consistent top sets (exactly one: F is strictly convex)",
                      abs(count - 1.0), 0.0, "discrete")
    yield Measurement("min(top-half c w²)/max(bottom-half c w²) at the minimiser", margin, 1.5,
                      "the split's margin (≥ 1.86 over seeds 0–29): a 1.5× gap in c w² is 22 % "
                      "in importance, far above the iterates' noise (a few % of |w|), so the "
                      "trained field is the one of the minimiser's cone",
                      mode="ge")
    pen = TopHalfRidge(P_LOW, P_HIGH, c)
    ols = np.linalg.solve(H, b)
    opt = optimize.minimize(lambda w: 0.5 * w @ H @ w - b @ w + pen.total(w), ols,
                            jac=lambda w: H @ w - b + pen.gradient(w), method="L-BFGS-B",
                            options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000})
    yield Measurement("library penalty (L-BFGS) vs enumeration: max |Δw|",
                      float(np.max(np.abs(opt.x - ref))), 1e-6,
                      "L-BFGS to gradient 1e-12 on a convex problem with condition ~10 "
                      "(smooth near the minimiser, margin ≥ 2)")
    K, T = (64, 2000) if full(ctx) else (16, 400)
    with one_thread():
        res = train(ctx, X, y, YDrop(P_LOW, P_HIGH), 1322, replicas=K, steps=T, lr=0.1,
                    init=ols)
    z = float(np.max(z_scores(res.coef_mean, res.coef_se, ref)))
    yield Measurement(f"K={K}, T={T}: max |mean − TopHalfRidge minimiser|/SE", z, band(K, d),
                      band_why(K, d))
    mean_rate = 0.5 * (P_LOW + P_HIGH)
    yield power("Y-Drop", res, np.linalg.solve(H + np.diag(c * mean_rate / (1 - mean_rate)), b),
                what="ridge at the mean rate")


def trimmed_global_minimum(H, b, r, k):
    """min over targeted sets S (|S| = k) of the ridge with odds r on S: the global minimiser
    of L + TrimmedRidge(c ≡ diag H), since Ω = min_S ½r Σ_S c u² (enumeration)."""
    c = np.diag(H)
    best = None
    for S in itertools.combinations(range(b.size), k):
        reg = np.zeros(b.size)
        reg[list(S)] = r * c[list(S)]
        u = np.linalg.solve(H + np.diag(reg), b)
        F = 0.5 * u @ H @ u - b @ u + 0.5 * u @ (reg * u)
        if best is None or F < best[0]:
            best = (F, u, np.array(S))
    return best[1], best[2]


@claim("T13.targeted-training",
       "Monte-Carlo training with the real rank rule (torch TargetedDropout, bottom ⌊γd⌋ of |w| "
       "recomputed every step), equal column scales: lands on u/(1 − δ) for u the vector IRLS "
       "point of TrimmedRidge = the enumerated global minimiser, SE band and 1 %; OLS and the "
       "untrimmed ridge are rejected",
       PROOF_T13)
def targeted_training(ctx: Context) -> Iterator[Measurement]:
    from dualreg.torch import TargetedDropout

    rng = ctx.rng(1331)
    w_true = np.array([2.0, -1.5, 1.2, 0.3, -0.2, 0.1])
    d = w_true.size
    n = 300 if full(ctx) else 100
    X, y = spread_design(rng, n, w_true, ratio=1.0, planted=True)
    H, b = gram(X, y)
    c = np.diag(H)
    yield Measurement("design: max c_j / min c_j − 1 (equal scales: the conservative case)",
                      float(c.max() / c.min() - 1.0), 1e-12,
                      "unit-scale columns; with spread c, ranking |w| is not conservative "
                      "(T13.circulation)")
    a, k = 0.5, 3
    r = a / (1 - a)
    pen = TrimmedRidge(a, k, c)
    ols = np.linalg.solve(H, b)
    u, iters, ok = vr.vector_irls(H, b, pen.eta_hat, ols)
    u_glob, S = trimmed_global_minimum(H, b, r, k)
    yield Measurement(f"vector IRLS ({iters} it.) vs enumerated global minimiser: max |Δu|",
                      float(np.max(np.abs(u - u_glob))) + float(not ok), 1e-12,
                      "the IRLS fixed point solves the same ridge as the best subset: "
                      "rounding of a 6×6 solve")
    delta = np.zeros(d)
    delta[S] = a
    ref = u / (1 - delta)
    K, T = (128, 3000) if full(ctx) else (64, 500)
    with one_thread():
        res = train(ctx, X, y, TargetedDropout(p=a, gamma=0.5), 1332, replicas=K, steps=T,
                    lr=0.1, init=ols)
    z = float(np.max(z_scores(res.coef_mean, res.coef_se, ref)))
    yield Measurement(f"K={K}, T={T}: max |mean − u/(1−δ)|/SE", z, band(K, d), band_why(K, d))
    kept = delta == 0
    rel = float(np.max(np.abs(res.coef_mean - ref)[kept] / np.abs(ref[kept])))
    yield Measurement("kept weights: max rel. error", rel, 0.01,
                      "1 % on the untargeted weights (|w| ≥ 1, SE a few 0.1 %)")
    yield power(f"a={a}", res, ols, what="least squares")
    yield power(f"a={a}", res, np.linalg.solve(H + np.diag(c * r), b),
                what="untrimmed ridge a/(1−a)")
