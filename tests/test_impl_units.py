"""The implementations' own unit tests, in their own languages' test runners."""

import subprocess
from pathlib import Path

import pytest

IMPLS = Path(__file__).resolve().parent.parent / "impls"


@pytest.mark.parametrize("argv,folder", [
    (["go", "test", "./..."], IMPLS / "go"),
    (["node", "--test"], IMPLS / "node"),
], ids=["go", "node"])
def test_implementation_unit_tests_pass(argv, folder):
    done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
