"""Every description of a server or endpoint is built from what ran (issue 22).

A report once said "2 workers x 4 threads" of a server started with `--threads 50`, and
"(40 tokens)" of an endpoint whose limiter had 100: fixed text from impl.yaml. Now a note
in impl.yaml says a mechanism only, and the sizes come from what ran: the argv and the
settings in force as the server's /info reported them (runner/report/describe.py).

These tests read the reference runs (reports/raw/default and reports/raw/sweeps, the
newest of each) as the report renders them, and fail when a description states a number
that neither the argv, nor /info, nor the suite's tuned settings gives.
"""

import numbers
from pathlib import Path

import pytest

from runner.config.manifest import load_impls
from runner.report import describe, view
from runner.store.results import StoredCase, latest_run_dir, load_run

REPO = Path(__file__).resolve().parent.parent
RAW = REPO / "reports" / "raw"
SUITES = ("default", "sweeps")


@pytest.fixture(scope="module", params=SUITES)
def reference(request):
    run_dir = latest_run_dir(RAW, request.param)
    assert run_dir is not None, f"no reference run under {RAW / request.param}"
    run, cases, problems = load_run(run_dir)
    assert problems == []
    return cases, view.build(run, cases)


# ---- what ran: the numbers a description may state ----

def _leaves(value):
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, numbers.Number):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)


def _norm(number) -> str:
    """'100', 100 and 100.0 alike; '127.0.0.1' as it is."""
    try:
        value = float(number)
    except (TypeError, ValueError):
        return str(number)
    return str(int(value)) if value.is_integer() else repr(value)


def given(group: list[StoredCase]) -> set[str]:
    """The numbers what ran gives: its argv, everything its /info reported, and the
    settings the suite tuned (and set) on it."""
    out = set()
    for data in group:
        out |= {_norm(n) for arg in describe.first_argv(data)
                for n in describe.stated_numbers(arg)}
        out |= {_norm(n) for n in _leaves(data.info or {})}
        out |= {_norm(n) for n in _leaves(data.case.tuned)}
        out |= {_norm(s.get("value")) for s in data.case.settings.values()
                if isinstance(s.get("value"), numbers.Number)}
    return out


def stated(text: str | None) -> set[str]:
    return {_norm(n) for n in describe.stated_numbers(text or "")}


def what_ran(data: StoredCase) -> str:
    """The argv, the pools /info reported and the tuned settings, for a failure message."""
    pools = (data.info or {}).get("pools")
    return (f"argv {describe.first_argv(data)}; /info pools {pools}, parallelism "
            f"{(data.info or {}).get('parallelism')}; tuned {data.case.tuned}")


def _groups(cases: list[StoredCase], scenario: str) -> dict[tuple, list[StoredCase]]:
    """The scenario's server configurations that ran (an argv recorded), by (impl, label)."""
    out: dict[tuple, list[StoredCase]] = {}
    for data in cases:
        if data.case.scenario == scenario and describe.first_argv(data):
            out.setdefault((data.case.impl, data.case.server_label), []).append(data)
    return out


def _servers_lines(cases, report):
    """(section, its servers line, the cases of that configuration, the line after its name)."""
    for section in report.sections:
        groups = _groups(cases, section.name)
        assert len(section.servers) == len(groups), (section.name, section.servers)
        for (impl, label), group in groups.items():
            name = f"{impl} {label}"
            [line] = [s for s in section.servers if s.startswith(name) and s[len(name)] in ":;"]
            yield section, line, group, line[len(name):]


def _rows(cases, report):
    """(row as the report renders it, its stored case), in every section."""
    by_id = {data.case.id: data for data in cases}
    for section in report.sections:
        for row in section.rows:
            yield row, by_id[row.id]


# ---- the rule ----

def test_every_servers_line_states_only_numbers_that_ran(reference):
    cases, report = reference
    wrong = []
    for section, line, group, described in _servers_lines(cases, report):
        extra = stated(described) - given(group)
        if extra:
            wrong.append(f"{section.name}: {line}\n    states {sorted(extra)}; what ran: "
                         f"{what_ran(group[0])}")
    assert not wrong, "\n".join(wrong)


def test_every_row_describes_only_what_ran(reference):
    """The server column and the endpoint's note of every row, tuned or not."""
    cases, report = reference
    wrong = []
    for row, data in _rows(cases, report):
        for what, text in (("server", row.server_text), ("note", describe.endpoint_note(data))):
            extra = stated(text) - given([data])
            if extra:
                wrong.append(f"{row.id} {what}: {text!r}\n    states {sorted(extra)}; "
                             f"what ran: {what_ran(data)}")
    assert not wrong, "\n".join(wrong)


