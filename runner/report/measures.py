"""Numbers derived from one stored case: service time, the model, steady state, goodput,
resource use and the interference probe.

Pure functions over a stored case (runner/store/results.py, docs/formats.md); table.py puts
what they return into its row. Values are in base units (seconds, req/s, bytes, counts), or None
where the stored data cannot give them, with the reason in words where a reader needs it.
"""

from dataclasses import replace

from ..model.probe import align, summarize_probe
from ..config.kinds import MODELLED
from ..model.diagnose import Measured, diagnose
from ..model.predict import (BUSY_CORES, Execution, Facts, NoModel, Prediction, Server, busy_demand,
                     busy_occupancy, interpolate, pools_from_info, predict,
                     service_cap, steady_bounds, steady_state_rps, steady_window, unsteady)
from ..store.results import StoredCase, StoredRun, StoredWrk
from ..stats import median_or_none
from . import figures
from .sentences import cause_text, limit_text
from ..terms import Bound

# efficiency (steady req/s over the model's ceiling) outside this band is a disagreement
EFFICIENCY_BAND = (0.90, 1.10)
# wrk using this share of the cores it can use (min of its threads and the machine's
# cores) or more may be measuring itself rather than the server
WRK_SATURATION = 0.9

NO_MODEL = {
    "hello": "no model: per-request framework overhead",
    "json_large": "no model: per-request serialisation",
    "json_large_offloaded": "no model: per-request serialisation",
}
PROBE_KEYS = ("before_rps", "during_min_rps", "during_mean_rps", "after_rps",
              "longest_wait_s")


def calibrated(runs: list[StoredRun]) -> bool:
    return any(run.calibrated() for run in runs)


def declared(data: StoredCase) -> tuple[Execution, Server] | None:
    """Where the case's work runs and how its server admits requests, as recorded."""
    case = data.case
    if not case.execution or not case.concurrency:
        return None
    execution = case.execution.model_dump(include={"runs", "pool", "lock", "pool_title",
                                                   "via", "via_title", "lock_title"})
    return (Execution(**execution),
            Server(case.concurrency, case.workers or 1, case.threads))


def cpu_demand(data: StoredCase, runs: list[StoredRun]) -> float | None:
    """CPU seconds the server tree spent per request on a busy server (calibration), median
    of runs; None where the calibration left the server mostly idle (a wait)."""
    found = declared(data)
    facts = _facts(data, runs, None) if found else None
    return median_or_none([busy_demand(run.calibrated(), *(found or (None, None)), facts)
                           for run in runs])


def occupancy(data: StoredCase, runs: list[StoredRun]) -> float | None:
    """How long a request held its place in service under the calibration's queue (median
    of runs; model.busy_occupancy)."""
    found = declared(data)
    if not found:
        return None
    facts = _facts(data, runs, None)
    return median_or_none([busy_occupancy(run.calibrated(), *found, facts) for run in runs])


def cores_of(data: StoredCase) -> int | None:
    """The machine's cores as recorded with the case, else as the server reported them."""
    return data.environment.get("cores") or (data.info or {}).get("cpu_count")


def connections(data: StoredCase) -> int | None:
    """The load's connections, from the case's wrk settings."""
    return (data.wrk or {}).get("connections")


def service_cpu(runs: list[StoredRun]) -> tuple[float | None, str]:
    """(CPU seconds the services the server called spent per answer during the load, median
    of runs; their names): a database's and the upstream's share of the machine."""
    per, names = [], []
    for run in runs:
        services = {name: svc for name, svc in run.services.items() if svc.resources}
        answers = run.wrk.requests if run.wrk else None
        if services and answers:
            per.append(sum(svc.resources.cpu_s for svc in services.values()) / answers)
            names = [svc.title or name for name, svc in sorted(services.items())]
    return median_or_none(per), " and ".join(names) or "the services"


def wrk_cores(runs: list[StoredRun]) -> float | None:
    """Cores the load generator and the runner's own sampler used during the load, median
    of runs (the runner's share where it was recorded)."""
    return median_or_none([(res.wrk_cpu_s + (res.runner_cpu_s or 0)) / res.wall_s
                           for run in runs if (res := run.resources) and res.wall_s
                           and res.wrk_cpu_s is not None])


