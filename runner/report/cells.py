"""Table rows for people: rows of numbers (table.py) -> cells with display text and the
raw value the HTML table sorts by, and notes with flags.

Each scenario opens with a verdict table of at most eight columns that answers its
question; the detail tables (throughput and the model, latency and errors, resources; the
probe's rates for an interference scenario) follow folded away. Columns that are empty in
every row are left out, and combinations an implementation does not serve are one line
under the verdict, not rows.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..stats import CV_LIMIT
from ..units import (MISSING, format_count, format_in, format_mib, format_number,
                    format_ratio, format_rps, format_seconds, is_missing, seconds_unit)
from ..terms import Status
from .table import CaseRow
from ..store.results import StoredPoint, StoredResources
from .figures import (ERRORS, P50, P99, PROCESSES, RSS_PEAK, THREADS, WRK_CORES, Place,
                      placed)
from ..clip import clip_line
from .sentences import cause_text, limit_text, limit_words

FLAG = "⚠"
RESUMED = "†"    # marks a row measured by another session than the run's first
MISMATCH = "‡"   # marks a row whose wrk text and Lua figures disagree
DISAGREE = "model and measurement disagree by more than 10%"


@dataclass(frozen=True)
class Cell:
    text: str
    sort: float | str | None  # the raw value a sortable table orders by; None sorts last


@dataclass(frozen=True)
class Column:
    header: str
    numeric: bool


@dataclass(frozen=True)
class Row:
    status: str           # ok, failed or na
    cells: list[Cell]
    invalid: bool = False  # measured, but not to be trusted (a saturated load generator)


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # lines under the table
    kind: str = "detail"                            # verdict or detail


def header(*names: str) -> list[Column]:
    # a header ending in "*" is text (left-aligned), the others are numbers
    return [Column(n.rstrip("*"), False) if n.endswith("*") else Column(n, True) for n in names]


IDENTITY = ("impl*", "server*", "endpoint*")
THROUGHPUT = header(*IDENTITY, "req/s (incl. ramp)", "min–max (req/s)", "CV", "good req/s",
                      "steady (req/s)", "ceiling (req/s)", "efficiency", "expected latency",
                      "bottleneck*", "notes*")
LATENCY = placed(Place.LATENCY)
RESOURCES = placed(Place.RESOURCES)
PROBE = header(*IDENTITY[:2], "heavy endpoint*", "heavy req/s (incl. ramp)",
                 "probe req/s before", "lowest probe req/s during", "mean probe req/s during",
                 "probe req/s after", "longest probe wait", "notes*")


def _num(value) -> float | None:
    return None if is_missing(value) else float(value)


def _text(value) -> str:
    return "" if is_missing(value) else str(value)


def failed_text(row) -> str:
    """"failed: " and the reason's first line, cut short: a log tail the reason quotes below
    it stays in the case file (and the log), not in a table."""
    lines = _text(row.reason).strip().splitlines()
    return f"failed: {clip_line(lines[0].strip(), 300) if lines else 'no reason given'}"


def endpoint(row) -> str:
    return f"{row.kind} {row.params}".strip()


def measured(row) -> bool:
    return row.status != Status.NA and not is_missing(row.rps_median)


def served(row) -> bool:
    return row.status != Status.NA


def server_name(row) -> str:
    """The server as it ran, with its implementation: 'python-flask · gunicorn, 5 sync workers'."""
    text = _text(row.server_text) or _text(row.server_label)
    impl = _text(row.impl)
    return text if text.startswith(impl) else f"{impl} · {text}"


def _identity(row) -> list[Cell]:
    return [Cell(_text(row.impl), _text(row.impl)),
            Cell(_text(row.server_label), _text(row.server_label)),
            Cell(endpoint(row), endpoint(row))]


def _value(text: str, value) -> Cell:
    return Cell(text, _num(value))


def _flagged(text: str, flag: bool) -> str:
    return f"{text} {FLAG}" if flag else text


def _not_measured(row, columns: list[Column], cells: list[Cell]) -> Row:
    """A row without numbers: after its `cells`, the first number cell says why, the others
    up to the notes (the table's last column) stay empty."""
    first = "n/a" if row.status == Status.NA else "failed"
    empty = [Cell("", None)] * (len(columns) - len(cells) - 2)
    return Row(_text(row.status), cells + [Cell(first, None), *empty, _notes(row, [])])


def _notes(row, flags: list[str], remarks: Sequence[str] = ()) -> Cell:
    """Why there are no numbers, the case's own note, flags (marked ⚠), then remarks."""
    notes = [_text(row.note)]
    if row.status == Status.FAILED:
        notes.insert(0, failed_text(row))
    elif row.status == Status.NA:
        notes.insert(0, _text(row.reason) or "not served")
    text = "; ".join(n for n in notes + [f"{FLAG} {f}" for f in flags] + list(remarks) if n)
    return Cell(text, text)


def expected_latency_too_long(row) -> bool:
    return (not is_missing(row.model_latency_s) and not is_missing(row.duration_s)
            and row.model_latency_s > row.duration_s)


def cause(row) -> str:
    """Why a row lies outside the model's band: the model's findings when it has some."""
    findings = row.findings
    generic = f"{DISAGREE} (efficiency {format_ratio(row.efficiency)})"
    if findings is None or not row.cause:   # not diagnosed
        return generic
    return cause_text(findings) if findings else f"{generic}, {cause_text(findings)}"


def load_flags(row) -> list[str]:
    """Why a measured row of a load scenario should be read with care, worst first."""
    if not measured(row):
        return []
    flags = []
    if row.wrk_saturated:
        flags.append(f"INVALID: load generator saturated: wrk used {row.of(WRK_CORES):.2f} "
                     f"cores of the {int(row.wrk_usable_cores)} it can use "
                     "(the fewer of its threads and the machine's cores)")
    if row.rps_too_wide:
        flags.append(f"wide spread: CV ≥ {CV_LIMIT:.0%}, rerun before trusting the median")
    if row.disagrees:
        flags.append(cause(row))
    if expected_latency_too_long(row):
        flags.append(f"expected latency {format_seconds(row.model_latency_s)} exceeds "
                     f"the {row.duration_s:g} s run: requests still queued at the end "
                     "never count, the latency columns show only early requests")
    flags += row.checks or []
    return flags


def load_remarks(row) -> list[str]:
    """Caveats that are no fault of the row (shown without a flag)."""
    if measured(row) and not is_missing(row.ceiling_rps) and is_missing(row.steady_rps):
        return ["no steady-state rate, so no efficiency: the run is too short to leave out "
                "its ramp-up and its last second"]
    if measured(row) and row.unsteady:
        return [f"{row.unsteady}: the rate is shown, the efficiency is not"]
    return []


# ---- the verdict ----

def headline_rps(row) -> tuple[float | None, bool]:
    """The rate a reader should quote: steady state, else wrk's (which includes the ramp)."""
    if not is_missing(row.steady_rps):
        return float(row.steady_rps), False
    return _num(row.rps_median), True


def marks(row, first_session: int | None) -> str:
    out = ""
    if row.session is not None and first_session is not None \
            and row.session != first_session:
        out += RESUMED
    if row.checks:
        out += MISMATCH
    return out


def _flags(row) -> list[str]:
    """What to read with care in a verdict row, each a footnote under the table."""
    if row.status == Status.FAILED:
        return [failed_text(row)]
    flags = []
    if row.wrk_saturated:
        flags.append(f"INVALID: wrk saturated its cores ({row.of(WRK_CORES):.2f} used)")
    if row.disagrees:
        flags.append(cause(row))
    if row.unsteady:
        flags.append(row.unsteady)
    if expected_latency_too_long(row):
        flags.append(f"queue longer than the {row.duration_s:g} s run: the latency shows "
                     "the early requests only")
    if row.rps_too_wide:
        flags.append(f"wide spread between repeats (CV ≥ {CV_LIMIT:.0%}): rerun before "
                     "trusting the median")
    return flags


SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class Footnotes:
    """Numbered notes under a table: the same text keeps its number."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def refs(self, texts: list[str]) -> str:
        marks = []
        for text in texts:
            if text not in self.texts:
                self.texts.append(text)
            marks.append(str(self.texts.index(text) + 1).translate(SUPERSCRIPT))
        return f" {FLAG}{','.join(marks)}" if marks else ""

    def lines(self) -> list[str]:
        return [f"{FLAG}{str(i).translate(SUPERSCRIPT)} {t}."
                for i, t in enumerate(self.texts, 1)]


def _limited(row) -> str:
    """What limits the row, in a few words (the details say it in full)."""
    if row.status == Status.FAILED:
        return "failed"
    if row.limit is not None:
        return limit_words(row.limit)
    return _text(row.bottleneck)


def _against(rate: float | None, base: float | None, best: float | None,
             is_base: bool) -> Cell:
    """The rate as a factor of the baseline's (or a share of the best, without one)."""
    if rate is None:
        return Cell(MISSING, None)
    if base:
        return Cell("baseline" if is_base else f"{float(f'{rate / base:.2g}'):g}×", rate / base)
    share = rate / best if best else None
    return _value(MISSING if share is None else f"{float(f'{share * 100:.2g}'):g}%", share)


def verdict_table(rows: list[CaseRow], first_session: int | None,
                  baseline: CaseRow | None = None) -> Table:
    """A load scenario's answer: one row per served configuration, its rate beside the
    baseline's (a question's), what limits it in a few words; warnings as footnotes."""
    shown = [r for r in rows if served(r)]
    best = max((r for r in (headline_rps(r)[0] for r in shown if measured(r)) if r),
               default=None)
    base = headline_rps(baseline)[0] if baseline is not None and measured(baseline) else None
    unit = seconds_unit([r.of(f) for r in shown for f in (P50, P99)])
    columns = header("endpoint*", "server*", "steady (req/s)",
                     "× baseline" if base else "of best", "model allows (req/s)",
                     "limited by*", f"p50 ({unit[0]})", f"p99 ({unit[0]})")
    notes, out = Footnotes(), []
    for row in shown:
        name = [Cell(row.label + marks(row, first_session), row.label),
                Cell(server_name(row), server_name(row))]
        limited = _limited(row) + notes.refs(_flags(row))
        if not measured(row):
            out.append(Row(_text(row.status), name + [Cell("failed", None), Cell("", None),
                           Cell("", None), Cell(limited, limited), Cell("", None),
                           Cell("", None)]))
            continue
        rate, ramp = headline_rps(row)
        out.append(Row(_text(row.status), name + [
            _value(format_rps(rate) + (" (incl. ramp)" if ramp else ""), rate),
            _against(rate, base, best, row is baseline),
            _value(format_rps(row.ceiling_rps), row.ceiling_rps),
            Cell(limited, limited),
            _value(format_in(row.of(P50), unit), row.of(P50)),
            _value(format_in(row.of(P99), unit), row.of(P99))],
            invalid=bool(row.wrk_saturated)))
    table = Table("Verdict", columns, out, notes=notes.lines(), kind="verdict")
    return fold_common(drop_empty(table, keep=2), "limited by")


def _starved_seconds(row) -> int:
    """Whole seconds without a probe answer; the first and last buckets are partial."""
    return sum(1 for v in (row.probe_per_second or [])[1:-1] if v == 0)


def probe_verdict(row) -> str:
    """What happened to the probe, in words, and why a heavy load completed nothing."""
    if not measured(row):
        return failed_text(row)
    starved = _starved_seconds(row)
    before, lowest = row.probe_before_rps, row.probe_during_min_rps
    share = (f", its slowest second {lowest / before:.0%} of its rate before"
             if not is_missing(before) and before and not is_missing(lowest) else "")
    longest = row.probe_longest_wait_s
    words = (f"{FLAG} starved: no answer for up to {format_seconds(longest)} (its longest wait)"
             if starved and not is_missing(longest) else f"kept answering{share}")
    if row.heavy_requests == 0 and not is_missing(row.wrk_duration_s):
        alone = row.service_s
        took = f" (one alone took {format_seconds(alone)})" if not is_missing(alone) else ""
        words += (f"; the heavy request{took} outlasted wrk's {row.wrk_duration_s:.0f} s "
                  "run, so wrk counted none; the server went on building it after wrk "
                  "stopped: the hatched seconds in the chart")
    return words


def probe_verdict_table(rows: list[CaseRow], first_session: int | None) -> Table:
    shown = [r for r in rows if served(r)]
    waits = [r.probe_longest_wait_s for r in shown]
    unit = seconds_unit(waits)
    columns = header("heavy endpoint*", "server*", "probe before (req/s)",
                       "probe lowest during (req/s)", f"longest probe wait ({unit[0]})",
                       "heavy (req/s, incl. ramp)", "verdict*")
    out = []
    for row in shown:
        name = [Cell(row.label + marks(row, first_session), row.label),
                Cell(server_name(row), server_name(row))]
        verdict = probe_verdict(row)
        if not measured(row):
            out.append(Row(_text(row.status), name + [Cell("failed", None)]
                           + [Cell("", None)] * 3 + [Cell(verdict, verdict)]))
            continue
        out.append(Row(_text(row.status), name + [
            _value(format_rps(row.probe_before_rps), row.probe_before_rps),
            _value(format_rps(row.probe_during_min_rps), row.probe_during_min_rps),
            _value(format_in(row.probe_longest_wait_s, unit), row.probe_longest_wait_s),
            _value(format_rps(row.rps_median), row.rps_median),
            Cell(verdict, verdict)]))
    return drop_empty(Table("Verdict", columns, out, kind="verdict"), keep=2)


def not_served(rows: list[CaseRow]) -> str | None:
    """One line for every combination that is n/a: 'go: executor_sleep, ... (every server)'."""
    by_impl: dict[str, dict[str, list[str]]] = {}
    servers: dict[str, set] = {}
    for row in rows:
        servers.setdefault(row.impl, set()).add(row.server_label)
        if row.status == Status.NA:
            by_impl.setdefault(row.impl, {}).setdefault(row.label, []).append(
                row.server_label)
    if not by_impl:
        return None
    parts = []
    for impl, labels in by_impl.items():
        every = all(set(s) == servers[impl] for s in labels.values())
        names = ", ".join(labels) if every else ", ".join(
            f"{label} ({', '.join(s)})" for label, s in labels.items())
        parts.append(f"{impl}: {names}")
    return "Not served (n/a, the framework has no such mechanism): " + "; ".join(parts) + "."


# ---- the details ----

def fold_common(table: Table, header: str) -> Table:
    """`table` without its `header` column when every row says the same there: that text
    becomes one line under the table instead of a repeat in each row."""
    names = [c.header for c in table.columns]
    if header not in names or len(table.rows) < 2:
        return table
    i = names.index(header)
    texts = {r.cells[i].text for r in table.rows}
    if len(texts) != 1 or texts == {""}:
        return table
    return replace(table, columns=table.columns[:i] + table.columns[i + 1:],
                   rows=[replace(r, cells=r.cells[:i] + r.cells[i + 1:]) for r in table.rows],
                   notes=[f"{header.capitalize()}, in every row: {texts.pop()}.", *table.notes])


def drop_empty(table: Table, keep: int = 3) -> Table:
    """`table` without the columns (after the first `keep`) empty or — in every row."""
    if not table.rows:
        return table
    wanted = [i for i, _ in enumerate(table.columns)
              if i < keep or any(r.cells[i].text not in ("", MISSING) for r in table.rows)]
    return replace(table, columns=[table.columns[i] for i in wanted],
                   rows=[replace(r, cells=[r.cells[i] for i in wanted]) for r in table.rows])


def throughput_row(row) -> Row:
    cells = _identity(row)
    if not measured(row):
        return _not_measured(row, THROUGHPUT, cells)
    spread = (f"{format_rps(row.rps_min)}–{format_rps(row.rps_max)}"
              if row.runs > 1 else MISSING)
    cv = row.rps_cv
    cv_text = MISSING if is_missing(cv) else _flagged(f"{cv:.1%}", row.rps_too_wide)
    bottleneck = _text(row.bottleneck)
    cells += [_value(format_rps(row.rps_median), row.rps_median),
              _value(spread, row.rps_max - row.rps_min),
              _value(cv_text, cv),
              _value(format_rps(row.good_rps), row.good_rps),
              _value(format_rps(row.steady_rps), row.steady_rps),
              _value(format_rps(row.ceiling_rps), row.ceiling_rps),
              _value(_flagged(format_ratio(row.efficiency), row.disagrees),
                     row.efficiency),
              _value(_flagged(format_seconds(row.model_latency_s),
                              expected_latency_too_long(row)), row.model_latency_s),
              Cell(bottleneck, bottleneck)]
    return Row(_text(row.status), cells + [_notes(row, load_flags(row), load_remarks(row))],
               invalid=bool(row.wrk_saturated))


def throughput_table(rows: list[CaseRow]) -> Table:
    return drop_empty(Table("Throughput and the model", THROUGHPUT,
                            [throughput_row(r) for r in rows if served(r)]))


def _errors(row) -> Cell:
    """The non-zero counters; timeouts are named whenever anything went wrong."""
    counts = {f.header: row.of(f) for f in ERRORS}
    if all(is_missing(v) for v in counts.values()):
        return Cell(MISSING, None)
    total = int(sum(v for v in counts.values() if not is_missing(v)))
    parts = [f"{name} {int(v)}" for name, v in counts.items()
             if not is_missing(v) and (v or (name == "timeout" and total))]
    return Cell(", ".join(parts) or "0", float(total))


def latency_table(rows: list[CaseRow]) -> Table:
    done = [r for r in rows if measured(r)]
    unit = seconds_unit([r.of(f) for r in done for f in LATENCY])
    columns = header(*IDENTITY, *(f"{f.header} ({unit[0]})" for f in LATENCY), "errors")
    out = []
    for row in done:
        cells = _identity(row) + [_value(f.text(row.of(f), unit), row.of(f))
                                  for f in LATENCY]
        out.append(Row(_text(row.status), cells + [_errors(row)],
                       invalid=bool(row.wrk_saturated)))
    return drop_empty(Table("Latency and errors", columns, out))


def resource_row(row) -> Row:
    cells = _identity(row)
    for figure in RESOURCES:
        value = row.of(figure)
        text = figure.text(value)
        if figure.key == "wrk_cores":   # of the cores it could use, flagged when all
            usable = row.wrk_usable_cores
            text = MISSING if is_missing(value) else _flagged(
                f"{value:.2f}" + ("" if is_missing(usable) else f" of {int(usable)}"),
                row.wrk_saturated)
        cells.append(_value(text, value))
    return Row(_text(row.status), cells, invalid=bool(row.wrk_saturated))


def resource_table(rows: list[CaseRow]) -> Table:
    columns = header(*IDENTITY, *(f.header for f in RESOURCES))
    return drop_empty(Table("Resources", columns,
                            [resource_row(r) for r in rows if measured(r)]))


def probe_row(row) -> Row:
    cells = _identity(row)[:2] + [Cell(endpoint(row), endpoint(row))]
    if not measured(row):
        return _not_measured(row, PROBE, cells)
    cells.append(_value(format_rps(row.rps_median), row.rps_median))
    for key in ("before_rps", "during_min_rps", "during_mean_rps", "after_rps"):
        value = getattr(row, f"probe_{key}")
        cells.append(_value(format_rps(value), value))
    wait = row.probe_longest_wait_s
    cells.append(_value(format_seconds(wait), wait))
    flags = []
    if row.probe_during_min_rps == 0:
        flags.append("probe starved: at least one whole second without an answer during "
                     "the heavy load")
    return Row(_text(row.status), cells + [_notes(row, flags + (row.checks or []))])


def probe_table(rows: list[CaseRow]) -> Table:
    return drop_empty(Table("The probe's rates", PROBE,
                            [probe_row(r) for r in rows if served(r)]))


# ---- open scenarios ----

def open_measured(row) -> bool:
    return row.status == Status.OK and bool(row.open_points)


def open_verdict_table(rows: list[CaseRow], first_session: int | None) -> Table:
    """An open scenario's answer: where each configuration falls over, beside the model."""
    shown = [r for r in rows if served(r)]
    columns = header("endpoint*", "server*", "capacity, model (req/s)", "knee (req/s)",
                       "knee / model", "why*", "verdict*")
    out = []
    for row in shown:
        name = [Cell(row.label + marks(row, first_session), row.label),
                Cell(server_name(row), server_name(row))]
        if not open_measured(row):
            reason = failed_text(row)
            out.append(Row(_text(row.status), name + [Cell("failed", None)]
                           + [Cell("", None)] * 3 + [Cell(reason, reason)]))
            continue
        knee = row.open_knee
        held = knee.knee_rps
        shown_knee = (f"≥ {format_rps(knee.tried_up_to_rps)}" if knee.saturated_at_rps is None
                      else (f"< {format_rps(knee.saturated_at_rps)}" if held is None
                            else format_rps(held)))
        ratio = knee.ratio
        ratio_text = MISSING if ratio is None else _flagged(f"{ratio:.2f}", not knee.agrees)
        why = _text(knee.bottleneck)
        out.append(Row(_text(row.status), name + [
            _value(format_rps(knee.capacity_rps), knee.capacity_rps),
            Cell(shown_knee, held if held is not None else knee.tried_up_to_rps),
            Cell(ratio_text, ratio), Cell(why, why), Cell(knee.verdict, knee.verdict)]))
    return fold_common(drop_empty(Table("Verdict", columns, out, kind="verdict"), keep=2), "why")


OPEN_POINTS = header("endpoint*", "server*", "offered (req/s)", "sent (req/s)", "answered",
                       "errors*", "p50", "p90", "p99", "max", "model p50", "model max",
                       "in flight at end", "most in flight", "server CPU (s)", "peak RSS",
                       "services (cores)")


def services_cores(point: StoredPoint) -> float | None:
    """The cores the services the server called used at one offered rate, together."""
    used = [svc.resources.cores for svc in point.services.values() if svc.resources]
    used = [c for c in used if c is not None]
    return sum(used) if used else None


def open_points_table(rows: list[CaseRow]) -> Table:
    """Every offered rate of every configuration, measured beside the model."""
    out = []
    for row in rows:
        if not open_measured(row):
            continue
        for shown in row.open_points:
            point = shown.measured
            lat, res = point.latency_s, point.resources or StoredResources(wall_s=0)
            errors = f"{point.errors} ({point.timeouts} timeouts)" if point.errors else "0"
            if not point.held_rate:
                errors += f"; {FLAG} sent late: the generator did not hold this rate"
            out.append(Row("ok", [
                Cell(row.label, row.label), Cell(server_name(row), server_name(row)),
                _value(format_rps(point.offered_rps), point.offered_rps),
                _value(format_rps(point.sent_rps), point.sent_rps),
                _value(f"{point.ok} of {point.requests}", point.ok),
                Cell(errors, float(point.errors)),
                *[_value(format_seconds(v), v) for v in (lat.p50, lat.p90, lat.p99, lat.max)],
                _value(format_seconds(shown.predicted_p50_s), shown.predicted_p50_s),
                _value(format_seconds(shown.predicted_max_s), shown.predicted_max_s),
                _value(format_count(point.in_flight_at_end), point.in_flight_at_end),
                _value(format_count(point.max_in_flight), point.max_in_flight),
                _value(format_number(res.server_cpu_s), res.server_cpu_s),
                _value(format_mib(res.server_rss_peak_bytes), res.server_rss_peak_bytes),
                _value(format_number(services_cores(point)), services_cores(point))]))
    return drop_empty(Table("Every offered rate: measured, and the model's prediction",
                            OPEN_POINTS, out))


# ---- limits beside their fixes ----

def _base(row, rows: list[CaseRow]):
    """The row a tuned row changes: same scenario, implementation, server and endpoint,
    as the implementation configures it."""
    return next((r for r in rows if not r.tuned and r.scenario == row.scenario
                 and r.impl == row.impl and r.server_type == row.server_type
                 and r.kind == row.kind and r.params == row.params), None)


def _change(row, base) -> str:
    """What the tuned row changed, from its value before to after: 'workers 2 → 5'."""
    parts = []
    for key, value in row.tuned.items():
        setting = (row.settings or {}).get(key)
        if setting:
            pools = base.pools or {}
            before = pools.get(setting.get("pool"))
            if before is None and setting.get("pool") in pools:
                before = "no cap"       # a connection pool that opens what it needs
            name = setting.get("title") or key
        else:
            before, name = getattr(base, key), key
        parts.append(f"{name} {before if before is not None else '?'} → {value}")
    return ", ".join(parts)


def _arrow(before, after, fmt) -> str:
    return f"{fmt(before)} → {fmt(after)}"


def _threads(row) -> str:
    return f"{format_count(row.of(THREADS))} / {format_count(row.of(PROCESSES))}"


def fix_words(before: float | None, after: float | None, row) -> str:
    """What a change did to the headline rate, and the limit that binds after it."""
    if before is None or after is None or not before:
        return "not measured"
    ratio = after / before
    limit = row.limit   # the limit alone, without the notes the bottleneck adds
    now = limit_text(limit) if limit else (_text(row.bottleneck) or "no model")
    if ratio >= 1.2:
        return f"moved the limit: {ratio:.1f}× the rate; what binds now: {now}"
    if ratio <= 1 / 1.2:
        return f"made it worse: {ratio:.2f}× the rate; {now}"
    return f"did not help ({ratio:.2f}× the rate): {now}"


def fixes_table(rows: list[CaseRow]) -> Table | None:
    """Each tuned row beside the row it changes: the setting, rate, p99, memory, threads
    and processes and the model's ceiling before → after, and in words what the change
    did and the limit that binds after it."""
    pairs = [(r, b) for r in rows if r.tuned and measured(r)
             and (b := _base(r, rows)) is not None and measured(b)]
    if not pairs:
        return None
    unit = seconds_unit([x.of(P99) for pair in pairs for x in pair])
    columns = header("endpoint*", "change*", "steady req/s", f"p99 ({unit[0]})",
                       "peak memory (MiB)", "threads / processes", "model allows (req/s)",
                       "what it did*")
    out = []
    for row, base in pairs:
        before, after = headline_rps(base)[0], headline_rps(row)[0]
        words = fix_words(before, after, row)
        if base.unsteady or row.unsteady:
            words += "; ⚠ a rate without a steady state (see the verdict): read the ratio loosely"
        change = _change(row, base)
        out.append(Row(_text(row.status), [
            Cell(row.label, row.label),
            Cell(change, change),
            _value(_arrow(before, after, format_rps), after),
            _value(_arrow(base.of(P99), row.of(P99), lambda v: format_in(v, unit)),
                   row.of(P99)),
            _value(_arrow(base.of(RSS_PEAK), row.of(RSS_PEAK),
                          lambda v: format_mib(v).removesuffix(" MiB")), row.of(RSS_PEAK)),
            Cell(f"{_threads(base)} → {_threads(row)}", row.of(THREADS)),
            _value(_arrow(base.ceiling_rps, row.ceiling_rps, format_rps),
                   row.ceiling_rps),
            Cell(words, words)]))
    return Table("Each limit beside its fix", columns, out, kind="verdict")

