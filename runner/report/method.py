"""The report's method section: how each number is measured and derived, and where the
limits the model uses come from, with a plain URL to the official documentation of each."""

from dataclasses import dataclass

from ..stats import CV_LIMIT
from .measures import EFFICIENCY_BAND, WRK_SATURATION
from .units import format_seconds


@dataclass(frozen=True)
class Part:
    title: str
    paragraphs: list[str]
    sources: list[tuple[str, str]]  # (what is cited, URL)


ANYIO = ("anyio, \"Working with threads\"", "https://anyio.readthedocs.io/en/stable/threads.html")
FASTAPI = ("FastAPI, \"Concurrency and async / await\"", "https://fastapi.tiangolo.com/async/")
STARLETTE = ("Starlette, \"Thread Pool\"", "https://www.starlette.io/threadpool/")
FUTURES = ("Python, concurrent.futures (ThreadPoolExecutor, ProcessPoolExecutor)",
           "https://docs.python.org/3/library/concurrent.futures.html")
RUN_IN_EXECUTOR = ("Python, asyncio event loop, loop.run_in_executor",
                   "https://docs.python.org/3/library/asyncio-eventloop.html"
                   "#asyncio.loop.run_in_executor")
ASYNCIO_DEV = ("Python, \"Developing with asyncio\", Running Blocking Code",
               "https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code")
GIL = ("Python glossary, global interpreter lock",
       "https://docs.python.org/3/glossary.html#term-global-interpreter-lock")
WERKZEUG = ("Werkzeug, \"Serving WSGI Applications\" (run_simple, threaded)",
            "https://werkzeug.palletsprojects.com/en/stable/serving/")
SOCKETSERVER = ("Python, socketserver (ThreadingMixIn)",
                "https://docs.python.org/3/library/socketserver.html")
FLASK_CHANGES = ("Flask changes, version 1.0 (threaded development server by default)",
                 "https://flask.palletsprojects.com/en/stable/changes/")
GUNICORN = ("gunicorn, \"Design\"", "https://docs.gunicorn.org/en/stable/design.html")
GO_HTTP = ("Go, net/http Server.Serve", "https://pkg.go.dev/net/http#Server.Serve")
GO_RUNTIME = ("Go, runtime.GOMAXPROCS", "https://pkg.go.dev/runtime#GOMAXPROCS")
LITTLE = ("J. D. C. Little, \"A Proof for the Queuing Formula: L = λW\", Operations "
          "Research 9(3), 1961", "https://doi.org/10.1287/opre.9.3.383")
WRK = ("wrk, README and SCRIPTING (the Lua done() hook)", "https://github.com/wg/wrk")
PSUTIL = ("psutil documentation", "https://psutil.readthedocs.io/en/latest/")
PYPERF = ("pyperf, \"Analyze benchmark results\"",
          "https://pyperf.readthedocs.io/en/latest/analyze.html")


def _measuring(repeats: int, warmup: float | None) -> Part:
    if repeats:
        first = (f"Each case is measured {repeats} times, each time on a fresh server; the "
                 "tables show the median of the repeats. The conformance request warms each "
                 "server up; an endpoint answering in under 50 ms is then also loaded for "
                 + (f"{format_seconds(warmup)}" if warmup else "a short while")
                 + " at one connection per wrk thread, a warm-up whose results are discarded "
                 "(against a slower endpoint a warm-up load would leave queued work behind "
                 "for the measurement).")
    else:
        first = "No case of this run has a measured repeat yet."
    return Part("Measuring", [
        first,
        "Every measurement starts a fresh server as its own process group on a free loopback "
        "port and stops the whole group afterwards: a server reused across scenarios would "
        "still hold queued requests from the last one.",
        "Before measuring, the endpoint is checked: status 200, the JSON shape, proof that "
        "the work was done, and for sleeps that one request alone takes at least the "
        "requested time. The same requests give the model its service time: the sleep's "
        "own request, or for other kinds the median of up to 7 further requests to the warm "
        "server (only one when it takes 50 ms or more). A case that fails the check is not "
        "measured; its row shows the reason. n/a means the implementation does not serve that endpoint kind (it says so "
        "in its impl.yaml); it is not a failure.",
    ], [])


