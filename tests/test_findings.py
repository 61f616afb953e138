"""The Findings: each question of a suite answered in one line, first on the page."""

import re
from dataclasses import replace
from pathlib import Path

import pytest

from runner.__main__ import guide_for
from runner.config.manifest import load_impls
from runner.config.suite import Pick, Question, parse_suite
from runner.errors import BenchError
from runner.report import html, latest_run_dir, load_run, markdown, readme, view
from runner.report.findings import Guide, answer, matches
from runner.report.table import CaseRow
from runner.terms import ScenarioType

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def reference():
    """The default suite's reference run, reported with the suite's questions."""
    run, cases, _ = load_run(latest_run_dir(REPO / "reports" / "raw", "default"))
    guide = guide_for("default", load_impls(REPO / "impls"))
    return view.build(run, cases, guide), guide


def test_each_question_has_one_line_with_a_figure_and_a_working_link(reference):
    report, guide = reference
    assert len(guide.questions) >= 10
    assert [f.ask for f in report.findings] == [q.ask for q in guide.questions]
    page_md = markdown.render(report, {})
    page_html = html.render(report, {})
    findings_md = page_md.split("## Findings", 1)[1].split("## Contents", 1)[0]
    # one list item per question; the Markdown wraps an item's prose over several lines
    lines = [" ".join(item.split()) for item in re.split(r"\n(?=- \*\*)", findings_md.strip())
             if item.startswith("- **")]
    assert len(lines) == len(guide.questions)
    for finding, line in zip(report.findings, lines):
        assert finding.figure is not None, finding.ask      # measured, with a number
        assert re.search(r"\d", finding.text)
        assert f"](#{finding.anchor})" in line
        assert f'<a id="{finding.anchor}"></a>' in page_md    # the link lands
        assert f'id="{finding.anchor}"' in page_html
        assert f'href="#{finding.anchor}"' in page_html


def test_the_findings_come_first_and_the_contents_link_every_section(reference):
    report, _ = reference
    page = markdown.render(report, {})
    assert page.index("## Findings") < page.index("## Contents") < page.index("\n## ", page.index("## Contents") + 5)
    contents = page.split("## Contents", 1)[1].split("\n## ", 1)[0]
    for section in report.sections:
        assert f"(#scenario-{section.name})" in contents


def test_a_fix_is_the_code_its_implementation_declares(reference):
    report, _ = reference
    limiter = next(f for f in report.findings if "`def` requests" in f.ask)
    assert "Fix: `anyio.to_thread.current_default_thread_limiter().total_tokens = 100" in limiter.text
    assert "40 threads" in limiter.text and "2.5× the baseline" in limiter.text


def test_contenders_that_differ_in_what_is_held_equal_are_named(reference):
    report, _ = reference
    database = next(f for f in report.findings if "database calls, each at its" in f.ask)
    assert "Differs: pools (4 connections against 10 connections)" in database.text
    gunicorn = next(f for f in report.findings if "gevent workers for I/O" in f.ask)
    assert "Differs: workers (2 workers against 5 workers)" in gunicorn.text
    assert ("requests at once a worker (4 request threads against 1 request thread "
            "against a task per request, up to 1000); requests at once in all (8 requests "
            "against 5 requests against 2,000 requests)") in gunicorn.text
    equal = next(f for f in report.findings if f.ask.startswith("And at equal concurrency"))
    assert "Held equal: the same connections, 8 requests at once." in equal.text
    go = next(f for f in report.findings if "Go really faster" in f.ask)
    assert "⚠ Not held equal: cores" in go.text and "wrk itself used" in go.text


def _row(**fields) -> CaseRow:
    base = {"id": "s/i/srv/k", "scenario": "s", "impl": "i", "server_type": "srv", "kind": "k",
            "label": "a handler", "server_label": "srv", "runs": 1, "rps_median": 10.0,
            "steady_rps": 10.0, "workers": 1, "waits_in": {"pool": 4}}
    return CaseRow(**{**base, **fields})


def test_a_line_flags_a_held_quantity_that_differs_and_names_the_fix_setting():
    base = _row()
    wider = _row(id="s/i/srv-pool40/k", tuned={"pool_size": 40}, steady_rps=40.0,
                 rps_median=40.0, waits_in={"pool": 40},
                 settings={"pool_size": {"title": "pool connections", "env": "POOL"}})
    question = Question(ask="Does a wider pool help?", scenario="s",
                        baseline=Pick(impl="i", server="srv", kind="k"),
                        contenders=[Pick(impl="i", server="srv", kind="k",
                                         set={"pool_size": 40})],
                        equal=["connections", "pools"])
    found = answer(question, [base, wider], Guide([question], {("i", "pool_size"): "pool({value})"}))
    assert "(4× the baseline)" in found.text
    assert "Fix: `pool(40)`" in found.text
    assert "⚠ Not held equal: pools (pool 4 against pool 40)" in found.text
    plain = answer(question, [base, wider], Guide([question], {}))
    assert "Fix: `POOL=40`" in plain.text   # no code declared: the setting itself


def test_a_question_whose_rows_were_not_measured_says_so():
    question = Question(ask="Which one?", scenario="s", baseline=Pick(impl="i", server="srv", kind="k"),
                        contenders=[Pick(impl="i", server="other", kind="k")])
    found = answer(question, [_row()], Guide([question]))
    assert "k on i other: not measured in this run" in found.text
    missing = answer(question, [], Guide([question]))
    assert missing.text == "The baseline was not measured in this run." and missing.figure is None


def test_auto_workers_match_the_count_the_suite_resolved():
    row = _row(tuned={"workers": 5})
    assert matches(Pick(impl="i", server="srv", kind="k", set={"workers": "auto"}), row)
    assert not matches(Pick(impl="i", server="srv", kind="k"), row)
    assert not matches(Pick(impl="i", server="srv", kind="k", set={"workers": 3}), row)


