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

from dualreg import _numerics
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
from dualreg._validation import as_finite_array

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
    """
    t = np.abs(as_finite_array(w, "w"))
    h = rel_step * np.maximum(t, 1e-300)
    slope = (omega(t + h) - omega(t - h)) / (2 * h)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(slope > 0, t / slope, np.inf)


def value_from_eta_hat(eta_hat: Callable[[Array], Array], w: Any) -> Array:
    r""":math:`\Omega(w) - \Omega(0) = \int_0^{|w|} t/\hat\eta(t)\,dt` by graded quadrature.

    This is the adaptive-rule direction: the penalty a reweighting rule implements.
    """
    t = np.abs(as_finite_array(w, "w"))

    def integrand(s: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            e = eta_hat(s)
            out = np.where(np.isinf(e), 0.0, s / e)
        return out

    out = _integrate_from_zero_adaptive(integrand, t)
    # An empty interval integrates to 0 even where t/η̂(t) is 0/0 at t = 0 (η̂(0) = 0: a kink).
    return np.where(t > 0, out, 0.0)


def _lobatto(n: int) -> tuple[Array, Array]:
    """Nodes and weights of the ``n``-point Gauss–Lobatto rule on [0, 1] (ends included)."""
    from numpy.polynomial import legendre

    inner = legendre.Legendre.basis(n - 1).deriv().roots()
    x = np.concatenate([[-1.0], inner, [1.0]])
    w = 2.0 / (n * (n - 1) * legendre.legval(x, [0] * (n - 1) + [1]) ** 2)
    return (x + 1.0) / 2.0, w / 2.0


def _integrate_from_zero_adaptive(
    fn: Callable[[Array], Array],
    upper: Array,
    nodes: int = 16,
    panels: int = 48,
    rtol: float = 1e-14,
    max_depth: int = 60,
) -> Array:
    r""":math:`\int_0^u fn` on the graded panels of :func:`_numerics.integrate_from_zero`,
    each bisected until its Gauss–Legendre value agrees with a Gauss–Lobatto rule to ``rtol``
    of the integral of |fn|.

    Adaptive rules are often piecewise: a jump (bucket rules, capped ridge) or a kink
    (η̂ = +inf beyond a threshold: MCP, SCAD) inside a panel costs the plain rule ~1e-3.
    The two rules sample the panel at different points (Lobatto's include the ends and the
    midpoint), so a jump or kink anywhere in a panel makes them disagree, and bisection
    isolates it in a panel whose contribution is below ``rtol``; on smooth panels both are
    exact to degree 31 and agree at once. Below the smallest panel, the power-law tail of
    :func:`_numerics.integrate_from_zero`.
    """
    flat = np.asarray(upper, dtype=float).reshape(-1)
    n = flat.size
    edges = flat[:, None] * 2.0 ** -np.arange(panels + 1)
    total = _numerics.integrate_from_zero(fn, edges[:, -1], nodes=nodes, panels=1)
    lo, hi = edges[:, 1:].reshape(-1), edges[:, :-1].reshape(-1)
    owner = np.repeat(np.arange(n), panels)
    lx, lw = _lobatto(nodes + 1)  # odd: samples the midpoint too
    scale = None
    for _ in range(max_depth):
        if lo.size == 0:
            break
        width = hi - lo
        gauss = _numerics.integrate(fn, lo, hi, nodes=nodes)
        lobatto = np.sum(fn(lo[:, None] + width[:, None] * lx) * lw, axis=1) * width
        if scale is None:
            scale = np.bincount(owner, np.abs(gauss), minlength=n) + np.abs(total)
        done = np.abs(gauss - lobatto) <= rtol * scale[owner]
        done |= width <= 1e-15 * flat[owner]
        total += np.bincount(owner[done], gauss[done], minlength=n)
        keep = ~done
        lo, hi, owner = lo[keep], hi[keep], owner[keep]
        mid = 0.5 * (lo + hi)
        lo, hi = np.concatenate([lo, mid]), np.concatenate([mid, hi])
        owner = np.concatenate([owner, owner])
    if lo.size:
        total += np.bincount(owner, _numerics.integrate(fn, lo, hi, nodes=nodes), minlength=n)
    return total.reshape(np.shape(upper))


def dual_from_value(
    omega: Callable[[Array], Array], eta: Any, w_max: float | Array | None = None
) -> Array:
    r""":math:`f(\eta) = \sup_{w \ge 0} [2\Omega(w) - w^2/\eta]` by a global 1-D search.

    The search interval is :math:`[0, w_{max}]`; by default :math:`w_{max} = 10 + 10\sqrt\eta\,
    \cdot \max(1, \eta)`, enough for every subquadratic Ω whose slope is at most 1 far out
    (the maximiser solves :math:`\Omega'(w) = w/\eta`).
    """
    eta = np.asarray(eta, dtype=float)
    if w_max is None:
        w_max = 10.0 + 10.0 * np.sqrt(eta) * np.maximum(1.0, eta)
    e = eta.reshape(-1, 1)

    def neg(w: Array) -> Array:
        return -(2.0 * omega(w) - w**2 / e)

    _, best = _numerics.minimize_on_interval(
        neg, np.zeros(eta.size), np.broadcast_to(w_max, eta.shape).reshape(-1), log_grid=True
    )
    return -best.reshape(eta.shape)


def value_from_dual(
    dual: Callable[[Array], Array], w: Any, eta_lo: float = 1e-12, eta_hi: float = 1e12
) -> Array:
    r""":math:`\Omega(w) = \tfrac12 \min_{\eta} [w^2/\eta + f(\eta)]`, minimised over
    :math:`\log\eta \in [\log\eta_{lo}, \log\eta_{hi}]` by a global 1-D search."""
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
    w_hi: float = 1e8,
) -> Array:
    r""":math:`f(\eta) = 2\Omega(w_\eta) - w_\eta^2/\eta` with :math:`w_\eta = \hat\eta^{-1}(\eta)`
    found by bisection (η̂ must be nondecreasing: the subquadratic case). Where
    :math:`\eta \le \hat\eta(0)` the supremum is at w = 0 and f = 2Ω(0)."""
    eta = np.asarray(eta, dtype=float)
    w_eta = _numerics.bisect_increasing(
        eta_hat, eta, np.zeros_like(eta), np.full_like(eta, w_hi), iterations=200
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 2.0 * value(w_eta) - np.where(w_eta > 0, w_eta**2 / eta, 0.0)
    return out


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
    value = getattr(penalty_or_value, "value", penalty_or_value)
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
