"""T8, anti-monotone rules are superquadratic (proofs/T8_antimonotone_superquadratic.md)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dualreg import _numerics, duality, families
from dualreg.penalties import (
    L1,
    MCP,
    SCAD,
    LogSum,
    Lp,
    NoEtaFormError,
    Power,
    Ridge,
    Sparseout,
    YDrop,
    from_keep_prob,
)
from dualreg.sparsity import hoyer
from dualreg.verify.checks import (
    ENUM_WHY,
    bernoulli_patterns,
    gaussian_problem,
    pattern_probabilities,
    random_rules,
    rel_err,
    sparseout_rule,
)
from dualreg.verify.registry import Context, Measurement, claim

PROOF_T8 = "proofs/T8_antimonotone_superquadratic.md"
CERT_WHY = ("normalised second differences of Ω(√θ) on a uniform θ grid; evaluation noise of Ω "
            "is ≤ 1e-11 of its range, so a wrong-sign curvature beyond 1e-9 is real")


# ------------------------------------------------------------------- T8.antimonotone-superquadratic
@claim("T8.antimonotone-superquadratic", "anti-monotone rules (Sparseout q > 2, Y-Drop, random "
       "decreasing keep probabilities) give convex g(θ) = Ω(√θ): superquadratic, no η-form, a "
       "supremum of quadratics touching at η̂; the mirrored rules are subquadratic", PROOF_T8)
def antimonotone_superquadratic(ctx: Context) -> Iterator[Measurement]:
    n = 401 if ctx.mode == "quick" else 2001
    odds = 0.3 / 0.7
    supers = [Sparseout(3.0, 0.3), Sparseout(4.0, 0.3, "autograd"),
              from_keep_prob(sparseout_rule(odds, 3.0), 1.0, 1.0, t_max=10.0),
              YDrop(0.1, 0.5, 1.0, "bucket"), YDrop(0.1, 0.5, 1.0, "continuous")]
    supers += [from_keep_prob(r, 1.0, 1.0, t_max=10.0)
               for r in random_rules(ctx.rng(801), 3 if ctx.mode == "quick" else 8, True)]
    subs = [YDrop(0.1, 0.5, 1.0, "bucket", mirrored=True),
            YDrop(0.1, 0.5, 1.0, "continuous", mirrored=True),
            from_keep_prob(sparseout_rule(odds, 1.5), 1.0, 1.0, t_max=10.0)]
    worst, wrong, has_dual = np.inf, 0, 0
    for p in supers:
        cert = duality.classify(p, t_max=10.0, n=n)
        worst = min(worst, cert.min_second_difference)
        wrong += cert.curvature_class != "superquadratic" or not cert.nondecreasing
        try:
            p.dual(np.array([1.0]))
            has_dual += 1
        except NoEtaFormError:
            pass
    yield Measurement(f"{len(supers)} anti-monotone penalties: −min second difference of Ω(√θ)",
                      -worst, 1e-9, CERT_WHY)
    yield Measurement("anti-monotone penalties not certified superquadratic (and nondecreasing)",
                      float(wrong), 0.0, "discrete: every one must be")
    yield Measurement("superquadratic penalties whose dual() does not raise NoEtaFormError",
                      float(has_dual), 0.0, "T4.4: no η-form exists, asking for one must fail")
    worst_sub, wrong_sub = -np.inf, 0
    for p in subs:
        cert = duality.classify(p, t_max=10.0, n=n)
        worst_sub = max(worst_sub, cert.max_second_difference)
        wrong_sub += cert.curvature_class != "subquadratic"
    yield Measurement(f"{len(subs)} mirrored (monotone) rules: max second difference of Ω(√θ), "
                      f"{wrong_sub} not subquadratic", max(worst_sub, float(wrong_sub)), 1e-9,
                      CERT_WHY)
    # T4.4: Ω = ½ sup_η [w²/η − h(η)], h(η) = sup_w [w²/η − 2Ω(w)], attained at η̂(w); the
    # tangent quadratic at η̂(w) lies below Ω everywhere.
    w = np.geomspace(0.05, 4.0, 9)
    grid = np.linspace(0.0, 12.0, 2001)
    for p in (Sparseout(3.0, 0.3), YDrop(0.1, 0.5, 1.0, "continuous")):
        eta = p.eta_hat(w)
        e = eta.reshape(-1, 1)
        _, neg_h = _numerics.minimize_on_interval(
            lambda x, e=e, p=p: -(x**2 / e - 2.0 * p.value(x)), np.zeros(w.size),
            np.full(w.size, 12.0), grid=257)
        h = -neg_h
        touch = rel_err(0.5 * (w**2 / eta - h), p.value(w))
        below = float(np.max(0.5 * (grid[None, :] ** 2 / e - h[:, None]) - p.value(grid)[None, :]))
        yield Measurement(f"{p!r}: ½(w²/η̂ − h(η̂)) = Ω(w) (sup attained at η̂)", touch, 1e-8,
                          "h by a global 1-D search (golden section, ~1e-12)")
        yield Measurement(f"{p!r}: max of tangent quadratic − Ω on [0, 12] (a minorant)",
                          below, 1e-9, "≤ 0 up to the search accuracy of h (~1e-12)")


# ------------------------------------------------------------------------- T8.orthogonal-densifying
@claim("T8.orthogonal-densifying", "orthogonal designs: the solution is the prox of z = Xᵀy/n; "
       "shrinkage ρ = |ŵ|/|z| is nonincreasing (super), constant (ridge), nondecreasing (sub), "
       "so H(ŵ_super) ≤ H(z) = H(ŵ_ridge) ≤ H(ŵ_sub)", PROOF_T8)
def orthogonal_densifying(ctx: Context) -> Iterator[Measurement]:
    rng = ctx.rng(802)
    problems = 300 if ctx.mode == "quick" else 2000
    lam = 0.5
    dims = rng.integers(3, 31, size=problems)
    z = rng.standard_t(3, size=int(dims.sum()))  # heavy tails
    starts = np.concatenate([[0], np.cumsum(dims)[:-1]])
    h_z = np.array([hoyer(z[s:s + d]) for s, d in zip(starts, dims, strict=True)])
    groups = [
        ("super", [Power(2.5), Power(3.0), Power(4.0), YDrop(0.1, 0.5, 1.0, "bucket"),
                   YDrop(0.1, 0.5, 1.0, "continuous")]),
        ("ridge", [Ridge()]),
        ("sub", [L1(), Lp(0.5), LogSum(1.0), MCP(3.0, 1.0), SCAD(3.7, 1.0), Sparseout(1.5, 0.3),
                 YDrop(0.1, 0.5, 1.0, "bucket", mirrored=True)]),
    ]
    order = np.argsort(np.abs(z))
    searched = ("continuous",)  # Y-Drop's continuous mapping has no closed prox
    for kind, pens in groups:
        for p in pens:
            w = p.prox(z, lam)
            rho = np.abs(w[order]) / np.abs(z[order])
            steps = np.diff(rho)
            # Closed-form and root-finding proxes are exact to ~1e-15; a value-based 1-D search
            # locates a minimiser only to ~√ε_mach ≈ 1e-8 (relative).
            generic = getattr(p, "mapping", None) in searched
            rho_tol, rho_why = ((1e-7, "ρ monotone; the prox is a 1-D value search, accurate "
                                "to ~1e-8") if generic else
                                (1e-12, "ρ monotone; the prox is solved to ~1e-15"))
            gaps, skipped = [], 0
            for s, d, hz in zip(starts, dims, h_z, strict=True):
                ws = w[s:s + d]
                if not np.any(ws):
                    skipped += 1
                    continue
                gaps.append(hoyer(ws) - hz)
            gaps = np.array(gaps)
            if kind == "super":
                yield Measurement(f"{p!r}: max_problems H(ŵ) − H(z) ({problems} problems)",
                                  float(np.max(gaps)), 1e-12,
                                  "majorization lemma: ≤ 0; float rounding of H ~1e-15")
                yield Measurement(f"{p!r}: largest increase of ρ along |z|", float(np.max(steps)),
                                  rho_tol, rho_why)
            elif kind == "ridge":
                yield Measurement(f"{p!r}: max |H(ŵ) − H(z)| and spread of ρ",
                                  max(float(np.max(np.abs(gaps))), float(np.ptp(rho))), 1e-12,
                                  "ŵ = z/(1+λ): H unchanged, ρ constant, up to rounding")
                continue
            else:
                yield Measurement(f"{p!r}: max_problems H(z) − H(ŵ) ({problems} problems, "
                                  f"{skipped} all-zero skipped)", float(np.max(-gaps)), 1e-12,
                                  "majorization lemma: ≤ 0; float rounding of H ~1e-15")
                yield Measurement(f"{p!r}: largest decrease of ρ along |z|",
                                  float(np.max(-steps)), rho_tol, rho_why)
            yield Measurement(f"{p!r}: mean |H(ŵ) − H(z)| (the effect is real)",
                              float(np.mean(np.abs(gaps))), 1e-3,
                              "a check of an inequality that is always an equality would be "
                              "vacuous", mode="ge")
    # The reduction itself: with XᵀX/n = I the prox is a stationary point of F = L + λΩ.
    worst = {"closed": 0.0, "search": 0.0}
    for d in (5, 12):
        n = 2 * d
        Q, _ = np.linalg.qr(rng.normal(size=(n, d)))
        X = np.sqrt(n) * Q
        y = X @ rng.standard_t(3, size=d) + rng.normal(size=n)
        zz = X.T @ y / n
        for p, how in ((Power(3.0), "closed"), (LogSum(1.0), "closed"), (MCP(3.0, 1.0), "closed"),
                       (YDrop(0.1, 0.5, 1.0, "continuous"), "search")):
            w = p.prox(zz, lam)
            grad = families.gradient(X, y, w)[0]
            worst[how] = max(worst[how], float(np.max(p.subdiff_distance(w, grad, lam))))
    yield Measurement("explicit orthogonal X: stationarity of F at the prox (ℓ3, LogSum, MCP)",
                      worst["closed"], 1e-10, "∇L(ŵ) = ŵ − z exactly when XᵀX/n = I; closed "
                      "or root-finding prox ~1e-15, QR orthogonality ~1e-15")
    yield Measurement("explicit orthogonal X: stationarity of F at the prox (Y-Drop continuous)",
                      worst["search"], 1e-6, "the prox is a value-based 1-D search: its "
                      "minimiser is accurate to ~√ε_mach ≈ 1e-8 × the scale")


# -------------------------------------------------------------------------- T8.conductance-identity
@claim("T8.conductance-identity", "linear head F = Σ w_j h_j(x) + b: the library's conductance "
       "(dualreg.torch.conductance, Riemann–trapezoid on equal intervals) is "
       "w_j(h_j(x) − h_j(x′)) for any number of steps, and equals captum's LayerConductance "
       "(riemann_trapezoid) when captum is installed; Gauss–Legendre nodes miss the end pieces",
       PROOF_T8)
def conductance_identity(ctx: Context) -> Iterator[Measurement]:
    import torch

    from dualreg.torch import attribution

    rng = ctx.rng(803)
    p_in, m_hidden, batch = 7, 12, 4
    A = rng.normal(size=(m_hidden, p_in))
    b0 = rng.normal(size=m_hidden)
    head = rng.normal(size=m_hidden)
    x, x_base = rng.normal(size=(batch, p_in)), rng.normal(size=p_in)
    At, bt, wt = (torch.as_tensor(a, dtype=torch.float64) for a in (A, b0, head))

    def features_t(z):
        """A tanh layer, the hidden units h(z)."""
        return torch.tanh(z @ At.T + bt)

    def head_t(h):
        """The linear head F = w·h + 0.3."""
        return h @ wt + 0.3

    def features(s, row=0):
        """h(γ(s)) for nodes s (k,) → (k, m) on the straight path to x[row], in numpy."""
        return np.tanh((x_base + np.asarray(s)[:, None] * (x[row] - x_base)) @ A.T + b0)

    xt, bt_in = torch.as_tensor(x), torch.as_tensor(x_base)
    # The closed form, in numpy: w_j (h_j(x) − h_j(x′)).
    exact = head * (np.tanh(x @ A.T + b0) - np.tanh(x_base @ A.T + b0))
    worst = 0.0
    with torch.no_grad():
        for steps in (1, 2, 5, 50):
            lib = attribution.conductance(features_t, head_t, xt, bt_in, steps=steps).numpy()
            worst = max(worst, rel_err(lib, exact))
    yield Measurement("dualreg.torch.conductance, steps ∈ {1, 2, 5, 50}, batch of 4: vs "
                      "w_j(h_j(x) − h_j(x′))", worst, 1e-12,
                      "a telescoping sum of ≤ 50 float64 increments: rounding ~1e-15; a "
                      "missing or doubled interval is off by O(1/steps) of the total")
    try:
        from captum.attr import LayerConductance
    except ImportError:
        yield Measurement("captum not installed: the LayerConductance comparison is skipped",
                          0.0, 0.0, "an optional cross-check (pip install captum): nothing "
                          "measured, the row passes")
    else:
        net = torch.nn.Sequential(torch.nn.Linear(p_in, m_hidden), torch.nn.Tanh(),
                                  torch.nn.Linear(m_hidden, 1)).double()
        with torch.no_grad():
            net[0].weight.copy_(At)
            net[0].bias.copy_(bt)
            net[2].weight.copy_(wt[None, :])
            net[2].bias.fill_(0.3)
        lc = LayerConductance(lambda z: net(z).squeeze(-1), net[1])
        worst = 0.0
        for steps in (2, 5, 50):
            theirs = lc.attribute(xt, baselines=bt_in.expand_as(xt), n_steps=steps,
                                  method="riemann_trapezoid").detach().numpy()
            with torch.no_grad():
                ours = attribution.conductance(features_t, head_t, xt, bt_in,
                                               steps=steps).numpy()
            worst = max(worst, rel_err(ours, theirs))
        yield Measurement("captum LayerConductance (riemann_trapezoid), n_steps ∈ {2, 5, 50}: "
                          "vs dualreg.torch.conductance", worst, 1e-6,
                          "an independent implementation; for a linear head both telescope to "
                          "the same value, up to float64 rounding (~1e-15)")

    def telescoped(nodes):
        h = features(nodes)
        return np.sum(head[None, :] * np.diff(h, axis=0), axis=0)

    for steps in (2, 5, 50):
        gl, _ = _numerics.gauss_legendre(steps + 1)
        miss = rel_err(telescoped(np.sort(gl)), exact[0])
        yield Measurement(f"Gauss–Legendre nodes, {steps} steps: discrepancy (must be nonzero)",
                          miss, 1e-6, "the nodes omit 0 and 1, so the sum telescopes to "
                          "h(γ(s_max)) − h(γ(s_min)): the caveat must show", mode="ge")
    # Gauss–Legendre is fine for the integral itself: ∫ w_j h_j'(γ(s))·(x − x′) ds.
    s, wq = _numerics.gauss_legendre(80)
    pre = (x_base + s[:, None] * (x[0] - x_base)) @ A.T + b0
    integrand = head * (1.0 - np.tanh(pre) ** 2) * (A @ (x[0] - x_base))
    yield Measurement("continuous conductance ∫₀¹ (∂F/∂h_j)(dh_j/ds) ds by 80-point "
                      "Gauss–Legendre", rel_err(wq @ integrand, exact[0]), 1e-12,
                      "an analytic integrand on [0, 1]: the 80-point rule converges geometrically, "
                      "to rounding (~1e-15)")


# ----------------------------------------------------------------------------------- T8.frozen-form
@claim("T8.frozen-form", "frozen Y-Drop (odds r_high on the top half by |w|, r_low below): "
       "E L = L + ½ r_low Σ c w² + ½ (r_high − r_low) Σ_top c w² exactly; = L + Σ c Ω_YDrop + "
       "const (enumeration); mirrored likewise", PROOF_T8)
def frozen_form(ctx: Context) -> Iterator[Measurement]:
    rng = ctx.rng(804)
    d, n = (8, 60) if ctx.mode == "full" else (6, 40)
    X, y, w = gaussian_problem(rng, n, d)
    c = families.column_scales(X)
    p_low, p_high = 0.1, 0.5
    r_low, r_high = p_low / (1 - p_low), p_high / (1 - p_high)
    tau = float(np.median(np.abs(w)))  # d even: the top half is exactly |w| ≥ τ
    top = np.abs(w) >= tau
    M = bernoulli_patterns(d)
    for mirrored in (False, True):
        odds = np.where(top, r_low if mirrored else r_high, r_high if mirrored else r_low)
        keep = 1.0 / (1.0 + odds)  # odds = (1 − α)/α
        P = pattern_probabilities(M, keep)
        S = M / keep
        theta = (S * w) @ X.T
        loss = P @ np.mean(0.5 * (y - theta) ** 2, axis=1)
        grad = P @ (-(S * (((y - theta) @ X) / n)))
        r_top, r_rest = (r_low, r_high) if mirrored else (r_high, r_low)
        frozen = families.loss(X, y, w) + 0.5 * r_rest * np.sum(c * w**2) + 0.5 * (
            r_top - r_rest) * np.sum((c * w**2)[top])
        label = "mirrored" if mirrored else "Y-Drop"
        yield Measurement(f"{label}, d={d}: E L vs L + ½ r_rest Σcw² + ½(r_top − r_rest) Σ_top cw²",
                          rel_err(loss, frozen), 1e-12, ENUM_WHY)
        lib = YDrop(p_low, p_high, tau, "bucket", mirrored=mirrored)
        const = 0.5 * (r_top - r_rest) * tau**2 * np.sum(c[top])
        yield Measurement(f"{label}: E L vs L + Σ c Ω_YDrop(w) + ½(r_top − r_rest)τ²Σ_top c "
                          f"(library, {lib.curvature_class})",
                          rel_err(loss, families.loss(X, y, w) + np.sum(c * lib.value(w)) + const),
                          1e-12, ENUM_WHY)
        yield Measurement(f"{label}: E ∇L_S vs ∇L + c⊙Ω'_YDrop(w) (library)",
                          rel_err(grad, families.gradient(X, y, w)[0] + c * lib.derivative(w)),
                          1e-12, ENUM_WHY)
