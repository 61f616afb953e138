"""The model from declarations, the steady-state rate, method checks and the probe timeline.

Each declared execution type has its expected ceiling here; the model itself names no
endpoint kind, framework or language (checked below).
"""

import re
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from runner.model.diagnose import (Finding, FindingKind, Level, LoadPlan, Measured, PlanWarning,
                                   WarningKind, diagnose, plan_warnings)
from runner.model.probe import align, summarize_probe
from runner.model.predict import (Execution, Facts, Limit, LimitKind, NoModel, Pool, Server,
                                  busy_demand, busy_occupancy, interpolate, predict,
                                  steady_state_rps, unsteady)
from runner.report.measures import load_demand
from runner.report.sentences import cause_text, limit_text, warning_text
from runner.terms import Concurrency, PoolKind
from runner.store.results import StoredRun

POOLS = {"threads-40": Pool(40, "threads"), "threads-6": Pool(6, "threads"),
         "procs-2": Pool(2, "processes"), "workers-2": Pool(2, "threads")}
LOOP, THREAD_PER_REQUEST, TASKS = "event-loop", "thread-per-request", "task-per-request"


def facts(service_s=1.0, demand=None, connections=100, cores=2, left=None, parallelism=None,
          split=None) -> Facts:
    return Facts(connections, service_s, cores, left, demand, POOLS, parallelism, split)


# a wait of 1 s under 100 connections: (execution, server, ceiling, bottleneck starts with)
WAITS = [
    (Execution("loop"), Server(LOOP, 1), 100.0, "none: every connection in service at once"),
    (Execution("pool", "threads-40", "process", "anyio's thread limiter"), Server(LOOP, 1), 40.0,
     "anyio's thread limiter: 40 threads × 1 worker"),
    (Execution("pool", "threads-40", "process", "anyio's thread limiter"), Server(LOOP, 2), 80.0,
     "anyio's thread limiter: 40 threads × 2 workers"),
    (Execution("pool", "threads-6", "process"), Server(LOOP, 1), 6.0, "threads-6: 6 threads"),
    (Execution("loop-blocking"), Server(LOOP, 2), 2.0,
     "the event loop, blocked by each request: 1 at a time × 2 workers"),
    (Execution("request", lock="process"), Server(THREAD_PER_REQUEST, 1), 100.0,
     "none: every connection in service at once (100, a thread per request)"),
    (Execution("request", lock="process"), Server("threads", 1, 1), 1.0,
     "one request at a time × 1 worker"),
    (Execution("request", lock="process"), Server("threads", 5, 1), 5.0,
     "one request at a time × 5 workers"),
    (Execution("request", lock="process"), Server("threads", 2, 4), 8.0,
     "4 request threads × 2 workers"),
    (Execution("request"), Server(TASKS, 1), 100.0, "none: every connection in service at once"),
    (Execution("pool", "procs-2", "process"), Server("threads", 5, 1), 5.0,
     "one request at a time × 5 workers"),
]


@pytest.mark.parametrize("execution,server,ceiling,bottleneck", WAITS)
def test_wait_ceilings(execution, server, ceiling, bottleneck):
    p = predict(execution, server, facts())
    assert p.bound == "requests"
    assert p.ceiling_rps == pytest.approx(ceiling)
    assert p.latency_s == pytest.approx(max(1.0, 100 / ceiling))
    assert limit_text(p.limit).startswith(bottleneck)


def test_service_time_scales_the_ceiling():
    p = predict(Execution("pool", "threads-40"), Server(LOOP, 1), facts(service_s=1.002))
    assert p.ceiling_rps == pytest.approx(39.92, abs=0.01)


# CPU work of 0.1 s a request: (execution, server, parallelism, cores used, bottleneck)
CPU = [
    (Execution("pool", "threads-40", "process"), Server(LOOP, 1), None, 1,
     "one core per process (process-wide lock) × 1 worker"),
    (Execution("loop-blocking", lock="process"), Server(LOOP, 1), None, 1,
     "the event loop, blocked by each request"),
    (Execution("loop-blocking"), Server(LOOP, 1), None, 1,
     "the event loop, blocked by each request"),
    (Execution("pool", "threads-40", "process"), Server(LOOP, 2), None, 2, "cores: 2 of 2"),
    # a tie between the pool's size and the cores: the pool is named
    (Execution("pool", "procs-2", "process"), Server(LOOP, 1), None, 2, "procs-2: 2 processes"),
    (Execution("pool", "procs-2", "process"), Server("threads", 1, 1), None, 1,
     "one request at a time × 1 worker"),
    (Execution("pool", "workers-2"), Server(LOOP, 1), None, 2, "workers-2: 2 threads"),
    (Execution("request"), Server(TASKS, 1), 2, 2, "cores: 2 of 2"),
    (Execution("request"), Server(TASKS, 1), 1, 1, "cores: the runtime runs 1 threads at once"),
    (Execution("request", lock="process"), Server(THREAD_PER_REQUEST, 1), None, 1,
     "one core per process (process-wide lock)"),
]


