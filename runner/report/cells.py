"""Table rows for people: one function per table turns a row of numbers (table.py) into
cells with display text and the raw value the HTML table sorts by, and notes with flags.

A load scenario has three tables, so that none is too wide for a wiki page: throughput
and the model (with the notes and flags), latency and errors, and resources. An
interference scenario has one table of the probe's rates.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..stats import CV_LIMIT
from .units import (MISSING, format_count, format_mib, format_ratio, format_rps,
                    format_seconds, is_missing)

FLAG = "⚠"


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


def _columns(*names: str) -> list[Column]:
    # a header ending in "*" is text (left-aligned), the others are numbers
    return [Column(n.rstrip("*"), False) if n.endswith("*") else Column(n, True) for n in names]


IDENTITY = ("impl*", "server*", "endpoint*")
THROUGHPUT = _columns(*IDENTITY, "req/s", "min–max", "CV", "good req/s", "steady req/s",
                      "ceiling (req/s)", "efficiency", "expected latency", "bottleneck*",
                      "notes*")
LATENCY = _columns(*IDENTITY, "avg", "p50", "p75", "p90", "p99", "max", "errors")
RESOURCES = _columns(*IDENTITY, "server CPU", "req per CPU-s", "peak RSS", "processes",
                     "threads", "wrk cores")
PROBE = _columns(*IDENTITY[:2], "heavy endpoint*", "heavy req/s", "probe req/s before",
                 "lowest probe req/s during", "mean probe req/s during", "probe req/s after",
                 "longest probe wait", "notes*")


def _num(value) -> float | None:
    return None if is_missing(value) else float(value)


def _text(value) -> str:
    return "" if is_missing(value) else str(value)


def endpoint(row) -> str:
    return f"{row['kind']} {row['params']}".strip()


def measured(row) -> bool:
    return row["status"] != "na" and not is_missing(row["rps_median"])


def _identity(row) -> list[Cell]:
    return [Cell(_text(row["impl"]), _text(row["impl"])),
            Cell(_text(row["server_label"]), _text(row["server_label"])),
            Cell(endpoint(row), endpoint(row))]


def _value(text: str, value) -> Cell:
    return Cell(text, _num(value))


def _flagged(text: str, flag: bool) -> str:
    return f"{text} {FLAG}" if flag else text


def _not_measured(row, cells: int) -> list[Cell]:
    """The first number cell says why there are no numbers; the rest stay empty."""
    first = "n/a" if row["status"] == "na" else "failed"
    return [Cell(first, None)] + [Cell("", None)] * (cells - 1)


def _notes(row, flags: list[str], remarks: Sequence[str] = ()) -> Cell:
    """Why there are no numbers, the case's own note, flags (marked ⚠), then remarks."""
    notes = [_text(row["note"])]
    if row["status"] == "failed":
        notes.insert(0, f"failed: {_text(row['reason']) or 'no reason given'}")
    elif row["status"] == "na":
        notes.insert(0, _text(row["reason"]) or "not served")
    text = "; ".join(n for n in notes + [f"{FLAG} {f}" for f in flags] + list(remarks) if n)
    return Cell(text, text)


def expected_latency_too_long(row) -> bool:
    return (not is_missing(row["model_latency_s"]) and not is_missing(row["duration_s"])
            and row["model_latency_s"] > row["duration_s"])


def load_flags(row) -> list[str]:
    """Why a measured row of a load scenario should be read with care, worst first."""
    if not measured(row):
        return []
    flags = []
    if row["wrk_saturated"]:
        flags.append(f"INVALID: load generator saturated: wrk used {row['wrk_cores']:.2f} "
                     f"cores of the {int(row['wrk_usable_cores'])} it can use "
                     "(the fewer of its threads and the machine's cores)")
    if row["rps_too_wide"]:
        flags.append(f"wide spread: CV ≥ {CV_LIMIT:.0%}, rerun before trusting the median")
    if row["disagrees"]:
        flags.append("model and measurement disagree by more than 10% "
                     f"(efficiency {format_ratio(row['efficiency'])})")
    if expected_latency_too_long(row):
        flags.append(f"expected latency {format_seconds(row['model_latency_s'])} exceeds "
                     f"the {row['duration_s']:g} s run: requests still queued at the end "
                     "never count, the latency columns show only early requests")
    return flags


