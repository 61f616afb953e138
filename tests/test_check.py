"""The conformance check: it must reject every answer that does not prove its work."""

import json

import pytest

from runner.measure.check import check_answer, fib


def body(**data) -> bytes:
    return json.dumps(data).encode()


def client(i: int) -> dict:
    nulls = lambda count: {f"str{k}": None for k in range(1, count + 1)}  # noqa: E731
    return {"id": i, "address": {"id": i, **nulls(8)},
            "bank_accounts": [{"id": i, "address": None, **nulls(16)}], **nulls(8)}


def test_fib_reference():
    assert [fib(n) for n in range(8)] == [0, 1, 1, 2, 3, 5, 8, 13]
    assert fib(30) == 832040


def test_honest_answers_pass():
    assert check_answer("hello", {}, 200, b'{"message": "hello"}', 0.001) == []
    assert check_answer("sync_hello", {}, 200,
                        b'{"kind": "sync_hello", "message": "hello"}', 0.001) == []
    assert check_answer("sync_hello", {}, 200, b'{"message": "hello"}', 0.001) == [
        'expected {"kind": "sync_hello", "message": "hello"}, got {\'message\': \'hello\'}']
    assert check_answer("sync_sleep", {"ms": 100}, 200,
                        body(kind="sync_sleep", ms=100, slept_ms=100.4), 0.1012) == []
    assert check_answer("cpu_process", {"n": 5_000_000}, 200,
                        body(kind="cpu_process", n=5_000_000, result=12499997500000), 0.2) == []
    assert check_answer("fib", {"n": 20}, 200, body(kind="fib", n=20, result=6765), 0.01) == []
    items = [client(i) for i in range(3)]
    assert check_answer("json_large", {"items": 3}, 200,
                        body(kind="json_large", count=3, items=items), 0.01) == []


@pytest.mark.parametrize("kind,params,status,raw,elapsed,problem", [
    ("hello", {}, 500, b"oops", 0.01, "status 500, expected 200"),
    ("hello", {}, 200, b"<html>", 0.01, "body is not JSON"),
    ("hello", {}, 200, b"[1]", 0.01, "body is not a JSON object"),
    ("hello", {}, 200, b'{"message": "hi"}', 0.01, "expected {\"message\": \"hello\"}"),
    # a sleep that returned at once but claims it slept (a bug in one article's Go code)
    ("sync_sleep", {"ms": 1000}, 200, body(kind="sync_sleep", ms=1000, slept_ms=1000.0), 0.002,
     "answered in 2.0 ms, a sleep of 1000 ms cannot be faster"),
    ("sync_sleep", {"ms": 1000}, 200, body(kind="sync_sleep", ms=1000, slept_ms=3.0), 1.0,
     "slept_ms is 3.0, expected at least 1000"),
    ("sync_sleep", {"ms": 1000}, 200, body(kind="sync_sleep", ms=1000), 1.0,
     "slept_ms is None, expected a number"),
    ("async_sleep", {"ms": 10}, 200, body(kind="sync_sleep", ms=10, slept_ms=10), 0.02,
     "body kind is 'sync_sleep', expected 'async_sleep'"),
    # a CPU loop that returned after its first step (a bug in one article's Python code)
    ("cpu_sync", {"n": 5_000_000}, 200, body(kind="cpu_sync", n=5_000_000, result=0), 0.0001,
     "result is 0, expected 12499997500000"),
    ("cpu_sync", {"n": 10}, 200, body(kind="cpu_sync", n=11, result=45), 0.0001,
     "body n is 11, expected 10"),
    ("fib", {"n": 20}, 200, body(kind="fib", n=20, result=10946), 0.01,
     "result is 10946, expected 6765"),
    ("json_large", {"items": 3}, 200, body(kind="json_large", count=3, items=[client(0), client(1)]), 0.01,
     "items has 2 entries, expected 3"),
    ("json_large", {"items": 2}, 200, body(kind="json_large", count=2, items=[client(0), client(0)]), 0.01,
     "items[1].id is 0, expected 1"),
    ("json_large", {"items": 1}, 200, body(kind="json_large", count=1, items=[{"id": 0}]), 0.01,
     "items[0] is not a Client"),
    ("json_large", {"items": 1}, 200,
     body(kind="json_large", count=1, items=[{**client(0), "bank_accounts": []}]), 0.01,
     "items[0].bank_accounts is not one Account with id 0"),
])
def test_dishonest_answers_are_rejected(kind, params, status, raw, elapsed, problem):
    problems = check_answer(kind, params, status, raw, elapsed)
    assert any(p.startswith(problem) for p in problems), problems


# ---- I/O kinds: the proof only the runner holds ----

KEY = b"k" * 16
SENT = 1_800_000_000.0


def proof(backends=(4242,)):
    from runner.measure.check import Proof
    return Proof(SENT, SENT + 0.06, KEY, lambda pid: pid in backends)


def upstream_answer(**change) -> bytes:
    from runner.measure.check import upstream_signature
    echo = {"nonce": "ab12", "ms": 50, "at": SENT + 0.055,
            "sig": upstream_signature(KEY, "ab12", 50)}
    echo.update(change.pop("echo", {}))
    data = {"kind": "upstream_async", "ms": 50, "nonce": "ab12", "upstream": echo, **change}
    return json.dumps(data).encode()


def db_answer(**change) -> bytes:
    data = {"kind": "db_sync", "ms": 50, "id": 7, "value": "8f14e45fceea167a5a36dedd4bea2543",
            "backend_pid": 4242, "db_at": SENT + 0.051, **change}
    return json.dumps(data).encode()