def _service_cap(run: StoredRun) -> tuple[int, str] | None:
    return service_cap({name: svc.model_dump() for name, svc in run.services.items()})


def _facts(data: StoredCase, runs: list[StoredRun], service_s: float | None) -> Facts:
    info = data.info or {}
    cores = cores_of(data)
    used = wrk_cores(runs)
    pools = pools_from_info(info)
    split = connection_split(runs)
    cap = min((found for run in runs if (found := _service_cap(run))),
              default=(None, "the service"))
    services_cpu, services_title = service_cpu(runs)
    return Facts(connections=connections(data), service_s=service_s,
                 cores=cores, cores_left=None if used is None else max(cores - used, 0.1),
                 pools=pools,
                 parallelism=info.get("parallelism"), split=tuple(split) if split else None,
                 service_connections=cap[0], service_title=cap[1],
                 service_cpu_s=services_cpu, service_cpu_title=services_title)


def window_cpu(run: StoredRun, service_s: float | None) -> tuple[float, float, int] | None:
    """(CPU seconds of the server tree, seconds, completions) over the steady window, where
    the tree's CPU was sampled over time; else over the whole run."""
    wrk, res = run.wrk, run.resources
    if res is None:
        return None
    bounds = steady_bounds(wrk.per_second, service_s)
    series, start = res.server_cpu_series, wrk.per_second_start
    if bounds and series and start is not None:
        first = interpolate(series, start + bounds[0])
        last = interpolate(series, start + bounds[1])
        if first is not None and last is not None:
            return last - first, bounds[1] - bounds[0], sum(wrk.per_second[slice(*bounds)])
    if res.server_cpu_s is None or not res.wall_s:
        return None
    return res.server_cpu_s, res.wall_s, wrk.requests or 0


def load_demand(run: StoredRun, service_s: float | None) -> float | None:
    """CPU seconds the server tree spent per completion during the load (window_cpu). None
    where the server mostly waited (under a quarter of a core): no cores bound then."""
    found = window_cpu(run, service_s)
    if not found or not found[2] or found[0] / found[1] < BUSY_CORES:
        return None
    return found[0] / found[2]


def demands(data: StoredCase, runs: list[StoredRun]) -> tuple[float | None, float | None]:
    """(CPU seconds a request cost in calibration, and in the load's steady seconds), each
    the median of runs."""
    return (cpu_demand(data, runs),
            median_or_none([load_demand(run, run.service_time()) for run in runs]))


def prediction(data: StoredCase, service_s: float | None,
               runs: list[StoredRun] | None = None) -> tuple[Prediction | None, str]:
    """The model's prediction for a case and its bottleneck text (why not, when None).

    The CPU a request costs is the load's own, counted over the seconds the rate is: this
    machine's speed drifts, at times by a fifth over tens of seconds (docs/formats.md,
    Calibration), so a cost calibrated before the load would judge the load by another
    machine."""
    kind = data.case.kind
    runs = data.measured_runs() if runs is None else runs
    if kind not in MODELLED:
        return None, NO_MODEL.get(kind, f"no model for {kind}")
    if not declared(data):
        return None, "no model: where the work runs is not recorded in this result"
    if not service_s:
        return None, "no model: no single-request service time recorded"
    if not connections(data) or not cores_of(data):
        return None, "no model: connections or core count not recorded"
    if not calibrated(runs):
        return None, "no model: no calibration recorded (a result from before calibration)"
    service_s = min(service_s, occupancy(data, runs) or service_s)
    before, loaded = demands(data, runs)
    if loaded and before:   # the request's CPU, at the load's speed
        service_s = max(service_s + loaded - before, loaded)
    facts = replace(_facts(data, runs, service_s), cpu_demand_s=loaded or before)
    try:
        found = predict(*declared(data), facts)
    except NoModel as exc:
        return None, f"no model: {exc}"
    return found, limit_text(found.limit)


