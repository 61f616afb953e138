"""vegeta's results, as recorded from real runs (tests/fixtures/vegeta: FastAPI's
`time.sleep(0.1)` inside `async def` on one uvicorn worker, capacity about 10 per second,
offered 5 and 15 per second for 3 s with a 2 s timeout), and the open model beside them."""

import json
from pathlib import Path

import pytest

from runner.measure.check import check_answer
from runner.model.predict import open_latency
from runner.measure.openbench import offered_rates
from runner.model.predict import saturated
from runner.measure.openparse import LATE_S, OpenParseError, read_results, summarize

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "vegeta"


def load(name: str) -> list[dict]:
    return read_results((FIXTURES / f"{name}.jsonl").read_text())


def proof(result: dict) -> list[str]:
    return check_answer("blocking_in_async", {"ms": 100}, result["code"], result["body"],
                        result["latency_s"])


def test_below_capacity_every_request_is_served_in_its_service_time():
    point = summarize(load("blocking_100ms_at_5"), 5, 3.0, proof)
    assert point.requests == point.ok == 15
    assert point.errors == point.failed_proof == point.in_flight_at_end == 0
    assert point.sent_rps == pytest.approx(5, rel=0.01)
    assert point.held_rate and point.late_max_s < LATE_S
    assert 0.1 <= point.latency_s.p50 <= point.latency_s.max < 0.11
    assert point.max_in_flight == 1


def test_above_capacity_the_backlog_grows_and_requests_in_flight_at_the_end_count():
    point = summarize(load("blocking_100ms_at_15"), 15, 3.0, proof)
    assert point.requests == 45
    # the last arrivals waited beyond the 2 s timeout: counted as errors, not dropped
    assert point.timeouts == point.errors == 6 and point.codes == {"200": 39, "0": 6}
    assert point.ok == 39 and point.completed_rps == pytest.approx(13.0)
    assert point.in_flight_at_end == 16 and point.max_in_flight == 17
    assert point.latency_s.p99 > 1.5 * 0.1   # saturated by the suite's knee
    assert saturated(point.model_dump(), 0.1, 1.5)
    # the model: a backlog growing by (15 - 9.85) a second from the start; the measured
    # p50 of the answered requests lies below the prediction for all arrivals, since the
    # latest arrivals timed out
    p50, worst = open_latency(9.85, 0.1015, 15, 3.0)
    assert point.latency_s.p50 < p50 < worst
    assert point.latency_s.max <= 2.0   # the timeout bounds what is answered


def test_latency_counts_from_the_intended_send_time():
    results = load("blocking_100ms_at_5")
    late = [dict(r) for r in results]
    late[5]["sent"] += 0.5          # the generator sent request 5 half a second late
    point = summarize(late, 5, 3.0, proof)
    assert point.latency_s.max == pytest.approx(0.5 + late[5]["latency_s"], abs=1e-3)
    assert point.late_max_s == pytest.approx(0.5, abs=1e-3)
    assert not point.held_rate


def test_an_answer_that_does_not_prove_its_work_is_counted():
    results = load("blocking_100ms_at_5")
    results[3] = {**results[3], "body": json.dumps({"kind": "blocking_in_async", "ms": 100,
                                                    "slept_ms": 1}).encode()}
    point = summarize(results, 5, 3.0, proof)
    assert point.failed_proof == 1 and point.ok == 14
    assert "slept_ms is 1, expected at least 100" in point.first_problem


def test_bad_output_is_a_clear_error():
    with pytest.raises(OpenParseError, match="line 1: not a vegeta result"):
        read_results("{}\n")
    with pytest.raises(OpenParseError, match="no request"):
        summarize([], 5, 3.0)


def test_open_model_latency():
    assert open_latency(40, 1.0, 30, 10) == (1.0, 1.0)
    p50, worst = open_latency(40, 1.0, 45, 10)
    assert p50 == pytest.approx(1.625) and worst == pytest.approx(2.25)
    p50, worst = open_latency(40, 1.0, 60, 10)
    assert p50 == pytest.approx(3.5) and worst == pytest.approx(6.0)


def test_offered_rates_are_fractions_of_the_capacity_or_of_the_cap():
    settings = {"of_capacity": [0.5, 1.1], "per_second": None, "max_rate": 200.0}
    assert offered_rates(settings, 40.0) == ([20.0, 44.0], "the modelled capacity")
    rates, relative = offered_rates(settings, None)
    assert rates == [100.0, 220.0] and "rate cap 200/s" in relative
    absolute = {"of_capacity": None, "per_second": [300, 30], "max_rate": 200.0}
    assert offered_rates(absolute, 40.0) == ([30, 200.0], "requests per second")


def test_a_rate_with_requests_unanswered_is_not_held():
    # p99 is taken over the answers: a server that stops answering must not pass on them
    answered = {"latency_s": {"p99": 0.101}, "requests": 200}
    assert not saturated({**answered, "ok": 199}, 0.1, 1.5)
    assert saturated({**answered, "ok": 106}, 0.1, 1.5)


def test_the_knee_says_how_many_requests_a_rate_lost():
    import json
    from pathlib import Path
    from runner.report import openload
    from runner.store.results import as_case
    repo = Path(__file__).resolve().parent.parent
    path = next(repo.glob("reports/raw/default/*/open-sleep__python-fastapi__uvicorn__async_sleep.json"))
    data = json.loads(path.read_text())
    points = data["runs"][0]["points"]
    assert len(points) >= 2
    points[1].update(ok=points[1]["requests"] - 94, errors=94, timeouts=94)   # hung mid-load
    knee = openload.knee(as_case(data))
    assert knee.saturated_at_rps == points[1]["offered_rps"]
    assert f"(94 of {points[1]['requests']} requests there failed or timed out: 94 timeouts)" in knee.verdict
