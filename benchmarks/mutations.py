"""The whole mutation catalogue against ``dualreg verify --quick``, every catcher listed.

Each plant runs in a fresh process against every claim of the quick suite (``--all-claims``),
so the table says not only that a plant was caught but by how many claims — a plant caught by
one claim only marks a place where the suite is thin. Writes
``benchmarks/results/mutations.md`` (and ``.json``).

    python benchmarks/mutations.py [--jobs 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dualreg.verify import mutations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    start = time.perf_counter()
    plants = mutations.select_plants()
    control = mutations.run_control(args.seed)
    print(f"control: the quick suite passes with no plant ({control.seconds:.1f} s)")
    outcomes = mutations.run_plants(plants, seed=args.seed, jobs=args.jobs, all_claims=True,
                                    stream=sys.stdout)
    mutations.write_report(outcomes, Path(args.out), args.seed, all_claims=True)
    print(mutations.score_line(outcomes) + f"; {time.perf_counter() - start:.0f} s with "
          f"{args.jobs} processes")
    return 0 if all(o.caught for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
