"""One execution layer for ``verify``, ``figures`` and ``sweep``: independent pure tasks run
in this process, in local worker processes, or on a Dask distributed cluster.

- :class:`Engine` — the contract (:mod:`.base`): ``imap`` yields results as they finish,
  ``map`` returns them in task order.
- :class:`LocalEngine` — this process or spawned processes (:mod:`.local`), the default.
- :class:`DaskEngine` — a Dask cluster (:mod:`.cluster`), with GPU routing by resources;
  needs the ``[distributed]`` extra, imported only when used.
- :func:`make_engine`, :func:`resolve_scheduler` — which one a command gets (:mod:`.resolve`).
- :func:`using`, :func:`current` — the engine nested helpers use (:mod:`.active`).
"""

from dualreg.engine.active import current, current_gpu, using
from dualreg.engine.base import Engine, EngineError
from dualreg.engine.local import LocalEngine
from dualreg.engine.resolve import connect_timeout, make_engine, resolve_scheduler

__all__ = [
    "Engine",
    "EngineError",
    "LocalEngine",
    "connect_timeout",
    "current",
    "current_gpu",
    "make_engine",
    "resolve_scheduler",
    "using",
]


def __getattr__(name: str):  # DaskEngine without importing dask at package import
    if name == "DaskEngine":
        from dualreg.engine.cluster import DaskEngine

        return DaskEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
