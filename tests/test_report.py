"""Reports from the synthetic stored run in tests/fixtures/results/demo/.

The whole Markdown and HTML reports are compared with snapshots in tests/snapshots/, so
any change to a report shows up in review. After an intended change, rewrite them with
`UPDATE_SNAPSHOTS=1 uv run pytest tests/test_report.py` and read the diff.
"""

import dataclasses
import difflib
import json
import math
import os
import re
import shutil
import statistics
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from runner.report import (charts, describe, latest_run_dir, load_run, readme, render_all,
                           view, write_reports)
from runner.report import cells as report_cells
from runner.report import html as html_report
from runner.report import markdown as markdown_report
from runner.report.table import build_rows
from runner.store.results import StoredRunFile, as_case, as_run

HERE = Path(__file__).parent
RUN_DIR = HERE / "fixtures" / "results" / "demo" / "20261123T190000Z"
# a second synthetic run: the model's flags and an interference scenario
MODEL_DIR = HERE / "fixtures" / "results" / "model" / "20261124T090000Z"
SNAPSHOTS = HERE / "snapshots"
HOSTILE = "<script>alert(1)</script>"
CASES = 6


def assert_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path}; create it with UPDATE_SNAPSHOTS=1", pytrace=False)
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(expected.splitlines(), text.splitlines(),
                                    f"{name} (snapshot)", f"{name} (rendered)", lineterm="")
        lines = list(diff)
        if len(lines) > 80:
            lines = lines[:80] + [f"... {len(lines) - 80} more lines"]
        shown = "\n".join(lines)
        pytest.fail(f"{name} differs from its snapshot (UPDATE_SNAPSHOTS=1 rewrites it):\n"
                    f"{shown}", pytrace=False)


# The pools' sizes as /info reports them now (`pools`); the synthetic runs' /info answers
# predate that field, so it is added here where it is missing.
POOLS = {"anyio-limiter": {"size": 40, "kind": "threads"},
         "default-executor": {"size": 6, "kind": "threads"}}


def as_json(cases: list) -> list[dict]:
    """Stored cases as their JSON (copies to edit), whether records or JSON already."""
    return [c.model_dump(mode="json", exclude_unset=True) if hasattr(c, "model_dump")
            else json.loads(json.dumps(c)) for c in cases]


def declared(cases: list) -> list[dict]:
    """Copies of `cases` whose /info reports the pools, as a current server's does."""
    out = as_json(cases)
    for data in out:
        if data.get("info") is not None:
            data["info"].setdefault("pools", POOLS)
    return out


@pytest.fixture(scope="module")
def stored():
    run, cases, problems = load_run(RUN_DIR)
    assert problems == []
    return run, declared(cases)


@pytest.fixture(scope="module")
def rendered(stored):
    return render_all(*stored)


@pytest.fixture(scope="module")
def model_stored():
    run, cases, problems = load_run(MODEL_DIR)
    assert problems == [] and run.synthetic is True
    return run, declared(cases)


@pytest.fixture(scope="module")
def model_rendered(model_stored):
    return render_all(*model_stored)


# ---- loading ----

def test_fixture_is_marked_synthetic(stored):
    run, cases = stored
    assert run.synthetic is True
    assert len(cases) == CASES
    assert {c["status"] for c in cases} == {"ok", "failed", "na"}


def _copy_fixture(tmp_path: Path) -> Path:
    folder = tmp_path / "20261123T190000Z"
    shutil.copytree(RUN_DIR, folder)
    return folder


def test_bad_files_are_named_and_skipped(tmp_path):
    folder = _copy_fixture(tmp_path)
    (folder / "corrupt.json").write_text('{"format": "concbench.case", "vers')
    (folder / "foreign.json").write_text(json.dumps({"format": "someone.else", "version": 1}))
    future = json.loads((folder / "hello__go__net-http__hello.json").read_text())
    (folder / "future.json").write_text(json.dumps({**future, "version": 99}))
    (folder / "list.json").write_text("[1, 2]")
    (folder / "notes.txt").write_text("not json and not *.json: ignored")

    run, cases, problems = load_run(folder)

    assert len(cases) == CASES
    assert len(problems) == 4
    for name, words in [("corrupt.json", "not readable JSON"), ("foreign.json", "someone.else"),
                        ("future.json", "unknown version 99"), ("list.json", "JSON object")]:
        [line] = [p for p in problems if name in p]
        assert words in line and "\n" not in line
    files = render_all(run, cases)
    assert "python-fastapi" in files["demo.md"]
    # the written page says what it left out, by file name, so no row vanishes unseen
    out = tmp_path / "out"
    write_reports(folder, out)
    page, html_page = (out / "demo.md").read_text(), (out / "demo.html").read_text()
    assert "> ⚠ This report leaves out 4 stored files it could not read" in page
    for name in ("corrupt.json", "foreign.json", "future.json", "list.json"):
        assert f"> - {name}: " in page and f"<li>{name}: " in html_page
    assert str(tmp_path) not in page


def test_a_case_from_another_run_is_skipped(tmp_path):
    folder = _copy_fixture(tmp_path)
    stray = json.loads((folder / "hello__go__net-http__hello.json").read_text())
    (folder / "stray.json").write_text(json.dumps({**stray, "run_id": "20250101T000000Z"}))
    _, cases, problems = load_run(folder)
    assert len(cases) == CASES
    assert problems == [f"{folder / 'stray.json'}: belongs to run 20250101T000000Z, "
                        "not 20261123T190000Z; skipped"]


def test_missing_or_broken_run_json_still_renders(tmp_path):
    folder = _copy_fixture(tmp_path)
    (folder / "run.json").write_text("not json")
    run, cases, problems = load_run(folder)
    assert run == StoredRunFile() and len(cases) == CASES
    assert [p for p in problems if "run.json" in p]
    (folder / "run.json").unlink()
    run, cases, problems = load_run(folder)
    files = render_all(run, cases)
    assert set(files) >= {"demo.md", "demo.html"}  # suite name from the case files
    assert "## Environment" in files["demo.md"]  # environment from the case files


