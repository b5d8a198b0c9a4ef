"""Sweeps: the grid, what a cell computes (against scikit-learn), resuming after an
interrupt (counting the fits), the table and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dualreg.cli import main
from dualreg.sweeps import Design, build_grid, fit_cell, parse_seeds, parse_values, sweep
from dualreg.sweeps import cell as cell_module

SMALL = Design(n=60, d=12, k=3)


def test_parse_values():
    assert np.allclose(parse_values("0.01:1:3log"), [0.01, 0.1, 1.0])
    assert parse_values("0:1:3") == [0.0, 0.5, 1.0]
    assert parse_values("0.1,0.5,0.1") == [0.1, 0.5]
    assert parse_values(0.3) == [0.3] and parse_values([1, 2]) == [1.0, 2.0]
    for bad, why in (("0:1:3log", "log range"), ("a,b", "not a finite number"),
                     ("0.1,nan", "not a finite number")):
        with pytest.raises(ValueError, match=f"--lam.*{why}"):
            parse_values(bad, "--lam")


def test_parse_seeds():
    assert parse_seeds("0:3") == [0, 1, 2] and parse_seeds("5,1") == [5, 1]
    assert parse_seeds(4) == [4]
    for bad in ("x", "3:1", "-1", [1.5]):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


def test_grid_applies_parameters_to_the_penalties_that_take_them():
    grid = build_grid(["L1", "MCP", "l0.5"], "0.1,1", "0:2", {"a": "2,3"})
    cells = grid.cells()
    assert len(cells) == (1 + 2 + 1) * 2 * 2
    assert {c.params for c in cells if c.penalty == "MCP"} == {(("a", 2.0),), (("a", 3.0),)}
    assert {c.params for c in cells if c.penalty != "MCP"} == {()}
    with pytest.raises(ValueError, match="--param q: none of L1 takes"):
        build_grid(["L1"], "0.1", 0, {"q": "1"})
    with pytest.raises(ValueError, match="--penalty nope"):
        build_grid(["nope"], "0.1")
    with pytest.raises(ValueError, match="--penalty HardThreshold"):  # no η-form: no IRLS
        build_grid(["HardThreshold"], "0.1")
    with pytest.raises(ValueError, match=r"--lam.*>= 0"):
        build_grid(["L1"], "-1")


def test_synthetic_design_and_user_split():
    X, _, Xt, _, w = SMALL.split(4)
    assert X.shape == (60, 12) and Xt.shape == (1000, 12) and np.count_nonzero(w) == 3
    assert np.all((np.abs(w) == 0) | ((np.abs(w) >= 0.5) & (np.abs(w) <= 2)))
    data = np.arange(40.0).reshape(20, 2)
    user = Design(X=data, y=data[:, 0])
    Xa, ya, Xb, yb, none = user.split(0)
    assert none is None and len(Xb) == 5 and len(Xa) == 15
    assert sorted(np.r_[ya, yb].tolist()) == sorted(data[:, 0].tolist())  # a partition
    assert not np.array_equal(yb, user.split(1)[3])  # the seed draws the split


def test_l1_cell_matches_scikit_learn_lasso():
    from sklearn.linear_model import Lasso

    cell = build_grid(["L1"], "0.1", 2).cells()[0]
    row = fit_cell(cell, SMALL)
    X, y, Xt, yt, w_true = SMALL.split(2)
    ref = Lasso(alpha=0.1, tol=1e-12, max_iter=100_000).fit(X, y)
    r = y - X @ ref.coef_ - ref.intercept_
    objective = 0.5 * np.mean(r**2) + 0.1 * np.abs(ref.coef_).sum()
    assert row["support"] == np.count_nonzero(ref.coef_)
    assert row["objective"] == pytest.approx(objective, rel=1e-7)
    pred = Xt @ ref.coef_ + ref.intercept_
    assert row["test_error"] == pytest.approx(np.mean((yt - pred) ** 2), rel=1e-6)
    assert row["test_loss"] == pytest.approx(row["test_error"] / 2, rel=1e-12)
    assert row["coef_error"] == pytest.approx(np.linalg.norm(ref.coef_ - w_true), rel=1e-5)
    found, true = ref.coef_ != 0, w_true != 0
    f1 = 2 * np.sum(found & true) / (found.sum() + true.sum())
    assert row["support_f1"] == pytest.approx(f1)
    # α = cη̂/(cη̂ + λ) with η̂ = |w| for ℓ1, c_j = mean x_j², averaged over the support.
    c = (X[:, found] ** 2).mean(0)
    eta = np.abs(ref.coef_[found])
    assert row["keep_prob"] == pytest.approx(np.mean(c * eta / (c * eta + 0.1)), rel=1e-5)
    assert row["converged"] and row["lam"] == 0.1 and row["seed"] == 2


def test_interrupted_sweep_resumes_without_refitting(tmp_path, monkeypatch):
    args = dict(penalties=["L1", "SCAD"], lams="0.05,0.2,0.5", seeds="0:2", design=SMALL,
                progress=False, draw=False)
    total = 2 * 3 * 2
    real = cell_module.fit_cell
    calls = []

    def counting(cell, design, stop_at=None):
        if stop_at is not None and len(calls) == stop_at:
            raise KeyboardInterrupt
        calls.append(cell)
        return real(cell, design)

    monkeypatch.setattr(cell_module, "fit_cell", lambda c, d: counting(c, d, stop_at=5))
    with pytest.raises(KeyboardInterrupt):
        sweep(**args, out=tmp_path / "s")
    assert len(calls) == 5 and len(list((tmp_path / "s" / "cells").glob("*.json"))) == 5
    assert not list((tmp_path / "s" / "cells").glob(".*"))  # no half-written file
    first = list(calls)

    calls.clear()
    monkeypatch.setattr(cell_module, "fit_cell", lambda c, d: counting(c, d))
    resumed = sweep(**args, out=tmp_path / "s")
    assert len(calls) == total - 5 and not set(calls) & set(first)
    assert (resumed.fitted, resumed.reused) == (total - 5, 5)

    calls.clear()
    again = sweep(**args, out=tmp_path / "s")
    assert calls == [] and again.reused == total
    fresh = sweep(**args, out=tmp_path / "fresh")
    assert len(calls) == total  # a new folder fits everything

    def untimed(rows):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert untimed(resumed) == untimed(fresh) == untimed(again)

    # A damaged cell file is fitted again; another design never reuses these cells.
    victim = sorted((tmp_path / "s" / "cells").glob("*.json"))[0]
    victim.write_text("{not json")
    calls.clear()
    sweep(**args, out=tmp_path / "s")
    assert len(calls) == 1
    calls.clear()
    sweep(**{**args, "design": Design(n=60, d=12, k=4)}, out=tmp_path / "s")
    assert len(calls) == total


def test_cli_sweep_writes_table_plot_and_resumes(tmp_path, capsys):
    out = tmp_path / "sw"
    argv = ["sweep", "--penalty", "L1", "--penalty", "MCP", "--param", "a=2.5",
            "--lam", "0.05:0.5:2log", "--seeds", "0:2", "--n", "60", "--d", "12",
            "--k", "3", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    assert "8 cells (8 fitted, 0 reused" in capsys.readouterr().out
    lines = (out / "sweep.csv").read_text().splitlines()
    assert lines[0].startswith("penalty,a,lam,seed,support,objective")
    assert len(lines) == 9 and lines[1].startswith("L1,,0.05,0,")
    assert (out / "sweep.png").stat().st_size > 1000
    assert json.loads((out / "sweep.json").read_text())["cells"] == 8
    assert main(argv) == 0
    assert "8 cells (0 fitted, 8 reused" in capsys.readouterr().out


def test_cli_sweep_on_user_data(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = X @ [1.0, 0.0, -2.0] + 0.1 * rng.standard_normal(40)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.c_[X, y], delimiter=",", header="a,b,c,y", comments="")
    out = tmp_path / "o"
    assert main(["sweep", "--penalty", "L1", "--lam", "0.01", "--data", str(path),
                 "--out", str(out), "--no-plot", "--no-progress"]) == 0
    header, row = (out / "sweep.csv").read_text().splitlines()
    values = dict(zip(header.split(","), row.split(","), strict=True))
    assert values["coef_error"] == "nan" and int(values["support"]) >= 2
    assert not (out / "sweep.png").exists()


@pytest.mark.parametrize("extra, why", [
    (["--lam", "x"], "--lam"),
    (["--lam", "0.1", "--param", "a"], "--param expects NAME=SPEC"),
    (["--lam", "0.1", "--param", "zz=1"], "--param zz"),
    (["--lam", "0.1", "--k", "99"], "--k"),
    (["--lam", "0.1", "--data", "/nonexistent.csv"], "--data"),
    (["--lam", "0.1", "--jobs", "0"], "--jobs"),
])
def test_cli_sweep_errors(extra, why, tmp_path, capsys):
    code = main(["sweep", "--penalty", "L1", *extra, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and why in err and "\n" not in err, err
    assert not (tmp_path / "o").exists()
