"""The one place that runs vegeta, the constant-rate load generator of open scenarios:
an attack at a fixed rate, then its results encoded as JSON lines for `runner.measure.openparse`.

vegeta is installed by `scripts/setup.sh` at a pinned version into `.tools/bin` (`go
install`); its version is read from the binary's build information. Each process runs in
its own session, recorded with the runner's other processes, and is killed as a group on
every way out.
"""

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .procs import OWNED

REPO = Path(__file__).resolve().parents[2]   # runner/measure/vegeta.py -> the repository
MODULE = "github.com/tsenart/vegeta/v12"
VERSION = "v12.13.0"
GRACE_S = 15.0
# the generator starts with this many workers and may add up to MAX_WORKERS: one per
# request in flight, so a stalled server never slows the sending
WORKERS = 64
MAX_WORKERS = 20_000


class VegetaMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__(f"vegeta not found: install it with `./just setup` (go install "
                         f"{MODULE}@{VERSION} into .tools/bin)")


@dataclass(frozen=True)
class Attack:
    argv: tuple[str, ...]
    returncode: int
    stderr: str
    results_jsonl: str | None      # `vegeta encode --to json`, None when the attack failed
    timed_out: bool = False


def binary() -> str | None:
    """CONCBENCH_VEGETA if set (a path), else the pinned one setup installed, else PATH's."""
    explicit = os.environ.get("CONCBENCH_VEGETA")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    local = REPO / ".tools" / "bin" / "vegeta"
    return str(local) if local.exists() else shutil.which("vegeta")


def version() -> str | None:
    """The module version the binary was built from (`go version -m`)."""
    path = binary()
    if path is None or shutil.which("go") is None:
        return None
    try:
        done = subprocess.run(["go", "version", "-m", path], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(rf"^\s*mod\s+{re.escape(MODULE)}\s+(\S+)", done.stdout, re.M)
    return found[1] if found else None


def attack_argv(vegeta: str, rate: float, duration_s: float, timeout_s: float,
                targets: Path, output: Path) -> list[str]:
    # vegeta paces a whole number of requests per period: tenths of a request per second
    # are `-rate=N/10s`
    return [vegeta, "attack", f"-rate={round(rate * 10)}/10s", f"-duration={duration_s:g}s",
            f"-timeout={timeout_s:g}s", f"-workers={WORKERS}", f"-max-workers={MAX_WORKERS}",
            "-max-body=4096", f"-targets={targets}", f"-output={output}"]


def _run(argv: list[str], bound_s: float) -> tuple[int, str, str, bool]:
    """(returncode, stdout, stderr, timed out) of argv, its group stopped on every way out."""
    proc = OWNED.spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, errors="replace")
    try:
        out, err = proc.communicate(timeout=bound_s)
        return proc.returncode, out, err, False
    except subprocess.TimeoutExpired:
        OWNED.stop(proc)
        out, err = proc.communicate(timeout=10)
        return proc.returncode, out, err, True
    finally:
        OWNED.stop(proc)   # an interrupt while waiting, or anything left in its group


def attack(url: str, rate: float, duration_s: float, timeout_s: float, prefix: Path) -> Attack:
    """One attack at `rate` requests per second for `duration_s`; waits for the answers
    still in flight at the end (up to `timeout_s` each), never longer than the sum + 15 s."""
    vegeta = binary()
    if vegeta is None:
        raise VegetaMissing()
    prefix.parent.mkdir(parents=True, exist_ok=True)
    targets, output = Path(f"{prefix}.targets"), Path(f"{prefix}.bin")
    targets.write_text(f"GET {url}\n")
    output.unlink(missing_ok=True)
    argv = attack_argv(vegeta, rate, duration_s, timeout_s, targets, output)
    started = time.monotonic()
    code, _, err, timed_out = _run(argv, duration_s + timeout_s + GRACE_S)
    if code != 0 or not output.exists():
        return Attack(tuple(argv), code, err, None, timed_out)
    bound = max(30.0, time.monotonic() - started)
    code, out, err2, _ = _run([vegeta, "encode", "--to", "json", str(output)], bound)
    output.unlink(missing_ok=True)   # binary; the JSON lines are what is kept, in the logs
    if code == 0:
        Path(f"{prefix}.jsonl").write_text(out)
    return Attack(tuple(argv), code, err + err2, out if code == 0 else None, timed_out)
