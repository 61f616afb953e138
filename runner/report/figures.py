"""Every figure a report reads from a load's repeats, declared once.

A `Figure` names its key in a report row, its header, its unit, how its repeats combine,
how one measured repeat gives it, and the places it appears: the latency table, the
resources table, `compare`, the latency chart. table.py computes every declared figure
for every row, and the tables, `compare` and the chart take their columns from here, so
adding a figure is one declaration below (p99.9 was added that way).

The rates, the model and the probe are not declared here: each is computed by a rule of
its own (steady state, the ceiling, the probe's timeline) in measures.py.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ..stats import median_or_none
from ..store.results import StoredRun
from ..units import format_count, format_in, format_mib, format_number


class Unit(StrEnum):
    SECONDS = "s"          # shown in the column's one unit (s or ms), named in the header
    RATE = "req/s"
    CPU_SECONDS = "CPU s"
    BYTES = "bytes"        # shown in MiB
    COUNT = "count"
    CORES = "cores"


class Combine(StrEnum):
    """How a figure's repeats make the row's one value."""
    MEDIAN = "median"
    SUM = "sum"            # counters: every repeat's errors count
    MAX = "max"            # the most seen in any repeat


class Place(StrEnum):
    LATENCY = "latency"        # the latency and errors table
    ERRORS = "errors"          # the errors cell of that table, and the goodput
    RESOURCES = "resources"    # the resources table
    COMPARE = "compare"        # `compare`: a range verdict over the repeats of two runs
    CHART = "chart"            # the latency chart, one marker per figure


@dataclass(frozen=True)
class Figure:
    key: str                    # the report row's key
    header: str                 # column header; a seconds column adds its unit
    unit: Unit
    combine: Combine
    read: Callable[[StoredRun], float | None]   # one measured repeat's value, or None
    places: frozenset[Place]

    def combined(self, runs: list[StoredRun]) -> float | None:
        values = [v for v in (self.read(run) for run in runs) if v is not None]
        if self.combine == Combine.MEDIAN:
            return median_or_none(values)
        if not values:
            return None
        return sum(values) if self.combine == Combine.SUM else max(values)

    def text(self, value, seconds_unit: tuple[str, float] = ("s", 1.0)) -> str:
        """`value` as a table cell shows it (seconds in the column's unit)."""
        if self.unit == Unit.SECONDS:
            return format_in(value, seconds_unit)
        if self.unit == Unit.BYTES:
            return format_mib(value)
        if self.unit == Unit.COUNT:
            return format_count(value)
        return format_number(value)


def _latency(name: str) -> Callable[[StoredRun], float | None]:
    return lambda run: run.wrk.latency_s.get(name)


def _errors(name: str) -> Callable[[StoredRun], float | None]:
    return lambda run: run.wrk.errors.get(name)


def _resource(name: str) -> Callable[[StoredRun], float | None]:
    return lambda run: getattr(run.resources, name) if run.resources else None


def _most(name: str) -> Callable[[StoredRun], float | None]:
    # a count of 0 means nothing was sampled, not that the server had no process
    return lambda run: (getattr(run.resources, name) or None) if run.resources else None


def _per_cpu_second(run: StoredRun) -> float | None:
    res = run.resources
    if not res or not res.server_cpu_s or run.wrk.requests is None:
        return None
    return run.wrk.requests / res.server_cpu_s


def _wrk_cores(run: StoredRun) -> float | None:
    res = run.resources
    return res.wrk_cpu_s / res.wall_s if res and res.wrk_cpu_s is not None and res.wall_s \
        else None


def _places(*names: Place) -> frozenset[Place]:
    return frozenset(names)


LAT, SEEN, CMP = _places(Place.LATENCY), _places(Place.LATENCY, Place.CHART), \
    _places(Place.LATENCY, Place.CHART, Place.COMPARE)
S, MED = Unit.SECONDS, Combine.MEDIAN

# wrk's latency statistics (its Lua report's names), medians over the repeats
LATENCY = (
    Figure("lat_avg", "avg", S, MED, _latency("mean"), LAT),
    Figure("lat_p50", "p50", S, MED, _latency("p50"), SEEN),
    Figure("lat_p75", "p75", S, MED, _latency("p75"), LAT),
    Figure("lat_p90", "p90", S, MED, _latency("p90"), SEEN),
    Figure("lat_p99", "p99", S, MED, _latency("p99"), CMP),
    Figure("lat_p99_9", "p99.9", S, MED, _latency("p99_9"), _places(Place.LATENCY, Place.COMPARE)),
    Figure("lat_max", "max", S, MED, _latency("max"), LAT),
)
# wrk's error counters, summed over the repeats; "status" counts answers not 2xx or 3xx
ERRORS = tuple(Figure(f"err_{name.replace('-', '')}", name, Unit.COUNT, Combine.SUM,
                      _errors(counter), _places(Place.ERRORS))
               for name, counter in (("connect", "connect"), ("read", "read"),
                                     ("write", "write"), ("timeout", "timeout"),
                                     ("non-2xx", "status")))
# what the sampler saw of the server's process tree and of wrk
RES = _places(Place.RESOURCES)
RESOURCES = (
    Figure("cpu_s", "server CPU (s)", Unit.CPU_SECONDS, MED, _resource("server_cpu_s"), RES),
    Figure("req_per_cpu_s", "req per CPU-s", Unit.RATE, MED, _per_cpu_second, RES),
    Figure("rss_peak_bytes", "peak RSS", Unit.BYTES, MED, _resource("server_rss_peak_bytes"),
           RES),
    Figure("processes_max", "processes", Unit.COUNT, Combine.MAX,
           _most("server_processes_max"), RES),
    Figure("threads_max", "threads", Unit.COUNT, Combine.MAX, _most("server_threads_max"), RES),
    Figure("wrk_cores", "wrk cores", Unit.CORES, Combine.MAX, _wrk_cores, RES),
)
FIGURES = LATENCY + ERRORS + RESOURCES


def placed(place: Place) -> tuple[Figure, ...]:
    """The figures shown in `place`, in declaration order."""
    return tuple(f for f in FIGURES if place in f.places)


def by_key(key: str) -> Figure:
    return next(f for f in FIGURES if f.key == key)


# the figures the verdict, the fixes and the charts read by name
P50, P99 = by_key("lat_p50"), by_key("lat_p99")
RSS_PEAK, WRK_CORES = by_key("rss_peak_bytes"), by_key("wrk_cores")
PROCESSES, THREADS = by_key("processes_max"), by_key("threads_max")
