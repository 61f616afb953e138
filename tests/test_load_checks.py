"""Under load, the answers must still prove their work and keep coming: wrk_report.lua
counts answers faster than the declared wait, samples bodies against the proof, and
each thread's answers and silence at the end (runner.measure.wrkcheck judges them).

Pure checks on made-up reports first, then real runs of the faulty fake implementation
(tests/fakes/impls/faulty): a server that passes the conformance check and then answers
sleeps at once, one that cheats from its second answer (caught by the calibration), one
that stops answering in the middle of the load, and an honest one that passes.
"""

import json
from pathlib import Path

import pytest

from runner.__main__ import main
from runner.measure.wrkcheck import checks_for, load_problems
from runner.store.results import StoredWrk, StoredWrkProof, StoredWrkThread

FAKES = Path(__file__).parent / "fakes" / "impls"


def report(**fields) -> StoredWrk:
    base = {"requests": 400, "duration_s": 4.0, "latency_s": {"min": 0.051, "max": 0.06},
            "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
            "floor_s": 0.048, "below_floor": 0,
            "threads": [StoredWrkThread(answered=200, sent=204, silent_s=0.02)] * 2}
    return StoredWrk(**{**base, **fields})


def test_checks_follow_the_endpoint_contract():
    sleep = checks_for("sync_sleep", {"ms": 100})
    assert sleep.floor_us == 98_000 and sleep.env()["WRK_FLOOR_US"] == "98000"
    assert sleep.proof == ('"kind"%s*:%s*"sync_sleep"', '"ms"%s*:%s*100%.?0*[^%d%.]')
    assert checks_for("cpu_sync", {"n": 1000}).proof[1] == '"result"%s*:%s*499500%.?0*[^%d%.]'
    hello = checks_for("hello", {})
    assert hello.floor_us is None and hello.proof_every == 10
    assert "WRK_FLOOR_US" not in hello.env()


def test_an_honest_report_has_no_problem():
    assert load_problems(report(), connections=8) == []


def test_answers_faster_than_the_wait_fail_with_their_count():
    (problem,) = load_problems(report(below_floor=1234, latency_s={"min": 0.0004, "max": 0.06}),
                               connections=8)
    assert problem == ("1234 answers came back sooner than the 50 ms the endpoint must wait "
                       "(fastest 0.4 ms): the server did not do the work")


def test_a_failed_proof_is_named_with_a_sample():
    proof = StoredWrkProof(patterns=['"message"%s*:%s*"hello"'], every=10, checked=50,
                           failed=7, sample='{"message": "cached"}')
    (problem,) = load_problems(report(proof=proof, floor_s=None, below_floor=None), 8)
    assert problem.startswith("7 of 50 sampled answers lack the proof of work")
    assert "cached" in problem


def test_threads_silent_at_the_end_are_a_hang_with_the_count():
    stalled = StoredWrkThread(answered=150, sent=154, silent_s=2.6)
    (problem,) = load_problems(report(threads=[stalled, stalled]), connections=8)
    assert problem.startswith("the server stopped answering: 8 requests sent were never "
                              "answered, 2 of 2 wrk threads got no answer in the last 2.6 s")
    # without the sent counts, each stalled thread waits on its own connections
    blind = StoredWrkThread(answered=150, silent_s=2.6)
    assert "4 requests sent" in load_problems(report(threads=[blind]), connections=4)[0]
    # a slow endpoint's silence as long as its answers is no hang
    slow = StoredWrkThread(answered=10, sent=14, silent_s=2.6)
    assert load_problems(report(threads=[slow], latency_s={"min": 1.0, "max": 1.2}), 4) == []


def test_requests_lost_beyond_one_per_connection_are_counted():
    lossy = StoredWrkThread(answered=200, sent=230, silent_s=0.01)
    (problem,) = load_problems(report(threads=[lossy, lossy]), connections=8)
    assert problem == ("52 requests were sent and never answered, beyond the one in flight "
                       "on each of the 8 connections at the end")
    errors = {"connect": 0, "read": 52, "write": 0, "status": 0, "timeout": 0}
    assert load_problems(report(threads=[lossy, lossy], errors=errors), connections=8) == []


SUITE = """\
wrk: {threads: 2, connections: 8, duration: 4s, timeout: 5s}
repeats: 1
warmup: 0
ready_timeout: 5s
targets:
  - impl: faulty
    servers: [good, cheats-under-load, cheats-after-check, hangs-mid-load]
scenarios:
  - name: sleep
    kinds: [sync_sleep]
    params: {ms: 50}
  - name: hello
    kinds: [hello]
    targets:
      - impl: faulty
        servers: [good, cheats-under-load]
"""


@pytest.mark.slow
def test_cheats_and_hangs_under_load_fail_their_rows(tmp_path):
    suite = tmp_path / "checks.yaml"
    suite.write_text(SUITE)
    raw = tmp_path / "raw"
    assert main(["bench", str(suite), "--impls", str(FAKES), "--raw-dir", str(raw),
                 "--no-report"]) == 3
    got = {json.loads(p.read_text())["case"]["server"]: json.loads(p.read_text())
           for p in raw.glob("checks/*/sleep__*.json")}
    good = got["good"]
    assert good["status"] == "ok", good["reason"]
    wrk = good["runs"][0]["wrk"]
    assert wrk["below_floor"] == 0 and wrk["proof"]["checked"] > 100
    assert wrk["proof"]["failed"] == 0 and wrk["floor_s"] == 0.048
    assert all(t["sent"] - t["answered"] <= 4 for t in wrk["threads"])
    reasons = {server: r["reason"] or "" for server, r in got.items()}
    cheat = reasons["cheats-under-load"]
    assert "answers came back sooner than the 50 ms the endpoint must wait" in cheat, cheat
    assert int(cheat.split(" answers came back")[0]) > 100, cheat
    early = reasons["cheats-after-check"]
    assert early.startswith("calibration (service time, wrk -c1): "), early
    assert "answers came back sooner than the 50 ms" in early, early
    hang = reasons["hangs-mid-load"]
    hello = {json.loads(p.read_text())["case"]["server"]: json.loads(p.read_text())
             for p in raw.glob("checks/*/hello__*.json")}
    assert hello["good"]["status"] == "ok", hello["good"]["reason"]
    assert hello["good"]["runs"][0]["wrk"]["proof"]["every"] == 10
    made_up = hello["cheats-under-load"]["reason"]
    # in the load, or in the calibration where that reaches the 300th answer first
    assert " sampled answers lack the proof of work (\"message\"%s*:%s*\"hello\"), e.g. " \
        "'{\"message\": \"cached\"}'" in made_up, made_up
    # the hang comes in the load, or (on a fast machine) in the calibration's busy phase
    assert ("the server stopped answering: 8 requests sent were never answered, 2 of 2 wrk "
            "threads got no answer in the last" in hang
            or "(CPU demand, wrk -c4): the server stopped answering: 4 requests" in hang), hang


def test_the_progress_line_names_answers_not_2xx():
    from types import SimpleNamespace

    from runner.measure.bench import _summary
    from runner.terms import ScenarioType
    case = SimpleNamespace(type=ScenarioType.LOAD)
    bad = StoredWrkThread(answered=200, non_2xx=37, sent=204, silent_s=0.02)
    run = SimpleNamespace(wrk=report(rps=100.0, threads=[bad, bad]), timeline=None)
    assert _summary(case, run) == "100.0 req/s, 400 requests, 74 answers not 2xx"
    run = SimpleNamespace(wrk=report(rps=100.0), timeline=None)
    assert _summary(case, run) == "100.0 req/s, 400 requests"
