"""Where results live and how they are written: one JSON file per case, replaced atomically,
and a run.json per run. The one place that names the stored formats and their versions.

Format history: version 1 (this one) is the first stored format. Fields added since, all
optional for a reader: case.label, case.execution, case.open, runs[].calibration,
runs[].points (open scenarios), resources.runner_cpu_s, stopped_early.
"""

import json
import os
from datetime import datetime, timezone
from pathlib import Path

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
