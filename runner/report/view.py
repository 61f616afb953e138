"""What a reader sees, decided once for every format: sections, tables, charts, method.

`build` makes one `Report` from a stored run (runner/store/results.py's records): its rows
(table.py), sections, provenance, environment and method. Markdown, HTML, the charts and
the README's summary are all rendered from that one object, so they never disagree and
nothing is computed twice. Each cell carries its display text and the raw base-unit value
(seconds, req/s, counts) that the HTML table sorts by; every number is formatted by
units.py. Pure functions only.
"""

import re
from dataclasses import dataclass

from ..errors import BenchError
from ..store.results import StoredCase, StoredRunFile, StoredService, as_case, as_run
from ..config.suite import parse_suite
from . import cells, describe
from .cells import FLAG, Cell, Column, Row, Table  # noqa: F401  (the renderers' vocabulary)
from .environment import Environment, environment
from .method import Part, method_parts
from .findings import Finding, Guide, anchor, baseline_of, findings
from .table import CaseRow, compute_rows
from ..units import MISSING, format_mib, format_rps, format_seconds, format_wrk, is_missing  # noqa: F401
from ..terms import ScenarioType, Status


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
    lead: list[str]      # sentences after the verdict (the probe and its timing)
    verdict: Table       # the answer, first; its notes are lines under it
    tables: list[Table]  # the details, folded away
    servers: list[str]   # each server configuration as it ran (folded away)
    charts: list[Chart]  # the charts this scenario can have; renderers show those that exist
    fixes: Table | None = None   # each tuned row beside the row it changes
    rows: tuple[CaseRow, ...] = ()   # the scenario's rows, which its charts draw


@dataclass(frozen=True)
class Report:
    """Everything a reader sees of one stored run, built once (`build`)."""
    suite: str           # safe as a file name
    run_id: str
    synthetic: bool      # made by hand for tests, not measured
    note: str | None
    environment: Environment
    sections: list[Section]
    sessions: list[str]  # one line per measuring session
    warning: str | None  # set when sessions mixed commits or time windows
    provenance: Table
    method: list[Part]
    rows: list[CaseRow]     # every case's row, in reading order
    findings: list[Finding] = ()   # one per question of the suite, first on the page
    missing: list[str] = ()        # stored files left out, each with why: said at the top


# ---- the run ----

def suite_name(run: StoredRunFile, cases: list[StoredCase]) -> str:
    """The suite's name, reduced to characters that are safe in a file name."""
    suite = run.suite.get("name") if isinstance(run.suite, dict) else run.suite
    name = str(suite or next((c.suite for c in cases if c.suite), "suite"))
    # it names the output files: a stored "../x" must not write outside reports/
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip(".") or "suite"


def run_id(run: StoredRunFile, cases: list[StoredCase]) -> str:
    return run.run_id or next((c.run_id for c in cases if c.run_id), "?")


def suite_facts(run: StoredRunFile) -> dict:
    """Repeats, warm-up and scenario order of the suite text stored in run.json, if valid.

    Parsed with the runner's own validator, so defaults (repeats, warmup) match what the
    run used. A suite text the current schema rejects just means fewer facts.
    """
    if run.suite_text is None:
        return {}
    try:
        suite = parse_suite(run.suite_text, run.suite_file or "run.json", "stored").suite
    except (BenchError, ValueError):
        return {}
    return {"repeats": suite.repeats, "warmup": suite.warmup,
            "scenarios": [s.name for s in suite.scenarios]}


def ordered_cases(run: StoredRunFile, cases: list[StoredCase]) -> list[StoredCase]:
    """Cases with scenarios in run order (run.json's planned case ids, else its suite)."""
    planned = [i.split("/", 1)[0] for i in run.cases]
    declared = list(dict.fromkeys(planned)) or suite_facts(run).get("scenarios", [])

    def rank(data):
        name = data.case.scenario
        return declared.index(name) if name in declared else len(declared)
    return sorted(cases, key=rank)


# ---- sections ----

