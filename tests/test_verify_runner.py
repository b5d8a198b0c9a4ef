"""The verification runner: rows, atomic reports, failing checks really fail."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dualreg.penalties import VarDrop
from dualreg.verify import CLAIMS, Context, Measurement, run, select


def test_measurement_modes():
    assert Measurement("a", 1e-7, 1e-6, "").passed
    assert not Measurement("a", 1e-5, 1e-6, "").passed
    assert Measurement("a", 2.0, 1.0, "", mode="ge").passed
    assert not Measurement("a", float("nan"), 1.0, "").passed


def test_select_prefix_and_unknown():
    assert all(i.startswith("T4.") for i in select(["T4"]))
    with pytest.raises(ValueError, match="unknown claim"):
        select(["nope"])


def test_same_seed_same_report(tmp_path):
    ids = select(["T4.keep-prob"])
    a = run(ids, Context(seed=3), out=tmp_path / "a", progress=False)
    b = run(ids, Context(seed=3), out=tmp_path / "b", progress=False)
    assert [r.check for r in a] == [r.check for r in b]
    assert [r.measured for r in a] == [r.measured for r in b]
    # A subset at a non-default seed writes a report named after what ran, never report.json.
    data = json.loads((tmp_path / "a" / "report-only-T4.keep-prob-seed-3.json").read_text())
    assert data["meta"]["seed"] == 3 and data["meta"]["failed"] == 0
    assert [r["seed"] for r in data["rows"]] == [3] * len(a)
    assert not list((tmp_path / "a").glob(".*"))  # no temporary files left behind


def test_raising_check_becomes_failing_row(tmp_path, monkeypatch):
    from dualreg.verify.registry import Claim

    def broken(ctx):
        yield Measurement("fine", 0.0, 1.0, "")
        raise RuntimeError("boom")

    monkeypatch.setitem(CLAIMS, "X.broken", Claim("X.broken", "s", "p", broken))
    rows = run(["X.broken"], Context(), progress=False)
    assert [r.passed for r in rows] == [True, False]
    assert "boom" in rows[-1].error


def test_wrong_vardrop_constant_is_caught(monkeypatch):
    # Perturb the dual by a constant factor: the asymptote check and the identity must fail.
    original = VarDrop._dual
    monkeypatch.setattr(VarDrop, "_dual", lambda self, eta: 1.01 * original(self, eta))
    rows = run(["T7.vardrop"], Context(), progress=False)
    failed = [r.check for r in rows if not r.passed]
    assert failed, "a 1 % error in the VarDrop dual passed every T7.vardrop check"


def test_sign_flip_in_eta_hat_is_caught(monkeypatch):
    from dualreg.penalties import LogSum

    monkeypatch.setattr(LogSum, "_eta_hat", lambda self, t: t * (t - self.eps))
    rows = run(["T4.eta-hat"], Context(), progress=False)
    assert any((not r.passed) and "LogSum" in r.check for r in rows)
    assert np.isfinite([r.measured for r in rows]).all()


def test_every_claim_is_indexed_and_has_its_proof():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    index = (root / "proofs" / "README.md").read_text(encoding="utf-8")
    ids = select(None)
    missing = [i for i in ids if f"`{i}`" not in index]
    assert not missing, f"claims missing from proofs/README.md: {missing}"
    for i in ids:
        assert (root / CLAIMS[i].proof).is_file(), f"{i}: no proof file {CLAIMS[i].proof}"


def test_atomic_writes_get_umask_permissions(tmp_path):
    import os
    import stat

    from dualreg import _io

    target = tmp_path / "out.txt"
    _io.write_text(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert target.read_text() == "x" and list(tmp_path.iterdir()) == [target]
