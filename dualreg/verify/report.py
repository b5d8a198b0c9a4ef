"""Render and write a verification report: ``<name>.json`` and ``<name>.md`` as one set.

The Markdown starts with the provenance and a per-theorem summary, then the claims grouped by
theorem (each group headed by its proof file). A single-seed report lists every check; a
multi-seed report (``--seeds``) lists each check's pass rate over the seeds, its worst measured
value, and every failing (claim, check, seed) triple.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dualreg import _io
from dualreg.verify import provenance
from dualreg.verify.registry import CLAIMS, Row

# ------------------------------------------------------------------------------- Markdown text
_MD_SPECIAL = re.compile(r"([\\`*_|\[\]])")


def md(text: object) -> str:
    """``text`` as literal Markdown inline text, safe inside a table cell.

    Backslash, backtick, ``*``, ``_``, ``|``, ``[`` and ``]`` are backslash-escaped (so
    ``|F|`` renders as ``|F|`` and does not split the cell), ``<`` becomes ``&lt;`` and a
    newline becomes ``<br>``.
    """
    s = _MD_SPECIAL.sub(r"\\\1", str(text)).replace("<", "&lt;")
    return s.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def md_cell(markdown: str) -> str:
    """Text that is already Markdown (a proof file's heading, with its ``$…$`` math) made
    safe inside a table cell: only ``|`` is escaped and newlines become ``<br>``."""
    s = re.sub(r"(?<!\\)\|", r"\\|", str(markdown))
    return s.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def num(x: float) -> str:
    """A measured value or tolerance: 3 significant digits, ``nan``/``inf`` spelled out."""
    if x is None or math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.3g}"


def table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    """A GitHub-flavoured Markdown table; cells must already be escaped (:func:`md`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row has {len(row)} cells, header {len(header)}")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _ratio(k: int, n: int) -> str:
    return f"{k}/{n}"


# ---------------------------------------------------------------------------- theorems, links
def theorem_of(claim_id: str) -> str:
    """``"T4.eta-hat"`` → ``"T4"``."""
    return claim_id.split(".", 1)[0]


def theorem_key(theorem: str) -> tuple[int, str]:
    """Sort key putting ``T2`` before ``T10`` (numeric, then the id)."""
    digits = re.sub(r"\D", "", theorem)
    return (int(digits) if digits else 10**6, theorem)


def theorem_title(theorem: str, proof: str) -> str:
    """The first heading of the proof file (``T1. Dropout is a data-weighted ridge``), else the
    theorem id."""
    root = provenance.repository_root()
    if root is not None:
        try:
            for line in (root / proof).read_text(encoding="utf-8").splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
        except OSError:
            pass
    return theorem


def proof_link(proof: str, out: Path) -> str:
    """A link to ``proof`` relative to the report's folder ``out`` when the report is written
    inside the repository; otherwise the repository-relative path as code text."""
    root = provenance.repository_root()
    if root is not None:
        folder = Path(os.path.abspath(out))
        if folder == root or root in folder.parents:
            rel = os.path.relpath(root / proof, folder).replace(os.sep, "/")
            return f"[{md(proof)}]({rel})"
    return f"`{proof}`"


def _claim_meta(claim_id: str, rows: list[Row]) -> tuple[str, str]:
    c = CLAIMS.get(claim_id)
    if c is not None:
        return c.statement, c.proof
    return (rows[0].statement if rows else ""), ""


def _group(rows: list[Row]) -> dict[str, dict[str, list[Row]]]:
    """theorem → claim → rows, theorems in numeric order, claims in run order."""
    by: dict[str, dict[str, list[Row]]] = {}
    for r in rows:
        by.setdefault(theorem_of(r.claim), {}).setdefault(r.claim, []).append(r)
    return {t: by[t] for t in sorted(by, key=theorem_key)}


def _theorem_proof(claims: dict[str, list[Row]]) -> str:
    for cid, rs in claims.items():
        proof = _claim_meta(cid, rs)[1]
        if proof:
            return proof
    return ""


# -------------------------------------------------------------------------------- summaries
def summarise(rows: list[Row]) -> dict[str, Any]:
    """Per theorem and per claim: runs (claim × seed) passed, checks passed, seconds."""
    theorems, claims = [], []
    for theorem, group in _group(rows).items():
        t = {"theorem": theorem, "proof": _theorem_proof(group), "claims": 0,
             "claims_passed": 0, "claim_runs": 0, "claim_runs_passed": 0, "checks": 0,
             "checks_passed": 0, "seconds": 0.0}
        for cid, rs in group.items():
            statement, proof = _claim_meta(cid, rs)
            seeds = sorted({r.seed for r in rs})
            failing_seeds = sorted({r.seed for r in rs if not r.passed})
            checks: dict[str, dict[str, Any]] = {}
            for r in rs:
                agg = checks.setdefault(r.check, {
                    "check": r.check, "runs": 0, "passed": 0, "worst": None,
                    "tolerance": r.tolerance, "relation": r.relation, "why": r.why})
                agg["runs"] += 1
                agg["passed"] += r.passed
                worse = max if r.relation == "≤" else min
                if not math.isnan(r.measured):
                    agg["worst"] = (r.measured if agg["worst"] is None
                                    else worse(agg["worst"], r.measured))
            seconds = sum(r.seconds for r in rs)
            claims.append({"claim": cid, "theorem": theorem, "statement": statement,
                           "proof": proof, "seeds": len(seeds),
                           "seeds_passed": len(seeds) - len(failing_seeds),
                           "failing_seeds": failing_seeds, "checks": list(checks.values()),
                           "seconds": round(seconds, 3)})
            t["claims"] += 1
            t["claims_passed"] += not failing_seeds
            t["claim_runs"] += len(seeds)
            t["claim_runs_passed"] += len(seeds) - len(failing_seeds)
            t["checks"] += len(rs)
            t["checks_passed"] += sum(r.passed for r in rs)
            t["seconds"] += seconds
        t["seconds"] = round(t["seconds"], 3)
        theorems.append(t)
    return {"theorems": theorems, "claims": claims}


def _failure(r: Row) -> dict[str, Any]:
    return {"claim": r.claim, "check": r.check, "seed": r.seed, "measured": r.measured,
            "relation": r.relation, "tolerance": r.tolerance, "error": r.error}


# -------------------------------------------------------------------------------- Markdown
def _provenance_lines(meta: dict[str, Any]) -> list[str]:
    git = meta.get("git")
    commit = ("not a git checkout" if git is None else
              f"`{git['commit']}`" + (" (working tree dirty)" if git.get("dirty") else ""))
    packages = ", ".join(f"{k} {v}" for k, v in meta["packages"].items())
    seeds = meta["seeds"]
    seed_text = (str(seeds[0]) if len(seeds) == 1 else
                 f"{len(seeds)} seeds: " + md(_compact_seeds(seeds)))
    claims = meta["claims"]
    claim_text = (f"all {len(claims)}" if meta.get("all_claims") else
                  f"{len(claims)}: " + ", ".join(f"`{c}`" for c in claims))
    items = [
        ("dualreg", md(meta["dualreg"])), ("git commit", commit),
        ("packages", md(packages)),
        ("Python", md(f"{meta['python']} on {meta['platform']}, {meta['cpus']} CPUs")),
        ("seed" if len(seeds) == 1 else "seeds", seed_text),
        ("mode", md(meta["mode"])), ("device", md(meta["device"])),
        ("claims", claim_text), ("command", f"`{meta['command']}`"),
        ("started (UTC)", md(meta["started"])),
        ("wall time", f"{meta['wall_seconds']:.1f} s"),
    ]
    return ["## Provenance", ""] + [f"- **{k}**: {v}" for k, v in items] + [""]


def _compact_seeds(seeds: list[int]) -> str:
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}:{seeds[-1] + 1}"
    return ",".join(map(str, seeds))


def render_markdown(rows: list[Row], meta: dict[str, Any], summary: dict[str, Any],
                    out: Path) -> str:
    """The whole Markdown report."""
    multi = len(meta["seeds"]) > 1
    passed = sum(r.passed for r in rows)
    failed = [r for r in rows if not r.passed]
    n_claims = len(summary["claims"])
    good_claims = sum(c["seeds_passed"] == c["seeds"] for c in summary["claims"])
    if multi:
        headline = (f"**{good_claims}/{n_claims} claims pass at every one of "
                    f"{len(meta['seeds'])} seeds**; {passed}/{len(rows)} check runs pass.")
    else:
        headline = (f"**{passed}/{len(rows)} checks pass**; {good_claims}/{n_claims} claims "
                    "pass.")
    lines = ["# dualreg verification report", "", headline, ""]
    lines += _provenance_lines(meta)

    runs = "claim runs passed" if multi else "claims passed"
    lines += ["## Summary by theorem", ""]
    lines += table(
        ["theorem", runs, "check runs passed" if multi else "checks passed",
         "seconds (all seeds)" if multi else "seconds", "proof"],
        ([md_cell(theorem_title(t["theorem"], t["proof"])) if t["proof"] else md(t["theorem"]),
          _ratio(t["claim_runs_passed"], t["claim_runs"]) if multi
          else _ratio(t["claims_passed"], t["claims"]),
          _ratio(t["checks_passed"], t["checks"]), f"{t['seconds']:.2f}",
          proof_link(t["proof"], out) if t["proof"] else ""]
         for t in summary["theorems"]))
    lines.append("")

    if multi:
        lines += ["## Failures", ""]
        if failed:
            lines += table(["claim", "check", "seed", "measured", "tolerance", "error"],
                           ([f"`{r.claim}`", md(r.check), str(r.seed), num(r.measured),
                             f"{r.relation} {num(r.tolerance)}", md(r.error)] for r in failed))
        else:
            lines.append("None: every check passed at every seed.")
        lines.append("")

    claims = {c["claim"]: c for c in summary["claims"]}
    for theorem, group in _group(rows).items():
        proof = _theorem_proof(group)
        title = theorem_title(theorem, proof) if proof else theorem
        lines += [f"## {title.replace(chr(10), ' ')}", ""]
        if proof:
            lines += [f"Proof: {proof_link(proof, out)}", ""]
        for cid, rs in group.items():
            c = claims[cid]
            mark = "✅" if c["seeds_passed"] == c["seeds"] else "❌"
            rate = f" — {c['seeds_passed']}/{c['seeds']} seeds" if multi else ""
            lines += [f"### {mark} `{cid}`{rate}", "", md(c["statement"]), ""]
            if c["proof"] and c["proof"] != proof:
                lines += [f"Proof: {proof_link(c['proof'], out)}", ""]
            if multi:
                lines += table(
                    ["check", "passed", "worst measured", "tolerance", "why this tolerance"],
                    ([md(a["check"]), _ratio(a["passed"], a["runs"]), num(a["worst"])
                      if a["worst"] is not None else "nan",
                      f"{a['relation']} {num(a['tolerance'])}", md(a["why"])]
                     for a in c["checks"]))
            else:
                lines += table(
                    ["check", "measured", "tolerance", "why this tolerance", "pass", "s"],
                    ([md(r.check), num(r.measured) if not r.error else md(r.error),
                      f"{r.relation} {num(r.tolerance)}", md(r.why),
                      "✅" if r.passed else "❌", f"{r.seconds:.2f}"] for r in rs))
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


# ------------------------------------------------------------------------------------ write
def build(rows: list[Row], meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: ``meta`` (provenance and totals), ``theorems``, ``claims``,
    ``failures``, and for a single seed every row."""
    summary = summarise(rows)
    passed = sum(r.passed for r in rows)
    meta = {**meta, "checks": len(rows), "passed": passed, "failed": len(rows) - passed}
    doc: dict[str, Any] = {"meta": meta, **summary,
                           "failures": [_failure(r) for r in rows if not r.passed]}
    if len(meta["seeds"]) == 1:
        doc["rows"] = [asdict(r) for r in rows]
    return doc


def write(rows: list[Row], meta: dict[str, Any], out: Path, name: str = "report") -> Path:
    """Write ``out/<name>.json`` and ``out/<name>.md`` as one set and return the ``.md`` path.

    Both files are written into a temporary folder beside them and moved into place together
    (:func:`dualreg._io.atomic_set`, Ctrl-C held back during the move), so a failure or an
    interrupt leaves the previous pair untouched; the same step deletes the
    ``<name>.INCOMPLETE`` marker of :func:`mark_incomplete`.
    """
    out = Path(out)
    doc = build(rows, meta)
    import json

    text_json = json.dumps(doc, indent=2, default=str, allow_nan=True) + "\n"
    text_md = render_markdown(rows, doc["meta"], doc, out)
    with _io.atomic_set(out, remove=(f"{name}.INCOMPLETE",)) as tmp:
        _io.write_text(tmp / f"{name}.json", text_json)
        _io.write_text(tmp / f"{name}.md", text_md)
    return out / f"{name}.md"


def mark_incomplete(out: Path, name: str, command: str, started: str) -> Path:
    """Write ``out/<name>.INCOMPLETE`` before a run: until :func:`write` installs the new
    report (and deletes the marker), a report already in ``out`` is flagged as not the
    latest run's, so an interrupted or crashed run never leaves a stale report looking
    current."""
    marker = Path(out) / f"{name}.INCOMPLETE"
    _io.write_text(marker, f"A run of `{command}` started {started} did not finish: "
                   f"{name}.md and {name}.json here, if any, are from an earlier run.\n")
    return marker
