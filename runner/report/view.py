"""What a reader sees, decided once for every format: cells in human units, notes, order.

Markdown and HTML lay out the same sections; keeping the wording and the units here
means the two never disagree. Each cell carries its display text and the raw base-unit
value (seconds, req/s, counts) that the HTML table sorts by. Pure functions only.
"""

import math
import re
import shlex
from dataclasses import dataclass

import pandas as pd

from ..errors import BenchError
from ..stats import CV_LIMIT
from ..suite import parse_suite
from .table import build_rows


@dataclass(frozen=True)
class Cell:
    text: str
    sort: float | str | None  # the raw value a sortable table orders by; None sorts last


@dataclass(frozen=True)
class Column:
    header: str
    numeric: bool


COLUMNS = [Column("impl", False), Column("server", False), Column("endpoint", False),
           Column("req/s", True), Column("min–max", True), Column("CV", True),
           Column("avg", True), Column("p50", True), Column("p75", True), Column("p90", True),
           Column("p99", True), Column("max", True), Column("errors", True),
           Column("notes", False)]


@dataclass(frozen=True)
class Row:
    status: str
    cells: list[Cell]


@dataclass(frozen=True)
class Chart:
    name: str   # the key in the charts dict, e.g. "sleep-rps"
    title: str


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    wrk: list[str]       # the distinct wrk settings of its cases, e.g. "-t4 -c100 -d15s ..."
    rows: list[Row]
    charts: list[Chart]  # the charts this scenario can have; renderers show those that exist


# ---- human units ----

def is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def format_seconds(value) -> str:
    """Seconds in the unit a reader expects: '1.01 s', '35 ms', '480 µs'."""
    if is_missing(value):
        return "—"
    if value == 0:
        return "0 s"
    rounded = float(f"{value:.3g}")  # round first so 0.9996 s reads "1 s", not "1e+03 ms"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if rounded >= scale:
            return f"{rounded / scale:.3g} {unit}"
    return f"{rounded / 1e-9:.3g} ns"


def format_rps(value) -> str:
    if is_missing(value):
        return "—"
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


def format_duration(seconds: float | None) -> str:
    """wrk's duration syntax: 15.0 -> '15s', 0.5 -> '500ms'."""
    if is_missing(seconds):
        return "?"
    return f"{seconds:g}s" if float(seconds).is_integer() else f"{seconds * 1000:g}ms"


def format_wrk(settings: dict) -> str:
    return (f"-t{settings.get('threads')} -c{settings.get('connections')} "
            f"-d{format_duration(settings.get('duration_s'))} "
            f"--timeout {format_duration(settings.get('timeout_s'))}")


# ---- the run ----

def suite_name(run: dict, cases: list[dict]) -> str:
    """The suite's name, reduced to characters that are safe in a file name."""
    suite = run.get("suite")
    if isinstance(suite, dict):
        suite = suite.get("name")
    name = str(suite or next((c.get("suite") for c in cases if c.get("suite")), "suite"))
    # it names the output files: a stored "../x" must not write outside reports/
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip(".") or "suite"


def run_id(run: dict, cases: list[dict]) -> str:
    return str(run.get("run_id") or next((c.get("run_id") for c in cases if c.get("run_id")), "?"))


def suite_facts(run: dict) -> dict:
    """Repeats, warm-up and scenario order of the suite text stored in run.json, if valid.

    Parsed with the runner's own validator, so defaults (repeats, warmup) match what the
    run used. A suite text the current schema rejects just means fewer facts.
    """
    text = run.get("suite_text")
    if not isinstance(text, str):
        return {}
    try:
        suite = parse_suite(text, str(run.get("suite_file") or "run.json"), "stored").suite
    except (BenchError, ValueError):
        return {}
    return {"repeats": suite.repeats, "warmup": suite.warmup,
            "scenarios": [s.name for s in suite.scenarios]}


