"""Runs that would collide: two in the same second, or two loads at once."""

import json
import subprocess

import psutil

from runner.__main__ import RUNNING, main
from runner.store.results import claim_run_dir, latest_run_dir


def test_runs_started_in_the_same_second_get_folders_of_their_own(tmp_path):
    first = claim_run_dir(tmp_path / "quick", "20261204T170000Z")
    second = claim_run_dir(tmp_path / "quick", "20261204T170000Z")
    assert (first.name, second.name) == ("20261204T170000Z", "20261204T170000Z-2")
    for n in range(3, 11):
        claim_run_dir(tmp_path / "quick", "20261204T170000Z")
    assert latest_run_dir(tmp_path, "quick").name == "20261204T170000Z-10"   # not -9
    claim_run_dir(tmp_path / "quick", "20261204T170001Z")
    assert latest_run_dir(tmp_path, "quick").name == "20261204T170001Z"


def test_a_run_beside_another_live_run_is_refused(tmp_path, capsys):
    raw = tmp_path / "raw"
    other = subprocess.Popen(["sleep", "30"])   # stands in for a runner measuring now
    try:
        (raw / RUNNING).mkdir(parents=True)
        record = {"runner": {"pid": other.pid,
                             "create_time": psutil.Process(other.pid).create_time()},
                  "groups": []}
        (raw / RUNNING / f"{other.pid}.json").write_text(json.dumps(record))
        code = main(["bench", "quick", "--raw-dir", str(raw), "--no-report"])
    finally:
        other.kill()
        other.wait()
    assert code == 2
    err = capsys.readouterr().err
    assert f"another run is measuring on this machine (runner pid {other.pid})" in err
    assert not (raw / "quick").exists()   # nothing was started
    # once that runner is gone, its record no longer holds anyone back
    from runner.measure.procs import live_runs
    assert live_runs(raw / RUNNING) == []
