"""Your own app (issue 25): what the wrapper reads inside an app's process, checked on a tiny
FastAPI app through httpx's ASGI transport (no server, no socket)."""

import asyncio
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from fastapi import Depends, FastAPI
from sqlalchemy.pool import QueuePool
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from runner.app import introspect, serve
from runner.app.wrap import INFO_PATH, Concbench

REPO = Path(__file__).resolve().parent.parent


def sync_dependency() -> int:
    return 1


async def async_dependency() -> int:
    return 2


def tiny_app() -> FastAPI:
    app = FastAPI()

    @app.get("/loop")
    async def on_loop(value: int = Depends(async_dependency)):
        return {"value": value}

    @app.get("/thread")
    def in_thread():
        return {"ok": True}

    @app.post("/mixed")
    async def mixed(value: int = Depends(sync_dependency)):
        return {"value": value}

    @app.get("/block")
    async def block():
        time.sleep(0.06)  # the mistake the lag monitor is for
        return {"blocked": True}

    def plain(request):
        return PlainTextResponse("plain")

    app.mount("/sub", Starlette(routes=[Route("/plain", plain)]))
    return app


def get(app, path: str, method: str = "GET") -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path)
    return asyncio.run(go())


def by_path(found: list[dict]) -> dict[str, dict]:
    return {route["path"]: route for route in found}


def test_routes_say_where_each_runs():
    found = by_path(introspect.routes(tiny_app()))
    assert found["/loop"]["runs"] == "loop" and found["/loop"]["in_threads"] == []
    assert found["/thread"]["runs"] == "threads"
    assert found["/thread"]["in_threads"] == [found["/thread"]["endpoint"]]
    assert found["/thread"]["endpoint"].endswith("tiny_app.<locals>.in_thread")
    # an async endpoint with a def dependency still holds a thread token for that dependency
    assert found["/mixed"]["runs"] == "loop"
    assert found["/mixed"]["in_threads"] == [f"{__name__}.sync_dependency"]
    assert found["/mixed"]["methods"] == ["POST"]
    assert found["/sub/plain"]["runs"] == "threads"  # a mounted Starlette app's def endpoint


def test_routes_are_found_under_middleware():
    app = tiny_app()
    wrapped = GZipMiddleware(app)
    assert introspect.find_router(wrapped) is app
    assert "/thread" in by_path(introspect.routes(wrapped))
    assert introspect.routes(object()) == []


@pytest.mark.parametrize("call, on_loop", [
    (sync_dependency, False), (async_dependency, True), (lambda: None, False),
    (type("Handler", (), {"__call__": lambda self: None})(), False),
    (type("AsyncHandler", (), {"__call__": async_dependency})(), True),
    (dict, False),
])
def test_what_runs_on_the_loop(call, on_loop):
    assert introspect.runs_on_loop(call) is on_loop


def test_info_route_answers_json_and_passes_the_rest(tmp_path):
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}",
                                      poolclass=QueuePool, pool_size=3, max_overflow=7)
    try:
        app = Concbench(tiny_app())
        assert get(app, "/thread").json() == {"ok": True}
        body = get(app, INFO_PATH).json()
        assert body["concbench_app"] == 1
        assert by_path(body["routes"])["/thread"]["runs"] == "threads"
        assert body["anyio_limiter"] == {"total_tokens": 40, "borrowed_tokens": 0,
                                         "tasks_waiting": 0}
        mine = [pool for pool in body["pools"] if pool["name"].endswith("engine 1")
                or pool.get("target", "").endswith("db.sqlite")]
        assert mine and mine[0]["kind"] == "sqlalchemy" and mine[0]["pool"] == "QueuePool"
        assert (mine[0]["size"], mine[0]["max_overflow"], mine[0]["capacity"]) == (3, 7, 10)
        assert mine[0]["checked_out"] == 0
        assert get(app, INFO_PATH, "POST").status_code == 405
    finally:
        engine.dispose()


def test_pools_read_checked_out_connections_live(tmp_path):
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'live.sqlite'}",
                                      poolclass=QueuePool, pool_size=2, max_overflow=1)
    pools = introspect.Pools()
    pools.scan()
    try:
        with engine.connect():
            mine = [p for p in pools.read() if p.get("target", "").endswith("live.sqlite")]
            assert [p["checked_out"] for p in mine] == [1]
    finally:
        engine.dispose()
    del engine
    import gc
    gc.collect()
    assert [p for p in pools.read() if p.get("target", "").endswith("live.sqlite")] == []


def test_a_module_level_engine_is_named_by_its_variable(tmp_path, monkeypatch):
    module = type(sys)("tiny_service")
    module.engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}",
                                             poolclass=QueuePool)
    monkeypatch.setitem(sys.modules, "tiny_service", module)
    try:
        pools = introspect.Pools()
        pools.scan()
        assert "tiny_service.engine" in [p["name"] for p in pools.read()]
    finally:
        module.engine.dispose()


def test_the_loop_lag_monitor_sees_a_blocking_call():
    app = Concbench(tiny_app())

    async def go() -> tuple[dict, dict]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/loop")  # the first request starts the monitor
            await asyncio.sleep(0.05)
            calm = (await client.get(INFO_PATH + "?live=1")).json()["loop_lag"]
            await client.get("/block")
            await asyncio.sleep(0.03)
            return calm, (await client.get(INFO_PATH + "?live=1")).json()["loop_lag"]

    calm, blocked = asyncio.run(go())
    assert calm["running"] and calm["samples"] >= 2
    assert blocked["worst_since_last_read_ms"] >= 30 and blocked["worst_ms"] >= 30
    assert blocked["worst_at"] is not None


def test_loop_lag_window_starts_again_after_a_read():
    lag = introspect.LoopLag()
    lag.record(0.02)
    lag.record(-0.001)  # woken early by the clock's rounding: no lag
    first = lag.read()
    assert (first["worst_ms"], first["worst_since_last_read_ms"], first["samples"]) == (20, 20, 2)
    lag.record(0.005)
    second = lag.read()
    assert (second["worst_ms"], second["worst_since_last_read_ms"]) == (20, 5)
    assert not second["running"]


def test_limiter_outside_an_event_loop_is_none():
    assert introspect.limiter() is None


@pytest.mark.parametrize("path, message", [
    ("nocolon", "expected module:attribute"),
    ("no_such_module_xyz:app", "importing no_such_module_xyz failed: ModuleNotFoundError"),
    ("json:nothing", "module json has no nothing"),
    ("json:__name__", "is not an ASGI app"),
])
def test_a_bad_import_path_is_one_line(path, message):
    with pytest.raises(serve.AppImportError, match=message):
        serve.load(path)


def test_serve_exits_2_on_a_bad_import_path(capsys):
    assert serve.main(["no_such_module_xyz:app"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: app 'no_such_module_xyz:app': importing") and err.count("\n") == 1


def test_the_factory_wraps_the_app_named_in_the_environment(monkeypatch):
    monkeypatch.setenv("CONCBENCH_APP", f"{__name__}:tiny_app")
    wrapped = serve.factory()
    assert isinstance(wrapped, Concbench) and wrapped.app is tiny_app
