"""Where results live, how they are written and how they are read back: one JSON file per
case, replaced atomically, and a run.json per run. The one place that names the stored
formats, their versions and their history, as typed records: `StoredRunFile` (run.json),
`StoredCase` (a case file) and `StoredRun` (one measured repeat of a case).
The measuring side builds these records, `write_record` alone turns one into JSON (written
atomically), and `load_run`, `read_case`, `read_run_file` and `read_record` alone turn
JSON back into records; the reports and `compare` read only those.

Format history: version 1 (this one) is the first stored format. Fields added since, all
optional for a reader: case.label, case.execution, case.open, runs[].calibration,
runs[].points (open scenarios), resources.runner_cpu_s, stopped_early; case.settings and
case.tuned (limits a suite set); resources.server_cpu_series; case.services,
case.execution.via and via_title, runs[].services and environment.services (the database
and upstream of I/O kinds); resources.machine_busy_s and machine_irq_s. Typed records
(StoredCalibration, StoredWrkText, StoredProbe, StoredTimeline, StoredPoint) for what was
kept as mappings: the same JSON, no new version.
"""

import errno
import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import BenchError
from ..terms import ScenarioType, Status

FORMAT = "concbench.case"
RUN_FORMAT = "concbench.run"
VERSION = 1
VERSIONS = {1}   # the versions a reader of this code understands


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def case_slug(case_id: str) -> str:
    """A case id as a file name: sleep/go/net-http/sync_sleep -> sleep__go__net-http__sync_sleep."""
    return case_id.replace("/", "__")


def case_file(run_dir: Path, case_id: str) -> Path:
    return run_dir / (case_slug(case_id) + ".json")


FULL = {errno.ENOSPC, errno.EDQUOT}   # a full disk, or the user's quota on it
SPARE_DIR = "concbench-kept"           # under the system temp dir: records a full disk refused


class DiskFull(Exception):
    """A record could not be written: the disk (or quota) is full. The half-written
    temporary file is gone; `kept` is where the record was written instead (None if
    nowhere), so that the measurement is not lost."""

    def __init__(self, path: Path, reason: str, kept: Path | None):
        super().__init__(f"disk full writing {path}: {reason}")
        self.path, self.reason, self.kept = path, reason, kept


