"""What an ASGI app's process holds now, read without changing the app.

Imported inside the app's own Python process, so it needs the standard library only: each
library the app may use (FastAPI/Starlette, anyio, SQLAlchemy, psycopg_pool, asyncpg) is read
only when the app has already imported it (`sys.modules`), and skipped when it has not.

- `routes(app)`: each route's path, methods, and where its code runs: `async def` on the event
  loop, `def` in anyio's worker threads (FastAPI's `def` dependencies too).
- `limiter()`: anyio's default thread limiter, its tokens and those borrowed now.
- `Pools`: SQLAlchemy engines, psycopg_pool and asyncpg pools found among the live objects
  (`gc.get_objects()`, once: a scan costs milliseconds the event loop waits), read again cheaply.
- `LoopLag`: a task that sleeps 10 ms and records how late it wakes.
"""

import asyncio
import functools
import gc
import inspect
import os
import sys
import threading
import time
import weakref
from typing import Any, Callable

LAG_INTERVAL_S = 0.010


def _unwrap(call: Any) -> Any:
    """The function under functools.partial and functools.wraps layers."""
    while isinstance(call, functools.partial):
        call = call.func
    return inspect.unwrap(call) if callable(call) else call


def runs_on_loop(call: Any) -> bool:
    """True for an `async def` (or async generator, or an object whose __call__ is one):
    awaited on the event loop. A `def`, a generator or a class runs in a worker thread."""
    call = _unwrap(call)
    if inspect.isclass(call):
        return False
    if not inspect.isroutine(call):
        call = _unwrap(getattr(call, "__call__", call))
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)


def _qualname(call: Any) -> str:
    call = _unwrap(call)
    name = getattr(call, "__qualname__", None) or type(call).__qualname__
    module = getattr(call, "__module__", None)
    return f"{module}.{name}" if module else name


def _dependencies(dependant: Any) -> list[Any]:
    """Every callable FastAPI calls before the endpoint, depth first, each once."""
    found: list[Any] = []
    for sub in getattr(dependant, "dependencies", None) or []:
        found += _dependencies(sub)
        if getattr(sub, "call", None) is not None and sub.call not in found:
            found.append(sub.call)
    return found


def _handler(route: Any) -> Any:
    """The code a route calls: its endpoint, or a Starlette HTTPEndpoint's first method."""
    endpoint = route.endpoint
    if inspect.isclass(endpoint):
        for method in sorted(getattr(route, "methods", None) or ["GET"]):
            if hasattr(endpoint, method.lower()):
                return getattr(endpoint, method.lower())
    return endpoint


def _route(route: Any, prefix: str) -> dict[str, Any]:
    handler = _handler(route)
    calls = [*_dependencies(getattr(route, "dependant", None)), handler]
    in_threads = [_qualname(call) for call in calls if not runs_on_loop(call)]
    return {"path": prefix + route.path,
            "methods": sorted(getattr(route, "methods", None) or []),
            "endpoint": _qualname(handler),
            "runs": "loop" if runs_on_loop(handler) else "threads",
            "in_threads": in_threads}


def find_router(app: Any) -> Any:
    """The object holding `.routes`: the app itself, or the app under middleware that keeps
    it as `.app` (Starlette's and most ASGI middleware do)."""
    seen = 0
    while app is not None and seen < 20:
        if isinstance(getattr(app, "routes", None), list):
            return app
        app, seen = getattr(app, "app", None), seen + 1
    return None


