"""Charts as SVG text. A load scenario has four: req/s with its spread, steady-state req/s
against the model's ceiling, latency percentiles, completions per second; an interference
scenario has the probe's completions per second with the heavy load's window shaded.

SVG so the wiki shows the same pictures as the HTML report, which inlines them. Figures
are built with matplotlib's object API (`Figure`, no pyplot): nothing is registered with
a backend or kept in pyplot's global figure list, so there is nothing to close, and
style settings apply only inside a context manager. Output is byte-for-byte repeatable
for snapshot tests: Matplotlib's default style (not the user's matplotlibrc), a fixed
`svg.hashsalt` for element ids, no date in the metadata, and text kept as <text>
(svg.fonttype "none") instead of glyph outlines.
"""

import io

import matplotlib
import matplotlib.style
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from . import view
from .table import build_rows

PERCENTILES = ("p50", "p75", "p90", "p99")


def _svg(figure: Figure, salt: str) -> str:
    # a salt per chart keeps clip-path ids distinct when several SVGs share one HTML page
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _rps_chart(title: str, rows: list[dict]) -> Figure | None:
    figure = Figure(figsize=(8, 1.4 + 0.45 * len(rows)), layout="constrained")
    axes = figure.add_subplot()
    medians = [r["rps_median"] for r in rows]
    spread = [[m - r["rps_min"] for m, r in zip(medians, rows)],
              [r["rps_max"] - m for m, r in zip(medians, rows)]]
    positions = range(len(rows))
    axes.barh(positions, medians, xerr=spread, capsize=4, color="#4c78a8")
    axes.set_yticks(positions, [view.row_label(r) for r in rows])
    axes.invert_yaxis()  # first row on top, as in the table
    axes.set_xlabel("requests per second (median of repeats; bars: min to max)")
    axes.set_title(title)
    axes.grid(axis="x", alpha=0.3)
    return figure


def _latency_chart(title: str, rows: list[dict]) -> Figure | None:
    figure = Figure(figsize=(8, 4 + 0.25 * len(rows)), layout="constrained")
    axes = figure.add_subplot()
    for row in rows:
        axes.plot(PERCENTILES, [row[f"lat_{p}"] for p in PERCENTILES], marker="o",
                  label=view.row_label(row))
    axes.set_yscale("log")
    # 1-2-5 steps label narrow ranges too (a 1.0-1.1 s scenario has no decade inside it)
    axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda y, _: view.format_seconds(y)))
    axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_ylabel("latency (median of repeats)")
    axes.set_title(title)
    axes.grid(which="major", alpha=0.3)
    figure.legend(loc="outside lower center", fontsize="small")
    return figure


def _ceiling_chart(title: str, rows: list[dict]) -> Figure | None:
    rows = [r for r in rows if not view.is_missing(r["ceiling_rps"])]
    if not rows:
        return None
    figure = Figure(figsize=(8, 1.6 + 0.45 * len(rows)), layout="constrained")
    axes = figure.add_subplot()
    positions = list(range(len(rows)))
    steady = [0.0 if view.is_missing(r["steady_rps"]) else r["steady_rps"] for r in rows]
    ceilings = [r["ceiling_rps"] for r in rows]
    label = ("steady req/s (median of repeats)"
             if any(not view.is_missing(r["steady_rps"]) for r in rows) else None)
    axes.barh(positions, steady, color="#4c78a8", label=label)
    short = [(y, r["rps_median"]) for y, r in zip(positions, rows)
             if view.is_missing(r["steady_rps"])]
    if short:  # a run too short for a steady state still shows what wrk counted
        axes.barh([y for y, _ in short], [v for _, v in short], color="none",
                  edgecolor="#4c78a8", hatch="//", label="wrk req/s (run too short for steady)")
    axes.scatter(ceilings, positions, marker="|", s=500, linewidths=3, color="#e45756",
                 zorder=3, label="model ceiling")
    for y, row, value in zip(positions, rows, steady):
        if not view.is_missing(row["efficiency"]):
            axes.annotate(f"{row['efficiency']:.2f}", (max(value, row["ceiling_rps"]), y),
                          xytext=(8, 0), textcoords="offset points", va="center",
                          fontsize="small")
    values = [v for v in steady + ceilings + [v for _, v in short] if v > 0]
    if values and max(values) / min(values) > 30:  # a 1 req/s row beside a 100 req/s one
        axes.set_xscale("log")
    axes.margins(x=0.12)
    axes.set_yticks(positions, [view.row_label(r) for r in rows])
    axes.invert_yaxis()
    axes.set_xlabel("requests per second; numbers: efficiency")
    axes.set_title(title)
    axes.grid(axis="x", alpha=0.3)
    figure.legend(loc="outside lower center", ncols=2, fontsize="small", markerscale=0.5)
    return figure