def write_json(path: Path, data: dict) -> None:
    """Write data so that a crash leaves either the old file or the new one, never half.
    A stored result is written with `write_record`. On a full disk the temporary file is
    removed, the data is written under the system temp dir if it fits there, and
    `DiskFull` says where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        _write_atomically(tmp, path, data)
    except OSError as exc:
        if exc.errno not in FULL:
            raise
        tmp.unlink(missing_ok=True)
        raise DiskFull(path, exc.strerror or str(exc), _keep_elsewhere(path, data)) from None


def _write_atomically(tmp: Path, path: Path, data: dict) -> None:
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _keep_elsewhere(path: Path, data: dict) -> Path | None:
    """The data written as <temp dir>/concbench-kept/<run folder>/<file name>, or None
    where that disk is full too."""
    spare = Path(tempfile.gettempdir()) / SPARE_DIR / path.parent.name / path.name
    try:
        spare.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(spare.with_name(f".{spare.name}.tmp"), spare, data)
    except OSError:
        spare.with_name(f".{spare.name}.tmp").unlink(missing_ok=True)
        return None
    return spare


# ---- the stored case file, field by field (docs/formats.md, "Stored results") ----
#
# What a case file may hold, as pydantic models: `validate_case` checks a stored file against
# them, and tests/test_formats.py checks every stored result in the repository against them
# and every field named here against docs/formats.md, so that neither drifts from the other.
# Free-form answers (/info, the environment's facts) are kept as mappings; so are wrk's
# latency and error counts inside StoredWrk, keyed by wrk's own names (p50, p99_9, connect).


class _Stored(BaseModel):
    # a field this reader does not know (written by a newer runner) is kept, not refused;
    # validate_case names it, so that the repository's own results never carry one
    model_config = ConfigDict(extra="allow")


class StoredExecution(_Stored):
    runs: str
    pool: str | None = None
    pool_title: str | None = None
    via: str | None = None
    via_title: str | None = None
    lock: str
    lock_title: str | None = None   # the lock as readers know it ("the GIL")


class StoredCaseFacts(_Stored):
    id: str
    scenario: str
    title: str | None = None
    type: ScenarioType = ScenarioType.LOAD
    impl: str
    language: str
    framework: str
    server: str
    server_label: str
    concurrency: str | None = None
    workers: int | None = None
    threads: int | None = None
    kind: str
    params: dict[str, int]
    path: str
    note: str | None = None
    server_note: str | None = None
    label: str | None = None
    execution: StoredExecution | None = None
    settings: dict[str, dict] = {}
    tuned: dict[str, Any] = {}
    services: dict[str, dict] = {}
    open: dict | None = None        # an open scenario's rates (suite.OpenLoad)
    probe: dict | None = None       # an interference scenario's probe: kind, path
    timing: dict | None = None      # an interference scenario's before_s, during_s, after_s


class StoredResources(_Stored):
    wall_s: float
    server_cpu_s: float | None = None
    server_rss_peak_bytes: int | None = None
    server_rss_mean_bytes: float | None = None
    server_processes_max: int = 0
    server_threads_max: int = 0
    wrk_cpu_s: float | None = None
    runner_cpu_s: float | None = None
    machine_busy_s: float | None = None
    machine_irq_s: float | None = None
    connections_per_process: list[int] = []
    samples: int = 0
    server_cpu_series: list[list[float]] = []


class StoredServiceUse(_Stored):
    cpu_s: float
    wall_s: float
    cores: float | None = None
    memory_end_bytes: int


class StoredService(_Stored):
    title: str
    version: str | None = None
    pid: int
    max_connections: int | None = None
    served: int | None = None
    resources: StoredServiceUse | None = None


class StoredCheck(_Stored):
    service_s: float | None = None
    latency_s: float | None = None


class StoredTiming(_Stored):
    start_and_check_s: float | None = None
    measure_s: float | None = None
    stop_s: float | None = None


class StoredCapacity(_Stored):
    rps: float | None = None
    bottleneck: str
    rates_relative_to: str


class StoredWrkThread(_Stored):
    """One wrk thread's answers, answers not 2xx, requests sent (None where not counted)
    and how long before the load's end its last answer came (or it started, if none)."""
    answered: int
    non_2xx: int = 0
    sent: int | None = None
    silent_s: float


class StoredWrkProof(_Stored):
    """The bodies wrk_report.lua matched against the proof's Lua patterns: one in `every`,
    how many were checked and failed, and the first failing body's start."""
    patterns: list[str]
    every: int
    checked: int
    failed: int
    sample: str | None = None


class StoredWrk(_Stored):
    """One load's figures from wrk's Lua report (runner.measure.wrkparse.parse_wrk_json)."""
    requests: int | None = None
    duration_s: float | None = None
    bytes: int | None = None
    rps: float | None = None
    latency_s: dict[str, float | None] = {}   # min, max, mean, stdev, p50 ... p99.99
    errors: dict[str, int | None] = {}        # connect, read, write, status, timeout
    per_second: list[int] = []                # completions in each second of the load
    per_second_start: int | None = None       # the first of those seconds, Unix time
    # what runner.measure.wrkcheck checks (absent from loads run before it existed):
    floor_s: float | None = None              # the wait one request must take, if any
    below_floor: int | None = None            # answers faster than floor_s
    threads: list[StoredWrkThread] | None = None
    proof: StoredWrkProof | None = None


class StoredWrkText(StoredWrk):
    """The same load's figures from wrk's text output (runner.measure.wrkparse.parse_wrk_text):
    the text has no completions per second, so `per_second` is null."""
    per_second: list[int] | None = None


class StoredCalibration(_Stored):
    """The service time and CPU demand of one request, measured on the fresh server just
    before its load (runner.measure.calibrate); a failed one holds `error`."""
    settled: bool
    settle_s: float
    processes: int
    method: str | None = None
    requests: int | None = None
    service_s: float | None = None
    service_mean_s: float | None = None
    cpu_alone_s: float | None = None
    alone_server_cores: float | None = None
    demand_connections: int | None = None
    demand_requests: int | None = None
    demand_duration_s: float | None = None
    demand_split: list[int] | None = None
    cpu_demand_s: float | None = None
    demand_server_cores: float | None = None
    demand_wrk_cpu_s: float | None = None
    drained: bool | None = None
    error: str | None = None


