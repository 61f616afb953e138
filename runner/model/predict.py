"""The model: what each row should measure, from Little's law and the cores, and which limit
binds it, computed only from what the implementation declares and the server reports.

Every endpoint declares where its work runs (`impl.yaml`, docs/formats.md):

- `loop`: on the worker's event loop without blocking it (every admitted request at once);
- `loop-blocking`: on the event loop, blocking it (one request at a time per worker);
- `request`: on the request's own thread or task (as many as the server admits);
- `pool`: in a named pool whose size and kind (threads or processes) the server reports;

and, for a request that waits on a database or another service, `via`: the connection pool
it waits in (`connections`, sized per worker as the server reports; no size: no cap). A
service that accepts a bounded number of connections from all workers together (a
database's `max_connections`) caps the requests in service as well.

and whether CPU work there is serialised by a process-wide lock (`lock: process`, as
CPython's GIL) or can use every core (`lock: none`). Every server declares how a worker
admits requests: an event loop or a thread or task per request admits every connection it
holds; `threads` admits that many at once.

With `c` connections held open by a closed-loop load generator, `K` requests in service at
once and a service time `s` of one request alone, Little's law (L = X * R) caps the rate at
X = K / s. CPU work is capped as well by the cores that can run it at once, `P`, divided by
the CPU seconds one request costs, `d`: X <= P / d. The ceiling is the lower of the two;
once the queue is full the mean latency is R = c / X.

No endpoint kind, framework or language is named here: a new runtime needs a declaration,
not a change to this module. The binding limit is a record (`Limit`), said in words by
runner/report/sentences.py.
"""

from dataclasses import dataclass, field, replace
from enum import StrEnum

from ..terms import Bound, Concurrency, Lock, PoolKind, Runs

# a worker of these admits every connection it holds; `threads` admits `threads` at once
UNBOUNDED = frozenset({Concurrency.EVENT_LOOP, Concurrency.THREAD_PER_REQUEST,
                       Concurrency.TASK_PER_REQUEST})
# a request on its own thread under these shares the process-wide lock with the others
THREADED = frozenset({Concurrency.THREAD_PER_REQUEST, Concurrency.THREADS})


@dataclass(frozen=True)
class Execution:
    """Where an endpoint's work runs, as its manifest declares it."""
    runs: Runs | str
    pool: str | None = None
    lock: Lock | str = Lock.NONE
    pool_title: str | None = None   # the pool's name in words, from the manifest
    via: str | None = None          # the connection pool a request waits in
    via_title: str | None = None
    lock_title: str | None = None   # the process-wide lock as readers know it ("the GIL")


@dataclass(frozen=True)
class Pool:
    """A pool as the server reported it in /info."""
    size: int | None        # None: no cap (a connection pool that opens what it needs)
    kind: PoolKind | str    # a kind no member names is kept as the server reported it


@dataclass(frozen=True)
class Server:
    concurrency: Concurrency | str
    workers: int
    threads: int | None = None


@dataclass(frozen=True)
class Facts:
    """What was measured or reported for one row.

    `split`: connections each worker process held (None: assume an even split);
    `cores_left`: the machine's cores minus what the load generator and the runner used;
    `cpu_demand_s`: CPU seconds one request costs (None: the cores bound is not applied).
    """
    connections: int
    service_s: float
    cores: int
    cores_left: float | None = None
    cpu_demand_s: float | None = None
    pools: dict[str, Pool] = field(default_factory=dict)
    parallelism: int | None = None       # threads the runtime runs at once (GOMAXPROCS)
    split: tuple[int, ...] | None = None
    # connections a service accepts from all the server's workers together, and its name
    service_connections: int | None = None
    service_title: str = "the service"
    # CPU seconds the services the server called (on this machine) spent per request: they
    # share the cores left beside the load generator with the server
    service_cpu_s: float | None = None
    service_cpu_title: str = "the services"


class LimitKind(StrEnum):
    """What binds a row: what caps the requests in service (the first six), or the cores
    the work can use (the others)."""
    EVERY_CONNECTION = "every-connection"   # no cap: every connection held is in service
    REQUEST_THREADS = "request-threads"     # the requests a worker admits at once
    BLOCKED_LOOP = "blocked-loop"           # an event loop blocked by each request
    POOL = "pool"                           # the pool of threads or processes the work runs in
    CONNECTION_POOL = "connection-pool"     # the connection pool a request waits in
    SERVICE_CONNECTIONS = "service-connections"   # a service's, from all workers together
    CORES_LEFT = "cores-left"               # the cores left beside the load generator
    POOL_PROCESSES = "pool-processes"       # the pool processes busy at once
    PROCESS_LOCK = "process-lock"           # one core per process (a process-wide lock)
    LOOP_CORE = "loop-core"                 # one core per event loop
    RUNTIME_THREADS = "runtime-threads"     # the threads the runtime runs at once
    SHARED_CORES = "shared-cores"           # the cores left, shared with the services


