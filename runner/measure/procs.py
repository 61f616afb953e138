"""Servers as process groups: started fresh, waited for with a bound, stopped for certain.

Each server runs in its own session, so one signal to its group reaches every process it
made (gunicorn workers, process-pool children). Only processes started here are ever
signalled, by their own group id.

Every process the runner starts (servers, wrk, setup steps) goes through `OWNED.spawn`,
which records its group before an interrupt can be handled; `OWNED.session()` is the
scope of a run and stops whatever is still recorded on every way out. A watchdog process
(runner/measure/watchdog.py) does the same if the runner is killed outright, and a record file
per run lets the next run stop what both left behind (`stop_left_over`).
"""

import fcntl
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil

from .watchdog import kill_group

WATCHDOG = Path(__file__).resolve().with_name("watchdog.py")


@contextmanager
def signals_held():
    """Hold SIGINT and SIGTERM back for the block, then act on the first that came.

    Python runs a signal handler between two bytecodes, so a KeyboardInterrupt can arrive
    after Popen made a process and before anyone recorded it. Inside this block the
    handlers only note the signal; the previous handler runs once the block is over. Only
    the main thread runs handlers, so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _: caught.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if caught:
            handler = previous[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler != signal.SIG_IGN:  # the default action, or one set outside Python
                os.kill(os.getpid(), caught[0])


class Owned:
    """The process groups this runner started and has not stopped yet."""

    def __init__(self) -> None:
        self._procs: dict[int, tuple[subprocess.Popen, float]] = {}
        self._lock = threading.RLock()
        self._watchdog: subprocess.Popen | None = None
        self._record: Path | None = None

    def spawn(self, argv: list[str], **popen_kwargs) -> subprocess.Popen:
        """Popen(argv) as the leader of a new session, recorded before anything else runs."""
        with signals_held():
            proc = subprocess.Popen(argv, start_new_session=True, **popen_kwargs)
            try:
                created = psutil.Process(proc.pid).create_time()
            except psutil.Error:
                created = 0.0
            with self._lock:
                self._procs[proc.pid] = (proc, created)
                self._tell(f"+ {proc.pid} {created!r}")
                self._save()
        return proc

    def forget(self, proc: subprocess.Popen) -> None:
        """proc's group is stopped (or has ended by itself): no longer ours to stop."""
        with self._lock:
            if self._procs.pop(proc.pid, None) is not None:
                self._tell(f"- {proc.pid}")
                self._save()

    def stop(self, proc: subprocess.Popen) -> None:
        stop_group(proc)
        self.forget(proc)

    def stop_all(self) -> None:
        with self._lock:
            procs = [proc for proc, _ in self._procs.values()]
        for proc in procs:
            self.stop(proc)

    def pgids(self) -> list[int]:
        with self._lock:
            return list(self._procs)

    @contextmanager
    def session(self, record_dir: Path | None = None):
        """The scope of a run: on every way out, every group still recorded is stopped.

        Meanwhile a watchdog kills them should the runner die without doing so, and, with
        record_dir, `<record_dir>/<runner pid>.json` lists them for `stop_left_over`.
        """
        self._watchdog = subprocess.Popen(
            [sys.executable, str(WATCHDOG)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            text=True, start_new_session=True)
        if record_dir is not None:
            self._record = record_dir / f"{os.getpid()}.json"
        with self._lock:
            for pgid, (_, created) in self._procs.items():
                self._tell(f"+ {pgid} {created!r}")
            self._save()
        try:
            yield self
        finally:
            with signals_held():  # a second Ctrl-C waits until everything is stopped
                self.stop_all()
                watchdog, self._watchdog = self._watchdog, None
                watchdog.stdin.close()
                watchdog.wait(timeout=10)
                if self._record is not None:
                    self._record.unlink(missing_ok=True)
                    try:
                        self._record.parent.rmdir()
                    except OSError:
                        pass
                    self._record = None

    def _tell(self, line: str) -> None:
        if self._watchdog is not None:
            try:
                self._watchdog.stdin.write(line + "\n")
                self._watchdog.stdin.flush()
            except (OSError, ValueError):
                pass  # the watchdog is gone; the record file still lists the groups

    def _save(self) -> None:
        """Write the record file: the groups still to stop, and who owns them."""
        if self._record is None:
            return
        me = psutil.Process()
        groups = [{"pgid": pid, "pid": pid, "create_time": created, "argv": proc.args}
                  for pid, (proc, created) in self._procs.items()]
        tmp = self._record.with_suffix(".tmp")
        try:
            if not groups:
                self._record.unlink(missing_ok=True)
                return
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"runner": {"pid": me.pid, "create_time": me.create_time()},
                                       "groups": groups}, default=str))
            tmp.replace(self._record)
        except OSError:
            pass  # best effort: the watchdog and the session's exit still stop them


