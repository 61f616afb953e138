"""The stored format, its models and docs/formats.md agree: every stored result in the
repository (reference runs and test fixtures) fits the models in runner/results.py, and
every field the models name is documented."""

import json
import re
from pathlib import Path

import pytest

from runner.results import FORMAT, stored_field_names, validate_case

REPO = Path(__file__).resolve().parent.parent
DOC = (REPO / "docs" / "formats.md").read_text()
STORED = sorted(p for root in (REPO / "reports" / "raw", REPO / "tests" / "fixtures" / "results")
                for p in root.glob("*/*/*.json") if p.name != "run.json")


def stored_cases() -> list[Path]:
    return [p for p in STORED if json.loads(p.read_text()).get("format") == FORMAT]


def test_there_are_stored_results_to_check():
    assert len(stored_cases()) > 100


@pytest.mark.parametrize("path", stored_cases(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_stored_result_fits_the_format(path):
    assert validate_case(json.loads(path.read_text())) == []


def test_every_field_of_the_format_is_documented():
    missing = sorted(name for name in stored_field_names()
                     if not re.search(rf"\b{re.escape(name)}\b", DOC))
    assert missing == []


def test_a_field_the_format_does_not_know_is_named():
    data = next(d for p in stored_cases() if (d := json.loads(p.read_text()))["runs"]
                and d["runs"][0].get("resources"))
    data["runs"][0]["resources"]["server_gpu_s"] = 1.0
    data["case"]["kind"] = 5
    problems = validate_case(data)
    assert "runs.0.resources.server_gpu_s: Extra inputs are not permitted" in problems
    assert "case.kind: Input should be a valid string" in problems