@pytest.mark.parametrize("execution,server,parallelism,parallel,bottleneck", CPU)
def test_cpu_ceilings(execution, server, parallelism, parallel, bottleneck):
    p = predict(execution, server, facts(service_s=0.1, demand=0.1, parallelism=parallelism))
    assert p.parallel == parallel
    assert p.ceiling_rps == pytest.approx(parallel / 0.1)
    assert limit_text(p.limit).startswith(bottleneck)


def test_cores_left_beside_the_load_generator_bound_cpu_work():
    p = predict(Execution("request"), Server(TASKS, 1), facts(0.001, 0.001, left=1.6))
    assert p.bound == "cores" and p.ceiling_rps == pytest.approx(1600)
    assert p.limit == Limit(LimitKind.CORES_LEFT, workers=1, cores=2, cores_left=1.6)
    assert limit_text(p.limit) == "cores: 1.6 of 2 cores left beside the load generator"


def test_a_wait_without_cpu_demand_has_no_cores_bound():
    p = predict(Execution("request"), Server(TASKS, 1), facts(0.001, None))
    assert p.bound == "requests" and p.ceiling_rps == pytest.approx(100_000)


def test_uneven_connection_split_over_workers_lowers_the_ceiling():
    pool = Execution("pool", "threads-40", "process", "anyio's thread limiter")
    even = predict(pool, Server(LOOP, 2), facts(split=(50, 50)))
    assert even.ceiling_rps == pytest.approx(80.0)
    uneven = predict(pool, Server(LOOP, 2), facts(split=(69, 31)))
    assert uneven.ceiling_rps == pytest.approx(71.0)  # 40 of 69 in service, 31 of 31
    assert limit_text(uneven.limit) == ("anyio's thread limiter: 40 threads × 2 workers, "
                                        "connections split 69/31")
    # workers that held no connection count as holding none: 2 of 5 gthread workers
    # that took every connection serve 8 at once, not 20
    late = predict(Execution("request", lock="process"), Server("threads", 5, 4),
                   facts(split=(50, 50)))
    assert late.ceiling_rps == pytest.approx(8.0)
    assert limit_text(late.limit).endswith("connections split 50/50/0/0/0")
    # one worker takes every connection, however many it had accepted when sampled
    lone = predict(pool, Server(LOOP, 1), facts(split=(7,)))
    assert lone.ceiling_rps == pytest.approx(40.0)


def test_missing_facts_say_why():
    with pytest.raises(NoModel, match="did not report the size of pool 'nope'"):
        predict(Execution("pool", "nope"), Server(LOOP, 1), facts())
    with pytest.raises(NoModel, match="no service time"):
        predict(Execution("loop"), Server(LOOP, 1), facts(service_s=None))


def said(prediction, efficiency: float, measured: dict) -> str:
    """The diagnosis of `measured` (a dict of Measured's fields) in words."""
    return cause_text(diagnose(prediction, efficiency, Measured(**measured)))


