"""`runner.report.compare`: exact verdicts on hand-made runs, the rendered text, and run folders.

Run folders are built in a tmp dir from the synthetic run in tests/fixtures/results/demo/
by copying it and editing numbers.
"""

import json
import shutil
from pathlib import Path

import pytest

from runner.report.compare import (RULE, compare_rows, render_compare, run_compare,
                            summary_line)
from runner.errors import BenchError

HERE = Path(__file__).parent
DEMO = HERE / "fixtures" / "results" / "demo" / "20261123T190000Z"


BASE = json.loads((DEMO / "sleep__python-fastapi__uvicorn__async_sleep.json").read_text())


def case(case_id: str, rps: list[float], p99: list[float] | None = None,
         status: str = "ok") -> dict:
    """A stored case file with one repeat per req/s value (p99 defaults to 10 ms each),
    the rest of it from the demo run's first FastAPI case."""
    scenario, impl, server, kind = case_id.split("/")
    p99 = p99 if p99 is not None else [0.010] * len(rps)
    runs = [{"index": i, "started_at": "2026-11-23T19:00:00Z", "server_argv": ["server"],
             "check": {}, "wrk": {"rps": r, "latency_s": {"p99": p, "p50": p / 2,
                                                         "p99_9": 2 * p}}}
            for i, (r, p) in enumerate(zip(rps, p99))]
    data = json.loads(json.dumps(BASE))
    data["case"].update(id=case_id, scenario=scenario, impl=impl, server=server,
                        server_label=server, kind=kind, params={"ms": 100})
    data.update(status=status, reason="boom" if status == "failed" else None,
                runs=[] if status != "ok" else runs)
    return data


def verdicts(rows) -> dict[str, tuple[str, str]]:
    return {row["id"]: (row["verdict"], row["p99_verdict"]) for row in rows}


def by_id(rows) -> dict[str, dict]:
    return {row["id"]: row for row in rows}


def test_ranges_that_do_not_overlap_are_real_changes():
    a = [case("s/i/v/up", [100, 110, 105]), case("s/i/v/down", [100, 110, 105])]
    b = [case("s/i/v/up", [111, 120, 115]), case("s/i/v/down", [90, 99, 95])]
    assert verdicts(compare_rows(a, b)) == {
        "s/i/v/up": ("faster", "within spread"),
        "s/i/v/down": ("slower", "within spread")}


def test_overlapping_ranges_are_within_spread_even_when_the_median_moves():
    a = [case("s/i/v/k", [100, 110, 101])]
    b = [case("s/i/v/k", [109, 140, 139])]   # median +37%, but 109 <= 110
    rows = compare_rows(a, b)
    assert verdicts(rows) == {"s/i/v/k": ("within spread", "within spread")}
    assert rows[0]["rps_change_pct"] == pytest.approx((139 - 101) / 101 * 100)


def test_ranges_that_touch_overlap():
    a = [case("s/i/v/k", [100, 110])]
    b = [case("s/i/v/k", [110, 120])]
    assert verdicts(compare_rows(a, b))["s/i/v/k"][0] == "within spread"


def test_p99_uses_the_per_repeat_p99_and_lower_is_faster():
    a = [case("s/i/v/lower", [100, 100], [0.020, 0.022]),
         case("s/i/v/higher", [100, 100], [0.020, 0.022]),
         case("s/i/v/same", [100, 100], [0.020, 0.022])]
    b = [case("s/i/v/lower", [100, 100], [0.010, 0.012]),
         case("s/i/v/higher", [100, 100], [0.030, 0.032]),
         case("s/i/v/same", [100, 100], [0.021, 0.040])]
    rows = compare_rows(a, b)
    assert verdicts(rows) == {"s/i/v/lower": ("within spread", "faster"),
                              "s/i/v/higher": ("within spread", "slower"),
                              "s/i/v/same": ("within spread", "within spread")}
    assert by_id(rows)["s/i/v/lower"]["p99_change_pct"] == pytest.approx(-47.619, 1e-3)
    assert by_id(rows)["s/i/v/lower"]["p99_a"] == pytest.approx(0.021)


