"""The verification report: Markdown that renders, provenance, names, one atomic set, seeds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dualreg.verify import CLAIMS, Context, Measurement, report, run, select
from dualreg.verify.registry import Claim
from dualreg.verify.runner import Row, parse_seeds, report_name

ROOT = Path(__file__).resolve().parents[1]


def split_cells(line: str) -> list[str]:
    """The cells of one GFM table row: split on pipes not escaped by a backslash."""
    assert line.startswith("|") and line.endswith("|"), line
    cells, cur, i = [], "", 1
    body = line[1:-1]
    while i <= len(body):
        ch = body[i - 1]
        if ch == "\\" and i < len(body):
            cur += ch + body[i]
            i += 2
            continue
        if ch == "|":
            cells.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    cells.append(cur)
    return [c.strip() for c in cells]


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table of ``markdown`` as rows of cells (header, separator, body rows)."""
    found, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(split_cells(line))
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


def assert_well_formed(markdown: str) -> None:
    found = tables(markdown)
    assert found, "no table"
    for t in found:
        widths = {len(r) for r in t}
        assert len(widths) == 1, f"ragged table: {sorted(widths)} columns; header {t[0]}"
        assert all(re.fullmatch(r"-{3,}", c) for c in t[1]), t[1]


def _row(check="c", why="w", **kw) -> Row:
    base = dict(claim="T1.fake", statement="s", check=check, measured=1e-3, tolerance=1e-2,
                why=why, passed=True, seconds=0.01)
    return Row(**{**base, **kw})


def test_pipe_in_a_cell_renders_escaped_and_columns_match():
    assert report.md("(F_irls − F_cvxpy)/|F|") == r"(F\_irls − F\_cvxpy)/\|F\|"
    assert report.md("a\nb") == "a<br>b" and "\n" not in report.md("x\r\ny")
    rows = [_row(check="max |w − ŵ| over\ntwo lines", why="k·|SE|, see `T1`")]
    meta = _meta([0])
    text = report.render_markdown(rows, meta, report.summarise(rows), Path("/tmp"))
    assert r"max \|w − ŵ\| over<br>two lines" in text
    assert "/w − ŵ/" not in text
    assert_well_formed(text)


def test_markdown_headings_keep_their_math_but_not_raw_pipes():
    title = r"Sparseout is an $\ell_q$ penalty"
    assert report.md_cell(title) == title
    assert report.md_cell("a | b \\| c\nd") == r"a \| b \| c<br>d"


def test_split_cells_sees_escaped_pipes():
    assert split_cells(r"| a \| b | c |") == [r"a \| b", "c"]
    with pytest.raises(AssertionError, match="ragged"):
        assert_well_formed("| a | b |\n|---|---|\n| x | y | z |\n")


def _meta(seeds):
    return {"dualreg": "0", "git": None, "packages": {"numpy": "1"}, "python": "3",
            "platform": "p", "cpus": 1, "seeds": seeds, "mode": "quick", "device": "cpu",
            "claims": ["T1.fake"], "command": "dualreg verify", "started": "t",
            "wall_seconds": 1.0}


