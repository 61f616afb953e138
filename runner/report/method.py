"""The report's method section: how each number is measured and derived, and where the
limits the model uses come from, with a plain URL to the official documentation of each."""

from dataclasses import dataclass

from ..model.predict import MIN_ROUNDS
from ..stats import CV_LIMIT
from .measures import EFFICIENCY_BAND, WRK_SATURATION
from ..units import format_seconds


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
        first = (f"Each case is measured up to {repeats} times, each time on a fresh server; "
                 "the tables show the median of the repeats. Where the suite says so, a case "
                 "whose first two repeats' steady rates agree within the suite's bound (1 % in "
                 "the reference suites) is not measured a third time: a third fresh server "
                 "would only confirm them. The conformance request warms each server up; an "
                 "endpoint answering in under 50 ms is then also loaded for "
                 + (f"{format_seconds(warmup)}" if warmup else "a short while")
                 + " at one connection per wrk thread, a warm-up whose results are discarded.")
    else:
        first = "No case of this run has a measured repeat yet."
    return Part("Measuring", [
        first,
        "Every measurement starts a fresh server as its own process group on a free loopback "
        "port and stops the whole group afterwards: a server reused across scenarios would "
        "still hold queued requests from the last one.",
        "Before measuring, the endpoint is checked: status 200, the JSON shape, proof that "
        "the work was done, and for sleeps that one request alone takes at least the "
        "requested time. A case that fails the check is not measured; its row shows the "
        "reason. n/a means the implementation does not serve that endpoint kind (it says so "
        "in its impl.yaml); it is not a failure.",
        "Then a calibration on the same server gives the model its inputs. First the runner "
        "waits until the server's process tree is settled (the same processes, under 5 % of "
        "a core): a server answers as soon as one worker is up, and gunicorn's other "
        "workers, still booting, would get no connection for the whole run (the kernel "
        "keeps a connection on the worker that accepted it; measured: gthread with 5 "
        "workers loaded at once put all 100 connections on one worker and served 39 req/s, "
        "settled it spread them 54/27/12/4/3 and served 184). Then one connection alone "
        "for 1 s: its median latency, or the conformance requests' if lower, is the service "
        "time s. Then two connections per core for up to 2 s: the server tree's CPU seconds "
        "per request are the CPU demand d, on a server busy on every core without a long "
        "queue (a runtime that spins while it waits for the next request spends more CPU per "
        "request on one connection; the load's own connections would leave a queue behind). "
        "A request slower than 0.5 s is calibrated by one more single request instead.",
    ], [])


GLOSSARY = Part("Words used on this page", [
    "capacity (model allows): the highest steady rate the model expects of a row, the fewer "
    "of the requests in service over one request's time (K / s) and the cores the work can "
    "use over the CPU one request takes (P / d).",
    "efficiency: the measured steady rate over that capacity; within 0.9 to 1.1 the model "
    "explains the row, outside it the row says what the model missed.",
    "the model: Little's law applied to where each endpoint's work runs (an event loop, a "
    "pool of threads or processes, one thread per request), as its implementation declares "
    "it, with the sizes the server reported; explained under The model below.",
    "the GIL: CPython's global interpreter lock, one per process: one thread computes at a "
    "time, so threads overlap waits but not CPU work.",
    "knee: under a fixed arrival rate, the highest offered rate a row held: its p99 within "
    "the scenario's knee factor (1.5) of one request's time plus 20 ms, and at most 1 % of "
    "its requests unanswered.",
    "round: the time until every request in service has been replaced once (K / X); a run "
    "shorter than a few rounds counts few completions.",
], [GIL, LITTLE])