def ordered_cases(run: dict, cases: list[dict]) -> list[dict]:
    """Cases with scenarios in run order (run.json's planned case ids, else its suite)."""
    planned = [i.split("/", 1)[0] for i in run.get("cases") or [] if isinstance(i, str)]
    declared = list(dict.fromkeys(planned)) or suite_facts(run).get("scenarios", [])

    def rank(data):
        name = (data.get("case") or {}).get("scenario")
        return declared.index(name) if name in declared else len(declared)
    return sorted(cases, key=rank)


LABELS = {"cpu_model": "CPU", "cpu_count": "cores", "memory_bytes": "memory",
          "load_avg_at_start": "load average at start", "os": "OS", "python": "Python",
          "go": "Go", "git_commit": "git commit", "git_dirty": "uncommitted changes",
          "runner_packages": "runner packages", "cpu_pinning": "CPU pinning"}


def _compact(key: str, value) -> str | None:
    """One environment value on one line; None when there is nothing to show."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key.endswith("_bytes") and isinstance(value, (int, float)):
        return f"{value / 2**30:.1f} GiB"
    if isinstance(value, list):
        return shlex.join(map(str, value)) if key == "argv" else ", ".join(map(str, value))
    if isinstance(value, dict):  # {"pandas": "3.1.1"} -> "pandas 3.1.1"; nested -> "go: ..."
        parts = [(k, v, _compact(str(k), v)) for k, v in value.items()]
        return "; ".join(f"{k}: {text}" if isinstance(v, (list, dict)) else f"{k} {text}"
                         for k, v, text in parts if text is not None) or None
    return str(value)


def environment_items(run: dict, cases: list[dict]) -> list[tuple[str, str]]:
    """(label, value) for every fact stored, in stored order; null or empty ones skipped."""
    env = run.get("environment")
    if not isinstance(env, dict):  # an older or partial run.json: every case file has it too
        env = next((c["environment"] for c in cases if isinstance(c.get("environment"), dict)),
                   {})
    facts = {"started_at": run.get("started_at") or env.get("started_at"),
             "finished_at": run.get("finished_at") or run.get("ended_at"),
             **{k: v for k, v in env.items() if k != "started_at"}}
    labels = {**LABELS, "started_at": "started", "finished_at": "finished"}
    items = [(labels.get(k, k.replace("_", " ")), _compact(k, v)) for k, v in facts.items()]
    return [(label, text) for label, text in items if text is not None]


# ---- sections ----

def chart_specs(scenario: str) -> list[Chart]:
    return [Chart(f"{scenario}-rps", "req/s, median of repeats, bars from min to max"),
            Chart(f"{scenario}-latency", "latency percentiles, median of repeats (log scale)")]


def row_label(row) -> str:
    """One row's name in charts: impl / server / endpoint."""
    endpoint = f"{row['kind']} {row['params']}".strip()
    return f"{row['impl']} / {row['server_label']} / {endpoint}"


def _errors(row) -> Cell:
    counts = {"connect": row["err_connect"], "read": row["err_read"], "write": row["err_write"],
              "timeout": row["err_timeout"], "non-2xx": row["err_non2xx"]}
    if all(is_missing(v) for v in counts.values()):
        return Cell("—", None)
    total = int(sum(v for v in counts.values() if not is_missing(v)))
    parts = [f"{name} {int(v)}" for name, v in counts.items() if not is_missing(v) and v]
    return Cell(", ".join(parts) or "0", float(total))


def _num(value) -> float | None:
    return None if is_missing(value) else float(value)


def _text(value) -> str:
    return "" if is_missing(value) else str(value)


