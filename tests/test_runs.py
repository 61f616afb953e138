"""Runs that would collide: two in the same second, or two loads at once."""

import json
import subprocess
from pathlib import Path

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


def test_a_run_beside_another_run_with_another_results_folder_is_refused(tmp_path, capsys,
                                                                          monkeypatch):
    """The machine-wide lock: a second `bench` refuses while a first one holds it, whatever
    their results folders, naming the first run's pid and folder; exit status 2."""
    import os
    import signal
    import sys
    import time
    from pathlib import Path

    lock = tmp_path / "machine.lock"
    monkeypatch.setenv("CONCBENCH_LOCK", str(lock))
    suite = tmp_path / "s.yaml"   # the first run waits for a server slow to start: no load
    suite.write_text("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 1s}\n"
                     "ready_timeout: 60s\nwarmup: 0\nrepeats: 1\n"
                     "targets: [{impl: faulty, servers: [slow-start]}]\n"
                     "scenarios: [{name: hello, kinds: [hello]}]\n")
    repo = Path(__file__).resolve().parent.parent
    first = subprocess.Popen(
        [sys.executable, "-m", "runner", "bench", str(suite), "--impls",
         str(repo / "tests" / "fakes" / "impls"), "--raw-dir", str(tmp_path / "raw-a"),
         "--no-report"], cwd=repo, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env={**os.environ, "CONCBENCH_LOCK": str(lock)})
    try:
        deadline = time.monotonic() + 30
        while str(first.pid) not in (lock.read_text() if lock.exists() else ""):
            assert time.monotonic() < deadline and first.poll() is None, "no lock taken"
            time.sleep(0.1)
        code = main(["bench", str(suite), "--impls", str(repo / "tests" / "fakes" / "impls"),
                     "--raw-dir", str(tmp_path / "raw-b"), "--no-report"])
    finally:
        os.killpg(first.pid, signal.SIGTERM)   # the runner stops its server on SIGTERM
        first.wait(timeout=30)
    assert code == 2
    err = capsys.readouterr().err
    assert (f"error: {lock}: another run is measuring on this machine (runner pid {first.pid}, "
            f"results in {(tmp_path / 'raw-a' / 's').resolve()}): two loads at once measure "
            "each other; wait for it to end") in err, err
    assert not (tmp_path / "raw-b").exists()   # nothing was started
    # once the first run has ended, its lock holds no one back
    from runner.measure.procs import machine_lock
    with machine_lock(tmp_path / "raw-b", lock):
        pass


def test_other_load_is_a_load_generator_or_runner_not_ours(tmp_path):
    """A wrk that is not the runner's child is seen; the runner and its children are not.
    The runner here is a separate process: this one may be a child subreaper (the runner's
    containment), which makes every orphan below it its own child."""
    import shutil
    import sys
    import time

    from runner.measure.env import _is_runner, seen_at

    fake_wrk = tmp_path / "wrk"
    shutil.copy(shutil.which("sleep"), fake_wrk)
    theirs = subprocess.Popen([str(fake_wrk), "30"])        # a sibling, not the runner's
    script = ("import json, subprocess, sys, time\n"
              "from runner.measure.env import other_load\n"
              "ours = subprocess.Popen([sys.argv[1], '30'])\n"
              "time.sleep(0.2)\n"
              "print(json.dumps({'ours': ours.pid, 'found': other_load()}))\n"
              "ours.kill()\n")
    try:
        time.sleep(0.2)
        done = subprocess.run([sys.executable, "-c", script, str(fake_wrk)], cwd=Path(__file__).resolve().parent.parent,
                              capture_output=True, text=True, timeout=60, check=True)
    finally:
        theirs.kill()
        theirs.wait()
    seen = json.loads(done.stdout)
    found = {p["pid"]: p for p in seen["found"]}
    assert found[theirs.pid]["name"] == "wrk" and found[theirs.pid]["command"].endswith("wrk 30")
    assert seen["ours"] not in found
    assert _is_runner(["python", "-m", "runner", "bench", "quick"])
    assert not _is_runner(["python", "-m", "runner", "report"])
    merged = seen_at([{"pid": 1, "name": "wrk", "command": "wrk"}],
                     [{"pid": 1, "name": "wrk", "command": "wrk"},
                      {"pid": 2, "name": "vegeta", "command": "vegeta"}])
    assert [(m["pid"], m["seen"]) for m in merged] == [(1, ["start", "end"]), (2, ["end"])]
