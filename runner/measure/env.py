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