def test_diagnose_names_the_measured_cause():
    contended = predict(Execution("pool", "threads-40", "process"), Server(LOOP, 1),
                        facts(0.03, 0.03))
    assert contended.runnable_per_process == 40
    cause = said(contended, 0.77, {"server_cores": 0.77, "switch_interval_s": 0.005})
    assert cause == ("40 runnable threads share one process-wide lock (switch interval 5 ms); "
                     "the server used 0.77 cores of the 1 the model gives it")
    idle = predict(Execution("request"), Server(TASKS, 1), facts(0.001, 0.001))
    assert "the server used 1.20 cores of the 2" in said(idle, 0.6, {"server_cores": 1.2})
    # cores idle while a request took longer than alone: it waited, and the cause says so
    waited = {"server_cores": 1.22, "service_s": 0.0532, "p50_s": 0.0966}
    assert said(idle, 0.72, waited) == (
        "the server used 1.22 cores of the 2 the model gives it, while a request took 96.6 ms "
        "under load against 53.2 ms alone")
    assert said(idle, 0.72, {**waited, "p50_s": 0.055}).endswith("the model gives it")
    assert said(idle, 0.8, {}) == "unexplained"
    # a full machine: what the server lacked went to others, or to the kernel's interrupts
    full = {"server_cores": 1.2, "machine_cores": 1.96, "machine_irq_cores": 0.31, "cores": 2}
    assert said(idle, 0.7, full).endswith("the machine's 2 cores were 98% busy, 0.31 of "
                                              "them in interrupts")
    assert "machine" not in said(idle, 0.7, {**full, "machine_cores": 1.5})


def test_limits_are_records_carrying_their_numbers():
    # a thread-limited row: 40 threads a worker, two workers, the split as measured
    pool = Execution("pool", "threads-40", "process", "anyio's thread limiter")
    found = predict(pool, Server(LOOP, 2), facts(split=(69, 31)))
    assert found.in_service == 71
    assert found.limit == Limit(LimitKind.POOL, 40, workers=2, split=(69, 31),
                                title="anyio's thread limiter", pool_kind=PoolKind.THREADS)
    threads = predict(Execution("request", lock="process"), Server("threads", 2, 4), facts())
    assert threads.in_service == 8
    assert threads.limit == Limit(LimitKind.REQUEST_THREADS, 4, workers=2,
                                  admission=Concurrency.THREADS)
    # gevent: a greenlet per request, capped by --worker-connections (the server's threads)
    tasks = predict(Execution("request", lock="process"), Server("task-per-request", 2, 4),
                    facts(0.05, 0.0001))
    assert (tasks.in_service, tasks.limit.kind, tasks.limit.count) == (8, LimitKind.REQUEST_THREADS, 4)
    assert limit_text(tasks.limit).startswith("4 requests at once, a task each")
    uncapped = predict(Execution("request", lock="process"), Server("task-per-request", 2),
                       facts(0.05, 0.0001))
    assert uncapped.in_service == 100
    loop = predict(Execution("loop"), Server(LOOP, 1), facts())
    assert loop.limit == Limit(LimitKind.EVERY_CONNECTION, 100, workers=1,
                               admission=Concurrency.EVENT_LOOP)
    lock = predict(Execution("pool", "threads-40", "process"), Server(LOOP, 1), facts(0.1, 0.1))
    assert lock.limit == Limit(LimitKind.PROCESS_LOCK, workers=1, cores=2, cores_left=2)
    # the cores left, shared with the services the server called
    shared = predict(Execution("request"), Server(TASKS, 1),
                     replace(facts(0.1, 0.1), service_cpu_s=0.1))
    assert shared.parallel == pytest.approx(1.0)
    assert shared.limit == Limit(LimitKind.SHARED_CORES, workers=1, cores=2, cores_left=2,
                                 title="the services", service_cpu_s=0.1)
    assert limit_text(shared.limit) == ("cores: 2 of 2 cores left beside the load generator, "
                                        "shared with the services at 100 ms of its CPU a "
                                        "request")


def test_a_diagnosis_is_a_list_of_findings_with_their_numbers():
    contended = predict(Execution("pool", "threads-40", "process"), Server(LOOP, 1),
                        facts(0.03, 0.03))
    assert diagnose(contended, 0.77, Measured(server_cores=0.77, switch_interval_s=0.005)) == [
        Finding(FindingKind.SHARED_LOCK, threads=40, switch_interval_s=0.005),
        Finding(FindingKind.CORES_USED, server_cores=0.77, model_cores=1)]
    idle = predict(Execution("request"), Server(TASKS, 1), facts(0.001, 0.001))
    waited = Measured(server_cores=1.22, service_s=0.0532, p50_s=0.0966)
    assert diagnose(idle, 0.72, waited) == [Finding(
        FindingKind.CORES_USED, server_cores=1.22, model_cores=2, p50_s=0.0966,
        service_s=0.0532)]
    # the cores the server used against the model's do not depend on the efficiency; a full
    # machine explains only a slow row
    full = Measured(server_cores=1.2, machine_cores=1.96, machine_irq_cores=0.31, cores=2)
    used = Finding(FindingKind.CORES_USED, server_cores=1.2, model_cores=2)
    assert diagnose(idle, 0.7, full) == [used, Finding(
        FindingKind.MACHINE_FULL, cores=2, busy_cores=1.96, irq_cores=0.31)]
    assert diagnose(idle, 1.3, full) == [used]
    # nothing measured explains it: an empty list, said "unexplained"
    assert diagnose(idle, 0.8, Measured()) == [] and cause_text([]) == "unexplained"
    with pytest.raises(FrozenInstanceError):
        full.cores = 4


