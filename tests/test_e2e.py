"""One end-to-end run of the quick suite through the README's tooling (`./just`)."""

import json
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_quick_suite_through_just(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "reports"
    done = subprocess.run([str(REPO / "just"), "bench", "quick", "--raw-dir", str(raw),
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "0 failed" in done.stderr
    (run_dir,) = (raw / "quick").iterdir()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["finished_at"] and run["environment"]["cores"]
    cases = {}
    for path in run_dir.glob("*__*.json"):
        data = json.loads(path.read_text())
        cases[data["case"]["id"]] = data
    assert set(cases) == set(run["cases"])
    measured = [c for c in cases.values() if c["status"] == "ok"]
    assert len(measured) >= 20
    for case in measured:
        (only,) = case["runs"]
        assert only["wrk"]["requests"] > 0 and only["disagreements"] == []
        assert only["resources"]["server_cpu_s"] >= 0 and only["resources"]["samples"] > 0
    assert {c["status"] for c in cases.values()} <= {"ok", "na"}
    markdown = (out / "quick.md").read_text()
    html = (out / "quick.html").read_text()
    for case in cases.values():
        assert case["case"]["server_label"] in markdown
    assert "<table" in html and "<svg" in html
    # the report is rendered again from the raw results alone, identically
    again = tmp_path / "again"
    redo = subprocess.run([str(REPO / "just"), "report", "--raw-dir", str(raw), "--out", str(again)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert redo.returncode == 0, redo.stderr[-3000:]
    assert (again / "quick.md").read_text() == markdown
