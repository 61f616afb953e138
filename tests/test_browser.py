"""The HTML report in a real browser: headless Chromium (Debian's `chromium` package).

The report of the synthetic demo run (tests/fixtures/results/demo/) is rendered with
`write_reports` and loaded in headless Chromium with `--dump-dom`; no driver. A hook
script first in the page and a probe script last in it (tests/browser.py) record what
happened and what was drawn, and Chromium's stderr log adds every console message. The
test fails when:

- a <table> of the HTML source is missing from the DOM after the scripts ran, has a
  different number of rows, or it or one of its rows has no size on screen;
- an inline <svg> chart (one per file in charts/) is missing, is not an SVG element, or
  has a zero width, height or drawing;
- clicking a header (at its centre, where a user would) does not sort its table: numbers
  ascending then descending by value, not as text, empty cells last, whole rows moving
  together; and no click changed any order at all;
- anything reached the console, an exception went uncaught, a promise rejection went
  unhandled, a resource failed to load, or a dialog opened;
- at a wiki's 980 px and at 1,400 px: a verdict table reaches past the window (a reader
  would have to scroll sideways), the page itself scrolls sideways, a chart reaches past
  the window, or a chart has text drawn past its own edge (cut off). The committed
  reference report (reports/default.html) is checked at both widths too.

The demo's values need not tell text order from numeric order, so one test renders a
copy of the demo run whose values do. Two more tests break copies of the
report on purpose (a script error, a console error, a rejected promise; a missing row, a
hidden chart, a swallowed click) and check each is reported, so a silent detector cannot
pass.

If chromium is missing these tests fail (install it with `apt-get install -y chromium`);
CI must not skip them.
"""

import json
import re
import shutil
from pathlib import Path

import pytest

from browser import Page, count_source, instrument, open_page
from runner.report import write_reports

RUN_DIR = Path(__file__).parent / "fixtures" / "results" / "demo" / "20261123T190000Z"
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

pytestmark = pytest.mark.slow


def render(run_dir: Path, out: Path) -> tuple[str, int]:
    """The HTML report of `run_dir` and how many chart files were written beside it."""
    written = write_reports(run_dir, out)
    pages = [p for p in written if p.suffix == ".html"]
    assert len(pages) == 1, written
    return pages[0].read_text(encoding="utf-8"), sum(p.suffix == ".svg" for p in written)


def is_number(key: str | None) -> bool:
    return key is not None and NUMBER.fullmatch(key) is not None


def sort_problems(sorts: list[dict]) -> list[str]:
    problems, reordered = [], False
    for sort in sorts:
        name = f"table {sort['table'] + 1}, column {sort['header']!r}"
        key_of = {r["row"]: r["key"] for r in sort["before"]}
        previous = [r["row"] for r in sort["before"]]
        filled_orders = []
        for click, direction in zip(sort["clicks"], ("asc", "desc")):
            order = click["order"]
            rows = [r["row"] for r in order]
            keys = [r["key"] for r in order]
            where = f"{name}, {direction}"
            if not click["hitIsHeader"]:
                problems.append(f"{where}: something else is on top of the header")
            if click["dir"] != direction:
                problems.append(f"{where}: header marked {click['dir']!r} after the click")
            if sorted(rows) != sorted(previous):
                problems.append(f"{where}: rows lost or duplicated: {rows}")
            if any(key_of.get(r["row"]) != r["key"] for r in order):
                problems.append(f"{where}: cells moved without their rows")
            reordered |= rows != previous
            previous = rows
            filled = [k for k in keys if k not in (None, "")]
            if keys[:len(filled)] != filled:
                problems.append(f"{where}: empty cells are not last: {keys}")
            if filled and all(map(is_number, filled)):
                values = [float(k) for k in filled]
                if values != sorted(values, reverse=direction == "desc"):
                    problems.append(f"{where}: not in numeric order: {filled}")
            filled_orders.append(filled)
        ascending, descending = filled_orders
        if descending != ascending[::-1]:
            problems.append(f"{name}: descending {descending} is not ascending reversed")
    if not reordered:
        problems.append("no header click changed the order of any table")
    return problems


