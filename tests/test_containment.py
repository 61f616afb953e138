"""A server's daemon that leaves its session and group is still the runner's to stop.

The faulty fake's `escapes-*` servers double-fork a daemon into a session of its own that
keeps the listening socket (serving it, or only holding it). Only the owner token in its
environment (procs.OWNER_VAR) ties it to the runner. After a normal run, after `verify`,
after a Ctrl-C and after a SIGKILL of the runner, no process carrying the runner's token
may be left and every port a server used must be free again.

Below, the output bounds: a server or a setup step printing one 50 MB line gives a reason
and a case file of a few KiB, and a table shows a reason's first line only.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from runner.measure.procs import port_holder
from runner.measure.watchdog import OWNER_VAR

REPO = Path(__file__).resolve().parent.parent
FAULTY = REPO / "tests" / "fakes" / "impls" / "faulty"

pytestmark = pytest.mark.slow

SUITE = """\
wrk: {threads: 1, connections: 2, duration: DURATION, timeout: 2s}
repeats: 1
warmup: 0
ready_timeout: 20s
targets: [{impl: faulty, servers: [escapes-serving, escapes-sleeping]}]
scenarios:
  - name: first
    kinds: [hello]
"""


def impls_in(tmp_path: Path) -> Path:
    shutil.copytree(FAULTY, tmp_path / "impls" / "faulty")
    return tmp_path / "impls"


def start_bench(tmp_path: Path, suite_text: str, impls: Path) -> subprocess.Popen:
    suite = tmp_path / "int.yaml"
    suite.write_text(suite_text)
    return subprocess.Popen([sys.executable, "-m", "runner", "bench", str(suite), "--impls",
                             str(impls), "--raw-dir", str(tmp_path / "raw"), "--no-report"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def carrying(runner_pid: int) -> list[str]:
    """Every living process whose owner token is the runner's (pid first)."""
    found = []
    for proc in psutil.process_iter():
        try:
            token = proc.environ().get(OWNER_VAR, "")
            if token.startswith(f"{runner_pid}-") and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{proc.pid} {' '.join(proc.cmdline())}")
        except psutil.Error:
            pass
    return found


