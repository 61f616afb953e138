"""Servers as process groups: started fresh, waited for with a bound, stopped for certain.

Each server runs in its own session, so one signal to its group reaches every process it
made (gunicorn workers, process-pool children). Only processes started here are ever
signalled, by their own group id.

Every process the runner starts (servers, wrk, setup steps) goes through `OWNED.spawn`,
which records its group before an interrupt can be handled; `OWNED.session()` is the
scope of a run and stops whatever is still recorded on every way out. A watchdog process
(runner/measure/watchdog.py) does the same if the runner is killed outright, and a record file
per run lets the next run stop what both left behind (`stop_left_over`).

A process can leave its group and session (`setsid()`, a daemon's double fork), so each
process started here also carries an owner token in its environment (`OWNER_VAR`:
`<runner pid>-<runner create time>-<n>`), which every descendant inherits whatever it does
with sessions. Stopping a process stops its group and every process carrying its token;
the run's end, the watchdog and `stop_left_over` stop every process carrying the runner's.
The runner is a child subreaper, so escaped orphans become its children and are reaped.
"""

import contextlib
import ctypes
import fcntl
import functools
import http.client
import itertools
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

from ..clip import TAIL_BYTES, clip_line
from .watchdog import OWNER_VAR, kill_carrying, kill_group, wait_gone

PR_SET_CHILD_SUBREAPER = 36

WATCHDOG = Path(__file__).resolve().with_name("watchdog.py")


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux): an orphan among its descendants, such
    as a daemon that double-forked, is re-parented to it instead of to init. True if so."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def runner_token() -> str:
    """This runner's owner token: its pid and create time, unique on this machine."""
    return _token_of(os.getpid())


