"""Flask side of the concurrency benchmark: the endpoint contract of docs/formats.md as plain
WSGI views.

Flask has no event loop, so every view is an ordinary function and its concurrency comes
only from the server that runs it: Werkzeug's development server (a thread per request, or
one request at a time with --without-threads), gunicorn's sync workers (one request per
process), gthread workers (processes x threads) or gevent workers (a greenlet per request,
the standard library monkey-patched so blocking sockets yield). The same file serves all of
them, so any difference in the numbers is the server's. Each body proves its work was done
(the measured sleep, the loop's sum, fib(n), the item count, the upstream's signed answer,
the database's backend pid), so the runner can reject a view that skips it.
Kinds that need an event loop (async_sleep, blocking_in_async, executor_sleep, cpu_in_async,
json_large_offloaded) have no Flask equivalent and are not served.
"""

import atexit
import inspect
import logging
import os
import platform
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version

# psycopg picks how it waits when first imported (see db_sync): under gunicorn's gevent
# worker this module loads after the monkey-patching, unless something imports it earlier.
import psycopg
import psycopg.waiting
import psycopg_pool
import requests
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


# --- real I/O: an upstream HTTP service and PostgreSQL --------------------------------

# Only the scenarios that need them pass these; without them the I/O views answer 503.
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL")
UPSTREAM_URL = os.environ.get("BENCH_UPSTREAM_URL")
_psycopg_setting = os.environ.get("BENCH_PSYCOPG_POOL")
PSYCOPG_POOL = int(_psycopg_setting) if _psycopg_setting else None  # impl.yaml `settings`
# psycopg_pool's default, read from the library: min_size 4, max_size = min_size
PSYCOPG_SIZE = PSYCOPG_POOL or inspect.signature(psycopg_pool.ConnectionPool).parameters[
    "min_size"].default

# requests keeps 10 connections a host and, past that, opens one more per request and
# logs a warning as it discards it: the churn is the default being measured, the log is not.
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)

# One requests.Session and one psycopg_pool per process, made on first use like the process
# pool: each gunicorn worker (and the dev server's one process) gets its own after the fork.
_io_lock = threading.Lock()
_session: requests.Session | None = None
_session_pid: int | None = None
_db: psycopg_pool.ConnectionPool | None = None
_db_pid: int | None = None


def session() -> requests.Session:
    global _session, _session_pid
    with _io_lock:
        if _session_pid != os.getpid():
            _session, _session_pid = requests.Session(), os.getpid()
        return _session


def db_pool() -> psycopg_pool.ConnectionPool:
    global _db, _db_pid
    with _io_lock:
        if _db_pid != os.getpid():
            # autocommit: the one query is the whole exchange (no BEGIN and COMMIT round
            # trips); the pool fills in the background, the first requests wait for it.
            _db = psycopg_pool.ConnectionPool(
                DATABASE_URL, open=True, kwargs={"autocommit": True},
                **({"min_size": PSYCOPG_POOL} if PSYCOPG_POOL else {}))
            _db_pid = os.getpid()
            atexit.register(_db.close)  # a gunicorn worker exits through sys.exit
        return _db


@app.get("/upstream_sync")
def upstream_sync():
    ms = int_arg("ms")
    if not UPSTREAM_URL:
        abort(503, "BENCH_UPSTREAM_URL is not set")
    nonce = uuid.uuid4().hex
    try:
        r = session().get(f"{UPSTREAM_URL}/delay", params={"ms": ms, "nonce": nonce})
        body = r.json() if r.status_code == 200 else None
    except (requests.RequestException, ValueError) as exc:
        abort(502, f"upstream: {type(exc).__name__}: {exc}")
    if r.status_code != 200:
        abort(502, f"upstream answered {r.status_code}")
    if not isinstance(body, dict):
        abort(502, f"upstream answered {type(body).__name__}, not a JSON object")
    # the upstream's JSON object, passed on unchanged as proof of the call
    return jsonify(kind="upstream_sync", ms=ms, nonce=nonce, upstream=body)


# One query: sleeps ms in the server, then proves it ran there (backend pid, the server's
# clock) and read the row (md5 of the id).
QUERY = ("SELECT pg_backend_pid(), extract(epoch FROM clock_timestamp())::float8, "
         "i.value FROM pg_sleep(%s::float8) AS s, bench_items AS i WHERE i.id = %s")


@app.get("/db_sync")
def db_sync():
    # psycopg waits on libpq in C unless gevent has patched `select` when psycopg is
    # imported (psycopg >= 3.1.14); then it waits through the patched select, so a query
    # yields to the worker's other greenlets. /info reports the wait function in use.
    ms = int_arg("ms")
    if not DATABASE_URL:
        abort(503, "BENCH_DATABASE_URL is not set")
    id_ = random.randint(1, 1000)
    try:
        with db_pool().connection() as conn:  # waits for one of the pool's 4 by default
            row = conn.execute(QUERY, (ms / 1000, id_)).fetchone()
    except psycopg.Error as exc:  # PoolTimeout included: 30 s without a free connection
        abort(502, f"database: {type(exc).__name__}: {exc}")
    if row is None:
        abort(502, f"no bench_items row with id {id_}")
    pid, at, value = row
    return jsonify(kind="db_sync", ms=ms, id=id_, value=value, backend_pid=pid, db_at=at)


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
            "kind": "processes"},
            # a requests.Session is no pool: past its 10 connections it opens more, never waits
            "psycopg-pool": {"size": PSYCOPG_SIZE, "kind": "connections"}},
        psycopg_wait=psycopg.waiting.wait.__name__,  # wait_c blocks a gevent worker's hub
        parallelism=None, lock_switch_interval_s=sys.getswitchinterval(),
        wsgi_multithread=request.environ.get("wsgi.multithread"),
        wsgi_multiprocess=request.environ.get("wsgi.multiprocess"),
        server_label=os.environ.get("BENCH_SERVER"),
    )
