"""Stops the runner's process groups when the runner dies without stopping them (SIGKILL).

The runner starts this script once per run (`runner.measure.procs.Owned.session`), in a session of
its own so that a Ctrl-C meant for the runner does not reach it, with the runner's owner
token as its argument, and keeps the write end of its stdin. Each line is `+ <pgid> <create time>` for a group the runner started or
`- <pgid>` for one it stopped. End of file means the runner is gone (the kernel closes
the pipe of a killed process) or has closed it after stopping everything: every group
still recorded is killed then, and so is every process whose environment carries the
runner's owner token (`OWNER_VAR`), wherever it moved to (a new session, a new group),
and the script exits.

Process-pool children and gunicorn workers are members of their server's group, so one
killpg() reaches them even after their parent died, which PR_SET_PDEATHSIG (not inherited
by grandchildren) would not.
"""

import os
import signal
import sys
import time

# every process the runner starts, and so all their descendants, carry this variable: the
# runner's token `<pid>-<create time>` and `-<n>`, one n per process started
OWNER_VAR = "CONCBENCH_OWNER"


def token_matches(found: str, token: str) -> bool:
    """Is `found` (a process's owner token) `token` itself or one of its spawns'?"""
    return found == token or found.startswith(token + "-")


def carrying(token: str) -> list:
    """Every living process but this one whose environment carries `token` (or one of its
    spawns' tokens). Processes whose environment cannot be read are not ours to judge."""
    import psutil

    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            owner = proc.environ().get(OWNER_VAR)
            if owner and token_matches(owner, token) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            pass
    return found


def kill_carrying(token: str, rounds: int = 5) -> list:
    """SIGKILL every process carrying `token`, again while new ones appear (a process may
    fork while it is being killed); the processes killed."""
    import psutil

    killed: list = []
    for _ in range(rounds):
        found = carrying(token)
        if not found:
            break
        for proc in found:
            try:
                proc.kill()  # psutil checks identity, so a reused pid is never hit
                killed.append(proc)
            except psutil.Error:
                pass
        wait_gone(found, timeout_s=1.0)
    return killed


def wait_gone(procs: list, timeout_s: float) -> None:
    """Wait until every process has exited. A zombie has: it runs nothing and holds no
    port, and once its parent is gone only init can reap it, which may take a while."""
    import psutil

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


def kill_group(pgid: int, create_time: float) -> bool:
    """SIGKILL the process group pgid if it is still the one recorded; True if signalled.

    A living leader with another create time means the pid was reused, which the kernel
    does only once no group of that id is left: ours is gone, nothing is signalled. A
    leader that has exited may have left members in the group; the id is not reused while
    they live, so they are killed.
    """
    import psutil  # only here: the watchdog waits for hours without needing it

    try:
        if abs(psutil.Process(pgid).create_time() - create_time) > 0.01:
            return False
    except psutil.NoSuchProcess:
        pass
    except psutil.Error:
        return False
    try:
        os.killpg(pgid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    groups: dict[int, float] = {}
    for line in sys.stdin:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "+":
            groups[int(parts[1])] = float(parts[2])
        elif len(parts) == 2 and parts[0] == "-":
            groups.pop(int(parts[1]), None)
    for pgid, create_time in groups.items():
        kill_group(pgid, create_time)
    if len(sys.argv) > 1:
        kill_carrying(sys.argv[1])


if __name__ == "__main__":
    main()