def test_every_figure_declared_for_compare_gets_its_own_verdict():
    # p99.9 is declared once (runner/report/figures.py) and compared like p99
    a = [case("s/i/v/x", [100, 100], [0.020, 0.022])]
    b = [case("s/i/v/x", [100, 100], [0.030, 0.032])]
    for lua in b[0]["runs"]:
        lua["wrk"]["latency_s"]["p99_9"] = 0.010   # p99 up, p99.9 down
    row = by_id(compare_rows(a, b))["s/i/v/x"]
    assert (row["p99_verdict"], row["p99_9_verdict"]) == ("slower", "faster")
    assert row["p99_9_a"] == pytest.approx(0.042) and row["p99_9_b"] == pytest.approx(0.010)
    header = render_compare("A", "B", [row]).splitlines()
    assert any("p99.9 verdict" in line for line in header)


def test_one_repeat_has_no_spread_so_no_verdict():
    a = [case("s/i/v/k", [100])]
    b = [case("s/i/v/k", [200, 210, 220])]
    rows = compare_rows(a, b)
    assert verdicts(rows) == {"s/i/v/k": ("no spread", "no spread")}
    assert rows[0]["rps_change_pct"] == pytest.approx(110.0)


def test_rows_missing_from_one_run():
    a = [case("s/i/v/both", [1, 2]), case("s/i/v/gone", [1, 2])]
    b = [case("s/i/v/new", [1, 2]), case("s/i/v/both", [1, 2])]
    rows = compare_rows(a, b)
    assert [row["id"] for row in rows] == ["s/i/v/both", "s/i/v/gone", "s/i/v/new"]
    assert verdicts(rows) == {"s/i/v/both": ("within spread", "within spread"),
                              "s/i/v/gone": ("only in A", "only in A"),
                              "s/i/v/new": ("only in B", "only in B")}
    gone = by_id(rows)["s/i/v/gone"]
    assert gone["status_a"] == "ok" and gone["status_b"] is None
    assert gone["rps_a"] == 1.5 and gone["rps_b"] is None and gone["rps_change_pct"] is None


def test_failed_and_na_rows():
    a = [case("s/i/v/fa", [], status="failed"), case("s/i/v/fb", [1, 2]),
         case("s/i/v/ff", [], status="failed"), case("s/i/v/na", [], status="na"),
         case("s/i/v/na-b", [1, 2])]
    b = [case("s/i/v/fa", [1, 2]), case("s/i/v/fb", [], status="failed"),
         case("s/i/v/ff", [], status="failed"), case("s/i/v/na", [], status="na"),
         case("s/i/v/na-b", [], status="na")]
    rows = compare_rows(a, b)
    assert {k: v[0] for k, v in verdicts(rows).items()} == {
        "s/i/v/fa": "failed in A", "s/i/v/fb": "failed in B", "s/i/v/ff": "failed in both",
        "s/i/v/na": "n/a", "s/i/v/na-b": "n/a in B"}
    assert all(row["verdict"] == row["p99_verdict"] for row in rows)


def test_render_has_the_table_the_summary_line_and_the_rule():
    a = [case("s/i/v/up", [100, 110]), case("s/i/v/same", [100, 110]),
         case("s/i/v/gone", [1, 2]), case("s/i/v/bad", [], status="failed")]
    b = [case("s/i/v/up", [200, 210]), case("s/i/v/same", [105, 106]),
         case("s/i/v/bad", [1, 2])]
    rows = compare_rows(a, b)
    text = render_compare("quick/AAA", "quick/BBB", rows)
    assert text.startswith("# Comparison: A = quick/AAA, B = quick/BBB\n")
    summary = ("4 cases. req/s: 1 faster, 0 slower, 1 within spread, 1 only in one run, "
               "1 failed. p99: 0 faster, 0 slower, 2 within spread, 1 only in one run, "
               "1 failed. p99.9: 0 faster, 0 slower, 2 within spread, 1 only in one run, "
               "1 failed.")
    assert summary_line(rows) == summary
    assert summary in text.splitlines()
    assert RULE in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| case"))
    assert "req/s A" in header and "p99 verdict" in header
    up = next(line for line in lines if "s/i/v/up" in line)
    # the reports' own number formats: 105 req/s, 10 ms, "—" for what does not exist
    assert "+95.2%" in up and "faster" in up and "| 10 ms" in up and " 105 |" in up
    assert "failed/ok" in next(line for line in lines if "s/i/v/bad" in line)
    assert "ok/—" in next(line for line in lines if "s/i/v/gone" in line)


