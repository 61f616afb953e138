"""Nothing the runner starts outlives it: Ctrl-C, SIGTERM or SIGKILL at any point of a case.

Real runs of `python -m runner bench` against the faulty fake implementation (copied into
the test's folder, so that every process of the run can be found by its working
directory), interrupted at each point of a case's life: the setup, the readiness wait, the
conformance request, the warm-up, the load and the teardown. Each time no process of the
run may survive (servers, their children, wrk, setup steps) and the kept result files
must load.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from runner.measure import procs

REPO = Path(__file__).resolve().parent.parent
FAULTY = REPO / "tests" / "fakes" / "impls" / "faulty"

pytestmark = pytest.mark.slow

FIRST = """\
wrk: {threads: 1, connections: 2, duration: 1s, timeout: 2s}
repeats: 1
warmup: 0
ready_timeout: 40s
targets: [{impl: faulty, servers: [good]}]
scenarios:
  - name: first
    kinds: [hello]
"""


def impls_in(tmp_path: Path, setup: str = "[]") -> Path:
    root = tmp_path / "impls"
    shutil.copytree(FAULTY, root / "faulty")
    manifest = root / "faulty" / "impl.yaml"
    manifest.write_text(manifest.read_text().replace("setup: []", f"setup: {setup}"))
    return root


def ours(tmp_path: Path) -> list[psutil.Process]:
    """Every living process of the run: working directory (servers, their children, setup
    steps) or wrk's report (wrk) under tmp_path. Zombies run nothing and hold no port."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.cwd().startswith(str(tmp_path)) or proc.environ().get(
                    "WRK_JSON_OUT", "").startswith(str(tmp_path)):
                found.append(proc)
        except psutil.Error:
            pass
    return found