def server_cores(data: StoredCase, runs: list[StoredRun]) -> float | None:
    """The cores a row without a model (hello) could use, from where its work runs: its
    workers, each one's lock or event loop, the runtime's threads; the machine's at most."""
    if not declared(data) or not connections(data) or not cores_of(data):
        return None
    facts = replace(_facts(data, runs, 1.0), cores_left=None)
    try:
        return predict(*declared(data), facts).parallel
    except NoModel:
        return None


def connection_split(runs: list[StoredRun]) -> list[int] | None:
    """Connections held per worker process, element-wise median over the repeats, where
    every repeat measured the same number of processes holding connections."""
    splits = [run.resources.connections_per_process if run.resources else None
              for run in runs]
    if not splits or any(not s for s in splits) or len({len(s) for s in splits}) != 1:
        return None
    return [int(median_or_none([s[i] for s in splits])) for i in range(len(splits[0]))]


def demand_note(data: StoredCase, runs: list[StoredRun],
                found: Prediction | None) -> str | None:
    """For a row the cores bind: the CPU one request cost under this load, against the
    calibration just before it where they differ by more than a tenth."""
    if found is None or found.bound != Bound.CORES:
        return None
    before, loaded = demands(data, runs)
    if not loaded:
        return None
    note = f"{loaded * 1000:.3g} ms of CPU a request under this load"
    if before and abs(loaded / before - 1) > 0.1:
        note += f" ({loaded / before - 1:+.0%} against calibration)"
    if found.runnable_per_process > 1:
        lock = data.case.execution.lock_title if data.case.execution else None
        note += f", {found.runnable_per_process} threads on {lock or 'one process-wide lock'}"
    return note


def measured_facts(data: StoredCase, runs: list[StoredRun],
                   service_s: float | None) -> Measured:
    """What diagnose() weighs against a row outside the band."""
    server_cores, per_request, p50, counted = [], [], [], []
    for run in runs:
        wrk = run.wrk
        window = steady_window(wrk.per_second, service_s)
        if window:
            counted.append(sum(window))
        used = window_cpu(run, service_s)
        if used:
            server_cores.append(used[0] / used[1])
            per_request.append(used[0] / used[2] if used[2] else None)
        p50.append(wrk.latency_s.get("p50"))
    machine = [(res.machine_busy_s / res.wall_s, (res.machine_irq_s or 0) / res.wall_s)
               for run in runs if (res := run.resources) and res.wall_s
               and res.machine_busy_s is not None]
    return Measured(machine_cores=median_or_none([busy for busy, _ in machine]),
                    machine_irq_cores=median_or_none([irq for _, irq in machine]),
                    cores=cores_of(data),
                    cpu_per_request_s=median_or_none(per_request),
                    server_cores=median_or_none(server_cores), service_s=service_s,
                    p50_s=median_or_none(p50), steady_completions=median_or_none(counted),
                    connections=connections(data),
                    switch_interval_s=(data.info or {}).get("lock_switch_interval_s"),
                    lock_title=data.case.execution.lock_title if data.case.execution else None)


def goodput(wrk: StoredWrk) -> float | None:
    """(completed − non-2xx − timed out) requests per second of one run."""
    if not wrk.duration_s or wrk.requests is None:
        return None
    good = wrk.requests - (wrk.errors.get("status") or 0) - (wrk.errors.get("timeout") or 0)
    return max(good, 0) / wrk.duration_s


