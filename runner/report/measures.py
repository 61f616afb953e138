"""Numbers derived from one stored case: service time, the model, steady state, goodput,
resource use and the interference probe.

Pure functions over a case file as stored (docs/formats.md); table.py puts what they
return into its row. Values are in base units (seconds, req/s, bytes, counts), or None
where the stored data cannot give them, with the reason in words where a reader needs it.
"""

from ..interference import align, summarize_probe
from ..kinds import MODELLED
from ..model import (Execution, Facts, NoModel, Prediction, Server, busy_demand, diagnose,
                     pools_from_info, predict, steady_state_rps, steady_window)
from ..stats import median_or_none

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


def measured_runs(data: dict) -> list[dict]:
    """The runs that produced a wrk result, in stored order."""
    return [run for run in data.get("runs") or []
            if isinstance(run, dict) and (run.get("wrk") or {}).get("rps") is not None]


def _calibration(run: dict) -> dict:
    found = run.get("calibration")
    return found if isinstance(found, dict) and not found.get("error") else {}


def service_time(run: dict) -> float | None:
    """One request alone on the fresh server: the lower of the calibration's median and the
    conformance requests' (`check.service_s`, or the older `latency_s`). Both are requests
    alone; a core that idles between them can run the next one slower, never faster."""
    check = run.get("check") or {}
    checked = check.get("service_s")
    checked = check.get("latency_s") if checked is None else checked
    found = [v for v in (_calibration(run).get("service_s"), checked) if v]
    return min(found) if found else None


def calibrated(runs: list[dict]) -> bool:
    return any(_calibration(run) for run in runs)


def cpu_demand(runs: list[dict]) -> float | None:
    """CPU seconds the server tree spent per request on a busy server (calibration), median
    of runs; None where the calibration left the server mostly idle (a wait)."""
    return median_or_none([busy_demand(run.get("calibration")) for run in runs])


def cores_of(data: dict) -> int | None:
    """The machine's cores as recorded with the case, else as the server reported them."""
    return (data.get("environment") or {}).get("cores") or (data.get("info") or {}).get("cpu_count")


def wrk_cores(runs: list[dict]) -> float | None:
    """Cores the load generator and the runner's own sampler used during the load, median
    of runs (the runner's share where it was recorded)."""
    return median_or_none([(res["wrk_cpu_s"] + (res.get("runner_cpu_s") or 0)) / res["wall_s"]
                           for run in runs
                           if (res := run.get("resources") or {}).get("wall_s")
                           and res.get("wrk_cpu_s") is not None])


def _facts(data: dict, runs: list[dict], service_s: float | None) -> Facts:
    info = data.get("info") or {}
    cores = cores_of(data)
    used = wrk_cores(runs)
    pools = pools_from_info(info)
    split = connection_split(data)
    return Facts(connections=(data.get("wrk") or {}).get("connections"), service_s=service_s,
                 cores=cores, cores_left=None if used is None else max(cores - used, 0.1),
                 cpu_demand_s=cpu_demand(runs), pools=pools,
                 parallelism=info.get("parallelism"), split=tuple(split) if split else None)


def prediction(data: dict, service_s: float | None,
               runs: list[dict] | None = None) -> tuple[Prediction | None, str]:
    """The model's prediction for a case and its bottleneck text (why not, when None)."""
    case = data.get("case") or {}
    kind = case.get("kind")
    runs = measured_runs(data) if runs is None else runs
    if kind not in MODELLED:
        return None, NO_MODEL.get(kind, f"no model for {kind}")
    if not case.get("execution") or not case.get("concurrency"):
        return None, "no model: where the work runs is not recorded in this result"
    if not service_s:
        return None, "no model: no single-request service time recorded"
    if not (data.get("wrk") or {}).get("connections") or not cores_of(data):
        return None, "no model: connections or core count not recorded"
    if not calibrated(runs):
        return None, "no model: no calibration recorded (a result from before calibration)"
    execution = {k: v for k, v in case["execution"].items()
                 if k in ("runs", "pool", "lock", "pool_title")}
    server = Server(case["concurrency"], case.get("workers") or 1, case.get("threads"))
    try:
        found = predict(Execution(**execution), server, _facts(data, runs, service_s))
    except NoModel as exc:
        return None, f"no model: {exc}"
    return found, found.bottleneck


def connection_split(data: dict) -> list[int] | None:
    """Connections held per worker process, element-wise median over the repeats, where
    every repeat measured the same number of processes holding connections."""
    splits = [(run.get("resources") or {}).get("connections_per_process")
              for run in measured_runs(data)]
    if not splits or any(not s for s in splits) or len({len(s) for s in splits}) != 1:
        return None
    return [int(median_or_none([s[i] for s in splits])) for i in range(len(splits[0]))]


def contention(runs: list[dict], found: Prediction | None) -> str | None:
    """What the load's concurrency costs each request in CPU, against one connection alone,
    where it is more than a tenth: the overhead the CPU demand includes."""
    if found is None or found.bound != "cores":
        return None
    cals = [_calibration(run) for run in runs]
    alone = median_or_none([c.get("cpu_alone_s") for c in cals])
    loaded = cpu_demand(runs)
    connections = median_or_none([c.get("demand_connections") for c in cals])
    if not alone or not loaded or not connections or loaded < 1.1 * alone:
        return None
    why = (f" ({found.runnable_per_process} threads share one process-wide lock)"
           if found.runnable_per_process > 1 else "")
    return (f"with {connections:.0f} connections a request cost {loaded / alone - 1:+.0%} CPU "
            f"against one alone in calibration{why}")


