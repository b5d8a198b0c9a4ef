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
    report = json.loads((out / "report.json").read_text())
    assert report["meta"]["failed"] == 0 and report["meta"]["checks"] == len(report["rows"])
    assert "T7.vardrop" in (out / "report.md").read_text()
    assert "passed, 0 failed" in proc.stdout