OWNED = Owned()


def _same_process(pid: int, create_time: float) -> bool:
    try:
        return abs(psutil.Process(pid).create_time() - create_time) <= 0.01
    except psutil.Error:
        return False


def live_runs(record_dir: Path) -> list[int]:
    """The pids of other runners, still alive, that record their groups in record_dir."""
    found = []
    for path in sorted(record_dir.glob("*.json")) if record_dir.is_dir() else []:
        try:
            runner = json.loads(path.read_text())["runner"]
            pid, created = int(runner["pid"]), float(runner["create_time"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if pid != os.getpid() and _same_process(pid, created):
            found.append(pid)
    return found


# one run measures on a machine at a time, whatever its results folder: the run holds an
# exclusive flock on this file (it names the run's pid and folder) while it measures; the
# kernel drops the lock when the runner ends, however it ends. CONCBENCH_LOCK moves it.
MACHINE_LOCK = Path(tempfile.gettempdir()) / "concbench.lock"


class MachineBusy(Exception):
    """Another run holds the machine's lock: its pid and results folder, as it wrote them."""

    def __init__(self, pid: object, folder: object):
        super().__init__(f"runner pid {pid}, results in {folder}")
        self.pid, self.folder = pid, folder


def machine_lock_path() -> Path:
    return Path(os.environ.get("CONCBENCH_LOCK") or MACHINE_LOCK)


@contextmanager
def machine_lock(folder: Path, path: Path | None = None):
    """Hold the machine-wide lock while a run measures into `folder`; MachineBusy when
    another run holds it."""
    path = path or machine_lock_path()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:     # another user's file: a lock still, read-only
        fd = os.open(path, os.O_RDONLY)
    try:
        with suppress(OSError):
            os.fchmod(fd, 0o666)    # any user's run may take it next (only ours can be)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
            except ValueError:
                holder = None
            holder = holder if isinstance(holder, dict) else {}
            raise MachineBusy(holder.get("pid", "unknown"), holder.get("folder", "unknown"))
        with suppress(OSError):     # read-only: held, but it cannot name us
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "folder": str(folder)}).encode(), 0)
        yield
    finally:
        os.close(fd)   # releases the lock


def stop_left_over(record_dir: Path) -> list[str]:
    """Kill the groups that runs which died uncleanly recorded in record_dir; what was done.

    A record whose runner still lives belongs to a run going on beside this one and is
    left alone; a group whose leader's pid now names another process is not touched.
    """
    done = []
    for path in sorted(record_dir.glob("*.json")) if record_dir.is_dir() else []:
        try:
            data = json.loads(path.read_text())
            runner, groups = data["runner"], data["groups"]
            if _same_process(runner["pid"], runner["create_time"]):
                continue
            killed = [g for g in groups if kill_group(int(g["pgid"]), float(g["create_time"]))]
        except (OSError, ValueError, KeyError, TypeError):
            killed = []
        for group in killed:
            argv = group.get("argv")
            argv = " ".join(map(str, argv)) if isinstance(argv, list) else str(argv)
            done.append(f"stopped process group {group['pgid']} left running by an earlier "
                        f"run that was killed: {argv}")
        path.unlink(missing_ok=True)
    return done


class ServerFailed(Exception):
    """The server did not start, died or stopped answering; the message says why."""