def test_honest_io_answers_pass():
    assert check_answer("upstream_async", {"ms": 50}, 200, upstream_answer(), 0.058, proof()) == []
    assert check_answer("db_sync", {"ms": 50}, 200, db_answer(), 0.058, proof()) == []


@pytest.mark.parametrize("answer, elapsed, expected", [
    (upstream_answer(echo={"sig": "0" * 64}), 0.058, "signature does not match"),
    (upstream_answer(echo={"nonce": "other"}), 0.058, "for nonce 'other'"),
    (upstream_answer(nonce=""), 0.058, "the request's own nonce"),
    (upstream_answer(upstream=None), 0.058, "expected the upstream's answer"),
    (upstream_answer(echo={"at": SENT + 0.01}), 0.058, "the call did not happen in this request"),
    (upstream_answer(echo={"at": SENT + 9}), 0.058, "the call did not happen in this request"),
    (upstream_answer(), 0.01, "cannot be faster"),
    (upstream_answer(ms=5), 0.058, "body ms is 5"),
])
def test_made_up_upstream_answers_fail(answer, elapsed, expected):
    problems = check_answer("upstream_async", {"ms": 50}, 200, answer, elapsed, proof())
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("answer, expected", [
    (db_answer(backend_pid=1), "backend_pid 1 is not a backend"),
    (db_answer(backend_pid="4242"), "expected the database backend's pid"),
    (db_answer(value="x"), "expected row 7's value"),
    (db_answer(id=0), "a row id in 1..1000"),
    (db_answer(id=True), "a row id in 1..1000"),
    (db_answer(db_at=SENT), "the call did not happen in this request"),
    (db_answer(db_at="now"), "expected epoch seconds"),
])
def test_made_up_database_answers_fail(answer, expected):
    problems = check_answer("db_sync", {"ms": 50}, 200, answer, 0.058, proof())
    assert any(expected in p for p in problems), problems


def test_an_io_answer_without_the_runners_proof_fails():
    assert check_answer("db_sync", {"ms": 50}, 200, db_answer(), 0.058) == [
        "no proof to check the answer against"]
    from runner.measure.check import Proof
    keyless = Proof(SENT, SENT + 0.06)
    assert "no upstream key" in " ".join(
        check_answer("upstream_async", {"ms": 50}, 200, upstream_answer(), 0.058, keyless))
    assert "not a backend" in " ".join(
        check_answer("db_sync", {"ms": 50}, 200, db_answer(), 0.058, keyless))


INFO = {"pools": {"anyio-limiter": {"size": 40, "kind": "threads"},
                  "psycopg-pool": {"size": 4, "kind": "connections"}},
        "parallelism": None, "lock_switch_interval_s": 0.005}


def test_info_with_the_facts_the_model_reads_passes():
    from runner.measure.check import info_problems
    execution = {"runs": "pool", "pool": "anyio-limiter", "via": "psycopg-pool", "lock": "process"}
    setting = {"psycopg_pool": {"value": 4, "env": "BENCH_PSYCOPG_POOL", "pool": "psycopg-pool"}}
    assert info_problems(INFO, execution, setting) == []


def test_info_without_a_pool_size_says_what_to_add():
    from runner.measure.check import info_problems
    execution = {"runs": "loop", "via": "asyncpg-pool", "lock": "process"}
    (problem,) = info_problems(INFO, execution, {})
    assert problem.startswith("/info must report pools.asyncpg-pool.size")
    assert problem.endswith(": add it to the server's /info answer")
    assert "goes via" in problem


def test_info_must_report_a_set_pool_at_its_size_and_the_lock_facts():
    from runner.measure.check import info_problems
    setting = {"limiter": {"value": 100, "env": "BENCH_LIMITER_TOKENS", "pool": "anyio-limiter"},
               "executor": {"value": 8, "env": "BENCH_EXECUTOR_THREADS", "pool": "default-executor"}}
    info = {**INFO, "lock_switch_interval_s": "5ms"}
    problems = info_problems(info, {"runs": "loop", "lock": "process"}, setting)
    assert problems[0] == ("/info reports pools.anyio-limiter.size 40, but the suite set limiter "
                           "to 100 (BENCH_LIMITER_TOKENS=100): the server must apply "
                           "BENCH_LIMITER_TOKENS and report the size in force")
    assert problems[1].startswith("/info must report pools.default-executor.size")
    assert problems[2].startswith("/info must report lock_switch_interval_s")
    assert len(problems) == 3
    (wrong,) = info_problems({"parallelism": "4"}, {"runs": "request", "lock": "none"}, {})
    assert wrong.startswith("/info must report parallelism") and "got '4'" in wrong
    # null or absent: the model goes by the cores
    assert info_problems({}, {"runs": "request", "lock": "none"}, {}) == []
    assert info_problems({"lock_switch_interval_s": None}, {"runs": "request", "lock": "process"},
                         {}) == []


def test_error_answers_other_than_the_contracts_are_named():
    from runner.measure.check import bad_parameter_path, error_answer_problem
    assert bad_parameter_path("/sync_sleep?ms=50", {"ms": 50}) == "/sync_sleep?ms=abc"
    assert bad_parameter_path("/hello", {}) is None
    assert error_answer_problem("/sync_sleep?ms=abc", 400, 400, b"") is None
    assert error_answer_problem("/sync_sleep?ms=abc", 400, 422, b"{}").startswith(
        "answers a bad parameter (/sync_sleep?ms=abc) with 422, expected 400")
    assert error_answer_problem("/no_such_endpoint", 404, 200, b"{}").startswith(
        "answers an unknown path (/no_such_endpoint) with 200, expected 404")
