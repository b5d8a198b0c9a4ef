"""The documentation's theorem index (docs/_theorem_index.py) lists every claim once, under its
own theorem, with a link to a proof file that exists."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def index_text(tmp_path_factory):
    pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from _theorem_index import write_theorem_index
    finally:
        sys.path.remove(str(ROOT / "docs"))
    target = tmp_path_factory.mktemp("docs") / "theorems.md"
    write_theorem_index(target)
    return target.read_text(encoding="utf-8")


def test_every_claim_once_under_its_theorem(index_text):
    from dualreg.verify import CLAIMS

    rows = re.findall(r"^\| `([^`]+)` \|", index_text, flags=re.M)
    assert sorted(rows) == sorted(CLAIMS)  # each claim exactly once
    sections = re.split(r"^## ", index_text, flags=re.M)[1:]
    for section in sections:
        theorem = section.split(".", 1)[0]
        ids = re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)
        assert ids and all(i.split(".", 1)[0] == theorem for i in ids), section[:80]


def test_proof_links_point_at_existing_files(index_text):
    links = re.findall(r"^Proof: \[[^\]]+\]\(proofs/([^)]+)\)", index_text, flags=re.M)
    assert len(links) == len(re.findall(r"^## ", index_text, flags=re.M))
    for name in links:
        assert (ROOT / "proofs" / name).is_file(), name
