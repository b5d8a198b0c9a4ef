"""The execution layer without a cluster: local engines, the scheduler address, the active
engine, the CLI's one-line errors, and GPU routing by Dask resources (in-process workers)."""

from __future__ import annotations

import os
import sys
import time

import pytest

from dualreg.cli import main
from dualreg.engine import (
    EngineError,
    LocalEngine,
    current,
    make_engine,
    resolve_scheduler,
    using,
)


def square_plus(x: int, y: int) -> tuple[int, int]:
    """A pure task: its value and the process that computed it."""
    return x * x + y, os.getpid()


def fails_on_three(x: int) -> int:
    if x == 3:
        raise ZeroDivisionError("three")
    return x


def test_local_engine_serial_and_processes_agree():
    tasks = [(i, 10) for i in range(6)]
    expected = [i * i + 10 for i in range(6)]  # computed here, not by the engine
    serial = LocalEngine(1).map(square_plus, tasks)
    assert [v for v, _ in serial] == expected
    assert {pid for _, pid in serial} == {os.getpid()}  # jobs=1 runs in this process
    with LocalEngine(2) as engine:
        seen = []
        pooled = engine.map(square_plus, tasks, on_result=lambda i, r: seen.append(i))
    assert [v for v, _ in pooled] == expected  # task order, whatever the arrival order
    assert sorted(seen) == list(range(6))
    assert os.getpid() not in {pid for _, pid in pooled}


def test_task_errors_propagate():
    with pytest.raises(ZeroDivisionError, match="three"):
        LocalEngine(1).map(fails_on_three, [(i,) for i in range(5)])


def test_bad_jobs():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="jobs"):
            LocalEngine(bad)


def test_resolve_scheduler_sources(monkeypatch):
    monkeypatch.delenv("DUALREG_SCHEDULER", raising=False)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    assert resolve_scheduler(None) is None
    assert isinstance(make_engine(2, None), LocalEngine)
    assert resolve_scheduler("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert resolve_scheduler("node7:8786") == "node7:8786"
    monkeypatch.setenv("DUALREG_SCHEDULER", "tcp://h:1")
    assert resolve_scheduler(None) == "tcp://h:1"
    assert resolve_scheduler("tcp://g:2") == "tcp://g:2"  # the option wins
    monkeypatch.delenv("DUALREG_SCHEDULER")
    import dask

    with dask.config.set({"scheduler-address": "tcp://cfg:3"}):
        assert resolve_scheduler(None) == "tcp://cfg:3"
    for bad in ("tcp://nohost", "http://h:1", "h:port", "a b:1"):
        with pytest.raises(EngineError, match="--scheduler"):
            resolve_scheduler(bad)
    monkeypatch.setenv("DUALREG_SCHEDULER", "nonsense")
    with pytest.raises(EngineError, match="DUALREG_SCHEDULER"):
        resolve_scheduler(None)


def test_missing_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(EngineError, match=r"dualreg\[distributed\]"):
        make_engine(1, "tcp://127.0.0.1:8786")


def test_using_installs_and_restores():
    outer, inner = LocalEngine(1), LocalEngine(1)
    assert current() is None
    with using(outer):
        with using(inner, gpu=True):
            assert current() is inner
        assert current() is outer
    assert current() is None


@pytest.mark.parametrize("address, why", [
    ("tcp://127.0.0.1:9", "no Dask scheduler answered"),  # nothing listens on port 9
    ("not-an-address", "expected a scheduler address"),
])
def test_cli_bad_scheduler_is_one_line(address, why, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DUALREG_CONNECT_TIMEOUT", "1")
    for argv in (["verify", "--only", "T2.column-scales", "--out", str(tmp_path)],
                 ["sweep", "--penalty", "L1", "--lam", "0.1", "--out", str(tmp_path / "s")]):
        start = time.perf_counter()
        code = main([*argv, "--scheduler", address, "--no-progress"])
        err = capsys.readouterr().err.strip()
        assert code == 2
        assert time.perf_counter() - start < 8
        assert err.startswith("dualreg: error:") and "\n" not in err and why in err, err
    assert not list(tmp_path.iterdir())  # nothing written


def test_cli_bad_connect_timeout(monkeypatch, capsys):
    monkeypatch.setenv("DUALREG_CONNECT_TIMEOUT", "soon")
    assert main(["sweep", "--penalty", "L1", "--lam", "0.1", "--scheduler", "h:1"]) == 2
    assert "DUALREG_CONNECT_TIMEOUT" in capsys.readouterr().err


def worker_name(_i: int) -> str:
    from distributed import get_worker

    return get_worker().name


def test_gpu_tasks_go_to_gpu_workers_and_fall_back():
    # In-process workers (threads) are enough to see where the scheduler sends each task.
    from distributed import Scheduler, SpecCluster, Worker

    from dualreg.engine import DaskEngine

    spec = {"cpu": {"cls": Worker, "options": {"nthreads": 1}},
            "gpu": {"cls": Worker, "options": {"nthreads": 1, "resources": {"GPU": 1}}}}
    with SpecCluster(workers=spec, scheduler={"cls": Scheduler,
                                               "options": {"dashboard_address": ":0"}},
                     silence_logs=50) as cluster, \
            DaskEngine(cluster.scheduler_address, connect_timeout=20) as engine:
        engine.client.wait_for_workers(2, timeout=20)
        assert engine.gpu_available()
        assert set(engine.map(worker_name, [(i,) for i in range(8)], gpu=True)) == {"gpu"}
        assert set(engine.map(worker_name, [(i,) for i in range(8)], gpu=False)) <= {
            "cpu", "gpu"}
        cluster.scale(0)  # retire both, then bring back a CPU-only worker
        cluster.worker_spec = {"cpu": spec["cpu"]}
        cluster.scale(1)
        engine.client.wait_for_workers(1, timeout=20)
        deadline = time.time() + 20
        while engine.gpu_available() and time.time() < deadline:
            time.sleep(0.1)
        assert not engine.gpu_available()
        # No worker has a GPU: marked tasks still run (the CPU fallback), none hangs.
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(1)
        marked = pool.submit(engine.map, worker_name, [(i,) for i in range(3)], gpu=True)
        try:
            assert marked.result(timeout=30) == ["cpu"] * 3
        finally:
            engine.client.cancel(list(engine.client.futures.values()))
            pool.shutdown(wait=False)


def test_cli_figures_check_refuses_a_scheduler(capsys, tmp_path):
    code = main(["figures", "--check", str(tmp_path), "--scheduler", "tcp://h:1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "drop --scheduler" in err and "\n" not in err


def test_engine_and_sweeps_import_without_dask():
    # The extra is optional: importing the layer (and the CLI) must not load Dask.
    import subprocess

    code = ("import sys, dualreg.engine, dualreg.sweeps, dualreg.cli\n"
            "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