COLUMNS = Part("The columns", [
    "Each scenario opens with its verdict: one row per configuration served, named by the "
    "endpoint as its implementation declares it and by the server as it ran (read from its "
    "command line). steady req/s is the headline rate; × baseline is that rate over the "
    "rate of the row the scenario's first question starts from (of best, where no question "
    "names one: over the best row's); model allows is the model's ceiling and limited by "
    "names, in a few words, the limit that sets it (the details say it in full); p50 and p99 "
    "are latencies. A ⚠ with a number points to a note under the table: a warning about "
    "that row or the reason it failed. A rate marked (incl. ramp) is wrk's whole-run "
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
    "second, which is partial (runner.model.predict.steady_state_rps). It needs two full seconds "
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
    "Each row of a load scenario is set beside what Little's law and the cores allow, "
    "computed only from what its implementation declares and its server reports: no "
    "framework is special-cased. A closed-loop load generator holds c connections open; one "
    "request holds its place in service for s seconds; the configuration can have at most "
    "K requests in service at once; their CPU work can use at most P cores, each request "
    "costing d CPU seconds. The ceiling is X = min(K / s, P / d), and once requests queue "
    "the expected mean latency is R = c / X (L = λW with L = c requests in the system). "
    "The why column names the limit that binds.",
    "s and d are measured. A calibration on each repeat's fresh server, just before its "
    "load, times one connection alone (its median latency) and then two connections per "
    "core, which gives how long a request held its place while a queue waited (the "
    "requests still in service when wrk stopped counted as half done): s is the lower "
    "of the two. d is the server's CPU seconds per completion over the same seconds the "
    "steady rate counts, sampled four times a second: a shared machine's speed drifts, at "
    "times by a fifth over tens of seconds (scripts/speed_drift.py times the same loop for "
    "a minute), so a cost calibrated before the load would judge the load by another "
    "machine. The why column gives d and, "
    "where it differs by more than a tenth, the calibration's; for CPU work s takes the "
    "load's d in place of the calibration's. Efficiency is then the median over repeats of "
    "each repeat's steady rate over its own ceiling.",
    "K and P come from declarations. Each server says how a worker admits requests (an "
    "event loop, a thread or task per request: every connection it holds; a fixed number "
    "of threads), each endpoint where its work runs: on the event loop without blocking it "
    "(K = every admitted connection), blocking it (K = 1 per worker), on the request's own "
    "thread or task, or in a named pool whose size the server reports in /info (anyio's "
    "thread limiter, asyncio's default executor, a process pool, a worker-threads pool), "
    "and whether a lock per process serialises CPU work there (CPython's GIL: one core per "
    "process; a process pool's processes each have their own). P is also at most the "
    "cores left beside wrk and the runner (the machine's cores minus the cores wrk and the "
    "runner's own sampler were measured to use) "
    "and the runtime's parallelism where it reports one (Go's GOMAXPROCS). With several "
    "workers K is summed over them from the connections each held, sampled while wrk ran: "
    "a worker with fewer connections than its limit leaves the rest unused.",
    f"efficiency = steady req/s / ceiling. A row outside {EFFICIENCY_BAND[0]:.2f}–"
    f"{EFFICIENCY_BAND[1]:.2f} is flagged ⚠ with the measured fact that explains the gap: "
    "threads contending for one process-wide lock (how many, and the lock's switch "
    "interval), a request's CPU cost under load against alone, the cores the server "
    "actually used; or \"unexplained\". hello and the large-JSON kinds have no model: "
    "their cost is per-request overhead that a single request alone does not predict.",
    f"A closed-loop rate is steady only once the K requests in service have been replaced "
    f"a few times: requests that share the cores start together and finish together, so "
    f"a window shorter than {MIN_ROUNDS} rounds (K / X seconds each) holds one batch of "
    f"completions, or none, or two. Such a row shows its rate and ceiling, no "
    f"efficiency, and the window it would need.",
    "A finite run undercounts. wrk counts a request only when it completes: a closed-loop "
    "run of d seconds with mean latency R sees its first completions only after about R, "
    "and the requests still queued when wrk stops never complete, so they count neither in "
    "req/s nor in the latency distribution. A row whose expected latency exceeds the run's "
    "duration is flagged ⚠: its req/s is low and its latency columns describe only the "
    "early requests that got through.",
], [LITTLE])


OPEN = Part("Closed and open load", [
    "wrk runs a closed loop: each connection sends its next request only after the "
    "previous answer. At saturation its latency measures the queue wrk itself builds, and "
    "a stalled server simply receives fewer requests, so the stall is never measured "
    "(coordinated omission). An open scenario asks the other question: with requests "
    "arriving at a fixed rate whatever the server does, what latency does each pattern "
    "give, and at which rate does it fall over?",
    "vegeta (a constant-rate generator, pinned version recorded with every run) sends each "
    "rate for a fixed time to one fresh, calibrated server and waits for every answer. "
    "Each request's latency counts from its intended send time (start + seq / rate), so a "
    "generator that fell behind cannot hide the server's slowness; a rate whose requests "
    "left more than 10 ms late (p99) is flagged as not held. Requests still in flight when "
    "sending stopped are counted; answers that time out are errors. Every answer's body "
    "is checked for its proof of work.",
    "The capacity μ is the model's ceiling without a connection bound (an open load opens "
    "as many as requests are in flight). Below it a request waits for nothing but its own "
    "service: p50 ≈ s. Above it the backlog grows by (λ − μ) requests a second, so a "
    "request arriving t seconds in waits about (λ − μ) t / μ: the model's p50 is "
    "s + (λ − μ) T / (2μ) and its max s + (λ − μ) T / μ for a rate held T seconds. The "
    "offered rates are fractions of each row's capacity (capped; a row whose capacity is "
    "beyond the cap, or unknown, is offered fractions of the cap); the knee, the highest "
    "rate whose p99 stays within the scenario's multiple of s, is set beside μ.",
], [])


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
    "the CPU time of wrk itself (runner/measure/sampling.py). server CPU is the CPU seconds the "
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
    "clock (runner/model/probe.py).",
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
                 checks: tuple[int, int] = (0, 0), open_load: bool = False) -> list[Part]:
    """The method's parts; the interference and open parts only where the run has such
    scenarios."""
    parts = [GLOSSARY, _measuring(repeats, warmup), COLUMNS, MODEL, LIMITS, RESOURCES,
             _cross_check(*checks)]
    return parts + [INTERFERENCE] * interference + [OPEN] * open_load
