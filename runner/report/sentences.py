"""The model's records in words: the limit that binds a row, the findings that explain a row
outside the band, and the method checks before a run.

The one place these sentences are written; the report shows them and the run loop prints
them and stores a capacity's limit with them, and nothing reads them back: what compares
a limit or a finding compares the record (runner/model/predict.py, runner/model/diagnose.py).
"""

from ..model.diagnose import Finding, FindingKind, PlanWarning, WarningKind
from ..model.predict import Limit, LimitKind
from ..terms import Concurrency
from ..units import format_seconds

UNEXPLAINED = "unexplained"

# how a worker that admits every connection it holds runs them
ADMISSION = {Concurrency.EVENT_LOOP: "its event loop",
             Concurrency.THREAD_PER_REQUEST: "a thread per request",
             Concurrency.TASK_PER_REQUEST: "a task per request"}


def plural(n: float, word: str) -> str:
    return f"{n:g} {word}{'' if n == 1 else 's'}"


def _beside(limit: Limit) -> str:
    return f"{limit.cores_left:.2g} of {limit.cores} cores left beside the load generator"


def _per_worker(limit: Limit) -> str:
    """A limit per worker: what one worker has, times the workers."""
    if limit.kind == LimitKind.REQUEST_THREADS and limit.admission == Concurrency.TASK_PER_REQUEST:
        what = f"{plural(limit.count, 'request')} at once, a task each"
    elif limit.kind == LimitKind.REQUEST_THREADS:
        what = ("one request at a time" if limit.count == 1
                else plural(limit.count, "request thread"))
    elif limit.kind == LimitKind.BLOCKED_LOOP:
        what = "the event loop, blocked by each request: 1 at a time"
    elif limit.kind == LimitKind.POOL:
        what = f"{limit.title}: {plural(limit.count, str(limit.pool_kind)[:-1])}"
    elif limit.kind == LimitKind.CONNECTION_POOL:
        what = f"{limit.title}: {plural(limit.count, 'connection')}"
    elif limit.kind == LimitKind.PROCESS_LOCK:
        what = f"one core per process ({limit.title or 'process-wide lock'})"
    elif limit.kind == LimitKind.LOOP_CORE:
        what = "one core per event loop"
    else:
        raise ValueError(f"no sentence for a limit of kind {limit.kind!r}")
    return f"{what} × {plural(limit.workers, 'worker')}"


def _split(limit: Limit) -> str:
    return f", connections split {'/'.join(map(str, limit.split))}" if limit.split else ""


def limit_words(limit: Limit) -> str:
    """The limit in a few words, for a verdict table ("anyio's thread limiter: 40 threads",
    "the GIL: 1 core a process × 2 workers"); limit_text says it in full."""
    kind, count = limit.kind, limit.count
    if kind == LimitKind.EVERY_CONNECTION:
        return "no cap: every connection"
    if kind == LimitKind.SERVICE_CONNECTIONS:
        return f"{limit.title}: {plural(count, 'connection')} in all"
    if kind in CORE_WORDS:
        return CORE_WORDS[kind](limit)
    if kind == LimitKind.REQUEST_THREADS:
        what = ("1 request at a time" if count == 1 else
                f"{count:g} tasks at once" if limit.admission == Concurrency.TASK_PER_REQUEST
                else plural(count, "request thread"))
    elif kind == LimitKind.BLOCKED_LOOP:
        what = "the event loop, blocked"
    elif kind == LimitKind.POOL:
        what = f"{limit.title}: {plural(count, str(limit.pool_kind)[:-1])}"
    elif kind == LimitKind.CONNECTION_POOL:
        what = f"{limit.title}: {plural(count, 'connection')}"
    elif kind == LimitKind.PROCESS_LOCK:
        what = f"{limit.title or 'a process-wide lock'}: 1 core a process"
    else:
        what = "1 core an event loop"
    return what + (f" × {limit.workers} workers" if limit.workers > 1 else "")


CORE_WORDS = {
    LimitKind.CORES_LEFT: lambda limit: f"cores: {limit.cores_left:.2g} left beside wrk",
    LimitKind.POOL_PROCESSES: lambda limit: f"cores: {plural(limit.count, 'pool process')}",
    LimitKind.RUNTIME_THREADS: lambda limit: f"cores: {limit.count:g} runtime threads",
    LimitKind.SHARED_CORES: lambda limit: f"cores, shared with {limit.title}",
}


