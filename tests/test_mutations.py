"""The mutation catalogue: the fast subset is caught by ``dualreg verify --quick`` itself, and the
machinery can report a survivor (a plant that changes nothing is not caught)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dualreg.penalties.classical import LogSum
from dualreg.verify import mutations
from dualreg.verify.mutations.plant import LAYERS, Patcher, Plant


def test_catalogue_has_at_least_40_plants_covering_every_layer():
    plants = mutations.load_plants()
    assert len(plants) >= 40
    assert {p.layer for p in plants.values()} == set(LAYERS)
    assert all(p.what and p.name == p.name.lower() for p in plants.values())


def test_patcher_restores_what_it_replaced():
    original = LogSum._dual
    patcher = Patcher()
    mutations.load_plants()["logsum-dual-off-by-1pct"].apply(patcher)
    assert LogSum._dual is not original
    patcher.undo()
    assert LogSum._dual is original


def test_patcher_refuses_to_plant_in_a_missing_attribute():
    with pytest.raises(AttributeError, match="no attribute 'no_such_face'"):
        Patcher().set(LogSum, "no_such_face", None)


def test_a_plant_that_changes_nothing_survives():
    noop = Plant("noop", "penalty faces", "changes nothing", lambda patcher: None)
    outcome = mutations.run_inprocess(noop, claim_ids=["T4.identity", "T4.eta-hat"])
    assert not outcome.caught and outcome.claims_run == 2


def test_a_real_plant_is_caught_in_process_and_undone():
    plant = mutations.load_plants()["logsum-dual-off-by-1pct"]
    original = LogSum._dual
    outcome = mutations.run_inprocess(plant, claim_ids=["T4.identity"])
    assert outcome.caught and outcome.caught_by == ["T4.identity"]
    assert LogSum._dual is original


def test_ci_subset_is_caught_by_the_quick_suite(tmp_path):
    # Every plant of the CI subset, each in its own process, against dualreg verify --quick.
    proc = subprocess.run(
        [sys.executable, "-m", "dualreg.cli", "mutate", "--subset", "ci", "--jobs", "2",
         "--no-progress", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=900, check=False)
    report = json.loads((tmp_path / "mutations.json").read_text())
    survivors = [o["plant"] for o in report["outcomes"] if not o["caught"]]
    assert proc.returncode == 0 and not survivors, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert report["meta"]["planted"] == sum(p.ci for p in mutations.load_plants().values())


def test_unknown_plant_is_one_line_and_exit_2():
    proc = subprocess.run([sys.executable, "-m", "dualreg.cli", "mutate", "--only", "nope"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown plant" in proc.stderr
