"""Stops the runner's process groups when the runner dies without stopping them (SIGKILL).

The runner starts this script once per run (`runner.measure.procs.Owned.session`), in a session of
its own so that a Ctrl-C meant for the runner does not reach it, and keeps the write end
of its stdin. Each line is `+ <pgid> <create time>` for a group the runner started or
`- <pgid>` for one it stopped. End of file means the runner is gone (the kernel closes
the pipe of a killed process) or has closed it after stopping everything: every group
still recorded is killed then, and the script exits.

Process-pool children and gunicorn workers are members of their server's group, so one
killpg() reaches them even after their parent died, which PR_SET_PDEATHSIG (not inherited
by grandchildren) would not.
"""

import os
import signal
import sys


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


if __name__ == "__main__":
    main()
