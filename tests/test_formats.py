"""The stored format, its models and docs/formats.md agree: every stored result in the
repository (reference runs and test fixtures) fits the models in runner/store/results.py, and
every field the models name is documented."""

import json
import re
from pathlib import Path

import pytest

from runner.store.results import (FORMAT, StoredRunFile, load_run, parse_case, stored_field_names,
                            validate_case)

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


def _measured() -> dict:
    return next(d for p in stored_cases() if (d := json.loads(p.read_text()))["runs"]
                and d["runs"][0].get("resources"))


def test_a_field_the_format_does_not_know_is_named_but_kept_by_a_reader():
    data = _measured()
    data["runs"][0]["resources"]["server_gpu_s"] = 1.0
    data["runs"][0]["wrk"]["p99_9_s"] = 2.0
    assert sorted(validate_case(data)) == ["runs.0.resources.server_gpu_s: not a field of the format",
                                   "runs.0.wrk.p99_9_s: not a field of the format"]
    # a newer runner's field: this reader still reads the file, and knows the rest of it
    case, problem = parse_case(data)
    assert problem is None and case.runs[0].resources.server_gpu_s == 1.0


def test_a_field_of_the_wrong_type_is_named_and_the_file_not_read():
    data = _measured()
    data["case"]["kind"] = 5
    assert validate_case(data) == ["case.kind: Input should be a valid string"]
    case, problem = parse_case(data)
    assert case is None and "case.kind: Input should be a valid string" in problem


RUN_FILES = sorted(p for root in (REPO / "reports" / "raw", REPO / "tests" / "fixtures" / "results")
                   for p in root.glob("*/*/run.json"))


@pytest.mark.parametrize("path", RUN_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_every_stored_run_file_fits_the_format(path):
    run = StoredRunFile.model_validate(json.loads(path.read_text()))
    assert run.model_extra == {} and run.run_id == path.parent.name


def test_every_stored_run_loads_whole():
    folders = {p.parent for p in STORED}
    for folder in folders:
        run, cases, problems = load_run(folder)
        assert problems == [] and len(cases) == len(list(folder.glob("*.json"))) - 1, folder
