r"""Bounded adaptive quadrature of :math:`\int_0^u fn(t)\,dt` for nonnegative-or-signed
integrands with a power law at zero, jumps and kinks inside, over the whole float range.

Used by :func:`dualreg.duality.value_from_eta_hat` (the penalty a reweighting rule implements,
docs/conventions.md §3). numpy only. Every loop has a fixed budget in work and memory: when
it runs out the routine raises :class:`QuadratureError` naming what did not converge, never
refines without end.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dualreg import _numerics

Array = np.ndarray

#: Smallest absolute accuracy asked of a panel: a few hundred subnormal ulps. Below it two
#: quadrature rules cannot agree better than their own rounding.
ABS_FLOOR = 1e-320


class QuadratureError(ArithmeticError):
    """The adaptive quadrature ran out of its budget before its panels agreed."""


def _lobatto(n: int) -> tuple[Array, Array]:
    """Nodes and weights of the ``n``-point Gauss–Lobatto rule on [0, 1] (ends included)."""
    from numpy.polynomial import legendre

    inner = legendre.Legendre.basis(n - 1).deriv().roots()
    x = np.concatenate([[-1.0], inner, [1.0]])
    w = 2.0 / (n * (n - 1) * legendre.legval(x, [0] * (n - 1) + [1]) ** 2)
    return (x + 1.0) / 2.0, w / 2.0


def graded_panels(upper: Array, panels: int = 48) -> tuple[Array, Array, Array, Array]:
    r"""Geometric panels :math:`[u 2^{-k-1}, u 2^{-k}]` for each ``u``, enough of them that the
    last edge is below :math:`2^{-panels}\min(u, 1)` (so a large u still reaches the region
    near 0 where the integrand's power law is fitted; at most ~1100 panels for u = 1e308).

    Returns ``(lo, hi, owner, bottom)``: the panels (flat), the index of the ``u`` each
    belongs to, and the bottom edge per ``u``.
    """
    flat = np.asarray(upper, dtype=float).reshape(-1)
    with np.errstate(divide="ignore"):
        extra = np.ceil(np.log2(np.maximum(flat, 1.0))).astype(int)
    count = panels + np.clip(extra, 0, 1100)
    owner = np.repeat(np.arange(flat.size), count)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    k = np.arange(owner.size) - np.repeat(start, count)
    hi = flat[owner] * 2.0 ** -k.astype(float)
    lo = hi * 0.5
    bottom = flat * 2.0 ** -count.astype(float)
    return lo, hi, owner, bottom


def integrate_from_zero_adaptive(
    fn: Callable[[Array], Array],
    upper: Array,
    nodes: int = 16,
    panels: int = 48,
    rtol: float = 1e-14,
    max_depth: int = 60,
    max_panels: int = 1 << 18,
    what: str = "fn",
) -> Array:
    r""":math:`\int_0^u fn` on geometrically graded panels, each bisected until its
    Gauss–Legendre value agrees with a Gauss–Lobatto rule to ``rtol`` of the integral of
    :math:`|fn|` (or to :data:`ABS_FLOOR`).

    Adaptive rules are often piecewise: a jump (bucket rules, capped ridge) or a kink
    (η̂ = +inf beyond a threshold: MCP, SCAD) inside a panel costs the plain rule ~1e-3.
    The two rules sample the panel at different points (Lobatto's include the ends and the
    midpoint), so a jump or kink anywhere in a panel makes them disagree, and bisection
    isolates it in a panel whose contribution is below ``rtol``; on smooth panels both are
    exact to degree 31 and agree at once. Below the smallest panel, the power-law tail of
    :func:`_numerics.integrate_from_zero`.

    A panel where ``fn`` is +inf makes the integral +inf (a nonintegrable point); NaN raises.
    Work and memory are bounded: at most ``max_depth`` bisection rounds and ``max_panels``
    (plus the initial panels) live at once; past either, :class:`QuadratureError` names
    ``what``.
    """
    shape = np.shape(upper)
    flat = np.asarray(upper, dtype=float).reshape(-1)
    n = flat.size
    lo, hi, owner, bottom = graded_panels(flat, panels)
    budget = lo.size + max_panels
    total = _numerics.integrate_from_zero(fn, bottom, nodes=nodes, panels=1)
    infinite = np.zeros(n, dtype=bool)
    lx, lw = _lobatto(nodes + 1)  # odd: samples the midpoint too
    scale = None
    for _ in range(max_depth):
        if lo.size == 0:
            break
        width = hi - lo
        samples = fn(lo[:, None] + width[:, None] * lx)
        gauss = _numerics.integrate(fn, lo, hi, nodes=nodes)
        if np.any(np.isnan(samples)) or np.any(np.isnan(gauss)):
            raise ValueError(f"{what} gave NaN inside the integration interval")
        lobatto = np.sum(samples * lw, axis=1) * width
        inf_panel = np.isinf(gauss) | np.isinf(lobatto)
        infinite |= np.bincount(owner, inf_panel, minlength=n) > 0
        if scale is None:
            finite_gauss = np.where(inf_panel, 0.0, np.abs(gauss))
            scale = np.bincount(owner, finite_gauss, minlength=n) + np.abs(total)
        with np.errstate(invalid="ignore"):
            done = np.abs(gauss - lobatto) <= np.maximum(rtol * scale[owner], ABS_FLOOR)
        done |= inf_panel | infinite[owner]
        done |= width <= np.maximum(1e-15 * hi, ABS_FLOOR)
        total += np.bincount(owner[done], np.where(inf_panel[done], 0.0, gauss[done]),
                             minlength=n)
        keep = ~done
        lo, hi, owner = lo[keep], hi[keep], owner[keep]
        if 2 * lo.size > budget:
            raise QuadratureError(
                f"the quadrature of {what} did not converge within its budget of "
                f"{budget} panels (is it defined and piecewise smooth on [0, {flat.max():g}]?)"
            )
        mid = 0.5 * (lo + hi)
        lo, hi = np.concatenate([lo, mid]), np.concatenate([mid, hi])
        owner = np.concatenate([owner, owner])
    if lo.size:
        total += np.bincount(owner, _numerics.integrate(fn, lo, hi, nodes=nodes), minlength=n)
    return np.where(infinite, np.inf, total).reshape(shape)
