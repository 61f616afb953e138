"""The charts as a reader sees them (runner/report/charts.py).

- Every label is whole: no chart text is shortened with "…", and the endpoint and the
  server of each row appear in full in every chart that shows the row, even where two
  configurations differ only in their last word (4 against 40).
- The panels of one small-multiples chart share their y scale, unless a linear scale
  cannot show them all (peaks more than 30x apart): then each panel has its own, and its
  title says so. The open chart's log latency axis is always shared.
- A series over time is the median repeat's, the one the tables' medians describe: the
  per-second chart draws the repeat whose req/s is the median (the lower middle of an
  even count), the probe chart the repeat whose probe rate during the heavy load is.
"""

import statistics
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runner.model.predict import steady_state_rps
from runner.model.probe import summarize_probe
from runner.report import cells, charts, load_run, view
from runner.report.table import compute_rows
from runner.store.results import latest_run_dir

HERE = Path(__file__).parent
DEMO = HERE / "fixtures" / "results" / "demo" / "20261123T190000Z"
MODEL = HERE / "fixtures" / "results" / "model" / "20261124T090000Z"
REFERENCE = HERE.parent / "reports" / "raw"
SVG_TEXT = "{http://www.w3.org/2000/svg}text"


def stored(run_dir: Path) -> tuple:
    """A stored run and its cases as JSON, to edit."""
    run, cases, problems = load_run(run_dir)
    assert problems == []
    return run, [c.model_dump(mode="json", exclude_unset=True) for c in cases]


def texts(svg: str) -> list[str]:
    """Every <text> of a chart, in document order (one per line of a label)."""
    return [t.text or "" for t in ET.fromstring(svg).iter(SVG_TEXT)]


def drawn(draw: str, data: list):
    """The matplotlib Figure of one chart, drawn as `charts.render` draws it."""
    import matplotlib.style
    with matplotlib.style.context(["default", {"svg.fonttype": "none", "font.size": 9}]):
        return charts.DRAW[draw](data)


def shown_rows(report: view.Report, chart: str) -> list:
    """The rows of the section that has `chart`."""
    return next(list(s.rows) for s in report.sections for c in s.charts if c.name == chart)


# ---- whole labels ----

def _long_labels(cases: list[dict]) -> dict[str, tuple[str, str]]:
    """Two sleep cases renamed to long labels differing only in their last word; the
    case kind -> its (endpoint, server) as a chart must show them."""
    names = {}
    for data, n in zip([c for c in cases if c["case"]["scenario"] == "sleep"][:2], (4, 40)):
        endpoint = ("def handler that waits on a pool whose size the suite sets through "
                    f"the environment and then answers, variant {n}")
        server = f"uvicorn behind a limiter configured through the environment, tokens {n}"
        data["case"].update(label=endpoint, server_label=server)
        for run in data["runs"]:
            run["server_argv"] = []  # no argv: the server is shown by its label
        names[data["case"]["kind"]] = (endpoint, f"{data['case']['impl']} · {server}")
    return names


def test_long_labels_are_whole_in_every_chart_that_shows_them():
    run, cases = stored(DEMO)
    names = _long_labels(cases)
    report = view.build(run, cases)
    svgs = charts.render(report)
    for name in ("sleep-rate", "sleep-latency", "sleep-per-second"):
        text = texts(svgs[name])
        assert not [t for t in text if "…" in t], name
        joined = " ".join(text)
        for endpoint, server in names.values():
            assert endpoint in joined and server in joined, (name, endpoint, server)
        # wrapped onto several lines, none longer than the chart allows
        width = charts.BAR_LABEL if name != "sleep-per-second" else charts.PANEL_LABEL
        lines = [t for t in text if any(word in t for word in ("variant", "limiter"))]
        assert len(lines) >= 4 and max(map(len, lines)) <= width, lines


