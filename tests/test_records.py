"""The records of runner/store/results.py as files: every record type written with
`write_record` and read back is the record it was, and every stored result in the
repository read and written back is the JSON it was (an absent field stays absent)."""

import json
import types
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from runner.measure.bench import agreeing_repeats
from runner.store import results
from runner.store.results import (StoredRunFile, read_case, read_record,
                                  read_run_file, record_json, write_record)

REPO = Path(__file__).resolve().parent.parent
ROOTS = (REPO / "reports" / "raw", REPO / "tests" / "fixtures" / "results")
CASE_FILES = sorted(p for root in ROOTS for p in root.glob("*/*/*.json") if p.name != "run.json")
RUN_FILES = sorted(p for root in ROOTS for p in root.glob("*/*/run.json"))

RECORDS = sorted((obj for obj in vars(results).values()
                  if isinstance(obj, type) and issubclass(obj, results._Stored)
                  and obj is not results._Stored), key=lambda cls: cls.__name__)

# what JSON holds: no NaN or infinity, which would not read back equal
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | FLOATS | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=6)


def strategy(annotation) -> st.SearchStrategy:
    """Values of a field's type, records at every depth with any of their optional fields."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is typing.Any:
        return JSON
    if annotation is dict:
        return st.dictionaries(st.text(max_size=8), JSON, max_size=3)
    if annotation is float:
        return FLOATS
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return st.deferred(lambda: record(annotation))
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy(arg) for arg in args))
    if origin is list:
        return st.lists(strategy(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(strategy(args[0]), strategy(args[1]), max_size=3)
    return st.from_type(annotation)


def record(cls: type[BaseModel]) -> st.SearchStrategy:
    """A record of `cls`: every required field, and any of the others (an unset one is
    left out of its file)."""
    required = {name: strategy(f.annotation) for name, f in cls.model_fields.items()
                if f.is_required()}
    optional = {name: strategy(f.annotation) for name, f in cls.model_fields.items()
                if not f.is_required()}
    return st.fixed_dictionaries(required, optional=optional).map(lambda kw: cls(**kw))


def test_every_record_type_is_covered():
    names = {cls.__name__ for cls in RECORDS}
    assert {"StoredCase", "StoredRunFile", "StoredRun", "StoredWrk", "StoredWrkText",
            "StoredCalibration", "StoredProbe", "StoredTimeline", "StoredPoint",
            "StoredOpenLatency", "StoredResources", "StoredService"} <= names


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__name__)
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_a_record_written_and_read_back_is_itself(cls, data, tmp_path):
    written = data.draw(record(cls))
    path = tmp_path / "record.json"
    write_record(path, written)
    found, problem = read_record(path, cls)
    assert problem is None and found == written
    # what was not given stays out of the file, and what was given is in it
    assert set(json.loads(path.read_text())) == written.model_fields_set


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_stored_case_read_and_written_back_is_the_same_json(path, tmp_path):
    case, problem = read_case(path)
    assert problem is None
    write_record(tmp_path / path.name, case)
    assert json.loads((tmp_path / path.name).read_text()) == json.loads(path.read_text())


@pytest.mark.parametrize("path", RUN_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_a_stored_run_file_read_and_written_back_is_the_same_json(path, tmp_path):
    run, problem = read_run_file(path)
    assert problem is None
    write_record(tmp_path / "run.json", run)
    assert json.loads((tmp_path / "run.json").read_text()) == json.loads(path.read_text())


def test_the_records_are_typed_at_every_depth():
    # nothing the measuring side builds is kept as a bare mapping but /info, the
    # environment, wrk's latency and error counts, and the suite's own settings
    case, _ = read_case(REPO / "tests" / "fixtures" / "results" / "model" / "20261124T090000Z"
                        / "probe__python-fastapi__uvicorn__json_large.json")
    run = case.runs[0]
    assert isinstance(run.calibration, (results.StoredCalibration, type(None)))
    assert isinstance(run.text, results.StoredWrkText)
    assert isinstance(run.probe, results.StoredProbe)
    assert isinstance(run.probe.wrk, results.StoredWrk)
    assert isinstance(run.timeline, results.StoredTimeline)


def test_the_early_stop_reads_the_records_the_run_loop_builds():
    # the run loop hands its repeats to agreeing_repeats as records, as it stores them
    path = REPO / "tests" / "fixtures" / "results" / "demo" / "20261123T190000Z" / \
        "sleep__python-fastapi__uvicorn__async_sleep.json"
    case, _ = read_case(path)
    first, second = case.runs[:2]
    assert agreeing_repeats([first, second], 0.01) == ("the first two repeats agree within "
                                                       "1%: no third")
    slower = second.model_copy(deep=True)
    slower.wrk.per_second = [0] + [90] * 13 + [89]
    assert agreeing_repeats([first, slower], 0.01) is None
    assert agreeing_repeats([first, slower], 0.2) is not None
    open_run = first.model_copy(update={"wrk": None})
    assert agreeing_repeats([open_run, second], 0.5) is None


def test_a_record_json_keeps_only_what_was_given():
    assert record_json(StoredRunFile(run_id="x")) == {"run_id": "x"}
    # given as null, it is written as null
    assert record_json(StoredRunFile(run_id="x", finished_at=None)) == {"run_id": "x",
                                                                        "finished_at": None}
