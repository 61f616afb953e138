"""FastAPI side of the concbench endpoint contract (docs/formats.md).

Each endpoint is one concurrency pattern, written the plain way a FastAPI user would
write it, so wrk can show what the pattern costs: waiting on the event loop, blocking
in the thread pool (`def`), blocking the event loop itself (`async def` + a blocking
call), the default executor, a process pool, serialising a large nested response, and
real I/O (an upstream HTTP service, PostgreSQL) through each library's connection pool.
Every body proves the work was done (time slept, the sum computed, the items sent, the
upstream's signed answer, the database's backend pid) so the runner can reject an
endpoint that skips it.
"""

import asyncio
import importlib.metadata
import inspect
import logging
import os
import platform
import random
import signal
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Annotated

import anyio.to_thread
import asyncpg
import httpx
import psycopg
import psycopg_pool
import requests
from fastapi import FastAPI, Query, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel


def _setting(name: str) -> int | None:
    """A limit the suite set for this server (impl.yaml `settings`), or None: the default."""
    value = os.environ.get(name)
    return int(value) if value else None


LIMITER_TOKENS = _setting("BENCH_LIMITER_TOKENS")       # anyio's default: 40
EXECUTOR_THREADS = _setting("BENCH_EXECUTOR_THREADS")   # asyncio's default: min(32, cpus + 4)
PROCESS_POOL = _setting("BENCH_PROCESS_POOL")           # ProcessPoolExecutor's: os.cpu_count()
ASYNCPG_POOL = _setting("BENCH_ASYNCPG_POOL")           # asyncpg's: min 10, max 10
PSYCOPG_POOL = _setting("BENCH_PSYCOPG_POOL")           # psycopg_pool's: min 4, max = min
HTTPX_CONNECTIONS = _setting("BENCH_HTTPX_CONNECTIONS") # httpx's: 100 (20 kept alive)
_executor_size: int | None = None                       # the default executor's, once set


def _default(func, name: str):
    """A library's own default for a parameter: /info reports what the library really uses."""
    return inspect.signature(func).parameters[name].default


# The connection pool sizes in force, opened or not (a setting sizes min and max alike).
ASYNCPG_SIZE = ASYNCPG_POOL or _default(asyncpg.create_pool, "max_size")
PSYCOPG_SIZE = PSYCOPG_POOL or _default(psycopg_pool.ConnectionPool, "min_size")
HTTPX_SIZE = HTTPX_CONNECTIONS or _default(httpx.AsyncClient, "limits").max_connections

# Only the scenarios that need them pass these; without them the I/O endpoints answer 503.
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL")
UPSTREAM_URL = os.environ.get("BENCH_UPSTREAM_URL")

# Per worker process, made in the lifespan (after gunicorn forks), None without the URL.
_asyncpg: asyncpg.Pool | None = None
_psycopg: psycopg_pool.ConnectionPool | None = None
_httpx: httpx.AsyncClient | None = None
_requests: requests.Session | None = None

# requests keeps 10 connections a host and, past that, opens one more per request and
# logs a warning as it discards it: the churn is the default being measured, the log is not.
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


@asynccontextmanager
async def lifespan(_app: FastAPI):
    """Apply the limits set for this server in each worker process, on its event loop,
    and open the connection pools the scenario's URLs call for."""
    global _executor_size, _asyncpg, _psycopg, _httpx, _requests
    if LIMITER_TOKENS:
        anyio.to_thread.current_default_thread_limiter().total_tokens = LIMITER_TOKENS
    if EXECUTOR_THREADS:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=EXECUTOR_THREADS))
        _executor_size = EXECUTOR_THREADS
    if DATABASE_URL:
        _asyncpg = await asyncpg.create_pool(
            DATABASE_URL, **({"min_size": ASYNCPG_POOL, "max_size": ASYNCPG_POOL}
                             if ASYNCPG_POOL else {}))
        # autocommit: the one query is the whole exchange, as with asyncpg (no BEGIN and
        # COMMIT round trips around it).
        _psycopg = psycopg_pool.ConnectionPool(
            DATABASE_URL, open=False, kwargs={"autocommit": True},
            **({"min_size": PSYCOPG_POOL} if PSYCOPG_POOL else {}))
        _psycopg.open(wait=True)  # its connections up before the first request, like asyncpg's
    if UPSTREAM_URL:
        # timeout=None, as requests has: a long upstream delay or a wait for one of the
        # pool's connections is measured, not cut off by httpx's default of 5 s.
        _httpx = httpx.AsyncClient(
            timeout=None,
            **({"limits": httpx.Limits(max_connections=HTTPX_CONNECTIONS,
                                       max_keepalive_connections=HTTPX_CONNECTIONS)}
               if HTTPX_CONNECTIONS else {}))
        _requests = requests.Session()
    try:
        yield
    finally:
        if _asyncpg is not None:
            await _asyncpg.close()
        if _psycopg is not None:
            _psycopg.close()
        if _httpx is not None:
            await _httpx.aclose()
        if _requests is not None:
            _requests.close()