@dataclass(frozen=True)
class Limit:
    """The limit that binds a row, with its numbers.

    `count`: how many at once per worker (requests admitted, members of the pool,
    connections); for EVERY_CONNECTION the connections held, for SERVICE_CONNECTIONS the
    service's connections from all workers, for POOL_PROCESSES the pool processes busy at
    once, for RUNTIME_THREADS the threads the runtime runs at once. `split`: the
    connections each worker held, where measured over several workers."""
    kind: LimitKind
    count: float | None = None
    workers: int = 1
    split: tuple[int, ...] | None = None
    title: str | None = None                # the pool's or the service's name in words
    pool_kind: PoolKind | str | None = None
    admission: Concurrency | None = None    # how a worker admits every connection it holds
    cores: int | None = None                # the machine's
    cores_left: float | None = None         # beside the load generator
    service_cpu_s: float | None = None      # the services' CPU a request (SHARED_CORES)


@dataclass(frozen=True)
class Prediction:
    ceiling_rps: float      # min(K / s, P / d)
    latency_s: float        # expected mean latency in steady state
    in_service: float       # K: requests in service at once
    parallel: float         # P: cores the work can use at once
    limit: Limit            # the binding limit
    bound: Bound            # requests (K / s binds) or cores (P / d binds)
    runnable_per_process: int = 1   # most requests in service in one process under one lock

    @property
    def round_s(self) -> float:
        """Seconds until the requests in service have all been replaced once (K / X)."""
        return self.in_service / self.ceiling_rps


class NoModel(ValueError):
    """The declaration or the reported facts are not enough for a ceiling; says why."""


def held_per_worker(connections: int, workers: int, split: tuple[int, ...] | None) -> list[int]:
    """Connections each worker holds: as measured (workers that held none count as 0), else
    an even split. The kernel hands a connection to one worker for good, rarely evenly;
    a lone worker gets them all, however many it had accepted when sampled."""
    if workers > 1 and split and len(split) <= workers and sum(split) > 0:
        return sorted(split, reverse=True) + [0] * (workers - len(split))
    return [connections // workers + (1 if i < connections % workers else 0)
            for i in range(workers)]


def _pool(execution: Execution, facts: Facts) -> Pool:
    pool = facts.pools.get(execution.pool or "")
    if pool is None:
        raise NoModel(f"the server did not report the size of pool {execution.pool!r} in /info")
    return pool


def _via(execution: Execution, facts: Facts) -> Pool | None:
    if not execution.via:
        return None
    pool = facts.pools.get(execution.via)
    if pool is None:
        raise NoModel(f"the server did not report the size of pool {execution.via!r} in /info")
    return pool


def _service_capped(facts: Facts, in_service: int) -> bool:
    return facts.service_connections is not None and facts.service_connections < in_service


def _admits(server: Server) -> int | None:
    if server.concurrency == Concurrency.THREADS:
        return server.threads or 1
    if server.concurrency == Concurrency.TASK_PER_REQUEST and server.threads:
        return server.threads   # a cap on the tasks at once (gevent's worker connections)
    if server.concurrency in UNBOUNDED:
        return None
    raise NoModel(f"unknown server concurrency {server.concurrency!r}")


def _per_worker(execution: Execution, server: Server, facts: Facts, held: int) -> tuple[int, int]:
    """(requests in service, cores usable) for one worker holding `held` connections."""
    admits = _admits(server)
    admitted = held if admits is None else min(held, admits)
    if execution.runs == Runs.LOOP_BLOCKING:
        k = min(admitted, 1)
    elif execution.runs == Runs.POOL:
        k = min(admitted, _pool(execution, facts).size)
    elif execution.runs in (Runs.LOOP, Runs.REQUEST):
        k = admitted
    else:
        raise NoModel(f"unknown execution {execution.runs!r}")
    via = _via(execution, facts)
    if via is not None and via.size is not None:
        k = min(k, via.size)
    if _process_pool(execution, facts):
        cores = k                       # each pool process is its own process, own lock
    elif execution.lock == Lock.PROCESS or execution.runs in (Runs.LOOP, Runs.LOOP_BLOCKING):
        cores = min(k, 1)               # one lock per process, or the loop's one thread
    else:
        cores = min(k, facts.parallelism or facts.cores)
    return k, cores