@dataclass
class RunningServer:
    proc: subprocess.Popen
    port: int
    argv: list[str]
    log_path: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_log(message: str, path: Path) -> str:
    """message, the log's last line beside it, and the log's tail below."""
    tail = log_tail(path)
    if not tail:
        return message
    return f"{message} (log: {tail.splitlines()[-1].strip()})\nlog tail:\n{tail}"


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def start_server(argv: list[str], port: int, cwd: Path, env: dict[str, str],
                 log_path: Path) -> RunningServer:
    """Start argv (already holding its port) as a new session with exactly `env`; output
    goes to log_path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        try:
            proc = OWNED.spawn(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT)
        except OSError as exc:
            raise ServerFailed(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
    return RunningServer(proc, port, argv, log_path)


def http_get(port: int, path: str, timeout_s: float) -> tuple[int, bytes, float]:
    """(status, body, seconds) of one GET to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    started = time.perf_counter()
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - started
    finally:
        conn.close()


def port_was_taken(server: RunningServer) -> bool:
    """Did the server fail because its port was in use?"""
    return "address already in use" in log_tail(server.log_path, 50).lower()


def _is_ours(server: RunningServer, pid: object) -> bool:
    if pid == server.proc.pid:
        return True
    try:
        return pid in {p.pid for p in psutil.Process(server.proc.pid).children(recursive=True)}
    except psutil.Error:
        return False


def wait_ready(server: RunningServer, timeout_s: float) -> dict:
    """Poll /info until our server answers it; return its JSON. Bounded by timeout_s.

    An answer from a pid outside our process tree means another program holds the port.
    """
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        code = server.proc.poll()
        if code is not None:
            raise ServerFailed(with_log(f"server exited with status {code} before it was ready",
                                        server.log_path))
        try:
            status, body, _ = http_get(server.port, "/info", timeout_s=2.0)
            if status == 200:
                info = json.loads(body)
                if isinstance(info, dict):
                    if "pid" in info and not _is_ours(server, info["pid"]):
                        raise ServerFailed(f"port {server.port} is answered by another "
                                           f"process (pid {info['pid']}): address already in use")
                    return info
                last_error = "/info is not a JSON object"
            else:
                last_error = f"/info answered status {status}"
        except (OSError, http.client.HTTPException, ValueError) as exc:
            last_error = str(exc) or type(exc).__name__
        time.sleep(0.02)
    raise ServerFailed(with_log(f"not ready within {timeout_s:g} s ({last_error})",
                                server.log_path))


def stop_group(proc: subprocess.Popen, grace_s: float = 0.2) -> None:
    """Stop the process group led by proc, and any descendant that left it.

    SIGTERM first so servers can exit cleanly, then, after a short grace (a measurement
    needs no graceful shutdown, and the runner's own time counts against the run),
    SIGKILL to the whole group: a worker blocked in a long request would otherwise hold a
    graceful shutdown open.
    """
    descendants = []
    if proc.poll() is None:  # once reaped, its pid may name another process
        try:
            descendants = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            pass
    pgid = proc.pid  # start_new_session made the leader's pid the group id
    _killpg(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    _killpg(pgid, signal.SIGKILL)
    proc.wait(timeout=10)
    for child in descendants:  # psutil checks identity, so a reused pid is never hit
        try:
            child.kill()
        except psutil.Error:
            pass
    _wait_gone(descendants, timeout_s=2.0)


def _wait_gone(procs: list[psutil.Process], timeout_s: float) -> None:
    """Wait until every process has exited. A zombie has: it runs nothing and holds no
    port, and once its parent is gone only init can reap it, which may take a while."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = []
        for proc in procs:
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
            except psutil.Error:
                pass
        if not alive:
            return
        time.sleep(0.01)


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_server(server: RunningServer) -> None:
    OWNED.stop(server.proc)


def run_owned(argv: list[str], timeout_s: float, **popen_kwargs) -> int:
    """Run argv to its end as an owned process group; its exit status. Whatever it leaves
    in its group, or the whole group on a timeout or an interrupt, is stopped."""
    proc = OWNED.spawn(argv, **popen_kwargs)
    try:
        return proc.wait(timeout=timeout_s)
    finally:
        OWNED.stop(proc)
