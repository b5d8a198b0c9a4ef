"""Helpers the claims share, in one module that registers no claim.

Exact checks (Bernoulli mask enumeration, a seeded gaussian problem, relative errors, the
sympy zero test and its 60-digit sample points, Monte-Carlo z-scores); keep-probability rules
(Sparseout's odds rule, seeded random monotone rules); and the Monte-Carlo training helpers of
the training claims (one torch thread per check, the trainer's device and seed from the
context, the comparison of K replicas' Polyak averages with a deterministic reference in
standard errors, docs/conventions.md §6). torch is imported inside the helpers only, so
``dualreg verify --only T4`` never loads it. Claims live in ``dualreg/verify/claims/`` and
register themselves with :func:`dualreg.verify.registry.claim`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from scipy import special

from dualreg import datasets, families
from dualreg.verify.registry import Context, Measurement

Rule = Callable[[np.ndarray], np.ndarray]

GAUSSIAN = families.get_family("gaussian")

#: Tolerance of the symbolic checks: 0 when sympy simplifies the residual to 0; otherwise the
#: residual is evaluated with 50 significant digits at 20 random points, where a true identity
#: leaves ~1e-48 of rounding.
SYMBOLIC_TOL = 1e-40
SYMBOLIC_WHY = ("exact identity: sympy simplifies the residual to 0 (measured 0), else its "
                "50-digit value at 20 random points (rounding ~1e-48)")
ENUM_WHY = ("exact expectation by enumeration: a probability-weighted float64 sum of ≤ 2^15 "
            "terms, rounding ~1e-15 relative")


# --------------------------------------------------------------------------- exact checks
def bernoulli_patterns(d: int) -> np.ndarray:
    """All 2^d binary patterns as a (2^d, d) float array (1 = kept)."""
    k = np.arange(2**d)[:, None]
    return ((k >> np.arange(d)[None, :]) & 1).astype(float)


def pattern_probabilities(patterns: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """P(pattern) for independent Bernoulli entries with keep probabilities ``keep``
    (broadcast against the pattern's trailing axes)."""
    per = np.where(patterns == 1.0, keep, 1.0 - keep)
    return np.prod(per.reshape(per.shape[0], -1), axis=1)


def gaussian_problem(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, ...]:
    """A gaussian linear problem with distinct column scales (so c_j differ) and a weight
    vector with distinct, nonzero magnitudes of both signs."""
    X = datasets.gaussian_design(rng, n, d) * rng.uniform(0.5, 2.0, size=d)
    w = datasets.signed_magnitudes(rng, d, 0.2, 2.0)
    return X, datasets.response(rng, X @ rng.normal(size=d)), w


def rel_err(a: Any, b: Any) -> float:
    """Normwise relative error max|a − b| / max|b|."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))


def mean_loss(theta: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean gaussian loss over the last axis (docs/conventions.md §1: ½(y − θ)² averaged)."""
    return np.mean(GAUSSIAN.pointwise_loss(theta, y), axis=-1)


def symbolic_residual(expr: Any, samples: Sequence[dict] | Callable[[], Sequence[dict]] = ()
                      ) -> float:
    """0.0 when ``expr`` simplifies to 0, else max |expr| at the sample points (50 digits).

    The cheap route first (denest and collect powers of the positive symbols, expand,
    cancel), then ``sympy.simplify``. ``samples`` (dicts symbol → value) may be a callable,
    built only when the simplification fails.
    """
    import sympy as sp

    expr = sp.sympify(expr)
    for step in (lambda e: sp.expand(sp.powsimp(sp.powdenest(e, force=True), force=True)),
                 lambda e: sp.cancel(sp.together(e)), sp.simplify):
        expr = step(expr)
        if expr == 0:
            return 0.0
    points = samples() if callable(samples) else samples
    if not points:
        return float("inf")
    return max(abs(complex(sp.N(expr.subs(pt), 50))) for pt in points)


def high_precision(x: float) -> Any:
    """The rational x rounded to 6 decimals, as a 60-digit sympy Float (a Float, not a
    Rational: powers of rationals with large denominators send sympy into exact roots)."""
    import sympy as sp

    return sp.Float(sp.Rational(round(float(x) * 10**6), 10**6), 60)


def rational_points(rng: np.random.Generator, ranges: dict, k: int = 20) -> list[dict]:
    """``k`` dicts {symbol: 60-digit value of a 6-decimal rational}, each symbol uniform in
    its (lo, hi) range."""
    return [{s: high_precision(rng.uniform(lo, hi)) for s, (lo, hi) in ranges.items()}
            for _ in range(k)]


def z_score(draws: np.ndarray, target: Any) -> np.ndarray:
    """|mean − target| in standard errors of the mean (SE from the sample std), per column."""
    draws = np.asarray(draws, float)
    se = np.std(draws, axis=0, ddof=1) / np.sqrt(draws.shape[0])
    return np.abs(np.mean(draws, axis=0) - np.asarray(target, float)) / se


def standard_error(draws: np.ndarray) -> np.ndarray:
    return np.std(np.asarray(draws, float), axis=0, ddof=1) / np.sqrt(draws.shape[0])


#: The false-failure rate each Monte-Carlo check is designed for: the probability that a
#: correct implementation fails one check (all its coordinates together, Bonferroni) at one seed.
#: The quick suite runs fewer than 100 such checks per seed, so a correct library fails a seed
#: with probability ≲ 1e-3, and ``--seeds 0:100`` with probability ≲ 0.1.
CHECK_FALSE_FAILURE = 1e-5


def mc_limit(d: int = 1) -> float:
    """The z limit of a seeded Monte-Carlo mean over ``d`` coordinates (thousands of draws:
    normal): the two-sided normal quantile at ``CHECK_FALSE_FAILURE / d`` (4.42 at d = 1,
    4.81 at d = 5)."""
    from scipy import special

    return float(special.ndtri(1.0 - CHECK_FALSE_FAILURE / (2.0 * d)))


def mc_why(d: int = 1) -> str:
    return (f"seeded Monte Carlo: |mean − formula| in standard errors; beyond {mc_limit(d):.2f} "
            f"SE at one of {d} coordinate(s) with probability {CHECK_FALSE_FAILURE:.0e} when "
            "the formula is right")


# --------------------------------------------------------------------------- keep-probability rules
def named(fn: Rule, name: str) -> Rule:
    fn.__name__ = name
    return fn


def sparseout_rule(odds: float, q: float):
    """Keep probability α(t) = 1/(1 + v t^{q−2}) of stop-gradient Sparseout (λ = c = 1)."""

    def alpha(t):
        with np.errstate(divide="ignore", over="ignore"):
            return 1.0 / (1.0 + odds * np.abs(t) ** (q - 2.0))

    alpha.__name__ = f"sparseout_q{q:g}"
    return alpha


def random_rules(rng: np.random.Generator, count: int, mirrored: bool = False) -> list[Rule]:
    """Seeded monotone keep-probability rules: mixtures of logistic CDFs in log t,
    α(t) = Σ_k π_k σ(a_k(log t − b_k)) with slopes a_k ∈ (0.3, 1.8) (so t·r(t) stays
    integrable at 0). ``mirrored``: σ(−a_k(log t − b_k)), keep probability decreasing."""
    rules = []
    for i in range(count):
        k = int(rng.integers(1, 4))
        pi = rng.dirichlet(np.ones(k))
        slope = rng.uniform(0.3, 1.8, size=k)
        centre = rng.uniform(-2.0, 2.0, size=k)
        sign = -1.0 if mirrored else 1.0

        def rule(t, pi=pi, slope=slope, centre=centre, sign=sign):
            with np.errstate(divide="ignore"):
                z = np.log(np.abs(np.asarray(t, float)))[..., None]
            return np.minimum(np.sum(pi * special.expit(sign * slope * (z - centre)), axis=-1),
                              1.0)  # Σπ = 1 can round above 1

        rules.append(named(rule, f"{'mirrored' if mirrored else 'monotone'}#{i}"))
    return rules


# --------------------------------------------------------------------------- Monte-Carlo training

REL_TOL = 0.01
REL_WHY = ("1 % relative error, on coordinates the reference keeps away from 0; there the SE is a "
           "few 0.1 % of |w|, so 1 % catches a bias (a wrong constant, a wrong floor) that the "
           "SE band alone might absorb")


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """One intra-op torch thread inside a check (tiny tensors: threads only add contention);
    the previous setting is restored afterwards."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def full(ctx: Context) -> bool:
    return ctx.mode == "full"


def trainer_seed(ctx: Context, salt: int) -> int:
    """The trainer's torch seed, derived from the context seed (same seed, same report)."""
    return int(ctx.rng(salt).integers(2**31 - 1))


def train(ctx: Context, X, y, layer, salt: int, **kwargs: Any):
    """``dualreg.torch.monte_carlo`` on the context's device, float64, seeded from ctx."""
    from dualreg.torch import monte_carlo

    kwargs.setdefault("progress", False)
    return monte_carlo(X, y, layer, device=ctx.device, seed=trainer_seed(ctx, salt), **kwargs)


def band(replicas: int, d: int = 1) -> float:
    r"""Acceptance band in standard errors for the mean of ``replicas`` independent replicas,
    over ``d`` coordinates: the :math:`t_{K-1}` quantile at the two-sided level
    ``CHECK_FALSE_FAILURE / d`` per coordinate (5.27 at K = 32, d = 1; 5.89 at K = 32,
    d = 6; → 4.9 for d = 1 as K → ∞)."""
    from scipy import stats

    return float(stats.t.isf(CHECK_FALSE_FAILURE / (2.0 * d), replicas - 1))


def band_why(replicas: int, d: int) -> str:
    return (f"K = {replicas} independent replicas, d = {d} coordinates: a correct mean lies "
            f"beyond the t_{replicas - 1} quantile {band(replicas, d):.2f} SE at some coordinate "
            f"with probability {CHECK_FALSE_FAILURE:.0e} (Bonferroni over the coordinates); a "
            "wrong point is tens of SE away (the power rows)")


def z_scores(mean: np.ndarray, se: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|mean − ref| / se per coordinate."""
    return np.abs(np.asarray(mean, float) - np.asarray(ref, float)) / np.asarray(se, float)


def compare(name: str, res, ref: np.ndarray, nonzero: np.ndarray | None = None,
            rel: bool = True) -> Iterator[Measurement]:
    """The two acceptance criteria of docs/conventions.md §6 for a Monte-Carlo result against
    ``ref``:
    every coordinate within the SE band; coordinates in ``nonzero`` also within 1 %."""
    ref = np.asarray(ref, float)
    d = ref.size
    z = z_scores(res.coef_mean, res.coef_se, ref)
    yield Measurement(f"{name}: max |mean − ref|/SE", float(np.max(z)), band(res.replicas, d),
                      band_why(res.replicas, d))
    if rel:
        if nonzero is None:
            nonzero = np.abs(ref) > 1e-8
        if np.any(nonzero):
            r = np.abs(res.coef_mean - ref)[nonzero] / np.abs(ref[nonzero])
            yield Measurement(f"{name}: max rel. error ({int(nonzero.sum())} nonzero)",
                              float(np.max(r)), REL_TOL, REL_WHY)


def power(name: str, res, wrong: np.ndarray, threshold: float = 10.0,
          what: str = "") -> Measurement:
    """The z-score of a wrong answer: it must lie far outside the acceptance band."""
    z = float(np.max(z_scores(res.coef_mean, res.coef_se, wrong)))
    return Measurement(
        f"{name}: rejects {what}, max |mean − it|/SE", z, threshold,
        f"power: the wrong answer must be rejected with a margin (≥ {threshold:g} SE, "
        f"against the {band(res.replicas, np.size(wrong)):.2f}-SE acceptance band), so the "
        "check can fail",
        mode="ge")


def gram(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = X.shape[0]
    return X.T @ X / n, X.T @ y / n


def standardized_design(rng: np.random.Generator, n: int, w_true: np.ndarray,
                        noise: float = 0.5, corr: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian design with unit column scales c_j = 1 (optionally equicorrelated columns)
    and a linear response."""
    X = datasets.gaussian_design(rng, n, len(w_true), corr=corr, unit_scale=True)
    return X, datasets.response(rng, X @ np.asarray(w_true, float), noise=noise)


# --------------------------------------------------------------------------- unequal column scales
#: Spread max c / min c of the column scales of the training claims' designs.
SCALE_RATIO = 10.0


def spread_design(rng: np.random.Generator, n: int, w_true: Any, *, ratio: float = SCALE_RATIO,
                  corr: float = 0.0, orthogonal: bool = False, family: str = "gaussian",
                  noise: float = 0.5, planted: bool = False,
                  order: Any = None) -> tuple[np.ndarray, np.ndarray]:
    r"""A gaussian design whose column scales :math:`c_j = \|X_{:,j}\|^2/n` spread over
    exactly ``ratio`` (geometric, geometric mean 1, in a random column order unless ``order``
    gives it), and a response of ``family`` at :math:`\theta = Xw_{true}`.

    Draw order: the column permutation, the design (:func:`dualreg.datasets.gaussian_design`
    with ``unit_scale`` and ``scales`` = :func:`dualreg.datasets.geometric_scales` (d, ratio),
    so :math:`c_j = s_j^2` spans [ratio^{-1/2}, ratio^{1/2}]), then the response.
    ``planted`` (gaussian only): :func:`planted_response`, the least-squares fit is w_true.
    """
    w_true = np.asarray(w_true, float)
    d = w_true.size
    perm = rng.permutation(d) if order is None else np.asarray(order)
    s = datasets.geometric_scales(d, ratio)[perm]
    X = datasets.gaussian_design(rng, n, d, corr=corr, orthogonal=orthogonal, unit_scale=True,
                                 scales=s)
    if planted:
        return X, planted_response(rng, X, w_true, noise)
    return X, datasets.response(rng, X @ w_true, family, noise=noise)


def planted_response(rng: np.random.Generator, X: np.ndarray, w_true: Any,
                     noise: float) -> np.ndarray:
    r"""y = Xw_true + e with gaussian noise e projected off the columns of X, so the least
    squares fit is w_true exactly: the margins of a solution (its distance to a rule's kinks,
    to a split, to zero) then hold by construction, not by the luck of the draw."""
    e = noise * rng.standard_normal(X.shape[0])
    Q = np.linalg.qr(X)[0]
    return X @ np.asarray(w_true, float) + e - Q @ (Q.T @ e)


def scale_spread(X: np.ndarray) -> float:
    """max c / min c of the column scales of ``X``."""
    c = np.mean(np.asarray(X, float) ** 2, axis=0)
    return float(c.max() / c.min())


# --------------------------------------------------------------------------- IRLS step helpers (T5)
def scaled_problem(rng: np.random.Generator, family: str, n: int, d: int):
    """A gaussian design whose column scales c_j spread over a factor 20, three signed
    coefficients in [0.5, 1] (the rest 0) and a family response."""
    X = datasets.gaussian_design(rng, n, d, unit_scale=True,
                                 scales=datasets.geometric_scales(d, 20.0))
    w_t = np.r_[datasets.signed_magnitudes(rng, 3, 0.5, 1.0), np.zeros(d - 3)]
    return X, datasets.response(rng, X @ w_t, family, noise=0.5)


def weighted_ridge_step(G, r, w, lam, eta_of, eps, free):
    r"""The weighted-ridge step solved here: :math:`\eta = \hat\eta(\sqrt{w^2+\varepsilon})`
    from the closed form, then :math:`(X^\top X/n + \lambda\,\mathrm{diag}(1/\eta))w^+ =
    X^\top y/n` on the coordinates ``free`` (the others 0)."""
    eta = eta_of(np.sqrt(w**2 + eps))
    with np.errstate(divide="ignore"):
        delta = np.where(np.isinf(eta), 0.0, lam / eta)
    out = np.zeros_like(w)
    idx = np.flatnonzero(free)
    out[idx] = np.linalg.solve(G[np.ix_(idx, idx)] + np.diag(delta[idx]), r[idx])
    return out


# Mean losses written out independently of dualreg.families (docs/conventions.md §1).
_WRITTEN_OUT_LOSSES = {
    "gaussian": lambda y, theta: 0.5 * (y - theta) ** 2,
    "binomial": lambda y, theta: np.logaddexp(0.0, theta) - y * theta,
}


def glm_mean_loss(family: str, X, y, w, b) -> float:
    """Mean loss written out (docs/conventions.md §1): ½(y − θ)² or log(1 + e^θ) − yθ."""
    return float(np.mean(_WRITTEN_OUT_LOSSES[family](y, X @ w + b)))


SPREAD_WHY = ("a design property: c_j = ‖X_:,j‖²/n spread over ≥ 10, so a trainer that passed "
              "c ≡ 1 to the layers (or a reference without c) is off by O(1)")


def spread_row(X: np.ndarray, ratio: float = SCALE_RATIO) -> Measurement:
    """The measured spread max c / min c of a training design, against ``ratio``."""
    return Measurement("design: max c_j / min c_j", scale_spread(X), ratio * (1 - 1e-9),
                       SPREAD_WHY, mode="ge")


def resolved(res, ref: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
    """The coordinates (of ``among``, default all) on which the 1 % criterion of
    :func:`compare` is informative: 1 % of |ref| is at least the SE band, so a false failure
    there is no likelier than one of the band itself."""
    ref = np.abs(np.asarray(ref, float))
    ok = band(res.replicas, ref.size) * np.asarray(res.coef_se, float) <= REL_TOL * ref
    return ok if among is None else ok & np.asarray(among, bool)


# --------------------------------------------------------------------------- MM iterates (T11)
def mm_iterates(X, y, w0, penalty, lam, eps, family="gaussian", steps=5000, stop=1e-15):
    """Library MM steps (``dualreg.solvers.mm.eta_trick_update``, resolved at call time so that
    a planted bug reaches them; no intercept) from w0 until the sup-norm step is ≤ ``stop`` ×
    max(1, ‖w‖∞) or ``steps`` are done; the iterates as rows."""
    import importlib

    step = importlib.import_module("dualreg.solvers.mm").eta_trick_update
    its = [np.asarray(w0, float)]
    for _ in range(steps):
        its.append(step(X, y, its[-1], penalty, lam, family=family, fit_intercept=False,
                        eps=eps)[0])
        if np.max(np.abs(its[-1] - its[-2])) <= stop * max(1.0, np.max(np.abs(its[-1]))):
            break
    return np.array(its)


def eta_forms():
    """(penalty, λ, Ω'(t), η̂(t), κ̂(t) = d log η̂/d log t) for ℓ1, LogSum(0.1), ℓ0.5 and MCP(3),
    written out (docs/conventions.md §5), with a λ giving a few nonzeros on
    :func:`scaled_problem`."""
    from dualreg.penalties import L1, MCP, LogSum, Lp

    return [
        (L1(), 0.05, lambda t: np.ones_like(t), lambda t: t, lambda t: np.ones_like(t)),
        (LogSum(0.1), 0.005, lambda t: 1.0 / (t + 0.1), lambda t: t * (t + 0.1),
         lambda t: (2 * t + 0.1) / (t + 0.1)),
        (Lp(0.5), 0.01, lambda t: t**-0.5, lambda t: t**1.5, lambda t: 1.5 * np.ones_like(t)),
        (MCP(3.0, 1.0), 0.05, lambda t: np.maximum(1 - t / 3.0, 0.0),
         lambda t: 3.0 * t / (3.0 - t), lambda t: 3.0 / (3.0 - t)),
    ]


# Mean A'(θ) and curvature A''(θ) written out (docs/conventions.md §1), not from the families.
_WRITTEN_OUT_MOMENTS = {
    "gaussian": (lambda th: th, np.ones_like),
    "binomial": (lambda th: 1.0 / (1.0 + np.exp(-th)),
                 lambda th: np.exp(-np.abs(th)) / (1.0 + np.exp(-np.abs(th))) ** 2),
}


def glm_grad_hess(family: str, X, y, w) -> tuple[np.ndarray, np.ndarray]:
    """∇L and ∇²L of the mean loss (no intercept), written out."""
    mean, curv = _WRITTEN_OUT_MOMENTS[family]
    th = X @ w
    return X.T @ (mean(th) - y) / X.shape[0], (X * curv(th)[:, None]).T @ X / X.shape[0]


def ridge_start(X, y, family: str) -> np.ndarray:
    """A dense start: the library MM step with the ridge penalty at λ = 0.1 (η̂ ≡ 1), iterated
    (for gaussian one step is the ridge solution)."""
    from dualreg.penalties import Ridge

    return mm_iterates(X, y, np.zeros(X.shape[1]), Ridge(), 0.1, 0.0, family=family,
                       steps=30)[-1]
