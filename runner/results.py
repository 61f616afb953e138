"""Where results live and how they are written: one JSON file per case, replaced atomically.

Format history: version 1 (this one) is the first stored format.
"""

import json
import os
from datetime import datetime, timezone
from pathlib import Path

FORMAT = "concbench.case"
VERSION = 1


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def case_file(run_dir: Path, case_id: str) -> Path:
    return run_dir / (case_id.replace("/", "__") + ".json")


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