def wait_none_left(tmp_path: Path, timeout_s: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        left = ours(tmp_path)
        if not left or time.monotonic() > deadline:
            return [" ".join(p.cmdline()) for p in left if p.is_running()]
        time.sleep(0.05)


def start_bench(tmp_path: Path, suite_text: str, impls: Path) -> subprocess.Popen:
    suite = tmp_path / "int.yaml"
    suite.write_text(suite_text)
    return subprocess.Popen([sys.executable, "-m", "runner", "bench", str(suite), "--impls",
                             str(impls), "--raw-dir", str(tmp_path / "raw"), "--no-report"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_writing(tmp_path: Path, case: str, suffix: str) -> bool:
    """Is wrk running for the case whose file names start with `case`, writing `suffix`?"""
    for proc in ours(tmp_path):
        try:
            out = Path(proc.environ().get("WRK_JSON_OUT", ""))
            if out.name.startswith(case) and out.name.endswith(suffix):
                return True
        except psutil.Error:
            pass
    return False


def logged(tmp_path: Path, slug_part: str, text: str) -> bool:
    for path in (tmp_path / "raw").glob(f"int/*/logs/*{slug_part}*.log"):
        if text in path.read_text(errors="replace"):
            return True
    return False


def running(tmp_path: Path, marker: str) -> bool:
    for proc in ours(tmp_path):
        try:
            if marker in " ".join(proc.cmdline()):
                return True
        except psutil.Error:
            pass
    return False


def settled(seconds: float) -> bool:
    """Let the moment just seen last a while longer before the signal is sent."""
    time.sleep(seconds)
    return True


# point -> (setup steps, extra suite text, the moment to send the signal)
POINTS = {
    "setup": ('[[python3, -c, "import time; time.sleep(30)"]]', "",
              lambda t: running(t, "time.sleep(30)")),
    "readiness wait, at once": ("[]", "  - {name: point, kinds: [hello], targets: "
                                "[{impl: faulty, servers: [slow-start]}]}\n",
                                lambda t: running(t, "--start-delay")),
    "readiness wait, later": ("[]", "  - {name: point, kinds: [hello], targets: "
                              "[{impl: faulty, servers: [slow-start]}]}\n",
                              lambda t: running(t, "--start-delay") and settled(0.5)),
    "conformance request": ("[]", "  - {name: point, kinds: [sync_sleep], params: {ms: 3000}, "
                            "wrk: {duration: 5s, timeout: 5s}, "
                            "targets: [{impl: faulty, servers: [pool]}]}\n",
                            lambda t: logged(t, "point__", "GET /sync_sleep")),
    "warm-up": ("[]", "  - {name: point, kinds: [hello], wrk: {duration: 5s}, "
                "targets: [{impl: faulty, servers: [pool]}]}\n",
                lambda t: wrk_writing(t, "point__", ".warmup.json")),
    "load": ("[]", "  - {name: point, kinds: [hello], wrk: {duration: 5s}, "
             "targets: [{impl: faulty, servers: [pool]}]}\n",
             lambda t: wrk_writing(t, "point__", ".r0.wrk.json")),
    "teardown": ("[]", "  - {name: point, kinds: [hello], "
                 "targets: [{impl: faulty, servers: [slow-exit]}]}\n"
                 "  - {name: after, kinds: [hello]}\n",
                 lambda t: logged(t, "point__", "stopping")),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_interrupt_at_every_point_leaves_nothing(tmp_path, point):
    setup, extra, moment = POINTS[point]
    text = FIRST + extra
    if point == "warm-up":  # the first case, a slower kind, is not warmed up
        text = text.replace("warmup: 0", "warmup: 3s").replace(
            "    kinds: [hello]\n", "    kinds: [sync_sleep]\n    params: {ms: 60}\n", 1)
    sig = signal.SIGINT if list(POINTS).index(point) % 2 == 0 else signal.SIGTERM
    proc = start_bench(tmp_path, text, impls_in(tmp_path, setup))
    deadline = time.monotonic() + 90
    while not moment(tmp_path):
        assert proc.poll() is None, f"the run ended before the {point}: {proc.stdout.read()}"
        assert time.monotonic() < deadline, f"the {point} never came"
        time.sleep(0.01)
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output, output
    assert wait_none_left(tmp_path) == []
    kept = [p for p in (tmp_path / "raw").glob("int/*/*.json") if p.name != "run.json"]
    cases = {json.loads(p.read_text())["case"]["id"]: json.loads(p.read_text()) for p in kept}
    if point == "setup":
        assert cases == {}
    else:
        (first,) = [c for c in cases.values() if c["case"]["scenario"] == "first"]
        assert first["status"] == "ok" and first["runs"][0]["wrk"]["requests"] > 0
    assert not list((tmp_path / "raw").glob(".running/*.json"))  # a clean end leaves no record


def test_sigkill_leaves_nothing_running(tmp_path):
    """The watchdog stops the server, its children and wrk when the runner is killed outright;
    the next run finds the record of the killed one and removes it."""
    impls = impls_in(tmp_path)
    text = FIRST.replace("servers: [good]", "servers: [pool]").replace("1s,", "10s,")
    proc = start_bench(tmp_path, text, impls)
    deadline = time.monotonic() + 60
    while not (wrk_writing(tmp_path, "first__", ".r0.wrk.json") and running(tmp_path, "time.sleep(3600)")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
        time.sleep(0.05)
    assert len([p for p in ours(tmp_path) if "server.py" in " ".join(p.cmdline())]) == 1
    (record,) = (tmp_path / "raw" / ".running").glob("*.json")
    assert {g["argv"][0] for g in json.loads(record.read_text())["groups"]} == {"python3", "wrk"}
    proc.kill()
    proc.communicate()
    assert wait_none_left(tmp_path) == []
    again = subprocess.run([sys.executable, "-m", "runner", "verify", str(tmp_path / "int.yaml"),
                            "--impls", str(impls), "--raw-dir", str(tmp_path / "raw")],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert not record.exists()
    assert wait_none_left(tmp_path) == []


def sleeper_group() -> tuple[subprocess.Popen, float]:
    """A process group of two sleeping processes (a leader and its child), not the runner's."""
    proc = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
                             "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
                             "time.sleep(60)"], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(psutil.Process(proc.pid).children()) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc, psutil.Process(proc.pid).create_time()


def group_alive(pgid: int) -> bool:
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except (psutil.Error, OSError):
            pass
    return False


def test_a_later_run_stops_what_a_killed_run_left(tmp_path, capsys):
    """When the watchdog died too, the record lets the next bench or verify stop the group;
    a record of a runner still alive, or of a pid now used by another process, is left alone."""
    from runner.__main__ import main
    records = tmp_path / "raw" / ".running"
    records.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os, psutil; "
                           "print(os.getpid(), psutil.Process().create_time())"],
                          capture_output=True, text=True, check=True).stdout.split()
    left, left_created = sleeper_group()
    reused, reused_created = sleeper_group()
    me = psutil.Process()
    try:
        (records / "1.json").write_text(json.dumps({
            "runner": {"pid": int(dead[0]), "create_time": float(dead[1])},
            "groups": [{"pgid": left.pid, "pid": left.pid, "create_time": left_created,
                        "argv": ["python3", "server.py"]},
                       {"pgid": reused.pid, "pid": reused.pid, "create_time": reused_created - 5,
                        "argv": ["an older process with the same pid"]}]}))
        (records / "2.json").write_text(json.dumps({
            "runner": {"pid": me.pid, "create_time": me.create_time()},
            "groups": [{"pgid": reused.pid, "pid": reused.pid, "create_time": reused_created,
                        "argv": ["a run going on beside this one"]}]}))
        suite = tmp_path / "s.yaml"
        suite.write_text(FIRST)
        code = main(["verify", str(suite), "--impls", str(impls_in(tmp_path)),
                     "--raw-dir", str(tmp_path / "raw")])
        assert code == 0
        assert f"stopped process group {left.pid} left running by an earlier run" in capsys.readouterr().err
        assert left.wait(timeout=5) == -signal.SIGKILL
        deadline = time.monotonic() + 5
        while group_alive(left.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not group_alive(left.pid), "the leader's child survived"
        assert reused.poll() is None and group_alive(reused.pid)
        assert not (records / "1.json").exists() and (records / "2.json").exists()
    finally:
        for proc in (left, reused):
            procs.stop_group(proc)


def test_spawn_records_a_process_before_an_interrupt_can_strike(monkeypatch):
    """SIGINT arriving the moment Popen returns is handled only once the group is recorded."""
    real = subprocess.Popen

    def popen_then_interrupt(*args, **kwargs):
        proc = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here, were it not held back
        return proc

    monkeypatch.setattr(procs.subprocess, "Popen", popen_then_interrupt)
    owned = procs.Owned()
    with pytest.raises(KeyboardInterrupt):
        owned.spawn(["sleep", "30"])
    monkeypatch.undo()
    (pgid,) = owned.pgids()
    assert group_alive(pgid)
    owned.stop_all()
    assert not group_alive(pgid) and owned.pgids() == []


def test_session_stops_everything_on_any_way_out(tmp_path):
    owned = procs.Owned()
    with pytest.raises(RuntimeError):
        with owned.session(tmp_path / ".running"):
            proc = owned.spawn(["sleep", "30"])
            (record,) = (tmp_path / ".running").glob("*.json")
            assert json.loads(record.read_text())["groups"][0]["pgid"] == proc.pid
            raise RuntimeError("a bug in the runner")
    assert proc.returncode is not None and not group_alive(proc.pid)
    assert not (tmp_path / ".running").exists()
