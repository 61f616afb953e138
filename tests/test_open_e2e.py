"""An open scenario end to end: vegeta at two fixed rates against a real server, stored,
checked against the model's capacity and rendered."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.report import openload
from runner.store.results import as_case

REPO = Path(__file__).resolve().parent.parent
FAKES = REPO / "tests" / "fakes" / "impls"

pytestmark = pytest.mark.slow

SUITE = """\
wrk: {threads: 1, connections: 1, duration: 1s, timeout: 5s}
repeats: 1
targets:
  - impl: faulty
    servers: [good]
scenarios:
  - name: open
    type: open
    title: "waits at a fixed rate"
    kinds: [sync_sleep]
    params: {ms: 100}
    rates: {of_capacity: [0.5, 1.0], max_rate: 20, duration: 2s, timeout: 5s}
"""


def test_open_scenario_runs_stores_and_renders(tmp_path):
    suite = tmp_path / "open.yaml"
    suite.write_text(SUITE)
    raw, out = tmp_path / "raw", tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "runner", "bench", str(suite), "--impls",
                           str(FAKES), "--raw-dir", str(raw), "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = (raw / "open").glob("*/open__faulty__good__sync_sleep.json")
    data = json.loads(path.read_text())
    (run,) = data["runs"]
    # a thread per request and a wait: no bound the model knows, so the cap's fractions
    assert run["capacity"]["rps"] is None and "rate cap 20/s" in run["capacity"]["rates_relative_to"]
    assert [p["offered_rps"] for p in run["points"]] == [10.0, 20.0]
    for point in run["points"]:
        assert point["ok"] == point["requests"] == round(point["offered_rps"] * 2)
        assert point["failed_proof"] == 0 and point["held_rate"]
        assert 0.1 <= point["latency_s"]["p50"] < 0.15
    knee = openload.knee(as_case(data))
    assert knee.verdict == "held every rate offered, up to 20/s"
    markdown = (out / "open.md").read_text()
    assert "## waits at a fixed rate" in markdown and "held every rate offered" in markdown
    assert (out / "charts" / "open-open-open.svg").exists()
