"""Independent seeded training runs of a figure, in parallel worker processes.

Every run derives all its randomness from its own arguments, so the results do not depend on
how many workers there are or in which order the runs finish: ``jobs=1`` and ``jobs=4`` give
identical data files. Workers are *spawned* (never forked: a forked child inherits torch's
thread pools in an undefined state) and each runs torch on one thread.
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
    """``[fn(*t) for t in tasks]``, in ``jobs`` processes when ``jobs > 1``.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled by name).
    tasks : sequence of tuple
        Positional arguments of each call (picklable).
    jobs : int
        Worker processes; 1 runs in this process.
    bar : tqdm bar, optional
        Advanced by one per finished run.

    Returns
    -------
    list
        The results in the order of ``tasks``.
    """
    if jobs <= 1 or len(tasks) <= 1:
        out = []
        for t in tasks:
            out.append(fn(*t))
            if bar is not None:
                bar.update(1)
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: list[Any] = [None] * len(tasks)
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_one_thread, fn, tuple(t)): i for i, t in enumerate(tasks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if bar is not None:
                bar.update(1)
    return results
