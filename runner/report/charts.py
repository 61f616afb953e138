"""Charts as SVG text, re-drawn only when what they show changed.

A load scenario has three: steady req/s against what the model allows (or, for a sweep
of worker counts, rate against workers per server type with the model's line beside
it), latency percentiles, and completions per second in small multiples; an
interference scenario has the probe's answers per second, one panel per heavy endpoint,
with the heavy load's window shaded and a stall after wrk stopped hatched.

`plan` is pure and cheap: each chart's input as plain JSON-able data, named by the hash
of that data and of this module's source. `render` draws only the charts whose hash is
not already in `previous` (the SVGs written last time carry their hash in a comment),
so matplotlib is imported only when something changed. Drawing uses matplotlib's object
API (`Figure`, no pyplot), Matplotlib's default style, ids numbered in order, no date and
text kept as <text>: output is byte-for-byte repeatable on any machine. No chart has a title inside it
(the caption outside says what it shows), so nothing is cut off at the figure's edge.
"""

import hashlib
import io
import json
import math
import re
import textwrap
from pathlib import Path

from . import cells, view
from .table import CaseRow
from .figures import RSS_PEAK, Place, placed
from ..units import format_number, format_seconds, is_missing
from ..terms import Status

BAR, MODEL, SHADE, STALL = "#4c78a8", "#e45756", "#f58518", "#b22222"
PERCENTILES = placed(Place.CHART)   # the latency chart's markers, in declaration order
MARKERS = ("o", "s", ">", "^", "D")
COLOURS = (BAR, "#72b7b2", MODEL, "#b279a2", "#9d755d")
WIDTH = 7.5  # inches; the pages scale SVGs down to their width
HASH = re.compile(r"<!-- chart input sha256:([0-9a-f]{64}) -->")
_SOURCE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _num(value) -> float | None:
    return None if is_missing(value) else float(value)


def short_label(row: CaseRow, width: int = 48) -> str:
    """Two short lines: the endpoint as a developer says it, then the server as it ran."""
    first = textwrap.shorten(str(row.label).replace("`", ""), width, placeholder="…")
    second = textwrap.shorten(cells.server_name(row), width, placeholder="…")
    return f"{first}\n{second}"


# ---- what each chart shows: plain data ----

def _rate_data(rows):
    shown = [r for r in rows if cells.measured(r)]
    return [{"label": short_label(r), "steady": _num(r.steady_rps),
             "rps": _num(r.rps_median), "ceiling": _num(r.ceiling_rps),
             "efficiency": _num(r.efficiency)} for r in shown]


def _sweep_data(rows):
    lines: dict[str, dict] = {}
    swept = view.sweeps(rows)
    for r in rows:
        variable = swept.get((r.impl, r.server_type, r.kind, r.params))
        x = view.swept_value(r, variable) if variable else None
        if not cells.measured(r) or x is None:
            continue
        name = f"{r.label} · {r.impl} {r.server_type}".replace("`", "")
        axis = "worker processes" if variable == "workers" else (
            "threads per worker" if variable == "threads"
            else r.settings[variable].get("title") or variable)
        line = lines.setdefault(name, {"label": name, "axis": axis, "points": []})
        line["points"].append([int(x), _num(r.steady_rps) or _num(r.rps_median),
                               _num(r.ceiling_rps), _num(r.of(RSS_PEAK))])
    for line in lines.values():
        line["points"].sort()
    return [line for line in lines.values() if len(line["points"]) > 1]


def _latency_data(rows):
    return [{"label": short_label(r), **{f.header: _num(r.of(f)) for f in PERCENTILES}}
            for r in rows if cells.measured(r)
            and all(_num(r.of(f)) for f in PERCENTILES)]


def _per_second_data(rows):
    return [{"label": short_label(r, 44), "counts": list(r.per_second)}
            for r in rows if cells.measured(r) and r.per_second]


def _probe_data(rows):
    out = []
    for r in rows:
        if r.status != Status.OK or not r.probe_per_second:
            continue
        window = list(r.heavy_window) if r.heavy_window else None
        counts = list(r.probe_per_second)
        stall = None
        if window:  # starved seconds right after the window: a request outliving wrk
            end = int(window[1])
            while end < len(counts) and counts[end] == 0:
                end += 1
            stall = [window[1], end] if end > window[1] else None
        out.append({"label": short_label(r, 44), "counts": counts, "window": window,
                    "stall": stall})
    return out


