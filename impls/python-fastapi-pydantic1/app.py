"""FastAPI 0.99 + pydantic v1 side of the concbench endpoint contract (docs/formats.md).

The same endpoints as impls/python-fastapi, pinned to the era of the large-response article
(002): FastAPI 0.99.1 with pydantic 1.10. In that FastAPI, a `def` endpoint with a
response_model has its return value turned into dicts (`.dict()`), encoded by
`jsonable_encoder` (a pure-Python walk over every value) and dumped by `json.dumps`, all
on the event loop; only the validation against the model runs in the thread pool. One
large response therefore stalls every other request on the worker. Today's FastAPI
serialises in pydantic-core instead, fast enough that the stall is mostly gone; this
implementation shows the old mechanism next to the fix.

Each endpoint is one concurrency pattern, written the plain way a FastAPI user would
write it, so wrk can show what the pattern costs: waiting on the event loop, blocking
in the thread pool (`def`), blocking the event loop itself (`async def` + a blocking
call), the default executor, a process pool, and serialising a large nested response.
Every body proves the work was done (time slept, the sum computed, the items sent) so
the runner can reject an endpoint that skips it.
"""

import asyncio
import importlib.metadata
import os
import platform
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Annotated

import anyio.to_thread
from fastapi import FastAPI, Query, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

app = FastAPI()


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
        _pool, _pool_pid = ProcessPoolExecutor(initializer=_pool_worker_init), os.getpid()
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
    # The models are built in the thread pool. FastAPI 0.99 then, in serialize_response:
    # turns them into dicts with .dict() (on the event loop), validates those against
    # the response_model (in the thread pool for a `def` handler), runs jsonable_encoder
    # over the result (on the event loop) and JSONResponse json.dumps it (on the event
    # loop): the article's stall, where every other request waits.
    return clients("json_large", items)


@app.get("/json_large_offloaded")
def json_large_offloaded(items: N):
    # Serialise here, in the thread pool, and hand FastAPI finished bytes (the article's
    # fix): a Response skips FastAPI's response_model work entirely.
    # Compact separators, as FastAPI's JSONResponse writes, so both variants send the same
    # bytes (pydantic v1's .json() defaults to json.dumps' ", " and ": ").
    body = clients("json_large_offloaded", items).json(separators=(",", ":"))
    return Response(content=body, media_type="application/json")


# --- runtime facts -------------------------------------------------------------------

@app.get("/info")
async def info():
    version = importlib.metadata.version
    servers = {"uvicorn": version("uvicorn")}
    if "gunicorn" in sys.modules:
        servers["gunicorn"] = version("gunicorn")
    default_executor = ThreadPoolExecutor()  # the size asyncio's default executor gets
    default_executor.shutdown()
    loop = type(asyncio.get_running_loop())
    return {
        "impl": "python-fastapi-pydantic1",
        "language": "python",
        "language_version": platform.python_version(),
        "framework": "fastapi",
        "framework_version": version("fastapi"),
        "pydantic_version": version("pydantic"),
        "server_software": servers,
        "event_loop": f"{loop.__module__}.{loop.__qualname__}",
        "pid": os.getpid(),
        "cpu_count": os.cpu_count(),
        # the pools endpoints run in, by the names impl.yaml declares (docs/formats.md)
        "pools": {
            "anyio-limiter": {"size": int(anyio.to_thread.current_default_thread_limiter().total_tokens),
                              "kind": "threads"},
            "default-executor": {"size": default_executor._max_workers, "kind": "threads"},
            "process-pool": {"size": process_pool()._max_workers, "kind": "processes"},
        },
        "parallelism": None,
        "lock_switch_interval_s": sys.getswitchinterval(),
        "server_label": os.environ.get("BENCH_SERVER"),
    }
