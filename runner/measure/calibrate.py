"""Calibration: the service time and CPU demand of one request, measured on the fresh server
just before its load, once every worker has booted.

A server answers /info as soon as one worker is up; gunicorn may still be forking and
importing the others, and a load started then hands every connection to the workers that
exist (the kernel keeps a connection on the worker that accepted it). So the runner first
waits until the server's process tree is settled: the same processes, using next to no CPU.
Then one connection runs alone for a second (wrk -c1): its median latency is the service
time `s`. Then two connections per core for up to two seconds: the server's CPU seconds
per request are the CPU demand `d` of the model, on a server busy on every core without a
long queue. (One connection alone would overstate it where an idle runtime spins while
it waits for the next request, as Go's scheduler does; the load's 100 connections would
leave a queue behind and, in a few seconds, count the CPU of requests still in flight.)
Both phases' CPU per request are kept: with threads contending for one process-wide lock
a request costs more CPU on the busy server than alone, and the report says by how much.
A request slower than 0.5 s is calibrated by one more checked request instead.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from ..model.predict import BUSY_CORES
from .procs import RunningServer
from .sampling import TreeSampler, cpu_seconds
from ..store.results import StoredCalibration, StoredResources, StoredWrk
from .wrk import Wrk
from .wrkcheck import WrkChecks, load_problems
from .wrkparse import WrkParseError, parse_wrk_json

SERVICE_S = 1.0            # one connection alone for this long: the service time
DEMAND_S = 2.0             # then two connections per core for this long (at most the
                           # load's duration): the CPU demand
DRAIN_MAX_S = 5.0          # at most this long for the busy phase's last answers
SLOW_S = 0.5               # a request slower than this is calibrated by single requests
SETTLE_POLL_S = 0.1
SETTLE_IDLE_CORES = 0.05   # a settled tree uses less than this share of a core
SETTLE_POLLS = 3           # ... for this many polls in a row, with the same processes


class WorkNotDone(Exception):
    """A calibration's answers came too fast for the declared wait, lacked their proof, or
    stopped coming (runner.measure.wrkcheck): the row fails with this reason."""


def _tree(root: int) -> tuple[frozenset[int], float]:
    """(pids, CPU seconds) of root's process tree now."""
    try:
        procs = [psutil.Process(root)]
        procs += procs[0].children(recursive=True)
    except psutil.Error:
        return frozenset(), 0.0
    pids, cpu = set(), 0.0
    for proc in procs:
        used = cpu_seconds(proc)
        if used is not None:
            pids.add(proc.pid)
            cpu += used
    return frozenset(pids), cpu


@dataclass(frozen=True)
class Target:
    """A fresh server that passed its conformance check, as a calibration or a load
    measures it: the process, the case's URL on it, the conformance requests' time, one
    more checked request (`request_once()`, its seconds), the prefix of this repeat's log
    files, how long the tree may take to settle, wrk's CPUs (taskset) if pinned, and what
    wrk checks of the answers (the latency floor, the proof)."""
    server: RunningServer
    url: str
    check_s: float
    request_once: Callable[[], float]
    prefix: str
    timeout_s: float
    cpus: str | None = None
    checks: WrkChecks | None = None


def wait_settled(root: int, timeout_s: float) -> tuple[bool, float, int]:
    """Wait until the tree keeps the same processes and is idle: (settled, how long that
    took, its processes)."""
    started = time.monotonic()
    pids, cpu = _tree(root)
    quiet = 0
    while time.monotonic() - started < timeout_s:
        time.sleep(SETTLE_POLL_S)
        now_pids, now_cpu = _tree(root)
        idle = (now_cpu - cpu) / SETTLE_POLL_S < SETTLE_IDLE_CORES
        quiet = quiet + 1 if (now_pids == pids and idle) else 0
        pids, cpu = now_pids, now_cpu
        if quiet >= SETTLE_POLLS:
            return True, time.monotonic() - started, len(pids)
    return False, time.monotonic() - started, len(pids)


