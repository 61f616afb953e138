import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# the tests' runs take a machine lock of their own (runner.measure.procs.machine_lock), so a
# test session neither waits for nor blocks a real run, or another session, on this machine
os.environ.setdefault("CONCBENCH_LOCK", str(Path(tempfile.mkdtemp(prefix="concbench-tests-"))
                                             / "concbench.lock"))

MANIFEST = """\
name: {name}
language: python
framework: fake
lock: process
setup: []
servers:
  main:
    argv: [python3, server.py, --port, "{{port}}"]
    concurrency: threads
  pool:
    argv: [python3, server.py, --port, "{{port}}", --workers, "{{workers}}"]
    concurrency: threads
    workers: auto
endpoints:
  hello: {{runs: request}}
  sync_sleep: {{runs: request, note: a plain sleep}}
"""


@pytest.fixture
def fake_impls(tmp_path: Path) -> Path:
    """An impls folder with two small manifests (no servers are started from it)."""
    root = tmp_path / "impls"
    for name in ("alpha", "beta"):
        (root / name).mkdir(parents=True)
        (root / name / "impl.yaml").write_text(MANIFEST.format(name=name))
    return root


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A copy of the repository's suites and impls to break on purpose."""
    dest = tmp_path / "repo"
    shutil.copytree(REPO / "suites", dest / "suites")
    shutil.copytree(REPO / "impls", dest / "impls",
                    ignore=shutil.ignore_patterns(".venv", "bin", "__pycache__"))
    return dest
