"""Execution on a Dask distributed cluster (``--scheduler tcp://host:8786``).

Why Dask rather than Ray: ``dask`` and ``distributed`` are pure-Python wheels on PyPI
(``py3-none-any``; their compiled dependencies, msgpack, psutil, tornado and pyyaml, are common
wheels), so the ``[distributed]`` extra installs wherever this package installs, whereas Ray
ships a platform-specific wheel carrying its C++ runtime (raylet, GCS, object store);
:class:`distributed.LocalCluster` starts a real scheduler and worker processes inside a test;
a worker started with ``--resources GPU=1`` receives only the tasks submitted with
``resources={"GPU": 1}`` (the GPU routing below); and it is the scheduler of the PyData stack
this package already stands on (numpy, scipy, scikit-learn and its joblib, cloudpickle).
Tasks are pickled with cloudpickle; the workers need this package installed (the
same version) and import it themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from dualreg.engine.base import Engine, EngineError

__all__ = ["DaskEngine", "require_distributed"]

_EXTRA = "pip install 'dualreg[distributed]'"


def require_distributed() -> Any:
    """The ``distributed`` module, or :class:`EngineError` naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise EngineError(f"--scheduler needs Dask distributed, which is not installed: "
                          f"{_EXTRA}") from None
    return distributed


def _workers_info(client: Any) -> dict[str, dict]:
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # distributed before the n_workers argument lists them all
        info = client.scheduler_info()
    return dict(info.get("workers", {}))


class DaskEngine(Engine):
    """Run tasks on the Dask cluster whose scheduler listens at ``address``.

    Parameters
    ----------
    address : str
        Scheduler address, ``tcp://host:port`` (see :func:`dualreg.engine.resolve_scheduler`).
    connect_timeout : float
        Seconds to wait for the scheduler and for at least one worker; then
        :class:`EngineError` (one line, naming ``--scheduler``).
    """

    def __init__(self, address: str, connect_timeout: float = 10.0):
        distributed = require_distributed()
        self.address = address
        try:
            self.client = distributed.Client(address, timeout=connect_timeout,
                                             set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise EngineError(f"--scheduler {address}: no Dask scheduler answered within "
                              f"{connect_timeout:g} s ({type(err).__name__})") from None
        try:
            self.client.wait_for_workers(1, timeout=connect_timeout)
        except (OSError, TimeoutError):
            self.client.close()
            raise EngineError(f"--scheduler {address}: the scheduler has no worker (start "
                              f"one with: dask worker {address})") from None
        self._check_code(connect_timeout)
        workers = _workers_info(self.client)
        self.workers = sum(int(w.get("nthreads", 1)) for w in workers.values()) or 1
        self.where = f"Dask cluster {address} ({len(workers)} workers, {self.workers} threads)"

    def _check_code(self, timeout: float) -> None:
        """:class:`EngineError` unless every worker imports the same ``dualreg`` sources as
        this process (:mod:`dualreg.engine.fingerprint`)."""
        from dualreg.engine.fingerprint import code_fingerprint

        here = code_fingerprint()
        try:
            there = self.client.run(code_fingerprint, wait=True)
        except Exception as err:  # a worker without dualreg cannot even unpickle the call
            self.client.close()
            raise EngineError(f"--scheduler {self.address}: the workers cannot run dualreg "
                              f"({type(err).__name__}: {err}); install it on every "
                              "worker") from None
        other = sorted({fp for fp in there.values() if fp != here})
        if other:
            self.client.close()
            raise EngineError(f"--scheduler {self.address}: workers run other dualreg code "
                              f"({', '.join(other)}) than this machine ({here}); install the "
                              "same version everywhere") from None

    def gpu_workers(self) -> list[str]:
        """Addresses of the workers that declare a ``GPU`` resource (``dask worker
        --resources GPU=1``)."""
        return [addr for addr, w in _workers_info(self.client).items()
                if float((w.get("resources") or {}).get("GPU", 0)) > 0]

    def gpu_available(self) -> bool:
        """Whether some worker declares a ``GPU`` resource."""
        return bool(self.gpu_workers())

    def imap(self, fn: Callable[..., Any], tasks: Sequence[tuple], *, gpu: bool = False
             ) -> Iterator[tuple[int, Any]]:
        """See :meth:`Engine.imap`. Tasks marked ``gpu`` carry ``resources={"GPU": 1}`` when a
        worker declares that resource, so they run only there, one per GPU; when none does
        they run on any worker (the CPU fallback: the task's device setting decides)."""
        distributed = require_distributed()
        resources = {"GPU": 1} if gpu and self.gpu_available() else None
        futures = [self.client.submit(fn, *args, pure=False, resources=resources)
                   for args in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in distributed.as_completed(futures, loop=self.client.loop):
                yield index[future.key], future.result()
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        self.client.close()