def _open_data(rows):
    out = []
    for r in rows:
        if not cells.open_measured(r):
            continue
        points = [[p.measured.offered_rps, p.measured.latency_s.p50, p.measured.latency_s.p99,
                   p.predicted_p50_s] for p in r.open_points]
        out.append({"label": short_label(r, 44), "capacity": r.open_knee.capacity_rps,
                    "points": points})
    return out


DATA = {"open": _open_data, "rate": _rate_data, "sweep": _sweep_data, "latency": _latency_data,
        "per-second": _per_second_data, "probe": _probe_data}


def plan(report: view.Report) -> dict[str, tuple[str, str, list]]:
    """Chart name -> (its input's hash, what draws it, its input), for charts with data."""
    planned = {}
    for section in report.sections:
        for spec in section.charts:
            draw = spec.name.removeprefix(f"{section.name}-")
            data = DATA[draw](list(section.rows))
            if data:
                text = json.dumps([draw, data], sort_keys=True)
                digest = hashlib.sha256((_SOURCE + text).encode()).hexdigest()
                planned[spec.name] = (digest, draw, data)
    return planned


def stored_hash(svg: str) -> str | None:
    found = HASH.search(svg[:2000])
    return found.group(1) if found else None


def render(report: view.Report, previous: dict[str, str] | None = None) -> dict[str, str]:
    """Chart name (e.g. "sleep-rate") -> SVG text; a chart in `previous` with the same
    input hash is reused as it is, the others are drawn."""
    previous = previous or {}
    charts = {}
    todo = {}
    for name, (digest, draw, data) in plan(report).items():
        old = previous.get(name)
        if old is not None and stored_hash(old) == digest:
            charts[name] = old
        else:
            todo[name] = (digest, draw, data)
    if todo:
        charts.update(_draw_all(todo))
    return dict(sorted(charts.items()))


# ---- drawing (matplotlib is imported only here) ----

def _draw_all(todo: dict) -> dict[str, str]:
    import matplotlib.style
    out = {}
    with matplotlib.style.context(["default", {"svg.fonttype": "none", "font.size": 9}]):
        for name, (digest, draw, data) in todo.items():
            figure = DRAW[draw](data)
            out[name] = _svg(figure, name, digest)
    return out


# matplotlib names a marker, clip path or hatch by a hash of its coordinates at full
# precision, which differ below the printed digits from one machine to the next
_HASHED_ID = re.compile(r'id="([mph][0-9a-f]{10})"')


def numbered_ids(svg: str, name: str) -> str:
    """`svg` with matplotlib's hashed ids renamed in order of definition (`<name>-p1`, ...):
    the same drawing gives the same bytes on any machine, and the chart's name keeps ids
    distinct when several SVGs share one HTML page."""
    found = dict.fromkeys(_HASHED_ID.findall(svg))
    names = {old: f"{name}-{old[0]}{n}" for n, old in enumerate(found, 1)}
    if not names:
        return svg
    pattern = re.compile(r'(?<=["#])(' + "|".join(names) + r')(?=[")])')
    return pattern.sub(lambda m: names[m.group(1)], svg)


