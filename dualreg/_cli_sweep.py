"""``dualreg sweep``: fit a grid of penalty × hyperparameters × λ × seed, resumably, locally
or on a Dask cluster (:mod:`dualreg.sweeps`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dualreg._cli_engine import add_scheduler_option, open_engine
from dualreg._cli_penalty import UserError


def add_parser(sub) -> None:
    """Register the ``sweep`` subcommand on the subparsers ``sub``."""
    sw = sub.add_parser(
        "sweep", help="fit a grid of penalties x lambda x hyperparameters x seeds",
        description="Fit the η-trick IRLS at every (penalty, hyperparameters, λ, seed) and "
        "write OUT/sweep.csv (and sweep.parquet with pyarrow), OUT/sweep.png and one file "
        "per finished cell under OUT/cells/: rerunning with the same --out fits only the "
        "cells that are missing. Columns: support, objective, train/test loss, test error, "
        "keep probability, coefficient error and support F1 (synthetic data), converged, "
        "n_iter, seconds.")
    sw.add_argument("--penalty", action="append", required=True, metavar="NAME",
                    help="penalty (catalogue name, l1, l0.5, ...); repeatable")
    sw.add_argument("--lam", required=True, metavar="SPEC",
                    help="λ values: 0.01:1:5log (5 geometric), 0:1:3 (3 linear), 0.1,0.5")
    sw.add_argument("--param", action="append", default=[], metavar="NAME=SPEC",
                    help="a hyperparameter grid, e.g. --param a=2,3.7 (for the penalties "
                    "that take it); repeatable")
    sw.add_argument("--seeds", default="0", metavar="SPEC", help="0:3 or 1,5 (default 0)")
    sw.add_argument("--data", metavar="FILE",
                    help=".npz with X and y, or .csv whose last column is y (25%% held out "
                    "per seed); default a synthetic gaussian design")
    sw.add_argument("--family", default="gaussian",
                    choices=["gaussian", "binomial", "poisson"])
    sw.add_argument("--n", type=int, default=200, help="synthetic: training rows")
    sw.add_argument("--d", type=int, default=50, help="synthetic: columns")
    sw.add_argument("--k", type=int, default=5, help="synthetic: true nonzeros")
    sw.add_argument("--noise", type=float, default=1.0, help="synthetic gaussian noise s.d.")
    sw.add_argument("--corr", type=float, default=0.0, help="synthetic column correlation")
    sw.add_argument("--out", default="sweep", help="output folder (default ./sweep)")
    sw.add_argument("--jobs", type=int, default=1, help="local worker processes")
    add_scheduler_option(sw)
    sw.add_argument("--no-plot", action="store_true")
    sw.add_argument("--no-progress", action="store_true")


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run ``dualreg sweep``; user errors become :class:`UserError`."""
    from dualreg.sweeps import Design, build_grid, load_data, sweep

    params = {}
    for item in args.param:
        name, sep, spec = item.partition("=")
        if not sep or not name.strip() or not spec.strip():
            raise UserError(f"--param expects NAME=SPEC, got {item!r}")
        params[name.strip()] = spec
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {args.out!r} exists and is not a folder")
    try:
        grid = build_grid(args.penalty, args.lam, args.seeds, params)
        if args.data:
            X, y = load_data(args.data)
            design = Design(family=args.family, X=X, y=y, name=Path(args.data).name)
        else:
            design = Design(n=args.n, d=args.d, k=args.k, noise=args.noise, corr=args.corr,
                            family=args.family)
    except ValueError as err:
        raise UserError(str(err)) from None
    engine = open_engine(args.jobs, args.scheduler)
    start = time.perf_counter()
    try:
        result = sweep(grid.penalties, list(grid.lams), seeds=list(grid.seeds),
                       params={k: list(v) for k, v in grid.params.items()}, design=design,
                       out=out, engine=engine, progress=not args.no_progress,
                       draw=not args.no_plot)
    except KeyboardInterrupt:
        print(f"dualreg: sweep interrupted; the finished cells are kept in {out / 'cells'}: "
              "rerun the same command to fit only the rest", file=sys.stderr)
        raise
    finally:
        engine.close()
    print(f"{len(result)} cells ({result.fitted} fitted, {result.reused} reused from "
          f"{out / 'cells'}) on {engine.where} in {time.perf_counter() - start:.1f} s; "
          f"table in {out / 'sweep.csv'}")
    return 0
