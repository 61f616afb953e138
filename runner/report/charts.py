"""Charts as SVG text, re-drawn only when what they show changed.

A load scenario has three: steady req/s against what the model allows (or, for a sweep
of worker counts, rate against workers per server type with the model's line beside
it), latency percentiles, and completions per second in small multiples; an
interference scenario has the probe's answers per second, one panel per heavy endpoint,
with the heavy load's window shaded and a stall after wrk stopped hatched.

Every label is whole: the endpoint and the server are wrapped onto as many lines as they
need (never shortened: configurations often differ only in their last words), and each
figure is as tall, and its left margin as wide, as its labels. The panels of one chart
share their y scale, unless a linear scale cannot show them all: when the panels' peaks
span more than 30x (1 req/s beside 45,000), each panel has its own and its title says
so. A series over time (completions per second, the probe's answers) is the median
repeat's, as the tables give medians (table.py and measures.py pick it).

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
LINE = 0.13  # inches: one line of "small" text (7.5 pt) with matplotlib's spacing
SPAN = 30    # panels whose peaks span more than this on a linear axis get their own scale
BAR_LABEL, PANEL_LABEL = 40, 46   # characters a label's line holds beside bars, above panels
NBSP = "\u00a0"
HASH = re.compile(r"<!-- chart input sha256:([0-9a-f]{64}) -->")
_SOURCE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _num(value) -> float | None:
    return None if is_missing(value) else float(value)


def _balanced(text: str, width: int) -> list[str]:
    """`text` on as few lines of at most `width` characters as it needs, those lines as
    even as they can be (no word left alone on the last); a word longer than `width`
    stays whole, and so does a bracket that fits on a line: "(and idle)"."""
    kept = re.sub(r"\([^()]*\)", lambda m: m[0].replace(" ", NBSP) if len(m[0]) <= width
                  else m[0], text)  # textwrap breaks at ASCII whitespace only

    def lines_of(at_most: int) -> list[str]:
        return textwrap.wrap(kept, at_most, break_long_words=False, break_on_hyphens=False)

    lines = lines_of(width)
    while width > 1 and len(narrower := lines_of(width - 1)) == len(lines):
        lines, width = narrower, width - 1
    return [line.replace(NBSP, " ") for line in lines] or [""]


def wrap(text: str, width: int) -> list[str]:
    """`text` whole on lines of at most `width` characters, broken at its commas first: a
    server's settings, where configurations differ, each start a line of their own unless
    the line before has room for them."""
    lines: list[str] = []
    for part in re.split(r"(?<=,) ", text):
        if lines and len(lines[-1]) + 1 + len(part) <= width:
            lines[-1] += " " + part
        else:
            lines += _balanced(part, width)
    return lines


def chart_label(row: CaseRow, width: int = BAR_LABEL) -> str:
    """The endpoint as a developer says it, then the server as it ran, each whole."""
    return "\n".join(wrap(str(row.label).replace("`", ""), width)
                     + wrap(cells.server_name(row), width))


def median_repeat(rates: list[float]) -> int:
    """The index of the repeat whose rate is the median (the lower middle of an even count,
    the first of equals): the rule table.py's `per_second` follows."""
    return sorted(range(len(rates)), key=lambda i: rates[i])[(len(rates) - 1) // 2]


# ---- what each chart shows: plain data ----

def _rate_data(rows):
    shown = [r for r in rows if cells.measured(r)]
    return [{"label": chart_label(r), "steady": _num(r.steady_rps),
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
    return [{"label": chart_label(r), **{f.header: _num(r.of(f)) for f in PERCENTILES}}
            for r in rows if cells.measured(r)
            and all(_num(r.of(f)) for f in PERCENTILES)]


def _per_second_data(rows):
    return [{"label": chart_label(r, PANEL_LABEL), "counts": list(r.per_second),
             "repeat": f"{median_repeat(r.repeat_rps) + 1} of {len(r.repeat_rps)}, "
                       "the median by req/s"}
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
        out.append({"label": chart_label(r, PANEL_LABEL), "counts": counts, "window": window,
                    "stall": stall, "repeat": f"the median of {r.runs} by the probe's "
                                              "mean rate during the heavy load"})
    return out


def _open_data(rows):
    out = []
    for r in rows:
        if not cells.open_measured(r):
            continue
        points = [[p.measured.offered_rps, p.measured.latency_s.p50, p.measured.latency_s.p99,
                   p.predicted_p50_s] for p in r.open_points]
        out.append({"label": chart_label(r, PANEL_LABEL),
                    "capacity": r.open_knee.capacity_rps, "points": points})
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


def _rows(labels: list[str], least: float = 0.5) -> tuple[list[float], float]:
    """Where each row of a bar chart sits, in inches from the top, and the rows' height in
    all: a row is as tall as its label's lines need, and at least `least`."""
    centres, at = [], 0.0
    for label in labels:
        height = max(least, LINE * (label.count("\n") + 1) + 0.14)
        centres.append(at + height / 2)
        at += height
    return centres, at


def _rate_chart(data):
    positions, height = _rows([d["label"] for d in data])
    figure = _figure(0.9 + height)
    axes = figure.add_subplot()
    steady = [d["steady"] or 0.0 for d in data]
    axes.barh(positions, steady, height=0.36, color=BAR, label="steady req/s")
    short = [(y, d["rps"]) for y, d in zip(positions, data) if d["steady"] is None]
    if short:  # a run too short for a steady state still shows what wrk counted
        axes.barh([y for y, _ in short], [v for _, v in short], height=0.36, color="none",
                  edgecolor=BAR, hatch="//", label="req/s incl. ramp (no steady state)")
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
    axes.set_ylim(height, 0)  # first row on top, as in the table
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
                  label="\n".join(wrap(line["label"], 50)))
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
    positions, height = _rows([d["label"] for d in data])
    figure = _figure(1.0 + height)
    axes = figure.add_subplot()
    names = [f.header for f in PERCENTILES]
    for first, (y, d) in enumerate(zip(positions, data)):
        axes.plot([d[names[0]], d[names[-1]]], [y, y], color="#999", linewidth=1, zorder=1)
        for i, name in enumerate(names):
            axes.scatter([d[name]], [y], marker=MARKERS[i], color=COLOURS[i], zorder=2,
                         label=name if first == 0 else None)
    axes.set_xscale("log")
    # 1-2-5 steps label narrow ranges too (a 1.0-1.1 s scenario has no decade inside it)
    axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_seconds(v)))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.margins(x=0.1)
    axes.set_yticks(positions, [d["label"] for d in data], fontsize="small")
    axes.set_ylim(height, 0)
    axes.set_xlabel("latency, median of repeats (log scale)")
    axes.grid(axis="x", which="major", alpha=0.3)
    figure.legend(loc="outside lower center", ncols=3, fontsize="small")
    return figure


def one_scale(peaks: list[float]) -> bool:
    """Whether one linear y scale shows every panel: their peaks span at most SPAN times
    (beside a 45,000 req/s panel, a 1 req/s one would be a flat line at zero)."""
    peaks = [p for p in peaks if p and p > 0]
    return not peaks or max(peaks) <= SPAN * min(peaks)


def _panels(titles: list[str], columns: int, height: float, top: float, sharex: bool = True,
            sharey: bool = False):
    """Small multiples laid out by hand in inches (the constrained layout engine takes most
    of the drawing time with a dozen panels): `top` for a legend, above each row of panels
    room for its longest title, below it room for tick labels where they show (with a
    shared x axis, under each column's lowest panel)."""
    count = len(titles)
    rows = [range(r, min(r + columns, count)) for r in range(0, count, columns)]
    ticked = [not sharex or i + columns >= count for i in range(count)]
    above = [LINE * max(titles[i].count("\n") + 1 for i in row) + 0.12 for row in rows]
    below = [0.3 if any(ticked[i] for i in row) else 0.12 for row in rows]
    total = top + sum(above) + height * len(rows) + sum(below) + 0.25
    width = (WIDTH - 0.75 - 0.15 - 0.9 * (columns - 1)) / columns
    figure = _figure(total, layout=None)
    panels: list = []
    at = top
    for row, space_above, space_below in zip(rows, above, below):
        at += space_above
        for i in row:
            first = panels[0] if panels else None
            axes = figure.add_axes(
                ((0.75 + (i % columns) * (width + 0.9)) / WIDTH, 1 - (at + height) / total,
                 width / WIDTH, height / total),
                sharex=first if sharex else None, sharey=first if sharey else None)
            axes.set_title(titles[i], fontsize="small")
            axes.tick_params(labelsize="x-small", labelbottom=ticked[i])
            axes.grid(alpha=0.3)
            panels.append(axes)
        at += height + space_below
    return figure, panels


def _titles(data, shared: bool) -> list[str]:
    """Each panel's label; with scales of their own, each says so, and how high it reaches."""
    return [d["label"] if shared else
            f"{d['label']}\n(own y scale: peak {format_number(max(d['counts']))}/s)"
            for d in data]


def _axis_labels(figure, x: str, y: str) -> None:
    height = figure.get_figheight()
    figure.supxlabel(x, fontsize="small", y=0.06 / height)
    figure.supylabel(y, fontsize="small", x=0.01)


def _per_second_chart(data):
    shared = one_scale([max(d["counts"]) for d in data])
    figure, panels = _panels(_titles(data, shared), 2, 0.85, top=0.1, sharey=shared)
    for axes, d in zip(panels, data):
        axes.stairs(d["counts"], range(len(d["counts"]) + 1), baseline=None, color=BAR,
                    linewidth=1.5)
    for axes in panels:  # after every series is drawn: a shared scale holds them all
        axes.set_ylim(bottom=0)
    _axis_labels(figure, "seconds since wrk started, in the median repeat",
                 "completions per second")
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
    shared = one_scale([max(d["counts"]) for d in data])
    figure, panels = _panels(_titles(data, shared), 2, 1.3, top=0.35, sharey=shared)
    for axes, d in zip(panels, data):
        if d["window"]:
            axes.axvspan(*d["window"], color=SHADE, alpha=0.18, linewidth=0,
                         label="wrk's heavy load ran")
        if d["stall"]:
            axes.axvspan(*d["stall"], facecolor="none", edgecolor=STALL, hatch="///",
                         linewidth=0, label="after wrk stopped: its request still served")
        axes.stairs(d["counts"], range(len(d["counts"]) + 1), baseline=None, color=BAR,
                    linewidth=1.5)
    for axes in panels:
        axes.set_ylim(bottom=0)
    _shared_legend(figure, panels, 2)
    _axis_labels(figure, "seconds since the probe started, in the median repeat",
                 "probe answers per second")
    return figure


def _open_chart(data):
    """On one log latency axis: a log scale shows any span, so the panels always share it."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    figure, panels = _panels([d["label"] for d in data], 2, 1.3, top=0.35, sharex=False,
                             sharey=True)
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
    # at least a factor of 4 in view, so that a flat line looks flat; 1-2-5 steps unless
    # that crowds the panel's height with more than a dozen ticks
    values = [v for d in data for p in d["points"] for v in p[1:] if v] or [1.0]
    low, high = min(values) * 0.8, max(max(values) * 1.25, min(values) * 4)
    subs = (1.0, 2.0, 5.0) if high / low <= 300 else (1.0,)
    for axes in panels:
        axes.set_yscale("log")
        axes.set_ylim(low, high)
        axes.yaxis.set_major_locator(LogLocator(subs=subs))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_seconds(v)))
        axes.yaxis.set_minor_formatter(NullFormatter())
    _shared_legend(figure, panels, 4)
    _axis_labels(figure, "offered requests per second", "latency (one log scale for all)")
    return figure


DRAW = {"open": _open_chart, "rate": _rate_chart, "sweep": _sweep_chart, "latency": _latency_chart,
        "per-second": _per_second_chart, "probe": _probe_chart}