# ---- the table ----

def test_build_rows_values(stored):
    frame = build_rows(stored[1])
    assert len(frame) == CASES
    rows = {(r["impl"], r["kind"]): r for r in frame.to_dict("records")}

    fast = rows[("python-fastapi", "async_sleep")]
    assert (fast["status"], fast["runs"], fast["params"]) == ("ok", 3, "ms=1000")
    assert (fast["rps_median"], fast["rps_min"], fast["rps_max"]) == (93.08, 92.82, 93.29)
    assert fast["rps_cv"] == pytest.approx(0.0025299, abs=1e-7)  # sd 0.23544 / mean 93.063
    assert not fast["rps_too_wide"]
    assert (fast["lat_avg"], fast["lat_p50"], fast["lat_p75"], fast["lat_p90"],
            fast["lat_p99"], fast["lat_max"]) == (1.007, 1.006, 1.008, 1.01, 1.018, 1.031)
    assert [fast[f"err_{k}"] for k in ("connect", "read", "write", "timeout", "non2xx")] == [0] * 5

    sync = rows[("python-fastapi", "sync_sleep")]
    assert sync["rps_median"] == 39.6 and sync["rps_too_wide"]
    assert (sync["err_read"], sync["err_timeout"], sync["err_non2xx"]) == (2, 3, 1)
    # the note as the row ran: the stored mechanism, then the size in force from /info
    assert sync["note"] == "def handler: runs in the thread pool; anyio's thread limiter: 40 threads"

    failed = rows[("python-flask", "sync_sleep")]
    assert failed["status"] == "failed" and failed["reason"].startswith("check failed:")
    assert failed["runs"] == 0 and math.isnan(failed["rps_median"])
    assert pd.isna(failed["err_read"])

    na = rows[("python-flask", "async_sleep")]
    assert (na["status"], na["reason"]) == ("na", "python-flask does not serve async_sleep")

    go = rows[("go", "hello")]
    assert go["params"] == "" and go["lat_p50"] == pytest.approx(0.001)
    assert go["rps_median"] == pytest.approx(45055.6)

    assert rows[(HOSTILE, "hello")]["err_connect"] == 4


def _rows(stored) -> dict:
    return {(r["scenario"], r["impl"], r["kind"]): r
            for r in build_rows(stored[1]).to_dict("records")}


def _case_rows(stored) -> dict:
    """The report's own rows (table.CaseRow), by scenario, implementation and kind."""
    return {(r.scenario, r.impl, r.kind): r for r in view.build(*stored).rows}


def _section(run, cases, name) -> view.Section:
    [section] = [s for s in view.build(run, cases).sections if s.name == name]
    return section


def _cells(table: view.Table, endpoint: str, impl: str = "python-fastapi") -> dict:
    """Header -> display text of the row of `impl` and `endpoint` in `table`."""
    [row] = [r for r in table.rows if r.cells[0].text == impl and r.cells[2].text == endpoint]
    return {c.header: cell.text for c, cell in zip(table.columns, row.cells)}


# ---- the model, goodput, resources ----

def test_model_values_for_a_thread_limited_row(stored):
    sync = _rows(stored)[("sleep", "python-fastapi", "sync_sleep")]
    # service 1.002 s, 100 connections, 40 anyio tokens: X = 40 / 1.002, R = 100 / X
    assert sync["service_s"] == 1.002
    assert sync["ceiling_rps"] == pytest.approx(39.92, abs=0.005)
    assert sync["model_latency_s"] == pytest.approx(2.505)
    assert sync["steady_rps"] == 40.0  # per_second [0, 0, 40, ...]: ramp-up and last left out
    assert sync["efficiency"] == pytest.approx(40 / (40 / 1.002))
    assert "40" in sync["bottleneck"] and not sync["disagrees"]
    cells = _cells(_section(*stored, "sleep").tables[0], "sync_sleep ms=1000")
    assert (cells["steady (req/s)"], cells["ceiling (req/s)"], cells["efficiency"],
            cells["expected latency"]) == ("40", "39.9", "1.00", "2.5 s")
    assert cells["bottleneck"] == sync["bottleneck"]


def test_service_time_falls_back_to_the_older_check_name(stored):
    fast = _rows(stored)[("sleep", "python-fastapi", "async_sleep")]  # check.latency_s only
    assert fast["service_s"] == 1.002
    assert fast["ceiling_rps"] == pytest.approx(100 / 1.002)


def test_disagreement_and_unobservable_latency_are_flagged(model_stored):
    rows = _rows(model_stored)
    executor = rows[("sleep", "python-fastapi", "executor_sleep")]
    assert executor["ceiling_rps"] == pytest.approx(6 / 1.003)  # default_executor_workers 6
    assert executor["efficiency"] == pytest.approx(5 / (6 / 1.003)) and executor["disagrees"]
    table = _section(*model_stored, "sleep").tables[0]
    cells = _cells(table, "executor_sleep ms=1000")
    assert cells["efficiency"] == "0.84 ⚠" and cells["expected latency"] == "16.7 s ⚠"
    # the model's own sentence for the disagreement, or the generic one when it has none
    row = _case_rows(model_stored)[("sleep", "python-fastapi", "executor_sleep")]
    assert f"⚠ {report_cells.cause(row)}" in cells["notes"]
    assert report_cells.cause(dataclasses.replace(row, findings=None)) == (
        "model and measurement disagree by more than 10% (efficiency 0.84)")
    blocking = _cells(table, "blocking_in_async ms=1000")
    assert "1 at a time" in blocking["bottleneck"]
    assert ("⚠ expected latency 100 s exceeds the 15 s run: requests still queued at the end "
            "never count, the latency columns show only early requests") in blocking["notes"]
    assert "disagree" not in blocking["notes"]  # efficiency 1.00