@pytest.mark.parametrize("module", sorted(
    Path(__file__).resolve().parent.parent.joinpath("runner", "model").glob("*.py")),
    ids=lambda p: p.name)
def test_the_model_names_no_kind_framework_or_language(module):
    code = re.sub(r'""".*?"""', "", module.read_text(), flags=re.S)   # docstrings may explain
    code = re.sub(r"#.*", "", code)
    from runner.config.kinds import KINDS
    names = list(KINDS) + ["python", "fastapi", "flask", "anyio", "asyncio", "gunicorn",
                           "uvicorn", "go", "goroutine", "gomaxprocs", "node", "gil"]
    found = [n for n in names if re.search(rf"\b{n}\b", code, re.I)]
    assert found == []


def test_steady_state_drops_partial_and_ramp_seconds():
    # first bucket partial, one second of ramp for a 1 s service time, last bucket partial
    assert steady_state_rps([3, 0, 40, 40, 40, 39, 41, 12], 1.0) == pytest.approx(40.0)
    assert steady_state_rps([5, 100, 100, 100, 7], 0.001) == pytest.approx(100.0)
    assert steady_state_rps([1, 2], 0.001) is None
    assert steady_state_rps(None, 1.0) is None


def warned(execution, server, threads, connections, duration_s, timeout_s, service_s,
           cores) -> list[tuple[str, str]]:
    """plan_warnings as (level, words) pairs."""
    load = LoadPlan(threads, connections, duration_s, timeout_s)
    return [(found.level, warning_text(found))
            for found in plan_warnings(execution, server, load, service_s, cores)]


def test_plan_warnings():
    blocking, loop1 = Execution("loop-blocking"), Server(LOOP, 1)
    msgs = warned(blocking, loop1, 4, 100, 15, 120, 1.0, 2)
    assert msgs == [("warning", "expected latency 100 s exceeds the 15 s run: requests still "
                                "queued at the end never count (the event loop, blocked by each "
                                "request: 1 at a time × 1 worker)")]
    single = Execution("request", lock="process"), Server("threads", 1, 1)
    msgs = warned(*single, 4, 10, 15, 30, 1.0, 2)
    assert msgs[0] == ("warning", "-c 10 is not a multiple of -t 4: wrk opens 2 per thread, 8 in all")
    low = warned(*single, 4, 100, 15, 30, 1.0, 2)
    assert any(level == "warning" and "--timeout 30 s is below the expected latency 100 s" in m
               for level, m in low)
    assert warned(*single, 1, 1, 15, 60, 20.0, 2) == [
        ("error", "one request takes 20 s, the run lasts only 15 s: nothing could complete")]
    # a pool whose size only the running server reports has no warning yet
    assert warned(Execution("pool", "threads-40"), loop1, 4, 100, 15, 120, 1.0, 2) == []


def test_plan_warnings_are_records_with_a_level():
    load = LoadPlan(threads=4, connections=100, duration_s=15, timeout_s=120)
    [queue] = plan_warnings(Execution("loop-blocking"), Server(LOOP, 2), load, 1.0, 2)
    assert (queue.level, queue.kind) == (Level.WARNING, WarningKind.QUEUE_OUTLASTS_RUN)
    assert queue.latency_s == pytest.approx(50.0) and queue.load == load
    assert queue.limit == Limit(LimitKind.BLOCKED_LOOP, 1, workers=2)
    short = LoadPlan(threads=1, connections=1, duration_s=15, timeout_s=60)
    assert plan_warnings(None, Server(LOOP, 1), short, 20.0, 2) == [
        PlanWarning(Level.ERROR, WarningKind.NOTHING_COMPLETES, short, service_s=20.0)]


