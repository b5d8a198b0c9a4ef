"""Independent seeded training runs of a figure, through the execution engine.

Every run derives all its randomness from its own arguments, so the results do not depend on
how many workers there are, where they are or in which order the runs finish: ``jobs=1``,
``jobs=4`` and a Dask cluster give identical data files. The engine is the one the
``figures`` command installed (:func:`dualreg.engine.using`, e.g. a cluster for
``--scheduler``), otherwise local spawned processes (never forked: a forked child inherits
torch's thread pools in an undefined state). Each run uses torch on one thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def _one_thread(fn: Callable[..., Any], args: tuple) -> Any:
    import torch

    torch.set_num_threads(1)
    return fn(*args)


def map_runs(fn: Callable[..., Any], tasks: Sequence[tuple], jobs: int, bar: Any = None
             ) -> list[Any]:
    """``[fn(*t) for t in tasks]``, on the current engine or in ``jobs`` local processes.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled by name).
    tasks : sequence of tuple
        Positional arguments of each call (picklable).
    jobs : int
        Local worker processes when no engine is installed; 1 runs in this process.
    bar : tqdm bar, optional
        Advanced by one per finished run.

    Returns
    -------
    list
        The results in the order of ``tasks``.
    """
    from dualreg.engine import LocalEngine, current, current_gpu

    def advance(_i: int, _result: Any) -> None:
        if bar is not None:
            bar.update(1)

    engine = current()
    if engine is not None:
        return engine.map(_one_thread, [(fn, tuple(t)) for t in tasks], gpu=current_gpu(),
                          on_result=advance)
    if jobs <= 1 or len(tasks) <= 1:  # here, without pickling, torch threads as the caller set
        return LocalEngine(1).map(fn, [tuple(t) for t in tasks], on_result=advance)
    with LocalEngine(min(jobs, len(tasks))) as local:
        return local.map(_one_thread, [(fn, tuple(t)) for t in tasks], on_result=advance)
