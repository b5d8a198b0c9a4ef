"""Wall time of ``dualreg verify --quick --seeds 0:20`` on the three engines, so the overhead of
the execution layer (:mod:`dualreg.engine`) is known.

Configurations, each a fresh ``python -m dualreg verify`` process timed from outside:

- **local, 1 worker**: ``--jobs 1`` (every (claim, seed) pair in the command's process);
- **local, 2 workers**: ``--jobs 2`` (two spawned processes, started by the command);
- **Dask LocalCluster, 2 workers**: ``--scheduler`` pointing at a
  ``distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` that this
  script starts once (its start-up time is reported apart: a user's cluster is already up).
  The first repeat meets workers that have not imported the claims yet (cold); later repeats
  reuse them (warm), which is how a long-lived cluster behaves.

Each configuration runs ``--repeats`` times, interleaved (1, 2, cluster, 1, 2, cluster, …) so
that a change in the machine's load hits all three alike; the table gives the median, the
spread (max/min − 1) as the noise, and the load average before and after. Every run's report is
checked to hold the same checks with the same pass counts, so the times are of equal work.

Usage: ``python benchmarks/engine.py [--seeds 0:20] [--only ID ...] [--repeats 3]``; without
``--only`` every claim runs. Writes ``benchmarks/results/engine.md`` atomically.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This checkout's dualreg, in this process, the verify commands and the cluster's workers
# (spawned with this process's sys.path and environment), not another installed copy.
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)


SUBSET = """**Why a subset.** `--only` ran the claims that take under 0.3 s a seed on one core
(none of them trains a network): the whole quick suite at 20 seeds takes tens of minutes per
configuration on two shared cores, too long to repeat three configurations here. Their tasks
are short, so the table shows the engines' overheads (process start, imports, pickling) at
their largest relative to the work; with the whole suite the work dominates more. To measure
it: `python benchmarks/engine.py --seeds 0:20` (no `--only`).

"""


def run_verify(seeds: str, only: list[str], extra: list[str], out: Path) -> tuple[float, dict]:
    """Wall seconds of one ``dualreg verify`` process and its report's summary."""
    cmd = [sys.executable, "-m", "dualreg", "verify", "--quick", "--seeds", seeds,
           "--no-progress", "--out", str(out), *(["--only", *only] if only else []), *extra]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    [report] = out.glob("*.json")
    data = json.loads(report.read_text())
    summary = {c["claim"]: [(k["check"], k["passed"]) for k in c["checks"]]
               for c in data["claims"]}
    return wall, summary


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    from dualreg import _io

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0:20")
    parser.add_argument("--only", nargs="+", default=[])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "engine.md"))
    args = parser.parse_args()

    import dask
    import distributed

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    startup = time.perf_counter() - t0
    configs = {"local, 1 worker (`--jobs 1`)": ["--jobs", "1"],
               "local, 2 workers (`--jobs 2`)": ["--jobs", "2"],
               "Dask LocalCluster, 2 workers (`--scheduler`)":
                   ["--scheduler", cluster.scheduler_address]}
    times: dict[str, list[float]] = {k: [] for k in configs}
    reference = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for rep in range(args.repeats):
                for name, extra in configs.items():
                    out = Path(tmp) / f"{rep}-{len(times[name])}-{extra[-1][-4:]}"
                    wall, summary = run_verify(args.seeds, args.only, extra, out)
                    reference = reference or summary
                    if summary != reference:
                        raise SystemExit(f"{name}: the report differs from the first run's")
                    times[name].append(wall)
                    print(f"{name:48} repeat {rep}: {wall:7.1f} s", flush=True)
    finally:
        cluster.close()
    load_after = os.getloadavg()

    base = statistics.median(times["local, 1 worker (`--jobs 1`)"])
    claims = len(reference)
    seeds = args.seeds
    rows = []
    for name, ts in times.items():
        med = statistics.median(ts)
        rows.append(f"| {name} | {med:.1f} | {base / med:.2f}× | "
                    f"{' / '.join(f'{t:.1f}' for t in ts)} | {max(ts) / min(ts) - 1:.0%} |")
    only = f" --only {' '.join(args.only)}" if args.only else ""
    subset = SUBSET if args.only else ""
    text = f"""# The execution engine: verify on one process, two processes, a Dask cluster

Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `python benchmarks/engine.py
--seeds {seeds} --repeats {args.repeats}{(' --only …' if args.only else '')}` on
{platform.node() or 'this machine'}: {os.cpu_count()} CPUs ({cpu_model()}), Python
{platform.python_version()}, dask {dask.__version__}, distributed {distributed.__version__}.
The work: `dualreg verify --quick --seeds {seeds}{only}` ({claims} claims × the seeds; every run's
report has the same checks and pass counts).

**Noise.** The machine was shared with other engineers' test runs: load average (1, 5, 15 min)
{load_before[0]:.2f}, {load_before[1]:.2f}, {load_before[2]:.2f} before and {load_after[0]:.2f},
{load_after[1]:.2f}, {load_after[2]:.2f} after, on {os.cpu_count()} CPUs. The spread column is
max/min − 1 over the repeats (interleaved across configurations); treat differences smaller than
it as noise, and rerun on a quiet machine for numbers to quote.

| engine | median wall (s) | speed-up vs 1 worker | repeats (s) | spread |
|---|---|---|---|---|
{chr(10).join(rows)}

{subset}The LocalCluster itself took {startup:.1f} s to start (not in the times above: a
user's cluster is already running). Each local `--jobs 2` run spawns its two processes and
imports the claims in each (part of its time, as for a user); the cluster's workers import them
once, on the first repeat, and keep them.
"""
    _io.write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
