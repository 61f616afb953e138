"""Flask side of the concurrency benchmark: the endpoint contract of docs/formats.md as plain
WSGI views.

Flask has no event loop, so every view is an ordinary function and its concurrency comes
only from the server that runs it: Werkzeug's development server (a thread per request, or
one request at a time with --without-threads), gunicorn's sync workers (one request per
process) or gthread workers (processes x threads). The same file serves all of them, so any
difference in the numbers is the server's. Each body proves its work was done (the measured
sleep, the loop's sum, fib(n), the item count), so the runner can reject a view that skips it.
Kinds that need an event loop (async_sleep, blocking_in_async, executor_sleep, cpu_in_async,
json_large_offloaded) have no Flask equivalent and are not served.
"""

import logging
import os
import platform
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version

from flask import Flask, abort, jsonify, request
from werkzeug.exceptions import HTTPException

app = Flask(__name__)
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log on the dev server

# Upper bounds keep a typo from hanging or exhausting the server: 400, never 500.
# fib stops at 92, the largest result that fits in a signed 64-bit integer.
LIMITS = {"ms": 3_600_000, "n": 1_000_000_000, "items": 1_000_000, "fib": 92}


@app.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    return jsonify(error=exc.description, status=exc.code), exc.code


def int_arg(name: str, limit: str | None = None) -> int:
    """The query parameter `name` as an integer in 0..LIMITS[limit or name], else 400."""
    raw = request.args.get(name)
    if raw is None or not (raw.isascii() and raw.isdigit()):
        abort(400, f"expected ?{name}= a non-negative integer, got {raw!r}")
    value, top = int(raw), LIMITS[limit or name]
    if value > top:
        abort(400, f"expected ?{name}= at most {top}, got {value}")
    return value


def cpu_work(n: int) -> int:
    """sum(range(n)) by a loop that really adds every term (it runs in pool processes too)."""
    total = 0
    for i in range(n):
        total += i
    return total


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


# One process pool per process, created on first use: gunicorn forks its workers after
# importing this module, and a pool must not be shared across a fork.
_pool: ProcessPoolExecutor | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def process_pool() -> ProcessPoolExecutor:
    global _pool, _pool_pid
    with _pool_lock:
        if _pool_pid != os.getpid():
            _pool, _pool_pid = ProcessPoolExecutor(), os.getpid()
        return _pool


@app.get("/hello")
def hello():
    return jsonify(message="hello")


@app.get("/sync_sleep")
def sync_sleep():
    ms = int_arg("ms")
    start = time.perf_counter()
    time.sleep(ms / 1000)
    slept_ms = (time.perf_counter() - start) * 1000
    return jsonify(kind="sync_sleep", ms=ms, slept_ms=slept_ms)


@app.get("/cpu_sync")
def cpu_sync():
    n = int_arg("n")
    return jsonify(kind="cpu_sync", n=n, result=cpu_work(n))


@app.get("/cpu_process")
def cpu_process():
    n = int_arg("n")
    result = process_pool().submit(cpu_work, n).result()  # this thread waits for the pool
    return jsonify(kind="cpu_process", n=n, result=result)


@app.get("/fib")
def fib_view():
    n = int_arg("n", limit="fib")
    return jsonify(kind="fib", n=n, result=fib(n))


NULLS8 = {f"str{k}": None for k in range(1, 9)}
NULLS16 = {f"str{k}": None for k in range(1, 17)}


def client(i: int) -> dict:
    """One Client of the large-response article: Address and one Account, all with id i."""
    return {"id": i, "address": {"id": i, **NULLS8},
            "bank_accounts": [{"id": i, "address": None, **NULLS16}], **NULLS8}


@app.get("/json_large")
def json_large():
    count = int_arg("items")
    return jsonify(kind="json_large", count=count, items=[client(i) for i in range(count)])


@app.get("/info")
def info():
    under_gunicorn = "gunicorn" in sys.modules
    server = "gunicorn" if under_gunicorn else "werkzeug"
    return jsonify(
        impl="python-flask", language="python",
        language_version=platform.python_version(),
        framework="flask", framework_version=version("flask"),
        server_software={server: version(server)},
        pid=os.getpid(), cpu_count=os.cpu_count(),
        # the pools endpoints run in, by the names impl.yaml declares (docs/formats.md)
        pools={"process-pool": {
            "size": _pool._max_workers if _pool_pid == os.getpid() else os.cpu_count(),
            "kind": "processes"}},
        parallelism=None, lock_switch_interval_s=sys.getswitchinterval(),
        wsgi_multithread=request.environ.get("wsgi.multithread"),
        wsgi_multiprocess=request.environ.get("wsgi.multiprocess"),
        server_label=os.environ.get("BENCH_SERVER"),
    )
