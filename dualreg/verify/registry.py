"""Claims and their checks.

A claim is a statement proved in ``proofs/`` and checked numerically; each check measures one
number and compares it with a tolerance whose size is justified in ``why``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Context:
    """What a check may depend on: a seed (everything random derives from it), the budget
    (``quick`` or ``full``) and the torch device name."""

    seed: int = 0
    mode: str = "quick"
    device: str = "cpu"

    def rng(self, salt: int = 0) -> np.random.Generator:
        """A fresh generator for this seed and salt (same seed, same numbers)."""
        return np.random.default_rng([self.seed, salt])


@dataclass(frozen=True)
class Measurement:
    """One measured value against its tolerance: passes when ``measured <= tolerance``
    (``mode="le"``) or ``measured >= tolerance`` (``mode="ge"``)."""

    check: str
    measured: float
    tolerance: float
    why: str
    mode: str = "le"

    @property
    def passed(self) -> bool:
        if not np.isfinite(self.measured):
            return False
        if self.mode == "ge":
            return bool(self.measured >= self.tolerance)
        return bool(self.measured <= self.tolerance)


@dataclass(frozen=True)
class Claim:
    """A theorem's numerical face: ``run(ctx)`` yields its measurements."""

    id: str
    statement: str
    proof: str
    run: Callable[[Context], Iterator[Measurement]] = field(repr=False)


CLAIMS: dict[str, Claim] = {}


def claim(claim_id: str, statement: str, proof: str):
    """Register the decorated generator of measurements under ``claim_id``."""

    def register(fn: Callable[[Context], Iterator[Measurement]]):
        if claim_id in CLAIMS:
            raise ValueError(f"claim {claim_id!r} registered twice")
        CLAIMS[claim_id] = Claim(claim_id, statement, proof, fn)
        return fn

    return register


@dataclass(frozen=True)
class Row:
    """One check of one claim at one seed."""

    claim: str
    statement: str
    check: str
    measured: float
    tolerance: float
    why: str
    passed: bool
    seconds: float
    error: str = ""
    relation: str = "≤"
    seed: int = 0

    def __repr__(self) -> str:
        """One line: claim, seed, verdict, measured against tolerance, and the check."""
        verdict = "pass" if self.passed else "FAIL"
        value = self.error or f"{self.measured:.3g} {self.relation} {self.tolerance:.3g}"
        return f"<Row {self.claim} seed {self.seed} {verdict}: {value} — {self.check}>"