def report_problems(page: Page, source_html: str, charts: int) -> list[str]:
    """Everything wrong with the loaded page, one line each; [] for a good report."""
    problems = list(page.problems)
    if page.probe is None:
        return problems + ["the probe wrote no result (did the page load?); chromium said:\n"
                           + page.stderr[-3000:]]
    if "probeError" in page.probe:
        return problems + [f"the probe failed: {page.probe['probeError']}"]
    source = count_source(source_html)
    if source.svgs != charts:
        problems.append(f"the HTML source inlines {source.svgs} <svg>, "
                        f"{charts} chart files were written")

    rendered = page.probe["tables"]
    if [len(t["rows"]) for t in rendered] != source.rows_per_table:
        problems.append(f"rows per table in the DOM {[len(t['rows']) for t in rendered]}, "
                        f"in the HTML source {source.rows_per_table}")
    for number, table in enumerate(rendered, 1):
        if not (table["width"] > 0 and table["height"] > 0):
            problems.append(f"table {number} has no size: {table['width']} x {table['height']}")
        hidden = [i for i, row in enumerate(table["rows"])
                  if not (row["width"] > 0 and row["height"] > 0)]
        if hidden:
            problems.append(f"table {number}: rows {hidden} have no size")

    svgs = page.probe["svgs"]
    if len(svgs) != source.svgs:
        problems.append(f"{len(svgs)} <svg> in the DOM, {source.svgs} in the HTML source")
    for number, svg in enumerate(svgs, 1):
        bad = []
        if not svg["isSvgElement"] or svg["namespace"] != "http://www.w3.org/2000/svg":
            bad.append(f"not an SVG element (namespace {svg['namespace']})")
        if not (svg["width"] > 0 and svg["height"] > 0):
            bad.append(f"size {svg['width']} x {svg['height']}")
        drawn = svg["content"]
        if not (drawn["width"] > 0 and drawn["height"] > 0) or svg["elements"] == 0:
            bad.append(f"nothing drawn ({svg['elements']} elements)")
        if svg["display"] == "none" or svg["visibility"] != "visible":
            bad.append(f"display {svg['display']}, visibility {svg['visibility']}")
        if bad:
            problems.append(f"chart {number}: " + "; ".join(bad))

    if not page.probe["sorts"]:
        problems.append("no sortable table headers were found")
    return problems + sort_problems(page.probe["sorts"])


def layout_problems(page: Page) -> list[str]:
    """What a reader at this window width could not see without scrolling sideways, and
    what a chart cut off."""
    if page.probe is None or "page" not in page.probe:
        return ["the probe wrote no layout"]
    viewport = page.probe["page"]["viewport"]
    problems = []
    if page.probe["page"]["scrollWidth"] > viewport + 1:
        problems.append(f"the page is {page.probe['page']['scrollWidth']} px wide in a "
                        f"{viewport} px window")
    verdicts = [t for t in page.probe["tables"] if t["verdict"]]
    if not verdicts:
        problems.append("no verdict table")
    for number, table in enumerate(verdicts, 1):
        if table["right"] > viewport + 1:
            problems.append(f"verdict {number} reaches {table['right']:.0f} px in a "
                            f"{viewport} px window")
    for number, svg in enumerate(page.probe["svgs"], 1):
        if svg["right"] > viewport + 1:
            problems.append(f"chart {number} reaches {svg['right']:.0f} px in a {viewport} px "
                            "window")
        if svg["cut"]:
            problems.append(f"chart {number} cuts off {svg['cut']}")
    return problems


def load(page_html: str, tmp_path: Path, extra: str = "", width: int = 1280) -> Page:
    return open_page(instrument(page_html, extra), tmp_path / f"browser-{width}", width)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[str, int]:
    """The demo run's HTML report and its number of chart files."""
    return render(RUN_DIR, tmp_path_factory.mktemp("demo-report"))


def test_report_renders_in_chromium(demo, tmp_path):
    page_html, charts = demo
    page = load(page_html, tmp_path)
    problems = report_problems(page, page_html, charts)
    assert problems == [], "\n".join(problems)
    # the demo is not trivial: several tables and charts, and every header was clicked
    assert len(count_source(page_html).rows_per_table) >= 2 and charts >= 4
    headers = sum(t["rows"][0]["cells"] for t in page.probe["tables"] if t["sortable"])
    assert len(page.probe["sorts"]) == headers > 0


