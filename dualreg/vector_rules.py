r"""Vector (non-separable) adaptive rules: is a rule an η-trick IRLS? (proofs/T13).

A vector rule sets every coordinate's drop odds from the whole weight vector (ranks, medians).
Its **mean field** is the penalty half of the expected stop-gradient gradient (gaussian,
λ = 1, docs/conventions.md §2 and §4):

.. math:: G_j(w) = c_j\,r_j(w)\,w_j = w_j/\hat\eta_j(w),\qquad
          F_j(\theta) = \tfrac12c_j\,r_j(\sqrt\theta) = 1/(2\hat\eta_j),\quad\theta = w\odot w,

so :math:`G\cdot dw = F\cdot d\theta`. The rule implements a penalty Ω(w) = Φ(w ⊙ w) iff G is
conservative (F = ∇Φ), and is an η-trick IRLS for it iff moreover Φ is concave and
nondecreasing (T13.1). A field with a jump is conservative iff the jump is normal to the
interface; a **circulation** :math:`\oint G\cdot dw \ne 0` around one loop proves no penalty
exists.

=========================  ==========================================================
:class:`RankRule`          odds by rank of :math:`\kappa_j|w_j|` (targeted dropout, Y-Drop)
:func:`line_integral`      :math:`\int G\cdot d\gamma` on a polyline, adaptive, with error
:func:`circulation`        the same on closed polygons
:func:`random_loops`       seeded polygons in random 2-planes
:func:`potential`          :math:`\Phi(w) = \int_0^1 G(tw)\cdot w\,dt`
:func:`has_effective_penalty`  certificate: max circulation, its error, class, potential
:func:`vector_irls`        the η-trick IRLS of a vector penalty (gaussian, normal equations)
=========================  ==========================================================

numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dualreg._conventions import INDEFINITE, QUADRATIC, SUBQUADRATIC, SUPERQUADRATIC
from dualreg._validation import as_finite_array, check_positive, check_rate

__all__ = [
    "RankRule",
    "VectorCertificate",
    "circulation",
    "has_effective_penalty",
    "line_integral",
    "potential",
    "random_loops",
    "vector_irls",
]

Array = np.ndarray
Field = Callable[[Array], Array]


# --------------------------------------------------------------------------- rank rules
@dataclass(frozen=True)
class RankRule:
    r"""A rank rule: coordinate j gets the drop odds :math:`\rho_{k}` of its rank k (0 = least
    important) by the importance :math:`\kappa_j|w_j|`.

    Its mean field (λ = 1) is :math:`G_j(w) = c_j\rho_{\mathrm{rank}(j)}w_j`. Ties are broken
    by position (lower index, lower rank); they are a null set and change no line integral.

    Attributes
    ----------
    rho : array (d,)
        Odds by rank, ascending importance.
    c : array (d,)
        Column scales (the curvature the noise sees, docs/conventions.md §1).
    kappa : array (d,)
        Importance weights: 1 for targeted dropout (ranks |w|), the mean
        :math:`\overline{|x_j - x'_j|}` for Y-Drop on a linear head (its conductance,
        proofs/T8.3).
    """

    rho: Array
    c: Array
    kappa: Array

    def __post_init__(self) -> None:
        for name in ("rho", "c", "kappa"):
            object.__setattr__(self, name, as_finite_array(getattr(self, name), name).ravel())
        check_positive(self.c, "c")
        check_positive(self.kappa, "kappa")
        if not self.rho.shape == self.c.shape == self.kappa.shape:
            raise ValueError("rho, c and kappa must have one length")

    @classmethod
    def targeted(cls, p: float, gamma: float, c: Any, kappa: Any = None) -> RankRule:
        r"""Targeted dropout in the effective weights u (proofs/T7 §3): odds p/(1 − p) on the
        ⌊γd⌋ smallest :math:`\kappa_j|u_j|` (κ ≡ 1: the layer ranks |w|), 0 elsewhere."""
        c = as_finite_array(c, "c").ravel()
        p = check_rate(p, "p")
        k = int(np.floor(gamma * c.size + 1e-9))
        rho = np.where(np.arange(c.size) < k, p / (1.0 - p), 0.0)
        return cls(rho, c, np.ones_like(c) if kappa is None else kappa)

    @classmethod
    def ydrop(cls, p_low: float, p_high: float, c: Any, kappa: Any,
              mirrored: bool = False) -> RankRule:
        r"""Y-Drop, bucket mapping, absolute rule: the ⌈d/2⌉ most important units (rank
        ≥ ⌊d/2⌋, as ``dualreg.torch.YDrop``) get odds p_high/(1 − p_high), the rest p_low's
        (swapped when ``mirrored``)."""
        c = as_finite_array(c, "c").ravel()
        lo, hi = check_rate(p_low, "p_low"), check_rate(p_high, "p_high")
        lo, hi = (hi, lo) if mirrored else (lo, hi)
        rho = np.where(np.arange(c.size) >= c.size // 2, hi / (1 - hi), lo / (1 - lo))
        return cls(rho, c, kappa)

    def ranks(self, w: Array) -> Array:
        imp = self.kappa * np.abs(w)
        return np.argsort(np.argsort(imp, axis=-1, kind="stable"), axis=-1, kind="stable")

    def odds(self, w: Array) -> Array:
        """Drop odds of each coordinate at w (..., d)."""
        return self.rho[self.ranks(np.asarray(w, float))]

    def field(self, w: Array) -> Array:
        r"""Mean field :math:`G(w) = c\odot r(w)\odot w` over the last axis."""
        w = np.asarray(w, float)
        return self.c * self.odds(w) * w

    def eta(self, w: Array, lam: float = 1.0) -> Array:
        r""":math:`\eta_j = \lambda/(c_jr_j(w))` (+inf where the odds are 0)."""
        with np.errstate(divide="ignore"):
            return lam / (self.c * self.odds(w))

    def jump_ratio(self) -> float:
        r"""max/min of :math:`c_j/\kappa_j^2`: 1 iff every rank interface is conservative
        (T13.2), when ρ is not constant."""
        q = self.c / self.kappa**2
        return float(q.max() / q.min())


# --------------------------------------------------------------------------- line integrals
def _gauss(n: int) -> tuple[Array, Array]:
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0


def _lobatto(n: int) -> tuple[Array, Array]:
    """``n``-point Gauss–Lobatto nodes and weights on [0, 1] (both ends)."""
    from numpy.polynomial import legendre

    inner = legendre.Legendre.basis(n - 1).deriv().roots()
    x = np.concatenate([[-1.0], inner, [1.0]])
    w = 2.0 / (n * (n - 1) * legendre.legval(x, [0] * (n - 1) + [1]) ** 2)
    return (x + 1.0) / 2.0, w / 2.0


def line_integral(field: Field, path: Any, nodes: int = 8, rtol: float = 1e-13,
                  max_depth: int = 60) -> tuple[float, float]:
    r""":math:`\int_\gamma G\cdot d\gamma` along the polyline ``path`` (m + 1, d), with an
    error estimate.

    Each segment :math:`\gamma(t) = v_k + t(v_{k+1} - v_k)` is cut into panels; a panel is
    accepted when its ``nodes``-point Gauss–Legendre value and its (nodes + 1)-point
    Gauss–Lobatto value agree to ``rtol`` times the integral of |G·γ'| over the path, else
    bisected (a jump of G inside a panel makes them disagree, so bisection isolates it).
    Returns (integral, error) with error the sum of |Gauss − Lobatto| over accepted panels
    plus the unresolved ones: on a piecewise-polynomial integrand of degree < 2·nodes the only
    error is in the panels holding a jump, and it is bounded by their width times the jump.
    """
    path = as_finite_array(path, "path")
    starts, steps = path[:-1], np.diff(path, axis=0)
    gx, gw = _gauss(nodes)
    lx, lw = _lobatto(nodes + 1)

    def rule(lo: Array, hi: Array, seg: Array, x: Array, wts: Array) -> Array:
        t = lo[:, None] + (hi - lo)[:, None] * x
        pts = starts[seg][:, None, :] + t[..., None] * steps[seg][:, None, :]
        integrand = np.einsum("pqd,pd->pq", field(pts), steps[seg])
        return integrand @ wts * (hi - lo), np.abs(integrand) @ wts * (hi - lo)

    panels = 16
    edges = np.linspace(0.0, 1.0, panels + 1)
    seg = np.repeat(np.arange(len(steps)), panels)
    lo, hi = np.tile(edges[:-1], len(steps)), np.tile(edges[1:], len(steps))
    scale = float(np.sum(rule(lo, hi, seg, gx, gw)[1])) + 1e-300
    total, error = 0.0, 0.0
    for _ in range(max_depth):
        if lo.size == 0:
            break
        g, _ = rule(lo, hi, seg, gx, gw)
        lob, _ = rule(lo, hi, seg, lx, lw)
        diff = np.abs(g - lob)
        done = (diff <= rtol * scale) | (hi - lo <= 1e-15)
        total += float(np.sum(g[done]))
        error += float(np.sum(diff[done]))
        lo, hi, seg = lo[~done], hi[~done], seg[~done]
        mid = 0.5 * (lo + hi)
        lo, hi, seg = np.r_[lo, mid], np.r_[mid, hi], np.r_[seg, seg]
    if lo.size:
        g, _ = rule(lo, hi, seg, gx, gw)
        lob, _ = rule(lo, hi, seg, lx, lw)
        total += float(np.sum(g))
        error += float(np.sum(np.abs(g - lob)))
    return total, error + 1e-16 * scale


def circulation(field: Field, loops: Any, **kwargs: Any) -> tuple[Array, Array]:
    r""":math:`\oint G\cdot d\gamma` around each closed polygon of ``loops`` (L, m, d) (the
    last vertex is joined back to the first); returns (circulations, errors)."""
    loops = as_finite_array(loops, "loops")
    out = [line_integral(field, np.concatenate([lp, lp[:1]]), **kwargs) for lp in loops]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def random_loops(rng: np.random.Generator, d: int, count: int, sides: int = 12,
                 centre_scale: float = 1.0, radius: tuple[float, float] = (0.2, 1.0)) -> Array:
    r"""``count`` regular ``sides``-gons (count, sides, d): centre :math:`\sim
    N(0, s^2I_d)`, radius uniform in ``radius`` (times s), in the 2-plane of two random
    orthonormal directions."""
    out = np.empty((count, sides, d))
    ang = 2 * np.pi * np.arange(sides) / sides
    for i in range(count):
        q = np.linalg.qr(rng.standard_normal((d, 2)))[0]
        r = centre_scale * rng.uniform(*radius)
        out[i] = centre_scale * rng.standard_normal(d) + r * (
            np.cos(ang)[:, None] * q[:, 0] + np.sin(ang)[:, None] * q[:, 1])
    return out


def potential(field: Field, w: Any, **kwargs: Any) -> Array:
    r""":math:`\Phi(w) = \int_0^1 G(tw)\cdot w\,dt`, the line integral from 0 (the penalty,
    up to Ω(0), when G is conservative), for each row of ``w`` (..., d)."""
    w = as_finite_array(w, "w")
    flat = w.reshape(-1, w.shape[-1])
    vals = [line_integral(field, np.stack([np.zeros_like(x), x]), **kwargs)[0] for x in flat]
    return np.array(vals).reshape(w.shape[:-1])


# --------------------------------------------------------------------------- certificate
@dataclass(frozen=True)
class VectorCertificate:
    r"""Whether a vector rule's mean field has an effective penalty, with the evidence.

    ``max_circulation`` is the largest :math:`|\oint G\cdot d\gamma|` over the loops and
    ``error`` the quadrature error estimate of that loop; ``tol`` the acceptance limit
    (``k_err`` errors + a rounding floor). When conservative, ``curvature_class`` comes from
    the monotonicity of :math:`F(\theta)` along random segments
    (``max_monotone`` = max of :math:`(F(\theta) - F(\theta'))\cdot(\theta - \theta')`
    normalised, ≤ tol: Φ concave; ``min_monotone`` ≥ −tol: convex); ``eta_form`` is concave
    and nondecreasing (T13.1); ``potential`` is Φ.
    """

    conservative: bool
    max_circulation: float
    error: float
    tol: float
    curvature_class: str | None
    max_monotone: float
    min_monotone: float
    nonnegative: bool
    potential: Callable[[Array], Array] | None

    @property
    def eta_form(self) -> bool:
        return self.conservative and self.curvature_class in (SUBQUADRATIC, QUADRATIC)

    def __str__(self) -> str:
        head = (f"max |circulation| {self.max_circulation:.3g} ± {self.error:.1g} "
                f"(tol {self.tol:.1g})")
        if not self.conservative:
            return f"no effective penalty: {head}"
        return f"conservative, {self.curvature_class}: {head}"


def _theta_field(field: Field, theta: Array) -> Array:
    w = np.sqrt(theta)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w > 0, 0.5 * field(w) / np.where(w > 0, w, 1.0), 0.0)


def has_effective_penalty(field: Field, d: int, rng: np.random.Generator | None = None,
                          loops: int = 32, scale: float = 1.0, k_err: float = 10.0,
                          rtol: float = 1e-12, pairs: int = 4000) -> VectorCertificate:
    r"""Certify whether the vector field ``field`` (w ↦ G(w), (..., d) → (..., d)) is the
    gradient of a penalty Φ(w ⊙ w), in the spirit of :func:`dualreg.duality.classify`.

    Conservative when the largest circulation over ``loops`` random polygons
    (:func:`random_loops`, scale ``scale``) is within ``k_err`` of its own quadrature error
    plus ``rtol`` times the loop's work :math:`\oint|G\cdot d\gamma|`. The class follows from
    ``pairs`` random pairs θ, θ' in :math:`[0, s^2]^d`: Φ is concave iff
    :math:`(F(\theta)-F(\theta'))\cdot(\theta-\theta')\le0` for all pairs (a monotone
    gradient), convex iff ≥ 0 (normalised by :math:`|\theta-\theta'|^2` times the field's
    scale).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    polys = random_loops(rng, d, loops, centre_scale=scale)
    circ, err = circulation(field, polys)
    closed = np.concatenate([polys, polys[:, :1]], axis=1)
    work = np.array([line_integral(lambda x: np.abs(field(x)), np.abs(lp))[0] for lp in closed])
    i = int(np.argmax(np.abs(circ)))
    tol = float(k_err * err[i] + rtol * max(work[i], 1e-300))
    conservative = bool(np.all(np.abs(circ) <= k_err * err + rtol * work))
    theta = scale**2 * rng.uniform(size=(2, pairs, d))
    f0, f1 = _theta_field(field, theta[0]), _theta_field(field, theta[1])
    diff = theta[0] - theta[1]
    norm = np.sum(diff**2, axis=-1) * max(float(np.max(np.abs(f0))), 1e-300) / scale**2
    mono = np.sum((f0 - f1) * diff, axis=-1) / norm
    hi, lo = float(np.max(mono)), float(np.min(mono))
    nonneg = bool(np.all(f0 >= 0) and np.all(f1 >= 0))
    cls = None
    if conservative:
        concave, convex = hi <= 1e-12, lo >= -1e-12
        cls = (QUADRATIC if concave and convex else SUBQUADRATIC if concave and nonneg
               else SUPERQUADRATIC if convex else INDEFINITE)
    return VectorCertificate(conservative, float(abs(circ[i])), float(err[i]), tol, cls, hi,
                             lo, nonneg,
                             (lambda w: potential(field, w)) if conservative else None)


# --------------------------------------------------------------------------- IRLS
def vector_irls(H: Any, b: Any, eta_hat: Callable[[Array], Array], w0: Any, lam: float = 1.0,
                max_iter: int = 200) -> tuple[Array, int, bool]:
    r"""η-trick IRLS of a vector penalty for the gaussian normal equations
    :math:`Hw = b` (H = XᵀX/n, b = Xᵀy/n): repeat :math:`\eta = \hat\eta(w)`,
    :math:`w \leftarrow (H + \lambda\,\mathrm{diag}(1/\eta))^{-1}b` until w stops moving.

    A majorise–minimise scheme when Φ is concave (T13.1); ``eta_hat`` may return +inf (no
    penalty on that coordinate). Returns (w, iterations, converged).
    """
    H, b = as_finite_array(H, "H"), as_finite_array(b, "b")
    w = as_finite_array(w0, "w0").copy()
    for it in range(1, max_iter + 1):
        with np.errstate(divide="ignore"):
            weight = lam / eta_hat(w)
        w_new = np.linalg.solve(H + np.diag(weight), b)
        if np.allclose(w_new, w, rtol=1e-14, atol=1e-300):
            return w_new, it, True
        w = w_new
    return w, max_iter, False
