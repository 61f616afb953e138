"""Facts about the machine and tools, recorded in every run: a number without them is noise."""

import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import psutil


def _out(argv: list[str], cwd: Path | None = None) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip()
    return text or None


def cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


REPO = Path(__file__).resolve().parents[2]


def portable(args, repo: Path = REPO) -> list[str]:
    """Command-line arguments with paths inside the repository made relative to it, so a
    stored result names no directory of the machine that measured it."""
    prefix = str(Path(repo).resolve()) + os.sep
    return [str(a).replace(prefix, "") for a in args]


def vegeta_version() -> str | None:
    from .vegeta import version
    return version()


def collect_environment(repo: Path) -> dict:
    wrk = _out(["wrk", "--version"])
    commit = _out(["git", "rev-parse", "HEAD"], cwd=repo)
    dirty = _out(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo)
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "memory_bytes": psutil.virtual_memory().total,
        "load_avg_at_start": list(os.getloadavg()),
        "os": platform.platform(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "go": _out(["go", "env", "GOVERSION"]),
        "wrk": wrk.splitlines()[0] if wrk else None,
        "vegeta": vegeta_version(),
        "node": _out(["node", "--version"]),
        "git_commit": commit,
        "git_dirty": bool(dirty) if commit else None,
        "runner_packages": _runner_packages(),
        "started_at": utc_now(),
        "argv": portable(sys.argv, repo),
    }


def _runner_packages() -> dict[str, str]:
    from importlib import metadata
    wanted = ("pandas", "jinja2", "matplotlib", "pydantic", "pyyaml", "psutil", "rich")
    out = {}
    for name in wanted:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


# the load generators a run drives; another's on the machine loads it beside ours
LOAD_TOOLS = frozenset({"wrk", "vegeta"})


def _is_runner(argv: list[str]) -> bool:
    """`python -m runner bench ...`: another run of this suite."""
    return any(a == "runner" and b == "bench" for a, b in zip(argv, argv[1:]))


def other_load() -> list[dict]:
    """Load on the machine that is not this run's own, now: wrk or vegeta processes and
    other runners measuring, neither this process, its children nor its parents (the shell
    or `uv run` that started it)."""
    me = psutil.Process()
    ours = {me.pid} | {p.pid for p in me.children(recursive=True)} | {p.pid for p in me.parents()}
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        pid, name, argv = proc.info["pid"], proc.info["name"] or "", proc.info["cmdline"] or []
        if pid in ours or not (name in LOAD_TOOLS or _is_runner(argv)):
            continue
        found.append({"pid": pid, "name": "runner" if _is_runner(argv) else name,
                      "command": " ".join(portable(argv))[:200]})
    return found


def seen_at(start: list[dict], end: list[dict]) -> list[dict]:
    """Other load seen at a case's start and at its end, one entry per process, with when
    (`seen`: "start", "end" or both)."""
    out: dict[int, dict] = {}
    for when, found in (("start", start), ("end", end)):
        for proc in found:
            entry = out.setdefault(proc["pid"], {**proc, "seen": []})
            entry["seen"].append(when)
    return list(out.values())