app = FastAPI(lifespan=lifespan)


@app.exception_handler(RequestValidationError)
async def bad_parameter(request, exc: RequestValidationError) -> JSONResponse:
    """The contract answers a bad parameter with 400 (FastAPI's own default is 422)."""
    return JSONResponse({"error": str(exc.errors()), "status": 400}, status_code=400)


# Every parameter is a required non-negative int; anything else is answered with 400.
Ms = Annotated[int, Query(ge=0)]
N = Annotated[int, Query(ge=0)]


@app.get("/hello")
async def hello():
    return {"message": "hello"}


@app.get("/sync_hello")
def sync_hello():
    # a `def` health check: FastAPI runs it in anyio's threads, behind every busy `def` handler
    return {"kind": "sync_hello", "message": "hello"}


# --- waiting -------------------------------------------------------------------------

def slept(kind: str, ms: int, started: float) -> dict:
    return {"kind": kind, "ms": ms, "slept_ms": (time.perf_counter() - started) * 1000}


@app.get("/async_sleep")
async def async_sleep(ms: Ms):
    started = time.perf_counter()
    await asyncio.sleep(ms / 1000)  # the loop serves others meanwhile
    return slept("async_sleep", ms, started)


@app.get("/sync_sleep")
def sync_sleep(ms: Ms):
    # A `def` handler runs in anyio's thread pool: at most 40 at once by default.
    started = time.perf_counter()
    time.sleep(ms / 1000)
    return slept("sync_sleep", ms, started)


@app.get("/blocking_in_async")
async def blocking_in_async(ms: Ms):
    started = time.perf_counter()
    time.sleep(ms / 1000)  # on purpose: blocks the event loop, one request at a time
    return slept("blocking_in_async", ms, started)


@app.get("/executor_sleep")
async def executor_sleep(ms: Ms):
    # asyncio's default executor: min(32, cpus + 4) threads.
    started = time.perf_counter()
    await asyncio.get_running_loop().run_in_executor(None, time.sleep, ms / 1000)
    return slept("executor_sleep", ms, started)


# --- CPU work --------------------------------------------------------------------------

def cpu_work(n: int) -> int:
    """sum(range(n)) the slow way: every term is added (module level, so it pickles)."""
    total = 0
    for i in range(n):
        total += i
    return total


_pool: ProcessPoolExecutor | None = None
_pool_pid: int | None = None


def _pool_worker_init() -> None:
    # Forked pool workers inherit the server's SIGTERM/SIGINT handlers, which do nothing
    # in them: without this they outlive a SIGTERM sent to the whole process group.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def process_pool() -> ProcessPoolExecutor:
    """One pool per worker process, made on first use (gunicorn forks its workers).

    Making the executor starts no process; its workers start on the first submit.
    """
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():  # default size: os.cpu_count()
        _pool = ProcessPoolExecutor(max_workers=PROCESS_POOL, initializer=_pool_worker_init)
        _pool_pid = os.getpid()
    return _pool


@app.get("/cpu_sync")
def cpu_sync(n: N):
    return {"kind": "cpu_sync", "n": n, "result": cpu_work(n)}  # thread pool, holds the GIL


@app.get("/cpu_in_async")
async def cpu_in_async(n: N):
    return {"kind": "cpu_in_async", "n": n, "result": cpu_work(n)}  # blocks the event loop