def test_probe_timeline_lines_up_on_the_clock():
    probe = {"per_second_start": 100, "per_second": [300, 600, 600, 590, 0, 0, 0, 10, 580, 600, 200],
             "latency_s": {"max": 3.2}}
    heavy = {"per_second_start": 103, "per_second": [0, 1, 1, 0]}
    timeline = align(probe, heavy)
    assert timeline == {"probe_per_second": probe["per_second"], "heavy_first": 3, "heavy_last": 6}
    summary = summarize_probe(timeline, probe)
    assert summary == {"before_rps": 600, "during_min_rps": 0, "during_mean_rps": pytest.approx(1190 / 6),
                       "after_rps": 580, "longest_wait_s": 3.2}




def test_a_slow_row_counted_from_few_completions_says_so():
    p = predict(Execution("loop-blocking"), Server(LOOP, 1), facts())
    cause = said(p, 0.89, {"steady_completions": 8})
    assert cause == "only 8 completions in the steady window: one more or fewer moves the rate by 12%"
    assert said(p, 0.5, {"steady_completions": 8}) == "unexplained"


# two connections per core on 2 cores for 2 s: 19 answers, 0.5 CPU seconds each
BUSY = {"demand_connections": 4, "demand_requests": 19, "demand_duration_s": 2.0,
        "cpu_demand_s": 0.5 * 20 / 19, "demand_server_cores": 1.95}


def test_calibration_counts_the_requests_still_in_service_as_half_done():
    # a 2-process pool: 2 requests were in service when wrk stopped, half done on average
    pool = Execution("pool", "procs-2", "process"), Server(LOOP, 1), facts()
    assert busy_demand(BUSY, *pool) == pytest.approx(0.5)
    # without the declaration the CPU is charged to the answers alone
    assert busy_demand(BUSY) == pytest.approx(0.5 * 20 / 19)
    # a server that mostly waited has no CPU demand
    assert busy_demand({**BUSY, "demand_server_cores": 0.1}, *pool) is None


def test_occupancy_is_the_time_a_request_held_its_place_under_a_queue():
    # one at a time: 1 place x 2 s / 19.5 requests' worth of work
    blocking = Execution("loop-blocking"), Server(LOOP, 1), facts()
    assert busy_occupancy(BUSY, *blocking) == pytest.approx(2.0 / 19.5)
    # with the split the calibration saw: two workers, each blocked by one request
    two = Execution("loop-blocking"), Server(LOOP, 2), facts()
    assert busy_occupancy({**BUSY, "demand_split": [3, 1]}, *two) == pytest.approx(4.0 / 20)
    assert busy_occupancy({"error": "no"}, *blocking) is None


def test_a_window_of_few_rounds_has_no_steady_rate():
    # 40 threads sharing one core, 0.2 s of CPU each: all 40 replaced every 8 s
    shared = predict(Execution("pool", "threads-40", "process"), Server(LOOP, 1),
                     facts(service_s=0.2, demand=0.2))
    assert shared.round_s == pytest.approx(8.0)
    assert unsteady(shared, 9) == ("no steady rate: the 40 requests in service are replaced "
                                   "every 8 s, 1.1 times in the 9 s window (a steady rate "
                                   "needs 3: 24 s)")
    assert unsteady(shared, 24) is None
    # one request at a time is steady from its first answer
    one = predict(Execution("loop-blocking"), Server(LOOP, 1), facts(service_s=2.0))
    assert unsteady(one, 3) is None


def test_interpolate_a_sampled_series():
    series = [[10.0, 0.0], [10.5, 1.0], [11.0, 1.5]]
    assert interpolate(series, 10.25) == pytest.approx(0.5)
    assert interpolate(series, 11.0) == pytest.approx(1.5)
    assert interpolate(series, 9.0) is None


def test_load_demand_counts_cpu_over_the_steady_seconds():
    # buckets from t=100: ramp, 4 steady seconds of 10 answers, a partial last one; the
    # tree idled during the ramp and burned one core from t=101
    series = [[100.0 + t / 4, max(0.0, (t / 4) - 1)] for t in range(25)]
    run = StoredRun(index=0, started_at="2026-11-24T10:00:00Z", server_argv=[], check={},
                    wrk={"per_second_start": 100, "per_second": [0, 10, 10, 10, 10, 3],
                         "requests": 43},
                    resources={"server_cpu_s": 5.0, "wall_s": 6.0, "server_cpu_series": series})
    assert load_demand(run, 0.05) == pytest.approx(0.1)    # 4 CPU s over 40 answers
    # stored before the series: the whole run
    run.resources.server_cpu_series = []
    assert load_demand(run, 0.05) == pytest.approx(5.0 / 43)
    # a server that mostly waited: no CPU demand
    run.resources.server_cpu_s = 0.1
    assert load_demand(run, 0.05) is None