def test_rows_that_agree_with_the_model_carry_no_flag(stored):
    table = _section(*stored, "sleep").tables[0]
    assert "⚠" not in _cells(table, "async_sleep ms=1000")["notes"]
    assert _cells(table, "async_sleep ms=1000")["efficiency"] == "1.00"


def test_rows_without_a_model_say_why(stored):
    rows = _rows(stored)
    assert rows[("hello", "go", "hello")]["bottleneck"] == "no model: per-request framework overhead"
    assert math.isnan(rows[("hello", "go", "hello")]["ceiling_rps"])
    run, cases = stored
    old = as_json(cases)
    for data in old:
        data["case"].pop("execution", None)  # a result stored before case.execution
    sync = _rows((run, old))[("sleep", "python-fastapi", "sync_sleep")]
    assert sync["bottleneck"].startswith("no model: ")
    cells = _cells(_section(run, old, "sleep").tables[0], "sync_sleep ms=1000")
    assert "ceiling (req/s)" not in cells and "efficiency" not in cells  # empty columns go


def test_saturated_load_generator_marks_the_row_invalid(stored):
    go = _rows(stored)[("hello", "go", "hello")]
    assert go["wrk_cores"] == pytest.approx(18.9 / 10.05) and go["wrk_usable_cores"] == 2
    assert go["wrk_saturated"]  # 1.88 >= 0.9 x min(2 threads, 2 cores)
    assert not _rows(stored)[("hello", HOSTILE, "hello")]["wrk_saturated"]  # 0.79 of 2
    section = _section(*stored, "hello")
    throughput, _, resources = section.tables
    notes = _cells(throughput, "hello", "go")["notes"]
    assert notes.startswith("⚠ INVALID: load generator saturated: wrk used 1.88 cores")
    assert _cells(resources, "hello", "go")["wrk cores"] == "1.88 of 2 ⚠"
    assert [r.invalid for r in throughput.rows] == [False, True]


def test_goodput_only_where_errors_happened(stored):
    rows = _rows(stored)
    sync = rows[("sleep", "python-fastapi", "sync_sleep")]
    # repeats: 600 ok; 500 with 3 timeouts; 607 with 1 non-2xx, over 15.1 s each
    assert sync["good_rps"] == pytest.approx(600 / 15.1)
    assert math.isnan(rows[("sleep", "python-fastapi", "async_sleep")]["good_rps"])
    # connect errors are not subtracted: the requests that completed were all good
    assert rows[("hello", HOSTILE, "hello")]["good_rps"] == pytest.approx(12034.0)
    sleep = _section(*stored, "sleep")
    assert _cells(sleep.tables[0], "sync_sleep ms=1000")["good req/s"] == "39.7"
    assert _cells(sleep.tables[0], "async_sleep ms=1000")["good req/s"] == "—"
    hello = _section(*stored, "hello")
    assert _cells(hello.tables[1], "hello", HOSTILE)["errors"] == "connect 4, timeout 0"


def test_resource_columns(stored):
    sync = _rows(stored)[("sleep", "python-fastapi", "sync_sleep")]
    assert (sync["cpu_s"], sync["threads_max"], sync["processes_max"]) == (1.4, 43, 1)
    # requests over server CPU seconds per repeat, then the median
    assert sync["req_per_cpu_s"] == pytest.approx(statistics.median(
        [600 / 1.4, 500 / 1.3, 607 / 1.45]))
    assert sync["rss_peak_bytes"] == 64000000
    cells = _cells(_section(*stored, "sleep").tables[2], "sync_sleep ms=1000")
    assert cells == {"impl": "python-fastapi", "server": "uvicorn",
                     "endpoint": "sync_sleep ms=1000", "server CPU (s)": "1.4",
                     "req per CPU-s": "419", "peak RSS": "61 MiB", "processes": "1",
                     "threads": "43", "wrk cores": "0.02 of 2"}


def test_load_sections_have_three_tables_and_only_measured_rows_after_the_first(stored):
    sleep = _section(*stored, "sleep")
    assert [t.title for t in sleep.tables] == ["Throughput and the model",
                                               "Latency and errors", "Resources"]
    assert [len(t.rows) for t in sleep.tables] == [3, 2, 2]  # n/a rows: one line instead
    for table in sleep.tables:
        assert all(len(r.cells) == len(table.columns) for r in table.rows)


# ---- interference ----

def test_interference_summary_row(model_stored):
    rows = _rows(model_stored)
    large = rows[("probe", "python-fastapi", "json_large")]
    # medians over two repeats of runner.model.probe.summarize_probe
    assert (large["probe_before_rps"], large["probe_during_min_rps"],
            large["probe_during_mean_rps"], large["probe_after_rps"],
            large["probe_longest_wait_s"]) == (945.0, 0.0, 178.0, 935.0, 3.0)
    assert large["heavy_window"] == (3, 13)
    assert large["probe_per_second"][:5] == [420, 950, 940, 610, 1]
    section = _section(*model_stored, "probe")
    assert section.type == "interference" and len(section.tables) == 1
    # the window the text names is the one the chart shades
    assert section.lead == ["Probe: GET /hello from one connection for the whole 16 s "
                            "window; the heavy load (wrk -d10s) started 3 s in; on the probe's "
                            "clock it ran in the seconds 3 to 13 (shaded in the chart: the "
                            "whole seconds it touched, so up to one more than -d)."]
    table = section.tables[0]
    assert _cells(table, "json_large items=40000") == {
        "impl": "python-fastapi", "server": "uvicorn",
        "heavy endpoint": "json_large items=40000", "heavy req/s (incl. ramp)": "2.74",
        "probe req/s before": "945", "lowest probe req/s during": "0",
        "mean probe req/s during": "178", "probe req/s after": "935",
        "longest probe wait": "3 s",
        "notes": "response_model of nested pydantic models, serialised on the event loop; "
                 "⚠ probe starved: at least one whole second without an answer during the "
                 "heavy load"}
    offloaded = _cells(table, "json_large_offloaded items=40000")
    assert (offloaded["lowest probe req/s during"], offloaded["longest probe wait"]) == (
        "280", "59.5 ms")
    assert section.verdict.notes[0] == ("Not served (n/a, the framework has no such "
                                        "mechanism): python-flask: json_large_offloaded.")
    assert [c.name for c in section.charts] == ["probe-probe"]


