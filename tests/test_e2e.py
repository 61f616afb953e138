"""One end-to-end run of the quick suite through the README's tooling (`./just`)."""

import json
import subprocess
from pathlib import Path

import pytest

from runner.store.results import validate_case

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
    # what a run writes fits the stored format (runner/store/results.py, docs/formats.md)
    assert {case_id: validate_case(c) for case_id, c in cases.items() if validate_case(c)} == {}
    io = [c for c in measured if c["case"].get("services")]
    assert len(io) >= 10 and all(c["runs"][0]["services"] for c in io)
    assert all(only["resources"]["machine_busy_s"] > 0 for c in measured for only in c["runs"])
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
