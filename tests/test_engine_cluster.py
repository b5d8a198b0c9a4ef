"""Through a real Dask cluster: a ``distributed.LocalCluster`` with two worker processes,
started in the test process. ``verify`` and a sweep must give the same results as a local
run (apart from timings), and the workers must run this checkout's code."""

from __future__ import annotations

import json
import logging

import pytest

from dualreg.cli import main

distributed = pytest.importorskip("distributed")

# Cheap claims (together well under a second per seed on one core) that draw random numbers.
CLAIMS = ["T1.mask-enumeration", "T2.column-scales", "T3.gaussian-exact",
          "T5.dropout-step-is-irls-step", "T7.targeted-dropout", "T8.frozen-form"]
TIMINGS = {"seconds", "wall_seconds", "started", "command"}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR) as c:
        yield c


def where_is_dualreg() -> str:
    import dualreg

    return dualreg.__file__


def _untimed(data):
    """``data`` without the keys that hold wall times or the command line."""
    if isinstance(data, dict):
        return {k: _untimed(v) for k, v in data.items() if k not in TIMINGS}
    if isinstance(data, list):
        return [_untimed(v) for v in data]
    return data


def test_workers_run_this_checkout(cluster):
    from dualreg.engine import DaskEngine

    with DaskEngine(cluster.scheduler_address) as engine:
        assert engine.workers == 2
        assert engine.map(where_is_dualreg, [(), ()]) == [where_is_dualreg()] * 2


def test_verify_on_the_cluster_matches_the_local_run(cluster, tmp_path, capsys):
    argv = ["verify", "--quick", "--seeds", "0:3", "--only", *CLAIMS, "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "local")]) == 0
    assert main([*argv, "--out", str(tmp_path / "dask"),
                 "--scheduler", cluster.scheduler_address]) == 0
    capsys.readouterr()
    [local] = (tmp_path / "local").glob("*.json")
    [dask] = (tmp_path / "dask").glob("*.json")
    assert local.name == dask.name  # the same report name: the engine is not part of it
    a, b = json.loads(local.read_text()), json.loads(dask.read_text())
    assert [c["claim"] for c in a["claims"]] == CLAIMS
    assert all(c["seeds"] == 3 and c["seeds_passed"] == 3 for c in a["claims"])
    assert _untimed(a) == _untimed(b)
    assert "--scheduler" in b["meta"]["command"]


def test_verify_rows_on_the_cluster_are_the_local_rows(cluster):
    # The multi-seed report keeps the worst value per check; the rows keep every seed's.
    from dualreg.engine import DaskEngine
    from dualreg.verify import Context, run

    def values(rows):
        return [(r.claim, r.check, r.seed, r.measured, r.passed) for r in rows]

    local = run(CLAIMS, Context(), seeds=[0, 1, 2], progress=False)
    with DaskEngine(cluster.scheduler_address) as engine:
        remote = run(CLAIMS, Context(), seeds=[0, 1, 2], progress=False, engine=engine)
    assert values(local) == values(remote)
    by_seed = {s: [v[3] for v in values(local) if v[2] == s] for s in (0, 1, 2)}
    assert by_seed[0] != by_seed[1]  # the seed reaches the claims: a mix-up would show


def test_sweep_on_the_cluster_matches_the_local_run(cluster, tmp_path):
    from dualreg.engine import DaskEngine
    from dualreg.sweeps import Design, sweep

    kwargs = dict(penalties=["L1", "MCP"], lams="0.05:0.5:2log", seeds="0:2",
                  params={"a": "3"}, design=Design(n=60, d=12, k=3), progress=False,
                  draw=False)
    local = sweep(**kwargs, out=tmp_path / "local")
    with DaskEngine(cluster.scheduler_address) as engine:
        remote = sweep(**kwargs, out=tmp_path / "dask", engine=engine)
    assert remote.fitted == len(remote) == 8
    assert [_untimed(r) for r in local] == [_untimed(r) for r in remote]

    def table(folder):
        lines = (folder / "sweep.csv").read_text().splitlines()
        return [line.rsplit(",", 1)[0] for line in lines]  # drop the seconds column

    assert table(tmp_path / "local") == table(tmp_path / "dask")


def test_cuda_on_a_cluster_without_gpus_falls_back_to_cpu(cluster, tmp_path, capsys):
    code = main(["verify", "--only", "T2.column-scales", "--device", "cuda", "--no-progress",
                 "--out", str(tmp_path), "--scheduler", cluster.scheduler_address])
    err = capsys.readouterr().err
    assert code == 0 and "declares a GPU resource" in err and "running on the CPU" in err
    [report] = tmp_path.glob("*.json")
    assert "cuda" not in report.name and json.loads(report.read_text())["meta"]["device"] == "cpu"


def squared_where(x: int) -> tuple[int, bool]:
    """x² and whether a Dask worker computed it."""
    try:
        distributed.get_worker()
    except ValueError:
        return x * x, False
    return x * x, True


def test_figure_runs_use_the_installed_engine(cluster):
    # The figures command installs the cluster engine; map_runs (inside every training
    # figure) must send its runs there and keep their order.
    from dualreg.engine import DaskEngine, using
    from dualreg.plots._parallel import map_runs

    tasks = [(i,) for i in range(5)]
    assert map_runs(squared_where, tasks, jobs=1) == [(i * i, False) for i in range(5)]
    with DaskEngine(cluster.scheduler_address) as engine, using(engine):
        assert map_runs(squared_where, tasks, jobs=1) == [(i * i, True) for i in range(5)]


def test_workers_with_other_code_are_refused(cluster, monkeypatch):
    # Tasks are pickled by name: a worker with another dualreg would compute with its code.
    import dualreg
    from dualreg.engine import DaskEngine, EngineError

    monkeypatch.setattr(dualreg, "__version__", "0.0.test")  # this side only
    with pytest.raises(EngineError, match="workers run other dualreg code"):
        DaskEngine(cluster.scheduler_address)
