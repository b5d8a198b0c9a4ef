r"""Generic conversions between the faces of a penalty (docs/conventions.md §3–4).

=================  ==============================================================
Ω → η̂              :math:`\hat\eta(w) = |w| / \Omega'(|w|)` (central differences)
η̂ → Ω              :math:`\Omega(w) = \int_0^{|w|} t/\hat\eta(t)\,dt` (quadrature)
Ω → f              :math:`f(\eta) = \sup_w [2\Omega(w) - w^2/\eta]` (global 1-D search)
f → Ω              :math:`\Omega(w) = \tfrac12 \min_\eta [w^2/\eta + f(\eta)]`
η̂ → f              :math:`f(\eta) = 2\Omega(w_\eta) - w_\eta^2/\eta`,
                   :math:`w_\eta = \hat\eta^{-1}(\eta)`
η ↔ α (Bernoulli)  :math:`\alpha = c\eta/(c\eta + \lambda)`,
                   :math:`\eta = \lambda\alpha/(c(1-\alpha))`
η ↔ σ² (Gaussian)  :math:`\sigma^2 = \lambda/(c\eta)`
=================  ==============================================================

(the η ↔ α ↔ σ² maps live in the leaf :mod:`dualreg._conventions` and are
re-exported here) and :func:`classify`, the curvature class of a penalty with its numerical
certificate.
numpy and scipy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dualreg import _numerics, _quadrature
from dualreg._conventions import (
    INDEFINITE,
    QUADRATIC,
    SUBQUADRATIC,
    SUPERQUADRATIC,
    drop_odds,
    eta_to_keep_prob,
    eta_to_noise_variance,
    keep_prob_to_eta,
    noise_variance_to_eta,
)
from dualreg._validation import (
    as_finite_array,
    as_nonnegative_array,
    check_callable,
    check_int,
    check_positive,
    check_scalar,
)

__all__ = [
    "Classification",
    "classify",
    "drop_odds",
    "dual_from_eta_hat",
    "dual_from_value",
    "eta_hat_from_value",
    "eta_to_keep_prob",
    "eta_to_noise_variance",
    "keep_prob_to_eta",
    "noise_variance_to_eta",
    "value_from_dual",
    "value_from_eta_hat",
]

Array = np.ndarray


# --------------------------------------------------------------------------- Ω, η̂, f
def eta_hat_from_value(omega: Callable[[Array], Array], w: Any, rel_step: float = 1e-5) -> Array:
    r""":math:`\hat\eta(w) = |w| / \Omega'(|w|)` with Ω' by central differences.

    The step is ``rel_step * |w|`` (relative error :math:`O(h^2)` ≈ 1e-10 for smooth Ω).
    At w = 0 the value is the limit :math:`\hat\eta(0^+)`, extrapolated linearly from
    :math:`\hat\eta(h_0)` and :math:`\hat\eta(h_0/2)`, :math:`h_0` = 1e-6 (exact for a kink,
    η̂ = O(t), and for η̂ smooth at 0 up to :math:`O(h_0^2)`), clipped at 0.
    """
    omega = check_callable(omega, "omega")
    rel_step = check_scalar(rel_step, "rel_step", 0.0, 0.1, low_inclusive=False)
    t = np.abs(as_finite_array(w, "w"))

    def at(u: Array) -> Array:
        h = rel_step * np.maximum(u, 1e-300)
        with np.errstate(over="ignore", invalid="ignore"):
            slope = (np.asarray(omega(u + h), float) - np.asarray(omega(u - h), float)) / (2 * h)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(slope > 0, u / slope, np.inf)

    out = at(t)
    if np.any(t == 0):
        h0 = np.array([1e-6, 5e-7])
        e1, e2 = at(h0)
        limit = np.inf if np.isinf(e1) or np.isinf(e2) else max(2.0 * e2 - e1, 0.0)
        out = np.where(t == 0, limit, out)
    return out


def value_from_eta_hat(eta_hat: Callable[[Array], Array], w: Any) -> Array:
    r""":math:`\Omega(w) - \Omega(0) = \int_0^{|w|} t/\hat\eta(t)\,dt` by graded quadrature.

    This is the adaptive-rule direction: the penalty a reweighting rule implements.
    """
    eta_hat = check_callable(eta_hat, "eta_hat")
    t = np.abs(as_finite_array(w, "w"))

    def integrand(s: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            e = np.asarray(eta_hat(s), dtype=float)
            # t = 0 is one point (0/0 for a kink rule, η̂(0) = 0): its value does not count.
            out = np.where(np.isinf(e) | (s == 0), 0.0, s / e)
        if np.any(np.isnan(e)) or np.any(e < 0):
            raise ValueError("eta_hat must return values >= 0 (not NaN) on [0, |w|]")
        # +inf is a flat Ω (η̂ = ∞ by design: MCP beyond b) unless the rule overflowed: a
        # finite η̂ beyond 1e250 next to an infinite one reads as overflow, and Ω there
        # would be silently too small.
        if np.any(np.isinf(e)) and np.any(np.isfinite(e) & (e > 1e250)):
            raise ValueError(
                "eta_hat overflows to inf on [0, |w|] (finite values above 1e250 next to inf): "
                "Ω cannot be integrated there; use a smaller |w| or a rule that stays finite"
            )
        return out

    out = _quadrature.integrate_from_zero_adaptive(integrand, t, what="t/eta_hat(t)")
    # An empty interval integrates to 0 even where t/η̂(t) is 0/0 at t = 0 (η̂(0) = 0: a kink).
    return np.where(t > 0, out, 0.0)


def dual_from_value(
    omega: Callable[[Array], Array], eta: Any, w_max: float | Array | None = None
) -> Array:
    r""":math:`f(\eta) = \sup_{w \ge 0} [2\Omega(w) - w^2/\eta]` by a global 1-D search.

    The search interval is :math:`[0, w_{max}]`; by default :math:`w_{max} = 10 + 10\sqrt\eta\,
    \cdot \max(1, \eta)`, enough for every subquadratic Ω whose slope is at most 1 far out
    (the maximiser solves :math:`\Omega'(w) = w/\eta`).
    """
    omega = check_callable(omega, "omega")
    eta = as_finite_array(eta, "eta")
    if np.any(eta < 0):
        raise ValueError(f"eta must be >= 0, got {float(eta.min())!r}")
    if w_max is None:
        w_max = 10.0 + 10.0 * np.sqrt(eta) * np.maximum(1.0, eta)
    else:
        w_max = check_positive(w_max, "w_max")
    if np.any(np.broadcast_to(w_max, eta.shape) > 1e150):
        raise ValueError("eta (or w_max) too large: the search for sup_w [2Ω(w) − w²/η] is "
                         "limited to w <= 1e150")
    e = np.where(eta > 0, eta, 1.0).reshape(-1, 1)

    def neg(w: Array) -> Array:
        return -(2.0 * np.asarray(omega(w), float) - w**2 / e)

    _, best = _numerics.minimize_on_interval(
        neg, np.zeros(eta.size), np.broadcast_to(w_max, eta.shape).reshape(-1), log_grid=True
    )
    # η = 0: only w = 0 is admissible (w²/η = +inf elsewhere), so f(0) = 2Ω(0).
    at_zero = 2.0 * float(np.asarray(omega(np.zeros(1)), float)[0])
    return np.where(eta == 0, at_zero, -best.reshape(eta.shape))


def value_from_dual(
    dual: Callable[[Array], Array], w: Any, eta_lo: float = 1e-12, eta_hi: float = 1e12
) -> Array:
    r""":math:`\Omega(w) = \tfrac12 \min_{\eta} [w^2/\eta + f(\eta)]`, minimised over
    :math:`\log\eta \in [\log\eta_{lo}, \log\eta_{hi}]` by a global 1-D search."""
    dual = check_callable(dual, "dual")
    eta_lo = check_scalar(eta_lo, "eta_lo", 0.0, np.inf, low_inclusive=False)
    eta_hi = check_scalar(eta_hi, "eta_hi", eta_lo, np.inf, low_inclusive=False)
    t = np.abs(as_finite_array(w, "w"))
    tt = t.reshape(-1, 1)

    def objective(z: Array) -> Array:
        eta = np.exp(z)
        with np.errstate(over="ignore"):
            return tt**2 / eta + dual(eta)

    lo = np.full(t.size, np.log(eta_lo))
    hi = np.full(t.size, np.log(eta_hi))
    _, best = _numerics.minimize_on_interval(objective, lo, hi, grid=129)
    return 0.5 * best.reshape(t.shape)


def dual_from_eta_hat(
    eta_hat: Callable[[Array], Array],
    value: Callable[[Array], Array],
    eta: Any,
) -> Array:
    r""":math:`f(\eta) = 2\Omega(w_\eta) - w_\eta\,(w_\eta/\eta)` with
    :math:`w_\eta = \hat\eta^{-1}(\eta)` (η̂ must be nondecreasing: the subquadratic case).

    The root of :math:`\log\hat\eta(e^z) = \log\eta` is found by
    :func:`scipy.optimize.elementwise.find_root` in :math:`z = \log w` on the bracket of all
    positive floats (5e-324 … 1.8e308), so no η is out of reach. Where
    :math:`\eta \le \hat\eta(0^+)` the supremum is at w = 0 and f = 2Ω(0); where η̂ stays below
    η on all floats, :math:`2\Omega(w) - w^2/\eta \ge w^2(1/\sup\hat\eta - 1/\eta)` is
    unbounded and f = +inf; f(+inf) = 2Ω(1.8e308).
    """
    from scipy.optimize import elementwise

    eta_hat, value = check_callable(eta_hat, "eta_hat"), check_callable(value, "value")
    eta = as_nonnegative_array(eta, "eta", allow_inf=True)
    flat = eta.reshape(-1)
    z_lo, z_hi = np.log(np.nextafter(0.0, 1.0)), np.log(np.finfo(float).max)
    with np.errstate(divide="ignore"):
        log_eta = np.log(flat)

    def gap(z: Array, target: Array) -> Array:
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            e = np.asarray(eta_hat(np.exp(z)), dtype=float)
            return np.clip(np.log(e) - target, -3000.0, 3000.0)

    interior = (flat > 0) & np.isfinite(flat)
    at_zero = flat == 0
    at_zero |= interior & (gap(np.full(flat.shape, z_lo), log_eta) >= 0)
    unbounded = interior & ~at_zero & (gap(np.full(flat.shape, z_hi), log_eta) < 0)
    solve = interior & ~at_zero & ~unbounded
    w_eta = np.where(np.isinf(flat), np.exp(z_hi), 0.0)
    if np.any(solve):
        res = elementwise.find_root(gap, (z_lo, z_hi), args=(log_eta[solve],),
                                    tolerances={"xatol": 1e-15, "xrtol": 1e-16})
        w_eta[solve] = np.exp(res.x)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        quad = np.where(interior, w_eta * (w_eta / np.where(interior, flat, 1.0)), 0.0)
        out = 2.0 * np.asarray(value(w_eta), dtype=float) - quad
    return np.where(unbounded, np.inf, out).reshape(eta.shape)


# --------------------------------------------------------------------------- classification
@dataclass(frozen=True)
class Classification:
    r"""Curvature class of a penalty, with its certificate.

    ``max_second_difference`` is the largest (normalised) second difference of
    :math:`g(\theta) = \Omega(\sqrt\theta)` on the grid: ≤ ``tol`` certifies concavity
    (subquadratic); ``min_second_difference`` ≥ ``-tol`` certifies convexity (superquadratic).
    ``nondecreasing`` is whether g never decreases on the grid.
    """

    curvature_class: str
    max_second_difference: float
    min_second_difference: float
    nondecreasing: bool
    tol: float

    def __str__(self) -> str:
        return (
            f"{self.curvature_class} (second differences of Ω(√θ) in "
            f"[{self.min_second_difference:.3g}, {self.max_second_difference:.3g}], "
            f"tol {self.tol:.1g})"
        )


def classify(
    penalty_or_value: Any, t_max: float = 10.0, n: int = 2001, rtol: float = 1e-10
) -> Classification:
    r"""Classify Ω by the curvature of :math:`g(\theta) = \Omega(\sqrt\theta)` on
    :math:`\theta \in [0, t_{max}^2]`.

    Second differences are divided by the range of g; the tolerance ``rtol`` is the noise
    floor of Ω's evaluation (≈1e-16 for closed forms, ≤ 1e-11 for the table-based VarDrop and
    hard-concrete penalties), so curvature below it reads as zero.
    Concave and nondecreasing → subquadratic; convex → superquadratic; both (affine) →
    quadratic; otherwise indefinite.
    """
    value = check_callable(getattr(penalty_or_value, "value", penalty_or_value),
                           "penalty_or_value")
    t_max = check_scalar(t_max, "t_max", 0.0, 1e150, low_inclusive=False)
    n = check_int(n, "n", 5, 10**7)
    rtol = check_scalar(rtol, "rtol", 0.0, 1.0)
    theta = np.linspace(0.0, t_max**2, n)
    g = np.asarray(value(np.sqrt(theta)), dtype=float)
    scale = max(float(np.ptp(g)), 1e-300)
    d2 = (g[2:] - 2 * g[1:-1] + g[:-2]) / scale
    tol = rtol
    hi, lo = float(np.max(d2)), float(np.min(d2))
    nondecreasing = bool(np.all(np.diff(g) >= -rtol * scale))
    concave, convex = hi <= tol, lo >= -tol
    if concave and convex:
        cls = QUADRATIC
    elif concave and nondecreasing:
        cls = SUBQUADRATIC
    elif convex:
        cls = SUPERQUADRATIC
    else:
        cls = INDEFINITE
    return Classification(cls, hi, lo, nondecreasing, tol)