def test_interference_timeline_is_aligned_when_not_stored(model_stored):
    run, cases = model_stored
    copies = as_json(cases)
    for data in copies:
        for one in data["runs"]:
            one.pop("timeline", None)
    key = ("probe", "python-fastapi", "json_large")
    assert {k: v for k, v in _rows((run, copies))[key].items() if k.startswith("probe_")} == \
        {k: v for k, v in _rows(model_stored)[key].items() if k.startswith("probe_")}


# ---- the method ----

def test_method_cites_the_sources_of_the_limits(model_rendered):
    for text in (model_rendered["model.md"], model_rendered["model.html"]):
        for url in ("https://anyio.readthedocs.io/en/stable/threads.html",
                    "https://fastapi.tiangolo.com/async/",
                    "https://docs.python.org/3/library/concurrent.futures.html",
                    "https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code",
                    "https://docs.gunicorn.org/en/stable/design.html"):
            assert url in text
        for words in ("top out at 40 concurrent requests per worker",
                      "tops out at min(32, cores + 4)", "serialises everything",
                      "every 0.25 s", "INVALID", "A finite run undercounts",
                      "Interference scenarios"):
            assert words in text


def test_method_leaves_out_interference_when_the_run_has_none(stored, model_stored):
    assert "Interference scenarios" not in [p.title for p in view.build(*stored).method]
    assert "Interference scenarios" in [p.title for p in view.build(*model_stored).method]


def test_build_rows_order(stored):
    run, cases = stored
    # scenarios as first seen (file names put hello first), then impl, server, kind
    frame = build_rows(cases)
    assert list(zip(frame["scenario"], frame["impl"], frame["kind"])) == [
        ("hello", HOSTILE, "hello"), ("hello", "go", "hello"),
        ("sleep", "python-fastapi", "async_sleep"), ("sleep", "python-fastapi", "sync_sleep"),
        ("sleep", "python-flask", "async_sleep"), ("sleep", "python-flask", "sync_sleep")]
    # the reports follow the suite's own scenario order from run.json
    ordered = build_rows(view.ordered_cases(run, [as_case(c) for c in cases]))
    assert list(dict.fromkeys(ordered["scenario"])) == ["sleep", "hello"]


def test_suite_facts_come_from_the_stored_suite_text(stored):
    run, _ = stored
    assert view.suite_facts(run) == {"repeats": 3, "warmup": 2.0,
                                     "scenarios": ["sleep", "hello"]}
    assert view.suite_facts(run.model_copy(update={"suite_text": "wrk: nonsense"})) == {}
    assert view.suite_facts(StoredRunFile()) == {}


def test_environment_is_compact_and_skips_nulls(stored):
    block = view.build(*stored).environment
    facts, details = dict(block.facts), dict(block.details)
    # when, at which commit and under which load: per session, under Provenance
    assert list(facts) == ["CPU", "cores", "affinity", "memory", "kernel", "Python", "Go", "wrk"]
    assert facts["memory"] == "8.0 GiB" and facts["affinity"] == "0, 1"
    # every package of every implementation, folded away; go recorded none
    assert details["python-fastapi packages (2)"] == "fastapi==0.163.2, uvicorn==0.54.0"
    assert details["python-flask packages (2)"] == "flask==3.1.2, werkzeug==3.1.3"
    assert not any(label.startswith("go ") for label in details)
    assert details["command"] == "-m runner bench demo" and "OS" in details


def test_environment_keeps_unknown_facts_in_the_details():
    env = {"cores": 2, "git_commit": "abc", "git_dirty": True, "cpu_pinning": {"wrk": [1]},
           "numa": "one node", "packages": {"x": []}}
    block = view.build({"environment": env}, []).environment
    assert dict(block.facts) == {"cores": "2", "CPU pinning": "wrk: 1"}
    assert dict(block.details) == {"numa": "one node"}


def test_environment_in_both_formats_folds_the_packages(rendered):
    md, page = rendered["demo.md"], rendered["demo.html"]
    assert "<details><summary>Packages and other recorded facts</summary>" in md
    assert "- **python-flask packages (2)**: flask==3.1.2, werkzeug==3.1.3" in md
    assert "<details><summary>Packages and other recorded facts</summary>" in page
    assert "<dt>python-flask packages (2)</dt><dd>flask==3.1.2, werkzeug==3.1.3</dd>" in page


@pytest.mark.parametrize("seconds, text", [
    (1.0123, "1.01 s"), (0.035, "35 ms"), (0.00048, "480 µs"), (0.9996, "1 s"),
    (0.0000004, "400 ns"), (0, "0 s"), (None, "—"), (float("nan"), "—"), (100.0, "100 s")])
def test_format_seconds(seconds, text):
    assert view.format_seconds(seconds) == text


def test_a_column_of_seconds_reads_in_ms_below_10_s():
    from runner.units import format_in, seconds_unit
    unit = seconds_unit([0.0514, 1.02, 9.2])   # 50 ms beside 1 s: both in ms, no 0.0514
    assert unit[0] == "ms" and format_in(0.0514, unit) == "51.4" and format_in(1.02, unit) == "1,020"
    assert seconds_unit([0.05, 10.0])[0] == "s" and seconds_unit([])[0] == "s"


@pytest.mark.parametrize("rps, text", [(93.08, "93.1"), (45055.6, "45,056"), (5.234, "5.23"),
                                       (None, "—")])
def test_format_rps(rps, text):
    assert view.format_rps(rps) == text


# ---- the rendered reports ----

CHARTS = ["hello-latency", "hello-per-second", "hello-rate", "sleep-latency",
          "sleep-per-second", "sleep-rate"]