def _wrk_phase(target: Target, connections: int, duration_s: float, suffix: str,
               what: str) -> tuple[StoredWrk | None, StoredResources, str | None]:
    """(wrk's Lua report or None, resources, error) of one short run beside a sampler;
    WorkNotDone where its answers fail wrk's checks."""
    server = target.server
    with TreeSampler(server.proc.pid, server.port) as sampler:
        done = Wrk(cpus=target.cpus, checks=target.checks).run(
            target.url, threads=min(connections, 4), connections=connections,
            duration_s=duration_s, timeout_s=max(target.timeout_s, 1.0),
            json_out=f"{target.prefix}{suffix}")
    resources = sampler.result()
    if done.returncode != 0 or done.json_text is None:
        return None, resources, f"wrk exited with {done.returncode}"
    try:
        lua = parse_wrk_json(done.json_text)
    except WrkParseError as exc:
        return None, resources, str(exc)
    if not lua.requests:
        return None, resources, "no request completed"
    problems = load_problems(lua, connections)
    if problems:
        raise WorkNotDone(f"calibration ({what}, wrk -c{connections}): " + "; ".join(problems))
    return lua, resources, None


def calibrate(target: Target, cores: int, demand_s: float = DEMAND_S) -> StoredCalibration:
    """Service time and CPU demand of one request on this server (docs/formats.md).

    The service time is the median latency of one connection alone; the CPU demand is the
    tree's CPU seconds per request with two connections per core, for up to `demand_s`
    (see the module's text).
    """
    settled, settle_s, processes = wait_settled(target.server.proc.pid, target.timeout_s)
    record = {"settled": settled, "settle_s": settle_s, "processes": processes}
    if target.check_s >= SLOW_S:
        return _single_request(target, record)
    alone, alone_resources, error = _wrk_phase(target, 1, SERVICE_S, ".service.json",
                                                    "service time")
    if error:
        return StoredCalibration(**record, error=f"service time: {error}")
    alone_cores = alone_resources.server_cpu_s / alone_resources.wall_s
    busy_connections = 2 * cores
    record["method"] = f"wrk -c1, then -c{busy_connections}"
    busy, resources, error = _wrk_phase(target, busy_connections, demand_s, ".demand.json",
                                         "CPU demand")
    if error:
        return StoredCalibration(**record, error=f"CPU demand: {error}")
    # wrk stops without waiting for its last answers: let the server finish them (a worker
    # blocked by one would otherwise hold back the first requests of the load). Queued
    # CPU work shows as a busy tree; a queue of waits needs its length in time.
    if alone_cores >= BUSY_CORES:
        record["drained"] = wait_settled(target.server.proc.pid, target.timeout_s)[0]
    else:
        time.sleep(min(busy_connections * alone.latency_s["p50"], DRAIN_MAX_S))
    return StoredCalibration(
        **record, requests=alone.requests, service_s=alone.latency_s["p50"],
        service_mean_s=alone.latency_s["mean"],
        cpu_alone_s=alone_resources.server_cpu_s / alone.requests,
        alone_server_cores=alone_cores,
        demand_connections=busy_connections, demand_requests=busy.requests,
        demand_duration_s=busy.duration_s,
        demand_split=resources.connections_per_process,
        cpu_demand_s=resources.server_cpu_s / busy.requests,
        demand_server_cores=resources.server_cpu_s / resources.wall_s,
        demand_wrk_cpu_s=resources.wrk_cpu_s)


def _single_request(target: Target, record: dict) -> StoredCalibration:
    """A slow request is calibrated by one more checked request, its CPU sampled around it."""
    with TreeSampler(target.server.proc.pid, target.server.port) as sampler:
        seconds = target.request_once()
    cpu = sampler.result().server_cpu_s
    return StoredCalibration(**record, method="single request", requests=1, service_s=seconds,
                             cpu_demand_s=cpu, demand_server_cores=cpu / seconds)
