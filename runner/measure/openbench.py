"""Open scenarios: requests arrive at a fixed rate whatever the server does (vegeta), one
rate after another on one fresh, calibrated server, from below the modelled capacity to
above it; a row's sweep stops after the first rate that saturates it.

A closed loop (wrk) sends a connection's next request only after its answer, so a stalled
server simply receives fewer requests and its stall goes unmeasured. Here the latency
counts from each request's intended send time (runner.measure.openparse).
"""

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from .calibrate import Target, WorkNotDone, calibrate
from .check import check_answer
from .env import portable, utc_now
from ..model.predict import (OPEN_CONNECTIONS, Execution, Facts, NoModel, Server, busy_demand,
                    open_capacity, pools_from_info, saturated, service_cap)
from .openparse import OpenParseError, read_results, summarize
from .sampling import TreeSampler
from .services import Started, upstream_shortfall
from ..config.suite import Case
from ..store.results import StoredCalibration, StoredCapacity, StoredPoint, StoredService
from .vegeta import attack
from ..terms import Bound
from ..report.sentences import limit_text


class OpenFailed(Exception):
    """This row cannot be measured; the message says why."""


@dataclass(frozen=True)
class Opened:
    """What an open case's repeat measured: its calibration, the modelled capacity, one
    point per offered rate, and the services the server called (without their use)."""
    calibration: StoredCalibration
    capacity: StoredCapacity
    points: list[StoredPoint]
    services: dict[str, StoredService]


def capacity(case: Case, info: dict, calibration: StoredCalibration | None, cores: int,
             services: dict[str, StoredService] | None = None) -> tuple[float | None, str]:
    """(modelled capacity in req/s or None, the binding limit or why there is none);
    `services` is what the services the server calls recorded (their connection limits)."""
    service_s = calibration.service_s if calibration else None
    if not case.execution or not service_s:
        return None, "no model: no declaration or no calibration"
    execution = Execution(**case.execution)
    server = Server(case.concurrency, case.workers, case.threads)
    # at rates near its capacity an open load has few requests in flight: the cheaper of
    # one connection alone and two per core is what a request costs there
    cap = service_cap({name: svc.model_dump() for name, svc in (services or {}).items()})
    facts = Facts(1, service_s, cores, None, None, pools_from_info(info),
                  info.get("parallelism"), None, *(cap or (None, "the service")))
    demand = busy_demand(calibration.model_dump(exclude_unset=True), execution, server, facts)
    if demand and calibration.cpu_alone_s:
        demand = min(demand, calibration.cpu_alone_s)
    facts = replace(facts, cpu_demand_s=demand)
    try:
        found = open_capacity(execution, server, facts)
    except NoModel as exc:
        return None, f"no model: {exc}"
    if found.bound == Bound.REQUESTS and found.in_service >= OPEN_CONNECTIONS:
        return None, ("none: every request in service at once, and its CPU too small to "
                      "measure a cores bound")
    return found.ceiling_rps, limit_text(found.limit)


def offered_rates(settings: dict, capacity_rps: float | None) -> tuple[list[float], str]:
    """The rates to offer, in increasing order, and what they are relative to."""
    cap = settings["max_rate"]
    if settings.get("per_second"):
        return sorted(min(r, cap) for r in settings["per_second"]), "requests per second"
    if capacity_rps is None or capacity_rps > cap:
        base, relative = cap, f"the rate cap {cap:g}/s (capacity beyond it or unknown)"
    else:
        base, relative = capacity_rps, "the modelled capacity"
    # vegeta paces whole requests per period: a tenth of a request per second is the grain
    rates = sorted({max(0.1, round(f * base, 1)) for f in settings["of_capacity"]})
    return rates, relative


def measure_open(case: Case, target: Target, info: dict, services: Started) -> Opened:
    """Calibrate, then every offered rate on this server, stopping after the first that
    saturates it. `services` are the services the server calls: what an I/O answer is
    checked against (`proof`), and what each of them used at each rate (`metered`); the
    run names them in its own `services`."""
    cores = os.cpu_count() or 1
    try:
        calibration = calibrate(target, cores)
    except WorkNotDone as exc:
        raise OpenFailed(str(exc)) from None
    if calibration.error:
        raise OpenFailed(f"calibration failed: {calibration.error}")
    records = services.records()
    rps, bottleneck = capacity(case, info, calibration, cores, records)
    rates, relative = offered_rates(case.open, rps)
    points = []
    for rate in rates:
        point = _offer(case, target, rate, services)
        points.append(point)
        if target.server.proc.poll() is not None:
            raise OpenFailed(f"the server exited at {rate:g}/s with status "
                             f"{target.server.proc.returncode}")
        if saturated(point.model_dump(), calibration.service_s, case.open["knee"]):
            break
        time.sleep(0.2)   # the answers of this rate are all in: vegeta waited for them
    return Opened(calibration, StoredCapacity(rps=rps, bottleneck=bottleneck,
                                              rates_relative_to=relative), points, records)


def _offer(case: Case, target: Target, rate: float, services: Started) -> StoredPoint:
    """One rate for the scenario's duration, its answers checked: the rate's point."""
    server, open_settings = target.server, case.open
    started = utc_now()
    with services.metered() as used, TreeSampler(server.proc.pid, server.port) as sampler:
        done = attack(target.url, rate, open_settings["duration"], open_settings["timeout"],
                      Path(f"{target.prefix}.rate{rate:g}"))
    if done.results_jsonl is None:
        raise OpenFailed(f"vegeta exited with {done.returncode} at {rate:g}/s: "
                         f"{done.stderr.strip()[:300]}")
    try:
        results = read_results(done.results_jsonl)
        point = summarize(results, rate, open_settings["duration"],
                          lambda r: check_answer(
                              case.kind, case.params, r["code"], r["body"], r["latency_s"],
                              services.proof(r["sent"], r["sent"] + r["latency_s"])))
    except OpenParseError as exc:
        raise OpenFailed(f"cannot read vegeta's results at {rate:g}/s: {exc}") from None
    if point.failed_proof:
        raise OpenFailed(f"{point.failed_proof} answers at {rate:g}/s did not prove "
                         f"their work: {point.first_problem}")
    short = upstream_shortfall(used, point.ok, f"at {rate:g}/s")
    if short:
        raise OpenFailed(short)
    return point.model_copy(update={"started_at": started, "argv": portable(done.argv),
                                    "resources": sampler.result(),
                                    **({"services": used} if used else {})})
