"""The self-contained HTML report: the Markdown report's content, tables sortable, charts inline.

One file that opens anywhere without a network: CSS, the sorting script and the SVG
charts are all inside it (the method's citations are plain links, never loaded). Autoescaping is on, so a stored name like
`<script>alert(1)</script>` shows as text; only the charts (SVG that matplotlib wrote,
with its text already XML-escaped) are inserted as markup.
"""

import re
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from . import view

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def ticks(text: object) -> Markup:
    """Escaped text with Markdown's `code` spans as <code>, as the wiki shows them."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(str(text)))))


_ENV.filters["ticks"] = ticks


def inline_svg(svg: str) -> Markup:
    """An SVG file's text without its XML prolog and doctype, ready to sit inside HTML."""
    start = svg.find("<svg")
    return Markup(svg[start:] if start >= 0 else "")


def render(report: view.Report, charts: dict[str, str]) -> str:
    sections = [{"name": s.name, "title": s.title, "type": s.type, "wrk": s.wrk, "lead": s.lead,
                 "verdict": s.verdict, "fixes": s.fixes, "tables": s.tables,
                 "servers": s.servers,
                 "charts": [{"title": c.title, "svg": inline_svg(charts[c.name])}
                            for c in s.charts if c.name in charts]}
                for s in report.sections]
    return _ENV.get_template("report.html.j2").render(
        suite=report.suite, run_id=report.run_id, synthetic=report.synthetic,
        note=report.note, environment=report.environment, sections=sections,
        sessions=report.sessions, warning=report.warning, provenance=report.provenance,
        method=report.method, findings=report.findings, missing=report.missing)