def test_wrapping_breaks_at_commas_and_keeps_brackets_whole():
    server = "go · net-http, database/sql max open (and idle) connections 100"
    assert charts.wrap(server, 40) == ["go · net-http,", "database/sql max open",
                                       "(and idle) connections 100"]
    assert charts.wrap("python-flask · gunicorn, 2 gthread workers × 4 threads", 40) == [
        "python-flask · gunicorn,", "2 gthread workers × 4 threads"]
    # short settings share a line; a word longer than the width stays whole
    assert charts.wrap("a, b, c", 40) == ["a, b, c"]
    assert charts.wrap("x" * 50, 40) == ["x" * 50]


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["default", "sweeps"])
def test_no_chart_of_the_reference_runs_shortens_a_label(suite):
    # the stored reference runs: their servers differ in their last words ("psycopg_pool
    # connections 40", "2 gthread workers × 4 threads"), where shortened labels were cut
    run, cases, _ = load_run(latest_run_dir(REFERENCE, suite))
    report = view.build(run, cases)
    planned = charts.plan(report)
    for name, svg in charts.render(report).items():
        text = texts(svg)
        assert not [t for t in text if "…" in t], name
        draw, data = planned[name][1], planned[name][2]
        width = 50 if draw == "sweep" else None  # the sweep wraps its legend when drawn
        for item in data:
            lines = charts.wrap(item["label"], width) if width else item["label"].split("\n")
            assert all(line in text for line in lines), (name, lines)
    for section in report.sections:
        for row in section.rows:
            whole = f"{str(row.label).replace('`', '')} {cells.server_name(row)}"
            for width in (charts.BAR_LABEL, charts.PANEL_LABEL):
                assert " ".join(charts.chart_label(row, width).split("\n")) == whole


# ---- one y scale per figure ----

