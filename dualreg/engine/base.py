"""The contract of an execution engine: run independent, pure tasks and hand back results.

A task is a module-level function and a tuple of picklable arguments; it depends on nothing
but its arguments (a claim id or a figure part, a seed, a mode), so the results do not depend
on where or in which order the tasks run. :meth:`Engine.imap` yields ``(index, result)`` pairs
as tasks finish; :meth:`Engine.map` returns the results in the order of the tasks. Callers
assemble their outputs from the index, never from the arrival order, which is how ``verify``
and ``figures`` write byte-identical files locally and on a cluster.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["Engine", "EngineError"]


class EngineError(RuntimeError):
    """An engine could not be set up (no Dask installed, an unreachable scheduler...). Its
    message is one line that names the option or extra to change."""


class Engine(abc.ABC):
    """Runs tasks ``fn(*args)``: locally (:class:`~dualreg.engine.local.LocalEngine`) or on a
    Dask cluster (:class:`~dualreg.engine.cluster.DaskEngine`).

    Attributes
    ----------
    workers : int
        How many tasks can run at once (processes locally, worker threads on a cluster).
    where : str
        A short description for logs and benchmarks, e.g. ``"2 local processes"``.
    """

    workers: int = 1
    where: str = "this process"

    @abc.abstractmethod
    def imap(self, fn: Callable[..., Any], tasks: Sequence[tuple], *, gpu: bool = False
             ) -> Iterator[tuple[int, Any]]:
        """Run ``fn(*tasks[i])`` for every i; yield ``(i, result)`` as each finishes.

        ``gpu=True`` marks tasks that want CUDA: a cluster sends them to workers that declare
        a ``GPU`` resource (one task per GPU), or anywhere when no worker declares one. An
        exception raised by a task is raised here, and the tasks not yet started are dropped.
        """

    def gpu_available(self) -> bool:
        """Whether tasks marked ``gpu`` will find CUDA (locally: ``torch.cuda``)."""
        try:
            import torch
        except ImportError:
            return False
        return bool(torch.cuda.is_available())

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple], *, gpu: bool = False,
            on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
        """``[fn(*t) for t in tasks]`` through :meth:`imap`, in task order; ``on_result(i,
        result)`` is called as each finishes (a progress bar, a file per task)."""
        results: list[Any] = [None] * len(tasks)
        for i, value in self.imap(fn, tasks, gpu=gpu):
            results[i] = value
            if on_result is not None:
                on_result(i, value)
        return results

    def close(self) -> None:  # noqa: B027  (an engine without resources has nothing to free)
        """Release processes or connections (the engine cannot be used afterwards)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
