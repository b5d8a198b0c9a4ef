"""Run claims at one seed or many, print rows as they arrive, write the report set.

The report files are rendered by :mod:`dualreg.verify.report`; their provenance comes from
:mod:`dualreg.verify.provenance`. Only the default run (every claim, quick mode, seed 0, CPU)
writes ``report.{json,md}``; any other run writes a report named after what it ran
(:func:`report_name`), so a subset never replaces the full report.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from dualreg.engine import Engine, LocalEngine
from dualreg.verify import provenance, report
from dualreg.verify.registry import CLAIMS, Claim, Context, Row


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
                            relation="≥" if m.mode == "ge" else "≤", seed=ctx.seed))
            start = now
    except Exception as err:  # a broken check must fail loudly, not vanish
        rows.append(Row(c.id, c.statement, "(check raised)", float("nan"), float("nan"), "",
                        False, time.perf_counter() - start, f"{type(err).__name__}: {err}",
                        seed=ctx.seed))
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


def parse_seeds(spec: str) -> list[int]:
    """``"0:100"`` → seeds 0…99 (half-open range); ``"1,5,9"`` → those seeds (one seed is
    ``"7"``). Seeds are integers ≥ 0 without repeats; bad input raises ``ValueError`` whose
    message names ``--seeds``."""
    text = spec.strip()

    def integer(part: str) -> int:
        part = part.strip()
        if not re.fullmatch(r"\d+", part):
            raise ValueError(f"--seeds expects START:STOP or a comma list of integers >= 0, "
                             f"got {spec!r}")
        return int(part)

    if ":" in text:
        start_text, _, stop_text = text.partition(":")
        start, stop = integer(start_text), integer(stop_text)
        if stop <= start:
            raise ValueError(f"--seeds {spec!r}: the range START:STOP is half-open and needs "
                             "STOP > START")
        return list(range(start, stop))
    seeds = [integer(p) for p in text.split(",")]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ValueError(f"--seeds {spec!r} repeats seed(s) {', '.join(map(str, repeated))}")
    return seeds


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_") or "x"


def report_name(ids: Sequence[str], ctx: Context, seeds: Sequence[int] | None = None,
                only: Sequence[str] | None = None) -> str:
    """``"report"`` for the default run (every claim, quick, seed 0, CPU, one seed), otherwise
    a name that says what ran: ``report-only-T3-T9-seed-1``, ``report-seeds-0-100``,
    ``report-full-cuda``… ``only`` (the ``--only`` words) names the subset; without it the
    ids do, when they are not every claim."""
    parts = []
    if ctx.mode != "quick":
        parts.append(ctx.mode)
    if ctx.device != "cpu":
        parts.append(ctx.device)
    everything = set(ids) == set(select(None))
    if not everything:
        words = list(only) if only else list(ids)
        subset = "only-" + "-".join(_safe(w) for w in words)
        if len(subset) > 80:
            digest = hashlib.sha1(" ".join(sorted(ids)).encode()).hexdigest()[:8]
            subset = f"only-{len(ids)}-claims-{digest}"
        parts.append(subset)
    if seeds is not None:
        seeds = list(seeds)
        if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[-1] + 1)):
            parts.append(f"seeds-{seeds[0]}-{seeds[-1] + 1}")
        else:
            joined = "_".join(map(str, seeds))
            if len(joined) > 60:
                joined = f"{len(seeds)}-{hashlib.sha1(joined.encode()).hexdigest()[:8]}"
            parts.append(f"seeds-{joined}")
    elif ctx.seed != 0:
        parts.append(f"seed-{ctx.seed}")
    return "-".join(["report", *parts])


def _format(row: Row, with_seed: bool = False) -> str:
    mark = "PASS" if row.passed else "FAIL"
    measured = f"{row.measured:.3g}" if row.error == "" else row.error
    seed = f"seed {row.seed:<4} " if with_seed else ""
    return (f"{mark}  {seed}{row.claim:<22} {row.check[:70]:<70} {measured:>10} "
            f"{row.relation} {row.tolerance:<8.2g} {row.seconds:6.2f}s")


def run(
    ids: list[str], ctx: Context, jobs: int = 1, out: Path | None = None,
    stream: TextIO | None = None, progress: bool = True, *,
    seeds: Sequence[int] | None = None, name: str | None = None, command: str | None = None,
    engine: Engine | None = None,
) -> list[Row]:
    """Run ``ids`` at ``ctx.seed`` (or at every seed of ``seeds``) and write the report set
    ``out/<name>.{json,md}`` (``name`` defaults to :func:`report_name`).

    With one seed every row is printed to ``stream`` as it arrives; with ``seeds`` only the
    failing rows are (with their seed). Each (claim, seed) pair is one task of ``engine``
    (:mod:`dualreg.engine`: a Dask cluster, say), by default a local one with ``jobs``
    processes; the rows are gathered by pair, so the report does not depend on the engine.
    Pairs that want CUDA (``ctx.device == "cuda"``) go to GPU workers on a cluster. Returns
    every row, claims in ``ids`` order, seeds ascending within a claim.
    """
    from tqdm import tqdm

    seed_list = [ctx.seed] if seeds is None else list(seeds)
    multi = seeds is not None
    started, t0 = provenance.utc_now(), time.perf_counter()
    # Seed-major order: the progress bar advances evenly and early seeds finish first.
    pairs = [(cid, replace(ctx, seed=s)) for s in seed_list for cid in ids]
    name = name or report_name(ids, ctx, seeds if multi else None)
    if out is not None:
        report.mark_incomplete(Path(out), name, command or provenance.default_command(),
                               started)
    rows_by_pair: dict[tuple[str, int], list[Row]] = {}
    # disable=None: tqdm shows the bar on a terminal only, so logs stay one row per line.
    bar = tqdm(total=len(pairs), desc="verify", unit="claim" if not multi else "run",
               disable=None if progress else True, leave=False, file=stream)

    def emit(pair: tuple[str, Context], batch: list[Row]) -> None:
        if stream is not None:
            for r in batch:
                if not multi or not r.passed:
                    bar.write(_format(r, with_seed=multi), file=stream)
        rows_by_pair[(pair[0], pair[1].seed)] = batch
        bar.update(1)

    own = engine is None
    engine = LocalEngine(jobs) if engine is None else engine
    try:
        for i, batch in engine.imap(run_claim, pairs, gpu=ctx.device == "cuda"):
            emit(pairs[i], batch)
    finally:
        if own:
            engine.close()
    bar.close()
    rows = [r for cid in ids for s in seed_list for r in rows_by_pair[(cid, s)]]
    if out is not None:
        meta = provenance.collect(
            seeds=seed_list, mode=ctx.mode, device=ctx.device, claims=list(ids),
            command=command or provenance.default_command(), started=started,
            wall_seconds=time.perf_counter() - t0)
        meta["all_claims"] = set(ids) == set(select(None))
        report.write(rows, meta, Path(out), name)
    return rows