def measured_facts(data: dict, runs: list[dict], service_s: float | None) -> dict:
    """What diagnose() weighs against a row outside the band."""
    per_request, server_cores, p50, counted = [], [], [], []
    for run in runs:
        res, wrk = run.get("resources") or {}, run["wrk"]
        window = steady_window(wrk.get("per_second"), service_s)
        if window:
            counted.append(sum(window))
        if res.get("server_cpu_s") and wrk.get("requests"):
            per_request.append(res["server_cpu_s"] / wrk["requests"])
        if res.get("server_cpu_s") is not None and res.get("wall_s"):
            server_cores.append(res["server_cpu_s"] / res["wall_s"])
        p50.append((wrk.get("latency_s") or {}).get("p50"))
    return {"cpu_per_request_s": median_or_none(per_request), "cpu_demand_s": cpu_demand(runs),
            "server_cores": median_or_none(server_cores), "service_s": service_s,
            "p50_s": median_or_none(p50), "steady_completions": median_or_none(counted),
            "switch_interval_s": (data.get("info") or {}).get("lock_switch_interval_s")}


def goodput(run_wrk: dict) -> float | None:
    """(completed − non-2xx − timed out) requests per second of one run."""
    errors = run_wrk.get("errors") or {}
    duration = run_wrk.get("duration_s")
    if not duration or run_wrk.get("requests") is None:
        return None
    good = run_wrk["requests"] - (errors.get("status") or 0) - (errors.get("timeout") or 0)
    return max(good, 0) / duration


def model_columns(data: dict, runs: list[dict]) -> dict:
    """Service time, steady state, ceiling, expected latency, efficiency and bottleneck."""
    service_s = median_or_none([service_time(run) for run in runs])
    steady = median_or_none([steady_state_rps(run["wrk"].get("per_second"), service_s)
                             for run in runs])
    found, bottleneck = prediction(data, service_s, runs)
    ceiling = found.ceiling_rps if found else None
    efficiency = steady / ceiling if steady is not None and ceiling else None
    disagrees = efficiency is not None and not (
        EFFICIENCY_BAND[0] <= efficiency <= EFFICIENCY_BAND[1])
    errors = sum(sum(v for v in (run["wrk"].get("errors") or {}).values() if v)
                 for run in runs)
    overhead = contention(runs, found)
    if overhead and bottleneck:
        bottleneck = f"{bottleneck}; {overhead}"
    return {
        "service_s": service_s, "steady_rps": steady, "ceiling_rps": ceiling,
        "model_latency_s": found.latency_s if found else None,
        "efficiency": efficiency, "bottleneck": bottleneck if runs else None,
        "disagrees": disagrees,
        "cause": (diagnose(found, efficiency, measured_facts(data, runs, service_s))
                  if disagrees else None),
        "cpu_demand_s": cpu_demand(runs),
        "good_rps": median_or_none([goodput(run["wrk"]) for run in runs]) if errors else None,
    }


def resource_columns(data: dict, runs: list[dict]) -> dict:
    """Server CPU, requests per CPU-second, peak RSS, processes, threads; wrk's cores."""
    pairs = [(run, run["resources"]) for run in runs if isinstance(run.get("resources"), dict)]
    per_cpu = [run["wrk"]["requests"] / res["server_cpu_s"] for run, res in pairs
               if res.get("server_cpu_s") and run["wrk"].get("requests") is not None]
    wrk_cores = [res["wrk_cpu_s"] / res["wall_s"] for _, res in pairs
                 if res.get("wrk_cpu_s") is not None and res.get("wall_s")]
    processes = [res["server_processes_max"] for _, res in pairs if res.get("server_processes_max")]
    threads = [res["server_threads_max"] for _, res in pairs if res.get("server_threads_max")]
    wrk_threads = (data.get("wrk") or {}).get("threads")
    cores = cores_of(data)
    usable = min(wrk_threads, cores) if wrk_threads and cores else None
    busiest = max(wrk_cores, default=None)
    return {
        "cpu_s": median_or_none([res.get("server_cpu_s") for _, res in pairs]),
        "req_per_cpu_s": median_or_none(per_cpu),
        "rss_peak_bytes": median_or_none([res.get("server_rss_peak_bytes") for _, res in pairs]),
        "processes_max": max(processes, default=None),
        "threads_max": max(threads, default=None),
        "wrk_cores": busiest, "wrk_usable_cores": usable,
        "wrk_saturated": bool(busiest is not None and usable
                              and busiest >= WRK_SATURATION * usable),
    }


def timeline(run: dict) -> dict | None:
    """The run's aligned probe timeline as stored, or aligned now from its two wrk results."""
    if isinstance(run.get("timeline"), dict):
        return run["timeline"]
    probe = (run.get("probe") or {}).get("wrk")
    return align(probe, run["wrk"]) if isinstance(probe, dict) else None


def probe_columns(data: dict, runs: list[dict]) -> dict:
    """Medians over runs of the probe's rates before, during and after; the first run's
    probe timeline and the heavy load's window in seconds since the probe started."""
    summaries = [summarize_probe(line, (run.get("probe") or {}).get("wrk") or {})
                 for run in runs if (line := timeline(run)) is not None]
    out = {f"probe_{key}": median_or_none([s[key] for s in summaries]) for key in PROBE_KEYS}
    first = next((line for run in runs if (line := timeline(run)) is not None), None)
    window = None
    if first and first.get("heavy_first") is not None:
        window = (first["heavy_first"], first["heavy_last"] + 1)
    elif first:  # no clock alignment stored: the planned timing is the best guess
        timing = (data.get("case") or {}).get("timing") or {}
        if timing.get("before_s") is not None and timing.get("during_s") is not None:
            window = (timing["before_s"], timing["before_s"] + timing["during_s"])
    out["probe_per_second"] = list(first["probe_per_second"]) if first else None
    out["heavy_window"] = window
    return out
