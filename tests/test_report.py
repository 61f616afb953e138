"""Reports from the synthetic stored run in tests/fixtures/results/demo/.

The whole Markdown and HTML reports are compared with snapshots in tests/snapshots/, so
any change to a report shows up in review. After an intended change, rewrite them with
`UPDATE_SNAPSHOTS=1 uv run pytest tests/test_report.py` and read the diff.
"""

import difflib
import json
import math
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from runner.report import (charts, latest_run_dir, load_run, render_all, view,
                           write_reports)
from runner.report import html as html_report
from runner.report import markdown as markdown_report
from runner.report.table import build_rows

HERE = Path(__file__).parent
RUN_DIR = HERE / "fixtures" / "results" / "demo" / "20261123T190000Z"
SNAPSHOTS = HERE / "snapshots"
HOSTILE = "<script>alert(1)</script>"


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


@pytest.fixture(scope="module")
def stored():
    run, cases, problems = load_run(RUN_DIR)
    assert problems == []
    return run, cases


@pytest.fixture(scope="module")
def rendered(stored):
    return render_all(*stored)


# ---- loading ----

def test_fixture_is_marked_synthetic(stored):
    run, cases = stored
    assert run["synthetic"] is True
    assert len(cases) == 6
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

    assert len(cases) == 6
    assert len(problems) == 4
    for name, words in [("corrupt.json", "not readable JSON"), ("foreign.json", "someone.else"),
                        ("future.json", "unknown version 99"), ("list.json", "JSON object")]:
        [line] = [p for p in problems if name in p]
        assert words in line and "\n" not in line
    files = render_all(run, cases)
    assert "python-fastapi" in files["demo.md"]


def test_a_case_from_another_run_is_skipped(tmp_path):
    folder = _copy_fixture(tmp_path)
    stray = json.loads((folder / "hello__go__net-http__hello.json").read_text())
    (folder / "stray.json").write_text(json.dumps({**stray, "run_id": "20250101T000000Z"}))
    _, cases, problems = load_run(folder)
    assert len(cases) == 6
    assert problems == [f"{folder / 'stray.json'}: belongs to run 20250101T000000Z, "
                        "not 20261123T190000Z; skipped"]


def test_missing_or_broken_run_json_still_renders(tmp_path):
    folder = _copy_fixture(tmp_path)
    (folder / "run.json").write_text("not json")
    run, cases, problems = load_run(folder)
    assert run == {} and len(cases) == 6
    assert [p for p in problems if "run.json" in p]
    (folder / "run.json").unlink()
    run, cases, problems = load_run(folder)
    files = render_all(run, cases)
    assert set(files) >= {"demo.md", "demo.html"}  # suite name from the case files
    assert "## Environment" in files["demo.md"]  # environment from the case files


# ---- the table ----

def test_build_rows_values(stored):
    frame = build_rows(stored[1])
    assert len(frame) == 6
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
    assert sync["note"] == "def handler: runs in the thread pool"

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


def test_build_rows_order(stored):
    run, cases = stored
    # scenarios as first seen (file names put hello first), then impl, server, kind
    frame = build_rows(cases)
    assert list(zip(frame["scenario"], frame["impl"], frame["kind"])) == [
        ("hello", HOSTILE, "hello"), ("hello", "go", "hello"),
        ("sleep", "python-fastapi", "async_sleep"), ("sleep", "python-fastapi", "sync_sleep"),
        ("sleep", "python-flask", "async_sleep"), ("sleep", "python-flask", "sync_sleep")]
    # the reports follow the suite's own scenario order from run.json
    ordered = build_rows(view.ordered_cases(run, cases))
    assert list(dict.fromkeys(ordered["scenario"])) == ["sleep", "hello"]


def test_suite_facts_come_from_the_stored_suite_text(stored):
    run, _ = stored
    assert view.suite_facts(run) == {"repeats": 3, "warmup": 2.0,
                                     "scenarios": ["sleep", "hello"]}
    assert view.suite_facts({**run, "suite_text": "wrk: nonsense"}) == {}
    assert view.suite_facts({}) == {}