def test_rows_show_the_endpoint_note_built_from_what_ran(reference):
    """The note the report renders is describe.endpoint_note, not the stored note alone
    (one stored before the rule may state a size that was not in force)."""
    cases, report = reference
    wrong = [f"{row.id}: renders {row.note!r}, built {describe.endpoint_note(data)!r}"
             for row, data in _rows(cases, report) if row.note != describe.endpoint_note(data)]
    assert not wrong, "\n".join(wrong)


def test_each_tuned_row_states_its_change_and_the_size_in_force(reference):
    cases, report = reference
    lines = {(group[0].case.scenario, group[0].case.impl, group[0].case.server_label): described
             for _, _, group, described in _servers_lines(cases, report)}
    tuned = [(row, data) for row, data in _rows(cases, report) if data.case.tuned]
    assert tuned, "the reference runs have tuned rows"
    for row, data in tuned:
        case = data.case
        line = lines.get((case.scenario, case.impl, case.server_label))
        if line is None:   # not run (n/a): nothing ran to describe
            assert not describe.first_argv(data)
            continue
        for name, value in case.tuned.items():
            assert _norm(value) in stated(line), (row.id, name, value, line)
        # a setting that sizes a pool the endpoint runs or waits in: the size /info reported
        execution = case.execution
        used = {execution.pool, execution.via} - {None} if execution else set()
        for setting in case.settings.values():
            pool = ((data.info or {}).get("pools") or {}).get(setting.get("pool"))
            if setting.get("pool") in used and pool and pool.get("size") is not None:
                assert _norm(pool["size"]) in stated(describe.endpoint_note(data)), (
                    row.id, describe.endpoint_note(data), what_ran(data))


ISSUE_22 = {   # the rows the issue named, each with what it must now say
    "sleep/python-fastapi/uvicorn-executor100/executor_sleep":
        "asyncio's default executor: 100 threads",
    "sleep/python-fastapi/uvicorn-limiter100/sync_sleep": "anyio's thread limiter: 100 threads",
    "io/go/net-http-db_max_open100/db_async":
        "database/sql's pool (pgx): 100 connections, 100 kept idle",
}


def test_the_rows_of_issue_22_say_what_ran():
    run, cases, _ = load_run(latest_run_dir(RAW, "default"))
    by_id = {data.case.id: data for data in cases}
    for key, expected in ISSUE_22.items():
        note = describe.endpoint_note(by_id[key]) or ""
        assert expected in note and stated(note) == {"100"}, (key, note)
    # gunicorn gthread started with --threads 50: no "2 workers x 4 threads" beside it
    [sleep] = [s for s in view.build(run, cases).sections if s.name == "sleep"]
    [t50] = [s for s in sleep.servers if s.startswith("python-flask gunicorn-gthread-w2-t50:")]
    assert "2 gthread workers × 50 threads" in t50
    described, _, after = t50.split("`")
    assert stated(described) == {"2", "50"} and not stated(after), t50


# ---- impl.yaml: a note says a mechanism, never a size ----

def _notes():
    for name, impl in load_impls(REPO / "impls").items():
        for server, config in impl.manifest.servers.items():
            yield f"{name} servers.{server}.note", config.note
        for kind, endpoint in impl.manifest.endpoints.items():
            yield f"{name} endpoints.{kind}.note", endpoint.note


def test_no_impl_yaml_note_states_a_number():
    notes = [(where, note) for where, note in _notes() if note]
    assert len(notes) > 20
    stating = [f"{where}: {note!r} states {describe.stated_numbers(note)}"
               for where, note in notes if describe.stated_numbers(note)]
    assert not stating, "\n".join(stating)


@pytest.mark.parametrize("text, found", [
    ("one request at a time (HTTP/1.0, no keep-alive)", []),
    ("HTTP/1.1 keep-alive, p99 and p99.9 latency", []),
    ("worker_threads, md5, pydantic1, uvicorn-limiter100", []),
    ("a def handler runs in anyio's thread pool (40 tokens)", ["40"]),
    ("asyncio's default executor, min(32, cpus + 4) threads", ["32", "4"]),
    ("no cap on open connections, 2 kept idle", ["2"]),
    ("a greenlet per request (up to 1000 a worker)", ["1000"]),
    ("psycopg (since 3.1.14) sees the patched select", ["3.1.14"]),
    ("gunicorn's 2-4 x cores advice", ["2", "4"]),
    ("--timeout 300 so a long sleep is not killed at the default 30 s", ["300", "30"]),
])
def test_a_stated_number_is_told_from_a_name_or_a_protocol(text, found):
    assert describe.stated_numbers(text) == found


def test_a_stored_note_keeps_its_mechanism_and_drops_its_sizes():
    assert describe.mechanism("a def handler runs in anyio's thread pool (40 tokens)") is None
    assert describe.mechanism("Go has no separate async form; database/sql defaults: no cap "
                              "on open connections, 2 kept idle") == "Go has no separate async form"
    assert describe.mechanism("one process, one event loop") == "one process, one event loop"
    assert describe.mechanism(None) is None