def _row(row) -> Row:
    endpoint = f"{row['kind']} {row['params']}".strip()
    notes = [_text(row["note"])]
    if row["status"] == "failed":
        notes.insert(0, f"failed: {_text(row['reason']) or 'no reason given'}")
    elif row["status"] == "na":
        notes.insert(0, _text(row["reason"]) or "not served")
    if row["rps_too_wide"]:
        notes.append(f"wide spread: CV ≥ {CV_LIMIT:.0%}, rerun before trusting the median")
    cells = [Cell(_text(row["impl"]), _text(row["impl"])),
             Cell(_text(row["server_label"]), _text(row["server_label"])),
             Cell(endpoint, endpoint)]
    if row["status"] == "na" or is_missing(row["rps_median"]):
        blank = Cell("", None)
        first = "n/a" if row["status"] == "na" else "failed"
        cells += [Cell(first, None)] + [blank] * 9
    else:
        spread = (f"{format_rps(row['rps_min'])}–{format_rps(row['rps_max'])}"
                  if row["runs"] > 1 else "—")
        cv = row["rps_cv"]
        cv_text = "—" if is_missing(cv) else f"{cv:.1%}" + (" ⚠" if row["rps_too_wide"] else "")
        cells += [Cell(format_rps(row["rps_median"]), _num(row["rps_median"])),
                  Cell(spread, _num(row["rps_max"] - row["rps_min"])),
                  Cell(cv_text, _num(cv))]
        for key in ("avg", "p50", "p75", "p90", "p99", "max"):
            value = row[f"lat_{key}"]
            cells.append(Cell(format_seconds(value), _num(value)))
        cells.append(_errors(row))
    text = "; ".join(n for n in notes if n)
    cells.append(Cell(text, text))
    return Row(_text(row["status"]), cells)


def compute_sections(run: dict, cases: list[dict]) -> list[Section]:
    """One section per scenario, in the suite's order, each with its display rows."""
    cases = ordered_cases(run, cases)
    frame = build_rows(cases)
    wrk_by_scenario: dict[str, list[str]] = {}
    for data in cases:
        settings = data.get("wrk")
        if isinstance(settings, dict):
            names = wrk_by_scenario.setdefault((data.get("case") or {}).get("scenario"), [])
            if format_wrk(settings) not in names:
                names.append(format_wrk(settings))
    sections = []
    for name in dict.fromkeys(frame["scenario"]):
        part = frame[frame["scenario"] == name]
        rows = [_row(r) for r in part.to_dict("records")]
        sections.append(Section(name=str(name), title=str(part["title"].iloc[0] or name),
                                wrk=wrk_by_scenario.get(name, []), rows=rows,
                                charts=chart_specs(str(name))))
    return sections


def method_paragraphs(run: dict, cases: list[dict]) -> list[str]:
    """The method in plain sentences; repeats and warm-up from the stored suite if present."""
    facts = suite_facts(run)
    repeats = facts.get("repeats") or max((len(c.get("runs") or []) for c in cases), default=0)
    warmup = facts.get("warmup")
    if repeats:
        first = (f"Each case is measured {repeats} times"
                 + (f", each time after a {format_seconds(warmup)} warm-up" if warmup else "")
                 + "; the tables show the median of the repeats.")
    else:
        first = "No case of this run has a measured repeat yet."
    return [first] + [p.format(cv_limit=f"{CV_LIMIT:.0%}") for p in METHOD]


METHOD = [
    "Every measurement starts a fresh server as its own process group on a free loopback "
    "port and stops the whole group afterwards: a server reused across scenarios would "
    "still hold queued requests from the last one.",
    "Before measuring, the endpoint is checked: status 200, the JSON shape, proof that the "
    "work was done, and for sleeps that one request alone takes at least the requested "
    "time. A case that fails the check is not measured; its row shows the reason.",
    "req/s is wrk's completed requests over the run's duration. min–max is the range over "
    "repeats, CV the sample standard deviation over the mean (flagged ⚠ at {cv_limit} or "
    "more with at least three repeats, pyperf's bound for an unstable result).",
    "avg, p50, p75, p90, p99 and max are request latencies as wrk's Lua done() hook "
    "reports them for each repeat; the table shows the median over repeats.",
    "errors are wrk's counters summed over repeats: connect, read and write are socket "
    "errors, timeout counts requests wrk saw outstanding longer than --timeout, non-2xx "
    "counts answers with status 400 or above (wrk's \"Non-2xx or 3xx responses\").",
    "n/a means the implementation does not serve that endpoint kind (it says so in its "
    "impl.yaml); it is not a failure.",
]
