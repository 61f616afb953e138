"""The folders show the architecture: the pure core (config/, store/, model/, report/) runs
no process. Importing the report or the model in a fresh interpreter must load neither
psutil, subprocess nor any module of runner/measure/."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHELL = ("psutil", "subprocess", "runner.measure")


def loaded_by(module: str) -> list[str]:
    code = (f"import json, sys; import {module}; "
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("module", ["runner.report", "runner.report.compare", "runner.model",
                                    "runner.model.predict", "runner.model.diagnose",
                                    "runner.model.probe", "runner.report.sentences",
                                    "runner.store.results", "runner.config.suite"])
def test_the_core_imports_no_process_code(module):
    loaded = loaded_by(module)
    assert module in loaded
    found = [m for m in loaded if m in SHELL or m.startswith("runner.measure.")]
    assert found == [], f"{module} loads {found}"


def test_the_check_can_fail():
    # the shell itself loads what the test above forbids
    found = [m for m in loaded_by("runner.measure.bench") if m in SHELL]
    assert "psutil" in found and "subprocess" in found