def _timeline(title: str, series: list[tuple[str, list]], ylabel: str, xlabel: str,
              window: tuple[float, float] | None = None) -> Figure:
    """One step line per series of per-second counts; bucket i spans seconds i to i + 1."""
    figure = Figure(figsize=(8, 4 + 0.25 * len(series)), layout="constrained")
    axes = figure.add_subplot()
    if window is not None:
        axes.axvspan(*window, color="#f58518", alpha=0.15, label="heavy load")
    for label, counts in series:
        axes.stairs(counts, range(len(counts) + 1), baseline=None, linewidth=1.8, label=label)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_ylim(bottom=0)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    figure.legend(loc="outside lower center", fontsize="small")
    return figure


def _per_second_chart(title: str, rows: list[dict]) -> Figure | None:
    series = [(view.row_label(r), r["per_second"]) for r in rows if r["per_second"]]
    if not series:
        return None
    return _timeline(title, series, "completions per second (first repeat)",
                     "seconds since wrk started")


def _probe_chart(title: str, rows: list[dict]) -> Figure | None:
    rows = [r for r in rows if r["probe_per_second"]]
    if not rows:
        return None
    window = next((r["heavy_window"] for r in rows if r["heavy_window"]), None)
    series = [(f"{view.row_label(r)} (heavy)", r["probe_per_second"]) for r in rows]
    return _timeline(title, series, "probe completions per second (first repeat)",
                     "seconds since the probe started", window)


def _plottable(row: dict) -> bool:
    return (not view.is_missing(row["rps_median"])
            and all(not view.is_missing(row[f"lat_{p}"]) and row[f"lat_{p}"] > 0
                    for p in PERCENTILES))


DRAW = {"rps": _rps_chart, "ceiling": _ceiling_chart, "latency": _latency_chart,
        "per-second": _per_second_chart, "probe": _probe_chart}


def render(run: dict, cases: list[dict]) -> dict[str, str]:
    """Chart name (e.g. "sleep-rps") -> SVG text, for each scenario with measured rows."""
    frame = build_rows(view.ordered_cases(run, cases))
    charts = {}
    with matplotlib.style.context(["default", {"svg.fonttype": "none"}]):
        for scenario in dict.fromkeys(frame["scenario"]):
            part = frame[frame["scenario"] == scenario]
            records = part.to_dict("records")
            rows = [r for r in records if _plottable(r)]
            # a probe's timeline counts even when the heavy load completed nothing in its
            # window (its latency is then missing): that is the stall the chart shows
            probed = [r for r in records if r["status"] == "ok"]
            title = str(part["title"].iloc[0] or scenario)
            for spec in view.chart_specs(str(scenario), view.scenario_type(part)):
                name = spec.name.removeprefix(f"{scenario}-")
                chosen = probed if name == "probe" else rows
                if not chosen:
                    continue
                figure = DRAW[name](title, chosen)
                if figure is not None:
                    charts[spec.name] = _svg(figure, spec.name)
    return charts
