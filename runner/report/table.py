"""Stored cases (runner/store/results.py) -> one table of numbers, the single source every report
format and `compare` read.

Each row is one case file: its identity and status, the number of measured repeats (runs
with a wrk result), the spread of req/s over them, the median of each latency statistic
over them, wrk's error counters summed over them, and what measures.py derives (the
model, steady state, goodput, resources, the interference probe). Values stay in base
units (seconds, counts, fractions); formatting for people is the view's job. Numbers come
from each run's `wrk` dict, written by wrk's Lua `done()` hook: it has every statistic,
where the parsed text output lacks the minimum and the percentiles above p99.
"""

import re
from dataclasses import dataclass, field, fields

from ..config.kinds import KINDS
from ..model.predict import steady_state_rps
from ..store.results import StoredCase, StoredRunFile, as_case
from ..stats import median_or_none, summarize
from . import describe, measures, openload
from .figures import FIGURES, Figure, Place, Unit, placed
from ..model.diagnose import Finding
from ..model.predict import Limit
from ..terms import ScenarioType, Status

@dataclass(slots=True)
class CaseRow:
    """One case of a report, in base units (seconds, req/s, bytes, counts, fractions);
    None where the stored case cannot give a value. Formatting for people is cells.py's."""
    # which case: its identity as stored, and as a reader names it
    id: str = ""
    scenario: str = ""
    title: str = ""
    type: ScenarioType = ScenarioType.LOAD
    impl: str = ""
    server_label: str = ""
    server_type: str = ""
    server_text: str = ""           # the server as its argv ran: "gunicorn, 2 uvicorn workers"
    kind: str = ""
    params: str = ""                # "ms=1000"
    label: str = ""                 # the endpoint as a developer says it
    note: str | None = None
    status: Status = Status.OK
    reason: str | None = None
    workers: int | None = None
    threads: int | None = None
    tuned: dict = field(default_factory=dict)      # the settings a suite changed: name -> value
    settings: dict = field(default_factory=dict)   # those settings as the manifest declares them
    pools: dict = field(default_factory=dict)      # pool name -> size, as /info reported
    waits_in: dict = field(default_factory=dict)   # the pools its requests wait in -> size
    admits: str | None = None       # what one worker takes on at once, as it ran
    at_once: int | None = None      # what the server takes on at once (None: every connection)
    probe: str | None = None        # an interference scenario's probe: its path
    via_title: str | None = None    # the connection pool a request waits in, and its size
    via_size: int | None = None
    checks: list[str] = field(default_factory=list)   # wrk's text and Lua report disagreeing
    session: int | None = None      # index of the session that measured it (describe.sessions)
    # the load: wrk's rate over the repeats with a result
    runs: int = 0
    duration_s: float | None = None
    rps_median: float | None = None
    rps_min: float | None = None
    rps_max: float | None = None
    rps_cv: float | None = None
    rps_too_wide: bool = False
    wrk_duration_s: float | None = None
    heavy_requests: int | None = None
    per_second: list[int] | None = None            # the median repeat's completions a second
    repeat_rps: list[float] = field(default_factory=list)
    repeat_steady: list[float] | None = None       # each repeat's steady rate, if all have one
    repeats: dict[str, list] = field(default_factory=dict)   # compare's figures, per repeat
    figures: dict[str, float | None] = field(default_factory=dict)   # every declared figure
    # the model
    service_s: float | None = None
    steady_rps: float | None = None
    ceiling_rps: float | None = None
    model_latency_s: float | None = None
    efficiency: float | None = None
    bottleneck: str | None = None   # the limit in words (sentences.py)
    limit: Limit | None = None
    disagrees: bool = False
    unsteady: str | None = None
    cause: str | None = None        # the findings in words
    findings: list[Finding] | None = None
    cpu_demand_s: float | None = None
    usable_cores: float | None = None   # the cores the model gives the work at once
    good_rps: float | None = None
    wrk_usable_cores: int | None = None
    wrk_saturated: bool = False
    # an interference scenario's probe
    probe_before_rps: float | None = None
    probe_during_min_rps: float | None = None
    probe_during_mean_rps: float | None = None
    probe_after_rps: float | None = None
    probe_longest_wait_s: float | None = None
    probe_per_second: list[int] | None = None
    heavy_window: tuple | None = None
    # an open scenario's
    open_knee: openload.Knee | None = None
    open_points: list[openload.OpenPoint] | None = None

    def of(self, figure: Figure) -> float | None:
        """The row's value of a declared figure."""
        return self.figures.get(figure.key)

    def flat(self) -> dict:
        """The row as one mapping, each declared figure under its key (for pandas)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "figures"}
        return {**out, **self.figures}


COLUMNS = [f.name for f in fields(CaseRow) if f.name != "figures"] + [f.key for f in FIGURES]
FLOATS = (["duration_s", "service_s", "steady_rps", "ceiling_rps", "model_latency_s",
           "efficiency", "good_rps"]
          + [f.key for f in FIGURES if f.unit not in (Unit.COUNT,)]
          + [f"probe_{key}" for key in measures.PROBE_KEYS])


def format_params(params: dict | None) -> str:
    """{'ms': 1000} -> 'ms=1000'."""
    return " ".join(f"{key}={value}" for key, value in (params or {}).items())


def _waits_in(data: StoredCase) -> dict[str, int | None]:
    """The pools a request of this case waits in (its work's pool, the connection pool it
    waits in), by their titles, with the size /info reported (None: no cap)."""
    execution = data.case.execution
    reported = (data.info or {}).get("pools") or {}
    if execution is None:
        return {}
    named = [(n, t) for n, t in ((execution.pool, execution.pool_title),
                                 (execution.via, execution.via_title)) if n]
    return {title or name: (reported.get(name) or {}).get("size") for name, title in named}


def _via(data: StoredCase) -> dict:
    execution = data.case.execution
    if execution is None or not execution.via:
        return {}
    reported = ((data.info or {}).get("pools") or {}).get(execution.via) or {}
    return {"via_title": execution.via_title or execution.via, "via_size": reported.get("size")}


def compute_row(data: StoredCase) -> CaseRow:
    """One stored case -> its row."""
    case = data.case
    runs = data.measured_runs()
    measured = [run.wrk for run in runs]
    rps = summarize([w.rps for w in measured])
    row = CaseRow(**{
        "scenario": case.scenario, "title": case.title or case.scenario, "type": case.type,
        "impl": case.impl, "server_label": case.server_label, "kind": case.kind,
        "params": format_params(case.params), "status": data.status, "reason": data.reason,
        "runs": len(measured),  # repeats that produced a wrk result
        "duration_s": (data.wrk or {}).get("duration_s"),
        "rps_median": rps.median, "rps_min": rps.min, "rps_max": rps.max, "rps_cv": rps.cv,
        "rps_too_wide": rps.too_wide,
        "note": describe.endpoint_note(data), "id": case.id,
        "label": describe.endpoint_label(data), "server_text": describe.server_text(data),
        "server_type": case.server, "workers": case.workers, "session": None,
        "tuned": case.tuned, "threads": case.threads, "settings": case.settings,
        "pools": {name: pool.get("size") for name, pool in
                  ((data.info or {}).get("pools") or {}).items() if isinstance(pool, dict)},
        "waits_in": _waits_in(data), "admits": describe.admits(data),
        "at_once": describe.at_once(data),
        "probe": (case.probe or {}).get("path"), **_via(data),
        "checks": describe.disagreements(data),
        "wrk_duration_s": median_or_none([w.duration_s for w in measured]),
        "heavy_requests": sum(w.requests or 0 for w in measured) if measured else None,
        # the median repeat by req/s (the lower middle of an even count; the first of equals)
        "per_second": list(sorted(measured, key=lambda w: w.rps)[(len(measured) - 1) // 2]
                           .per_second) if measured else None,
        **measures.model_columns(data, runs), **measures.resource_columns(data, runs),
        **measures.probe_columns(data, runs),
        "open_knee": openload.knee(data) if case.type == ScenarioType.OPEN else None,
        "open_points": openload.points(data) if case.type == ScenarioType.OPEN else None,
        # each repeat's own figures, for `compare`'s ranges
        "repeat_rps": [w.rps for w in measured],
        # and of each figure `compare` sets side by side
        "repeats": {f.key: [f.read(run) for run in runs] for f in placed(Place.COMPARE)},
        "figures": {f.key: f.combined(runs) for f in FIGURES},
    })
    # each repeat's steady rate, by the row's service time; None unless every repeat has one
    steady = [steady_state_rps(w.per_second, row.service_s) for w in measured]
    row.repeat_steady = steady if measured and None not in steady else None
    return row


def _natural(text: str | None) -> tuple:
    # "gunicorn-sync-w5" before "gunicorn-sync-w17", as a reader expects
    return tuple(int(part) if part.isdigit() else part
                 for part in re.split(r"(\d+)", text or ""))


def _kind_order(kind: str | None) -> tuple:
    # kinds in the contract's order (runner.config.kinds), unknown ones after, by name
    order = list(KINDS)
    return (order.index(kind), "") if kind in order else (len(order), kind or "")


def compute_rows(cases: list[StoredCase] | list[dict],
                 found: list[describe.Session] | None = None) -> list[CaseRow]:
    """One row per stored case file, ordered for reading; no pandas.

    Order: scenarios as first seen in `cases`, then implementation, server label and
    endpoint kind (names compared naturally, kinds in the contract's order), then params.
    Each row's `session` is its index in `found`, the sessions that measured the same
    cases (`describe.sessions`, computed here when not given).
    """
    cases = [as_case(c) for c in cases]   # JSON is validated into records
    if found is None:
        found = describe.sessions(StoredRunFile(), cases)
    rows = []
    for data in cases:
        row = compute_row(data)
        row.session = describe.session_of(data, found)
        rows.append(row)
    # two endpoints an implementation says the same way (Go's time.Sleep serves both
    # waits) are told apart by their kind
    names: dict[tuple, int] = {}
    for row in rows:
        key = (row.scenario, row.impl, row.server_label, row.label)
        names[key] = names.get(key, 0) + 1
    for row in rows:
        if names[(row.scenario, row.impl, row.server_label, row.label)] > 1:
            row.label = f"{row.label} ({row.kind})"
    scenarios = list(dict.fromkeys(row.scenario for row in rows))
    rows.sort(key=lambda r: (scenarios.index(r.scenario), _natural(r.impl),
                             _natural(r.server_label), _kind_order(r.kind),
                             _natural(r.params)))
    return rows


def build_rows(cases: list[dict]):
    """compute_rows as a pandas DataFrame with typed columns (for analysis and tests)."""
    import pandas as pd  # only here: the report itself never needs pandas
    frame = pd.DataFrame([row.flat() for row in compute_rows(cases)], columns=COLUMNS)
    counts = [c for c in COLUMNS if c.startswith("err_")]
    floats = [c for c in COLUMNS if c.startswith(("rps_", "lat_")) and c != "rps_too_wide"]
    return frame.astype({**{c: "Int64" for c in counts + ["processes_max", "threads_max",
                                                          "wrk_usable_cores"]},
                         **{c: "float64" for c in floats + FLOATS},
                         "runs": "int64", "rps_too_wide": "bool", "disagrees": "bool",
                         "wrk_saturated": "bool"})
