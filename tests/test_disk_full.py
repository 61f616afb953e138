"""A full disk ends a run with one line and exit status 5 (docs/errors.md): the half-written
temporary file is removed, the record is kept under the system temp dir, and
`--resume` measures what is missing once there is space again.

The real check mounts a small tmpfs as the results folder (root only, skipped otherwise)
and fills it while a real run measures; a simulated ENOSPC checks the writing alone.
"""

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from runner.store import results
from runner.store.results import DiskFull, write_json

REPO = Path(__file__).resolve().parent.parent
FAKES = REPO / "tests" / "fakes" / "impls"


def test_enospc_removes_the_partial_file_and_keeps_the_record(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "spare"))
    path = tmp_path / "raw" / "suite" / "run1" / "case.json"
    write_json(path, {"status": "running"})
    real_fsync, calls = os.fsync, []

    def full_once(fd):  # the results disk is full; the temp dir is not
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(results.os, "fsync", full_once)
    with pytest.raises(DiskFull) as caught:
        write_json(path, {"status": "ok", "runs": [1, 2]})
    assert str(caught.value) == f"disk full writing {path}: No space left on device"
    assert sorted(p.name for p in path.parent.iterdir()) == ["case.json"]  # no .tmp left
    assert json.loads(path.read_text()) == {"status": "running"}           # the old one
    kept = tmp_path / "spare" / "concbench-kept" / "run1" / "case.json"
    assert caught.value.kept == kept
    assert json.loads(kept.read_text()) == {"status": "ok", "runs": [1, 2]}


def test_other_write_errors_are_not_taken_for_a_full_disk(tmp_path, monkeypatch):
    def denied(fd):
        raise OSError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(results.os, "fsync", denied)
    with pytest.raises(PermissionError):
        write_json(tmp_path / "x.json", {})


def test_the_cli_line_and_status(monkeypatch, tmp_path):
    from runner.__main__ import disk_full_line
    from runner.errors import EXIT_DISK_FULL
    exc = DiskFull(Path("reports/raw/q/r/c.json"), "No space left on device",
                   Path("/tmp/concbench-kept/r/c.json"))
    assert disk_full_line(exc, "quick") == (
        "disk full writing reports/raw/q/r/c.json: No space left on device; the record is "
        "kept in /tmp/concbench-kept/r/c.json; free space and run `./just bench quick "
        "--resume` (cases already stored are kept, the unfinished one is measured again)")
    assert EXIT_DISK_FULL == 5


SUITE = """\
wrk: {threads: 1, connections: 2, duration: 1s, timeout: 2s}
repeats: 1
warmup: 0
targets:
  - impl: faulty
    servers: [good]
scenarios:
  - name: first
    kinds: [hello]
  - name: second
    kinds: [sync_sleep]
    params: {ms: 20}
  - name: third
    kinds: [cpu_sync]
    params: {n: 1000}
"""


def _fill(folder: Path) -> Path:
    """Write zeros into folder until its disk is full."""
    filler = folder / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None,
                    reason="mounting a tmpfs needs root")
def test_a_real_full_disk_stops_the_run_and_resume_finishes_it(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(raw)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        _full_disk_run(tmp_path, raw)
    finally:
        subprocess.run(["umount", "-l", str(raw)], check=False)


def _full_disk_run(tmp_path: Path, raw: Path) -> None:
    suite = tmp_path / "full.yaml"
    suite.write_text(SUITE)
    spare = tmp_path / "spare"
    spare.mkdir()
    argv = [sys.executable, "-m", "runner", "bench", str(suite), "--impls", str(FAKES),
            "--raw-dir", str(raw), "--no-report"]
    env = {**os.environ, "TMPDIR": str(spare)}
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline, first = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            first = next(raw.glob("full/*/first__*.json"), None)
            if first and json.loads(first.read_text())["status"] == "ok":
                break
            time.sleep(0.02)
        assert first is not None, "the first case never finished"
        filler = _fill(raw)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 5, output
    (line,) = [l for l in output.splitlines() if l.startswith("disk full writing ")]
    assert "No space left on device; the record is kept in " in line, line
    assert "free space and run `./just bench " in line and " --resume`" in line
    assert "Traceback" not in output
    assert list(raw.rglob("*.tmp")) == [], "a partial file was left behind"
    kept = Path(line.split("kept in ")[1].split(";")[0])
    assert kept.is_relative_to(spare) and json.loads(kept.read_text())["format"] == "concbench.case"
    first_runs = json.loads(first.read_text())["runs"]
    filler.unlink()
    done = subprocess.run([*argv, "--resume"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 cases already measured" in done.stderr
    assert json.loads(first.read_text())["runs"] == first_runs
    statuses = [json.loads(p.read_text())["status"] for p in first.parent.glob("*__*.json")]
    assert statuses == ["ok", "ok", "ok"]
