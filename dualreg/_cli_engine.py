"""The command line's side of the execution engine: the ``--jobs`` / ``--scheduler`` options
and turning engine set-up failures into one-line user errors."""

from __future__ import annotations

import argparse
import sys

from dualreg._cli_penalty import UserError


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    """``--scheduler ADDRESS`` (the ``--jobs`` option stays with each command)."""
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run the tasks on the Dask cluster whose scheduler listens at ADDRESS "
        "(tcp://host:8786; default $DUALREG_SCHEDULER, then Dask's scheduler-address config; "
        "needs pip install 'dualreg[distributed]'); --jobs is then ignored")


def open_engine(jobs: int, scheduler: str | None):
    """The engine for ``--jobs`` and ``--scheduler`` (:func:`dualreg.engine.make_engine`);
    a bad address, a missing extra or an unreachable scheduler is a :class:`UserError`."""
    from dualreg.engine import EngineError, make_engine

    if jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {jobs}")
    try:
        return make_engine(jobs, scheduler)
    except (EngineError, ValueError) as err:
        raise UserError(str(err)) from None


def cluster_device(engine, device: str) -> str:
    """``device``, or ``"cpu"`` with a note on stderr when CUDA is asked of a cluster whose
    workers declare no ``GPU`` resource (the CPU fallback)."""
    if device == "cuda" and not engine.gpu_available():
        print(f"dualreg: note: no worker of {engine.where} declares a GPU resource "
              "(dask worker --resources GPU=1); running on the CPU", file=sys.stderr)
        return "cpu"
    return device


def wants_cluster(scheduler: str | None) -> bool:
    """Whether a scheduler address is given (option, environment or Dask config); a bad one
    is a :class:`UserError`."""
    from dualreg.engine import EngineError, resolve_scheduler

    try:
        return resolve_scheduler(scheduler) is not None
    except EngineError as err:
        raise UserError(str(err)) from None
