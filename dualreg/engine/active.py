"""The engine that nested helpers use while a command runs.

A figure module calls :func:`dualreg.plots._parallel.map_runs` deep inside its ``make(ctx)``;
rather than threading an engine through every figure, the ``figures`` command installs one
with :func:`using` and ``map_runs`` asks :func:`current` for it. Without one installed,
``current`` is ``None`` and callers make a local engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dualreg.engine.base import Engine

__all__ = ["current", "current_gpu", "using"]

_STACK: list[tuple[Engine, bool]] = []


@contextlib.contextmanager
def using(engine: Engine, *, gpu: bool = False) -> Iterator[Engine]:
    """Make ``engine`` the :func:`current` one inside the block; ``gpu`` marks the tasks
    submitted through it as wanting CUDA."""
    _STACK.append((engine, bool(gpu)))
    try:
        yield engine
    finally:
        _STACK.pop()


def current() -> Engine | None:
    """The innermost engine installed by :func:`using`, or ``None``."""
    return _STACK[-1][0] if _STACK else None


def current_gpu() -> bool:
    """Whether the tasks of the :func:`current` engine want CUDA."""
    return _STACK[-1][1] if _STACK else False