def test_a_question_about_an_unknown_scenario_is_a_clear_error(tmp_path):
    text = (REPO / "suites" / "quick.yaml").read_text()
    bad = text + ("\nquestions:\n  - ask: Which is faster?\n    scenario: nosuch\n"
                  "    baseline: {impl: go, server: net-http, kind: hello}\n"
                  "    contenders: [{impl: node, server: node-http, kind: hello}]\n")
    with pytest.raises(BenchError) as caught:
        parse_suite(bad, "quick.yaml", "quick")
    assert str(caught.value).startswith("quick.yaml:") and (
        "questions[0].scenario: no scenario 'nosuch'" in str(caught.value))


def test_readme_summary_is_the_findings(reference):
    report, _ = reference
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.current(text, "default")
    assert block == readme.summary(report, "reports/default.md"), (
        "README.md's summary differs from the Findings: run `./just report default`")
    for finding in report.findings:
        assert f"(reports/default.md#{finding.anchor})" in block


def test_equal_concurrency_is_the_servers_total_and_a_difference_is_named():
    gthread = _row(server_type="gthread", workers=2, threads=4, at_once=8,
                   admits="4 request threads")
    sync8 = _row(id="s/i/sync-w8/k", server_type="sync", workers=8, threads=1, at_once=8,
                 admits="1 request thread", tuned={"workers": 8}, steady_rps=9.0)
    gevent = _row(id="s/i/gevent/k", server_type="gevent", workers=2, threads=1000,
                  at_once=2000, admits="a task per request, up to 1000", steady_rps=30.0)
    equal = Question(ask="At equal concurrency?", scenario="s",
                     baseline=Pick(impl="i", server="gthread", kind="k"),
                     contenders=[Pick(impl="i", server="sync", kind="k", set={"workers": 8})],
                     equal=["connections", "concurrency"])
    found = answer(equal, [gthread, sync8], Guide([equal]))
    assert "Held equal: the same connections, 8 requests at once." in found.text
    assert "Not held equal" not in found.text
    defaults = Question(ask="At their defaults?", scenario="s",
                        baseline=Pick(impl="i", server="gthread", kind="k"),
                        contenders=[Pick(impl="i", server="gevent", kind="k")])
    found = answer(defaults, [gthread, gevent], Guide([defaults]))
    assert "Differs: " in found.text and (
        "requests at once in all (8 requests against 2,000 requests)" in found.text)


def test_a_contender_from_another_scenario_and_a_probe_named_by_its_path():
    def probe(scenario, path, wait, **extra):
        return _row(id=f"{scenario}/i/srv/k", scenario=scenario, type=ScenarioType.INTERFERENCE,
                    probe=path, probe_longest_wait_s=wait, label="`def` handler", **extra)
    slow = probe("def-probe", "/sync_hello", 1.8)
    wide = probe("def-probe", "/sync_hello", 0.01, tuned={"limiter": 200},
                 settings={"limiter": {"title": "limiter tokens"}})
    fast = probe("async-probe", "/hello", 0.004)
    question = Question(ask="Why does the probe fail?", scenario="def-probe",
                        baseline=Pick(impl="i", server="srv", kind="k"),
                        contenders=[Pick(impl="i", server="srv", kind="k", scenario="async-probe"),
                                    Pick(impl="i", server="srv", kind="k", set={"limiter": 200})])
    found = answer(question, [slow, wide, fast], Guide([question]))
    assert found.text.startswith("`GET /hello` beside `def` handler: longest probe wait 4 ms, "
                                 "within a 1 s probe timeout (450× shorter)")
    assert "the baseline, `GET /sync_hello` beside `def` handler: longest probe wait 1.8 s, " \
           "over a 1 s probe timeout" in found.text
    assert "`GET /sync_hello` beside `def` handler with limiter tokens 200: longest probe wait " \
           "10 ms" in found.text


def test_a_fixed_rate_held_by_one_side_only_and_a_fix_only_for_the_same_endpoint():
    from runner.report.openload import Knee
    sync = _row(id="o/i/srv-p40/sync", scenario="o", type=ScenarioType.OPEN, kind="sync",
                tuned={"pool": 40}, settings={"pool": {"title": "pool connections"}},
                via_title="the sync pool", via_size=40,
                open_knee=Knee("saturated", None, 580.0, 580.0, 725.0))
    async_ = _row(id="o/i/srv-a40/async", scenario="o", type=ScenarioType.OPEN, kind="async",
                  tuned={"apool": 40}, settings={"apool": {"title": "async pool connections"}},
                  via_title="the async pool", via_size=40,
                  open_knee=Knee("held", 731.0, 846.0, 846.0, 800.0))
    question = Question(ask="Pool for pool at 40?", scenario="o",
                        baseline=Pick(impl="i", server="srv", kind="sync", set={"pool": 40}),
                        contenders=[Pick(impl="i", server="srv", kind="async", set={"apool": 40})],
                        equal=["workers", "pools"])
    found = answer(question, [sync, async_], Guide([question], {("i", "apool"): "pool({value})"}))
    assert "held 731 req/s at a fixed rate" in found.text
    assert "held no rate offered: saturated already at 580 req/s" in found.text
    assert "Fix:" not in found.text   # another endpoint, not a setting, made the difference
    assert "Held equal: 1 worker, 40 connections." in found.text
    even = replace(async_, open_knee=Knee("held", 560.0, 600.0, 600.0, 800.0))
    found = answer(question, [replace(sync, open_knee=Knee("held", 550.0, 600.0, 600.0, 725.0)),
                              even], Guide([question]))
    assert found.text.startswith("No contender does 1.2× better than the baseline, ")
