"""The environment block: a short list of the facts that explain the numbers, and the long
ones (package lists, the command line, anything else recorded) folded away. When, at which
commit and under which load each result was measured is provenance (view.provenance),
per session, not one line here. No absolute path of the measuring machine is shown."""

import shlex
from dataclasses import dataclass

from ..store.results import StoredCase, StoredRunFile
from .describe import portable

# shown in this order, when recorded
FACTS = {"cpu_model": "CPU", "cores": "cores", "affinity": "affinity",
         "cpu_pinning": "CPU pinning", "memory_bytes": "memory",
         "kernel": "kernel", "python": "Python", "go": "Go", "wrk": "wrk"}
# folded with the package lists
DETAILS = {"os": "OS", "runner_packages": "runner packages", "argv": "command"}
HANDLED = {*FACTS, *DETAILS, "git_commit", "git_dirty", "started_at", "packages",
           "load_avg_at_start"}


@dataclass(frozen=True)
class Environment:
    facts: list[tuple[str, str]]    # (label, value), short
    details: list[tuple[str, str]]  # (label, value), long: packages per implementation, ...


def compact(key: str, value) -> str | None:
    """One recorded value on one line; None when there is nothing to show."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    if key.endswith("_bytes") and isinstance(value, int):
        return f"{value / 2**30:.1f} GiB"
    if isinstance(value, list):
        if key == "argv":
            return shlex.join(portable(str(v)) for v in value)
        return ", ".join(compact("", v) or "—" for v in value)
    if isinstance(value, dict):  # {"pandas": "3.1.1"} -> "pandas 3.1.1"; nested -> "go: ..."
        parts = [(k, v, compact(str(k), v)) for k, v in value.items()]
        return "; ".join(f"{k}: {text}" if isinstance(v, (list, dict)) else f"{k} {text}"
                         for k, v, text in parts if text is not None) or None
    return str(value)


def _packages(env: dict) -> list[tuple[str, str]]:
    packages = env.get("packages")
    if not isinstance(packages, dict):
        return []
    out = []
    for impl, names in packages.items():
        if isinstance(names, list) and names:
            out.append((f"{impl} packages ({len(names)})", ", ".join(map(str, names))))
    return out


def environment(run: StoredRunFile, cases: list[StoredCase]) -> Environment:
    """The run's environment from run.json, else from the first case file."""
    # an older or partial run.json: every case file has it too
    env = run.environment or next((c.environment for c in cases), {})
    facts = [(label, compact(key, env.get(key))) for key, label in FACTS.items()]
    details = _packages(env) + [(label, compact(key, env.get(key)))
                                for key, label in DETAILS.items()]
    details += [(key.replace("_", " "), compact(key, value)) for key, value in env.items()
                if key not in HANDLED]
    return Environment(facts=[(k, portable(v)) for k, v in facts if v is not None],
                       details=[(k, portable(v)) for k, v in details if v is not None])
