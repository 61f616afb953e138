"""The wiki report: GitHub-flavoured Markdown, the view's tables one after another.

Tables come from pandas (`DataFrame.to_markdown`, through tabulate); the page around
them is a jinja2 template. Markdown passes raw HTML through, so every stored string is
HTML-escaped, and `|` is escaped so a reason with a pipe cannot split a table cell.
"""

import html
from pathlib import Path

import jinja2
import pandas as pd

from . import view

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                          autoescape=False, undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def escape_md(text: object) -> str:
    """Stored text -> Markdown that shows it literally, on one line, safe in a table cell."""
    one_line = " ".join(str(text).split())
    return html.escape(one_line, quote=False).replace("|", "\\|")


_ENV.filters["md"] = escape_md


def render_table(table: view.Table) -> str:
    frame = pd.DataFrame([[escape_md(cell.text) for cell in row.cells] for row in table.rows],
                         columns=[escape_md(c.header) for c in table.columns])
    align = ["right" if c.numeric else "left" for c in table.columns]
    # numparse off: cells are already formatted text and must come out unchanged
    return frame.to_markdown(index=False, tablefmt="pipe", colalign=align,
                             disable_numparse=True)


def chart_path(suite: str, name: str) -> str:
    """Where render_all writes a chart, relative to the Markdown file."""
    return f"charts/{suite}-{name}.svg"


def render(run: dict, cases: list[dict], charts: dict[str, str]) -> str:
    suite = view.suite_name(run, cases)
    sections = [{"name": s.name, "title": s.title, "wrk": s.wrk, "lead": s.lead,
                 "tables": [{"title": t.title, "text": render_table(t)} for t in s.tables],
                 "charts": [{"title": c.title, "path": chart_path(suite, c.name)}
                            for c in s.charts if c.name in charts]}
                for s in view.compute_sections(run, cases)]
    return _ENV.get_template("report.md.j2").render(
        suite=suite, run_id=view.run_id(run, cases), synthetic=bool(run.get("synthetic")),
        note=run.get("note"), environment=view.environment_block(run, cases),
        sections=sections, method=view.method(run, cases))
