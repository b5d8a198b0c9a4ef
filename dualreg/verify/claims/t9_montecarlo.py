"""T9, Monte-Carlo dropout training converges to the IRLS point.

See proofs/T9_monte_carlo_convergence.md.

The Monte-Carlo training helpers it shares with T2, T3, T7 and T8 (one torch thread per check,
the trainer's seed, the comparison in standard errors) live in :mod:`dualreg.verify.checks`.
torch is imported inside the checks only, so ``dualreg verify --only T4`` never loads it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dualreg import families
from dualreg.verify.checks import (
    ENUM_WHY,
    bernoulli_patterns,
    compare,
    full,
    gram,
    one_thread,
    pattern_probabilities,
    power,
    rel_err,
    standardized_design,
    train,
)
from dualreg.verify.registry import Context, Measurement, claim

PROOF_T9 = "proofs/T9_monte_carlo_convergence.md"

# --------------------------------------------------------------------------- T9.expected-gradient
def _pattern_field(layer, X: np.ndarray, y: np.ndarray, w: np.ndarray, thr: np.ndarray,
                   shared: bool) -> np.ndarray:
    r"""Exact mean of the trainer's stochastic gradient over all 2^d mask patterns.

    The layer draws its uniforms through ``_rand``; each pattern is fed as uniforms 0 (the
    event u < threshold happens) or 1 (it does not), and its probability is
    :math:`\prod_j thr_j^{b_j}(1-thr_j)^{1-b_j}` from the thresholds ``thr`` computed here,
    independently of the layer. The gradient is the trainer's: autograd of the sampled mean
    loss through ``layer.noisy_linear`` (input masks: through the layer's forward, one pattern
    shared by the samples — by linearity the same mean as independent per-sample masks)."""
    import torch

    from dualreg.torch import glm_loss

    d = w.size
    M = bernoulli_patterns(d)
    P = pattern_probabilities(M, thr)
    U = torch.as_tensor(1.0 - M, dtype=torch.float64)
    K = M.shape[0]
    W = torch.as_tensor(np.repeat(w[None, :], K, 0), dtype=torch.float64).requires_grad_(True)
    Xt = torch.as_tensor(X, dtype=torch.float64)
    yt = torch.as_tensor(y, dtype=torch.float64)
    layer.train()
    if shared:  # input masks: (K, n, d) uniforms, one pattern per replica row
        layer._rand = lambda shape, like: U[:, None, :].expand(shape).to(like.dtype)
        theta = torch.matmul(layer(Xt.expand(K, *Xt.shape), weight=W), W.unsqueeze(-1))
        theta = theta.squeeze(-1)
    else:
        layer._rand = lambda shape, like: U.expand(shape).to(like.dtype)
        theta = layer.noisy_linear(Xt, W)
    loss = glm_loss(theta, yt, "gaussian").mean(-1) + layer.regularizer(W)
    (g,) = torch.autograd.grad(loss.sum(), W)
    del layer._rand
    return P @ g.detach().numpy()


@claim("T9.expected-gradient",
       "the trainer's stochastic gradient, averaged over all 2^d masks with rates computed from "
       "w, is ∇F_fl(w) (adaptive rules with a keep floor), the rule field ∇L + c⊙r(w)⊙w "
       "(Sparseout stop-gradient, Y-Drop) or the targeted-dropout field, exactly", PROOF_T9)
def expected_gradient(ctx: Context) -> Iterator[Measurement]:
    from dualreg.penalties import Floored, LogSum, Lp
    from dualreg.torch import AdaptiveDropout, Sparseout, TargetedDropout, YDrop

    rng = ctx.rng(901)
    d, n = (8, 60) if full(ctx) else (6, 40)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d)
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    # Magnitudes from 0.01 to 2, both signs: small ones sit under the keep floor.
    w = rng.choice([-1.0, 1.0], d) * np.geomspace(0.01, 2.0, d)[rng.permutation(d)]
    c = families.column_scales(X)
    grad_L = families.gradient(X, y, w)[0]
    lam = 0.3
    with one_thread():
        for pen, floor in ((LogSum(0.1), 0.2), (Lp(0.5), 0.1)):
            layer = AdaptiveDropout(pen, lam, keep_floor=floor)
            layer.set_column_scale(torch_tensor(c))
            ce = c * pen.eta_hat(w)
            keep = np.maximum(ce / (ce + lam), floor)
            field = _pattern_field(layer, X, y, w, keep, shared=False)
            # ∇F_fl: one floored penalty per coordinate (η_min = λα_min/(c_j(1 − α_min))).
            eta_min = lam * floor / (c * (1.0 - floor))
            target = grad_L + lam * np.array([Floored(pen, e).derivative(w[j:j + 1])[0]
                                              for j, e in enumerate(eta_min)])
            under = int(np.sum(keep == floor))
            yield Measurement(f"{pen!r}, α_min={floor} ({under}/{d} floored): E G vs ∇F_fl",
                              rel_err(field, target), 1e-12, ENUM_WHY)
        q, drop = 1.5, 0.3
        v = drop / (1 - drop)
        field = _pattern_field(Sparseout(drop, q, grad="stop"), X, y, w, np.full(d, 1 - drop),
                               shared=False)
        target = grad_L + c * v * np.sign(w) * np.abs(w) ** (q - 1)
        yield Measurement(f"Sparseout q={q:g} stop: E G vs ∇L + cv·sgn(w)|w|^(q−1)",
                          rel_err(field, target), 1e-12, ENUM_WHY)
        a = 0.5
        layer = TargetedDropout(rate=a, targ=0.5)
        targeted = np.zeros(d, bool)
        targeted[np.argsort(np.abs(w))[: d // 2]] = True
        delta = a * targeted
        field = _pattern_field(layer, X, y, w, delta, shared=False)
        u = (1 - delta) * w
        target = (1 - delta) * families.gradient(X, y, u)[0] + delta * (1 - delta) * c * w
        yield Measurement("targeted a=0.5: E G vs (1−δ)⊙∇L((1−δ)⊙w) + δ(1−δ)c⊙w",
                          rel_err(field, target), 1e-12, ENUM_WHY)
        p_low, p_high = 0.1, 0.5
        imp = np.abs(w) * np.abs(X).mean(0)
        top = np.argsort(np.argsort(imp)) >= d // 2
        p = np.where(top, p_high, p_low)
        field = _pattern_field(YDrop(p_low, p_high), X, y, w, 1 - p, shared=True)
        target = grad_L + c * (p / (1 - p)) * w
        yield Measurement("Y-Drop (input masks): E G vs ∇L + c⊙r⊙w, r_high on top |w|·|x̄|",
                          rel_err(field, target), 1e-12, ENUM_WHY)


def torch_tensor(a: np.ndarray):
    import torch

    return torch.as_tensor(a, dtype=torch.float64)


# --------------------------------------------------------------------------- T9.fixed-rate-ridge
@claim("T9.fixed-rate-ridge",
       "fixed Bernoulli and Gaussian rates: the Polyak average of K replicas is the weighted "
       "ridge (H + diag(v c))⁻¹Xᵀy/n within the SE band; the unpenalised fit is rejected",
       PROOF_T9)
def fixed_rate_ridge(ctx: Context) -> Iterator[Measurement]:
    from dualreg.torch import BernoulliDropout, GaussianDropout

    rng = ctx.rng(902)
    d, n = 5, 100
    X = rng.standard_normal((n, d)) * rng.uniform(0.7, 1.4, d)
    w_true = rng.choice([-1.0, 1.0], d) * rng.uniform(0.5, 2.0, d)
    y = X @ w_true + 0.5 * rng.standard_normal(n)
    H, b = gram(X, y)
    c = np.diag(H)
    ols = np.linalg.solve(H, b)
    K, T = (256, 2000) if full(ctx) else (64, 500)
    with one_thread():
        for salt, (name, layer, v) in enumerate((("Bernoulli p=0.3", BernoulliDropout(0.3),
                                                  0.3 / 0.7),
                                                 ("Gaussian σ²=0.4", GaussianDropout(0.4), 0.4))):
            ref = np.linalg.solve(H + np.diag(v * c), b)
            res = train(ctx, X, y, layer, 910 + salt, replicas=K, steps=T, lr=0.1, init=ols)
            yield from compare(f"{name}, K={K}, T={T}", res, ref, rel=False)
            yield power(name, res, ols, what="least squares")


# --------------------------------------------------------------------------- T9.adaptive-irls
@claim("T9.adaptive-irls",
       "adaptive Bernoulli and Gaussian dropout for LogSum and ℓ0.5 (keep floor α_min): the "
       "Polyak average from a shared start is the floored-IRLS point within the SE band, zeros "
       "judged by their SE only", PROOF_T9)
def adaptive_irls(ctx: Context) -> Iterator[Measurement]:
    from dualreg.penalties import LogSum, Lp
    from dualreg.solvers.irls import irls
    from dualreg.torch import AdaptiveDropout

    rng = ctx.rng(903)
    w_true = np.array([2.0, -1.5, 1.0, 0.0, 0.0, 0.0])
    n = 200 if full(ctx) else 100
    X, y = standardized_design(rng, n, w_true)
    H, b = gram(X, y)
    ols = np.linalg.solve(H, b)
    lam, floor = 0.05, 0.2
    K, T = (128, 3000) if full(ctx) else (64, 800)
    runs = [(LogSum(0.1), "bernoulli"), (Lp(0.5), "gaussian")]
    if full(ctx):
        runs += [(Lp(0.5), "bernoulli"), (LogSum(0.1), "gaussian")]
    with one_thread():
        for salt, (pen, mask) in enumerate(runs):
            layer = AdaptiveDropout(pen, lam, mask=mask, keep_floor=floor)
            floored = layer.effective_penalty(1.0)  # c_j = 1: one η floor
            ref = irls(X, y, floored, lam, fit_intercept=False, init=ols, tol=1e-12).coef
            # The plain η-trick fixed point of the clamped rule from the same start must agree
            # (IRLS stationarity 1e-12 / smallest Hessian eigenvalue ~0.5: 1e-10 here).
            w = ols.copy()
            for _ in range(5000):
                eta = np.maximum(pen.eta_hat(w), floored.eta_min)
                w_new = np.linalg.solve(H + lam * np.diag(1.0 / eta), b)
                done = np.max(np.abs(w_new - w)) < 1e-15
                w = w_new
                if done:
                    break
            name = f"{mask} {pen!r}"
            yield Measurement(f"{name}: IRLS(Ω_fl) vs clamped η-trick fixed point",
                              float(np.max(np.abs(ref - w))), 1e-10,
                              "two solvers, one strictly convex-near-the-solution problem, one "
                              "start: IRLS tol 1e-12 over a Hessian eigenvalue ≳ 0.5")
            res = train(ctx, X, y, layer, 920 + salt, replicas=K, steps=T, lr=0.05,
                        schedule="inverse_sqrt", init=ols)
            kept = pen.eta_hat(ref) > floored.eta_min  # off the floor: judged also by 1 %
            yield from compare(f"{name} K={K} T={T} ({int((~kept).sum())} zeros)", res, ref,
                               nonzero=kept)
            if salt == 0:
                unfloored = irls(X, y, pen, lam, fit_intercept=False, init=ols).coef
                yield power(name, res, unfloored, what="IRLS of Ω (no floor)")


# --------------------------------------------------------------------------- T9.averaging-needed
@claim("T9.averaging-needed",
       "constant step, fixed rates: the last iterate's replica spread does not shrink from T to "
       "4T steps; the tail average's halves (the K^{-1/2} law)", PROOF_T9)
def averaging_needed(ctx: Context) -> Iterator[Measurement]:
    from dualreg.torch import BernoulliDropout

    rng = ctx.rng(904)
    d, n = 10, 50
    X = rng.standard_normal((n, d))
    X /= np.sqrt((X**2).mean(0))
    y = X @ rng.uniform(-2, 2, d) + 0.5 * rng.standard_normal(n)
    H, b = gram(X, y)
    v = 0.3 / 0.7
    ref = np.linalg.solve(H + v * np.diag(np.diag(H)), b)
    K, T = (64, 400) if full(ctx) else (32, 150)
    spread = {}
    with one_thread():
        for avg in ("last", "polyak"):
            for steps in (T, 4 * T):
                res = train(ctx, X, y, BernoulliDropout(0.3), 930, replicas=K, steps=steps,
                            lr=0.1, average=avg, init=ref)
                spread[avg, steps] = float(np.sqrt(np.mean(res.coef.std(0, ddof=1) ** 2)))
    ratio_last = spread["last", 4 * T] / spread["last", T]
    ratio_avg = spread["polyak", 4 * T] / spread["polyak", T]
    pooled = 1.0 / np.sqrt(2.0 * (K - 1) * d)
    yield Measurement(f"last iterate: spread(4T)/spread(T), T={T}, K={K}, d={d}", ratio_last,
                      0.7,
                      "at stationarity the ratio is 1 ± a few × the spread estimate's relative "
                      f"error ({pooled:.2f}); 0.7 fails only if the last iterate converged",
                      mode="ge")
    yield Measurement("tail average (last half): |spread(4T)/spread(T) − ½|", abs(ratio_avg - 0.5),
                      0.15,
                      "the K^{-1/2} law gives ½ up to a finite-window correction O(τ/T) "
                      f"(τ ≈ 1/(γ λ_min) ≈ 20 steps) and ~3 × the pooled relative error "
                      f"{pooled:.2f} of each spread; ±0.15 fails if averaging did nothing (ratio "
                      "≈ 1) or converged faster than K^{-1/2}")