def _per_second(peaks: list[int]) -> list[dict]:
    return [{"label": f"endpoint {n}\nserver {n}", "counts": [0] + [peak] * 8 + [peak // 2],
             "repeat": "1 of 1, the median by req/s"} for n, peak in enumerate(peaks)]


def test_panels_within_30x_share_one_y_scale():
    figure = drawn("per-second", _per_second([100, 40, 10, 4]))
    limits = {axes.get_ylim() for axes in figure.axes}
    assert len(limits) == 1 and limits.pop()[0] == 0
    assert not any("own y scale" in axes.get_title() for axes in figure.axes)
    # the 4 req/s panel is drawn on the 100 req/s panel's scale
    assert figure.axes[3].get_ylim()[1] >= 100


def test_panels_too_far_apart_have_their_own_scales_and_say_so():
    figure = drawn("per-second", _per_second([45000, 1]))
    big, small = figure.axes
    assert big.get_ylim()[1] >= 45000 and small.get_ylim()[1] < 2
    assert big.get_title().endswith("(own y scale: peak 45,000/s)")
    assert small.get_title().endswith("(own y scale: peak 1/s)")


def test_the_probe_panels_of_a_stored_run_share_one_y_scale():
    run, cases = stored(MODEL)
    [(_, draw, data)] = [v for k, v in charts.plan(view.build(run, cases)).items()
                         if k == "probe-probe"]
    figure = drawn(draw, data)
    assert len(figure.axes) == len(data) > 1
    assert len({axes.get_ylim() for axes in figure.axes}) == 1
    peak = max(max(d["counts"]) for d in data)
    assert figure.axes[0].get_ylim()[1] >= peak


def test_open_panels_share_one_log_latency_axis_however_far_apart():
    data = [{"label": "fast\nserver", "capacity": None,
             "points": [[100, 0.001, 0.002, 0.001], [200, 0.0012, 0.003, 0.001]]},
            {"label": "slow\nserver", "capacity": 6.0,
             "points": [[5, 0.2, 0.3, 0.15], [6.5, 2.0, 5.0, 1.0]]}]
    figure = drawn("open", data)
    low, high = figure.axes[0].get_ylim()
    assert {axes.get_ylim() for axes in figure.axes} == {(low, high)}
    assert low <= 0.001 and high >= 5.0
    assert all(axes.get_yscale() == "log" for axes in figure.axes)


# ---- the median repeat ----

def _three_rates(cases: list[dict], rates: list[int]) -> dict:
    """The demo's fastapi sync_sleep case with one repeat per rate: each repeat completes
    `rate` requests a second, so its req/s and steady rate follow its rate."""
    [data] = [c for c in cases if c["case"]["id"] == "sleep/python-fastapi/uvicorn/sync_sleep"]
    first = data["runs"][0]
    data["runs"] = []
    for index, rate in enumerate(rates):
        run = {**first, "index": index, "wrk": dict(first["wrk"])}
        counts = [0, 0] + [rate] * 12 + [rate // 2]
        run["wrk"].update(per_second=counts, requests=sum(counts),
                          rps=sum(counts) / run["wrk"]["duration_s"])
        data["runs"].append(run)
    return data


@pytest.mark.parametrize("rates, median", [([50, 30, 40], 2), ([40, 30, 50], 0),
                                           ([50, 30], 1), ([30, 50, 40, 20], 0)])
def test_the_per_second_chart_draws_the_median_repeat(rates, median):
    run, cases = stored(DEMO)
    data = _three_rates(cases, rates)
    report = view.build(run, cases)
    row = next(r for r in shown_rows(report, "sleep-per-second")
               if r.id == data["case"]["id"])
    expected = data["runs"][median]["wrk"]["per_second"]
    assert row.per_second == expected
    chart = charts.plan(report)["sleep-per-second"][2]
    [panel] = [d for d in chart if d["label"] == charts.chart_label(row, charts.PANEL_LABEL)]
    assert panel["counts"] == expected
    assert panel["repeat"] == f"{median + 1} of {len(rates)}, the median by req/s"
    # what is drawn is what the table gives: with an odd count, the median steady rate
    if len(rates) % 2:
        assert steady_state_rps(panel["counts"], row.service_s) == row.steady_rps


def test_the_probe_chart_draws_the_median_repeat():
    run, cases = stored(MODEL)
    [data] = [c for c in cases if c["case"]["id"] == "probe/python-fastapi/uvicorn/json_large"]
    first = data["runs"][0]
    data["runs"] = []
    for index, during in enumerate((100, 10, 50)):  # the probe's rate under the heavy load
        line = dict(first["timeline"])
        counts = list(line["probe_per_second"])
        counts[line["heavy_first"]:line["heavy_last"] + 1] = [during] * (
            line["heavy_last"] + 1 - line["heavy_first"])
        data["runs"].append({**first, "index": index, "timeline": {**line,
                                                                    "probe_per_second": counts}})
    report = view.build(run, cases)
    row = next(r for r in shown_rows(report, "probe-probe") if r.id == data["case"]["id"])
    median = data["runs"][2]["timeline"]
    assert row.probe_per_second == median["probe_per_second"]
    assert row.heavy_window == (median["heavy_first"], median["heavy_last"] + 1)
    chart = charts.plan(report)["probe-probe"][2]
    [panel] = [d for d in chart if d["label"] == charts.chart_label(row, charts.PANEL_LABEL)]
    assert panel["counts"] == median["probe_per_second"]
    assert panel["repeat"].startswith("the median of 3")
    # the table's median probe rate during the load is the drawn repeat's
    rates = [summarize_probe(r["timeline"], {})["during_mean_rps"] for r in data["runs"]]
    assert row.probe_during_mean_rps == statistics.median(rates) == summarize_probe(
        median, {})["during_mean_rps"]


def test_the_median_rule_is_the_lower_middle_and_the_first_of_equals():
    assert charts.median_repeat([5.0]) == 0
    assert charts.median_repeat([50.0, 30.0, 40.0]) == 2
    assert charts.median_repeat([50.0, 30.0]) == 1
    assert charts.median_repeat([72.0, 64.0, 72.0]) == 0
    rows = compute_rows([c for c in stored(DEMO)[1]])
    for row in rows:
        if row.per_second and row.runs > 1:
            assert row.repeat_rps[charts.median_repeat(row.repeat_rps)] == sorted(
                row.repeat_rps)[(row.runs - 1) // 2]
