"""Worker: ``python -m dualreg.verify.mutations PLANT [--seed N] [--all-claims]``.

Prints one JSON line with the :class:`~dualreg.verify.mutations.run.Outcome`.
"""

import argparse
import json
import sys
from dataclasses import asdict

from dualreg.verify.mutations.plant import load_plants
from dualreg.verify.mutations.run import CONTROL, run_inprocess


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m dualreg.verify.mutations")
    parser.add_argument("plant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all-claims", action="store_true")
    args = parser.parse_args()
    plants = {**load_plants(), CONTROL.name: CONTROL}
    if args.plant not in plants:
        print(f"unknown plant {args.plant!r}", file=sys.stderr)
        return 2
    outcome = run_inprocess(plants[args.plant], args.seed, args.all_claims)
    print(json.dumps(asdict(outcome)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