def chart_specs(scenario: str, kind: ScenarioType = ScenarioType.LOAD, sweep: bool = False,
                modelled: bool = True) -> list[Chart]:
    """The charts of a scenario of type `kind` (load or interference), in page order."""
    if kind == ScenarioType.OPEN:
        return [Chart(f"{scenario}-open", "p50 and p99 latency against the offered rate, one "
                                          "panel per configuration, all on one log latency "
                                          "axis; dashed: the model's p50; vertical line: the "
                                          "modelled capacity")]
    if kind == ScenarioType.INTERFERENCE:
        return [Chart(f"{scenario}-probe", "the probe's answers per second in the median repeat "
                                           "(by the probe's rate during the heavy load; of two, "
                                           "the lower), one panel per heavy endpoint, on one y "
                                           "scale unless their peaks are more than 30× apart "
                                           "(then each is marked \"own y scale\"); shaded: the "
                                           "seconds wrk's heavy load ran")]
    first = (Chart(f"{scenario}-sweep", "steady req/s and peak memory against the setting "
                                        "swept, per server type: measured (solid) and the "
                                        "model (dashed)")
             if sweep else
             Chart(f"{scenario}-rate", "steady req/s (bars, median of repeats)"
                   + (" against what the model allows (marks)" if modelled else "")))
    return [first,
            Chart(f"{scenario}-latency", "latency: p50, p90 and p99, median of repeats"),
            Chart(f"{scenario}-per-second", "completions per second in the median repeat (by "
                                            "req/s; of two, the slower), one panel per "
                                            "configuration; panels share one y scale unless "
                                            "their peaks are more than 30× apart, then each has "
                                            "its own, marked in its title")]


def scenario_type(rows: list[CaseRow]) -> str:
    """A scenario's type from its rows (table.compute_rows): load, interference or open."""
    for kind in (ScenarioType.INTERFERENCE, ScenarioType.OPEN):
        if any(r.type == kind for r in rows):
            return kind
    return ScenarioType.LOAD


SWEEP_POINTS = 3   # a server type with this many values of one setting is a sweep


def swept_value(row: CaseRow, variable: str):
    """The value of `variable` (workers, threads or a setting's name) a row ran with."""
    if variable in ("workers", "threads"):
        return getattr(row, variable)
    setting = (row.settings or {}).get(variable)
    return setting.get("value") if isinstance(setting, dict) else None