def test_render_of_nothing():
    text = render_compare("a", "b", compare_rows([], []))
    assert "(no cases in either run)" in text
    assert "0 cases." in text


def copy_demo(dest: Path, scale: float) -> Path:
    """The demo run under dest/demo/<run_id>, every rate (wrk's req/s and its completions
    per second) multiplied by `scale`."""
    run_dir = dest / "demo" / DEMO.name
    shutil.copytree(DEMO, run_dir)
    for path in run_dir.glob("*.json"):
        data = json.loads(path.read_text())
        for run in data.get("runs") or []:
            if (run.get("wrk") or {}).get("rps") is not None:
                run["wrk"]["rps"] *= scale
                run["wrk"]["per_second"] = [round(v * scale)
                                            for v in run["wrk"].get("per_second") or []]
        path.write_text(json.dumps(data))
    return run_dir


def test_run_compare_on_two_run_folders(tmp_path):
    a = copy_demo(tmp_path / "a", 1.0)
    b = copy_demo(tmp_path / "b", 1.5)
    (b / "stray.json").write_text("{not json")
    text = run_compare(a, b)
    assert f"A = demo/{DEMO.name}, B = demo/{DEMO.name}" in text
    by_case = {line.split("|")[1].strip(): line for line in text.splitlines()
               if line.startswith("| ") and "/" in line.split("|")[1]}
    assert "faster" in by_case["sleep/python-fastapi/uvicorn/async_sleep"]
    assert "+50.0%" in by_case["sleep/python-fastapi/uvicorn/async_sleep"]
    # stored names are escaped as the reports escape them: a hostile one shows as text
    assert "no spread" in by_case["hello/&lt;script&gt;alert(1)&lt;/script&gt;/default/hello"]
    assert "failed in both" in by_case["sleep/python-flask/flask-dev-single-thread/sync_sleep"]
    assert "| n/a" in by_case["sleep/python-flask/flask-dev/async_sleep"]
    skipped = [line for line in text.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == 1 and "stray.json" in skipped[0]


def test_run_compare_with_itself_is_all_within_spread(tmp_path):
    text = run_compare(DEMO, DEMO)
    assert ("6 cases. req/s: 0 faster, 0 slower, 3 within spread, 0 only in one run, "
            "1 failed, 1 n/a, 1 without spread (1 repeat).") in text


def test_run_compare_names_a_missing_folder(tmp_path):
    missing = tmp_path / "nope" / "20260101T000000Z"
    with pytest.raises(BenchError, match="nope/20260101T000000Z"):
        run_compare(DEMO, missing)
    with pytest.raises(BenchError, match="nope/20260101T000000Z"):
        run_compare(missing, DEMO)


def test_the_steady_rate_is_compared_where_both_runs_have_one():
    def with_ramp(case_id, per_second, rps):
        data = case(case_id, rps)
        for run, counts in zip(data["runs"], per_second):
            run["wrk"]["per_second"] = counts
        return data
    # wrk's whole-run rate moves by 5 % (a shorter ramp), the steady rate not at all
    a = [with_ramp("s/i/v/k", [[0, 100, 100, 100, 50]] * 2, [93, 94])]
    b = [with_ramp("s/i/v/k", [[0, 100, 100, 100, 50]] * 2, [98, 99])]
    rows = compare_rows(a, b)
    assert rows[0]["rate"] == "steady" and rows[0]["rps_a"] == 100.0
    assert verdicts(rows)["s/i/v/k"][0] == "within spread"
    # one side without a steady rate: both sides fall back to wrk's, and say so
    c = [case("s/i/v/k", [98, 99])]
    rows = compare_rows(a, c)
    assert rows[0]["rate"] == "incl. ramp" and verdicts(rows)["s/i/v/k"][0] == "faster"
