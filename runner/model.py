"""The model: what each row should measure, from Little's law, and which limit binds it.

With `c` connections held open by a closed-loop load generator, a service time `s` of one
request alone, and `K` requests the server configuration can have in service at once,
Little's law (L = X * R) gives the ceiling throughput X = min(c, K) / s and, once the
queue is full, the expected mean latency R = c / X. CPU-bound work is capped instead by
the cores that can run it at once: one per Python process (the GIL), the process pool's
size, GOMAXPROCS, and the machine's cores, which the server shares with wrk.

Where the defaults come from (cited again in the report's method section):
- anyio's default thread limiter, which FastAPI/Starlette use for `def` endpoints: 40
  tokens (anyio docs, "Working with threads": "the default limiter ... 40 tokens").
- asyncio's default executor is a ThreadPoolExecutor with max_workers =
  min(32, os.cpu_count() + 4) since CPython 3.8 (concurrent.futures docs).
- ProcessPoolExecutor defaults to os.cpu_count() processes (concurrent.futures docs).
- Werkzeug's development server, threaded, starts a thread per request (werkzeug
  serving.run_simple, threaded=True; Flask's `flask run` default since 1.0).
- gunicorn's sync worker handles one request at a time; gthread handles `threads`
  requests per worker (gunicorn docs, "Design": worker types).
The numbers the model uses are read from each server's /info at run time, not typed in.
"""

from dataclasses import dataclass

from .kinds import CPU_KINDS, SLEEP_KINDS


@dataclass(frozen=True)
class Prediction:
    ceiling_rps: float      # X = min(c, K) / s
    latency_s: float        # expected mean latency in steady state
    in_service: float       # K (or the parallel cores for CPU work)
    bottleneck: str         # the binding limit, in plain words


def _per_worker(workers: int, what: str) -> str:
    return f"{what} x {workers} worker{'s' if workers != 1 else ''}"


def _spread(limit: int, workers: int, what: str, split: list[int] | None) -> tuple[float, str]:
    """K for `limit` per worker. The kernel hands each connection to one worker for good,
    and rarely evenly: with a split of wrk's connections over the workers, a worker with
    fewer connections than its limit leaves the rest of its limit unused."""
    if split and len(split) == workers and workers > 1:
        k = sum(min(held, limit) for held in split)
        return k, (_per_worker(workers, what) + ", connections split "
                   + "/".join(str(held) for held in split))
    return limit * workers, _per_worker(workers, what)


def sleep_capacity(kind: str, concurrency: str, workers: int, threads: int | None,
                   connections: int, info: dict,
                   split: list[int] | None = None) -> tuple[float, str]:
    """K for a blocking or non-blocking wait, and the limit's name; `split` is how many
    connections each worker process held, where measured."""
    if concurrency == "event-loop":
        if kind == "async_sleep":
            return connections, f"none: every connection waits on the event loop at once ({connections})"
        if kind == "sync_sleep":
            tokens = info.get("thread_limiter_tokens") or 40
            return _spread(tokens, workers, f"anyio thread limiter: {tokens} tokens", split)
        if kind == "executor_sleep":
            size = info.get("default_executor_workers")
            if not size:
                size = min(32, (info.get("cpu_count") or 1) + 4)
            return _spread(size, workers, f"asyncio default executor: {size} threads", split)
        if kind == "blocking_in_async":
            return _spread(1, workers, "one event loop blocked per request", split)
    if concurrency in ("thread-per-request", "goroutines"):
        what = "a thread per request" if concurrency == "thread-per-request" else "a goroutine per request"
        return connections, f"none: {what} ({connections} connections)"
    if concurrency == "threads":
        per = threads or 1
        if per == 1:
            return workers, _per_worker(workers, "one request at a time")
        return workers * per, _per_worker(workers, f"{per} threads")
    raise ValueError(f"no model for {kind} on a {concurrency} server")


