"""Charts as SVG text, one pair per scenario: req/s with its spread, latency percentiles.

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
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from . import view
from .table import build_rows

PERCENTILES = ("p50", "p75", "p90", "p99")


def _svg(figure: Figure, salt: str) -> str:
    # a salt per chart keeps clip-path ids distinct when several SVGs share one HTML page
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _rps_chart(title: str, rows: list[dict]) -> Figure:
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


def _latency_chart(title: str, rows: list[dict]) -> Figure:
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


def _plottable(row: dict) -> bool:
    return (not view.is_missing(row["rps_median"])
            and all(not view.is_missing(row[f"lat_{p}"]) and row[f"lat_{p}"] > 0
                    for p in PERCENTILES))


def render(run: dict, cases: list[dict]) -> dict[str, str]:
    """Chart name (e.g. "sleep-rps") -> SVG text, for each scenario with measured rows."""
    frame = build_rows(view.ordered_cases(run, cases))
    charts = {}
    with matplotlib.style.context(["default", {"svg.fonttype": "none"}]):
        for scenario in dict.fromkeys(frame["scenario"]):
            part = frame[frame["scenario"] == scenario]
            rows = [r for r in part.to_dict("records") if _plottable(r)]
            if not rows:
                continue
            title = str(part["title"].iloc[0] or scenario)
            rps, latency = view.chart_specs(str(scenario))
            charts[rps.name] = _svg(_rps_chart(title, rows), rps.name)
            charts[latency.name] = _svg(_latency_chart(title, rows), latency.name)
    return charts