def sweeps(rows: list[CaseRow]) -> dict[tuple, str]:
    """(impl, server type, kind, params) -> the variable swept over its rows, for each
    server type serving one endpoint with SWEEP_POINTS or more values of one setting."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if row.status != Status.NA:
            key = (row.impl, row.server_type, row.kind, row.params)
            groups.setdefault(key, []).append(row)
    found = {}
    for key, group in groups.items():
        variables = ["workers", "threads"] + sorted(
            {k for r in group for k in r.settings or {}})
        counts = {v: len({swept_value(r, v) for r in group} - {None}) for v in variables}
        best = max(variables, key=lambda v: counts[v])
        if counts[best] >= SWEEP_POINTS:
            found[key] = best
    return found


def is_sweep(rows: list[CaseRow]) -> bool:
    """Several values of one setting of one server type serving one endpoint."""
    return bool(sweeps(rows))


def _wrk_settings(cases: list[StoredCase]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for data in cases:
        settings = data.wrk
        if settings and data.case.type != ScenarioType.OPEN:
            names = found.setdefault(data.case.scenario, [])
            if format_wrk(settings) not in names:
                names.append(format_wrk(settings))
    return found


def probe_windows(rows: list[CaseRow]) -> str | None:
    """The heavy load's windows on the probe's time line, as the chart shades them: one
    when every row's is the same, else each row's."""
    found = [(r, tuple(r.heavy_window)) for r in rows if r.heavy_window]
    if not found:
        return None
    if len({w for _, w in found}) == 1:
        return f"{found[0][1][0]:g} to {found[0][1][1]:g}"
    return ", ".join(f"{w[0]:g} to {w[1]:g} ({r.label}, {cells.server_name(r)})"
                     for r, w in found)


def _probe_lead(cases: list[StoredCase], rows: list[CaseRow], scenario: str) -> list[str]:
    """How the probe ran; the window is the one the chart shades."""
    for data in cases:
        case = data.case
        if case.scenario != scenario or not case.timing:
            continue
        timing, probe = case.timing, case.probe or {}
        before, during = timing.get("before_s") or 0, timing.get("during_s") or 0
        total = before + during + (timing.get("after_s") or 0)
        window = probe_windows(rows)
        ran = (f"the heavy load (wrk -d{during:g}s) started {before:g} s in; on the probe's "
               f"clock it ran in the seconds {window} (shaded in the chart: the whole "
               "seconds it touched, so up to one more than -d)" if window else
               f"the heavy load runs from {before:g} s to {before + during:g} s")
        return [f"Probe: GET {probe.get('path') or '/hello'} from one connection for the "
                f"whole {total:g} s window; {ran}."]
    return []


def _open_lead(cases: list[StoredCase], scenario: str) -> list[str]:
    """How the open load ran."""
    for data in cases:
        settings = data.case.open
        if data.case.scenario != scenario or not settings:
            continue
        rates = (f"{', '.join(f'{r:g}' for r in settings['of_capacity'])} times each row's "
                 f"modelled capacity (at most {settings['max_rate']:g}/s)"
                 if settings.get("of_capacity") else
                 f"{', '.join(f'{r:g}' for r in settings['per_second'])} requests per second")
        return [f"Open load: vegeta sends requests at a fixed rate whatever the server does, "
                f"{settings['duration']:g} s at each of {rates}, on one fresh server per row, "
                f"and waits for every answer (timeout {settings['timeout']:g} s). Latency "
                "counts from each request's intended send time. The knee is the highest "
                f"rate whose p99 stays within {settings['knee']:g} times the service time; a "
                "row stops after the first rate past it."]
    return []


def services_lead(cases: list[StoredCase], scenario: str) -> list[str]:
    """The services the scenario's servers called and what they used, at most, over its
    loads: the proof that neither the database nor the upstream limited a row."""
    seen: dict[str, dict] = {}
    for data in cases:
        if data.case.scenario != scenario:
            continue
        for run in data.runs:
            # a closed load's services, and an open load's at each offered rate
            found = [*run.services.items(),
                     *((name, StoredService.model_validate(svc)) for point in run.points
                       for name, svc in point.services.items())]
            for name, svc in found:
                top = seen.setdefault(name, {"svc": svc, "cores": 0.0, "memory": 0, "loads": 0})
                if svc.resources:
                    top["cores"] = max(top["cores"], svc.resources.cores or 0)
                    top["memory"] = max(top["memory"], svc.resources.memory_end_bytes)
                    top["loads"] += 1
    if not seen:
        return []
    parts = []
    for name, top in sorted(seen.items()):
        svc = top["svc"]
        limit = f", max_connections {svc.max_connections}" if svc.max_connections else ""
        used = (f" used at most {top['cores']:.2f} cores and {format_mib(top['memory'])} "
                f"over {top['loads']} loads" if top["loads"] else "")
        parts.append(f"{svc.title or name} ({svc.version or 'version unknown'}"
                     f"{limit}){used}")
    proofs = {"postgres": "the database backend's pid and the database's own clock",
              "upstream": "the upstream's signature of a nonce the server sent"}
    proved = " or ".join(proofs[name] for name in sorted(seen) if name in proofs)
    return ["Services, started fresh for every measurement: " + "; ".join(parts) + "."
            + (f" Each answer proved its call: {proved}." if proved else "")]


def _servers(cases: list[StoredCase], rows: list[CaseRow], scenario: str) -> list[str]:
    """One line per server configuration of the scenario: as it ran (from its argv), its
    argv, the sizes in force as its /info reported them, its note (a mechanism, no size).

    A sweep's lines set the swept number side by side and show no note."""
    sweep = is_sweep(rows)
    groups: dict[tuple, list[StoredCase]] = {}
    for data in cases:
        if data.case.scenario == scenario and describe.first_argv(data):
            groups.setdefault((data.case.impl, data.case.server_label), []).append(data)
    lines = []
    for (impl, label), group in groups.items():
        data = group[0]
        note = describe.mechanism(data.case.server_note) if not sweep else None
        text = describe.server_text(data)
        lines.append(f"{impl} {label}" + (f": {text}" if text != label else "")
                     + f"; `{describe.shown_argv(data)}`"
                     + "".join(f"; {size}" for size in describe.in_force(group))
                     + (f"; {note}" if note else ""))
    return lines


def _footnotes(rows: list[CaseRow], found: list[describe.Session]) -> list[str]:
    notes = []
    resumed = sorted({r.session for r in rows if r.session not in (None, 0)})
    for index in resumed:
        notes.append(f"{cells.RESUMED} measured by another session than the rest: "
                     f"{describe.session_text(found[index])}.")
    if any(r.checks for r in rows):
        notes.append(f"{cells.MISMATCH} wrk's text output and its Lua report disagree for "
                     "this row (the details say on what); the tables use the Lua figures.")
    return notes


