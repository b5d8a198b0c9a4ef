"""Shared test configuration.

Penalty library: the catalogue of test cases (``PenaltyCase``) and the ``case`` parameter.
A test that takes an argument named ``case`` is parametrised over the penalty catalogue,
restricted by ``@pytest.mark.cases(predicate)`` (a callable on :class:`PenaltyCase`).
Each case builds its penalty once per worker process and shares it (hard concrete and the
VarDrop tables are built lazily on first use, so sharing the instance shares the tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

# --------------------------------------------------------------------------- penalty cases


@dataclass
class PenaltyCase:
    """One representative parameterisation of the catalogue with what the docs state about it
    (:class:`dualreg.penalties.catalogue.Example`: the documented facts the tests check the
    object against).

    ``omega0`` is the documented Ω(0); ``curvature`` the documented class; :attr:`kinks` the
    magnitudes where Ω' jumps or the η-trick minimiser is not unique (|w| = τ, b, s, as, the
    hard-concrete saturation): pointwise derivative and argmin checks avoid them; ``convex``
    whether Ω is convex in w (cvxpy form expected); ``kink_at_zero`` whether Ω'(0+) > 0
    (η̂(t) = O(t)); ``own_rule`` the method's own keep probability at λ = c = 1 where the docs
    define one; ``slow`` marks table-based penalties whose value costs microseconds per point
    (fewer points in brute-force checks); ``biconjugate_up_to`` the η up to which the
    documented f is the biconjugate of Ω.
    """

    example: Any
    _instance: Any = field(default=None, repr=False)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.example, name)

    @property
    def penalty(self) -> Any:
        if self._instance is None:
            self._instance = self.example.build()
        return self._instance

    @property
    def kinks(self) -> tuple[float, ...]:
        return self.example.kinks_of(self.penalty)

    def smooth_points(self, w: np.ndarray, rel: float = 1e-3) -> np.ndarray:
        """The points of ``w`` farther than ``rel`` (relative) from every kink."""
        t = np.abs(np.asarray(w, dtype=float))
        keep = np.ones(t.shape, dtype=bool)
        for k in self.kinks:
            keep &= np.abs(t - k) > rel * k
        return np.asarray(w)[keep]


def _cases() -> list[PenaltyCase]:
    """Every separable parameterisation of the catalogue, building blocks included."""
    from dualreg.penalties import catalogue

    return [PenaltyCase(ex) for ex in catalogue.select_examples(separable=True, listed=None)]


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