def none_left(runner_pid: int, timeout_s: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while (left := carrying(runner_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def daemons(tmp_path: Path) -> int:
    return sum(len(re.findall(r"daemon \d+ escaped", p.read_text(errors="replace")))
               for p in (tmp_path / "raw").glob("*/*/logs/*.log"))


def suite_file(tmp_path: Path, duration: str = "1s") -> Path:
    path = tmp_path / "int.yaml"
    path.write_text(SUITE.replace("DURATION", duration))
    return path


def test_escaped_daemons_are_stopped_after_a_normal_run(tmp_path):
    suite_file(tmp_path)
    proc = start_bench(tmp_path, (tmp_path / "int.yaml").read_text(), impls_in(tmp_path))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    assert daemons(tmp_path) == 2, output
    assert none_left(proc.pid) == []
    cases = [json.loads(p.read_text()) for p in (tmp_path / "raw").glob("int/*/*__*.json")]
    assert sorted(c["status"] for c in cases) == ["ok", "ok"], [c["reason"] for c in cases]
    for case in cases:
        (run,) = case["runs"]
        port = int(run["server_argv"][run["server_argv"].index("--port") + 1])
        assert port_holder(port) is None
        # the daemon left the server's tree, and the sampler still counts it
        assert run["resources"]["server_processes_max"] >= 2, case["case"]["id"]


def test_escaped_daemons_are_stopped_after_verify(tmp_path):
    suite = suite_file(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "runner", "verify", str(suite), "--impls",
                             str(impls_in(tmp_path)), "--raw-dir", str(tmp_path / "raw")],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    assert "ok   faulty escapes-serving /hello" in output, output
    assert none_left(proc.pid) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_escaped_daemons_are_stopped_after_an_interrupt_or_a_kill(tmp_path, sig):
    """Ctrl-C: the run's end stops them; SIGKILL of the runner: its watchdog does."""
    suite_file(tmp_path, "20s")
    proc = start_bench(tmp_path, (tmp_path / "int.yaml").read_text(), impls_in(tmp_path))
    deadline = time.monotonic() + 60
    while daemons(tmp_path) < 1:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
        time.sleep(0.05)
    assert carrying(proc.pid), "the daemon should be running now"
    ports = [int(re.search(r"--port (\d+)", " ".join(p.cmdline()))[1])
             for p in psutil.process_iter() if _is_server_of(p, proc.pid)]
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL), output
    assert none_left(proc.pid) == []
    assert ports and all(port_holder(port) is None for port in ports)


def _is_server_of(proc: psutil.Process, runner_pid: int) -> bool:
    try:
        return (proc.environ().get(OWNER_VAR, "").startswith(f"{runner_pid}-")
                and "--port" in proc.cmdline())
    except psutil.Error:
        return False


# Output bounds: what a program prints reaches reasons and case files cut to a few KiB.
REASON_BOUND = 2 * 8 * 1024   # bytes: a message, the last line cut short, an 8 KiB tail
CASE_FILE_BOUND = 64 * 1024   # bytes: the case's facts, settings and that reason

SPEWING_SETUP = '[[python3, -c, "import sys; sys.stdout.write(\'y\' * 50_000_000); sys.exit(1)"]]'


def test_one_50_mb_line_from_a_server_gives_a_short_reason_and_case_file(tmp_path):
    impls = impls_in(tmp_path)
    text = SUITE.replace("DURATION", "1s").replace(
        "servers: [escapes-serving, escapes-sleeping]", "servers: [spews]")
    proc = start_bench(tmp_path, text, impls)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3, output   # the case failed, the run went on
    (case_path,) = (tmp_path / "raw").glob("int/*/*__*.json")
    (log,) = (tmp_path / "raw").glob("int/*/logs/*__*.r0.log")
    assert log.stat().st_size > 50_000_000   # the whole output stays in the log
    case = json.loads(case_path.read_text())
    assert case["reason"].startswith("server exited with status 1 before it was ready (log: "
                                     "fatal: configuration broken on purpose)"), case["reason"][:400]
    assert "earlier bytes cut]" in case["reason"] and "more bytes cut]" in case["reason"]
    assert len(case["reason"].encode()) < REASON_BOUND
    assert case_path.stat().st_size < CASE_FILE_BOUND
    assert len(output.encode()) < REASON_BOUND


def test_one_50_mb_line_from_a_setup_step_gives_a_short_reason(tmp_path):
    from runner.config.manifest import load_impls
    from runner.measure import bench

    impls = impls_in(tmp_path)
    manifest = impls / "faulty" / "impl.yaml"
    manifest.write_text(manifest.read_text().replace("setup: []", f"setup: {SPEWING_SETUP}"))
    said: list[str] = []
    reason = bench.run_setup(load_impls(impls)["faulty"], tmp_path / "setup.log", said.append)
    assert reason is not None and reason.startswith("setup step python3 -c import sys; "), reason
    assert "exited with 1" in reason and "more bytes cut]" in reason, reason[:400]
    assert len(reason.encode()) < REASON_BOUND
    assert said == ["setting up faulty: python3 -c import sys; sys.stdout.write('y' * 50_000_000); "
                    "sys.exit(1)"]


def test_each_setup_step_is_printed_as_it_starts(tmp_path):
    """The second step's line comes after the first step's output, not before it ran."""
    from runner.config.manifest import load_impls
    from runner.measure import bench

    impls = impls_in(tmp_path)
    manifest = impls / "faulty" / "impl.yaml"
    steps = "[[python3, -c, \"open('first', 'w')\"], [python3, -c, \"open('second', 'w')\"]]"
    manifest.write_text(manifest.read_text().replace("setup: []", f"setup: {steps}"))
    seen: list[tuple[str, list[str]]] = []
    folder = impls / "faulty"

    def say(line: str) -> None:
        seen.append((line, sorted(p.name for p in folder.iterdir() if p.name in ("first", "second"))))

    assert bench.run_setup(load_impls(impls)["faulty"], tmp_path / "setup.log", say) is None
    assert [made for _, made in seen] == [[], ["first"]]


def test_port_holder_names_the_listening_process():
    import os
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        me = f"pid {os.getpid()}, {psutil.Process().name()}"
        # bound, not listening: no server, and no process the kernel lists as holding it
        assert port_holder(port) is None
        sock.listen()
        assert port_holder(port) == me
    assert port_holder(port) is None


def test_a_later_run_stops_escaped_processes_of_a_killed_run(tmp_path):
    """A record whose runner is gone: the processes carrying its owner token are killed,
    though they are in no group the record lists; one with another token is left alone."""
    from runner.measure.procs import stop_left_over

    dead = subprocess.run([sys.executable, "-c", "import os, psutil; "
                           "print(os.getpid(), psutil.Process().create_time())"],
                          capture_output=True, text=True, check=True).stdout.split()
    owner = f"{dead[0]}-{float(dead[1]):.3f}"
    ours = subprocess.Popen(["sleep", "60"], start_new_session=True,
                            env={**os.environ, OWNER_VAR: f"{owner}-3"})
    other = subprocess.Popen(["sleep", "60"], start_new_session=True,
                             env={**os.environ, OWNER_VAR: f"{owner}9-3"})
    try:
        records = tmp_path / ".running"
        records.mkdir()
        (records / "1.json").write_text(json.dumps({
            "runner": {"pid": int(dead[0]), "create_time": float(dead[1])},
            "owner": owner, "groups": []}))
        _wait_environ(ours.pid)
        done = stop_left_over(records)
        assert done == [f"stopped 1 processes that left their group, left running by an "
                        f"earlier run that was killed: pid {ours.pid}"]
        assert ours.wait(timeout=5) == -signal.SIGKILL
        assert other.poll() is None
    finally:
        for proc in (ours, other):
            proc.kill()
            proc.wait()


def _wait_environ(pid: int) -> None:
    """Until the exec'd program's environment can be read."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if OWNER_VAR in psutil.Process(pid).environ():
                return
        except psutil.Error:
            pass
        time.sleep(0.01)


def test_a_table_shows_only_the_reasons_first_line_cut_short():
    from types import SimpleNamespace

    from runner.report.cells import failed_text

    reason = "server exited with status 1 (log: " + "z" * 1000 + ")\nlog tail:\nsecret tail"
    text = failed_text(SimpleNamespace(reason=reason))
    assert text.startswith("failed: server exited with status 1 (log: zzz")
    assert "secret tail" not in text and text.endswith("more bytes cut]")
    assert len(text.encode()) < 400
    assert failed_text(SimpleNamespace(reason=None)) == "failed: no reason given"


def test_clip_cuts_by_bytes_and_says_so():
    from runner.clip import clip_line, clip_tail

    assert clip_line("short") == "short"
    assert clip_line("é" * 200, 10) == "é" * 5 + "[... 390 more bytes cut]"
    tail = clip_tail("a" * 50_000 + "\nlast line", limit=1000, line_limit=100)
    assert tail.splitlines()[0] == "[... 49010 earlier bytes cut]"
    assert tail.splitlines()[-1] == "last line" and len(tail.encode()) < 300
