"""The Little's-law model, the steady-state rate, method checks and the probe timeline."""

import pytest

from runner.interference import align, summarize_probe
from runner.model import plan_warnings, predict, steady_state_rps

FASTAPI = {"thread_limiter_tokens": 40, "default_executor_workers": 6,
           "process_pool_workers": 2, "cpu_count": 2}


@pytest.mark.parametrize("kind,concurrency,workers,threads,ceiling,bottleneck", [
    ("async_sleep", "event-loop", 1, None, 100.0, "none: every connection waits on the event loop"),
    ("sync_sleep", "event-loop", 1, None, 40.0, "anyio thread limiter: 40 tokens x 1 worker"),
    ("sync_sleep", "event-loop", 2, None, 80.0, "anyio thread limiter: 40 tokens x 2 workers"),
    ("executor_sleep", "event-loop", 1, None, 6.0, "asyncio default executor: 6 threads x 1 worker"),
    ("blocking_in_async", "event-loop", 2, None, 2.0, "one event loop blocked per request x 2 workers"),
    ("sync_sleep", "thread-per-request", 1, None, 100.0, "none: a thread per request"),
    ("sync_sleep", "threads", 1, 1, 1.0, "one request at a time x 1 worker"),
    ("sync_sleep", "threads", 5, 1, 5.0, "one request at a time x 5 workers"),
    ("sync_sleep", "threads", 2, 4, 8.0, "4 threads x 2 workers"),
    ("sync_sleep", "goroutines", 1, None, 100.0, "none: a goroutine per request"),
])
def test_sleep_ceilings(kind, concurrency, workers, threads, ceiling, bottleneck):
    p = predict(kind, "python", concurrency, workers, threads, 100, 1.0, 2, FASTAPI)
    assert p.ceiling_rps == pytest.approx(ceiling)
    assert p.latency_s == pytest.approx(max(1.0, 100 / ceiling))
    assert p.bottleneck.startswith(bottleneck)


def test_service_time_scales_the_ceiling():
    p = predict("sync_sleep", "python", "event-loop", 1, None, 100, 1.002, 2, FASTAPI)
    assert p.ceiling_rps == pytest.approx(39.92, abs=0.01)


@pytest.mark.parametrize("kind,language,concurrency,workers,threads,info,parallel,bottleneck", [
    ("cpu_sync", "python", "event-loop", 1, None, FASTAPI, 1, "GIL: one core per process x 1 worker"),
    ("cpu_in_async", "python", "event-loop", 1, None, FASTAPI, 1, "GIL: one core per process"),
    ("cpu_sync", "python", "event-loop", 2, None, FASTAPI, 2, "cores: 2 shared with wrk"),
    ("cpu_process", "python", "event-loop", 1, None, FASTAPI, 2, "cores: 2 pool processes on 2 cores"),
    ("cpu_process", "python", "threads", 1, 1, FASTAPI, 1, "process pool: 1 processes busy"),
    ("cpu_sync", "go", "goroutines", 1, None, {"gomaxprocs": 2}, 2, "cores: GOMAXPROCS = 2"),
])
def test_cpu_parallelism(kind, language, concurrency, workers, threads, info, parallel, bottleneck):
    p = predict(kind, language, concurrency, workers, threads, 100, 0.1, 2, info)
    assert p.in_service == parallel
    assert p.ceiling_rps == pytest.approx(parallel / 0.1)
    assert p.bottleneck.startswith(bottleneck)


def test_no_model_for_overhead_kinds_or_missing_service_time():
    assert predict("hello", "python", "event-loop", 1, None, 100, 0.001, 2, FASTAPI) is None
    assert predict("sync_sleep", "python", "event-loop", 1, None, 100, None, 2, FASTAPI) is None


def test_steady_state_drops_partial_and_ramp_seconds():
    # first bucket partial, one second of ramp for a 1 s service time, last bucket partial
    assert steady_state_rps([3, 0, 40, 40, 40, 39, 41, 12], 1.0) == pytest.approx(40.0)
    assert steady_state_rps([5, 100, 100, 100, 7], 0.001) == pytest.approx(100.0)
    assert steady_state_rps([1, 2], 0.001) is None
    assert steady_state_rps(None, 1.0) is None


def test_plan_warnings():
    msgs = plan_warnings("blocking_in_async", "python", "event-loop", 1, None, 4, 100, 15, 120,
                         1000, 2)
    assert msgs == [("warning", "expected latency 100 s exceeds the 15 s run: requests still "
                                "queued at the end never count (one event loop blocked per "
                                "request x 1 worker)")]
    msgs = plan_warnings("sync_sleep", "python", "threads", 1, 1, 4, 10, 15, 30, 1000, 2)
    assert msgs[0] == ("warning", "-c 10 is not a multiple of -t 4: wrk opens 2 per thread, 8 in all")
    assert ("warning", "--timeout 30 s is below the expected latency 10 s: slow answers count "
                       "as timeouts and drop out of the latency figures") not in msgs
    low = plan_warnings("sync_sleep", "python", "threads", 1, 1, 4, 100, 15, 30, 1000, 2)
    assert any(level == "warning" and "--timeout 30 s is below the expected latency 100 s" in m
               for level, m in low)
    assert plan_warnings("sync_sleep", "python", "threads", 1, 1, 1, 1, 15, 60, 20000, 2) == [
        ("error", "one request takes 20 s, the run lasts only 15 s: nothing could complete")]


def test_probe_timeline_lines_up_on_the_clock():
    probe = {"per_second_start": 100, "per_second": [300, 600, 600, 590, 0, 0, 0, 10, 580, 600, 200],
             "latency_s": {"max": 3.2}}
    heavy = {"per_second_start": 103, "per_second": [0, 1, 1, 0]}
    timeline = align(probe, heavy)
    assert timeline == {"probe_per_second": probe["per_second"], "heavy_first": 3, "heavy_last": 6}
    summary = summarize_probe(timeline, probe)
    assert summary == {"before_rps": 600, "during_min_rps": 0, "during_mean_rps": pytest.approx(1190 / 6),
                       "after_rps": 580, "longest_wait_s": 3.2}


def test_uneven_connection_split_over_workers_lowers_the_ceiling():
    even = predict("sync_sleep", "python", "event-loop", 2, None, 100, 1.0, 2, FASTAPI, [50, 50])
    assert even.ceiling_rps == pytest.approx(80.0)
    uneven = predict("sync_sleep", "python", "event-loop", 2, None, 100, 1.0, 2, FASTAPI, [69, 31])
    assert uneven.ceiling_rps == pytest.approx(71.0)  # 40 tokens used of 69, 31 of 40
    assert uneven.bottleneck == ("anyio thread limiter: 40 tokens x 2 workers, "
                                 "connections split 69/31")
    blocked = predict("blocking_in_async", "python", "event-loop", 2, None, 100, 1.0, 2, FASTAPI,
                      [60, 40])
    assert blocked.ceiling_rps == pytest.approx(2.0)
    # a split that does not match the workers is not used
    odd = predict("sync_sleep", "python", "event-loop", 2, None, 100, 1.0, 2, FASTAPI, [100])
    assert odd.ceiling_rps == pytest.approx(80.0)
