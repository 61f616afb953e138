"""The wiki report: GitHub-flavoured Markdown, the view's sections one after another.

Tables are plain pipe tables written here (no pandas); the page around them is a jinja2
template. Markdown passes raw HTML through, so every stored string is HTML-escaped, and
`|` is escaped so a reason with a pipe cannot split a table cell. Details are folded in
<details> elements, which GitHub's Markdown shows as in the HTML report.
"""

import html
import re
import textwrap
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


# prose lines longer than this are wrapped (tables, headings and HTML are left whole)
WIDTH = 100
# a line a paragraph's continuation must not start with: it would open a list, a quote, a
# heading, an HTML block or a setext underline
_OPENS_BLOCK = re.compile(r"^(?:[-+*>#<=]|\d+[.)](?:\s|$))")


def wrap_prose(text: str, width: int = WIDTH) -> str:
    """Markdown with its long prose lines (paragraphs, list items, quotes) wrapped at
    spaces, which renders the same; tables, headings, images, HTML and code stay whole."""
    out, fenced = [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        if fenced or len(line) <= width or line.startswith(("|", "#", "<", "!", "    ")):
            out.append(line)
            continue
        lead = re.match(r"^(?:> |- |\d+\. )?", line).group(0)
        rest = "  " if lead in ("- ",) else ("> " if lead == "> " else " " * len(lead))
        out.extend(_wrapped(line, width, lead, rest))
    return "\n".join(out)


def _wrapped(line: str, width: int, lead: str, rest: str) -> list[str]:
    pieces = textwrap.wrap(line[len(lead):], width - len(lead), break_long_words=False,
                           break_on_hyphens=False)
    joined: list[str] = []
    for piece in pieces:   # a piece that would open a block stays on the line before
        if joined and _OPENS_BLOCK.match(piece):
            joined[-1] += " " + piece
        else:
            joined.append(piece)
    return [lead + joined[0]] + [rest + piece for piece in joined[1:]]


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
    return wrap_prose(_ENV.get_template("report.md.j2").render(
        suite=suite, run_id=report.run_id, synthetic=report.synthetic, note=report.note,
        environment=report.environment, sections=sections,
        sessions=report.sessions, warning=report.warning,
        provenance=render_table(report.provenance), method=report.method,
        findings=report.findings, missing=report.missing))
