"""Shared test configuration.

Penalty library: the catalogue of test cases (``PenaltyCase``) and the ``case`` parameter.
A test that takes an argument named ``case`` is parametrised over the penalty catalogue,
restricted by ``@pytest.mark.cases(predicate)`` (a callable on :class:`PenaltyCase`).
Each case builds its penalty once per worker process and shares it (hard concrete and the
VarDrop tables are built lazily on first use, so sharing the instance shares the tables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from scipy import special

# --------------------------------------------------------------------------- penalty cases

SUB, QUAD, SUPER = "subquadratic", "quadratic", "superquadratic"


@dataclass
class PenaltyCase:
    """One penalty of the catalogue with what MATH.md §5 documents about it.

    ``omega0`` is the documented Ω(0); ``curvature`` the class MATH.md states; ``kink_list``
    (a tuple, or a function of the penalty; read through :attr:`kinks`) the magnitudes where
    Ω' jumps or the η-trick minimiser is not unique (|w| = τ, b, s, as, the hard-concrete
    saturation): pointwise derivative and argmin checks avoid them;
    ``convex`` whether Ω is convex in w (MATH.md: cvxpy form expected); ``kink_at_zero``
    whether Ω'(0+) > 0 (η̂(t) = O(t)); ``own_rule`` the method's own keep probability at
    λ = c = 1 where MATH.md defines one; ``slow`` marks table-based penalties whose value
    costs microseconds per point (fewer points in brute-force checks).
    """

    id: str
    build: Callable[[], Any]
    omega0: float = 0.0
    curvature: str = SUB
    kink_list: tuple[float, ...] | Callable[[Any], tuple[float, ...]] = ()
    convex: bool = False
    kink_at_zero: bool = False
    own_rule: Callable[[np.ndarray], np.ndarray] | None = None
    slow: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)
    _instance: Any = field(default=None, repr=False)

    @property
    def penalty(self) -> Any:
        if self._instance is None:
            self._instance = self.build()
        return self._instance

    @property
    def kinks(self) -> tuple[float, ...]:
        k = self.kink_list
        return tuple(k(self.penalty)) if callable(k) else k

    @property
    def eta_form(self) -> bool:
        return self.curvature in (SUB, QUAD)

    def smooth_points(self, w: np.ndarray, rel: float = 1e-3) -> np.ndarray:
        """The points of ``w`` farther than ``rel`` (relative) from every kink."""
        t = np.abs(np.asarray(w, dtype=float))
        keep = np.ones(t.shape, dtype=bool)
        for k in self.kinks:
            keep &= np.abs(t - k) > rel * k
        return np.asarray(w)[keep]


def _cases() -> list[PenaltyCase]:
    from dualreg.penalties import (
        L1,
        MCP,
        SCAD,
        CappedL2,
        HardConcrete,
        Log2Sum,
        LogSum,
        Lp,
        Ridge,
        Sparseout,
        Standout,
        TargetedDropout,
        TwoLevelQuadratic,
        VarDrop,
        VarDropApprox,
        YDrop,
    )

    cases = [
        PenaltyCase("Ridge", Ridge, curvature=QUAD, convex=True),
        PenaltyCase("L1", L1, convex=True, kink_at_zero=True),
    ]
    for p in (0.1, 0.5, 2.0 / 3.0, 1.5, 2.0):
        cases.append(
            PenaltyCase(
                f"Lp({p:.3g})",
                lambda p=p: Lp(p),
                curvature=QUAD if p == 2 else SUB,
                convex=p >= 1,
                kink_at_zero=p <= 1,
            )
        )
    for eps in (0.5, 2.0):
        cases.append(
            PenaltyCase(f"LogSum({eps})", lambda e=eps: LogSum(e), omega0=float(np.log(eps)),
                        kink_at_zero=True)
        )
        cases.append(
            PenaltyCase(f"Log2Sum({eps})", lambda e=eps: Log2Sum(e), omega0=float(np.log(eps)))
        )
    for a, s in ((3.7, 1.0), (2.5, 0.4)):
        cases.append(
            PenaltyCase(f"SCAD({a},{s})", lambda a=a, s=s: SCAD(a, s), kink_list=(s, a * s),
                        kink_at_zero=True)
        )
    for a, s in ((3.0, 1.0), (2.0, 0.7)):
        cases.append(
            PenaltyCase(f"MCP({a},{s})", lambda a=a, s=s: MCP(a, s), kink_list=(a * s,),
                        kink_at_zero=True)
        )
    cases += [
        PenaltyCase("CappedL2(1.1)", lambda: CappedL2(1.1), kink_list=(1.1,)),
        PenaltyCase("VarDrop", VarDrop, kink_at_zero=True, slow=True),
        PenaltyCase("VarDropApprox", VarDropApprox, kink_at_zero=True, slow=True),
        PenaltyCase(
            "HardConcrete", HardConcrete, kink_list=lambda p: (p.saturation,),
            kink_at_zero=True, slow=True,
        ),
        PenaltyCase("Standout", Standout, own_rule=lambda w: special.expit(np.abs(w))),
    ]
    for rate, tau in ((0.5, 1.1), (0.3, 0.6)):
        cases.append(
            PenaltyCase(
                f"TargetedDropout({rate},{tau})",
                lambda r=rate, t=tau: TargetedDropout(r, t),
                kink_list=(tau,),
                own_rule=lambda u, r=rate, t=tau: np.where(np.abs(u) < t, 1.0 - r, 1.0),
            )
        )
    drop = 0.3
    odds = drop / (1.0 - drop)
    for q in (0.5, 1.0, 1.5, 2.0, 3.0):
        for grad in ("stop", "autograd"):
            rule = None
            if grad == "stop":
                # MATH.md §5: adaptive dropout with odds v t^(q−2), i.e. α = 1/(1 + v t^(q−2))
                def rule(w, q=q):
                    with np.errstate(divide="ignore"):
                        return 1.0 / (1.0 + odds * np.abs(w) ** (q - 2.0))

            cases.append(
                PenaltyCase(
                    f"Sparseout({q},{drop},{grad})",
                    lambda q=q, g=grad: Sparseout(q, drop, g),
                    curvature=SUB if q < 2 else (QUAD if q == 2 else SUPER),
                    convex=q >= 1,
                    kink_at_zero=q <= 1,
                    own_rule=rule,
                )
            )
    p_low, p_high, tau = 0.1, 0.5, 1.1
    for mapping in ("bucket", "continuous"):
        for mirrored in (False, True):
            rule = None
            if mapping == "bucket":
                small, big = (p_high, p_low) if mirrored else (p_low, p_high)

                def rule(w, small=small, big=big):
                    return np.where(np.abs(w) < tau, 1.0 - small, 1.0 - big)

            cases.append(
                PenaltyCase(
                    f"YDrop({mapping},{'mirrored' if mirrored else 'plain'})",
                    lambda m=mapping, mi=mirrored: YDrop(p_low, p_high, tau, m, mi),
                    curvature=SUB if mirrored else SUPER,
                    kink_list=(tau,) if mapping == "bucket" else (),
                    # Only the bucket form has a cvxpy (DCP) expression.
                    convex=not mirrored and mapping == "bucket",
                    own_rule=rule,
                    tags=frozenset({"ydrop"}),
                )
            )
    cases += [
        PenaltyCase("TwoLevel(0.5,2,0.8)", lambda: TwoLevelQuadratic(0.5, 2.0, 0.8),
                    curvature=SUPER, kink_list=(0.8,), convex=True),
        PenaltyCase("TwoLevel(2,0.5,0.8)", lambda: TwoLevelQuadratic(2.0, 0.5, 0.8),
                    kink_list=(0.8,)),
    ]
    return cases


PENALTY_CASES = _cases()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cases(predicate): restrict the `case` parameter to penalty cases that match"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("cases")
    predicate = marker.args[0] if marker else (lambda c: True)
    selected = [c for c in PENALTY_CASES if predicate(c)]
    metafunc.parametrize("case", selected, ids=[c.id for c in selected])


@pytest.fixture(scope="session")
def penalty_points() -> np.ndarray:
    """Magnitudes spanning the interesting scales of the catalogue (none at a kink)."""
    return np.array([0.01, 0.05, 0.2, 0.5, 0.9, 1.3, 2.0, 3.5, 7.0])