def cpu_capacity(kind: str, language: str, concurrency: str, workers: int,
                 threads: int | None, connections: int, cores: int, info: dict) -> tuple[float, str]:
    """Requests computing at once for CPU work, and the limit's name."""
    if concurrency == "goroutines":
        procs = info.get("gomaxprocs") or cores
        parallel = min(procs, cores, connections)
        return parallel, f"cores: GOMAXPROCS = {procs} on {cores} cores shared with wrk"
    if concurrency == "threads":
        requests = workers * (threads or 1)
    elif concurrency == "event-loop" and kind == "cpu_in_async":
        requests = workers
    else:
        requests = connections
    if kind == "cpu_process":
        pool = info.get("process_pool_workers") or cores
        busy = min(requests, pool * workers)
        parallel = min(busy, cores)
        if parallel == cores:
            return parallel, f"cores: {pool * workers} pool processes on {cores} cores shared with wrk"
        return parallel, f"process pool: {busy} processes busy at once"
    gil = language == "python"
    parallel = min(requests, workers if gil else requests, cores)
    if gil and parallel == workers and workers < cores:
        return parallel, _per_worker(workers, "GIL: one core per process")
    if gil and kind == "cpu_in_async":
        return parallel, _per_worker(workers, "event loop busy computing: one request per worker")
    return parallel, f"cores: {cores} shared with wrk" + (" (GIL: one per process)" if gil else "")


def predict(kind: str, language: str, concurrency: str, workers: int, threads: int | None,
            connections: int, service_s: float | None, cores: int, info: dict,
            split: list[int] | None = None) -> Prediction | None:
    """The row's ceiling, expected latency and bottleneck; None where no model applies."""
    if not service_s or service_s <= 0:
        return None
    if kind in SLEEP_KINDS:
        k, why = sleep_capacity(kind, concurrency, workers, threads, connections, info, split)
    elif kind in CPU_KINDS:
        k, why = cpu_capacity(kind, language, concurrency, workers, threads, connections,
                              cores, info)
    else:
        return None
    in_service = min(connections, k)
    ceiling = in_service / service_s
    latency = max(service_s, connections / ceiling)
    return Prediction(ceiling, latency, k, why)


def steady_state_rps(per_second: list[int] | None, service_s: float | None) -> float | None:
    """Completions per second once the first answers arrive and before the run's last second.

    A closed-loop run sees its first completions only after one service time, and wrk's
    first and last one-second buckets are partial; both would pull the rate down.
    """
    if not per_second:
        return None
    skip = 1 + (int(service_s) if service_s else 0)
    middle = per_second[skip:-1]
    if len(middle) < 2:
        return None
    return sum(middle) / len(middle)


def plan_warnings(case_kind: str, language: str, concurrency: str, workers: int,
                  threads: int | None, wrk_threads: int, connections: int, duration_s: float,
                  timeout_s: float, sleep_ms: int | None, cores: int) -> list[tuple[str, str]]:
    """Method checks before a run: ("warning" | "error", message) pairs.

    Only sleeps have a service time known in advance (their `ms`); the model's defaults
    stand in for the facts a server reports at run time.
    """
    out = []
    if connections % wrk_threads:
        used = connections // wrk_threads * wrk_threads
        out.append(("warning", f"-c {connections} is not a multiple of -t {wrk_threads}: wrk "
                               f"opens {connections // wrk_threads} per thread, {used} in all"))
    if sleep_ms is None:
        return out
    service_s = sleep_ms / 1000
    if service_s >= duration_s:
        out.append(("error", f"one request takes {service_s:g} s, the run lasts only "
                             f"{duration_s:g} s: nothing could complete"))
        return out
    prediction = predict(case_kind, language, concurrency, workers, threads, connections,
                         service_s, cores, {"cpu_count": cores})
    if prediction is None:
        return out
    if timeout_s < prediction.latency_s:
        out.append(("warning", f"--timeout {timeout_s:g} s is below the expected latency "
                               f"{prediction.latency_s:.3g} s: slow answers count as timeouts "
                               "and drop out of the latency figures"))
    if prediction.latency_s > duration_s:
        out.append(("warning", f"expected latency {prediction.latency_s:.3g} s exceeds the "
                               f"{duration_s:g} s run: requests still queued at the end never "
                               f"count ({prediction.bottleneck})"))
    return out
