"""A tuned row beside the row it changes, and a setting swept over several values."""

from runner.model.predict import Limit, LimitKind
from runner.report import cells, view
from runner.report.table import CaseRow


def row(steady, ceiling, tuned=None, settings=None, pools=None, workers=1, **extra):
    return CaseRow(scenario="sleep", impl="python-fastapi", server_type="uvicorn",
                   kind="sync_sleep", params="ms=1000", label="`def` handler",
                   steady_rps=steady, rps_median=steady, ceiling_rps=ceiling,
                   figures={"lat_p99": 100 / steady, "rss_peak_bytes": 60 * 2**20,
                            "threads_max": 45, "processes_max": 1},
                   tuned=tuned or {}, settings=settings or {}, pools=pools or {},
                   workers=workers, **{"bottleneck": "anyio's thread limiter: 40 threads x 1 "
                                                     "worker", **extra})


LIMITER = {"limiter": {"value": 100, "title": "anyio's thread limiter tokens",
                       "pool": "anyio-limiter", "env": "BENCH_LIMITER_TOKENS"}}


def test_a_fix_is_paired_with_the_row_it_changes():
    base = row(40, 39.9, pools={"anyio-limiter": 40})
    fixed = row(99.8, 99.9, tuned={"limiter": 100}, settings=LIMITER,
                bottleneck="none: every connection in service at once (100, its event loop)")
    table = cells.fixes_table([base, fixed])
    cells_text = [c.text for c in table.rows[0].cells]
    assert cells_text[1] == "anyio's thread limiter tokens 40 → 100"
    assert cells_text[2] == "40 → 99.8"
    assert cells_text[-1] == ("moved the limit: 2.5× the rate; what binds now: none: every "
                              "connection in service at once (100, its event loop)")


def test_a_fix_that_does_not_help_says_what_still_binds():
    base = row(4.4, 4.6, workers=2)
    more = row(4.3, 4.5, tuned={"workers": 5}, workers=5,
               bottleneck="cores: 1.9 of 2 cores left beside the load generator; 380 ms of CPU",
               limit=Limit(LimitKind.CORES_LEFT, cores=2, cores_left=1.9))
    table = cells.fixes_table([base, more])
    assert table.rows[0].cells[1].text == "workers 2 → 5"
    assert table.rows[0].cells[-1].text == ("did not help (0.98× the rate): cores: 1.9 of 2 "
                                            "cores left beside the load generator")


def test_no_pair_without_the_untuned_row():
    assert cells.fixes_table([row(99.8, 99.9, tuned={"limiter": 100}, settings=LIMITER)]) is None


def test_three_values_of_one_setting_are_a_sweep():
    rows = [row(10 * v, 10 * v, tuned={"limiter": v},
                settings={"limiter": {**LIMITER["limiter"], "value": v}}) for v in (10, 40, 100)]
    assert view.sweeps(rows) == {("python-fastapi", "uvicorn", "sync_sleep", "ms=1000"): "limiter"}
    assert view.is_sweep(rows) and not view.is_sweep(rows[:2])
    assert [view.swept_value(r, "limiter") for r in rows] == [10, 40, 100]
