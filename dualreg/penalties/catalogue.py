"""The catalogue: the one registry of penalties, with what each declares and what the docs state.

Every consumer iterates it: the CLI's ``dualreg penalty --list`` and the README's table, the
penalty tests (``tests/conftest.py``), the claims of T4 and T6, the ``faces`` and
``monotone-map`` figures and ``benchmarks/penalties.py``, each filtered by declared properties
(:func:`select`, :func:`select_examples`), never by name.

An :class:`Entry` is one penalty class with its default parameters, its README formulas, its
declared properties (separable, origin, a ``slow`` cost hint for table-based penalties) and its
representative parameterisations, the :class:`Example` s. An example states what
docs/conventions.md §5 documents about that parameterisation — Ω(0), the curvature class,
convexity, the kink at 0, the magnitudes of the other kinks, the method's own keep-probability
rule — as independent facts: tests compare the objects against them.

Adding a penalty: its class in ``dualreg/penalties/<name>.py`` and one :class:`Entry` below
(export the class from ``dualreg/penalties/__init__.py`` for ``from dualreg.penalties import``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import special

from dualreg._conventions import QUADRATIC, SUBQUADRATIC, SUPERQUADRATIC, CurvatureClass
from dualreg.penalties.base import Penalty
from dualreg.penalties.classical import (
    L1,
    MCP,
    SCAD,
    CappedL2,
    Log2Sum,
    LogSum,
    Lp,
    Ridge,
    TwoLevelQuadratic,
)
from dualreg.penalties.hard_concrete import HardConcrete
from dualreg.penalties.nonseparable import ARD, HardThreshold
from dualreg.penalties.sparseout import Sparseout
from dualreg.penalties.standout import Standout
from dualreg.penalties.targeted import TargetedDropout
from dualreg.penalties.variational import VarDrop, VarDropApprox
from dualreg.penalties.ydrop import YDrop

Rule = Callable[[np.ndarray], np.ndarray]
Kinks = tuple[float, ...] | Callable[[Any], tuple[float, ...]]


@dataclass(frozen=True)
class Example:
    r"""One parameterisation of a catalogue penalty with its documented facts.

    Attributes
    ----------
    id : str
        Short name (the test id), e.g. ``"Lp(0.1)"``.
    params : dict
        Parameters overriding the entry's defaults.
    curvature : CurvatureClass
        The documented class; the η-form exists for subquadratic and quadratic.
    convex : bool
        Whether Ω is convex in w (a cvxpy form is expected).
    kink_at_zero : bool
        Whether Ω'(0+) > 0 (η̂(t) = O(t): exact zeros).
    omega0 : float
        The documented Ω(0).
    kinks : tuple of float, or callable of the penalty
        Magnitudes where Ω' jumps or the η-trick minimiser is not unique (|w| = τ, b, s, as,
        the hard-concrete saturation); read them through :meth:`kinks_of`.
    own_rule : callable, optional
        The method's own keep probability α(w) at λ = c = 1, where the docs define one.
    biconjugate_up_to : float
        The documented f is the biconjugate sup_w[2Ω(w) − w²/η] on η ≤ this (+inf: all η).
    """

    id: str
    params: dict[str, Any] = field(default_factory=dict)
    curvature: CurvatureClass = SUBQUADRATIC
    convex: bool = False
    kink_at_zero: bool = False
    omega0: float = 0.0
    kinks: Kinks = ()
    own_rule: Rule | None = None
    biconjugate_up_to: float = float("inf")
    entry: Entry | None = field(default=None, repr=False, compare=False)

    @property
    def eta_form(self) -> bool:
        """Whether the documented class has an η-form (subquadratic or quadratic)."""
        return CurvatureClass(self.curvature).has_eta_form

    @property
    def separable(self) -> bool:
        return self.entry.separable

    @property
    def slow(self) -> bool:
        return self.entry.slow

    @property
    def origin(self) -> str:
        return self.entry.origin

    def build(self) -> Any:
        """A fresh instance of this parameterisation."""
        return self.entry.build(**self.params)

    def kinks_of(self, penalty: Any) -> tuple[float, ...]:
        """The kink magnitudes of ``penalty`` (an instance of this example)."""
        return tuple(self.kinks(penalty)) if callable(self.kinks) else tuple(self.kinks)


@dataclass(frozen=True)
class Entry:
    """One catalogue row: the class, its default parameterisation, its README formulas
    (λ = c = 1), its declared properties and its representative parameterisations.

    ``default`` states the documented facts of the default parameters (its ``params`` are
    the defaults); ``listed`` is False for building blocks that are tested like every entry
    but are no named method (not in the README table, ``dualreg penalty --list`` or
    :data:`CATALOGUE`); ``requires`` says what the command line cannot supply (ARD's design).
    """

    cls: type
    default: Example
    omega: str = ""
    eta_hat: str = ""
    curvature: str = ""
    origin: str = "classical"
    separable: bool = True
    slow: bool = False
    listed: bool = True
    requires: str = ""
    examples: tuple[Example, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "default", replace(self.default, entry=self))
        object.__setattr__(self, "examples", tuple(replace(e, entry=self) for e in self.examples))

    @property
    def name(self) -> str:
        return self.cls.__name__

    @property
    def defaults(self) -> dict[str, Any]:
        return dict(self.default.params)

    def build(self, **params: Any) -> Any:
        """An instance with the defaults overridden by ``params``."""
        return self.cls(**{**self.default.params, **params})

    def one_per_class(self) -> list[Example]:
        """The default, then the first example of every other documented curvature class."""
        out = [self.default]
        for ex in self.examples:
            if all(ex.curvature != o.curvature for o in out):
                out.append(ex)
        return out


def _sparseout_rule(q: float, odds: float) -> Rule:
    # docs/conventions.md §5: adaptive dropout with odds v t^(q−2), α = 1/(1 + v t^(q−2)).
    def rule(w: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return 1.0 / (1.0 + odds * np.abs(w) ** (q - 2.0))

    return rule


def _two_level_rule(tau: float, drop_below: float, drop_above: float) -> Rule:
    return lambda w: np.where(np.abs(w) < tau, 1.0 - drop_below, 1.0 - drop_above)


def _lp_examples() -> tuple[Example, ...]:
    return tuple(
        Example(f"Lp({p:.3g})", {"p": p}, QUADRATIC if p == 2 else SUBQUADRATIC,
                convex=p >= 1, kink_at_zero=p <= 1)
        for p in (0.1, 0.5, 2.0 / 3.0, 1.5, 2.0)
    )


def _sparseout_examples(drop: float = 0.3) -> tuple[Example, ...]:
    odds = drop / (1.0 - drop)
    return tuple(
        Example(
            f"Sparseout({q},{drop},{grad})", {"q": q, "drop": drop, "grad": grad},
            SUBQUADRATIC if q < 2 else (QUADRATIC if q == 2 else SUPERQUADRATIC),
            convex=q >= 1, kink_at_zero=q <= 1,
            own_rule=_sparseout_rule(q, odds) if grad == "stop" else None,
        )
        for q in (0.5, 1.0, 1.5, 2.0, 3.0)
        for grad in ("stop", "autograd")
    )


def _ydrop_examples(p_low: float = 0.1, p_high: float = 0.5, tau: float = 1.1):
    out = []
    for mapping in ("bucket", "continuous"):
        for mirrored in (False, True):
            small, big = (p_high, p_low) if mirrored else (p_low, p_high)
            out.append(Example(
                f"YDrop({mapping},{'mirrored' if mirrored else 'plain'})",
                {"p_low": p_low, "p_high": p_high, "tau": tau, "mapping": mapping,
                 "mirrored": mirrored},
                SUBQUADRATIC if mirrored else SUPERQUADRATIC,
                kinks=(tau,) if mapping == "bucket" else (),
                # Only the bucket form has a cvxpy (DCP) expression.
                convex=not mirrored and mapping == "bucket",
                own_rule=_two_level_rule(tau, small, big) if mapping == "bucket" else None,
            ))
    return tuple(out)


def _hard_concrete_saturation(penalty: Any) -> tuple[float, ...]:
    return (penalty.saturation,)


# Hard concrete: its f = P(z ≠ 0) is the biconjugate only up to η* = η̂(saturation⁻) ≈ 2.35.
_HC_DUAL = 2.3

ENTRIES: tuple[Entry, ...] = (
    Entry(Ridge, Example("Ridge", {}, QUADRATIC, convex=True), "w²/2", "1", "quadratic",
          examples=(Example("Ridge", {}, QUADRATIC, convex=True),)),
    Entry(L1, Example("L1", {}, convex=True, kink_at_zero=True), "|w|", "|w|", "subquadratic",
          examples=(Example("L1", {}, convex=True, kink_at_zero=True),)),
    Entry(Lp, Example("Lp", {"p": 0.5}, kink_at_zero=True), "|w|^p/p", "|w|^(2−p)",
          "subquadratic (p < 2)", examples=_lp_examples()),
    Entry(LogSum, Example("LogSum", {"eps": 1.0}, kink_at_zero=True), "log(|w| + eps)",
          "|w|(|w| + eps)", "subquadratic",
          examples=tuple(Example(f"LogSum({e})", {"eps": e}, omega0=float(np.log(e)),
                                 kink_at_zero=True) for e in (0.5, 2.0))),
    Entry(Log2Sum, Example("Log2Sum", {"eps": 1.0}), "log(w² + eps)", "(w² + eps)/2",
          "subquadratic",
          examples=tuple(Example(f"Log2Sum({e})", {"eps": e}, omega0=float(np.log(e)))
                         for e in (0.5, 2.0))),
    Entry(SCAD, Example("SCAD", {"a": 3.7, "scale": 1.0}, kinks=(1.0, 3.7), kink_at_zero=True),
          "|w| → quadratic → scale·(a+1)/2",
          "|w| → scale·(a−1)|w|/(a·scale−|w|) → ∞", "subquadratic",
          examples=tuple(Example(f"SCAD({a},{s})", {"a": a, "scale": s}, kinks=(s, a * s),
                                 kink_at_zero=True) for a, s in ((3.7, 1.0), (2.5, 0.4)))),
    Entry(MCP, Example("MCP", {"a": 3.0, "scale": 1.0}, kinks=(3.0,), kink_at_zero=True),
          "|w| − w²/(2b) on |w| ≤ b, b/2 beyond; b = a·scale",
          "b|w|/(b−|w|), ∞ beyond b", "subquadratic",
          examples=tuple(Example(f"MCP({a},{s})", {"a": a, "scale": s}, kinks=(a * s,),
                                 kink_at_zero=True) for a, s in ((3.0, 1.0), (2.0, 0.7)))),
    Entry(CappedL2, Example("CappedL2", {"tau": 1.0}, kinks=(1.0,)), "min(w², tau²)/2",
          "1, ∞ beyond tau", "subquadratic",
          examples=(Example("CappedL2(1.1)", {"tau": 1.1}, kinks=(1.1,)),)),
    Entry(VarDrop, Example("VarDrop", {}, kink_at_zero=True),
          "½ min_η[w²/η + 4∫₀^√(η/2) D]", "inverse of η√f'(η)", "subquadratic", "dropout",
          slow=True, examples=(Example("VarDrop", {}, kink_at_zero=True),)),
    Entry(VarDropApprox, Example("VarDropApprox", {}, kink_at_zero=True),
          "½ min_η[w²/η + 2KL_Molchanov(1/η)]", "inverse of η√f'(η)", "subquadratic",
          "dropout", slow=True,
          examples=(Example("VarDropApprox", {}, kink_at_zero=True),)),
    Entry(HardConcrete,
          Example("HardConcrete", {}, kinks=_hard_concrete_saturation, kink_at_zero=True,
                  biconjugate_up_to=_HC_DUAL),
          "½ min_η[w²/η + P(z≠0)]", "E[z]²/Var z at the optimal gate", "subquadratic",
          "dropout", slow=True,
          examples=(Example("HardConcrete", {}, kinks=_hard_concrete_saturation,
                            kink_at_zero=True, biconjugate_up_to=_HC_DUAL),)),
    Entry(Standout, Example("Standout", {}, own_rule=lambda w: special.expit(np.abs(w))),
          "1 − (1+|w|)e^(−|w|)", "e^|w|", "subquadratic", "dropout",
          examples=(Example("Standout", {}, own_rule=lambda w: special.expit(np.abs(w))),)),
    Entry(TargetedDropout,
          Example("TargetedDropout", {"rate": 0.5, "tau": 1.0}, kinks=(1.0,),
                  own_rule=_two_level_rule(1.0, 0.5, 0.0)),
          "(rate/(1−rate)) min(u², tau²)/2, u = effective weight",
          "(1−rate)/rate, ∞ beyond tau", "subquadratic", "dropout",
          examples=tuple(Example(f"TargetedDropout({r},{t})", {"rate": r, "tau": t},
                                 kinks=(t,), own_rule=_two_level_rule(t, r, 0.0))
                         for r, t in ((0.5, 1.1), (0.3, 0.6)))),
    Entry(Sparseout,
          Example("Sparseout", {"q": 1.0, "drop": 0.5, "grad": "stop"}, convex=True,
                  kink_at_zero=True, own_rule=_sparseout_rule(1.0, 1.0)),
          "(v/q)|w|^q (grad=stop), (v/2)|w|^q (autograd); v = drop/(1−drop)",
          "|w|^(2−q)/v (stop)", "sub (q<2) / super (q>2)",
          "dropout", examples=_sparseout_examples()),
    Entry(YDrop,
          Example("YDrop", {"p_low": 0.1, "p_high": 0.5, "tau": 1.0}, SUPERQUADRATIC,
                  convex=True, kinks=(1.0,), own_rule=_two_level_rule(1.0, 0.1, 0.5)),
          "r_low w²/2 + (r_high−r_low)(w²−tau²)₊/2; r_x = p_x/(1−p_x)",
          "1/r_low, 1/r_high beyond tau",
          "superquadratic (mirrored: sub)", "dropout", examples=_ydrop_examples()),
    Entry(HardThreshold, Example("HardThreshold", {"k": 1}, CurvatureClass.INDEFINITE),
          "ι{‖w‖₀ ≤ k}", "∞ on the top k, 0 elsewhere", "non-separable", "dropout",
          separable=False),
    Entry(ARD, Example("ARD", {}), "½ min_η[Σw²/η + log det(tau·I + X diag(η) Xᵀ)]",
          "MM fixed point", "non-separable (η-form)", "dropout", separable=False,
          requires="a design matrix X: use dualreg.penalties.ARD(X) from Python"),
    # The two-level quadratic behind capped ridge, targeted dropout and Y-Drop.
    Entry(TwoLevelQuadratic,
          Example("TwoLevel", {"r_below": 0.5, "r_above": 2.0, "tau": 0.8}, SUPERQUADRATIC,
                  convex=True, kinks=(0.8,)),
          "r_b min(|w|, τ)²/2 + r_a(w²−τ²)₊/2", "1/r_b, 1/r_a beyond τ",
          "sub (r_b > r_a) / super (r_b < r_a)",
          listed=False,
          examples=(Example("TwoLevel(0.5,2,0.8)", {"r_below": 0.5, "r_above": 2.0, "tau": 0.8},
                            SUPERQUADRATIC, convex=True, kinks=(0.8,)),
                    Example("TwoLevel(2,0.5,0.8)", {"r_below": 2.0, "r_above": 0.5, "tau": 0.8},
                            kinks=(0.8,)))),
)

CATALOGUE: dict[str, Entry] = {e.name: e for e in ENTRIES if e.listed}


def _matches(item: Any, wanted: dict[str, Any]) -> bool:
    return all(v is None or getattr(item, k) == v for k, v in wanted.items())


def _facts(example: Example) -> dict[str, Any]:
    return {"eta_form": example.eta_form, "convex": example.convex,
            "kink_at_zero": example.kink_at_zero, "curvature": example.curvature}


def select(*, separable: bool | None = None, eta_form: bool | None = None,
           convex: bool | None = None, kink_at_zero: bool | None = None,
           curvature: str | None = None, origin: str | None = None,
           slow: bool | None = None, listed: bool | None = True) -> list[Entry]:
    """The entries whose declared properties (those of the default parameters) match; a
    ``None`` filter matches everything. ``listed=None`` includes the building blocks."""
    wanted = dict(separable=separable, origin=origin, slow=slow, listed=listed)
    facts = dict(eta_form=eta_form, convex=convex, kink_at_zero=kink_at_zero,
                 curvature=curvature)
    return [e for e in ENTRIES
            if _matches(e, wanted) and all(v is None or _facts(e.default)[k] == v
                                           for k, v in facts.items())]


def select_examples(*, separable: bool | None = None, eta_form: bool | None = None,
                    convex: bool | None = None, kink_at_zero: bool | None = None,
                    curvature: str | None = None, origin: str | None = None,
                    slow: bool | None = None, listed: bool | None = True) -> list[Example]:
    """The representative parameterisations (:attr:`Entry.examples`) whose declared
    properties match, in catalogue order; filters as in :func:`select`."""
    entries = select(separable=separable, origin=origin, slow=slow, listed=listed)
    facts = dict(eta_form=eta_form, convex=convex, kink_at_zero=kink_at_zero,
                 curvature=curvature)
    return [ex for e in entries for ex in e.examples
            if all(v is None or _facts(ex)[k] == v for k, v in facts.items())]


def unique(penalties: Iterable[Any]) -> list[Any]:
    """``penalties`` without repeats (same ``repr``: same class and parameters), in order."""
    seen: dict[str, Any] = {}
    for p in penalties:
        seen.setdefault(repr(p), p)
    return list(seen.values())


def lookup(name: str) -> Entry:
    """The listed entry called ``name`` (case-insensitive); ``ValueError`` lists the names."""
    names = {key.lower(): key for key in CATALOGUE}
    key = names.get(str(name).lower())
    if key is None:
        raise ValueError(
            f"unknown penalty {name!r}; choose one of: {', '.join(CATALOGUE)}"
        )
    return CATALOGUE[key]


def get(name: str, **params: Any) -> Penalty:
    """Build a catalogue penalty by name (case-insensitive), e.g. ``get("LogSum", eps=2)``."""
    entry = lookup(name)
    try:
        return entry.build(**params)
    except TypeError as err:
        raise ValueError(f"bad parameters for {entry.name}: {err}") from err


def markdown_table() -> str:
    """The README's catalogue table (name, Ω, η̂, class, origin); a ``|`` inside a cell (as in
    |w|) is escaped so that the table keeps its five columns."""
    rows = ["| name | Ω(w) (λ = c = 1) | η̂(w) | class | from |", "|---|---|---|---|---|"]
    for name, entry in CATALOGUE.items():
        cells = [f"`{name}`", entry.omega, entry.eta_hat, entry.curvature, entry.origin]
        rows.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