COLUMNS = Part("The columns", [
    "Each scenario opens with its verdict: one row per configuration served, named by the "
    "endpoint as its implementation declares it and by the server as it ran (read from its "
    "command line). steady req/s is the headline rate; model allows is the model's ceiling "
    "and why names the limit that sets it; p50 and p99 are latencies; of best is the "
    "row's steady rate over the best row's. A rate marked (incl. ramp) is wrk's whole-run "
    "rate, which counts the seconds before the first answers arrived. The tables after it, "
    "folded away, hold every figure; a column empty in every row is left out.",
    "req/s (incl. ramp) is wrk's completed requests over the run's duration: a run of d "
    "seconds against requests taking s seconds completes about d - s seconds' worth, so it "
    "understates a steady rate (for 1 s requests in a 15 s run by about 7 %). min–max is the range over "
    f"repeats, CV the sample standard deviation over the mean (flagged ⚠ at {CV_LIMIT:.0%} "
    "or more with at least three repeats, pyperf's bound for an unstable result).",
    "steady req/s is the rate once the run is under way: the mean of wrk's completions per "
    "second (counted by the suite's Lua script) leaving out the first 1 + ⌊s⌋ seconds, "
    "before the first answers of a request taking s seconds can arrive, and the last "
    "second, which is partial (runner.model.steady_state_rps). It needs two full seconds "
    "in between; a shorter run shows —.",
    "good req/s (goodput) is (completed requests − non-2xx answers − timeouts) / duration "
    "for each repeat, median over repeats; it exists only when some error counter is not "
    "zero, and the column is left out when no row has one.",
    "avg, p50, p75, p90, p99 and max are request latencies as wrk's Lua done() hook reports "
    "them for each repeat; the table shows the median over repeats.",
    "errors are wrk's counters summed over repeats: connect, read and write are socket "
    "errors, timeout counts requests wrk saw outstanding longer than --timeout (they are "
    "missing from the latency figures), non-2xx counts answers with status 400 or above "
    "(wrk's \"Non-2xx or 3xx responses\"). Timeouts are always named when anything went "
    "wrong.",
], [WRK, PYPERF])


MODEL = Part("The model", [
    "Each row of a load scenario is set beside what Little's law predicts. A closed-loop "
    "load generator holds c connections open; one request alone takes s seconds (the "
    "service time: one request to the fresh server before the run, median over repeats); "
    "the server configuration can have at most K requests in service at once. In steady "
    "state the throughput cannot exceed the ceiling X = min(c, K) / s, and once requests "
    "queue, the expected mean latency is R = c / X (L = λW with L = c requests in the "
    "system). The bottleneck column names the limit that sets K.",
    "K by configuration: waiting with await on an event loop: c (every connection waits at "
    "once); a FastAPI def endpoint: the thread limiter's tokens (40) × workers; "
    "run_in_executor(None, ...): the default executor's threads, min(32, cores + 4), × "
    "workers; a blocking call inside async def: 1 × workers; Flask's threaded development "
    "server and Go's net/http: c; Flask single-threaded: 1; gunicorn sync: workers; gthread: "
    "workers × threads. For CPU work K is how many requests can compute at once: one core "
    "per Python process (the GIL), the process pool's size, GOMAXPROCS, and never more than "
    "the machine's cores, which the server shares with wrk. The sizes are read from each "
    "server's /info at run time (thread_limiter_tokens, default_executor_workers, "
    "process_pool_workers, gomaxprocs, cpu_count), not typed in.",
    f"efficiency = steady req/s / ceiling. A row outside {EFFICIENCY_BAND[0]:.2f}–"
    f"{EFFICIENCY_BAND[1]:.2f} is flagged ⚠: the named limit does not explain the "
    "measurement (another limit binds, or the service time changed under load). hello and "
    "the large-JSON kinds have no model: their cost is per-request overhead that a single "
    "request alone does not measure.",
    "A finite run undercounts. wrk counts a request only when it completes: a closed-loop "
    "run of d seconds with mean latency R sees its first completions only after about R, "
    "and the requests still queued when wrk stops never complete, so they count neither in "
    "req/s nor in the latency distribution. A row whose expected latency exceeds the run's "
    "duration is flagged ⚠: its req/s is low and its latency columns describe only the "
    "early requests that got through.",
], [LITTLE])