@app.get("/cpu_process")
async def cpu_process(n: N):
    result = await asyncio.get_running_loop().run_in_executor(process_pool(), cpu_work, n)
    return {"kind": "cpu_process", "n": n, "result": result}


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@app.get("/fib")
def fib_endpoint(n: N):
    return {"kind": "fib", "n": n, "result": fib(n)}


# --- a large nested response (the large-response article) ------------------------------------------------

class Address(BaseModel):
    id: int
    str1: str | None = None
    str2: str | None = None
    str3: str | None = None
    str4: str | None = None
    str5: str | None = None
    str6: str | None = None
    str7: str | None = None
    str8: str | None = None


class Account(BaseModel):
    id: int
    address: Address | None = None
    str1: str | None = None
    str2: str | None = None
    str3: str | None = None
    str4: str | None = None
    str5: str | None = None
    str6: str | None = None
    str7: str | None = None
    str8: str | None = None
    str9: str | None = None
    str10: str | None = None
    str11: str | None = None
    str12: str | None = None
    str13: str | None = None
    str14: str | None = None
    str15: str | None = None
    str16: str | None = None


class Client(BaseModel):
    id: int
    address: Address | None = None
    bank_accounts: list[Account]
    str1: str | None = None
    str2: str | None = None
    str3: str | None = None
    str4: str | None = None
    str5: str | None = None
    str6: str | None = None
    str7: str | None = None
    str8: str | None = None


class ClientsResponse(BaseModel):
    kind: str
    count: int
    items: list[Client]


def clients(kind: str, count: int) -> ClientsResponse:
    items = [Client(id=i, address=Address(id=i), bank_accounts=[Account(id=i)])
             for i in range(count)]
    return ClientsResponse(kind=kind, count=count, items=items)


@app.get("/json_large", response_model=ClientsResponse)
def json_large(items: N):
    # The models are built in the thread pool; FastAPI then validates the return value
    # (in the thread pool for a `def` handler) and serialises it to JSON on the event
    # loop, where a large response stalls every other request.
    return clients("json_large", items)


@app.get("/json_large_offloaded")
def json_large_offloaded(items: N):
    # Serialise here, in the thread pool, and hand FastAPI finished bytes.
    body = clients("json_large_offloaded", items).model_dump_json()
    return Response(content=body, media_type="application/json")


# --- real I/O: an upstream HTTP service and PostgreSQL ----------------------------------

def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


NO_UPSTREAM = "BENCH_UPSTREAM_URL is not set"
NO_DATABASE = "BENCH_DATABASE_URL is not set"


def upstream_answer(kind: str, ms: int, nonce: str, status: int, body) -> dict | JSONResponse:
    """The upstream's JSON object, passed on unchanged as proof of the call, else 502."""
    if status != 200:
        return error(502, f"upstream answered {status}")
    if not isinstance(body, dict):
        return error(502, f"upstream answered {type(body).__name__}, not a JSON object")
    return {"kind": kind, "ms": ms, "nonce": nonce, "upstream": body}


@app.get("/upstream_async")
async def upstream_async(ms: Ms):
    if _httpx is None:
        return error(503, NO_UPSTREAM)
    nonce = uuid.uuid4().hex
    try:
        # waits for one of httpx's pool connections (100 by default) on the loop
        r = await _httpx.get(f"{UPSTREAM_URL}/delay", params={"ms": ms, "nonce": nonce})
        body = r.json() if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        return error(502, f"upstream: {type(exc).__name__}: {exc}")
    return upstream_answer("upstream_async", ms, nonce, r.status_code, body)


def requests_answer(kind: str, ms: int) -> dict | JSONResponse:
    if _requests is None:
        return error(503, NO_UPSTREAM)
    nonce = uuid.uuid4().hex
    try:
        r = _requests.get(f"{UPSTREAM_URL}/delay", params={"ms": ms, "nonce": nonce})
        body = r.json() if r.status_code == 200 else None
    except (requests.RequestException, ValueError) as exc:
        return error(502, f"upstream: {type(exc).__name__}: {exc}")
    return upstream_answer(kind, ms, nonce, r.status_code, body)


@app.get("/upstream_sync")
def upstream_sync(ms: Ms):
    # A `def` handler: the blocking call waits in anyio's thread pool (40 at once).
    return requests_answer("upstream_sync", ms)


@app.get("/upstream_blocking")
async def upstream_blocking(ms: Ms):
    # on purpose: a blocking call inside `async def` stalls the loop, one request at a time
    return requests_answer("upstream_blocking", ms)


