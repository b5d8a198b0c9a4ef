"""``dualreg figures --check DIR``: each rule passes what it should and catches a moved value,
the command reproduces a quick folder and names a perturbed value, and seeded runs in parallel
workers give what one process gives."""

from __future__ import annotations

import json
import shutil

import pytest

from dualreg.cli import main
from dualreg.plots.check import Close, MonteCarlo, SeedMeans, Skip, TableCI, compare_file

TABLE = ("method,test_error,test_error_ci,seeds\n"
         "A,0.10,0.02,3\n"
         "B,0.05,0.0,3\n")


def _files(tmp_path, name, ref, new):
    (tmp_path / "ref").mkdir(exist_ok=True)
    (tmp_path / "new").mkdir(exist_ok=True)
    (tmp_path / "ref" / name).write_text(ref, encoding="utf-8")
    (tmp_path / "new" / name).write_text(new, encoding="utf-8")
    return tmp_path / "ref" / name, tmp_path / "new" / name


def _compare(tmp_path, name, ref, new, rules=()):
    return compare_file(name, *_files(tmp_path, name, ref, new), rules)


def test_default_rule_is_float64_rounding_only(tmp_path):
    ref = "x,y\n1.0,0.5\n2.0,0.25\n"
    assert _compare(tmp_path, "a.csv", ref, "x,y\n1.0,0.5000000000000001\n2.0,0.25\n") == []
    moved = _compare(tmp_path, "a.csv", ref, "x,y\n1.0,0.5000005\n2.0,0.25\n")
    assert len(moved) == 1 and "a.csv/0/y" in moved[0] and "0.5 → 0.5000005" in moved[0]


def test_close_rule_and_text_and_structure(tmp_path):
    rules = (Close("b.json/mc/*", rtol=1e-6, atol=0.0, why="mc"),)
    ref = json.dumps({"mc": [1.0, 2.0], "exact": 3.0, "label": "q=1"})
    ok = json.dumps({"mc": [1.0000001, 2.0], "exact": 3.0, "label": "q=1"})
    assert _compare(tmp_path, "b.json", ref, ok, rules) == []
    bad = json.dumps({"mc": [1.00001, 2.0], "exact": 3.0000001, "label": "q=2"})
    moved = _compare(tmp_path, "b.json", ref, bad, rules)
    assert {m.split(":")[0] for m in moved} == {"b.json/mc/0", "b.json/exact", "b.json/label"}
    shorter = json.dumps({"mc": [1.0], "exact": 3.0, "label": "q=1"})
    assert "structure changed" in _compare(tmp_path, "b.json", ref, shorter, rules)[0]


def test_table_ci_rule(tmp_path):
    rule = (TableCI("t.csv", "seeds", k=1.6, atol=1e-3),)
    # A may move by 1.6·sqrt(0.02² + 0.02²) + 0.001 = 0.0463; B (no spread) by 0.001 only
    inside = TABLE.replace("A,0.10", "A,0.145")
    assert _compare(tmp_path, "t.csv", TABLE, inside, rule) == []
    outside = TABLE.replace("A,0.10", "A,0.15").replace("B,0.05", "B,0.052")
    moved = _compare(tmp_path, "t.csv", TABLE, outside, rule)
    assert [m.split(":")[0] for m in moved] == ["t.csv/A/test_error", "t.csv/B/test_error"]
    other = TABLE.replace("B,0.05,0.0,3", "B,0.05,0.0,4")  # a non-CI column is exact
    assert [m.split(":")[0] for m in _compare(tmp_path, "t.csv", TABLE, other, rule)] == [
        "t.csv/B/seeds"]
    assert "rows changed" in _compare(tmp_path, "t.csv", TABLE, TABLE + "C,0,0,3\n", rule)[0]


def test_seed_means_and_skip(tmp_path):
    rules = (SeedMeans("s.json/net/*", "seeds", k=1.6, atol=0.0), Skip("s.json/trace*", "x"))
    ref = json.dumps({"net": {"h": [0.40, 0.42, 0.44], "epochs": 3}, "trace": [1, 2]})
    shuffled = json.dumps({"net": {"h": [0.43, 0.41, 0.42], "epochs": 3}, "trace": [5, 6]})
    assert _compare(tmp_path, "s.json", ref, shuffled, rules) == []
    far = json.dumps({"net": {"h": [0.60, 0.61, 0.62], "epochs": 4}, "trace": [1, 2]})
    moved = _compare(tmp_path, "s.json", ref, far, rules)
    assert [m.split(":")[0] for m in moved] == ["s.json/net/h", "s.json/net/epochs"]


def test_monte_carlo_rule(tmp_path):
    rules = (MonteCarlo("m.json/mc/*", "mc", derived=("z",)),)
    entry = {"q": 1.5, "mean": [1.0, 0.01], "se": [0.01, 0.002], "z": [0.5, 1.0],
             "exact": [1.001, 0.0]}
    ref = json.dumps({"mc": [entry]})
    # another path of the same Monte Carlo: means within 5·√(se² + se²), SE within 4×, z finite
    other = dict(entry, mean=[1.06, 0.0], se=[0.012, 0.007], z=[5.5, -5.0])
    assert _compare(tmp_path, "m.json", ref, json.dumps({"mc": [other]}), rules) == []
    far = dict(entry, mean=[1.08, 0.01], se=[0.01, 0.0004], z=[0.5, None], exact=[1.0011, 0.0],
               q=2.0)
    moved = _compare(tmp_path, "m.json", ref, json.dumps({"mc": [far]}), rules)
    assert sorted(m.split(":")[0] for m in moved) == [
        "m.json/mc/0/exact/0", "m.json/mc/0/mean/0", "m.json/mc/0/q", "m.json/mc/0/se/1",
        "m.json/mc/0/z/1"]
    fewer = dict(entry, mean=[1.0])
    assert "changed shape" in _compare(tmp_path, "m.json", ref, json.dumps({"mc": [fewer]}),
                                       rules)[0]


def test_missing_files_are_differences(tmp_path):
    ref, new = _files(tmp_path, "m.csv", "a\n1\n", "a\n1\n")
    new.unlink()
    assert "not written" in compare_file("m.csv", ref, new, ())[0]


@pytest.mark.slow
def test_check_reproduces_a_quick_folder_and_names_a_perturbed_value(tmp_path, capsys):
    out = tmp_path / "figs"
    argv = ["figures", "--quick", "--only", "penalties", "case-study", "--no-progress"]
    assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["figures", "--check", str(out), "--no-progress"]) == 0
    assert "every data value within its tolerance" in capsys.readouterr().out
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    path = bad / "penalties_scalar.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[5].split(",")
    cells[1] = repr(float(cells[1]) * (1 + 1e-7))
    lines[5] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["figures", "--check", str(bad), "--only", "penalties", "--no-progress"]) == 1
    printed = capsys.readouterr().out
    assert "penalties_scalar.csv/4/" in printed and "1 value(s) moved" in printed


def test_check_without_an_index_is_a_user_error(tmp_path, capsys):
    assert main(["figures", "--check", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "index.json" in err


def _seeded_draw(seed):
    import torch

    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(3, generator=gen) @ torch.randn(3, 3, generator=gen)).tolist()


def test_parallel_runs_equal_serial_runs():
    from dualreg.plots._parallel import map_runs

    tasks = [(s,) for s in range(3)]
    assert map_runs(_seeded_draw, tasks, jobs=2) == map_runs(_seeded_draw, tasks, jobs=1)