@functools.cache
def _token_of(pid: int) -> str:
    return f"{pid}-{psutil.Process(pid).create_time():.3f}"


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
        self._tokens: dict[int, str] = {}   # pid -> the owner token it was started with
        self._numbers = itertools.count(1)
        self._lock = threading.RLock()
        self._watchdog: subprocess.Popen | None = None
        self._record: Path | None = None

    @property
    def token(self) -> str:
        return runner_token()

    def token_of(self, pid: int) -> str | None:
        """The owner token the process `pid` was started with, while it is ours."""
        with self._lock:
            return self._tokens.get(pid)

    def spawn(self, argv: list[str], **popen_kwargs) -> subprocess.Popen:
        """Popen(argv) as the leader of a new session carrying an owner token of its own,
        recorded before anything else runs."""
        token = f"{self.token}-{next(self._numbers)}"
        env = popen_kwargs.pop("env", None)
        env = {**(os.environ if env is None else env), OWNER_VAR: token}
        with signals_held():
            proc = subprocess.Popen(argv, start_new_session=True, env=env, **popen_kwargs)
            try:
                created = psutil.Process(proc.pid).create_time()
            except psutil.Error:
                created = 0.0
            with self._lock:
                self._procs[proc.pid] = (proc, created)
                self._tokens[proc.pid] = token
                self._tell(f"+ {proc.pid} {created!r}")
                self._save()
        return proc

    def forget(self, proc: subprocess.Popen) -> None:
        """proc's group is stopped (or has ended by itself): no longer ours to stop."""
        with self._lock:
            self._tokens.pop(proc.pid, None)
            if self._procs.pop(proc.pid, None) is not None:
                self._tell(f"- {proc.pid}")
                self._save()

    def stop(self, proc: subprocess.Popen) -> None:
        stop_group(proc, token=self.token_of(proc.pid))
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
        become_subreaper()
        self._watchdog = subprocess.Popen(
            [sys.executable, str(WATCHDOG), self.token], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, text=True, start_new_session=True)
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
                reap(kill_carrying(self.token))   # escaped from processes already forgotten
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
                                       "owner": self.token, "groups": groups}, default=str))
            tmp.replace(self._record)
        except OSError:
            # best effort: the watchdog and the session's exit still stop them; a full
            # disk leaves no half-written record behind
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


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
    """Kill the groups, and the processes carrying the owner token, that runs which died
    uncleanly recorded in record_dir; what was done.

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
            owner = data.get("owner")
            escaped = kill_carrying(owner) if isinstance(owner, str) and owner else []
        except (OSError, ValueError, KeyError, TypeError):
            killed, escaped = [], []
        for group in killed:
            argv = group.get("argv")
            argv = " ".join(map(str, argv)) if isinstance(argv, list) else str(argv)
            done.append(f"stopped process group {group['pgid']} left running by an earlier "
                        f"run that was killed: {argv}")
        if escaped:
            done.append(f"stopped {len(escaped)} processes that left their group, left running "
                        f"by an earlier run that was killed: "
                        + ", ".join(f"pid {p.pid}" for p in escaped))
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
    owner: str | None = None   # the owner token its processes carry (OWNER_VAR)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_log(message: str, path: Path) -> str:
    """message, the log's last line (cut short) beside it, and the log's tail below, within
    clip.TAIL_BYTES: the whole log stays in its file."""
    tail = log_tail(path)
    if not tail:
        return message
    last = clip_line(tail.splitlines()[-1].strip(), 200)
    return f"{message} (log: {last})\nlog tail:\n{tail}"


def log_tail(path: Path, lines: int = 15, limit: int = TAIL_BYTES) -> str:
    """The last `lines` lines of the file, read from its last `limit` bytes only (a log may
    be huge), each line cut to clip.LINE_BYTES: at most about 5 KiB."""
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - limit))
            data = log.read(limit)
    except OSError:
        return ""
    every = data.decode("utf-8", errors="replace").rstrip().splitlines()
    kept = [clip_line(line) for line in every[-lines:]]
    if size > limit and len(kept) == len(every):   # the first line kept began before
        kept.insert(0, f"[... {size - len(data)} earlier bytes cut]")
    return "\n".join(kept)


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
    return RunningServer(proc, port, argv, log_path, OWNED.token_of(proc.pid))


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
    """Is pid the server, one of its children, or a process carrying its owner token?"""
    if pid == server.proc.pid:
        return True
    try:
        if pid in {p.pid for p in psutil.Process(server.proc.pid).children(recursive=True)}:
            return True
    except psutil.Error:
        pass
    return server.owner is not None and isinstance(pid, int) and owner_of(pid) == server.owner


def owner_of(pid: int) -> str | None:
    """The owner token in the environment of the process pid, if it can be read."""
    try:
        return psutil.Process(pid).environ().get(OWNER_VAR)
    except (psutil.Error, ValueError):
        return None


def port_holder(port: int) -> str | None:
    """Which process still holds the TCP port on 127.0.0.1, or None: free to listen on, or
    held only by sockets the kernel is closing."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no holder
        try:
            sock.bind(("127.0.0.1", port))
            return None
        except OSError:
            pass
    try:
        pids = {c.pid for c in psutil.net_connections(kind="tcp")
                if c.laddr and c.laddr.port == port and c.pid}
    except psutil.Error:
        pids = set()
    names = []
    for pid in sorted(pids):
        try:
            names.append(f"pid {pid}, {psutil.Process(pid).name()}")
        except psutil.Error:
            names.append(f"pid {pid}")
    # no process: the kernel still closes the server's sockets (FIN_WAIT, CLOSE_WAIT); a
    # port left to the kernel is no escaped server, and it frees itself
    return "; ".join(names) or None


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


def stop_group(proc: subprocess.Popen, grace_s: float = 0.2, token: str | None = None) -> None:
    """Stop the process group led by proc, any descendant that left it, and, with token,
    every process whose environment carries it (wherever it moved, whoever its parent).

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
    wait_gone(descendants, timeout_s=2.0)
    if token is not None:
        reap(kill_carrying(token))


def reap(killed: list[psutil.Process]) -> None:
    """Reap those of the killed processes that are orphans re-parented to this runner (a
    child subreaper). Only processes that carried our token: a Popen's child is its own."""
    for proc in killed:
        try:
            if proc.ppid() == os.getpid():
                os.waitpid(proc.pid, os.WNOHANG)
        except (psutil.Error, ChildProcessError):
            pass


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