def routes(app: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Every HTTP route under app (mounted routers included), in the order they match."""
    router = find_router(app)
    found: list[dict[str, Any]] = []
    for route in (router.routes if router is not None else []):
        if hasattr(route, "endpoint") and hasattr(route, "path"):
            if getattr(route, "methods", None) is not None or not hasattr(route, "routes"):
                found.append(_route(route, prefix))
        elif getattr(route, "routes", None) is not None:
            found += routes(route, prefix + getattr(route, "path", ""))
    return found


def limiter() -> dict[str, Any] | None:
    """anyio's default thread limiter of the running event loop: what `def` routes share."""
    if "anyio" not in sys.modules:
        return None
    try:
        import anyio.to_thread
        limit = anyio.to_thread.current_default_thread_limiter()
        stats = limit.statistics()
    except Exception:  # no event loop here, or an anyio without it
        return None
    return {"total_tokens": limit.total_tokens, "borrowed_tokens": limit.borrowed_tokens,
            "tasks_waiting": stats.tasks_waiting}


def threads_alive() -> int:
    return threading.active_count()


def _class(module: str, name: str) -> type | None:
    found = getattr(sys.modules.get(module), name, None)
    return found if isinstance(found, type) else None


def _global_name(obj: Any) -> str | None:
    """`module.variable` of a module-level variable holding obj, if one does."""
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith(("sqlalchemy", "psycopg", "asyncpg", "runner.app")):
            continue
        for var, value in list(getattr(module, "__dict__", {}).items()):
            if value is obj:
                return f"{module_name}.{var}"
    return None


def _sqlalchemy(engine: Any) -> dict[str, Any]:
    pool = engine.pool
    size = pool.size() if hasattr(pool, "checkedout") and hasattr(pool, "size") else None
    overflow = getattr(pool, "_max_overflow", None) if size is not None else None
    return {"kind": "sqlalchemy", "target": engine.url.render_as_string(hide_password=True),
            "async": bool(getattr(engine.dialect, "is_async", False)),
            "pool": type(pool).__name__, "size": size, "max_overflow": overflow,
            "capacity": None if size is None else size + max(overflow or 0, 0),
            "checked_out": pool.checkedout() if hasattr(pool, "checkedout") else None,
            "waiting": None}


def _psycopg(pool: Any) -> dict[str, Any]:
    stats = pool.get_stats()
    in_pool = stats.get("pool_size", 0)
    return {"kind": "psycopg_pool", "target": getattr(pool, "name", ""),
            "async": "Async" in type(pool).__name__, "pool": type(pool).__name__,
            "size": pool.min_size, "max_overflow": pool.max_size - pool.min_size,
            "capacity": pool.max_size, "checked_out": in_pool - stats.get("pool_available", 0),
            "waiting": stats.get("requests_waiting", 0)}


def _asyncpg(pool: Any) -> dict[str, Any]:
    return {"kind": "asyncpg", "target": "", "async": True, "pool": type(pool).__name__,
            "size": pool.get_min_size(), "max_overflow": pool.get_max_size() - pool.get_min_size(),
            "capacity": pool.get_max_size(),
            "checked_out": pool.get_size() - pool.get_idle_size(), "waiting": None}


# (module, class, reader): the pools a process may hold, each read only if its module is loaded
POOL_KINDS: tuple[tuple[str, str, Callable[[Any], dict[str, Any]]], ...] = (
    ("sqlalchemy.engine.base", "Engine", _sqlalchemy),
    ("psycopg_pool.pool", "ConnectionPool", _psycopg),
    ("psycopg_pool.pool_async", "AsyncConnectionPool", _psycopg),
    ("asyncpg.pool", "Pool", _asyncpg),
)


class Pools:
    """The connection pools of this process: found by one scan of the live objects, then read
    as often as asked through weak references (a pool the app dropped drops out)."""

    def __init__(self) -> None:
        self._found: list[tuple[Callable[[], Any], str, Callable[[Any], dict[str, Any]]]] = []
        self.scanned = False

    def scan(self) -> None:
        kinds = [(cls, read) for module, name, read in POOL_KINDS
                 if (cls := _class(module, name)) is not None]
        self._found, self.scanned = [], True
        if not kinds:
            return
        for obj in gc.get_objects():
            for cls, read in kinds:
                if isinstance(obj, cls):
                    name = _global_name(obj) or f"{type(obj).__name__} {len(self._found) + 1}"
                    self._found.append((_ref(obj), name, read))
                    break

    def read(self) -> list[dict[str, Any]]:
        if not self.scanned:
            self.scan()
        read: list[dict[str, Any]] = []
        for ref, name, reader in self._found:
            obj = ref()
            if obj is None:
                continue
            try:
                read.append({"name": name, **reader(obj)})
            except Exception as exc:  # a pool closed, or a version without that method
                read.append({"name": name, "error": f"{type(exc).__name__}: {exc}"})
        return read


def _ref(obj: Any) -> Callable[[], Any]:
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


class LoopLag:
    """How late the event loop wakes a task that sleeps 10 ms: the worst since start and since
    the last read. Started from inside the loop (lifespan start or the first request)."""

    def __init__(self, interval_s: float = LAG_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.worst_s = 0.0
        self.worst_at: float | None = None
        self.window_worst_s = 0.0
        self.last_s = 0.0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the monitor on the running asyncio loop, once; nothing without one."""
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._watch(), name="concbench loop lag")

    async def _watch(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.interval_s)
            self.record(time.perf_counter() - start - self.interval_s)

    def record(self, lag_s: float) -> None:
        lag_s = max(lag_s, 0.0)
        self.samples += 1
        self.last_s = lag_s
        self.window_worst_s = max(self.window_worst_s, lag_s)
        if lag_s > self.worst_s:
            self.worst_s, self.worst_at = lag_s, time.time()

    def read(self) -> dict[str, Any]:
        """The figures in milliseconds; the window's worst starts again after each read."""
        window, self.window_worst_s = self.window_worst_s, 0.0
        return {"running": self._task is not None and not self._task.done(),
                "interval_ms": self.interval_s * 1e3, "samples": self.samples,
                "last_ms": round(self.last_s * 1e3, 3), "worst_ms": round(self.worst_s * 1e3, 3),
                "worst_at": self.worst_at, "worst_since_last_read_ms": round(window * 1e3, 3)}


def info(app: Any, pools: Pools, lag: LoopLag, rescan: bool = True) -> dict[str, Any]:
    """Everything above as one JSON-ready dict; rescan looks for pools again (costly: the
    runner asks for it once before load, and reads the pools found while under load)."""
    if rescan or not pools.scanned:
        pools.scan()
    return {"concbench_app": 1, "pid": os.getpid(), "routes": routes(app),
            "anyio_limiter": limiter(), "threads_alive": threads_alive(),
            "pools": pools.read(), "loop_lag": lag.read()}
