"""Where results live and how they are written: one JSON file per case, replaced atomically,
and a run.json per run. The one place that names the stored formats and their versions.

Format history: version 1 (this one) is the first stored format. Fields added since, all
optional for a reader: case.label, case.execution, case.open, runs[].calibration,
runs[].points (open scenarios), resources.runner_cpu_s, stopped_early; case.settings and
case.tuned (limits a suite set); resources.server_cpu_series; case.services,
case.execution.via and via_title, runs[].services and environment.services (the database
and upstream of I/O kinds); resources.machine_busy_s and machine_irq_s.
"""

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

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


def write_json(path: Path, data: dict) -> None:
    """Write data so that a crash leaves either the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


# ---- the stored case file, field by field (docs/formats.md, "Stored results") ----
#
# What a case file may hold, as pydantic models: `validate_case` checks a stored file against
# them, and tests/test_formats.py checks every stored result in the repository against them
# and every field named here against docs/formats.md, so that neither drifts from the other.
# Shapes that a parser owns (wrk's and vegeta's figures, the calibration, /info, the
# environment's tool versions) are kept as mappings here and documented with their parser.


class _Stored(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoredExecution(_Stored):
    runs: str
    pool: str | None = None
    pool_title: str | None = None
    via: str | None = None
    via_title: str | None = None
    lock: str


class StoredCaseFacts(_Stored):
    id: str
    scenario: str
    title: str | None = None
    type: Literal["load", "interference", "open"] = "load"
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


class StoredRun(_Stored):
    index: int
    started_at: str
    server_argv: list[str]
    wrk_argv: list[str] | None = None
    check: StoredCheck
    timing: StoredTiming | None = None  # older results lack it
    calibration: dict | None = None     # runner.calibrate
    wrk: dict | None = None             # runner.wrkparse.parse_wrk_json
    text: dict | None = None            # runner.wrkparse.parse_wrk_text
    text_raw: str | None = None
    disagreements: list[str] = []
    resources: StoredResources | None = None
    services: dict[str, StoredService] = {}
    probe: dict | None = None           # interference: the probe's wrk_argv, wrk, text, ...
    timeline: dict | None = None        # interference: runner.interference.align
    capacity: StoredCapacity | None = None   # open: the modelled capacity
    points: list[dict] = []             # open: one per offered rate (runner.openparse)


class StoredCase(_Stored):
    format: Literal["concbench.case"]
    version: int
    suite: str
    run_id: str
    case: StoredCaseFacts
    wrk: dict | None = None             # the wrk settings (suite.WrkSettings.as_record)
    pinning: dict | None = None
    repeats: int | None = None          # older results lack it
    status: Literal["running", "ok", "failed", "na"]
    reason: str | None = None
    stopped_early: str | None = None
    info: dict | None = None            # the server's /info answer
    runs: list[StoredRun]
    environment: dict[str, Any]         # runner.env.collect_environment


def validate_case(data: object) -> list[str]:
    """Where a stored case file departs from the format, one line a problem (empty: none)."""
    try:
        StoredCase.model_validate(data)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return []


def stored_field_names() -> set[str]:
    """Every field name of the stored case format, at every level of the models above."""
    names: set[str] = set()
    todo: list[type[BaseModel]] = [StoredCase]
    while todo:
        model = todo.pop()
        for name, info in model.model_fields.items():
            names.add(name)
            for arg in [info.annotation, *getattr(info.annotation, "__args__", ())]:
                for inner in [arg, *getattr(arg, "__args__", ())]:
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        todo.append(inner)
    return names