def _process_pool(execution: Execution, facts: Facts) -> bool:
    return execution.runs == Runs.POOL and _pool(execution, facts).kind == PoolKind.PROCESSES


def _requests_limit(execution: Execution, server: Server, facts: Facts,
                    held: list[int]) -> Limit:
    """What caps the requests in service: the tightest limit of the busiest worker, or
    none when every connection is in service at once."""
    split = tuple(held) if server.workers > 1 and facts.split else None
    limits = []   # requests at once per worker, tightest first on a tie
    admits = _admits(server)
    if admits is not None:
        limits.append(Limit(LimitKind.REQUEST_THREADS, admits,
                            admission=Concurrency(server.concurrency)))
    if execution.runs == Runs.LOOP_BLOCKING:
        limits.append(Limit(LimitKind.BLOCKED_LOOP, 1))
    if execution.runs == Runs.POOL:
        pool = _pool(execution, facts)
        limits.append(Limit(LimitKind.POOL, pool.size, title=execution.pool_title
                            or execution.pool, pool_kind=pool.kind))
    via = _via(execution, facts)
    if via is not None and via.size is not None:
        limits.append(Limit(LimitKind.CONNECTION_POOL, via.size,
                            title=execution.via_title or execution.via))
    binding = min(limits, default=None, key=lambda limit: limit.count)
    if binding is None or binding.count > max(held):
        return Limit(LimitKind.EVERY_CONNECTION, facts.connections, server.workers, split,
                     admission=Concurrency(server.concurrency) if admits is None else None)
    return replace(binding, workers=server.workers, split=split)


def _cores_limit(execution: Execution, server: Server, facts: Facts, usable: int) -> Limit:
    """What caps the cores the work can use."""
    left = facts.cores_left if facts.cores_left is not None else facts.cores
    beside = Limit(LimitKind.CORES_LEFT, workers=server.workers, cores=facts.cores,
                   cores_left=left)
    if usable >= left:
        return beside
    if _process_pool(execution, facts):
        return replace(beside, kind=LimitKind.POOL_PROCESSES, count=usable)
    if execution.lock == Lock.PROCESS:
        return replace(beside, kind=LimitKind.PROCESS_LOCK, title=execution.lock_title)
    if execution.runs in (Runs.LOOP, Runs.LOOP_BLOCKING):
        return replace(beside, kind=LimitKind.LOOP_CORE)
    if facts.parallelism:
        return replace(beside, kind=LimitKind.RUNTIME_THREADS, count=facts.parallelism)
    return beside


def predict(execution: Execution, server: Server, facts: Facts) -> Prediction:
    """The row's ceiling, expected latency and binding limit; NoModel says why not."""
    if facts.service_s is None or facts.service_s <= 0:
        raise NoModel("no service time measured")
    held = held_per_worker(facts.connections, server.workers, facts.split)
    per_worker = [_per_worker(execution, server, facts, h) for h in held]
    in_service = sum(k for k, _ in per_worker)
    capped = _service_capped(facts, in_service)
    if capped:
        in_service = facts.service_connections
    usable = min(sum(c for _, c in per_worker), in_service)
    left = facts.cores_left if facts.cores_left is not None else facts.cores
    parallel = min(usable, left)
    if in_service <= 0:
        raise NoModel("no request can be in service")
    by_requests = in_service / facts.service_s
    by_cores = parallel / facts.cpu_demand_s if facts.cpu_demand_s else float("inf")
    shared = None
    if facts.cpu_demand_s and facts.service_cpu_s:
        # the server and its services together cannot use more than the cores left: the
        # server's share of them is left x d / (d + the services' CPU a request)
        share = left * facts.cpu_demand_s / (facts.cpu_demand_s + facts.service_cpu_s)
        if share < parallel:
            parallel, by_cores = share, share / facts.cpu_demand_s
            shared = Limit(LimitKind.SHARED_CORES, workers=server.workers, cores=facts.cores,
                           cores_left=left, title=facts.service_cpu_title,
                           service_cpu_s=facts.service_cpu_s)
    if by_cores < by_requests:
        ceiling, bound = by_cores, Bound.CORES
        why = shared or _cores_limit(execution, server, facts, usable)
    else:
        ceiling, bound = by_requests, Bound.REQUESTS
        why = (Limit(LimitKind.SERVICE_CONNECTIONS, in_service, server.workers,
                     title=facts.service_title)
               if capped else _requests_limit(execution, server, facts, held))
    # threads contend for a process-wide lock; tasks on one thread (an event loop's, a
    # greenlet hub's) hand over only where they wait, and a process pool has a lock each
    threaded = execution.runs == Runs.POOL or (
        execution.runs == Runs.REQUEST and server.concurrency in THREADED)
    lock_shared = (execution.lock == Lock.PROCESS and threaded
                   and not _process_pool(execution, facts))
    runnable = max(k for k, _ in per_worker) if lock_shared else 1
    latency = max(facts.service_s, facts.connections / ceiling)
    return Prediction(ceiling, latency, in_service, parallel, why, bound, runnable)


