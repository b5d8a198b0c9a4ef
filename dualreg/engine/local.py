"""Local execution: this process, or a pool of spawned worker processes.

Workers are *spawned*, never forked: a fork of a process whose torch or BLAS thread pools are
running can deadlock in the child. Spawned workers import what a task needs by themselves
(tasks are module-level functions, pickled by name). The pool starts at the first parallel
:meth:`LocalEngine.imap` and is reused until :meth:`LocalEngine.close`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from dualreg.engine.base import Engine

__all__ = ["LocalEngine"]


class LocalEngine(Engine):
    """Run tasks here (``jobs=1``) or in ``jobs`` spawned processes.

    Parameters
    ----------
    jobs : int
        Worker processes, ≥ 1. With 1, or a single task, tasks run in this process one after
        the other, in order (nothing is pickled).
    """

    def __init__(self, jobs: int = 1):
        if isinstance(jobs, bool) or int(jobs) != jobs or jobs < 1:
            raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
        self.workers = int(jobs)
        self.where = "this process" if jobs == 1 else f"{jobs} local processes"
        self._pool: Any = None

    def _executor(self) -> Any:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                             mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def imap(self, fn: Callable[..., Any], tasks: Sequence[tuple], *, gpu: bool = False
             ) -> Iterator[tuple[int, Any]]:
        """See :meth:`Engine.imap`; ``gpu`` changes nothing locally (the task's own device
        setting decides)."""
        if self.workers == 1 or len(tasks) <= 1:
            for i, args in enumerate(tasks):
                yield i, fn(*args)
            return
        from concurrent.futures import as_completed

        pool = self._executor()
        futures = {pool.submit(fn, *args): i for i, args in enumerate(tasks)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
