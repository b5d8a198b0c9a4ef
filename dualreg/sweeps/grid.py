"""The grid of a sweep: penalty × hyperparameters × λ × seed, one :class:`Cell` per point.

Value specs (``--lam``, ``--param NAME=SPEC``): ``0.01:1:5log`` is five values spaced
geometrically from 0.01 to 1 (both ends included), ``0:1:3`` three evenly spaced values,
``0.1,0.5`` a list, ``0.3`` one value. Seeds: ``0:3`` is 0, 1, 2 (half-open), ``1,5`` a list.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Cell", "Grid", "build_grid", "parse_seeds", "parse_values", "penalty_parameters"]

_RANGE = re.compile(r"\s*([^:]+):([^:]+):(\d+)(log|lin)?\s*")


def _number(text: str, name: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{name} {spec!r}: {text.strip()!r} is not a finite number")
    return value


def parse_values(spec: str | float | Iterable[float], name: str = "--lam") -> list[float]:
    """Numbers from a spec (module docstring) or an iterable of numbers; ``ValueError`` names
    ``name`` and what is wrong. Repeats are dropped, the order is kept."""
    if isinstance(spec, int | float):
        values = [_number(str(spec), name, str(spec))]
    elif not isinstance(spec, str):
        values = [_number(str(v), name, str(v)) for v in spec]
    elif m := _RANGE.fullmatch(spec):
        lo, hi = _number(m[1], name, spec), _number(m[2], name, spec)
        count = int(m[3])
        if count < 1:
            raise ValueError(f"{name} {spec!r}: the count must be >= 1")
        if m[4] == "log":
            if not (lo > 0 and hi > 0):
                raise ValueError(f"{name} {spec!r}: a log range needs both ends > 0")
            values = np.geomspace(lo, hi, count).tolist()
        else:
            values = np.linspace(lo, hi, count).tolist()
    else:
        values = [_number(p, name, spec) for p in spec.split(",")]
    if not values:
        raise ValueError(f"{name} {spec!r}: no values")
    return list(dict.fromkeys(float(v) for v in values))


def parse_seeds(spec: str | int | Iterable[int]) -> list[int]:
    """Seeds from ``"0:3"`` (0, 1, 2), ``"1,5"``, an int or an iterable; integers >= 0."""
    if isinstance(spec, str):
        text = spec.strip()
        try:
            if ":" in text:
                a, _, b = text.partition(":")
                seeds = list(range(int(a), int(b)))
            else:
                seeds = [int(p) for p in text.split(",")]
        except ValueError:
            raise ValueError(f"--seeds expects START:STOP or a comma list of integers >= 0, "
                             f"got {spec!r}") from None
    else:
        seeds = [spec] if isinstance(spec, int) else list(spec)
    if not seeds or any(isinstance(s, bool) or int(s) != s or s < 0 for s in seeds):
        raise ValueError(f"--seeds {spec!r}: give at least one integer seed >= 0")
    return list(dict.fromkeys(int(s) for s in seeds))


@dataclass(frozen=True)
class Cell:
    """One point of the grid: a penalty (catalogue name and parameters), λ and a seed.

    ``params`` is a tuple of (name, value) pairs, sorted, so that a cell is hashable and its
    :meth:`key` does not depend on the order the user gave.
    """

    penalty: str
    params: tuple[tuple[str, float], ...]
    lam: float
    seed: int

    def record(self) -> dict[str, Any]:
        """The cell as plain JSON-able values."""
        return {"penalty": self.penalty, "params": dict(self.params), "lam": self.lam,
                "seed": self.seed}

    def key(self, design: Mapping[str, Any]) -> str:
        """A file-name-safe id of the cell *and* the design it is fitted on: a resumed
        sweep reuses a cell only when both are the same."""
        blob = json.dumps([self.record(), dict(design)], sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Grid:
    """Penalties × their hyperparameter values × λ values × seeds.

    Attributes
    ----------
    penalties : tuple of str
        Penalty names (see :func:`dualreg.estimators.resolve_penalty`).
    lams : tuple of float
    seeds : tuple of int
    params : mapping of str to tuple of float
        Hyperparameter values; each applies to the penalties that take a parameter of that
        name (``accepts``), and the others ignore it.
    accepts : mapping of str to frozenset of str
        The parameter names each penalty takes.
    """

    penalties: tuple[str, ...]
    lams: tuple[float, ...]
    seeds: tuple[int, ...]
    params: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    accepts: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def cells(self) -> list[Cell]:
        """Every cell, penalty-major then parameters, λ, seed (the table's row order)."""
        out = []
        for pen in self.penalties:
            names = sorted(n for n in self.params if n in self.accepts.get(pen, ()))
            for combo in itertools.product(*(self.params[n] for n in names)):
                params = tuple(zip(names, combo, strict=True))
                out += [Cell(pen, params, lam, seed)
                        for lam in self.lams for seed in self.seeds]
        return out


def penalty_parameters(name: str) -> frozenset[str]:
    """The hyperparameter names the penalty ``name`` takes (``ValueError`` names an unknown
    one or one the IRLS cannot fit)."""
    from dualreg.estimators import resolve_penalty
    from dualreg.penalties import CATALOGUE
    from dualreg.solvers.contract import check_penalty

    try:
        penalty = resolve_penalty(name)
        check_penalty(penalty)
    except ValueError as err:
        raise ValueError(f"--penalty {name}: {err}") from None
    entry = {k.lower(): e for k, e in CATALOGUE.items()}.get(name.strip().lower())
    return frozenset(entry.defaults) if entry is not None else frozenset()


def build_grid(penalties: Sequence[str], lams: Any, seeds: Any = (0,),
               params: Mapping[str, Any] | None = None) -> Grid:
    """A :class:`Grid` from user values: names checked against the catalogue, specs parsed
    (:func:`parse_values`, :func:`parse_seeds`). ``ValueError`` names the bad argument,
    including a parameter that no chosen penalty takes."""
    if isinstance(penalties, str):
        penalties = [penalties]
    if not penalties:
        raise ValueError("--penalty: give at least one penalty")
    accepts = {p: penalty_parameters(p) for p in penalties}
    lam_values = parse_values(lams, "--lam")
    if any(v < 0 for v in lam_values):
        raise ValueError(f"--lam {lams!r}: λ must be >= 0")
    values = {}
    for name, spec in (params or {}).items():
        if not any(name in a for a in accepts.values()):
            raise ValueError(f"--param {name}: none of {', '.join(penalties)} takes a "
                             f"parameter {name!r} (they take: "
                             f"{', '.join(sorted(set().union(*accepts.values()))) or 'none'})")
        values[name] = tuple(parse_values(spec, f"--param {name}"))
    return Grid(tuple(dict.fromkeys(penalties)), tuple(lam_values),
                tuple(parse_seeds(seeds)), values, accepts)