class StoredProbe(_Stored):
    """An interference case's probe: its own wrk run beside the heavy load."""
    wrk_argv: list[str]
    wrk: StoredWrk
    text: StoredWrkText | None = None
    text_raw: str | None = None
    disagreements: list[str] | None = None


class StoredTimeline(_Stored):
    """The probe's completions per second, and the buckets the heavy load covered
    (runner.model.probe.align); null where the two runs could not be lined up."""
    probe_per_second: list[int]
    heavy_first: int | None = None
    heavy_last: int | None = None


class StoredOpenLatency(_Stored):
    """An offered rate's latency, counted from each request's intended send time."""
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = None


class StoredPoint(_Stored):
    """One offered rate of an open case (runner.measure.openparse.summarize, then the runner
    adds when it started, vegeta's command line, the resources and the services)."""
    offered_rps: float
    requests: int
    sent_rps: float | None = None
    ok: int
    completed_rps: float
    errors: int
    timeouts: int
    failed_proof: int
    first_problem: str | None = None
    codes: dict[str, int] = {}
    latency_s: StoredOpenLatency
    late_p99_s: float | None = None
    late_max_s: float | None = None
    held_rate: bool
    in_flight_at_end: int
    max_in_flight: int
    started_at: str | None = None
    argv: list[str] = []
    resources: StoredResources | None = None
    services: dict[str, StoredService] = {}


class StoredRun(_Stored):
    index: int
    started_at: str
    server_argv: list[str]
    wrk_argv: list[str] | None = None
    check: StoredCheck
    timing: StoredTiming | None = None  # older results lack it
    calibration: StoredCalibration | None = None
    wrk: StoredWrk | None = None
    text: StoredWrkText | None = None
    text_raw: str | None = None
    disagreements: list[str] | None = None   # None: text and Lua were not compared
    resources: StoredResources | None = None
    services: dict[str, StoredService] = {}
    probe: StoredProbe | None = None            # interference
    timeline: StoredTimeline | None = None      # interference
    capacity: StoredCapacity | None = None      # open: the modelled capacity
    points: list[StoredPoint] = []              # open: one per offered rate

    def calibration_figures(self) -> StoredCalibration | None:
        """The calibration, or None where there is none or it failed."""
        found = self.calibration
        return found if found and not found.error else None

    def calibrated(self) -> dict:
        """The calibration's figures as stored, a mapping as the model reads them, or {}
        where there is none or it failed."""
        found = self.calibration_figures()
        return found.model_dump(exclude_unset=True) if found else {}

    def service_time(self) -> float | None:
        """One request alone on the fresh server: the lower of the calibration's median and
        the conformance requests' (`check.service_s`, or the older `latency_s`). Both are
        requests alone; a core that idles between them can run the next one slower, never
        faster."""
        check = self.check
        checked = check.service_s if check.service_s is not None else check.latency_s
        calibration = self.calibration_figures()
        found = [v for v in (calibration and calibration.service_s, checked) if v]
        return min(found) if found else None


class StoredOtherLoad(_Stored):
    """A process loading the machine during a case that was not the run's own: another
    run's load generator (wrk, vegeta) or another runner (runner.measure.env.other_load)."""
    pid: int
    name: str                           # wrk, vegeta or runner
    command: str                        # its command line, cut at 200 characters
    seen: list[str]                     # "start", "end": when the case saw it


class StoredCase(_Stored):
    format: Literal["concbench.case"]
    version: int
    suite: str
    run_id: str
    case: StoredCaseFacts
    wrk: dict | None = None             # the wrk settings (suite.WrkSettings.as_record)
    pinning: dict | None = None
    repeats: int | None = None          # older results lack it
    status: Status
    reason: str | None = None
    stopped_early: str | None = None
    info: dict | None = None            # the server's /info answer
    runs: list[StoredRun]
    environment: dict[str, Any]         # runner.measure.env.collect_environment
    other_load: list[StoredOtherLoad] = []   # seen at the case's start and end; older: none

    def measured_runs(self) -> list[StoredRun]:
        """The runs that produced a wrk result, in stored order."""
        return [run for run in self.runs if run.wrk and run.wrk.rps is not None]


