"""The ASGI wrapper the runner loads around your app: `GET /__concbench__/info` answers what
introspect.py reads (routes, anyio's limiter, the pools, the event loop's lag) as JSON; every
other request, and the lifespan, pass through untouched. The lag monitor starts at lifespan
start, or on the first request when the server sends no lifespan.

`?live=1` reads the pools found before instead of scanning the live objects again: what the
runner asks while the app is under load, so that the reading does not stall the loop it watches.
"""

import json
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs

from .introspect import LoopLag, Pools, info

INFO_PATH = "/__concbench__/info"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Concbench:
    """ASGI middleware: the app, plus the one route the runner reads."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.pools = Pools()
        self.lag = LoopLag()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "lifespan", "websocket"):
            self.lag.start()
        if scope["type"] == "http" and scope["path"] == INFO_PATH:
            await self._info(scope, send)
            return
        await self.app(scope, receive, send)

    async def _info(self, scope: Scope, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, {"error": f"{INFO_PATH} answers GET only"})
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        live = query.get("live", ["0"])[-1] not in ("0", "")
        await _answer(send, 200, info(self.app, self.pools, self.lag, rescan=not live))


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, default=str).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
