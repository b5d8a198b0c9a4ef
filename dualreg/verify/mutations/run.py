"""Run the verification suite against each planted bug and score it.

Each plant runs in a fresh Python process (``python -m dualreg.verify.mutations PLANT``): the
process imports the library and every claim, installs the plant, and runs the claims of
``dualreg verify --quick`` one by one — the plant's expected catchers first, then the rest in
registry order — stopping at the first claim with a failing check (``all_claims`` runs them
all and lists every catcher). A fresh process per plant keeps plants isolated: nothing one
plant cached can hide or cause another's failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dualreg import _io
from dualreg.verify.mutations.plant import Patcher, Plant, load_plants

CONTROL = Plant("control", "penalty faces", "no plant: the suite itself must pass",
                lambda patcher: None)
"""The control run: every claim without any plant. If it fails, no catch means anything."""


@dataclass(frozen=True)
class Outcome:
    """What the suite did against one plant."""

    plant: str
    layer: str
    what: str
    caught: bool
    caught_by: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    claims_run: int = 0
    seconds: float = 0.0
    error: str = ""


def claim_order(plant: Plant, ids: Iterable[str]) -> list[str]:
    """The plant's expected catchers first (by prefix), then every other claim in order."""
    ids = list(ids)
    first = [i for i in ids if any(i == e or i.startswith(e + ".") or i.startswith(e)
                                   for e in plant.expect)]
    return first + [i for i in ids if i not in first]


def run_inprocess(plant: Plant, seed: int = 0, all_claims: bool = False,
                  claim_ids: Iterable[str] | None = None) -> Outcome:
    """Install ``plant``, run the quick claims in this process, undo the plant."""
    import dualreg.verify.claims  # noqa: F401  (registers every claim)
    from dualreg.verify.registry import CLAIMS, Context
    from dualreg.verify.runner import run_claim

    ctx = Context(seed=seed, mode="quick", device="cpu")
    order = claim_order(plant, claim_ids if claim_ids is not None else CLAIMS)
    patcher = Patcher()
    start = time.perf_counter()
    caught_by, failed, ran = [], [], 0
    try:
        plant.apply(patcher)
        for claim_id in order:
            ran += 1
            bad = [r for r in run_claim(claim_id, ctx) if not r.passed]
            if bad:
                caught_by.append(claim_id)
                failed += [f"{claim_id}: {r.check}" + (f" ({r.error})" if r.error else "")
                           for r in bad[:3]]
                if not all_claims:
                    break
    finally:
        patcher.undo()
    return Outcome(plant.name, plant.layer, plant.what, bool(caught_by), caught_by, failed, ran,
                   time.perf_counter() - start)


def run_subprocess(plant: Plant, seed: int = 0, all_claims: bool = False,
                   timeout: float = 900.0) -> Outcome:
    """:func:`run_inprocess` in a fresh interpreter (one plant per process)."""
    cmd = [sys.executable, "-m", "dualreg.verify.mutations", plant.name, "--seed", str(seed)]
    if all_claims:
        cmd.append("--all-claims")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              check=False)
    except subprocess.TimeoutExpired:
        return Outcome(plant.name, plant.layer, plant.what, False, seconds=timeout,
                       error=f"timed out after {timeout:.0f} s")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(plant.name, plant.layer, plant.what, False,
                       seconds=time.perf_counter() - start, error=f"worker failed: {tail}")
    return Outcome(**json.loads(lines[-1]))


class ControlFailed(RuntimeError):
    """The suite fails with no plant installed: a mutation score would be meaningless."""


def run_control(seed: int = 0) -> Outcome:
    """Every claim, no plant, in a fresh process; raise :class:`ControlFailed` if any fails."""
    out = run_subprocess(CONTROL, seed, all_claims=True)
    if out.caught or out.error:
        raise ControlFailed("dualreg verify --quick fails without any plant ("
                            + ("; ".join(out.failed_checks[:3]) or out.error)
                            + "): fix the suite before scoring it")
    return out


def run_plants(plants: list[Plant], seed: int = 0, jobs: int = 1, all_claims: bool = False,
               stream=None, progress: bool = True) -> list[Outcome]:
    """Run every plant (``jobs`` worker processes at a time), printing one line per plant."""
    from tqdm import tqdm

    bar = tqdm(total=len(plants), desc="mutate", unit="plant", disable=None if progress else True,
               leave=False, file=stream)
    outcomes: list[Outcome] = []

    def one(p: Plant) -> Outcome:
        return run_subprocess(p, seed, all_claims)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for out in pool.map(one, plants):
            outcomes.append(out)
            if stream is not None:
                mark = "CAUGHT  " if out.caught else "SURVIVED"
                by = ", ".join(out.caught_by) or out.error or "no claim failed"
                bar.write(f"{mark} {out.plant:<34} {out.layer:<14} {by}  ({out.seconds:.1f}s)",
                          file=stream)
            bar.update(1)
    bar.close()
    return outcomes


def score_line(outcomes: list[Outcome]) -> str:
    caught = sum(o.caught for o in outcomes)
    return f"mutation score: {caught}/{len(outcomes)} planted bugs caught by dualreg verify --quick"


def write_report(outcomes: list[Outcome], out: Path, seed: int, all_claims: bool) -> None:
    """``mutations.json`` and ``mutations.md`` under ``out``, written atomically."""
    meta = {"seed": seed, "mode": "quick", "all_claims": all_claims,
            "planted": len(outcomes), "caught": sum(o.caught for o in outcomes)}
    lines = ["# Mutation score of dualreg verify --quick", "", score_line(outcomes) +
             f" (seed {seed}; {'every catching claim' if all_claims else 'first catcher'}).", "",
             "| plant | layer | the planted mistake | caught by | s |", "|---|---|---|---|---|"]
    for o in outcomes:
        by = ", ".join(f"`{c}`" for c in o.caught_by) or f"**survived** {o.error}".strip()
        what = o.what.replace("|", "\\|")
        lines.append(f"| `{o.plant}` | {o.layer} | {what} | {by} | {o.seconds:.1f} |")
    _io.write_json(out / "mutations.json",
                   {"meta": meta, "outcomes": [asdict(o) for o in outcomes]})
    _io.write_text(out / "mutations.md", "\n".join(lines) + "\n")


def select_plants(only: Iterable[str] | None = None, subset: str | None = None) -> list[Plant]:
    """The plants to run: all, the ``ci`` subset, or those named (error lists the names)."""
    plants = load_plants()
    if only:
        unknown = [n for n in only if n not in plants]
        if unknown:
            raise ValueError(f"unknown plant(s): {', '.join(unknown)}; see dualreg mutate --list")
        return [plants[n] for n in only]
    chosen = list(plants.values())
    if subset == "ci":
        chosen = [p for p in chosen if p.ci]
    return chosen