class StoredRunFile(_Stored):
    """run.json: the suite as it was, the environment the run started in, the planned cases.
    A folder without a readable run.json still renders, from an empty one."""
    format: Literal["concbench.run"] = RUN_FORMAT
    version: int = VERSION
    suite: str | dict | None = None     # the suite's name (a mapping in the first results)
    run_id: str | None = None
    suite_file: str | None = None
    suite_text: str | None = None
    environment: dict[str, Any] | None = None   # runner.measure.env.collect_environment
    cases: list[str] = []
    started_at: str | None = None
    finished_at: str | None = None
    resumed_at: list[str] = []          # when each --resume of the run started
    resumed_finished_at: list[str] = []
    note: str | None = None
    synthetic: bool = False             # made by hand for tests, not measured


def _problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]


def _does_not_fit(exc: ValidationError) -> str:
    """A file's first departures from the format, on one line."""
    return "does not fit the format: " + "; ".join(_problems(exc)[:3])


def _extras(model: BaseModel, where: str = "") -> list[str]:
    """The fields of `model`, at any depth, that the format does not name."""
    found = [f"{where}{name}: not a field of the format" for name in model.model_extra or {}]
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = (value.items() if isinstance(value, dict)
                 else enumerate(value) if isinstance(value, list) else [(None, value)])
        for key, inner in items:
            if isinstance(inner, BaseModel):
                path = f"{where}{name}." + ("" if key is None else f"{key}.")
                found += _extras(inner, path)
    return found


def validate_case(data: object) -> list[str]:
    """Where a stored case file departs from the format, one line a problem (empty: none);
    a field the format does not name is a departure here, though a reader keeps it."""
    try:
        return _extras(StoredCase.model_validate(data))
    except ValidationError as exc:
        return _problems(exc)


# ---- records as JSON, and back ----

Record = TypeVar("Record", bound=BaseModel)


def record_json(record: BaseModel) -> dict:
    """A record as the JSON it is stored as. A field the record was not given stays out
    of the file (a field read from a file is given), so a stored file read and written
    back is the same JSON, and an absent field stays absent."""
    return record.model_dump(mode="json", exclude_unset=True)


def write_record(path: Path, record: BaseModel) -> None:
    """Store a record (a case file, run.json) atomically, as `write_json` writes."""
    write_json(path, record_json(record))


def read_record(path: Path, model: type[Record]) -> tuple[Record | None, str | None]:
    """A stored file as a record of `model`, or None and why it is not one."""
    data, problem = read_json(path)
    if problem:
        return None, problem
    try:
        return model.model_validate(data), None
    except ValidationError as exc:
        return None, _does_not_fit(exc)


# ---- reading a run folder ----

STATUSES = {Status.OK, Status.FAILED, Status.NA}   # a case file still running is not a result yet


def _check_header(data: object, expected_format: str) -> str | None:
    if not isinstance(data, dict):
        return f"expected a JSON object, found {type(data).__name__}"
    if data.get("format") != expected_format:
        return f"not a {expected_format} file (format {data.get('format')!r})"
    if data.get("version") not in VERSIONS:
        return (f"unknown version {data.get('version')!r} of {expected_format}; "
                f"this reader knows {', '.join(map(str, sorted(VERSIONS)))}")
    return None


def parse_case(data: object) -> tuple[StoredCase | None, str | None]:
    """A case file's JSON as a StoredCase, or why it is not one this reader can render."""
    problem = _check_header(data, FORMAT)
    if problem:
        return None, problem
    if data.get("status") not in STATUSES:
        return None, f"status {data.get('status')!r} is not one of ok, failed, na"
    try:
        return StoredCase.model_validate(data), None
    except ValidationError as exc:
        return None, _does_not_fit(exc)


def as_case(data: StoredCase | dict) -> StoredCase:
    """A stored case as its record; its JSON is validated (ValueError where it does not fit)."""
    if isinstance(data, StoredCase):
        return data
    found, problem = parse_case(data)
    if found is None:
        raise ValueError(problem)
    return found