# One query: sleeps ms in the server, then proves it ran there (backend pid, the server's
# clock) and read the row (md5 of the id).
ASYNCPG_QUERY = ("SELECT pg_backend_pid(), extract(epoch FROM clock_timestamp())::float8, "
                 "i.value FROM pg_sleep($1::float8) AS s, bench_items AS i WHERE i.id = $2")
PSYCOPG_QUERY = ASYNCPG_QUERY.replace("$1", "%s").replace("$2", "%s")


def db_answer(kind: str, ms: int, id_: int, row) -> dict | JSONResponse:
    if row is None:
        return error(502, f"no bench_items row with id {id_}")
    pid, at, value = row
    return {"kind": kind, "ms": ms, "id": id_, "value": value, "backend_pid": pid, "db_at": at}


@app.get("/db_async")
async def db_async(ms: Ms):
    if _asyncpg is None:
        return error(503, NO_DATABASE)
    id_ = random.randint(1, 1000)
    try:
        # waits on the loop for one of the pool's connections (10 by default)
        row = await _asyncpg.fetchrow(ASYNCPG_QUERY, ms / 1000, id_)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        return error(502, f"database: {type(exc).__name__}: {exc}")
    return db_answer("db_async", ms, id_, row)


def psycopg_answer(kind: str, ms: int) -> dict | JSONResponse:
    if _psycopg is None:
        return error(503, NO_DATABASE)
    id_ = random.randint(1, 1000)
    try:
        # blocks this thread until one of the pool's connections (4 by default) is free
        with _psycopg.connection() as conn:
            row = conn.execute(PSYCOPG_QUERY, (ms / 1000, id_)).fetchone()
    except psycopg.Error as exc:  # PoolTimeout included: 30 s without a free connection
        return error(502, f"database: {type(exc).__name__}: {exc}")
    return db_answer(kind, ms, id_, row)


@app.get("/db_sync")
def db_sync(ms: Ms):
    # A `def` handler in anyio's thread pool: 40 threads queue for psycopg_pool's 4.
    return psycopg_answer("db_sync", ms)


@app.get("/db_blocking")
async def db_blocking(ms: Ms):
    # on purpose: sync psycopg inside `async def` stalls the loop, one query at a time
    return psycopg_answer("db_blocking", ms)


# --- runtime facts -------------------------------------------------------------------

@app.get("/info")
async def info():
    version = importlib.metadata.version
    servers = {"uvicorn": version("uvicorn")}
    if "gunicorn" in sys.modules:
        servers["gunicorn"] = version("gunicorn")
    if _executor_size is None:
        default_executor = ThreadPoolExecutor()  # the size asyncio's default executor gets
        default_executor.shutdown()
        executor_size = default_executor._max_workers
    else:
        executor_size = _executor_size
    loop = type(asyncio.get_running_loop())
    return {
        "impl": "python-fastapi",
        "language": "python",
        "language_version": platform.python_version(),
        "framework": "fastapi",
        "framework_version": version("fastapi"),
        "server_software": servers,
        "event_loop": f"{loop.__module__}.{loop.__qualname__}",
        "pid": os.getpid(),
        "cpu_count": os.cpu_count(),
        # the pools endpoints run in, by the names impl.yaml declares (docs/formats.md)
        "pools": {
            "anyio-limiter": {"size": int(anyio.to_thread.current_default_thread_limiter().total_tokens),
                              "kind": "threads"},
            "default-executor": {"size": executor_size, "kind": "threads"},
            "process-pool": {"size": process_pool()._max_workers, "kind": "processes"},
            # connection pools a request waits in for a connection (impl.yaml `via`); a
            # requests.Session is none: urllib3's pool_block=False opens a connection past
            # its 10 rather than wait, so it caps nothing
            "asyncpg-pool": {"size": ASYNCPG_SIZE, "kind": "connections"},
            "psycopg-pool": {"size": PSYCOPG_SIZE, "kind": "connections"},
            "httpx-pool": {"size": HTTPX_SIZE, "kind": "connections"},
        },
        "parallelism": None,
        "lock_switch_interval_s": sys.getswitchinterval(),
        "server_label": os.environ.get("BENCH_SERVER"),
    }
