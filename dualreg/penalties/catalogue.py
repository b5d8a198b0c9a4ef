"""The catalogue: every named penalty with its defaults and its formulas, in one place.

The CLI's ``dualreg penalty --list`` and the README's table are generated from here, and a test
checks the formulas against the objects (so the documentation cannot drift from the code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dualreg.penalties.base import Penalty
from dualreg.penalties.classical import L1, MCP, SCAD, CappedL2, Log2Sum, LogSum, Lp, Ridge
from dualreg.penalties.dropout import (
    HardConcrete,
    Sparseout,
    Standout,
    TargetedDropout,
    VarDrop,
    VarDropApprox,
    YDrop,
)
from dualreg.penalties.nonseparable import ARD, HardThreshold


@dataclass(frozen=True)
class Entry:
    """One catalogue row: the class, its default parameters and its formulas (λ = c = 1)."""

    cls: type
    defaults: dict[str, Any] = field(default_factory=dict)
    omega: str = ""
    eta_hat: str = ""
    curvature: str = ""
    origin: str = "classical"

    def build(self, **params: Any) -> Any:
        """An instance with the defaults overridden by ``params``."""
        return self.cls(**{**self.defaults, **params})


CATALOGUE: dict[str, Entry] = {
    "Ridge": Entry(Ridge, {}, "w²/2", "1", "quadratic"),
    "L1": Entry(L1, {}, "|w|", "|w|", "subquadratic"),
    "Lp": Entry(Lp, {"p": 0.5}, "|w|^p/p", "|w|^(2−p)", "subquadratic (p < 2)"),
    "LogSum": Entry(LogSum, {"eps": 1.0}, "log(|w| + ε)", "|w|(|w| + ε)", "subquadratic"),
    "Log2Sum": Entry(Log2Sum, {"eps": 1.0}, "log(w² + ε)", "(w² + ε)/2", "subquadratic"),
    "SCAD": Entry(
        SCAD, {"a": 3.7, "scale": 1.0}, "|w| → quadratic → s(a+1)/2",
        "|w| → s(a−1)|w|/(as−|w|) → ∞", "subquadratic",
    ),
    "MCP": Entry(
        MCP, {"a": 3.0, "scale": 1.0}, "|w| − w²/(2b) on |w| ≤ b, b/2 beyond",
        "b|w|/(b−|w|), ∞ beyond b", "subquadratic",
    ),
    "CappedL2": Entry(CappedL2, {"tau": 1.0}, "min(w², τ²)/2", "1, ∞ beyond τ", "subquadratic"),
    "VarDrop": Entry(
        VarDrop, {}, "½ min_η[w²/η + 4∫₀^√(η/2) D]", "inverse of η√f'(η)", "subquadratic",
        "dropout",
    ),
    "VarDropApprox": Entry(
        VarDropApprox, {}, "½ min_η[w²/η + 2KL_Molchanov(1/η)]", "inverse of η√f'(η)",
        "subquadratic", "dropout",
    ),
    "HardConcrete": Entry(
        HardConcrete, {}, "½ min_η[w²/η + P(z≠0)]", "E[z]²/Var z at the optimal gate",
        "subquadratic", "dropout",
    ),
    "Standout": Entry(Standout, {}, "1 − (1+|w|)e^(−|w|)", "e^|w|", "subquadratic", "dropout"),
    "TargetedDropout": Entry(
        TargetedDropout, {"rate": 0.5, "tau": 1.0}, "(a/(1−a)) min(u², τ²)/2",
        "(1−a)/a, ∞ beyond τ", "subquadratic", "dropout",
    ),
    "Sparseout": Entry(
        Sparseout, {"q": 1.0, "drop": 0.5, "grad": "stop"}, "(v/q)|w|^q (stop), (v/2)|w|^q",
        "|w|^(2−q)/v (stop)", "sub (q<2) / super (q>2)", "dropout",
    ),
    "YDrop": Entry(
        YDrop, {"p_low": 0.1, "p_high": 0.5, "tau": 1.0}, "r_low w²/2 + (r_high−r_low)(w²−τ²)₊/2",
        "1/r_low, 1/r_high beyond τ", "superquadratic (mirrored: sub)", "dropout",
    ),
    "HardThreshold": Entry(
        HardThreshold, {"k": 1}, "ι{‖w‖₀ ≤ k}", "∞ on the top k, 0 elsewhere",
        "non-separable", "dropout",
    ),
    "ARD": Entry(
        ARD, {}, "½ min_η[Σw²/η + log det(τI + X diag(η) Xᵀ)]", "MM fixed point",
        "non-separable (η-form)", "dropout",
    ),
}


def get(name: str, **params: Any) -> Penalty:
    """Build a catalogue penalty by name (case-insensitive), e.g. ``get("LogSum", eps=2)``."""
    lookup = {key.lower(): key for key in CATALOGUE}
    key = lookup.get(str(name).lower())
    if key is None:
        raise ValueError(
            f"unknown penalty {name!r}; choose one of: {', '.join(CATALOGUE)}"
        )
    try:
        return CATALOGUE[key].build(**params)
    except TypeError as err:
        raise ValueError(f"bad parameters for {key}: {err}") from err


def markdown_table() -> str:
    """The README's catalogue table (name, Ω, η̂, class, origin)."""
    rows = ["| name | Ω(w) (λ = c = 1) | η̂(w) | class | from |", "|---|---|---|---|---|"]
    for name, entry in CATALOGUE.items():
        rows.append(
            f"| `{name}` | {entry.omega} | {entry.eta_hat} | {entry.curvature} | {entry.origin} |"
        )
    return "\n".join(rows)
