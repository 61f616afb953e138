"""Faults fail one case each, with their reason; the suite goes on and nothing is left running.

Uses the deliberately faulty implementation in tests/fakes/impls/faulty: one server per
fault, real processes, real wrk.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from runner.__main__ import main

FAKES = Path(__file__).parent / "fakes" / "impls"
REPO = Path(__file__).resolve().parent.parent

SUITE = """\
wrk: {threads: 1, connections: 2, duration: 3s, timeout: 1s}
repeats: 1
warmup: 0
ready_timeout: 3s
targets:
  - impl: faulty
    servers: [good, liar, exits-at-start, never-ready, crashes-mid-run, hangs, wrong-status]
scenarios:
  - name: sleep
    kinds: [sync_sleep]
    params: {ms: 50}
  - name: cpu
    kinds: [cpu_sync]
    params: {n: 1000}
    targets:
      - impl: faulty
        servers: [good, liar]
"""

pytestmark = pytest.mark.slow


def results(raw: Path) -> dict[str, dict]:
    (run_dir,) = (raw / "faults").iterdir()
    out = {}
    for path in run_dir.glob("*.json"):
        data = json.loads(path.read_text())
        if path.name != "run.json":
            out[data["case"]["id"]] = data
    return out


def test_each_fault_fails_only_its_own_case(tmp_path, capsys):
    suite = tmp_path / "faults.yaml"
    suite.write_text(SUITE)
    raw = tmp_path / "raw"
    code = main(["bench", str(suite), "--impls", str(FAKES), "--raw-dir", str(raw),
                 "--out", str(tmp_path / "reports")])
    assert code == 3  # some cases failed (0 only when every case was measured)
    got = results(raw)
    reasons = {cid.split("/")[2] + "/" + cid.split("/")[3]: r["reason"] for cid, r in got.items()}
    status = {cid.split("/")[2] + "/" + cid.split("/")[3]: r["status"] for cid, r in got.items()}
    assert status["good/sync_sleep"] == "ok" and status["good/cpu_sync"] == "ok"
    assert got["sleep/faulty/good/sync_sleep"]["runs"][0]["wrk"]["requests"] > 10
    assert "a sleep of 50 ms cannot be faster" in reasons["liar/sync_sleep"]
    assert "result is 0, expected 499500" in reasons["liar/cpu_sync"]
    assert reasons["exits-at-start/sync_sleep"].startswith("server exited with status 1 before it was ready")
    assert "fatal: configuration broken on purpose" in reasons["exits-at-start/sync_sleep"]
    assert reasons["never-ready/sync_sleep"].startswith("not ready within 3 s (/info answered status 503)")
    assert reasons["crashes-mid-run/sync_sleep"].startswith("server exited during the measurement with status 3")
    assert reasons["hangs/sync_sleep"].startswith("no request completed in 3 s")
    assert reasons["wrong-status/sync_sleep"].startswith("conformance check of /sync_sleep?ms=50 failed: status 500")
    report = (tmp_path / "reports" / "faults.md").read_text()
    for server in ("liar", "exits-at-start", "never-ready", "crashes-mid-run", "hangs", "wrong-status"):
        assert server in report
    assert "not ready within 3 s" in report


def _ours(root: psutil.Process) -> list[psutil.Process]:
    try:
        return root.children(recursive=True)
    except psutil.Error:
        return []


def _cmd(proc: psutil.Process) -> str:
    """proc's command line; "" once it has exited (a zombie until the runner reaps it)."""
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_everything_and_keeps_results(tmp_path, sig):
    suite = tmp_path / "long.yaml"
    suite.write_text("""\
wrk: {threads: 1, connections: 2, duration: 3s, timeout: 2s}
repeats: 1
warmup: 0
targets:
  - impl: faulty
    servers: [good]
scenarios:
  - name: first
    kinds: [hello]
  - name: second
    kinds: [sync_sleep]
    params: {ms: 20}
  - name: third
    kinds: [cpu_sync]
    params: {n: 1000}
""")
    raw = tmp_path / "raw"
    proc = subprocess.Popen([sys.executable, "-m", "runner", "bench", str(suite), "--impls",
                             str(FAKES), "--raw-dir", str(raw), "--out", str(tmp_path / "out")],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(proc.pid)
    seen: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 60
    first = None
    while time.monotonic() < deadline:
        for child in _ours(root):
            seen[child.pid] = child
        first = next(raw.glob("long/*/first__*.json"), None) if raw.exists() else None
        if first and json.loads(first.read_text())["status"] == "ok" and any(
                "wrk" in _cmd(p) for p in _ours(root)):
            break
        time.sleep(0.05)
    assert first is not None, "the first case never finished"
    for child in _ours(root):
        seen[child.pid] = child
    assert any("server.py" in _cmd(p) for p in seen.values())
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, output
    assert "interrupted" in output and "--resume" in output
    gone, alive = psutil.wait_procs(list(seen.values()), timeout=5)
    assert alive == [], f"left running: {[p.cmdline() for p in alive]}"
    kept = json.loads(first.read_text())
    assert kept["status"] == "ok" and kept["runs"][0]["wrk"]["requests"] > 0
    # resume measures only what is missing
    done = subprocess.run([sys.executable, "-m", "runner", "bench", str(suite), "--resume",
                           "--impls", str(FAKES), "--raw-dir", str(raw), "--out", str(tmp_path / "out")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 cases already measured" in done.stderr
    assert json.loads(first.read_text())["runs"] == kept["runs"]
    statuses = [json.loads(p.read_text())["status"] for p in first.parent.glob("*__*.json")]
    assert statuses == ["ok", "ok", "ok"]


def test_port_taken(tmp_path, monkeypatch):
    """A port grabbed by someone else is retried once on a new one; twice taken fails the case."""
    import socket

    from runner.measure import bench
    from runner.config.manifest import load_impls
    from runner.config.suite import parse_suite, plan_cases

    impls = load_impls(FAKES)
    suite = parse_suite("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 1s}\n"
                        "targets: [{impl: faulty, servers: [good]}]\n"
                        "scenarios: [{name: hello, kinds: [hello]}]\n", "s.yaml", "s")
    (case,) = plan_cases(suite, impls, 2)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        real = bench.free_port
        ports = iter([busy])
        monkeypatch.setattr(bench, "free_port", lambda: next(ports, None) or real())
        reason, elapsed = bench.verify_case(case, impls["faulty"], tmp_path, ready_timeout_s=10)
        assert reason is None and elapsed is not None
        monkeypatch.setattr(bench, "free_port", lambda: busy)
        reason, _ = bench.verify_case(case, impls["faulty"], tmp_path, ready_timeout_s=10)
    assert reason.startswith("server exited with status 1 before it was ready (log: OSError: "
                             "[Errno 98] Address already in use)"), reason


def test_cpu_pinning_is_applied_and_recorded(tmp_path):
    suite = tmp_path / "pinned.yaml"
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, wrk_cpu = str(cpus[0]), str(cpus[-1])
    suite.write_text(f"""\
wrk: {{threads: 1, connections: 2, duration: 1s, timeout: 2s}}
repeats: 1
warmup: 0
pinning: {{server: "{server_cpu}", wrk: "{wrk_cpu}"}}
targets: [{{impl: faulty, servers: [good]}}]
scenarios: [{{name: hello, kinds: [hello]}}]
""")
    raw = tmp_path / "raw"
    assert main(["bench", str(suite), "--impls", str(FAKES), "--raw-dir", str(raw),
                 "--no-report"]) == 0
    (path,) = raw.glob("pinned/*/hello__*.json")
    data = json.loads(path.read_text())
    assert data["status"] == "ok"
    assert data["pinning"] == {"server": server_cpu, "wrk": wrk_cpu}
    (run,) = data["runs"]
    assert run["server_argv"][:3] == ["taskset", "-c", server_cpu]
    assert run["wrk_argv"][:3] == ["taskset", "-c", wrk_cpu]
    assert run["wrk"]["requests"] > 0
