r"""Quantified look-alikes: the best classical match of a penalty and the gap of a pairing.

A dropout-derived penalty Ω "looks like" a classical family Ψ_θ when some member is uniformly
close to it. Both are measured from zero and the member carries an overall scale λ:

.. math::

    \mathrm{gap}(\Omega, \lambda\Psi_\theta; [lo, hi]) = \sup_{lo \le t \le hi}
    \big|[\Omega(t) - \Omega(0)] - \lambda[\Psi_\theta(t) - \Psi_\theta(0)]\big|

(the sup norm on magnitudes t = |w|; every penalty here is even). The **best match** in a
family minimises the gap over θ and, unless it is fixed, over λ > 0. The families
(:data:`FAMILIES`) and their members measured from 0:

=======  ===================================================  ==============
LogSum   λ[log(t + ε) − log ε]                                ε > 0
MCP      λ[t − t²/(2b)] on t ≤ b, λb/2 beyond                 b > 0
SCAD     λ·SCAD(a, s): t, then quadratic, then s(a + 1)/2      a > 1, s > 0
Lp       λ t^p/p                                              0 < p ≤ 2
=======  ===================================================  ==============

**The sup is certified.** Both functions are nondecreasing in t (every penalty with an
η-form is), so on a cell [t_i, t_{i+1}] the error e = A − B lies in
[A(t_i) − B(t_{i+1}), A(t_{i+1}) − B(t_i)]: |e| ≤ max(A_{i+1} − B_i, B_{i+1} − A_i). Cells whose
bound exceeds the largest |e| found so far by more than ``tol`` are bisected until none is
left; the reported ``gap`` is attained at ``argmax`` and the true sup lies in
[gap, gap_upper] with gap_upper − gap ≤ ``tol``. No Lipschitz constant is needed, so the
infinite slope of ℓp (p < 1) at 0 is covered.

**The fit is not certified.** The minimax over (λ, θ) is solved on a dense grid: λ by a
bounded 1-D search (the error is convex in λ), θ by a coarse scan then Nelder–Mead, and
the grid is enlarged with the certified argmax of each round (an exchange step) until the
certified gap and the grid value agree to ``tol_fit``. The result is the best member the
optimiser found; proofs/T10 checks it against an independent optimiser.

**Tails.** On a bounded interval every gap is finite; at infinity it diverges when the tail
log-slopes :math:`s = \lim t\,\Omega'(t)` (the coefficient of log t) differ: then the error
grows like |Δs| log t. :func:`tail_slope` evaluates t Ω'(t) at ``w_tail`` = 10⁶: 1 for
variational dropout, λ for λ·LogSum, 0 for bounded penalties, λt^p for ℓp.
numpy and scipy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from dualreg._validation import check_int, check_scalar
from dualreg.penalties import MCP, SCAD, HardConcrete, LogSum, Lp, Penalty, VarDrop

__all__ = [
    "FAMILIES",
    "PAPER_PAIRINGS",
    "Family",
    "Match",
    "Pairing",
    "best_match",
    "compare",
    "matched_pairings",
    "pairing_gap",
    "sup_gap",
    "tail_slope",
]

Array = np.ndarray

#: Where the tail log-slope t Ω'(t) is evaluated.
W_TAIL = 1e6
#: The default interval of magnitudes: the range of the paper's penalty figure, [0, 5].
INTERVAL = (0.0, 5.0)


@dataclass(frozen=True)
class Family:
    """A classical family: shape parameters θ, searched in unconstrained coordinates x.

    ``member(x)`` builds the penalty, ``params(x)`` names θ, ``box`` bounds the coarse scan
    of x (Nelder–Mead may leave it; ``member`` clips to ``limits``).
    """

    name: str
    member: Callable[[Array], Penalty] = field(repr=False)
    params: Callable[[Array], dict[str, float]] = field(repr=False)
    box: tuple[tuple[float, float], ...] = ()
    limits: tuple[tuple[float, float], ...] = ()

    def clip(self, x: Array) -> Array:
        lo, hi = np.array(self.limits, dtype=float).T
        return np.clip(np.asarray(x, dtype=float), lo, hi)


def _logsum(x):
    return LogSum(float(np.exp(x[0])))


def _mcp(x):
    return MCP(float(np.exp(x[0])), 1.0)


def _scad(x):
    return SCAD(1.0 + float(np.exp(x[0])), float(np.exp(x[1])))


def _lp(x):
    return Lp(float(x[0]))


_LOG = (-12.0, 12.0)
#: The families: LogSum(ε) in x = log ε; MCP(b) in log b (a = b, scale 1); SCAD(a, s) in
#: (log(a − 1), log s); ℓp in p itself.
FAMILIES: dict[str, Family] = {
    "LogSum": Family("LogSum", lambda x: _logsum(x), lambda x: {"eps": float(np.exp(x[0]))},
                     ((-7.0, 5.0),), (_LOG,)),
    "MCP": Family("MCP", lambda x: _mcp(x), lambda x: {"b": float(np.exp(x[0]))},
                  ((-5.0, 4.0),), (_LOG,)),
    "SCAD": Family("SCAD", lambda x: _scad(x),
                   lambda x: {"a": 1.0 + float(np.exp(x[0])), "s": float(np.exp(x[1]))},
                   ((-4.0, 3.0), (-5.0, 3.0)), (_LOG, _LOG)),
    "Lp": Family("Lp", lambda x: _lp(x), lambda x: {"p": float(x[0])}, ((0.05, 2.0),),
                 ((0.02, 2.0),)),
}


@dataclass(frozen=True)
class Match:
    """A classical member against a penalty on an interval, with its certified sup gap.

    Attributes
    ----------
    target, family : str
        The penalty's repr and the family's name.
    params : dict
        The member's shape parameters θ (as :data:`FAMILIES` names them).
    scale : float
        Its overall scale λ.
    gap : float
        sup |e| over the interval, attained at ``argmax`` (a lower bound of the true sup).
    gap_upper : float
        Certified upper bound of the sup (monotone bracket); ``gap_upper − gap ≤ tol``.
    argmax : float
        Where |e| attains ``gap``.
    interval : tuple of float
        The magnitudes [lo, hi] compared.
    tail_target, tail_member : float
        Tail log-slopes t Ω'(t) at :data:`W_TAIL` (the member's includes λ).
    member : Penalty
        The member (unscaled); the compared function is ``scale·(member(t) − member(0))``.
    """

    target: str
    family: str
    params: dict[str, float]
    scale: float
    gap: float
    gap_upper: float
    argmax: float
    interval: tuple[float, float]
    tail_target: float
    tail_member: float
    member: Penalty = field(repr=False, compare=False)

    @property
    def diverges(self) -> bool:
        """Whether the gap grows without bound on [0, ∞): the tail log-slopes differ
        (by more than 10⁻³ relative), so |e(t)| ~ |Δs| log t."""
        a, b = self.tail_target, self.tail_member
        return bool(abs(a - b) > 1e-3 * max(1.0, abs(a), abs(b)))


@dataclass(frozen=True)
class Pairing:
    """A pairing drawn in a figure: ``scale·member`` drawn beside ``target``."""

    label: str
    target: Penalty
    family: str
    member: Penalty
    scale: float


#: The paper's pairings, as drawn in its penalty figure (LeJeune, Javadi & Baraniuk 2021;
#: ``dualreg.plots.penalties``): variational dropout beside 2·LogSum(ε = 2), hard concrete
#: beside √2·MCP(a = ½, scale = √2).
PAPER_PAIRINGS: tuple[Pairing, ...] = (
    Pairing("VarDrop ≈ 2·LogSum(2)", VarDrop(), "LogSum", LogSum(2.0), 2.0),
    Pairing("HardConcrete ≈ √2·MCP(½, √2)", HardConcrete(), "MCP", MCP(0.5, np.sqrt(2.0)),
            float(np.sqrt(2.0))),
)


#: The tail constant of variational dropout, Ω(t) = log t + C − 1/(2t²) + O(t⁻⁴) with
#: C = (1 + γ_E + log 2)/2 (proofs/T7_dropout_penalties.md, T7.1(d)).
VARDROP_TAIL_CONSTANT = 0.5 * (1.0 + np.euler_gamma + np.log(2.0))


def matched_pairings() -> tuple[Pairing, ...]:
    r"""Pairings built from the asymptotics (proofs/T10): hard concrete beside the MCP with its
    kink slope √κ and plateau ½ (λ = √κ, b = 1/√κ); variational dropout beside the LogSum with
    its kink slope and tail log-slope (λ = 1, ε = 1), and beside the LogSum with its whole tail
    asymptote log t + C (λ = 1, ε = e^{−C}, kink slope e^C)."""
    kappa_root = HardConcrete().slope_at_zero()
    eps_tail = float(np.exp(-VARDROP_TAIL_CONSTANT))
    return (
        Pairing("HardConcrete ≈ MCP, slope and plateau matched", HardConcrete(), "MCP",
                MCP(1.0 / kappa_root, 1.0), kappa_root),
        Pairing("VarDrop ≈ LogSum(1), slope at 0 and tail slope matched", VarDrop(), "LogSum",
                LogSum(1.0), 1.0),
        Pairing("VarDrop ≈ LogSum(e^−C), tail asymptote matched", VarDrop(), "LogSum",
                LogSum(eps_tail), 1.0),
    )


# --------------------------------------------------------------------------- validation
def _interval(interval: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in interval)
    except (TypeError, ValueError) as err:
        raise ValueError(f"interval must be a pair (lo, hi) of magnitudes, got {interval!r}"
                         ) from err
    lo = check_scalar(lo, "interval[0]", 0.0, np.inf)
    hi = check_scalar(hi, "interval[1]", 0.0, np.inf)
    if not hi > lo:
        raise ValueError(f"interval must have lo < hi, got {interval!r}")
    return lo, hi


def _penalty(p: Any, name: str) -> Penalty:
    if not isinstance(p, Penalty) or not getattr(p, "separable", True):
        raise ValueError(f"{name} must be a separable dualreg Penalty, got {p!r}")
    return p


def _family(family: Any) -> Family:
    if isinstance(family, Family):
        return family
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    return FAMILIES[family]


def _from_zero(p: Penalty, t: Array) -> Array:
    return p.value(t) - p.value(np.zeros(1))[0]


def _grid(lo: float, hi: float, n: int) -> Array:
    """n uniform points on [lo, hi] plus n/4 geometric ones towards lo (for cusps at 0)."""
    uniform = np.linspace(lo, hi, n)
    graded = lo + np.geomspace(1e-9 * (hi - lo), (hi - lo) / n, n // 4)
    return np.unique(np.concatenate([uniform, graded[graded < hi]]))


# --------------------------------------------------------------------------- the certified sup
def sup_gap(target: Penalty, member: Penalty, scale: float = 1.0, *,
            interval: Sequence[float] = INTERVAL, tol: float = 1e-7, grid: int = 4001,
            max_rounds: int = 60, max_split: int = 16384) -> tuple[float, float, float]:
    r"""Certified :math:`\sup_t |[\Omega(t) - \Omega(0)] - \lambda[\Psi(t) - \Psi(0)]|`.

    Returns ``(gap, argmax, gap_upper)``: |e(argmax)| = gap ≤ sup ≤ gap_upper ≤ gap + tol
    (the monotone bracket of the module docstring; open cells are bisected, the worst
    ``max_split`` per round, for at most ``max_rounds`` rounds, after which ``gap_upper`` says
    how far it got: a near-exact match, gap ≈ 0, needs cells of width tol/slope and may stop
    with gap_upper − gap above ``tol``).

    Raises
    ------
    ValueError
        On a bad argument, or when either function decreases on the interval (the bracket
        needs both nondecreasing).
    """
    target = _penalty(target, "target")
    member = _penalty(member, "member")
    lam = check_scalar(scale, "scale", 0.0, np.inf, low_inclusive=False)
    lo, hi = _interval(interval)
    tol = check_scalar(tol, "tol", 0.0, np.inf, low_inclusive=False)
    grid = check_int(grid, "grid", 3)

    def both(t):
        return _from_zero(target, t), lam * _from_zero(member, t)

    t = _grid(lo, hi, grid)
    a, b = both(t)
    for name, v in (("target", a), ("scale·member", b)):
        if np.any(np.diff(v) < -1e-9 * (1.0 + np.abs(v[1:]))):
            raise ValueError(f"{name} decreases on the interval: the certified sup needs "
                             "penalties nondecreasing in |w|")
    err = np.abs(a - b)
    k = int(np.argmax(err))
    best, where = float(err[k]), float(t[k])
    cells = [t[:-1], t[1:], a[:-1], a[1:], b[:-1], b[1:]]
    upper = best
    for _ in range(max_rounds):
        tl, tr, al, ar, bl, br = cells
        bound = np.maximum(ar - bl, br - al)
        upper = max(best, float(np.max(bound)))
        split = np.flatnonzero(bound > best + tol)
        if split.size == 0:
            break
        if split.size > max_split:  # the worst cells first; the others wait for a later round
            split = split[np.argsort(bound[split])[-max_split:]]
        tm = 0.5 * (tl[split] + tr[split])
        am, bm = both(tm)
        em = np.abs(am - bm)
        k = int(np.argmax(em))
        if em[k] > best:
            best, where = float(em[k]), float(tm[k])
        keep = np.ones(tl.size, dtype=bool)
        keep[split] = False
        cells = [np.concatenate([v[keep], left, right]) for v, left, right in (
            (tl, tl[split], tm), (tr, tm, tr[split]), (al, al[split], am), (ar, am, ar[split]),
            (bl, bl[split], bm), (br, bm, br[split]))]
    else:
        tl, tr, al, ar, bl, br = cells
        upper = max(best, float(np.max(np.maximum(ar - bl, br - al))))
    return best, where, upper


def tail_slope(penalty: Penalty, scale: float = 1.0, w_tail: float = W_TAIL) -> float:
    r"""The tail log-slope :math:`\lambda\,t\,\Omega'(t)` at t = ``w_tail``: the coefficient of
    log t in the tail (1 for VarDrop, λ for λ·LogSum, 0 when Ω is constant far out)."""
    penalty = _penalty(penalty, "penalty")
    w = check_scalar(w_tail, "w_tail", 0.0, np.inf, low_inclusive=False)
    return float(scale * w * penalty.derivative(np.array([w]))[0])


# --------------------------------------------------------------------------- the fit
def _best_scale(a: Array, b: Array) -> tuple[float, float]:
    """min over λ ≥ 0 of max|a − λb| for a, b ≥ 0: U(λ) = max(a − λb) decreases, L(λ) =
    max(λb − a) increases, so the optimum is their crossing (Brent's root of U − L on
    [0, 3 max a / max b], where U − L changes sign)."""
    top = float(np.max(b))
    if top <= 0:
        return 1.0, float(np.max(np.abs(a)))

    def excess(lam):
        return float(np.max(a - lam * b) - np.max(lam * b - a))

    hi = 3.0 * float(np.max(a)) / top
    if excess(0.0) <= 0 or hi <= 0:
        return 0.0, float(np.max(np.abs(a)))
    lam = optimize.brentq(excess, 0.0, hi, xtol=1e-14, rtol=1e-13)
    return float(lam), float(np.max(np.abs(a - lam * b)))


def _grid_fit(fam: Family, t: Array, a: Array, scale: float | None, x0: Array | None
              ) -> tuple[Array, float, float]:
    """Best (x, λ) on the grid ``t``: coarse scan of the box, then Nelder–Mead from the three
    best points (from ``x0`` alone when given)."""

    def value(x):
        x = fam.clip(x)
        b = _from_zero(fam.member(x), t)
        if scale is None:
            return _best_scale(a, b)
        return scale, float(np.max(np.abs(a - scale * b)))

    if x0 is not None:  # an exchange round: the grid grew by one point, restart from x0
        starts = x0[None, :]
    else:
        axes = [np.linspace(lo, hi, 25 if len(fam.box) == 1 else 11) for lo, hi in fam.box]
        starts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(fam.box))
    scores = np.array([value(x)[1] for x in starts])
    best_x, best_f = starts[int(np.argmin(scores))], float(np.min(scores))
    for x in starts[np.argsort(scores)[:3]]:
        res = optimize.minimize(lambda z: value(z)[1], x, method="Nelder-Mead",
                                options={"xatol": 1e-8, "fatol": 1e-11, "maxiter": 2000})
        if res.fun < best_f:
            best_x, best_f = fam.clip(res.x), float(res.fun)
    return best_x, value(best_x)[0], best_f


def best_match(penalty: Penalty, family: str | Family, *,
               interval: Sequence[float] = INTERVAL, scale: float | None = None,
               tol: float = 1e-7, tol_fit: float = 1e-6, grid: int = 2001,
               rounds: int = 6) -> Match:
    r"""The member of ``family`` closest to ``penalty`` in the sup norm on ``interval``.

    Minimises :math:`\sup_t|[\Omega(t)-\Omega(0)] - \lambda[\Psi_\theta(t)-\Psi_\theta(0)]|`
    over θ and λ > 0 (λ fixed at ``scale`` when given). The grid fit is repeated with the
    certified argmax added to the grid (at most ``rounds`` times) until the certified gap
    exceeds the grid value by at most ``tol_fit``; the returned gap is certified to ``tol``
    for the returned member (:func:`sup_gap`), its optimality is the optimiser's.

    Parameters
    ----------
    penalty : Penalty
        A separable penalty nondecreasing in |w| (e.g. a dropout-derived one).
    family : str or Family
        One of :data:`FAMILIES` (``"LogSum"``, ``"MCP"``, ``"SCAD"``, ``"Lp"``).
    interval : (lo, hi)
        Magnitudes compared, 0 ≤ lo < hi < ∞ (default [0, 5], the paper's figure).
    scale : float, optional
        Fix λ instead of fitting it.

    Returns
    -------
    Match
    """
    penalty = _penalty(penalty, "penalty")
    fam = _family(family)
    lo, hi = _interval(interval)
    if scale is not None:
        scale = check_scalar(scale, "scale", 0.0, np.inf, low_inclusive=False)
    tol_fit = check_scalar(tol_fit, "tol_fit", 0.0, np.inf, low_inclusive=False)
    rounds = check_int(rounds, "rounds", 1, 100)
    t = _grid(lo, hi, check_int(grid, "grid", 3))
    x = None
    for _ in range(rounds):
        a = _from_zero(penalty, t)
        x, lam, fit = _grid_fit(fam, t, a, scale, x)
        member = fam.member(x)
        gap, where, upper = sup_gap(penalty, member, lam, interval=(lo, hi), tol=tol)
        if gap <= fit + tol_fit:
            break
        t = np.unique(np.concatenate([t, [where]]))
    return Match(repr(penalty), fam.name, fam.params(x), lam, gap, upper, where, (lo, hi),
                 tail_slope(penalty), tail_slope(member, lam), member)


def pairing_gap(penalty: Penalty, member: Penalty, scale: float = 1.0, *,
                family: str = "", interval: Sequence[float] = INTERVAL,
                tol: float = 1e-7) -> Match:
    """The :class:`Match` of a given pairing ``scale·member`` against ``penalty``."""
    lo, hi = _interval(interval)
    gap, where, upper = sup_gap(penalty, member, scale, interval=(lo, hi), tol=tol)
    return Match(repr(penalty), family or member.name, dict(member.params), float(scale), gap,
                 upper, where, (lo, hi), tail_slope(penalty), tail_slope(member, scale), member)


def compare(pairing: Pairing, *, interval: Sequence[float] = INTERVAL,
            scale_free: bool = True) -> tuple[Match, Match]:
    """A figure's pairing against the best member of its family: ``(drawn, best)``; with
    ``scale_free=False`` the best member keeps the drawn λ."""
    drawn = pairing_gap(pairing.target, pairing.member, pairing.scale, family=pairing.family,
                        interval=interval)
    best = best_match(pairing.target, pairing.family, interval=interval,
                      scale=None if scale_free else pairing.scale)
    return drawn, best