def test_environment_is_compact_and_skips_nulls(stored):
    items = dict(view.environment_items(*stored))
    assert items["memory"] == "8.0 GiB" and items["uncommitted changes"] == "no"
    assert items["argv"] == "-m runner bench demo"
    assert items["packages"] == "python-fastapi: fastapi==0.163.2, uvicorn==0.54.0"
    assert "started" in items and "finished" in items


@pytest.mark.parametrize("seconds, text", [
    (1.0123, "1.01 s"), (0.035, "35 ms"), (0.00048, "480 µs"), (0.9996, "1 s"),
    (0.0000004, "400 ns"), (0, "0 s"), (None, "—"), (float("nan"), "—"), (100.0, "100 s")])
def test_format_seconds(seconds, text):
    assert view.format_seconds(seconds) == text


@pytest.mark.parametrize("rps, text", [(93.08, "93.1"), (45055.6, "45,056"), (5.234, "5.23"),
                                       (None, "—")])
def test_format_rps(rps, text):
    assert view.format_rps(rps) == text


# ---- the rendered reports ----

def test_render_all_paths(rendered):
    assert sorted(rendered) == ["charts/demo-hello-latency.svg", "charts/demo-hello-rps.svg",
                                "charts/demo-sleep-latency.svg", "charts/demo-sleep-rps.svg",
                                "demo.html", "demo.md"]


def test_markdown_snapshot(rendered):
    assert_snapshot("demo.md", rendered["demo.md"])


def test_html_snapshot(rendered):
    assert_snapshot("demo.html", rendered["demo.html"])


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
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page
    assert page.count("<svg") == 4 and "<?xml" not in page


def test_html_cells_sort_by_raw_values(rendered):
    page = rendered["demo.html"]
    assert '<td class="num" data-sort="93.08">93.1</td>' in page
    assert '<td class="num" data-sort="1.006">1.01 s</td>' in page


def test_charts_are_valid_and_repeatable(stored):
    first = charts.render(*stored)
    assert sorted(first) == ["hello-latency", "hello-rps", "sleep-latency", "sleep-rps"]
    for name, svg in first.items():
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
    assert charts.render(*stored) == first
    assert "&lt;script&gt;" in first["hello-rps"]


def test_renderers_take_charts_they_are_given(stored):
    run, cases = stored
    md = markdown_report.render(run, cases, {})
    assert "![" not in md
    page = html_report.render(run, cases, {"sleep-rps": '<?xml version="1.0"?>\n<svg id="x"/>'})
    assert '<svg id="x"/>' in page and "<?xml" not in page


def test_write_reports(tmp_path):
    seen = []
    folder = _copy_fixture(tmp_path)
    (folder / "junk.json").write_text("{")
    written = write_reports(folder, tmp_path / "out", on_problem=seen.append)
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == [
        "charts/demo-hello-latency.svg", "charts/demo-hello-rps.svg",
        "charts/demo-sleep-latency.svg", "charts/demo-sleep-rps.svg", "demo.html", "demo.md"]
    assert all(p.is_file() for p in written)
    assert len(seen) == 1 and "junk.json" in seen[0]


def test_latest_run_dir(tmp_path):
    for name in ("20261123T190000Z", "20261124T080000Z", "20251231T235959Z", "notes"):
        (tmp_path / "demo" / name).mkdir(parents=True)
    (tmp_path / "demo" / "20991231T000000Z.json").write_text("{}")  # a file, not a run
    assert latest_run_dir(tmp_path, "demo") == tmp_path / "demo" / "20261124T080000Z"
    assert latest_run_dir(tmp_path, "other") is None


def test_suite_name_cannot_leave_the_output_folder():
    assert view.suite_name({"suite": "../../etc"}, []) == "_.._etc"  # no "/" left
    assert view.suite_name({"suite": ".."}, []) == "suite"
