"""Servers as process groups: started fresh, waited for with a bound, stopped for certain.

Each server runs in its own session, so one signal to its group reaches every process it
made (gunicorn workers, process-pool children). Only processes started here are ever
signalled, by their own group id.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


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
            proc = subprocess.Popen(argv, cwd=cwd, env=env,
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
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
    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
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
    stop_group(server.proc)
