"""Ctrl-C on ``dualreg verify`` and ``dualreg figures``: one line on stderr, exit 130, and an
output folder holding either the old complete set or the new complete set.

Each run is a real ``python -m dualreg`` process sent SIGINT at a chosen moment: while it
is still importing (0.5 s), after its first output line (mid-run), or the moment it
starts writing its files (the first change in the output folder).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ["T13.ard-value", "T10.certified-sup"]  # ~2 s each: the interrupt lands mid-run
FIGURE = "penalties"  # the fastest figure (~4 s with --quick)


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "dualreg", *args, "--no-progress"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _snapshot(folder: Path) -> dict[str, int]:
    # the writability probe made before any work does not count as writing the outputs
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()
            if not p.name.startswith(".dualreg-probe-")}


def _interrupt(proc: subprocess.Popen, moment: str, folder: Path | None = None
               ) -> tuple[int, str, str]:
    """Send SIGINT at ``moment``: seconds ("0.5s"), "first-output" (a line on stdout) or
    "first-write" (the first change in ``folder``: the moment files are being written).
    Returns (rc, out, err)."""
    lines: list[str] = []
    first = threading.Event()

    def reader() -> None:
        for line in proc.stdout:
            lines.append(line)
            first.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    if moment == "first-output":
        assert first.wait(120), "no output within 120 s"
    elif moment == "first-write":
        before, deadline = _snapshot(folder), time.monotonic() + 120
        while _snapshot(folder) == before and proc.poll() is None:
            assert time.monotonic() < deadline, "nothing written within 120 s"
            time.sleep(0.002)
    else:
        time.sleep(float(moment.rstrip("s")))
    proc.send_signal(signal.SIGINT)
    try:
        err = proc.stderr.read()
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    thread.join(5)
    return rc, "".join(lines), err


def _assert_one_line(rc: int, err: str) -> None:
    assert rc == 130, (rc, err[-2000:])
    assert err.strip() == "dualreg: interrupted", err[-2000:]


def _no_temporaries(out: Path) -> None:
    assert not [p for p in out.iterdir() if p.name.startswith(".dualreg-")], list(out.iterdir())


@pytest.mark.parametrize("moment", ["0.5s", "first-output"])
def test_interrupted_verify_leaves_the_old_report_flagged_or_a_new_one(tmp_path, moment):
    from dualreg.verify import Context
    from dualreg.verify.runner import report_name

    name = report_name(CLAIMS, Context(), None, only=CLAIMS)
    old = {f"{name}.json": '{"old": true}\n', f"{name}.md": "# old report\n"}
    for fname, text in old.items():
        (tmp_path / fname).write_text(text)
    rc, _, err = _interrupt(_start("verify", "--quick", "--only", *CLAIMS, "--out",
                                   str(tmp_path)), moment)
    _assert_one_line(rc, err)
    now = {f: (tmp_path / f).read_text() for f in old}
    if now == old:  # the old set, flagged as not the latest run's (unless never reached)
        marker = tmp_path / f"{name}.INCOMPLETE"
        assert marker.exists() or moment == "0.5s"
    else:  # the new complete set: both files new, from the same run, no marker
        doc = json.loads(now[f"{name}.json"])
        assert doc["meta"]["started"] in now[f"{name}.md"]
        assert not (tmp_path / f"{name}.INCOMPLETE").exists()
    _no_temporaries(tmp_path)


@pytest.fixture(scope="module")
def old_figures(tmp_path_factory):
    """A complete figure set made by an uninterrupted run (seed 0)."""
    out = tmp_path_factory.mktemp("figures")
    proc = subprocess.run([sys.executable, "-m", "dualreg", "figures", "--quick", "--only",
                           FIGURE, "--out", str(out), "--no-progress"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


@pytest.mark.parametrize("moment", ["0.5s", "first-write"])
def test_interrupted_figures_leave_the_old_set_or_the_new_set(tmp_path, old_figures, moment):
    # The old set: the real index (seed 0), every other file marked, so a new file next to
    # an old one (a PNG without its PDF, data without its index entry) cannot pass unseen.
    old = {f: (data if f in ("index.json", "README.md") else b"old " + f.encode())
           for f, data in old_figures.items()}
    for fname, data in old.items():
        (tmp_path / fname).write_bytes(data)
    rc, out, err = _interrupt(_start("figures", "--quick", "--only", FIGURE, "--seed", "1",
                                     "--out", str(tmp_path)), moment, tmp_path)
    finished = "figure(s) in" in out  # done before the signal (or hit at interpreter exit)
    if not finished:
        _assert_one_line(rc, err)
    now = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert set(now) == set(old)
    record = json.loads(now["index.json"])["figures"][FIGURE]
    readme = now["README.md"].decode()
    if record["seed"] == 0 and not finished:  # the old set: every file byte for byte
        assert now == old
    else:  # the new set: index, README and every listed file from the seed-1 run
        assert record["seed"] == 1 and "--seed 1" in readme and "seed 1" in readme
        assert not [f for f in now if now[f] == old[f] and f not in ("README.md",)]
    _no_temporaries(tmp_path)
