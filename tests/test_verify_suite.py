"""`make test` includes the whole quick verification suite, as `dualreg verify` runs it."""

import json

from dualreg.cli import main


def test_quick_suite_passes_with_two_jobs(tmp_path, capsys):
    out = tmp_path / "verification"
    code = main(["verify", "--quick", "--jobs", "2", "--no-progress", "--out", str(out)])
    printed = capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    failed = [f"{r['claim']}: {r['check']} {r['error']}" for r in report["rows"] if not r["passed"]]
    assert code == 0 and not failed, "\n".join(failed)
    assert report["meta"]["checks"] >= 400 and (out / "report.md").is_file()
    assert "0 failed" in printed