LIMITS = Part("Where the limits come from", [
    "FastAPI def endpoints top out at 40 concurrent requests per worker. FastAPI runs a path "
    "operation declared with plain def in an external thread pool and awaits it, instead of "
    "calling it on the event loop (FastAPI docs). Starlette does this with "
    "anyio.to_thread.run_sync, which without an explicit limiter takes a token from anyio's "
    "default CapacityLimiter of 40 tokens (anyio docs; Starlette docs). The 41st concurrent "
    "request waits for a token, so one worker process runs at most 40 blocking def "
    "requests at once: with 1 s sleeps, at most 40 req/s per worker. Sync dependencies and "
    "file responses draw from the same 40 tokens.",
    "run_in_executor(None, ...) tops out at min(32, cores + 4) per worker. With None the "
    "event loop uses its default executor, a concurrent.futures.ThreadPoolExecutor it "
    "creates without choosing max_workers (asyncio docs), and since Python 3.8 "
    "ThreadPoolExecutor's default max_workers is min(32, os.cpu_count() + 4) (Python 3.13 "
    "uses os.process_cpu_count() instead). On 2 cores that is 6 threads: at most 6 blocking "
    "calls per worker at once.",
    "A blocking call in async def serialises everything. FastAPI calls an async def path "
    "operation directly on the event loop; each worker process runs one event loop in one "
    "thread, and the loop runs one callback at a time. While a handler blocks in "
    "time.sleep or a long computation, no other request of that worker is read, scheduled "
    "or answered (asyncio docs: a function that blocks for 1 second delays all concurrent "
    "tasks and I/O by 1 second). Requests are served one after another: K = 1 per worker, "
    "and with c connections the mean wait is about c × s.",
    "ProcessPoolExecutor without max_workers starts os.cpu_count() processes (Python 3.13: "
    "os.process_cpu_count()), so CPU work sent there runs on at most that many cores.",
    "Flask's development server is Werkzeug's. With threaded=True, the default of flask run "
    "and app.run since Flask 1.0, it is a socketserver.ThreadingMixIn server that starts a "
    "thread per request, so K = c; with threaded=False it serves one request at a time, "
    "K = 1.",
    "gunicorn's default sync worker handles a single request at a time, so K = workers; "
    "the gthread worker hands accepted connections to a pool of --threads threads per "
    "worker, so K = workers × threads (gunicorn docs, \"Design\").",
    "In CPython (the default build, with the global interpreter lock) only one thread "
    "executes Python bytecode at a time, so CPU-bound Python handlers use at most one core "
    "per process however many threads serve them; more cores need more processes.",
    "Go's net/http server starts a goroutine per connection, and the runtime runs "
    "goroutines on up to GOMAXPROCS threads at once, by default the number of cores.",
], [FASTAPI, ANYIO, STARLETTE, RUN_IN_EXECUTOR, FUTURES, ASYNCIO_DEV, WERKZEUG,
    SOCKETSERVER, FLASK_CHANGES, GUNICORN, GIL, GO_HTTP, GO_RUNTIME])


RESOURCES = Part("Resource use and the load generator", [
    "While wrk runs, a sampler reads with psutil, every 0.25 s, the CPU time and resident "
    "memory of the server's whole process tree (worker and pool processes included) and "
    "the CPU time of wrk itself (runner/sampling.py). server CPU is the CPU seconds the "
    "tree used during the run and req per CPU-s the completed requests divided by it "
    "(medians over repeats); peak RSS is the largest summed RSS of the tree in one sample "
    "(median over repeats); processes and threads are the most seen at once (maximum over "
    "repeats). RSS counts pages shared between forked processes once in each, so the sum "
    "overstates the memory of several processes.",
    "wrk cores is wrk's CPU time over the run's wall time (the largest over repeats). wrk "
    "cannot use more cores than its threads (-t) or than the machine has; a row where it "
    f"used {WRK_SATURATION:.0%} of min(threads, cores) or more is marked INVALID: the load "
    "generator, not the server, may have set the rate.",
], [PSUTIL])


INTERFERENCE = Part("Interference scenarios", [
    "An interference scenario runs a probe, wrk with one thread and one connection to a "
    "cheap endpoint (hello), for the whole window, and starts the heavy load (the row's "
    "endpoint, with the scenario's wrk settings) a few seconds later; the probe goes on "
    "for a few seconds after it. Both wrk runs record completions per wall-clock second "
    "with the epoch second of their first bucket, so the two timelines line up on the "
    "clock (runner/interference.py).",
    "With one connection in a closed loop, a second with k probe completions had a mean "
    "probe wait of about 1/k s, and a second with none means the probe waited the whole "
    "second. The table shows the heavy load's req/s and, as medians over repeats, the "
    "probe's rate before the heavy load, its lowest and mean per-second rate during it, "
    "its rate after, and the longest single probe wait (wrk's maximum probe latency). The "
    "first and last buckets of each run are partial seconds and are left out. The chart "
    "shows the first repeat's probe completions per second, one panel per heavy endpoint, "
    "the seconds wrk's heavy load ran shaded; seconds after it in which the probe got no "
    "answer are hatched: a heavy request wrk had sent was still being served after wrk "
    "stopped (wrk counts only what completes while it runs).",
], [WRK])


def _cross_check(checked: int, disagreed: int) -> Part:
    if not checked:
        text = ("wrk's text output is parsed beside the Lua script's report for every run; "
                "the runs of this report predate that check.")
    elif not disagreed:
        text = (f"wrk's text output and the Lua script's report were compared for each of "
                f"the {checked} wrk runs (probes included): requests and error counts must "
                "be equal, rates and latencies equal within the text's rounding. They agreed "
                "in every run.")
    else:
        text = (f"wrk's text output and the Lua script's report were compared for each of "
                f"the {checked} wrk runs (probes included): they disagreed in {disagreed}. "
                "Those rows are marked ‡ and their notes say on what; the tables use the Lua "
                "figures.")
    return Part("wrk's two reports", [text], [WRK])


def method_parts(repeats: int, warmup: float | None, interference: bool,
                 checks: tuple[int, int] = (0, 0)) -> list[Part]:
    """The method's parts; the interference part only where the run has such scenarios."""
    parts = [_measuring(repeats, warmup), COLUMNS, MODEL, LIMITS, RESOURCES,
             _cross_check(*checks)]
    return parts + [INTERFERENCE] if interference else parts