def limit_text(limit: Limit) -> str:
    """The limit that binds a row, in plain words."""
    kind = limit.kind
    if kind == LimitKind.EVERY_CONNECTION:
        where = ADMISSION.get(limit.admission) if limit.admission else None
        return (f"none: every connection in service at once ({limit.count}"
                + (f", {where}" if where else "") + ")" + _split(limit))
    if kind == LimitKind.SERVICE_CONNECTIONS:
        return (f"{limit.title}: {plural(limit.count, 'connection')}"
                + (f" for all {limit.workers} workers" if limit.workers > 1 else ""))
    if kind == LimitKind.CORES_LEFT:
        return f"cores: {_beside(limit)}"
    if kind == LimitKind.POOL_PROCESSES:
        return f"cores: {plural(limit.count, 'pool process')} busy at once ({_beside(limit)})"
    if kind == LimitKind.RUNTIME_THREADS:
        return f"cores: the runtime runs {limit.count} threads at once ({_beside(limit)})"
    if kind == LimitKind.SHARED_CORES:
        return (f"cores: {_beside(limit)}, shared with {limit.title} at "
                f"{limit.service_cpu_s * 1000:.3g} ms of its CPU a request")
    return _per_worker(limit) + _split(limit)


def finding_text(finding: Finding) -> str:
    """One fact of a diagnosis, in plain words."""
    kind = finding.kind
    if kind == FindingKind.FEW_COMPLETIONS:
        counted = finding.completions
        return (f"only {counted:g} completions in the steady window: one more or fewer "
                f"moves the rate by {1 / counted:.0%}")
    if kind == FindingKind.SHARED_LOCK:
        interval = finding.switch_interval_s
        return (f"{finding.threads} runnable threads share "
                f"{finding.lock_title or 'one process-wide lock'}"
                + (f" (switch interval {interval * 1000:g} ms)" if interval else ""))
    if kind == FindingKind.CORES_USED:
        text = (f"the server used {finding.server_cores:.2f} cores of the "
                f"{finding.model_cores:.2g} the model gives it")
        if finding.p50_s is not None:
            text += (f", while a request took {format_seconds(finding.p50_s)} under load "
                     f"against {format_seconds(finding.service_s)} alone")
        return text
    if kind == FindingKind.MACHINE_FULL:
        return (f"the machine's {finding.cores} cores were "
                f"{finding.busy_cores / finding.cores:.0%} busy, "
                f"{finding.irq_cores:.2f} of them in interrupts")
    if kind == FindingKind.LATENCY_UNDER_LOAD:
        return (f"a request took {format_seconds(finding.p50_s)} under load against "
                f"{format_seconds(finding.service_s)} alone")
    if kind == FindingKind.IDLED_IN_CALIBRATION:
        return (f"under load the server kept {finding.server_cores:.2f} cores busy at "
                f"{finding.cpu_per_request_s * 1000:.3g} ms of CPU a request, shorter than "
                f"the {finding.held_s * 1000:.3g} ms a request held its place in "
                "calibration, where the server also idled while the client turned round")
    raise ValueError(f"no sentence for a finding of kind {kind!r}")


def cause_text(findings: list[Finding]) -> str:
    """A diagnosis in words: its findings, or "unexplained" when it has none."""
    return "; ".join(finding_text(f) for f in findings) if findings else UNEXPLAINED


def warning_text(warning: PlanWarning) -> str:
    """A method check before a run, in words (its level is the record's)."""
    load, kind = warning.load, warning.kind
    if kind == WarningKind.UNEVEN_CONNECTIONS:
        per_thread = load.connections // load.threads
        return (f"-c {load.connections} is not a multiple of -t {load.threads}: wrk opens "
                f"{per_thread} per thread, {per_thread * load.threads} in all")
    if kind == WarningKind.NOTHING_COMPLETES:
        return (f"one request takes {warning.service_s:g} s, the run lasts only "
                f"{load.duration_s:g} s: nothing could complete")
    if kind == WarningKind.TIMEOUT_BELOW_LATENCY:
        return (f"--timeout {load.timeout_s:g} s is below the expected latency "
                f"{warning.latency_s:.3g} s: slow answers count as timeouts and drop out "
                "of the latency figures")
    if kind == WarningKind.QUEUE_OUTLASTS_RUN:
        return (f"expected latency {warning.latency_s:.3g} s exceeds the {load.duration_s:g} s "
                f"run: requests still queued at the end never count "
                f"({limit_text(warning.limit)})")
    raise ValueError(f"no sentence for a warning of kind {kind!r}")
