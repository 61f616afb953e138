"""What the model says beside its ceiling: the measured facts that explain a row outside the
band (`diagnose`), and the method checks before a run (`plan_warnings`).

Both return records, a kind with its numbers; runner/report/sentences.py says them in
words. Like the rest of the model this names no endpoint kind, framework or language.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .predict import Execution, Facts, Limit, NoModel, Prediction, Server, predict
from ..terms import Bound


class FindingKind(StrEnum):
    """A measured fact that explains a row's efficiency."""
    FEW_COMPLETIONS = "few-completions"     # the steady rate was counted from few answers
    SHARED_LOCK = "shared-lock"             # runnable threads share one process-wide lock
    CORES_USED = "cores-used"               # the server used other cores than the model's
    MACHINE_FULL = "machine-full"           # the machine's cores were all busy
    LATENCY_UNDER_LOAD = "latency-under-load"   # a request took longer or shorter than alone
    IDLED_IN_CALIBRATION = "idled-in-calibration"   # a request held its place longer alone


@dataclass(frozen=True)
class Finding:
    """One fact of a diagnosis with its numbers; the fields its kind does not use are None."""
    kind: FindingKind
    completions: float | None = None        # FEW_COMPLETIONS: those counted
    threads: int | None = None              # SHARED_LOCK: runnable threads in one process
    switch_interval_s: float | None = None  # SHARED_LOCK: the lock's, where reported
    lock_title: str | None = None           # SHARED_LOCK: the lock as readers know it
    server_cores: float | None = None       # CORES_USED, IDLED_IN_CALIBRATION: the server's
    model_cores: float | None = None        # CORES_USED: the cores the model gives it
    p50_s: float | None = None              # LATENCY_UNDER_LOAD; CORES_USED if it waited
    service_s: float | None = None          # likewise: one request alone
    cores: int | None = None                # MACHINE_FULL: the machine's cores,
    busy_cores: float | None = None         # how many of them were busy,
    irq_cores: float | None = None          # and how many in interrupts
    cpu_per_request_s: float | None = None  # IDLED_IN_CALIBRATION: under load,
    held_s: float | None = None             # against a request's place in calibration


@dataclass(frozen=True)
class Measured:
    """What a run recorded, weighed against a row outside the band (None: not recorded)."""
    server_cores: float | None = None       # the server tree, over the steady seconds
    cpu_per_request_s: float | None = None  # the server's CPU per answer there
    machine_cores: float | None = None      # the whole machine kept busy over the load
    machine_irq_cores: float | None = None  # of those, in interrupts
    cores: int | None = None                # the machine's
    switch_interval_s: float | None = None  # of the process-wide lock, where reported
    lock_title: str | None = None           # that lock as readers know it ("the GIL")
    service_s: float | None = None          # one request alone
    p50_s: float | None = None              # under load
    connections: int | None = None
    steady_completions: float | None = None  # the completions the steady rate counts


def _queued(prediction: Prediction, measured: Measured) -> bool:
    """Whether requests queued before the places in service: with every place busy and no
    queue, a request's time under load is its service time."""
    connections = measured.connections
    return prediction.in_service < (prediction.in_service if connections is None
                                    else connections)


def _few_completions(prediction: Prediction, efficiency: float,
                     measured: Measured) -> Finding | None:
    # whole requests in whole-second buckets: one more or fewer in the window moves a
    # slow row's rate by 1/n
    counted = measured.steady_completions
    if counted and abs(efficiency - 1) <= 1.5 / counted + 0.1:
        return Finding(FindingKind.FEW_COMPLETIONS, completions=counted)
    return None


def _shared_lock(prediction: Prediction, efficiency: float,
                 measured: Measured) -> Finding | None:
    if prediction.runnable_per_process > 1 and efficiency < 1:
        return Finding(FindingKind.SHARED_LOCK, threads=prediction.runnable_per_process,
                       switch_interval_s=measured.switch_interval_s,
                       lock_title=measured.lock_title)
    return None


def _cores_used(prediction: Prediction, efficiency: float,
                measured: Measured) -> Finding | None:
    used, service, p50 = measured.server_cores, measured.service_s, measured.p50_s
    if prediction.bound != Bound.CORES or used is None or not prediction.parallel:
        return None
    share = used / prediction.parallel
    if abs(share - 1) <= 0.1:
        return None
    # cores left idle while requests took longer than alone: they waited on something
    # other than CPU or the model's limit (the README's findings name one such case, and
    # what caused it); the finding then carries both times
    waited = bool(share < 0.9 and service and p50 and p50 > 1.1 * service
                  and not _queued(prediction, measured))
    return Finding(FindingKind.CORES_USED, server_cores=used, model_cores=prediction.parallel,
                   p50_s=p50 if waited else None, service_s=service if waited else None)


