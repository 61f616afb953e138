"""What limits one route of your own app (issue 25), from what the wrapper read inside the
app (where the route runs, the thread tokens, the pools) and one request's time alone.

Little's law: capacity = requests in service at once / one request's time. In service at
once is the narrowest of what the route holds while it works: a worker thread token when any
of its code is `def`, a connection of each pool it used, the event loop itself (one at a time)
when the route blocks it, else only the load's own connections. Pure: no process, no words
beyond the names the app's introspection gave.
"""

from dataclasses import dataclass

# a route blocks the loop when the loop woke this late, relative to the route's own time,
# while the route ran alone (an `await` lets the loop run on; a blocking call does not)
BLOCKING_SHARE = 0.5
LOOP = "the event loop (blocked inside the route)"


@dataclass(frozen=True)
class Held:
    """One thing a route holds while in service: its name and how many exist."""
    name: str
    size: int


@dataclass(frozen=True)
class RouteLimit:
    binds: Held
    capacity_rps: float | None      # None when one request's time is unknown


def blocks_loop(runs: str, lag_alone_s: float, alone_s: float) -> bool:
    return runs == "loop" and alone_s > 0 and lag_alone_s >= BLOCKING_SHARE * alone_s


def route_limit(held: list[Held], connections: int, alone_s: float | None) -> RouteLimit:
    """The narrowest of what the route holds (the load's connections if nothing narrower)."""
    binds = min([*held, Held("the load's connections", connections)], key=lambda h: h.size)
    capacity = binds.size / alone_s if alone_s else None
    return RouteLimit(binds, capacity)


def held_by(route: dict, threads: Held | None, pools_used: list[Held],
            lag_alone_s: float, alone_s: float) -> list[Held]:
    """What one route (as the wrapper listed it) holds in service: a thread of `threads`
    when any of its code runs in one, a connection of each pool it used, the loop it blocks."""
    held = list(pools_used)
    if route.get("in_threads") and threads is not None:
        held.append(threads)
    if blocks_loop(route.get("runs", ""), lag_alone_s, alone_s):
        held.append(Held(LOOP, 1))
    return held
