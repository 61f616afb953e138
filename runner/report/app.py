"""Your own app (`python -m runner app`): each route's figures as measured, what the model
says limits it (runner/model/app.py), and the table and lines the command prints. Pure: it
reads what the wrapper answered (/__concbench__/info, docs/app.md) and wrk's figures."""

from dataclasses import dataclass, field

from rich.table import Table

from ..config.app import AppRoute
from ..model.app import Held, held_by, route_limit
from ..units import format_number

THREADS = "anyio's thread limiter"
COUNTERS = ("borrowed_tokens", "tasks_waiting")


@dataclass
class RouteResult:
    route: AppRoute
    facts: dict                         # the wrapper's entry for this route ({} if unlisted)
    alone_s: float
    lag_alone_s: float
    rate: float | None = None
    p99_s: float | None = None
    samples: list[dict] = field(default_factory=list)
    missed: int = 0                     # samples the app did not answer within 2 s
    worst_before_ms: float = 0.0        # the loop's worst lag since start, before the load
    probe_s: list[float] = field(default_factory=list)   # the probe route's times meanwhile
    error: str | None = None


def pools_used(result: RouteResult) -> list[Held]:
    """The pools whose connections were checked out while this route was loaded."""
    peak: dict[str, Held] = {}
    for sample in result.samples:
        for pool in sample.get("pools") or []:
            if (pool.get("checked_out") or 0) > 0 and pool.get("capacity"):
                peak[pool["name"]] = Held(f"{pool['kind']} pool {pool['name']}", pool["capacity"])
    return list(peak.values())


def peaks(result: RouteResult) -> dict[str, int]:
    """The most seen at once during the load: anyio's tokens borrowed, tasks waiting for
    one, and each pool's connections checked out (by the pool's name)."""
    found: dict[str, int] = {}
    for sample in result.samples:
        limiter = sample.get("anyio_limiter") or {}
        for key in ("borrowed_tokens", "tasks_waiting"):
            found[key] = max(found.get(key, 0), limiter.get(key) or 0)
        for pool in sample.get("pools") or []:
            found[pool["name"]] = max(found.get(pool["name"], 0), pool.get("checked_out") or 0)
    return found


def route_row(result: RouteResult, info: dict, connections: int) -> dict:
    """One route's figures for the table: what was measured and what the model says."""
    tokens = (info.get("anyio_limiter") or {}).get("total_tokens")
    threads = Held(THREADS, tokens) if tokens else None
    held = held_by(result.facts, threads, pools_used(result), result.lag_alone_s,
                   result.alone_s)
    limit = route_limit(held, connections, result.alone_s or None)
    lags = [s["loop_lag"]["worst_since_last_read_ms"] for s in result.samples]
    # a read the busy loop answered late resets the window: the worst since start still
    # holds a lag that began during the load
    lags += [s["loop_lag"]["worst_ms"] for s in result.samples
             if s["loop_lag"]["worst_ms"] > result.worst_before_ms]
    return {"path": result.route.path, "runs": result.facts.get("runs", "?"),
            "in_threads": result.facts.get("in_threads", []),
            "rate": result.rate, "p99_ms": None if result.p99_s is None else result.p99_s * 1e3,
            "alone_ms": result.alone_s * 1e3, "limit": limit.binds.name,
            "in_service": limit.binds.size, "capacity": limit.capacity_rps,
            "worst_lag_ms": max(lags, default=None), "missed": result.missed,
            "probe_ms": max(result.probe_s) * 1e3 if result.probe_s else None,
            "peaks": peaks(result),
            "error": result.error}


def table(rows: list[dict], probe: str | None) -> Table:
    """One line a route: measured, then modelled, then the loop's lag and the probe's time."""
    out = Table("route", "runs", "rate/s", "p99 ms", "alone ms", "limit", "in service",
                "capacity/s", "worst loop lag ms", f"{probe or 'probe'} worst ms")
    for row in rows:
        runs = row["runs"] + (f" (+ def {len(row['in_threads'])})"
                              if row["runs"] == "loop" and row["in_threads"] else "")
        if row["error"] and row["rate"] is None:
            out.add_row(row["path"], runs, *["—"] * 3, "failed (below)", *["—"] * 4)
            continue
        lag = format_number(row["worst_lag_ms"]) + (f" ({row['missed']} unanswered)"
                                                    if row["missed"] else "")
        out.add_row(row["path"], runs, format_number(row["rate"]),
                    format_number(row["p99_ms"]), format_number(row["alone_ms"]), row["limit"],
                    str(row["in_service"]), format_number(row["capacity"]), lag,
                    format_number(row["probe_ms"]))
    return out


def summary(rows: list[dict], info: dict) -> list[str]:
    """The limiter and pools found, then each route's peaks under load."""
    limiter = info.get("anyio_limiter") or {}
    tokens = limiter.get("total_tokens", "-")
    pools = ", ".join(f"{p['name']} ({p.get('pool')}, {p.get('size')} + {p.get('max_overflow')})"
                      for p in info.get("pools", []))
    lines = [f"{THREADS}: {tokens} tokens; pools: {pools or 'none found'}"]
    for row in rows:
        if peak := row["peaks"]:
            lines.append("; ".join(
                [f"{row['path']} at its peak: {peak.get('borrowed_tokens', 0)} of {tokens} "
                 f"thread tokens borrowed, {peak.get('tasks_waiting', 0)} tasks waiting"]
                + [f"{name} {count} checked out" for name, count in peak.items()
                   if name not in COUNTERS]))
    return lines
