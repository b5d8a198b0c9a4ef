"""Run claims, print the table as it goes, and write ``report.json`` and ``report.md``."""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from dualreg import _io
from dualreg.verify.registry import CLAIMS, Claim, Context


@dataclass(frozen=True)
class Row:
    """One line of the report."""

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


def run_claim(claim_id: str, ctx: Context) -> list[Row]:
    """Run one claim; an exception becomes a failing row that carries its message."""
    import dualreg.verify.claims  # noqa: F401  (registers the claims in worker processes)

    c: Claim = CLAIMS[claim_id]
    rows: list[Row] = []
    start = time.perf_counter()
    try:
        for m in c.run(ctx):
            now = time.perf_counter()
            rows.append(Row(c.id, c.statement, m.check, float(m.measured), float(m.tolerance),
                            m.why, m.passed, now - start,
                            relation="≥" if m.mode == "ge" else "≤"))
            start = now
    except Exception as err:  # a broken check must fail loudly, not vanish
        rows.append(Row(c.id, c.statement, "(check raised)", float("nan"), float("nan"), "",
                        False, time.perf_counter() - start, f"{type(err).__name__}: {err}"))
    return rows


def select(only: Iterable[str] | None) -> list[str]:
    """Claim ids to run: all, or those equal to / starting with an ``--only`` prefix."""
    import dualreg.verify.claims  # noqa: F401

    ids = list(CLAIMS)
    if not only:
        return ids
    chosen = [i for i in ids if any(i == o or i.startswith(o + ".") or i.startswith(o)
                                    for o in only)]
    unknown = [o for o in only if not any(i.startswith(o) for i in ids)]
    if unknown:
        raise ValueError(f"unknown claim id(s): {', '.join(unknown)}; known: {', '.join(ids)}")
    return chosen


def _format(row: Row) -> str:
    mark = "PASS" if row.passed else "FAIL"
    measured = f"{row.measured:.3g}" if row.error == "" else row.error
    return (f"{mark}  {row.claim:<22} {row.check[:70]:<70} {measured:>10} "
            f"{row.relation} {row.tolerance:<8.2g} {row.seconds:6.2f}s")


def run(
    ids: list[str], ctx: Context, jobs: int = 1, out: Path | None = None,
    stream: TextIO | None = None, progress: bool = True,
) -> list[Row]:
    """Run ``ids``, print each row as it arrives, write the reports under ``out``."""
    from tqdm import tqdm

    rows: list[Row] = []
    # disable=None: tqdm shows the bar on a terminal only, so logs stay one row per line.
    bar = tqdm(total=len(ids), desc="verify", unit="claim", disable=None if progress else True,
               leave=False, file=stream)

    def emit(batch: list[Row]) -> None:
        for r in batch:
            line = _format(r)
            if stream is not None:
                bar.write(line, file=stream)
        rows.extend(batch)
        bar.update(1)

    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for batch in pool.map(run_claim, ids, [ctx] * len(ids)):
                emit(batch)
    else:
        for i in ids:
            emit(run_claim(i, ctx))
    bar.close()
    if out is not None:
        write_reports(rows, ctx, Path(out))
    return rows


def write_reports(rows: list[Row], ctx: Context, out: Path) -> None:
    """``report.json`` (every row) and ``report.md`` (the table), both written atomically."""
    passed = sum(r.passed for r in rows)
    meta = {
        "seed": ctx.seed, "mode": ctx.mode, "device": ctx.device,
        "python": platform.python_version(), "machine": platform.machine(),
        "checks": len(rows), "passed": passed, "failed": len(rows) - passed,
    }
    _io.write_json(out / "report.json", {"meta": meta, "rows": [asdict(r) for r in rows]})
    lines = [
        "# dualreg verification report", "",
        f"{passed}/{len(rows)} checks pass (mode {ctx.mode}, seed {ctx.seed}, "
        f"device {ctx.device}).", "",
        "| claim | check | measured | tolerance | why this tolerance | pass | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        measured = f"{r.measured:.3g}" if not r.error else r.error.replace("|", "/")
        lines.append(
            f"| {r.claim} | {r.check.replace('|', '/')} | {measured} | {r.relation} "
            f"{r.tolerance:.2g} | "
            f"{r.why.replace('|', '/')} | {'✅' if r.passed else '❌'} | {r.seconds:.2f} |"
        )
    _io.write_text(out / "report.md", "\n".join(lines) + "\n")