def test_a_cpu_request_faster_under_a_queue_says_the_server_idled_in_calibration():
    one = predict(Execution("loop-blocking"), Server(LOOP, 1), facts(service_s=0.0048))
    cause = said(one, 1.11, {"cpu_per_request_s": 0.00434, "server_cores": 1.01})
    assert cause == ("under load the server kept 1.01 cores busy at 4.34 ms of CPU a request, "
                     "shorter than the 4.8 ms a request held its place in calibration, where "
                     "the server also idled while the client turned round")
    assert said(one, 1.11, {"cpu_per_request_s": 0.00434, "server_cores": 0.5}) == "unexplained"


# ---- connection pools a request waits in, and a service's own limit ----

CONN = {"asyncpg": Pool(10, "connections"), "psycopg": Pool(4, "connections"),
        "sqldb": Pool(None, "connections"), "limiter": Pool(40, "threads")}


def io_facts(service_connections=None, connections=100) -> Facts:
    return Facts(connections, 0.05, 2, pools=CONN, service_connections=service_connections,
                 service_title="PostgreSQL max_connections")


@pytest.mark.parametrize("execution, server, ceiling, bottleneck", [
    (Execution("loop", via="asyncpg", via_title="asyncpg's pool"), Server(LOOP, 1), 200.0,
     "asyncpg's pool: 10 connections × 1 worker"),
    (Execution("loop", via="asyncpg", via_title="asyncpg's pool"), Server(LOOP, 2), 400.0,
     "asyncpg's pool: 10 connections × 2 workers"),
    # a def handler: the limiter admits 40, the pool lets 4 of them query
    (Execution("pool", "limiter", "process", via="psycopg", via_title="psycopg_pool's pool"),
     Server(LOOP, 1), 80.0, "psycopg_pool's pool: 4 connections × 1 worker"),
    (Execution("loop-blocking", via="psycopg"), Server(LOOP, 1), 20.0,
     "the event loop, blocked by each request: 1 at a time"),
    (Execution("request", via="sqldb"), Server(TASKS, 1), 2000.0,
     "none: every connection in service at once"),
    (Execution("request", lock="process", via="psycopg"), Server("threads", 2, 4), 160.0,
     "4 request threads × 2 workers"),
])
def test_a_connection_pool_caps_the_requests_in_service(execution, server, ceiling, bottleneck):
    found = predict(execution, server, io_facts())
    assert found.ceiling_rps == pytest.approx(ceiling)
    assert limit_text(found.limit).startswith(bottleneck), found.limit


def test_a_services_connection_limit_caps_every_worker_together():
    execution = Execution("request", via="sqldb")
    found = predict(execution, Server(TASKS, 1), io_facts(service_connections=60))
    assert found.in_service == 60 and found.ceiling_rps == pytest.approx(1200)
    assert found.limit == Limit(LimitKind.SERVICE_CONNECTIONS, 60, 1,
                                title="PostgreSQL max_connections")
    assert limit_text(found.limit) == "PostgreSQL max_connections: 60 connections"
    # pools within the limit leave it out of the words
    found = predict(Execution("loop", via="asyncpg"), Server(LOOP, 2), io_facts(60))
    assert found.in_service == 20 and found.limit.kind == LimitKind.CONNECTION_POOL
    assert "max_connections" not in limit_text(found.limit)


def test_a_pool_the_server_did_not_report_has_no_model():
    with pytest.raises(NoModel, match="did not report the size of pool 'nope'"):
        predict(Execution("loop", via="nope"), Server(LOOP, 1), io_facts())


def test_pools_from_info_keep_an_unbounded_connection_pool():
    from runner.model.predict import pools_from_info, service_cap
    pools = pools_from_info({"pools": {"sql": {"size": None, "kind": "connections"},
                                       "threads": {"size": None, "kind": "threads"}}})
    assert pools == {"sql": Pool(None, "connections")}
    assert service_cap({"postgres": {"title": "PostgreSQL", "max_connections": 150},
                        "upstream": {"title": "the upstream"}}) == (150, "PostgreSQL max_connections")
    assert service_cap(None) is None