def pools_from_info(info: dict) -> dict[str, Pool]:
    """The pools a server reported in /info (`{"name": {"size": 40, "kind": "threads"}}`)."""
    pools = {}
    for name, pool in (info.get("pools") or {}).items():
        if not isinstance(pool, dict) or not pool.get("kind"):
            continue
        size, kind = pool.get("size"), pool["kind"]
        kind = PoolKind(kind) if kind in set(PoolKind) else kind
        if isinstance(size, int) or (size is None and kind == PoolKind.CONNECTIONS):
            pools[name] = Pool(size, kind)
    return pools


def service_cap(services: dict | None) -> tuple[int, str] | None:
    """(connections, whose) of the tightest service that caps connections from all workers
    together, from a run's `services` record (a database's `max_connections`)."""
    caps = [(svc["max_connections"], f"{svc.get('title') or name} max_connections")
            for name, svc in (services or {}).items()
            if isinstance(svc, dict) and isinstance(svc.get("max_connections"), int)]
    return min(caps, default=None)


# a server tree using less than this share of a core while the calibration kept it busy was
# mostly waiting: its CPU per request is then mostly the idle server's own background
# (gunicorn's arbiter, idle workers), not what a request costs, and no cores bound applies
BUSY_CORES = 0.25


def in_service(execution: Execution, server: Server, facts: Facts) -> int:
    """K: the requests in service at once with `facts.connections` connections."""
    held = held_per_worker(facts.connections, server.workers, facts.split)
    k = sum(_per_worker(execution, server, facts, h)[0] for h in held)
    return facts.service_connections if _service_capped(facts, k) else k


def _busy_work(calibration: dict, execution: Execution | None, server: Server | None,
               facts: Facts | None) -> tuple[float, int] | None:
    """(requests' worth of work the busy phase did, requests in service during it).

    wrk stops without waiting for its last answers: the requests then in service had done,
    on average, half their work, and their CPU is in the phase's CPU seconds too."""
    done = calibration.get("demand_requests")
    connections = calibration.get("demand_connections")
    if not done:
        return None
    k = 0
    if execution is not None and server is not None and facts is not None and connections:
        split = calibration.get("demand_split")
        busy = replace(facts, connections=connections, cpu_demand_s=None,
                       split=tuple(split) if split else None)
        try:
            k = in_service(execution, server, busy)
        except NoModel:
            k = 0
    return done + k / 2, k


def busy_demand(calibration: dict | None, execution: Execution | None = None,
                server: Server | None = None, facts: Facts | None = None) -> float | None:
    """A calibration's CPU seconds per request, where the server was busy enough to tell;
    with the declaration, the work of the requests still in service when wrk stopped is
    counted (see _busy_work)."""
    if not calibration or calibration.get("error"):
        return None
    if (calibration.get("demand_server_cores") or 0) < BUSY_CORES:
        return None
    demand = calibration.get("cpu_demand_s")
    work = _busy_work(calibration, execution, server, facts)
    if demand is None or work is None:
        return demand
    return demand * calibration["demand_requests"] / work[0]


