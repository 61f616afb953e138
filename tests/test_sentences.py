"""The model's records in words (runner/report/sentences.py): each kind of limit, finding
and method check has its sentence, word for word as the reports print it."""

import pytest

from runner.model.diagnose import (Finding, FindingKind, Level, LoadPlan, PlanWarning,
                                   WarningKind)
from runner.model.predict import Limit, LimitKind
from runner.report.sentences import cause_text, finding_text, limit_text, warning_text
from runner.terms import Concurrency, PoolKind

LIMITS = [
    (Limit(LimitKind.EVERY_CONNECTION, 100, admission=Concurrency.EVENT_LOOP),
     "none: every connection in service at once (100, its event loop)"),
    (Limit(LimitKind.EVERY_CONNECTION, 64, 2, (40, 24)),
     "none: every connection in service at once (64), connections split 40/24"),
    (Limit(LimitKind.REQUEST_THREADS, 1, 5), "one request at a time × 5 workers"),
    (Limit(LimitKind.REQUEST_THREADS, 4, 2), "4 request threads × 2 workers"),
    (Limit(LimitKind.BLOCKED_LOOP, 1, 1),
     "the event loop, blocked by each request: 1 at a time × 1 worker"),
    (Limit(LimitKind.POOL, 40, 2, (69, 31), title="anyio's thread limiter",
           pool_kind=PoolKind.THREADS),
     "anyio's thread limiter: 40 threads × 2 workers, connections split 69/31"),
    (Limit(LimitKind.CONNECTION_POOL, 10, 1, title="asyncpg's pool"),
     "asyncpg's pool: 10 connections × 1 worker"),
    (Limit(LimitKind.SERVICE_CONNECTIONS, 60, 1, title="PostgreSQL max_connections"),
     "PostgreSQL max_connections: 60 connections"),
    (Limit(LimitKind.SERVICE_CONNECTIONS, 60, 4, title="PostgreSQL max_connections"),
     "PostgreSQL max_connections: 60 connections for all 4 workers"),
    (Limit(LimitKind.CORES_LEFT, cores=2, cores_left=1.62),
     "cores: 1.6 of 2 cores left beside the load generator"),
    # the plural as the reports have always printed it
    (Limit(LimitKind.POOL_PROCESSES, 2, cores=4, cores_left=3.5),
     "cores: 2 pool processs busy at once (3.5 of 4 cores left beside the load generator)"),
    (Limit(LimitKind.PROCESS_LOCK, workers=2, cores=4, cores_left=3.5),
     "one core per process (process-wide lock) × 2 workers"),
    (Limit(LimitKind.LOOP_CORE, workers=1, cores=4, cores_left=3.5),
     "one core per event loop × 1 worker"),
    (Limit(LimitKind.RUNTIME_THREADS, 1, cores=2, cores_left=1.9),
     "cores: the runtime runs 1 threads at once (1.9 of 2 cores left beside the load "
     "generator)"),
    (Limit(LimitKind.SHARED_CORES, cores=2, cores_left=1.9, title="the services",
           service_cpu_s=0.00123),
     "cores: 1.9 of 2 cores left beside the load generator, shared with the services at "
     "1.23 ms of its CPU a request"),
]


@pytest.mark.parametrize("limit, text", LIMITS, ids=lambda v: getattr(v, "kind", ""))
def test_each_limit_in_words(limit, text):
    assert limit_text(limit) == text


def test_every_kind_has_its_sentence():
    assert {limit.kind for limit, _ in LIMITS} == set(LimitKind)
    assert {finding.kind for finding, _ in FINDINGS} == set(FindingKind)
    assert {warning.kind for warning, _ in WARNINGS} == set(WarningKind)


FINDINGS = [
    (Finding(FindingKind.FEW_COMPLETIONS, completions=8),
     "only 8 completions in the steady window: one more or fewer moves the rate by 12%"),
    (Finding(FindingKind.SHARED_LOCK, threads=40, switch_interval_s=0.005),
     "40 runnable threads share one process-wide lock (switch interval 5 ms)"),
    (Finding(FindingKind.SHARED_LOCK, threads=40),
     "40 runnable threads share one process-wide lock"),
    (Finding(FindingKind.CORES_USED, server_cores=0.77, model_cores=1),
     "the server used 0.77 cores of the 1 the model gives it"),
    (Finding(FindingKind.CORES_USED, server_cores=1.22, model_cores=2, p50_s=0.0966,
             service_s=0.0532),
     "the server used 1.22 cores of the 2 the model gives it, while a request took 96.6 ms "
     "under load against 53.2 ms alone"),
    (Finding(FindingKind.MACHINE_FULL, cores=2, busy_cores=1.96, irq_cores=0.31),
     "the machine's 2 cores were 98% busy, 0.31 of them in interrupts"),
    (Finding(FindingKind.LATENCY_UNDER_LOAD, p50_s=1.2, service_s=1.0),
     "a request took 1.2 s under load against 1 s alone"),
    (Finding(FindingKind.IDLED_IN_CALIBRATION, server_cores=1.01, cpu_per_request_s=0.00434,
             held_s=0.0048),
     "under load the server kept 1.01 cores busy at 4.34 ms of CPU a request, shorter than "
     "the 4.8 ms a request held its place in calibration, where the server also idled while "
     "the client turned round"),
]


@pytest.mark.parametrize("finding, text", FINDINGS, ids=lambda v: getattr(v, "kind", ""))
def test_each_finding_in_words(finding, text):
    assert finding_text(finding) == text


def test_a_cause_joins_its_findings_or_says_unexplained():
    (lock, lock_text), (used, used_text) = FINDINGS[1], FINDINGS[3]
    assert cause_text([lock, used]) == f"{lock_text}; {used_text}"
    assert cause_text([]) == "unexplained"


LOAD = LoadPlan(threads=4, connections=10, duration_s=15, timeout_s=30)
WARNINGS = [
    (PlanWarning(Level.WARNING, WarningKind.UNEVEN_CONNECTIONS, LOAD),
     "-c 10 is not a multiple of -t 4: wrk opens 2 per thread, 8 in all"),
    (PlanWarning(Level.ERROR, WarningKind.NOTHING_COMPLETES, LOAD, service_s=20.0),
     "one request takes 20 s, the run lasts only 15 s: nothing could complete"),
    (PlanWarning(Level.WARNING, WarningKind.TIMEOUT_BELOW_LATENCY, LOAD, latency_s=100.0),
     "--timeout 30 s is below the expected latency 100 s: slow answers count as timeouts "
     "and drop out of the latency figures"),
    (PlanWarning(Level.WARNING, WarningKind.QUEUE_OUTLASTS_RUN, LOAD, latency_s=100.0,
                 limit=Limit(LimitKind.BLOCKED_LOOP, 1, 1)),
     "expected latency 100 s exceeds the 15 s run: requests still queued at the end never "
     "count (the event loop, blocked by each request: 1 at a time × 1 worker)"),
]


@pytest.mark.parametrize("warning, text", WARNINGS, ids=lambda v: getattr(v, "kind", ""))
def test_each_method_check_in_words(warning, text):
    assert warning_text(warning) == text
