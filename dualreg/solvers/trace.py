"""Where an IRLS run reports its iterates: the history records and the user's callback."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dualreg.solvers.history import History, IterationRecord
from dualreg.solvers.problem import Problem

Array = np.ndarray

__all__ = ["Trace"]


class Trace:
    """Where a run reports its iterates: one record each in ``history`` (evaluated on
    ``problem``: the working set's own problem inside a working-set run, whose objective is the
    full one since the other coordinates are 0) and each iterate to the user's
    ``callback(k, coef, intercept)``, embedded into the full coefficient vector by ``index``
    (of length ``d``); ``iterates``, when a list, also collects every recorded (w, b)
    (a trial polish).
    """

    def __init__(self, problem: Problem, history: History, callback: Callable | None = None,
                 index: Array | None = None, iterates: list | None = None,
                 d: int | None = None):
        self.problem, self.history, self.callback = problem, history, callback
        self.index, self.iterates = index, iterates
        self.d = problem.d if d is None else d

    def _full(self, w: Array) -> Array:
        if self.index is None:
            return w
        full = np.zeros(self.d)
        full[self.index] = w
        return full

    def record(self, w: Array, b: float, eps: float, phase: str) -> float:
        """Append the record of (w, b) at smoothing ``eps``; returns its stationarity."""
        if self.iterates is not None:
            self.iterates.append((w.copy(), b))
        theta, _, _, st, _ = self.problem.evaluate(w, b)
        loss = self.problem.loss(theta)
        self.history.append(IterationRecord(loss + self.problem.pen_value(w),
                                            loss + self.problem.pen_value_smoothed(w, eps),
                                            st, eps, phase))
        return st

    def report(self, k: int, w: Array, intercept: float) -> bool:
        """Hand iterate k to the callback; True when it asks to stop."""
        if self.callback is None:
            return False
        return bool(self.callback(k, self._full(w).copy(), intercept))

    def restricted(self, idx: Array, sub: Problem) -> Trace:
        """The trace of a run of ``sub``, the problem on the coordinates ``idx``."""
        index = idx if self.index is None else self.index[idx]
        return Trace(sub, self.history, self.callback, index, d=self.d)

    def collecting(self) -> Trace:
        """A trace that records and collects iterates but calls no callback (a trial)."""
        return Trace(self.problem, self.history, None, self.index, [], d=self.d)
