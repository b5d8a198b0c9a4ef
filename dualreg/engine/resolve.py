"""Which engine a command uses: a Dask cluster when a scheduler address is given, local
processes otherwise.

The address comes from, in order: the ``--scheduler`` option, the environment variable
``DUALREG_SCHEDULER``, then Dask's own configuration key ``scheduler-address`` (e.g.
``~/.config/dask/distributed.yaml`` or ``DASK_SCHEDULER_ADDRESS``) when Dask is installed.
``DUALREG_CONNECT_TIMEOUT`` (seconds, default 10) bounds the wait for the scheduler.
"""

from __future__ import annotations

import os
import re

from dualreg.engine.base import Engine, EngineError
from dualreg.engine.local import LocalEngine

__all__ = ["connect_timeout", "make_engine", "resolve_scheduler"]

_ADDRESS = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx|inproc)://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}")


def resolve_scheduler(option: str | None = None) -> str | None:
    """The scheduler address to use, or ``None`` for local execution (module docstring).

    Raises
    ------
    EngineError
        When the address is not ``[protocol://]host:port``; the message names where it came
        from (``--scheduler`` or ``DUALREG_SCHEDULER``).
    """
    source, address = "--scheduler", option
    if not address:
        source, address = "DUALREG_SCHEDULER", os.environ.get("DUALREG_SCHEDULER") or None
    if not address:
        try:
            import dask.config
        except ImportError:
            return None
        source, address = "dask config scheduler-address", dask.config.get(
            "scheduler-address", None)
        if not address:
            return None
    address = str(address).strip()
    if not _ADDRESS.fullmatch(address):
        raise EngineError(f"{source} {address!r}: expected a scheduler address "
                          "[tcp://]host:port, e.g. tcp://10.0.0.5:8786")
    return address


def connect_timeout() -> float:
    """Seconds to wait for a scheduler: ``DUALREG_CONNECT_TIMEOUT`` or 10."""
    text = os.environ.get("DUALREG_CONNECT_TIMEOUT", "10")
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise EngineError(f"DUALREG_CONNECT_TIMEOUT must be a number of seconds > 0, "
                          f"got {text!r}")
    return value


def make_engine(jobs: int = 1, scheduler: str | None = None) -> Engine:
    """A :class:`~dualreg.engine.cluster.DaskEngine` when :func:`resolve_scheduler` finds an
    address (then ``jobs`` is ignored: the cluster's workers decide), otherwise a
    :class:`~dualreg.engine.local.LocalEngine` with ``jobs`` processes."""
    address = resolve_scheduler(scheduler)
    if address is None:
        return LocalEngine(jobs)
    from dualreg.engine.cluster import DaskEngine

    return DaskEngine(address, connect_timeout())