def compute_sections(run: StoredRunFile, cases: list[StoredCase], rows: list[CaseRow],
                     found: list[describe.Session], guide: Guide | None = None) -> list[Section]:
    """One section per scenario, in the suite's order: the verdict, then the details."""
    wrk = _wrk_settings(cases)
    sections = []
    for name in dict.fromkeys(r.scenario for r in rows):
        part = [r for r in rows if r.scenario == name]
        kind, sweep = scenario_type(part), is_sweep(part)
        if kind == ScenarioType.OPEN:
            verdict = cells.open_verdict_table(part, 0)
            details = [cells.open_points_table(part)]
            lead = _open_lead(cases, str(name))
        elif kind == ScenarioType.INTERFERENCE:
            verdict = cells.probe_verdict_table(part, 0)
            details = [cells.probe_table(part)]
            lead = _probe_lead(cases, part, str(name))
        else:
            verdict = cells.verdict_table(part, 0, baseline_of(guide, str(name), part))
            details = [cells.throughput_table(part), cells.latency_table(part),
                       cells.resource_table(part)]
            lead = []
        lead = lead + services_lead(cases, str(name))
        notes = verdict.notes + [n for n in [cells.not_served(part)] if n] + _footnotes(
            part, found)
        verdict = Table(verdict.title, verdict.columns, verdict.rows, notes, "verdict")
        sections.append(Section(
            name=str(name), title=str(part[0].title or name), type=kind,
            wrk=wrk.get(name, []), lead=lead, verdict=verdict,
            tables=[t for t in details if t.rows],
            servers=_servers(cases, part, str(name)),
            charts=chart_specs(str(name), kind, sweep,
                               any(not is_missing(r.ceiling_rps) for r in part)),
            # a sweep draws its settings against each other; elsewhere a tuned row is
            # set beside the row it changes
            fixes=cells.fixes_table(part) if kind == ScenarioType.LOAD and not sweep else None,
            rows=tuple(part)))
    return sections


# ---- provenance ----

def provenance(found: list[describe.Session],
               cases: list[StoredCase] = ()) -> tuple[list[str], str | None]:
    """One line per measuring session, one per case that saw load on the machine not the
    run's own, and a warning when more than one session measured."""
    lines = [describe.session_text(s) for s in found]
    lines += [line for data in cases if (line := describe.other_load_text(data))]
    if len(found) < 2:
        return lines, None
    commits = {s.commit for s in found}
    mixed = " and ".join(w for w, n in (("commits", len(commits)), ("time windows", len(found)))
                         if n > 1)
    return lines, (f"{FLAG} This report mixes {mixed}: {len(found)} sessions measured its "
                   f"cases (below; rows marked {cells.RESUMED} come from a later one). "
                   "Numbers from different sessions are not strictly comparable.")


def provenance_table(cases: list[StoredCase], found: list[describe.Session]) -> Table:
    """Every case with the commit, session and time of its first measured repeat."""
    columns = cells.header("case*", "session*", "commit*", "first repeat at*")
    out = []
    for data in cases:
        index = describe.session_of(data, found)
        session = found[index] if index is not None else None
        first = next((r.started_at for r in data.runs), MISSING)
        name = data.case.id
        which = "—" if session is None else (f"{index + 1}" + (" (resumed)" if session.resumed
                                                                else ""))
        commit = (session.commit or "—")[:10] if session else "—"
        out.append(cells.Row(data.status, [
            cells.Cell(name, name), cells.Cell(which, which), cells.Cell(commit, commit),
            cells.Cell(first, first)]))
    return Table("Where each result came from", columns, out)


def method(run: StoredRunFile, cases: list[StoredCase]) -> list[Part]:
    """The method section; repeats and warm-up from the stored suite if present."""
    facts = suite_facts(run)
    repeats = facts.get("repeats") or max((len(c.runs) for c in cases), default=0)
    types = {c.case.type for c in cases}
    return method_parts(repeats, facts.get("warmup"), ScenarioType.INTERFERENCE in types,
                        describe.checked_runs(cases), ScenarioType.OPEN in types)


# ---- the report ----

def build(run: StoredRunFile | dict | None, cases: list[StoredCase] | list[dict],
          guide: Guide | None = None, missing: list[str] = ()) -> Report:
    """The one report of a stored run; records' JSON is validated into records first.
    `guide`: the suite's questions and the implementations' fixes, for the Findings;
    `missing`: the stored files that could not be read, which the page names first."""
    run = as_run(run)
    cases = ordered_cases(run, [as_case(c) for c in cases])
    found = describe.sessions(run, cases)
    rows = compute_rows(cases, found)
    sessions, warning = provenance(found, cases)
    return Report(suite=suite_name(run, cases), run_id=run_id(run, cases),
                  synthetic=run.synthetic, note=run.note,
                  environment=environment(run, cases),
                  sections=compute_sections(run, cases, rows, found, guide),
                  sessions=sessions, warning=warning,
                  provenance=provenance_table(cases, found),
                  method=method(run, cases), rows=rows,
                  findings=findings(guide, rows), missing=list(missing))