def _svg(figure, name: str, digest: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = numbered_ids(buffer.getvalue(), name)
    at = text.find("<svg")
    return f"{text[:at]}<!-- chart input sha256:{digest} -->\n{text[at:]}"


def _figure(height: float, layout: str | None = "constrained"):
    from matplotlib.figure import Figure
    return Figure(figsize=(WIDTH, height), layout=layout)


def _log_if_wide(axes, values, axis: str = "x") -> bool:
    """A log axis, with plain numbers (1, 10, 100), when the values span more than 30x."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    values = [v for v in values if v and v > 0]
    if not values or max(values) / min(values) <= 30:  # a 1 req/s row beside a 100 req/s one
        return False
    (axes.set_xscale if axis == "x" else axes.set_yscale)("log")
    scale = axes.xaxis if axis == "x" else axes.yaxis
    scale.set_major_formatter(FuncFormatter(lambda v, _: format_number(v)))
    scale.set_minor_formatter(NullFormatter())
    return True


def _rate_chart(data):
    figure = _figure(0.9 + 0.5 * len(data))
    axes = figure.add_subplot()
    positions = list(range(len(data)))
    steady = [d["steady"] or 0.0 for d in data]
    axes.barh(positions, steady, color=BAR, label="steady req/s")
    short = [(y, d["rps"]) for y, d in zip(positions, data) if d["steady"] is None]
    if short:  # a run too short for a steady state still shows what wrk counted
        axes.barh([y for y, _ in short], [v for _, v in short], color="none", edgecolor=BAR,
                  hatch="//", label="req/s incl. ramp (no steady state)")
    modelled = [(y, d["ceiling"]) for y, d in zip(positions, data) if d["ceiling"]]
    if modelled:
        axes.scatter([c for _, c in modelled], [y for y, _ in modelled], marker="|", s=300,
                     linewidths=3, color=MODEL, zorder=3, label="the model allows")
    for y, d, value in zip(positions, data, steady):
        if d["efficiency"] is not None:
            axes.annotate(f"{d['efficiency']:.2f}", (max(value, d["ceiling"]), y),
                          xytext=(6, 0), textcoords="offset points", va="center",
                          fontsize="small")
    log = _log_if_wide(axes, steady + [c for _, c in modelled] + [v for _, v in short])
    axes.margins(x=0.15)
    axes.set_yticks(positions, [d["label"] for d in data], fontsize="small")
    axes.invert_yaxis()  # first row on top, as in the table
    axes.set_xlabel("requests per second" + (" (log scale)" if log else "")
                    + ("; numbers: steady / model" if modelled else ""))
    axes.grid(axis="x", alpha=0.3)
    figure.legend(loc="outside lower center", ncols=3, fontsize="small", markerscale=0.5)
    return figure


def _sweep_chart(data):
    from matplotlib import colormaps
    figure = _figure(4.2)
    rate, memory = figure.subplots(1, 2, width_ratios=(3, 2))
    colours = colormaps["tab10"].colors
    values, settings = [], sorted({p[0] for line in data for p in line["points"]})
    for i, line in enumerate(data):
        colour = colours[i % len(colours)]
        x = [p[0] for p in line["points"]]
        y = [p[1] for p in line["points"]]
        model = [(p[0], p[2]) for p in line["points"] if p[2] is not None]
        rate.plot(x, y, marker="o", color=colour, linewidth=2,
                  label=textwrap.shorten(line["label"], 60, placeholder="…"))
        if model:
            rate.plot(*zip(*model), linestyle="--", color=colour, linewidth=1.2)
        rss = [(p[0], p[3] / 2**20) for p in line["points"] if p[3]]
        if rss:
            memory.plot(*zip(*rss), marker="o", color=colour, linewidth=2)
        values += y + [m for _, m in model]
    log = _log_if_wide(rate, values, "y")
    axes_names = sorted({line["axis"] for line in data})
    wide = max(settings) >= 10 * min(settings)
    for axes in (rate, memory):
        if wide:
            axes.set_xscale("log")
            axes.minorticks_off()
        axes.set_xticks(settings, [str(v) for v in settings],
                        rotation=45 if len(settings) > 6 else 0)
        axes.grid(alpha=0.3)
        axes.set_xlabel((axes_names[0] if len(axes_names) == 1 else "the setting swept")
                        + (" (log scale)" if wide else ""))
    rate.set_ylabel("steady req/s" + (" (log scale)" if log else ""))
    memory.set_ylabel("peak memory, MiB")
    memory.set_ylim(bottom=0)
    rate.plot([], [], color="#555", linestyle="--", label="the model (dashed)")
    figure.legend(loc="outside lower center", ncols=2, fontsize="small")
    return figure


def _latency_chart(data):
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    figure = _figure(1.0 + 0.5 * len(data))
    axes = figure.add_subplot()
    names = [f.header for f in PERCENTILES]
    for y, d in enumerate(data):
        axes.plot([d[names[0]], d[names[-1]]], [y, y], color="#999", linewidth=1, zorder=1)
        for i, name in enumerate(names):
            axes.scatter([d[name]], [y], marker=MARKERS[i], color=COLOURS[i], zorder=2,
                         label=name if y == 0 else None)
    axes.set_xscale("log")
    # 1-2-5 steps label narrow ranges too (a 1.0-1.1 s scenario has no decade inside it)
    axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_seconds(v)))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.margins(x=0.1)
    axes.set_yticks(range(len(data)), [d["label"] for d in data], fontsize="small")
    axes.invert_yaxis()
    axes.set_xlabel("latency, median of repeats (log scale)")
    axes.grid(axis="x", which="major", alpha=0.3)
    figure.legend(loc="outside lower center", ncols=3, fontsize="small")
    return figure


def _panels(count: int, columns: int, height: float, top: float = 0.25, sharex: bool = True):
    """A grid of small panels, laid out by hand (the constrained layout engine takes most
    of the drawing time with a dozen panels): margins in inches, kept for any row count."""
    rows = math.ceil(count / columns)
    total = top + 0.55 + height * rows
    figure = _figure(total, layout=None)
    figure.subplots_adjust(left=0.75 / WIDTH, right=1 - 0.15 / WIDTH, top=1 - top / total,
                           bottom=0.55 / total, hspace=0.55 / (height - 0.55),
                           wspace=0.9 / ((WIDTH - 0.9) / columns - 0.9))
    grid = figure.subplots(rows, columns, squeeze=False, sharex=sharex)
    for axes in grid.flat[count:]:
        axes.set_visible(False)
    return figure, list(grid.flat[:count])


def _per_second_chart(data):
    figure, panels = _panels(len(data), 2, 1.35, top=0.45)
    for axes, d in zip(panels, data):
        axes.stairs(d["counts"], range(len(d["counts"]) + 1), baseline=None, color=BAR,
                    linewidth=1.5)
        axes.set_title(d["label"], fontsize="small")
        axes.set_ylim(bottom=0)
        axes.tick_params(labelsize="x-small")
        axes.grid(alpha=0.3)
    figure.supxlabel("seconds since wrk started", fontsize="small", y=0.02)
    figure.supylabel("completions per second", fontsize="small", x=0.01)
    return figure


def _shared_legend(figure, panels, columns: int) -> None:
    """One legend above small multiples, each label once."""
    handles = {}
    for axes in panels:
        for handle, label in zip(*axes.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if handles:
        figure.legend(handles.values(), handles.keys(), loc="upper center", ncols=columns,
                      fontsize="small", frameon=False)


def _probe_chart(data):
    figure, panels = _panels(len(data), 2, 1.9, top=0.6)
    for axes, d in zip(panels, data):
        if d["window"]:
            axes.axvspan(*d["window"], color=SHADE, alpha=0.18, linewidth=0,
                         label="wrk's heavy load ran")
        if d["stall"]:
            axes.axvspan(*d["stall"], facecolor="none", edgecolor=STALL, hatch="///",
                         linewidth=0, label="after wrk stopped: its request still served")
        axes.stairs(d["counts"], range(len(d["counts"]) + 1), baseline=None, color=BAR,
                    linewidth=1.5)
        axes.set_title(d["label"], fontsize="small")
        axes.set_ylim(bottom=0)
        axes.tick_params(labelsize="x-small")
        axes.grid(alpha=0.3)
    _shared_legend(figure, panels, 2)
    figure.supxlabel("seconds since the probe started", fontsize="small", y=0.02)
    figure.supylabel("probe answers per second", fontsize="small", x=0.01)
    return figure


def _open_chart(data):
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    figure, panels = _panels(len(data), 2, 1.9, top=0.6, sharex=False)
    for axes, d in zip(panels, data):
        rates = [p[0] for p in d["points"]]
        for index, colour, name in ((1, BAR, "p50"), (2, MODEL, "p99")):
            shown = [(p[0], p[index]) for p in d["points"] if p[index]]
            if shown:
                axes.plot(*zip(*shown), marker="o", color=colour, linewidth=1.5,
                          label=f"measured {name}")
        model = [(p[0], p[3]) for p in d["points"] if p[3]]
        if model:
            axes.plot(*zip(*model), linestyle="--", color="#555", linewidth=1,
                      label="the model's p50")
        if d["capacity"] and d["capacity"] <= 1.5 * max(rates):
            axes.axvline(d["capacity"], color=SHADE, linewidth=1.5,
                         label="modelled capacity")
        axes.set_yscale("log")
        # at least a factor of 4 in view, so that a flat line looks flat
        values = [v for p in d["points"] for v in p[1:] if v]
        low, high = min(values), max(values)
        axes.set_ylim(low * 0.8, max(high * 1.25, low * 4))
        axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_seconds(v)))
        axes.yaxis.set_minor_formatter(NullFormatter())
        axes.set_title(d["label"], fontsize="small")
        axes.tick_params(labelsize="x-small")
        axes.grid(alpha=0.3)
    _shared_legend(figure, panels, 4)
    figure.supxlabel("offered requests per second", fontsize="small", y=0.02)
    figure.supylabel("latency (log scale)", fontsize="small", x=0.01)
    return figure


DRAW = {"open": _open_chart, "rate": _rate_chart, "sweep": _sweep_chart, "latency": _latency_chart,
        "per-second": _per_second_chart, "probe": _probe_chart}
