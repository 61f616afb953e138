"""What a reader sees, decided once for every format: sections, tables, charts, method.

Markdown and HTML lay out the same sections; keeping the content here (and the cells in
cells.py, the units in units.py) means the two never disagree. Each cell carries its
display text and the raw base-unit value (seconds, req/s, counts) that the HTML table
sorts by. Pure functions only.
"""

import re
from dataclasses import dataclass

from ..errors import BenchError
from ..suite import parse_suite
from . import cells
from .cells import Cell, Column, Row, Table  # noqa: F401  (the renderers' vocabulary)
from .environment import Environment, environment
from .method import Part, method_parts
from .table import build_rows
from .units import format_rps, format_seconds, format_wrk, is_missing  # noqa: F401


@dataclass(frozen=True)
class Chart:
    name: str   # the key in the charts dict, e.g. "sleep-rps"
    title: str


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    type: str            # load or interference
    wrk: list[str]       # the distinct wrk settings of its cases, e.g. "-t4 -c100 -d15s ..."
    lead: list[str]      # sentences before the tables (the probe and its timing)
    tables: list[Table]
    charts: list[Chart]  # the charts this scenario can have; renderers show those that exist


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


# ---- the environment ----

def environment_block(run: dict, cases: list[dict]) -> Environment:
    return environment(run, cases)


# ---- sections ----

def chart_specs(scenario: str, kind: str = "load") -> list[Chart]:
    """The charts of a scenario of type `kind` (load or interference), in page order."""
    if kind == "interference":
        return [Chart(f"{scenario}-probe", "probe completions per second (first repeat); "
                                           "the heavy load's window shaded")]
    return [Chart(f"{scenario}-rps", "req/s, median of repeats, bars from min to max"),
            Chart(f"{scenario}-ceiling", "steady-state req/s (bars, median of repeats) "
                                         "against the model's ceiling (marks)"),
            Chart(f"{scenario}-latency", "latency percentiles, median of repeats (log scale)"),
            Chart(f"{scenario}-per-second", "completions per second (first repeat)")]


def scenario_type(part) -> str:
    """A scenario's type from its rows (a table.build_rows frame): load or interference."""
    return "interference" if "interference" in set(part["type"]) else "load"


def row_label(row) -> str:
    """One row's name in charts: impl / server / endpoint."""
    return f"{row['impl']} / {row['server_label']} / {cells.endpoint(row)}"


def _wrk_settings(cases: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for data in cases:
        settings = data.get("wrk")
        if isinstance(settings, dict):
            names = found.setdefault((data.get("case") or {}).get("scenario"), [])
            if format_wrk(settings) not in names:
                names.append(format_wrk(settings))
    return found


def _probe_lead(cases: list[dict], scenario: str) -> list[str]:
    """How the probe ran, from the first case of the scenario that records it."""
    for data in cases:
        case = data.get("case") or {}
        if case.get("scenario") != scenario or not isinstance(case.get("timing"), dict):
            continue
        timing, probe = case["timing"], case.get("probe") or {}
        before, during = timing.get("before_s") or 0, timing.get("during_s") or 0
        return [f"Probe: GET {probe.get('path') or '/hello'} from one connection for the "
                f"whole {before + during + (timing.get('after_s') or 0):g} s window; the heavy "
                f"load runs from {before:g} s to {before + during:g} s."]
    return []


def _server_lead(cases: list[dict], scenario: str) -> list[str]:
    """One sentence naming each server configuration of the scenario with its note."""
    notes = {}
    for data in cases:
        case = data.get("case") or {}
        if case.get("scenario") == scenario and case.get("server_note"):
            notes.setdefault(f"{case.get('impl')} {case.get('server_label')}", case["server_note"])
    if not notes:
        return []
    return ["Servers: " + "; ".join(f"{name}: {note}" for name, note in notes.items()) + "."]


def _load_tables(records: list[dict]) -> list[Table]:
    done = [r for r in records if cells.measured(r)]
    tables = [Table("Throughput and model", cells.THROUGHPUT,
                    [cells.throughput_row(r) for r in records])]
    if done:
        tables += [Table("Latency and errors", cells.LATENCY, [cells.latency_row(r) for r in done]),
                   Table("Resources", cells.RESOURCES, [cells.resource_row(r) for r in done])]
    return tables


def compute_sections(run: dict, cases: list[dict]) -> list[Section]:
    """One section per scenario, in the suite's order, each with its tables and charts."""
    cases = ordered_cases(run, cases)
    frame = build_rows(cases)
    wrk = _wrk_settings(cases)
    sections = []
    for name in dict.fromkeys(frame["scenario"]):
        part = frame[frame["scenario"] == name]
        records = part.to_dict("records")
        kind = scenario_type(part)
        if kind == "interference":
            tables = [Table("Probe during the heavy load", cells.PROBE,
                            [cells.probe_row(r) for r in records])]
        else:
            tables = _load_tables(records)
        sections.append(Section(name=str(name), title=str(part["title"].iloc[0] or name),
                                type=kind, wrk=wrk.get(name, []),
                                lead=(_probe_lead(cases, str(name)) if kind == "interference"
                                      else []) + _server_lead(cases, str(name)),
                                tables=tables, charts=chart_specs(str(name), kind)))
    return sections


def method(run: dict, cases: list[dict]) -> list[Part]:
    """The method section; repeats and warm-up from the stored suite if present."""
    facts = suite_facts(run)
    repeats = facts.get("repeats") or max((len(c.get("runs") or []) for c in cases), default=0)
    interference = any((c.get("case") or {}).get("type") == "interference" for c in cases)
    return method_parts(repeats, facts.get("warmup"), interference)