def _machine_full(prediction: Prediction, efficiency: float,
                  measured: Measured) -> Finding | None:
    # the machine was full: what the server lacked went to other processes or to the
    # kernel (interrupts for the network are charged to no process)
    busy, cores = measured.machine_cores, measured.cores
    if busy is not None and cores and efficiency < 0.9 and busy >= 0.9 * cores:
        return Finding(FindingKind.MACHINE_FULL, cores=cores, busy_cores=busy,
                       irq_cores=measured.machine_irq_cores or 0)
    return None


def _latency_under_load(prediction: Prediction, efficiency: float,
                        measured: Measured) -> Finding | None:
    # where a request's time is not its service time, the requests in service were
    # slower (or faster) than one alone
    service, p50 = measured.service_s, measured.p50_s
    if (prediction.bound == Bound.REQUESTS and service and p50
            and not _queued(prediction, measured)
            and abs(p50 / service - 1) > 0.1 and (p50 < service) == (efficiency > 1)):
        return Finding(FindingKind.LATENCY_UNDER_LOAD, p50_s=p50, service_s=service)
    return None


def _idled_in_calibration(prediction: Prediction, efficiency: float,
                          measured: Measured) -> Finding | None:
    # requests that are all CPU keep their cores busy under a queue; one connection alone,
    # or a few, also leave the server idle while the client turns round
    used, under, held = measured.server_cores, measured.cpu_per_request_s, prediction.round_s
    if (prediction.bound == Bound.REQUESTS and efficiency > 1 and under and used
            and under < 0.95 * held and used >= 0.9 * min(prediction.in_service,
                                                          prediction.parallel or 1)):
        return Finding(FindingKind.IDLED_IN_CALIBRATION, server_cores=used,
                       cpu_per_request_s=under, held_s=held)
    return None


# in the order a diagnosis lists them
CHECKS: tuple[Callable[[Prediction, float, Measured], Finding | None], ...] = (
    _few_completions, _shared_lock, _cores_used, _machine_full, _latency_under_load,
    _idled_in_calibration)


def diagnose(prediction: Prediction, efficiency: float, measured: Measured) -> list[Finding]:
    """The measured facts that explain a row outside the band; none: unexplained."""
    found = (check(prediction, efficiency, measured) for check in CHECKS)
    return [finding for finding in found if finding is not None]


class Level(StrEnum):
    WARNING = "warning"   # the run goes ahead
    ERROR = "error"       # the run is refused


class WarningKind(StrEnum):
    UNEVEN_CONNECTIONS = "uneven-connections"     # -c is not a multiple of -t
    NOTHING_COMPLETES = "nothing-completes"       # one request outlasts the run
    TIMEOUT_BELOW_LATENCY = "timeout-below-latency"
    QUEUE_OUTLASTS_RUN = "queue-outlasts-run"     # the expected latency exceeds the run


@dataclass(frozen=True)
class LoadPlan:
    """A closed load's settings: wrk's threads and connections, the run's length and
    wrk's timeout."""
    threads: int
    connections: int
    duration_s: float
    timeout_s: float


@dataclass(frozen=True)
class PlanWarning:
    """A method check before a run, with its numbers."""
    level: Level
    kind: WarningKind
    load: LoadPlan
    service_s: float | None = None      # NOTHING_COMPLETES: one request alone
    latency_s: float | None = None      # TIMEOUT_BELOW_LATENCY, QUEUE_OUTLASTS_RUN: expected
    limit: Limit | None = None          # QUEUE_OUTLASTS_RUN: what binds


def plan_warnings(execution: Execution | None, server: Server, load: LoadPlan,
                  service_s: float | None, cores: int) -> list[PlanWarning]:
    """Method checks before a run.

    Only a wait has a service time known in advance; a pool whose size the server reports
    only at run time has no ceiling yet, so it gets no latency warning here.
    """
    out = []
    if load.connections % load.threads:
        out.append(PlanWarning(Level.WARNING, WarningKind.UNEVEN_CONNECTIONS, load))
    if service_s is None:
        return out
    if service_s >= load.duration_s:
        out.append(PlanWarning(Level.ERROR, WarningKind.NOTHING_COMPLETES, load, service_s))
        return out
    if execution is None:
        return out
    try:
        prediction = predict(execution, server, Facts(load.connections, service_s, cores))
    except NoModel:
        return out
    if load.timeout_s < prediction.latency_s:
        out.append(PlanWarning(Level.WARNING, WarningKind.TIMEOUT_BELOW_LATENCY, load,
                               latency_s=prediction.latency_s))
    if prediction.latency_s > load.duration_s:
        out.append(PlanWarning(Level.WARNING, WarningKind.QUEUE_OUTLASTS_RUN, load,
                               latency_s=prediction.latency_s, limit=prediction.limit))
    return out