MODEL_CHARTS = ["probe-probe", "sleep-latency", "sleep-per-second", "sleep-rate"]


def test_render_all_paths(rendered):
    assert sorted(rendered) == [f"charts/demo-{c}.svg" for c in CHARTS] + ["demo.html",
                                                                          "demo.md"]


def test_markdown_snapshot(rendered):
    assert_snapshot("demo.md", rendered["demo.md"])


def test_html_snapshot(rendered):
    assert_snapshot("demo.html", rendered["demo.html"])


def test_model_run_snapshots(model_rendered):
    assert sorted(model_rendered) == [f"charts/model-{c}.svg" for c in MODEL_CHARTS] + [
        "model.html", "model.md"]
    assert_snapshot("model.md", model_rendered["model.md"])
    assert_snapshot("model.html", model_rendered["model.html"])
    links = re.findall(r"!\[[^\]]*\]\((charts/[^)]+\.svg)\)", model_rendered["model.md"])
    assert sorted(links) == [p for p in sorted(model_rendered) if p.startswith("charts/")]
    assert model_rendered["model.html"].count("<svg") == len(MODEL_CHARTS)


def test_markdown_links_every_chart(rendered):
    links = re.findall(r"!\[[^\]]*\]\((charts/[^)]+\.svg)\)", rendered["demo.md"])
    assert sorted(links) == sorted(p for p in rendered if p.startswith("charts/"))


def test_markdown_escapes_stored_text(rendered):
    text = rendered["demo.md"]
    assert HOSTILE not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "expected at least 1 s \\| body" in text  # a pipe in a reason stays in its cell


def test_html_shows_the_hostile_name_as_text(rendered):
    page = rendered["demo.html"]
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script") == 1  # the table sorter, nothing else