def as_run(data: StoredRunFile | dict | None) -> StoredRunFile:
    """run.json as its record; None or {} (no usable run.json) as an empty one."""
    if isinstance(data, StoredRunFile):
        return data
    return StoredRunFile.model_validate({**(data or {}), "format": RUN_FORMAT,
                                         "version": (data or {}).get("version", VERSION)})


def read_json(path: Path) -> tuple[object, str | None]:
    """A file's JSON, or None and why it could not be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"not readable JSON ({exc})"


def read_case(path: Path) -> tuple[StoredCase | None, str | None]:
    """A case file as its record, or None and why it is not one this reader can render
    (a case still running is not one)."""
    data, problem = read_json(path)
    return (None, problem) if problem else parse_case(data)


def read_run_file(path: Path) -> tuple[StoredRunFile | None, str | None]:
    """run.json as its record, or None and why it is not one."""
    if not path.is_file():
        return None, "missing; the report has no environment or suite facts"
    data, problem = read_json(path)
    # run.json written before it carried a format tag is still accepted
    if problem is None and isinstance(data, dict) and "format" not in data:
        data = {**data, "format": RUN_FORMAT, "version": data.get("version", 1)}
    problem = problem or _check_header(data, RUN_FORMAT)
    if problem is None:
        try:
            return StoredRunFile.model_validate(data), None
        except ValidationError as exc:
            problem = _does_not_fit(exc)
    return None, problem


def _read_run_file(path: Path) -> tuple[StoredRunFile, str | None]:
    run, problem = read_run_file(path)
    if run is not None:
        return run, None
    return StoredRunFile(), problem if not path.is_file() else f"{problem}; skipped"


def load_run(run_dir: Path) -> tuple[StoredRunFile, list[StoredCase], list[str]]:
    """run.json, the case files in name order, and one line per file that was skipped.

    One corrupt, foreign or stray file never stops a report: it is named in `problems`
    and left out. A missing folder is the caller's mistake and raises BenchError.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BenchError("no such run folder", file=str(run_dir))
    run, problem = _read_run_file(run_dir / "run.json")
    problems = [f"{run_dir / 'run.json'}: {problem}"] if problem else []
    cases = []
    for path in sorted(run_dir.glob("*.json")):
        if path.name == "run.json":
            continue
        case, problem = read_case(path)
        if case is not None and run.run_id and case.run_id not in (None, run.run_id):
            case, problem = None, f"belongs to run {case.run_id}, not {run.run_id}"
        if case is None:
            problems.append(f"{path}: {problem}; skipped")
        else:
            cases.append(case)
    return run, cases, problems


RUN_ID = re.compile(r"\d{8}T\d{6}Z(-\d+)?")   # -2, -3: runs started in the same second


def claim_run_dir(base: Path, run_id: str) -> Path:
    """A new run folder `base/run_id` made here and now (`run_id-2`, ... where another run
    took that second's), so that two runs never write into one folder."""
    base.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = base / (run_id if n == 1 else f"{run_id}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise BenchError("no free run folder", file=str(base / run_id))


def latest_run_dir(raw_root: Path, suite: str) -> Path | None:
    """The newest run folder of `suite` under `raw_root` (run ids sort as UTC times)."""
    base = Path(raw_root) / suite
    runs = [p for p in base.iterdir() if p.is_dir() and RUN_ID.fullmatch(p.name)] \
        if base.is_dir() else []
    return max(runs, default=None,
               key=lambda p: (p.name[:16], int(p.name[17:] or 1)))   # ...Z-10 after ...Z-9


def stored_field_names() -> set[str]:
    """Every field name of the stored formats (run.json and a case file), at every level
    of the models above."""
    names: set[str] = set()
    todo: list[type[BaseModel]] = [StoredCase, StoredRunFile]
    while todo:
        model = todo.pop()
        for name, info in model.model_fields.items():
            names.add(name)
            for arg in [info.annotation, *getattr(info.annotation, "__args__", ())]:
                for inner in [arg, *getattr(arg, "__args__", ())]:
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        todo.append(inner)
    return names
