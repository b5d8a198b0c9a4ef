"""``dualreg figures --check DIR``: regenerate the figures of DIR and compare their data.

Each figure states, file by file and value by value, how closely a regeneration on another
machine must agree (``check=`` of :func:`dualreg.plots.registry.figure`): a list of rules, the
first whose pattern matches a value's path (``<file>/<json keys or row/column>``,
:func:`fnmatch.fnmatch`) decides; values no rule matches fall under :data:`DEFAULT`.

- :class:`Close` — ``|new − ref| ≤ atol + rtol·|ref|``: computations that are exact up to the
  platform's floating-point rounding (closed forms, root finding, converged solvers, seeded
  float64 Monte Carlo).
- :class:`SeedMeans` — the value is a list over training seeds: the two means must agree within
  ``k·√(h_ref² + h_new²) + atol``, h the half-width of each side's 95 % Student-t interval.
- :class:`MonteCarlo` — an object holding Monte-Carlo means beside their standard errors:
  each mean within ``k·√(se_ref² + se_new²)``, each SE within a factor, statistics derived from
  them (z-scores) only finite. A seeded Monte Carlo repeats itself
  bit for bit only where every rounding repeats: one last-digit difference that flips a mask
  sends a replica along another path, as random as the first.
- :class:`TableCI` — a CSV table with a column ``X_ci`` (that half-width) beside each column
  ``X`` of means: the same bound on every such pair, exact on the other cells.
- :class:`Skip` — not compared (e.g. one seed's training trajectory, which floating-point
  differences between machines change; its summary is compared instead).

Strings (labels, solver names) must be equal everywhere. Trained networks are reproducible
byte for byte only on the same machine and library versions; across machines only within
these rules.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np

from dualreg.plots._common import mean_ci

# Two means of n = 3 seeds drawn from one distribution differ by more than
# k·sqrt(h1² + h2²) with probability P(|t₄| > 4.303·k) (h = t₀.₉₇₅,₂·s/√3): 1.3 % at k = 1,
# 0.1 % at k = 1.6 — at most ~5 % over a table of some 40 such means.
SEED_K = 1.6


@dataclass(frozen=True)
class Close:
    pattern: str
    rtol: float
    atol: float
    why: str

    def bound(self, ref: float) -> float:
        return self.atol + self.rtol * abs(ref)


@dataclass(frozen=True)
class SeedMeans:
    pattern: str
    why: str
    k: float = SEED_K
    atol: float = 1e-3


@dataclass(frozen=True)
class MonteCarlo:
    """A JSON object with Monte-Carlo means (key ``mean``) and their standard errors (``se``).

    Two runs that part ways are two independent Monte-Carlo estimates of one mean: their
    difference over √(se_ref² + se_new²) is close to N(0, 1), beyond ``k`` = 5 with probability
    6e-7 per value. The SE is itself a sample SD over the replicas, heavy-tailed near a
    coefficient whose noise diverges at 0: it must agree within the factor ``se_factor``.
    ``derived`` keys (z-scores) are functions of the means and SEs checked above — a z-score
    scales as 1/SE, so it may move by the SE's factor — and must only be finite; every other
    key is exact up to float64 rounding.
    """

    pattern: str
    why: str
    mean: str = "mean"
    se: str = "se"
    derived: tuple[str, ...] = ()
    k: float = 5.0
    se_factor: float = 4.0


@dataclass(frozen=True)
class TableCI:
    pattern: str
    why: str
    k: float = SEED_K
    atol: float = 1e-3


@dataclass(frozen=True)
class Skip:
    pattern: str
    why: str


Rule = Close | SeedMeans | MonteCarlo | TableCI | Skip
DEFAULT = Close("*", rtol=1e-9, atol=1e-12, why="float64 computation: only the platform's "
                "rounding (≲ 1e-13 relative) may differ")


def _rule(path: str, rules: Sequence[Rule]) -> Rule:
    return next((r for r in rules if fnmatch(path, r.pattern)), DEFAULT)


def _number(x: Any) -> float | None:
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return None
    return None


def _leaves(obj: Any, path: str, rules: Sequence[Rule]) -> Iterator[tuple[str, Any, Rule]]:
    """(path, value, rule) of every leaf; a list under a SeedMeans rule is one leaf."""
    rule = _rule(path, rules)
    if isinstance(rule, MonteCarlo) and isinstance(obj, dict) and rule.mean in obj:
        yield path, obj, rule
        return
    if isinstance(obj, list) and isinstance(rule, SeedMeans) and all(
            _number(v) is not None for v in obj):
        yield path, obj, rule
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, f"{path}/{k}", rules)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, f"{path}/{i}", rules)
    else:  # a scalar under a SeedMeans pattern (e.g. a setting) is compared as any number
        yield path, obj, DEFAULT if isinstance(rule, SeedMeans) else rule


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _compare_monte_carlo(path: str, ref: dict, new: Any, rule: MonteCarlo) -> list[str]:
    if not isinstance(new, dict) or set(new) != set(ref):
        return [f"{path}: keys {sorted(ref)} → {sorted(new) if isinstance(new, dict) else new!r}"]
    out = []
    shape = {k: np.shape(ref[k]) for k in (rule.mean, rule.se, *rule.derived)}
    if any(np.shape(new[k]) != s for k, s in shape.items()):
        return [f"{path}: the Monte-Carlo arrays changed shape"]
    m_ref, m_new = np.asarray(ref[rule.mean], float), np.asarray(new[rule.mean], float)
    s_ref, s_new = np.asarray(ref[rule.se], float), np.asarray(new[rule.se], float)
    tol = rule.k * np.hypot(s_ref, s_new) + 1e-12 * np.abs(m_ref)
    for i in np.flatnonzero(~(np.abs(m_new - m_ref) <= tol)):
        out.append(f"{path}/{rule.mean}/{i}: {float(m_ref.flat[i])!r} → "
                   f"{float(m_new.flat[i])!r} "
                   f"(tolerance {tol.flat[i]:.3g} = {rule.k:g} combined SE: {rule.why})")
    ratio = np.maximum(s_new, 1e-300) / np.maximum(s_ref, 1e-300)
    for i in np.flatnonzero(~((ratio <= rule.se_factor) & (ratio >= 1 / rule.se_factor))):
        out.append(f"{path}/{rule.se}/{i}: {float(s_ref.flat[i])!r} → "
                   f"{float(s_new.flat[i])!r} (a factor {rule.se_factor:g} allowed: {rule.why})")
    for key in rule.derived:  # functions of the checked means and SEs: finite is enough
        b = np.asarray(new[key], float)
        for i in np.flatnonzero(~np.isfinite(b)):
            out.append(f"{path}/{key}/{i}: {float(b.flat[i])!r} is not finite ({rule.why})")
    for key in sorted(set(ref) - {rule.mean, rule.se, *rule.derived}):
        new_leaves = {p: v for p, v, _ in _leaves(new[key], f"{path}/{key}", ())}
        for sub, value, _ in _leaves(ref[key], f"{path}/{key}", ()):
            msg = (f"{sub}: missing now" if sub not in new_leaves
                   else _compare_leaf(sub, value, new_leaves[sub], DEFAULT))
            if msg:
                out.append(msg)
    return out


def _compare_leaf(path: str, ref: Any, new: Any, rule: Rule) -> str | None:
    if isinstance(rule, Skip):
        return None
    if isinstance(rule, SeedMeans):
        if not isinstance(new, list) or len(new) != len(ref):
            return f"{path}: {len(ref)} seeds in the reference, {new!r} now"
        (m_ref, h_ref), (m_new, h_new) = mean_ci([float(v) for v in ref]), mean_ci(
            [float(v) for v in new])
        tol = rule.k * math.hypot(np.nan_to_num(h_ref), np.nan_to_num(h_new)) + rule.atol
        if abs(m_new - m_ref) > tol:
            return (f"{path}: seed mean {m_ref:.6g} → {m_new:.6g} (tolerance {tol:.3g}: "
                    f"{rule.why})")
        return None
    a, b = _number(ref), _number(new)
    if a is None or b is None:
        return None if ref == new else f"{path}: {ref!r} → {new!r} (text must be equal)"
    if _same(a, b):
        return None
    tol = rule.bound(a) if isinstance(rule, Close) else DEFAULT.bound(a)
    if math.isfinite(a) and math.isfinite(b) and abs(b - a) <= tol:
        return None
    return f"{path}: {a!r} → {b!r} (tolerance {tol:.3g}: {rule.why})"


def _read_csv(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return (rows[0], rows[1:]) if rows else ([], [])


def _compare_table(name: str, ref: str, new: str, rule: TableCI) -> list[str]:
    h_ref, r_ref = _read_csv(ref)
    h_new, r_new = _read_csv(new)
    if h_ref != h_new or len(r_ref) != len(r_new):
        return [f"{name}: the table's columns or rows changed ({h_ref} × {len(r_ref)} → "
                f"{h_new} × {len(r_new)})"]
    out = []
    col = {c: j for j, c in enumerate(h_ref)}
    for a, b in zip(r_ref, r_new, strict=True):
        key = a[0]
        for j, c in enumerate(h_ref):
            path = f"{name}/{key}/{c}"
            if c.endswith("_ci"):
                continue
            if f"{c}_ci" in col:
                ci = col[f"{c}_ci"]
                m_ref, m_new = float(a[j]), float(b[j])
                tol = rule.k * math.hypot(np.nan_to_num(float(a[ci])),
                                          np.nan_to_num(float(b[ci]))) + rule.atol
                if not abs(m_new - m_ref) <= tol:
                    out.append(f"{path}: {m_ref:.6g} → {m_new:.6g} (tolerance {tol:.3g}: "
                               f"{rule.why})")
            else:
                msg = _compare_leaf(path, a[j], b[j], DEFAULT)
                if msg:
                    out.append(msg)
    return out


def _flatten_csv(name: str, text: str) -> dict[str, Any]:
    header, rows = _read_csv(text)
    return {f"{name}/{i}/{c}": v for i, row in enumerate(rows) for c, v in
            zip(header, row, strict=False)}


def compare_file(name: str, ref: Path, new: Path, rules: Sequence[Rule]) -> list[str]:
    """The differences between two versions of the data file ``name`` under ``rules``."""
    if not ref.exists():
        return [f"{name}: missing from the reference folder"]
    if not new.exists():
        return [f"{name}: not written by the regeneration"]
    ref_text, new_text = ref.read_text(encoding="utf-8"), new.read_text(encoding="utf-8")
    whole = _rule(name, rules)
    if isinstance(whole, Skip):
        return []
    if isinstance(whole, TableCI):
        return _compare_table(name, ref_text, new_text, whole)
    if name.endswith(".json"):
        ref_leaves = list(_leaves(json.loads(ref_text), name, rules))
        new_map = {p: v for p, v, _ in _leaves(json.loads(new_text), name, rules)}
    elif name.endswith(".csv"):
        ref_map = _flatten_csv(name, ref_text)
        ref_leaves = [(p, v, _rule(p, rules)) for p, v in ref_map.items()]
        new_map = _flatten_csv(name, new_text)
    else:
        return [] if ref_text == new_text else [f"{name}: the text changed"]
    out = []
    ref_paths = {p for p, _, _ in ref_leaves}
    if ref_paths != set(new_map):
        gone, added = sorted(ref_paths - set(new_map)), sorted(set(new_map) - ref_paths)
        out.append(f"{name}: structure changed ({len(gone)} values gone, e.g. "
                   f"{gone[:2]}; {len(added)} new, e.g. {added[:2]})")
    for path, value, rule in ref_leaves:
        if path not in new_map:
            continue
        if isinstance(rule, MonteCarlo) and isinstance(value, dict):
            out += _compare_monte_carlo(path, value, new_map[path], rule)
            continue
        msg = _compare_leaf(path, value, new_map[path], rule)
        if msg:
            out.append(msg)
    return out


def data_files(record: dict[str, Any]) -> list[str]:
    """The data files of an index record (everything but the PNG and the PDF)."""
    return [f for f in record["files"] if not f.endswith((".png", ".pdf"))]