def busy_occupancy(calibration: dict | None, execution: Execution, server: Server,
                   facts: Facts) -> float | None:
    """How long a request held its place in service while the calibration kept a queue:
    K x the phase's duration / the requests' worth of work done. Where the load keeps
    every place busy this is the service time a queue sees; one connection alone also
    waits for the client and for an idle core to wake, so it can only be longer."""
    if not calibration or calibration.get("error"):
        return None
    duration = calibration.get("demand_duration_s")
    if not duration and calibration.get("demand_server_cores"):   # stored before 2026-11-24
        duration = (calibration.get("cpu_demand_s") or 0) * (calibration.get(
            "demand_requests") or 0) / calibration["demand_server_cores"]
    work = _busy_work(calibration, execution, server, facts)
    if not duration or work is None or not work[1]:
        return None
    return work[1] * duration / work[0]


# An open load opens as many connections as requests are in flight: no connection bound
OPEN_CONNECTIONS = 1_000_000


def open_capacity(execution: Execution, server: Server, facts: Facts) -> Prediction:
    """The rate a server sustains when requests arrive whatever it does (no connection
    bound): the model's ceiling with unlimited connections, split evenly."""
    unbounded = replace(facts, connections=OPEN_CONNECTIONS, split=None)
    return predict(execution, server, unbounded)


def open_latency(capacity_rps: float, service_s: float, offered_rps: float,
                 duration_s: float) -> tuple[float, float]:
    """Predicted (p50, max) latency of requests arriving at a constant `offered_rps` for
    `duration_s`. Below capacity a request waits for nothing but its own service; above it
    the backlog grows by (offered - capacity) each second, so a request arriving t seconds
    in waits (offered - capacity) t / capacity: the median arrives at t = duration / 2."""
    if offered_rps <= capacity_rps:
        return service_s, service_s
    growth = (offered_rps - capacity_rps) / capacity_rps
    return service_s + growth * duration_s / 2, service_s + growth * duration_s


# scheduling jitter of a few milliseconds is no saturation, however short the service time
KNEE_SLACK_S = 0.020


# a rate is held only if nearly every request offered at it was answered: p99 is taken
# over the answers, so a server that stops answering must not pass on the few it gave
LOST_AT_MOST = 0.01


def saturated(point: dict, service_s: float, knee: float) -> bool:
    """p99 beyond `knee` times the service time (plus 20 ms of slack), or more than 1 % of
    the requests unanswered (failed or timed out)."""
    p99 = point["latency_s"]["p99"]
    return (p99 is None or p99 > knee * service_s + KNEE_SLACK_S
            or point["ok"] < (1 - LOST_AT_MOST) * point["requests"])


def steady_state_rps(per_second: list[int] | None, service_s: float | None) -> float | None:
    """Completions per second once the first answers arrive and before the run's last second.

    A closed-loop run sees its first completions only after one service time, and wrk's
    first and last one-second buckets are partial; both would pull the rate down.
    """
    middle = steady_window(per_second, service_s)
    return sum(middle) / len(middle) if middle else None


def steady_bounds(per_second: list[int] | None,
                  service_s: float | None) -> tuple[int, int] | None:
    """[first, stop) indices of the whole seconds a steady rate is counted over (None:
    fewer than two)."""
    if not per_second:
        return None
    skip = 1 + (int(service_s) if service_s else 0)
    stop = len(per_second) - 1
    return (skip, stop) if stop - skip >= 2 else None


def steady_window(per_second: list[int] | None, service_s: float | None) -> list[int] | None:
    """The whole seconds a steady rate is counted over (None: fewer than two)."""
    bounds = steady_bounds(per_second, service_s)
    return per_second[bounds[0]:bounds[1]] if bounds else None


# a closed-loop rate is steady once the requests in service have been replaced a few times:
# requests that share the cores start together and finish together, so a window of one
# round holds one batch of completions, or none, or two
MIN_ROUNDS = 3


def unsteady(prediction: Prediction, window_s: float | None) -> str | None:
    """Why a window of `window_s` seconds is too short for a steady rate (None: it is not)."""
    if not window_s or prediction.in_service <= 1:
        return None
    rounds = window_s / prediction.round_s
    if rounds >= MIN_ROUNDS:
        return None
    return (f"no steady rate: the {prediction.in_service:g} requests in service are "
            f"replaced every {prediction.round_s:.2g} s, {rounds:.1f} times in the "
            f"{window_s:g} s window (a steady rate needs {MIN_ROUNDS}: "
            f"{MIN_ROUNDS * prediction.round_s:.0f} s)")


def interpolate(series: list[list[float]], at: float) -> float | None:
    """The value of a sampled (time, cumulative value) series at time `at` (None: outside)."""
    for (t0, v0), (t1, v1) in zip(series, series[1:]):
        if t0 <= at <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (at - t0) / (t1 - t0)
    return None
