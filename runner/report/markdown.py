"""The wiki report: GitHub-flavoured Markdown, the view's sections one after another.

Tables are plain pipe tables written here (no pandas); the page around them is a jinja2
template. Markdown passes raw HTML through, so every stored string is HTML-escaped, and
`|` is escaped so a reason with a pipe cannot split a table cell. Details are folded in
<details> elements, which GitHub's Markdown shows as in the HTML report.
"""

import html
from pathlib import Path

import jinja2

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
    """A pipe table, numbers right-aligned, padded so the source reads as a table too."""
    header = [escape_md(c.header) for c in table.columns]
    body = [[escape_md(cell.text) for cell in row.cells] for row in table.rows]
    widths = [max(3, len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]

    def line(cells):
        return "| " + " | ".join(
            cell.rjust(w) if c.numeric else cell.ljust(w)
            for cell, w, c in zip(cells, widths, table.columns)) + " |"
    rule = "|" + "|".join((("-" * (w + 1) + ":") if c.numeric else (":" + "-" * (w + 1)))
                          for w, c in zip(widths, table.columns)) + "|"
    return "\n".join([line(header), rule, *map(line, body)])


def chart_path(suite: str, name: str) -> str:
    """Where render_all writes a chart, relative to the Markdown file."""
    return f"charts/{suite}-{name}.svg"


def render(report: view.Report, charts: dict[str, str]) -> str:
    suite = report.suite
    sections = [{"name": s.name, "title": s.title, "type": s.type, "wrk": s.wrk, "lead": s.lead,
                 "verdict": render_table(s.verdict), "notes": s.verdict.notes,
                 "fixes": render_table(s.fixes) if s.fixes else None,
                 "tables": [{"title": t.title, "text": render_table(t)} for t in s.tables],
                 "servers": s.servers,
                 "charts": [{"title": c.title, "path": chart_path(suite, c.name)}
                            for c in s.charts if c.name in charts]}
                for s in report.sections]
    return _ENV.get_template("report.md.j2").render(
        suite=suite, run_id=report.run_id, synthetic=report.synthetic, note=report.note,
        environment=report.environment, sections=sections,
        sessions=report.sessions, warning=report.warning,
        provenance=render_table(report.provenance), method=report.method,
        findings=report.findings, missing=report.missing)