def test_html_is_self_contained(rendered):
    page = rendered["demo.html"]
    assert not re.search(r"""src\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page
    assert not re.search(r"""url\(\s*["']?(https?:)?//""", page)
    # the only remote addresses are the method's citations, plain links a reader may follow
    remote = re.findall(r"""<([\w:]+)[^>]*\s(?:xlink:)?href\s*=\s*["']?https?:""", page)
    assert remote and set(remote) == {"a"}
    assert page.count("<svg") == len(CHARTS) and "<?xml" not in page


def test_html_cells_sort_by_raw_values(rendered):
    page = rendered["demo.html"]
    assert '<td class="num" data-sort="93.08">93.1</td>' in page
    assert '<td class="num" data-sort="1.006">1,006</td>' in page   # ms below 10 s


def test_each_declared_figure_is_computed_and_shown_where_declared(stored):
    from runner.report.figures import FIGURES, Place, placed
    report = view.build(*stored)
    row = next(r for r in report.rows if r.id == "hello/go/net-http/hello")
    assert set(row.figures) == {f.key for f in FIGURES}
    assert row.figures["lat_p99_9"] is not None
    assert row.figures["lat_p99_9"] >= row.figures["lat_p99"]
    section = next(s for s in report.sections if s.name == "hello")
    latency = next(t for t in section.tables if t.title == "Latency and errors")
    headers = [c.header.split(" (")[0] for c in latency.columns]
    assert [f.header for f in placed(Place.LATENCY)] == headers[3:-1]
    resources = next(t for t in section.tables if t.title == "Resources")
    assert [c.header for c in resources.columns][3:] == [
        f.header for f in placed(Place.RESOURCES)]


def test_charts_are_valid_and_repeatable(stored):
    first = charts.render(view.build(*stored))
    assert sorted(first) == CHARTS
    for name, svg in first.items():
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
    assert charts.render(view.build(*stored)) == first
    assert "&lt;script&gt;" in first["hello-rate"]


def test_chart_ids_do_not_depend_on_digits_below_those_printed(monkeypatch):
    # matplotlib hashes a clip path's coordinates at full precision, and machines lay a
    # figure out differently there: a width nudged by 1e-12 stands in for another machine
    data = [{"label": "a\nb", "steady": 100.0, "rps": 100.0, "ceiling": 99.9,
             "efficiency": 1.0}, {"label": "c\nd", "steady": 40.0, "rps": 40.0,
                                  "ceiling": 39.9, "efficiency": 1.0}]
    first = charts._draw_all({"x-rate": ("0" * 64, "rate", data)})["x-rate"]
    monkeypatch.setattr(charts, "WIDTH", charts.WIDTH * (1 + 1e-12))
    second = charts._draw_all({"x-rate": ("0" * 64, "rate", data)})["x-rate"]
    assert first == second
    clip = re.search(r'<clipPath id="(x-rate-p\d+)"', first).group(1)
    assert f"url(#{clip})" in first
    assert not charts._HASHED_ID.search(first)


def test_numbered_ids_renames_definitions_and_references_only():
    svg = ('<clipPath id="p0123456789"/><path id="mabcdefabcd"/><use xlink:href="#mabcdefabcd"/>'
           '<g clip-path="url(#p0123456789)"><text>p0123456789</text></g>')
    assert charts.numbered_ids(svg, "s") == (
        '<clipPath id="s-p1"/><path id="s-m2"/><use xlink:href="#s-m2"/>'
        '<g clip-path="url(#s-p1)"><text>p0123456789</text></g>')


def test_renderers_take_charts_they_are_given(stored):
    run, cases = stored
    md = markdown_report.render(view.build(run, cases), {})
    assert "![" not in md
    page = html_report.render(view.build(run, cases), {"sleep-rate": '<?xml version="1.0"?>\n<svg id="x"/>'})
    assert '<svg id="x"/>' in page and "<?xml" not in page


def test_write_reports(tmp_path):
    seen = []
    folder = _copy_fixture(tmp_path)
    (folder / "junk.json").write_text("{")
    written = write_reports(folder, tmp_path / "out", on_problem=seen.append)
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == [
        f"charts/demo-{c}.svg" for c in CHARTS] + ["demo.html", "demo.md"]
    assert all(p.is_file() for p in written)
    assert len(seen) == 1 and "junk.json" in seen[0]


def test_latest_run_dir(tmp_path):
    for name in ("20261123T190000Z", "20261124T080000Z", "20251231T235959Z", "notes"):
        (tmp_path / "demo" / name).mkdir(parents=True)
    (tmp_path / "demo" / "20991231T000000Z.json").write_text("{}")  # a file, not a run
    assert latest_run_dir(tmp_path, "demo") == tmp_path / "demo" / "20261124T080000Z"
    assert latest_run_dir(tmp_path, "other") is None


def test_suite_name_cannot_leave_the_output_folder():
    assert view.suite_name(as_run({"suite": "../../etc"}), []) == "_.._etc"  # no "/" left
    assert view.suite_name(as_run({"suite": ".."}), []) == "suite"


# ---- the verdict ----

def _verdict(section: view.Section) -> list[dict]:
    return [{c.header: cell.text for c, cell in zip(section.verdict.columns, row.cells)}
            for row in section.verdict.rows]


def test_each_section_opens_with_a_compact_verdict(stored, model_stored):
    for run, cases in (stored, model_stored):
        for section in view.build(run, cases).sections:
            assert section.verdict.kind == "verdict" and len(section.verdict.columns) <= 8
            for column in section.verdict.columns:  # a column empty in every row is left out
                index = section.verdict.columns.index(column)
                assert any(r.cells[index].text not in ("", "—") for r in section.verdict.rows)
    sleep = _section(*stored, "sleep")
    assert [c.header for c in sleep.verdict.columns] == [
        "endpoint", "server", "steady (req/s)", "of best", "model allows (req/s)",
        "limited by", "p50 (ms)", "p99 (ms)"]
    rows = _verdict(sleep)
    # n/a combinations are a line under the table, not rows; a failed row stays and says why
    assert [r["endpoint"] for r in rows] == ["`async def` + `await asyncio.sleep`",
                                             "`def` handler (`time.sleep`)",
                                             "`time.sleep` in a view"]
    assert sleep.verdict.notes[-1] == ("Not served (n/a, the framework has no such "
                                       "mechanism): python-flask: async_sleep (flask-dev).")
    # a warning or a failure is a numbered footnote, the row keeps a few words and its mark
    assert sleep.verdict.notes[1].startswith("⚠² failed: check failed: GET /sync_sleep")
    fast, sync, failed = rows
    assert (fast["steady (req/s)"], fast["of best"], fast["p50 (ms)"]) == ("100", "100%", "1,006")
    assert (sync["steady (req/s)"], sync["model allows (req/s)"], sync["of best"]) == (
        "40", "39.9", "40%")
    assert sync["server"] == "python-fastapi · uvicorn"
    assert failed["steady (req/s)"] == "failed" and failed["limited by"] == "failed ⚠²"


def test_a_rate_without_a_steady_state_says_it_includes_the_ramp(stored):
    run, cases = stored
    short = as_json(cases)
    for data in short:
        for one in data["runs"]:
            one["wrk"]["per_second"] = [0, 90, 5]  # too short to leave out ramp and end
    fast = _verdict(_section(run, short, "sleep"))[0]
    assert fast["steady (req/s)"] == "93.1 (incl. ramp)"


def test_the_verdict_names_the_endpoint_by_its_label(stored):
    run, cases = stored
    page = render_all(run, cases)["demo.html"]
    assert "<code>def</code> handler (<code>time.sleep</code>)" in page
    older = as_json(cases)
    for data in older:
        data["case"].pop("label", None)  # a result stored before case.label: the kind
    assert _verdict(_section(run, older, "sleep"))[1]["endpoint"] == "sync_sleep"


def test_server_as_it_ran_comes_from_its_argv(stored):
    [base] = as_json([c for c in stored[1] if c["runs"] and not c["case"].get("settings")][:1])

    def data(argv, label="x-w9"):
        edited = json.loads(json.dumps(base))
        edited["case"]["server_label"] = label
        edited["runs"] = [{**edited["runs"][0], "server_argv": argv}]
        return as_case(edited)
    gthread = [".venv/bin/gunicorn", "app:app", "--worker-class", "gthread", "--workers", "1",
               "--threads", "4", "--bind", "127.0.0.1:4711"]
    assert describe.server_text(data(gthread)) == "gunicorn, 1 gthread worker × 4 threads"
    uvicorn = ["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "-w", "5"]
    assert describe.server_text(data(uvicorn)) == "gunicorn, 5 uvicorn workers"
    assert describe.server_text(data(["flask", "run", "--with-threads"])) == (
        "flask, a thread per request")
    assert describe.server_text(data(["bin/server", "-addr", "x"], "net-http")) == "net-http"
    assert describe.shown_argv(data(gthread)) == (
        ".venv/bin/gunicorn app:app --worker-class gthread --workers 1 --threads 4 "
        "--bind 127.0.0.1:{port}")
    # only the port is blanked: other numbers are settings a reader copies
    gevent = ["gunicorn", "--worker-class", "gevent", "--worker-connections", "1000", "--bind",
              "127.0.0.1:51234", "--timeout", "300"]
    assert describe.shown_argv(data(gevent)) == (
        "gunicorn --worker-class gevent --worker-connections 1000 --bind 127.0.0.1:{port} "
        "--timeout 300")
    assert describe.shown_argv(data(["node", "s.js", "--port", "4711"])) == "node s.js --port {port}"


def test_a_sweep_is_drawn_against_workers_and_keeps_no_fixed_note(stored):
    run, cases = stored
    base = next(c for c in cases if c["case"]["kind"] == "sync_sleep" and c["runs"])
    sweep = []
    for workers in (1, 2, 5):
        data = as_json([base])[0]
        data["case"].update(id=f"sleep/python-fastapi/g-w{workers}/sync_sleep",
                            server="g", server_label=f"g-w{workers}", workers=workers,
                            server_note="2 workers x 4 threads")
        for one in data["runs"]:
            one["server_argv"] = ["gunicorn", "--workers", str(workers)]
        sweep.append(data)
    [section] = view.build(run, sweep).sections
    assert [c.name for c in section.charts][0] == "sleep-sweep"
    assert all("2 workers x 4" not in line for line in section.servers)
    assert section.servers[0].startswith("python-fastapi g-w1: gunicorn, 1 worker; `gunicorn")
    [(_, draw, data)] = [v for k, v in charts.plan(view.build(run, sweep)).items() if k == "sleep-sweep"]
    assert [p[0] for p in data[0]["points"]] == [1, 2, 5]


def test_a_heavy_request_outliving_wrk_is_explained_and_hatched(model_stored):
    run, cases = model_stored
    stalled = as_json(cases)
    for data in stalled:
        if data["case"]["kind"] == "json_large":
            for one in data["runs"]:
                one["wrk"].update(requests=0, rps=0.0)
                one["check"] = {"service_s": 12.5}
    row = _case_rows((run, stalled))[("probe", "python-fastapi", "json_large")]
    verdict = report_cells.probe_verdict(row)
    assert "one alone took 12.5 s" in verdict and "outlasted wrk's 10 s run" in verdict
    [(_, _, data)] = [v for k, v in charts.plan(view.build(run, stalled)).items() if k == "probe-probe"]
    first = data[0]
    assert first["window"] == [3, 13]
    assert first["stall"] is None or first["stall"][0] == 13


# ---- provenance and wrk's two reports ----

def _resumed(cases: list[dict], kind: str) -> list[dict]:
    """`cases` with the `kind` cases measured by a later, resumed session at another commit."""
    out = as_json(cases)
    for data in out:
        if data["case"]["kind"] == kind:
            data["environment"] = {**data["environment"], "started_at": "2026-11-23T20:00:00Z",
                                   "git_commit": "1" * 40, "load_avg_at_start": [4.9, 3, 2],
                                   "argv": ["runner/__main__.py", "bench", "demo", "--resume"]}
    return out


def test_a_report_mixing_sessions_says_so_and_marks_the_rows(stored):
    run, cases = stored
    mixed = _resumed(cases, "hello")
    resumed = view.build(run.model_copy(update={"resumed_at": ["2026-11-23T20:00:00Z"],
                                                "resumed_finished_at": ["2026-11-23T20:05:00Z"]}),
                         mixed)
    lines, warning = resumed.sessions, resumed.warning
    assert warning.startswith("⚠ This report mixes commits and time windows: 2 sessions")
    assert lines[1] == ("resumed run (--resume) 2026-11-23 20:00:00 to 20:05:00 UTC at commit "
                        "1111111111, load average 4.90 at start: 2 cases")
    hello = _section(run, mixed, "hello")
    assert all(r.cells[0].text.endswith("†") for r in hello.verdict.rows)
    assert hello.verdict.notes[-1].startswith("† measured by another session than the rest: "
                                              "resumed run (--resume)")
    sleep = _section(run, mixed, "sleep")
    assert not any(r.cells[0].text.endswith("†") for r in sleep.verdict.rows)
    assert view.build(*stored).warning is None  # one session: nothing to warn about
    table = resumed.provenance
    assert {r.cells[1].text for r in table.rows} == {"1", "2 (resumed)"}


def test_text_and_lua_disagreements_are_flagged_and_counted(stored):
    run, cases = stored
    checked = as_json(cases)
    for data in checked:
        for one in data["runs"]:
            one["disagreements"] = []
            if data["case"]["kind"] == "sync_sleep":
                one["disagreements"] = ["requests: text 600, json 601"] if one["index"] == 0 else []
    rows = _verdict(_section(run, checked, "sleep"))
    assert rows[1]["endpoint"] == "`def` handler (`time.sleep`)‡"
    notes = _cells(_section(run, checked, "sleep").tables[0], "sync_sleep ms=1000")["notes"]
    assert "repeat 1 wrk text vs Lua: requests: text 600, json 601" in notes
    [part] = [p for p in view.build(run, checked).method if p.title == "wrk's two reports"]
    assert "they disagreed in 1" in part.paragraphs[0]
    [part] = [p for p in view.build(*stored).method if p.title == "wrk's two reports"]
    assert "predate that check" in part.paragraphs[0]  # the demo's runs have no field


def test_no_absolute_path_is_printed(stored):
    run, cases = stored
    moved = as_json(cases)
    for data in moved:
        data["environment"]["argv"] = ["/home/someone/concbench/runner/__main__.py", "bench"]
        for one in data["runs"]:
            one["server_argv"] = ["/home/someone/concbench/impls/x/.venv/bin/uvicorn", "app:app"]
    files = render_all(run.model_copy(update={"environment": moved[0]["environment"]}), moved)
    for name in ("demo.md", "demo.html"):
        assert "/home/someone" not in files[name]


# ---- fast re-rendering ----

def test_charts_are_redrawn_only_when_their_input_changed(stored, monkeypatch):
    run, cases = stored
    first = render_all(run, cases)
    svgs = {k: v for k, v in first.items() if k.startswith("charts/")}
    assert all(charts.stored_hash(v) for v in svgs.values())

    def no_drawing(todo):
        raise AssertionError(f"redrew {sorted(todo)}")
    monkeypatch.setattr(charts, "_draw_all", no_drawing)
    assert render_all(run, cases, svgs) == first
    changed = as_json(cases)
    changed[0]["runs"][0]["wrk"]["per_second"] = [1, 2, 3, 4]
    drawn = []
    monkeypatch.setattr(charts, "_draw_all", lambda todo: drawn.extend(todo) or {
        name: svgs[markdown_report.chart_path("demo", name)] for name in todo})
    render_all(run, changed, svgs)
    assert drawn and len(drawn) < len(svgs)


def test_rendering_imports_neither_pandas_nor_matplotlib_when_nothing_changed(tmp_path):
    out = tmp_path / "out"
    write_reports(RUN_DIR, out)
    code = ("import sys; from pathlib import Path; from runner.report import write_reports; "
            f"write_reports(Path({str(RUN_DIR)!r}), Path({str(out)!r})); "
            "print(sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules))")
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=HERE.parent, check=True)
    assert done.stdout.strip() == "[]"


def test_stale_charts_of_the_suite_are_removed(tmp_path):
    out = tmp_path / "out"
    (out / "charts").mkdir(parents=True)
    (out / "charts" / "demo-sleep-rps.svg").write_text("<svg/>")
    (out / "charts" / "other-sleep-rps.svg").write_text("<svg/>")
    write_reports(RUN_DIR, out)
    assert not (out / "charts" / "demo-sleep-rps.svg").exists()
    assert (out / "charts" / "other-sleep-rps.svg").exists()


# ---- the README ----

def test_readme_summary_block_is_replaced_between_its_markers(stored):
    block = readme.summary(view.build(*stored))
    start = readme.START.format(suite="demo")
    text = f"intro\n{start}\nold table\n{readme.END}\nafter\n"
    updated = readme.update(text, "demo", block)
    assert updated == f"intro\n{start}\n{block}\n{readme.END}\nafter\n"
    assert readme.update(updated, "demo", block) == updated
    assert readme.update("no markers", "demo", block) == "no markers"
    assert "| endpoint" in block and "steady (req/s)" in block


def test_readme_and_the_reference_report_agree():
    """README.md's summary is what `./just report` generates from the stored default run."""
    repo = HERE.parent
    from runner.__main__ import guide_for
    from runner.config.manifest import load_impls
    run_dir = latest_run_dir(repo / "reports" / "raw", "default")
    run, cases, _ = load_run(run_dir)
    built = view.build(run, cases, guide_for("default", load_impls(repo / "impls")))
    text = (repo / "README.md").read_text(encoding="utf-8")
    assert readme.current(text, "default") == readme.summary(built), (
        "README.md's summary differs from the stored default run: run `./just report default`")
    report = " ".join((repo / "reports" / "default.md").read_text(encoding="utf-8").split())
    for finding in built.findings:   # the same Findings open the report (its prose wrapped)
        assert " ".join(markdown_report.escape_md(finding.text).split()) in report


def test_two_endpoints_said_the_same_way_are_told_apart_by_their_kind(stored):
    from runner.report.table import compute_rows
    _, cases = stored
    (sync,) = [c for c in cases if c["case"]["id"] == "sleep/python-fastapi/uvicorn/sync_sleep"]
    twin = as_json([sync])[0]
    twin["case"].update(kind="executor_sleep", id="sleep/python-fastapi/uvicorn/executor_sleep")
    rows = {r.kind: r.label for r in compute_rows([sync, twin])}
    label = sync["case"]["label"]
    assert rows == {"sync_sleep": f"{label} (sync_sleep)",
                    "executor_sleep": f"{label} (executor_sleep)"}
    assert [r.label for r in compute_rows([sync])] == [label]


def test_the_runner_reads_its_repeats_as_the_reports_do():
    # bench's early stop reads the repeats it just wrote through the same records and the
    # same steady rate as the reports
    from runner.measure.bench import agreeing_repeats
    data = json.loads((RUN_DIR / "sleep__python-fastapi__uvicorn__async_sleep.json").read_text())
    first, second = data["runs"][:2]
    assert agreeing_repeats([first, second], 0.01) == ("the first two repeats agree within "
                                                       "1%: no third")
    slower = json.loads(json.dumps(second))
    slower["wrk"]["per_second"] = [0] + [90] * 13 + [89]
    assert agreeing_repeats([first, slower], 0.01) is None   # steady 100 against 90
    assert agreeing_repeats([first, slower], 0.2) is not None
    assert agreeing_repeats([first], 0.01) is None and agreeing_repeats([first, second], None) is None


def test_other_load_during_a_case_is_named_in_the_provenance(stored):
    run, cases = stored
    busy = json.loads(json.dumps(cases))
    busy[0]["other_load"] = [{"pid": 4711, "name": "wrk", "command": "wrk -t2 -c50 http://x",
                              "seen": ["start", "end"]}]
    report = view.build(run, busy)
    line = (f"⚠ other load on the machine during {busy[0]['case']['id']}: wrk (pid 4711, at "
            "its start and end: wrk -t2 -c50 http://x)")
    assert line in report.sessions
    rendered = " ".join(markdown_report.render(report, {}).split())   # prose is wrapped
    assert markdown_report.escape_md(line) in rendered
    assert not any("other load" in s for s in view.build(run, cases).sessions)


def test_long_prose_is_wrapped_without_changing_what_renders():
    from runner.report.markdown import wrap_prose
    words = " ".join(f"word{i}" for i in range(60))
    source = "\n".join([
        "- **Q?** " + words + " - not a list " + "# not a heading " + words,
        "> " + words,
        "| a | " + words + " |",
        "# " + words,
        "```", words, "```",
        words])
    wrapped = wrap_prose(source, width=80)
    lines = wrapped.split("\n")
    assert all(len(line) <= 80 for line in lines
               if not line.startswith(("|", "#")) and line != words)
    # tables, headings and fenced code stay whole; list items and quotes continue as such
    assert "| a | " + words + " |" in lines and "# " + words in lines and words in lines
    item = lines[:lines.index(next(line for line in lines if line.startswith("> ")))]
    assert item[0].startswith("- **Q?**") and all(line.startswith("  ") for line in item[1:])
    assert not any(line.lstrip().startswith(("- ", "# ")) for line in item[1:])
    assert " ".join(" ".join(line.split()) for line in item).replace("- **Q?** ", "", 1) == (
        words + " - not a list # not a heading " + words)
    quote = [line for line in lines if line.startswith("> ")]
    assert len(quote) > 1 and " ".join(line[2:] for line in quote) == words
