"""The one place that runs wrk: argv in, wrk's stdout, stderr and JSON report out.

Parsing lives in `runner.measure.wrkparse`; this module only starts the process, bounds the wait
and makes sure wrk is gone afterwards. wrk runs in its own session so that one signal
to its group stops it (and nothing else), whatever interrupted the wait; it is started
through `procs.OWNED`, so a run's end stops it even if that wait never got to.
"""

import math
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .procs import OWNED
from .wrkcheck import WrkChecks

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk_report.lua"

# beyond duration + timeout, wrk needs a moment to start its threads, join them and
# run done(); 15 s is far more than that and far less than a hung run costs
GRACE_S = 15.0


class WrkMissing(RuntimeError):
    """The wrk binary is not installed or not on PATH."""

    def __init__(self, wrk: str = "wrk"):
        super().__init__("wrk not found: install it with `apt-get install -y wrk` "
                         "(or run `./just setup`)")
        self.wrk = wrk


@dataclass(frozen=True)
class WrkRun:
    """What one wrk process left behind. json_text is None when the Lua report is missing."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    json_text: str | None
    timed_out: bool = False  # killed at the hard bound; returncode is then negative


def wrk_argv(url: str, *, threads: int, connections: int, duration_s: float,
             timeout_s: float, wrk: str = "wrk") -> list[str]:
    """The exact command line; -d and --timeout in whole seconds."""
    return [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{_seconds(duration_s)}s",
            "--timeout", f"{_seconds(timeout_s)}s", "--latency", "-s", str(LUA_SCRIPT), url]


def _seconds(value: float) -> int:
    # wrk's option parser reads an integer only ("1.5s" is rejected), so a fraction
    # is rounded up: a run is never shorter than asked
    return max(1, math.ceil(value - 1e-9))


@dataclass(frozen=True)
class Wrk:
    """How wrk is started: the program, the CPUs it is pinned to (taskset's list), an
    event that cancels it (the interference probe, stopped with its heavy load) and what
    its Lua script checks of the answers (runner.measure.wrkcheck; None: nothing)."""

    program: str = "wrk"
    cpus: str | None = None
    stop: threading.Event | None = None
    checks: WrkChecks | None = None

    def run(self, url: str, *, threads: int, connections: int, duration_s: float,
            timeout_s: float, json_out: Path | str) -> WrkRun:
        """Run wrk once against url and wait for it, never longer than duration + timeout
        + 15 s.

        The Lua report goes to json_out (an older file there is removed first, so a stale
        report is never taken for this run's). On the bound, or on any exception while
        waiting (KeyboardInterrupt included), wrk's process group is killed and reaped.
        """
        argv = wrk_argv(url, threads=threads, connections=connections, duration_s=duration_s,
                        timeout_s=timeout_s, wrk=self.program)
        if self.cpus:
            argv = ["taskset", "-c", self.cpus, *argv]  # exec'd pinned: every thread inherits it
        if shutil.which(self.program) is None:
            raise WrkMissing(self.program)
        json_path = Path(json_out)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.unlink(missing_ok=True)
        env = {**os.environ, **(self.checks.env() if self.checks else {}),
               "WRK_JSON_OUT": str(json_path)}
        bound_s = _seconds(duration_s) + _seconds(timeout_s) + GRACE_S
        try:
            proc = OWNED.spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, text=True, errors="replace")
        except FileNotFoundError:
            raise WrkMissing(self.program) from None
        stdout, stderr, timed_out = self._wait(proc, time.monotonic() + bound_s)
        # the script opens "<json_out>.tmp" at start and renames it when done; a killed or
        # failed run leaves it behind
        Path(f"{json_path}.tmp").unlink(missing_ok=True)
        try:
            json_text = json_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            json_text = None
        return WrkRun(tuple(argv), proc.returncode, stdout, stderr, json_text, timed_out)

    def _wait(self, proc: subprocess.Popen, deadline: float) -> tuple[str, str, bool]:
        """(stdout, stderr, timed out) of wrk, killed at the deadline or when cancelled."""
        try:
            while True:
                # short waits so that a run beside another (the interference probe) can be
                # cancelled through `stop`; communicate() may be retried without losing output
                try:
                    stdout, stderr = proc.communicate(timeout=0.25)
                    return stdout, stderr, False
                except subprocess.TimeoutExpired:
                    cancelled = self.stop is not None and self.stop.is_set()
                    if cancelled or time.monotonic() > deadline:
                        _kill_group(proc)
                        stdout, stderr = proc.communicate(timeout=10)
                        return stdout, stderr, not cancelled
        finally:
            if proc.returncode is None:  # interrupted while waiting: wrk is still running
                _kill_group(proc)
                proc.wait(timeout=10)
            OWNED.forget(proc)  # still recorded if that wait was interrupted: the session stops it


def run_wrk(url: str, *, threads: int, connections: int, duration_s: float,
            timeout_s: float, json_out: Path | str) -> WrkRun:
    """wrk once against url, unpinned and not cancellable (`Wrk.run`)."""
    return Wrk().run(url, threads=threads, connections=connections, duration_s=duration_s,
                     timeout_s=timeout_s, json_out=json_out)


def _kill_group(proc: subprocess.Popen) -> None:
    # start_new_session made wrk's pid its group id; only that group is signalled
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