def _collation_key(text: str) -> list:
    """Text with digit runs compared as integers, as localeCompare(…, {numeric: true})."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def test_sorting_is_numeric_not_textual(tmp_path):
    # go's hello case made slower: 45,056 -> about 9,000 req/s, fewer digits than the other
    # row's 12,034, so text order differs; and ten times the latency, so the two rows'
    # fractions have different numbers of leading zeros (p50 0.00385 s against 0.01 s) and
    # comparing their digit runs as integers, as localeCompare(numeric) does, differs too
    run_dir = tmp_path / "run"
    shutil.copytree(RUN_DIR, run_dir)
    case_path = run_dir / "hello__go__net-http__hello.json"
    case = json.loads(case_path.read_text())
    for repeat in case["runs"]:
        wrk = repeat["wrk"]
        wrk["rps"] /= 5
        wrk["requests"] //= 5
        wrk["latency_s"] = {k: v * 10 for k, v in wrk["latency_s"].items()}
    case_path.write_text(json.dumps(case))
    page_html, charts = render(run_dir, tmp_path / "out")
    page = load(page_html, tmp_path)
    problems = report_problems(page, page_html, charts)
    assert problems == [], "\n".join(problems)

    tells_text, tells_collation = [], []
    for sort in page.probe["sorts"]:
        ascending = [r["key"] for r in sort["clicks"][0]["order"] if r["key"]]
        if len(ascending) > 1 and all(map(is_number, ascending)):
            if sorted(ascending) != ascending:
                tells_text.append(sort["header"])
            if sorted(ascending, key=_collation_key) != ascending:
                tells_collation.append(sort["header"])
    assert "req/s (incl. ramp)" in tells_text and "steady (req/s)" in tells_text, tells_text
    assert tells_collation, "no column tells numeric order from digit-run order"


BROKEN_SCRIPTS = """\
<script>reportFunctionThatDoesNotExist();</script>
<script>console.error("deliberate console error");</script>
<script>Promise.reject(new Error("deliberate rejection"));</script>
"""


def test_detector_reports_script_errors(demo, tmp_path):
    page_html, charts = demo
    page = load(page_html, tmp_path, extra=BROKEN_SCRIPTS)
    problems = report_problems(page, page_html, charts)
    text = "\n".join(problems)
    # each error is seen twice: by the hook in the page and in Chromium's console log
    for hook, console in [
        ("error event: Uncaught ReferenceError: reportFunctionThatDoesNotExist is not defined",
         "console (stderr): \"Uncaught ReferenceError: reportFunctionThatDoesNotExist"),
        ("console.error: deliberate console error",
         "console (stderr): \"deliberate console error\""),
        ("unhandled rejection: Error: deliberate rejection",
         "console (stderr): \"Uncaught (in promise) Error: deliberate rejection"),
    ]:
        assert hook in text, text
        assert console in text, text
    assert len(problems) == 6, text  # and nothing else: tables, charts and sorting still work


BROKEN_RENDERING = """\
<script>
document.querySelector("table tbody tr").remove();
document.querySelectorAll("svg")[1].style.display = "none";
document.querySelectorAll("table")[1].addEventListener("click", (e) => e.stopPropagation(), true);
</script>
"""


def test_detector_reports_missing_rows_hidden_charts_and_dead_sorting(demo, tmp_path):
    page_html, charts = demo
    page = load(page_html, tmp_path, extra=BROKEN_RENDERING)
    problems = report_problems(page, page_html, charts)
    text = "\n".join(problems)
    rows = count_source(page_html).rows_per_table
    assert f"rows per table in the DOM {[rows[0] - 1, *rows[1:]]}, in the HTML source {rows}" \
        in text, text
    assert "chart 2: size 0 x 0" in text, text
    dead = r"table 2, column '[^']+', asc: header marked None after the click"
    assert re.search(dead, text), text
    assert not any(p.startswith(("table 1,", "console", "error event")) for p in problems), text


REFERENCE = Path(__file__).parent.parent / "reports" / "default.html"


@pytest.mark.parametrize("width", [980, 1400])
def test_verdicts_fit_and_charts_are_whole_at_wiki_widths(demo, tmp_path, width):
    page_html, charts = demo
    page = load(page_html, tmp_path, width=width)
    problems = report_problems(page, page_html, charts) + layout_problems(page)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("width", [980, 1400])
def test_the_reference_report_fits_at_wiki_widths(tmp_path, width):
    page_html = REFERENCE.read_text(encoding="utf-8")
    page = load(page_html, tmp_path, width=width)
    problems = list(page.problems) + layout_problems(page)
    assert problems == [], "\n".join(problems)
    assert page.probe["svgs"] and all(s["width"] > 0 for s in page.probe["svgs"])


BROKEN_LAYOUT = """\
<style>table.verdict { min-width: 1600px; }</style>
<script>
const text = document.querySelector("svg text");
text.setAttribute("x", "5000");
text.removeAttribute("transform");
for (const g of [text.parentNode]) g.removeAttribute("transform");
</script>
"""


def test_detector_reports_a_wide_verdict_and_a_cut_chart(demo, tmp_path):
    page_html, _ = demo
    page = load(page_html, tmp_path, extra=BROKEN_LAYOUT, width=980)
    text = "\n".join(layout_problems(page))
    assert re.search(r"verdict 1 reaches \d+ px in a \d+ px window", text), text
    assert "the page is" in text, text
    assert re.search(r"chart 1 cuts off", text), text