def model_columns(data: StoredCase, runs: list[StoredRun]) -> dict:
    """Service time, steady state, ceiling, expected latency, efficiency and bottleneck: the
    binding limit and a disagreement's findings as records (`limit`, `findings`: None where
    none) beside their words (`bottleneck`, `cause`)."""
    service_s = median_or_none([run.service_time() for run in runs])
    steady = median_or_none([steady_state_rps(run.wrk.per_second, service_s)
                             for run in runs])
    found, bottleneck = prediction(data, service_s, runs)
    # each repeat against the ceiling calibrated on its own server just before its load:
    # the machine's speed drifts between repeats more than within one
    paired = []
    for run in runs:
        alone = prediction(data, run.service_time(), [run])[0]
        rate = steady_state_rps(run.wrk.per_second, run.service_time())
        if alone and rate is not None:
            paired.append((alone.ceiling_rps, rate / alone.ceiling_rps))
    ceiling = median_or_none([c for c, _ in paired]) if paired else (
        found.ceiling_rps if found else None)
    efficiency = median_or_none([e for _, e in paired]) if paired else None
    window_s = median_or_none([len(w) for run in runs
                               if (w := steady_window(run.wrk.per_second, service_s))])
    not_steady = unsteady(found, window_s) if found else None
    if not_steady:
        efficiency = None
    disagrees = efficiency is not None and not (
        EFFICIENCY_BAND[0] <= efficiency <= EFFICIENCY_BAND[1])
    errors = sum(sum(v for v in run.wrk.errors.values() if v) for run in runs)
    overhead = demand_note(data, runs, found)
    if overhead and bottleneck:
        bottleneck = f"{bottleneck}; {overhead}"
    findings = (diagnose(found, efficiency, measured_facts(data, runs, service_s))
                if disagrees else None)
    return {
        "service_s": service_s, "steady_rps": steady, "ceiling_rps": ceiling,
        "model_latency_s": found.latency_s if found else None,
        "efficiency": efficiency, "bottleneck": bottleneck if runs else None,
        "limit": found.limit if found and runs else None,
        "disagrees": disagrees, "unsteady": not_steady,
        "cause": cause_text(findings) if findings is not None else None,
        "findings": findings,
        "cpu_demand_s": cpu_demand(data, runs),
        "usable_cores": found.parallel if found else server_cores(data, runs),
        "good_rps": median_or_none([goodput(run.wrk) for run in runs]) if errors else None,
    }


def resource_columns(data: StoredCase, runs: list[StoredRun]) -> dict:
    """How many cores wrk could use (the fewer of its threads and the machine's cores), and
    whether it used nearly all of them in a repeat: then it may have set the rate."""
    busiest = figures.by_key("wrk_cores").combined(runs)
    wrk_threads = (data.wrk or {}).get("threads")
    cores = cores_of(data)
    usable = min(wrk_threads, cores) if wrk_threads and cores else None
    return {"wrk_usable_cores": usable,
            "wrk_saturated": bool(busiest is not None and usable
                                  and busiest >= WRK_SATURATION * usable)}


def timeline(run: StoredRun) -> dict | None:
    """The run's aligned probe timeline as stored, or aligned now from its two wrk results."""
    if run.timeline is not None:
        return run.timeline.model_dump()
    probe = run.probe.wrk.model_dump() if run.probe else None
    return align(probe, run.wrk.model_dump()) if isinstance(probe, dict) else None


def probe_columns(data: StoredCase, runs: list[StoredRun]) -> dict:
    """Medians over runs of the probe's rates before, during and after; the median run's
    probe timeline and the heavy load's window in seconds since the probe started."""
    summaries = [summarize_probe(line, run.probe.wrk.model_dump() if run.probe else {})
                 for run in runs if (line := timeline(run)) is not None]
    out = {f"probe_{key}": median_or_none([s[key] for s in summaries]) for key in PROBE_KEYS}
    # the median repeat by the probe's mean rate while the heavy load ran (the lower middle
    # of an even count; the first of equals); `first` names the timeline drawn
    lines = sorted([line for run in runs if (line := timeline(run)) is not None],
                   key=lambda line: summarize_probe(line, {})["during_mean_rps"] or 0.0)
    first = lines[(len(lines) - 1) // 2] if lines else None
    window = None
    if first and first.get("heavy_first") is not None:
        window = (first["heavy_first"], first["heavy_last"] + 1)
    elif first:  # no clock alignment stored: the planned timing is the best guess
        timing = data.case.timing or {}
        if timing.get("before_s") is not None and timing.get("during_s") is not None:
            window = (timing["before_s"], timing["before_s"] + timing["during_s"])
    out["probe_per_second"] = list(first["probe_per_second"]) if first else None
    out["heavy_window"] = window
    return out