def test_parse_seeds():
    assert parse_seeds("0:100") == list(range(100))
    assert parse_seeds("1,5,9") == [1, 5, 9] and parse_seeds("7") == [7]
    for bad in ("", "5:5", "9:3", "a:b", "1,,2", "-1:3", "1.5", "1,1", "0:3:1"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


def test_report_name_says_what_ran():
    every = select(None)
    assert report_name(every, Context()) == "report"
    assert report_name(every, Context(seed=1)) == "report-seed-1"
    assert report_name(every, Context(mode="full")) == "report-full"
    assert report_name(every, Context(), seeds=range(100)) == "report-seeds-0-100"
    assert report_name(every, Context(), seeds=[1, 5, 9]) == "report-seeds-1_5_9"
    ids = select(["T3", "T9"])
    assert report_name(ids, Context(seed=1), only=["T3", "T9"]) == "report-only-T3-T9-seed-1"
    assert report_name(["T4.keep-prob"], Context()) == "report-only-T4.keep-prob"
    long = report_name(every[:-1], Context())
    assert long.startswith("report-only-") and len(long) < 100


def test_full_report_has_provenance_summary_groups_and_links(tmp_path):
    # Written inside the repository: proof links are relative to the report's folder.
    ids = select(["T4.keep-prob", "T1.mask-moments"])
    rows = run(ids, Context(), out=tmp_path, progress=False, name="r")
    doc = json.loads((tmp_path / "r.json").read_text())
    meta = doc["meta"]
    for key in ("dualreg", "packages", "python", "platform", "cpus", "seed", "mode", "device",
                "claims", "command", "started", "wall_seconds", "git"):
        assert key in meta, key
    assert set(meta["packages"]) >= {"numpy", "scipy", "torch", "cvxpy", "sympy",
                                      "scikit-learn"}
    assert meta["checks"] == len(rows) == len(doc["rows"]) and meta["failed"] == 0
    assert [t["theorem"] for t in doc["theorems"]] == ["T1", "T4"]
    text = (tmp_path / "r.md").read_text()
    assert_well_formed(text)
    assert text.index("## Provenance") < text.index("## Summary by theorem") \
        < text.index("## T1. ") < text.index("### ✅ `T1.mask-moments`") < text.index("## T4.")
    assert CLAIMS["T1.mask-moments"].statement.split()[0] in text
    assert "`proofs/T1_dropout_ridge.md`" in text  # tmp_path is outside the repository
    inside = report.proof_link("proofs/T1_dropout_ridge.md", ROOT / "verification")
    assert inside == r"[proofs/T1\_dropout\_ridge.md](../proofs/T1_dropout_ridge.md)"


def test_reports_are_written_as_one_set(tmp_path, monkeypatch):
    ids = ["T4.keep-prob"]
    run(ids, Context(), out=tmp_path, progress=False, name="report")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == {"report.json", "report.md"}

    def broken(*args, **kwargs):
        raise RuntimeError("render failed")

    def left(folder):  # the files a reader sees, less the marker of an unfinished run
        return {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix != ".INCOMPLETE"}

    monkeypatch.setattr(report, "render_markdown", broken)
    with pytest.raises(RuntimeError):
        run(ids, Context(seed=1), out=tmp_path, progress=False, name="report")
    assert left(tmp_path) == before  # nothing half-new
    # ... and the old pair is flagged as not the latest run's (never stale-looking-current)
    assert "did not finish" in (tmp_path / "report.INCOMPLETE").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dualreg-set-")]

    monkeypatch.undo()
    real_write = Path.write_text

    def fail_md(self, *args, **kwargs):
        if self.name.startswith(".report.md"):
            raise OSError("disk full")
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", fail_md)
    with pytest.raises(OSError):
        run(ids, Context(seed=1), out=tmp_path, progress=False, name="report")
    assert left(tmp_path) == before
    monkeypatch.undo()
    run(ids, Context(seed=1), out=tmp_path, progress=False, name="report")  # a finished run
    assert set(left(tmp_path)) == set(before) and not (tmp_path / "report.INCOMPLETE").exists()


def test_seeds_report_pass_rates_and_failing_triples(tmp_path, monkeypatch):
    def flaky(ctx):
        yield Measurement("steady", 0.0, 1.0, "exact")
        yield Measurement("odd |seeds| fail", float(ctx.seed % 2), 0.5, "planted")

    monkeypatch.setitem(CLAIMS, "T1.flaky", Claim("T1.flaky", "flaky | claim", "proofs/x.md",
                                                  flaky))
    rows = run(["T1.flaky", "T4.keep-prob"], Context(), jobs=1, out=tmp_path, progress=False,
               seeds=[0, 1, 2, 3])
    name = "report-only-T1.flaky-T4.keep-prob-seeds-0-4"
    doc = json.loads((tmp_path / f"{name}.json").read_text())
    assert doc["meta"]["seeds"] == [0, 1, 2, 3] and "rows" not in doc
    flaky_claim = next(c for c in doc["claims"] if c["claim"] == "T1.flaky")
    assert flaky_claim["seeds_passed"] == 2 and flaky_claim["failing_seeds"] == [1, 3]
    rates = {a["check"]: (a["passed"], a["runs"], a["worst"]) for a in flaky_claim["checks"]}
    assert rates == {"steady": (4, 4, 0.0), "odd |seeds| fail": (2, 4, 1.0)}
    assert [(f["claim"], f["seed"], f["measured"]) for f in doc["failures"]] == [
        ("T1.flaky", 1, 1.0), ("T1.flaky", 3, 1.0)]
    keep = next(c for c in doc["claims"] if c["claim"] == "T4.keep-prob")
    assert keep["seeds_passed"] == 4
    assert sum(not r.passed for r in rows) == 2
    text = (tmp_path / f"{name}.md").read_text()
    assert_well_formed(text)
    assert "## Failures" in text and r"odd \|seeds\| fail" in text
    assert "— 2/4 seeds" in text and "— 4/4 seeds" in text
