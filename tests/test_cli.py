"""The command line: output of `penalty`, one-line errors with exit 2, `verify` exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from dualreg.cli import main
from dualreg.penalties import CATALOGUE, LogSum


def test_list_shows_whole_catalogue(capsys):
    assert main(["penalty", "--list"]) == 0
    out = capsys.readouterr().out
    for name in CATALOGUE:
        assert name in out


def test_penalty_table_matches_library(capsys):
    assert main(["penalty", "LogSum", "--param", "eps=0.5", "--w", "0.1", "1", "10",
                 "--lam", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()[2:]
    values = np.array([[float(x) for x in line.split()] for line in lines])
    p, w = LogSum(0.5), np.array([0.1, 1.0, 10.0])
    expected = np.c_[w, p.value(w), p.derivative(w), p.eta_hat(w), p.dual(p.eta_hat(w)),
                     p.keep_prob(w, 2.0)]
    # The CLI prints 6 significant digits.
    np.testing.assert_allclose(values, expected, rtol=1e-5)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["penalty", "NoSuch"], "unknown penalty"),
        (["penalty", "Lp", "--param", "p=3"], "p must be in (0, 2]"),
        (["penalty", "LogSum", "--param", "eps=-1"], "eps must be in"),
        (["penalty", "SCAD", "--param", "a=1"], "a must be in"),
        (["penalty", "Sparseout", "--param", "drop=1.2"], "drop must be in"),
        (["penalty", "LogSum", "--param", "eps"], "key=value"),
        (["penalty", "LogSum", "--param", "nope=1"], "bad parameters"),
        (["penalty", "LogSum", "--lam", "-1"], "--lam must be >= 0"),
        (["penalty", "ARD"], "design matrix"),
        (["penalty"], "--list"),
        (["verify", "--only", "T99"], "unknown claim"),
        (["verify", "--jobs", "0"], "--jobs"),
        (["verify", "--seeds", "5:2"], "--seeds"),
        (["verify", "--seeds", "a,b"], "--seeds"),
        (["verify", "--seeds", "1,1"], "--seeds"),
        (["verify", "--seed", "0", "--seeds", "0:3"], "mutually exclusive"),
        (["verify", "--seed", "-1"], "--seed must be >= 0"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_errors_are_one_line_exit_2(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("dualreg: error:")
    assert fragment in err


def test_superquadratic_prints_na(capsys):
    assert main(["penalty", "Sparseout", "--param", "q=3", "--w", "1", "2"]) == 0
    assert "n/a" in capsys.readouterr().out


def test_plot_writes_png(tmp_path, capsys):
    target = tmp_path / "faces.png"
    assert main(["penalty", "MCP", "--w", "1", "--plot", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["penalty", "MCP", "--plot", str(tmp_path / "faces.txt")]) == 2


def test_verify_writes_reports_and_python_m_is_the_same(tmp_path):
    out = tmp_path / "rep"
    proc = subprocess.run(
        [sys.executable, "-m", "dualreg", "verify", "--only", "T7", "--no-progress",
         "--out", str(out)], capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report-only-T7.json").read_text())
    assert report["meta"]["failed"] == 0 and report["meta"]["checks"] == len(report["rows"])
    assert "T7.vardrop" in (out / "report-only-T7.md").read_text()
    assert "passed, 0 failed" in proc.stdout and "report-only-T7.md" in proc.stdout
    assert not (out / "report.md").exists()  # a subset never writes the full report's name
    assert report["meta"]["command"].startswith("dualreg verify --only T7")


def test_subset_run_never_replaces_the_full_report(tmp_path, capsys):
    out = tmp_path / "v"
    out.mkdir()
    (out / "report.md").write_text("full")
    (out / "report.json").write_text("{}")
    assert main(["verify", "--only", "T4.keep-prob", "--seed", "2", "--no-progress",
                 "--out", str(out)]) == 0
    assert (out / "report.md").read_text() == "full" and (out / "report.json").read_text() == "{}"
    assert (out / "report-only-T4.keep-prob-seed-2.md").is_file()
    assert "report-only-T4.keep-prob-seed-2.md" in capsys.readouterr().out


def test_seeds_run_reports_pass_rates_and_fails_on_any_seed(tmp_path, capsys, monkeypatch):
    from dualreg.verify import CLAIMS, Measurement
    from dualreg.verify.registry import Claim

    out = tmp_path / "s"
    assert main(["verify", "--seeds", "0:3", "--only", "T4.keep-prob", "--jobs", "2",
                 "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3/3 seeds" in printed and "× 3 seeds" in printed
    doc = json.loads((out / "report-only-T4.keep-prob-seeds-0-3.json").read_text())
    assert doc["meta"]["seeds"] == [0, 1, 2] and doc["failures"] == []

    def seed_two_fails(ctx):
        yield Measurement("only at seed 2", float(ctx.seed == 2), 0.5, "planted")

    monkeypatch.setitem(CLAIMS, "T1.plant", Claim("T1.plant", "s", "proofs/x.md",
                                                  seed_two_fails))
    assert main(["verify", "--seeds", "1,2", "--only", "T1.plant", "--no-progress",
                 "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "1/2 seeds" in printed and "T1.plant  only at seed 2  seed 2: 1 > 0.5" in printed


def test_version(capsys):
    from importlib.metadata import version

    import dualreg

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"dualreg {version('dualreg')}"
    assert dualreg.__version__ == version("dualreg")


def test_penalty_json_and_csv_match_the_library(capsys):
    import csv
    import io

    from dualreg.penalties import MCP

    w = [0.0, 1.0, 5.0]  # 5 > b = 3: η̂ = +inf there
    assert main(["penalty", "MCP", "--w", *map(str, w), "--lam", "2", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    p = MCP()
    assert record["penalty"] == repr(p) and record["lam"] == 2.0
    assert record["eta_hat"][2] == "inf"
    np.testing.assert_allclose(record["value"], p.value(np.array(w)), rtol=1e-15)
    np.testing.assert_allclose(record["keep_prob"], p.keep_prob(np.array(w), 2.0, 1.0))
    assert main(["penalty", "MCP", "--w", *map(str, w), "--lam", "2", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [float(r["eta_hat"]) for r in rows] == [float(v) if v != "inf" else np.inf
                                                   for v in record["eta_hat"]]
    assert [float(r["derivative"]) for r in rows] == record["derivative"]


@pytest.mark.parametrize(("argv", "fragment"), [
    (["penalty", "LogSum", "--json", "--csv"], "not allowed with"),
    (["penalty", "LogSum", "--wmax", "0", "--plot", "x.png"], "--wmax must be"),
])
def test_penalty_output_flags_are_checked(argv, fragment, capsys):
    assert main(argv) == 2
    assert fragment in capsys.readouterr().err