def load_remarks(row) -> list[str]:
    """Caveats that are no fault of the row (shown without a flag)."""
    if measured(row) and not is_missing(row["ceiling_rps"]) and is_missing(row["steady_rps"]):
        return ["no steady-state rate, so no efficiency: the run is too short to leave out "
                "its ramp-up and its last second"]
    return []


def throughput_row(row) -> Row:
    cells = _identity(row)
    if not measured(row):
        return Row(_text(row["status"]), cells + _not_measured(row, 9) + [_notes(row, [])])
    spread = (f"{format_rps(row['rps_min'])}–{format_rps(row['rps_max'])}"
              if row["runs"] > 1 else MISSING)
    cv = row["rps_cv"]
    cv_text = MISSING if is_missing(cv) else _flagged(f"{cv:.1%}", row["rps_too_wide"])
    bottleneck = _text(row["bottleneck"])
    cells += [_value(format_rps(row["rps_median"]), row["rps_median"]),
              _value(spread, row["rps_max"] - row["rps_min"]),
              _value(cv_text, cv),
              _value(format_rps(row["good_rps"]), row["good_rps"]),
              _value(format_rps(row["steady_rps"]), row["steady_rps"]),
              _value(format_rps(row["ceiling_rps"]), row["ceiling_rps"]),
              _value(_flagged(format_ratio(row["efficiency"]), row["disagrees"]),
                     row["efficiency"]),
              _value(_flagged(format_seconds(row["model_latency_s"]),
                              expected_latency_too_long(row)), row["model_latency_s"]),
              Cell(bottleneck, bottleneck)]
    return Row(_text(row["status"]), cells + [_notes(row, load_flags(row), load_remarks(row))],
               invalid=bool(row["wrk_saturated"]))


def _errors(row) -> Cell:
    """The non-zero counters; timeouts are named whenever anything went wrong."""
    counts = {"connect": row["err_connect"], "read": row["err_read"], "write": row["err_write"],
              "timeout": row["err_timeout"], "non-2xx": row["err_non2xx"]}
    if all(is_missing(v) for v in counts.values()):
        return Cell(MISSING, None)
    total = int(sum(v for v in counts.values() if not is_missing(v)))
    parts = [f"{name} {int(v)}" for name, v in counts.items()
             if not is_missing(v) and (v or (name == "timeout" and total))]
    return Cell(", ".join(parts) or "0", float(total))


def latency_row(row) -> Row:
    cells = _identity(row)
    for key in ("avg", "p50", "p75", "p90", "p99", "max"):
        value = row[f"lat_{key}"]
        cells.append(_value(format_seconds(value), value))
    return Row(_text(row["status"]), cells + [_errors(row)], invalid=bool(row["wrk_saturated"]))


def resource_row(row) -> Row:
    wrk = MISSING
    if not is_missing(row["wrk_cores"]):
        usable = row["wrk_usable_cores"]
        wrk = f"{row['wrk_cores']:.2f}" + ("" if is_missing(usable) else f" of {int(usable)}")
    cells = _identity(row) + [
        _value(format_seconds(row["cpu_s"]), row["cpu_s"]),
        _value(format_rps(row["req_per_cpu_s"]), row["req_per_cpu_s"]),
        _value(format_mib(row["rss_peak_bytes"]), row["rss_peak_bytes"]),
        _value(format_count(row["processes_max"]), row["processes_max"]),
        _value(format_count(row["threads_max"]), row["threads_max"]),
        _value(_flagged(wrk, row["wrk_saturated"]), row["wrk_cores"])]
    return Row(_text(row["status"]), cells, invalid=bool(row["wrk_saturated"]))


def probe_row(row) -> Row:
    cells = _identity(row)[:2] + [Cell(endpoint(row), endpoint(row))]
    if not measured(row):
        return Row(_text(row["status"]), cells + _not_measured(row, 6) + [_notes(row, [])])
    cells.append(_value(format_rps(row["rps_median"]), row["rps_median"]))
    for key in ("before_rps", "during_min_rps", "during_mean_rps", "after_rps"):
        value = row[f"probe_{key}"]
        cells.append(_value(format_rps(value), value))
    wait = row["probe_longest_wait_s"]
    cells.append(_value(format_seconds(wait), wait))
    flags = []
    if row["probe_during_min_rps"] == 0:
        flags.append("probe starved: at least one whole second without an answer during "
                     "the heavy load")
    return Row(_text(row["status"]), cells + [_notes(row, flags)])
