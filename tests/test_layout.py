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
                                    "runner.store.results", "runner.config.suite",
                                    "runner.config.app", "runner.model.app",
                                    "runner.report.app"])
def test_the_core_imports_no_process_code(module):
    loaded = loaded_by(module)
    assert module in loaded
    found = [m for m in loaded if m in SHELL or m.startswith("runner.measure.")]
    assert found == [], f"{module} loads {found}"


def test_the_code_loaded_inside_an_app_needs_only_the_standard_library():
    # runner/app/ runs in the app's own environment, which has none of the runner's packages
    loaded = loaded_by("runner.app.serve")
    foreign = [m for m in loaded if m.split(".")[0] in ("psutil", "pydantic", "yaml", "rich",
                                                         "jinja2", "pandas")
               or (m.startswith("runner.") and not m.startswith("runner.app"))]
    assert "runner.app.introspect" in loaded and foreign == []


def test_the_check_can_fail():
    # the shell itself loads what the test above forbids
    found = [m for m in loaded_by("runner.measure.bench") if m in SHELL]
    assert "psutil" in found and "subprocess" in found


def test_no_function_in_the_runner_over_50_lines_or_6_parameters():
    import ast
    too_big = []
    for path in sorted((REPO / "runner").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = node.args
            count = (len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)
                     + bool(args.vararg) + bool(args.kwarg))
            if args.args and args.args[0].arg in ("self", "cls"):
                count -= 1
            lines = node.end_lineno - node.lineno + 1
            if lines > 50 or count > 6:
                too_big.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}: "
                               f"{lines} lines, {count} parameters")
    assert too_big == []
