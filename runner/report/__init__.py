"""Reports from stored raw results: load a run folder, render every format, write files.

`render_all` is pure (stored records in, file contents out): it builds the run's one
`view.Report` and hands it to the Markdown, HTML and chart renderers. `write_reports` is
the only function here that touches the disk; runner/store/results.py reads the run folder
(`reports/raw/<suite>/<run_id>/`, run.json and one file per case, docs/formats.md).
Nothing heavy is imported here: charts import matplotlib only to draw a chart whose input
changed, and only `table.build_rows` imports pandas.
"""

from collections.abc import Callable
from pathlib import Path

from ..store.results import StoredCase, StoredRunFile, latest_run_dir, load_run  # noqa: F401
from . import charts, html, markdown, readme, view
from .findings import Guide


def render(report: view.Report, previous: dict[str, str] | None = None) -> dict[str, str]:
    """Relative output path -> file content: `<suite>.md`, `<suite>.html`, `charts/*.svg`.

    `previous` maps output paths to what is there now; a chart whose input did not change
    is taken from it instead of being drawn again."""
    old = {name: (previous or {}).get(markdown.chart_path(report.suite, name))
           for name in charts.plan(report)}
    svgs = charts.render(report, {k: v for k, v in old.items() if v is not None})
    files = {f"{report.suite}.md": markdown.render(report, svgs),
             f"{report.suite}.html": html.render(report, svgs)}
    files.update({markdown.chart_path(report.suite, name): svg for name, svg in svgs.items()})
    return files


def render_all(run: StoredRunFile | dict | None, cases: list[StoredCase] | list[dict],
               previous: dict[str, str] | None = None) -> dict[str, str]:
    """`render` of the report of a stored run (records, or their JSON)."""
    return render(view.build(run, cases), previous)


def write_reports(run_dir: Path, out_dir: Path,
                  on_problem: Callable[[str], None] | None = None,
                  guide: Guide | None = None) -> list[Path]:
    """Render the stored run in `run_dir` into `out_dir`; the written paths, sorted.

    Files that could not be used are passed to `on_problem` (one line each) and skipped.
    The charts of this suite already in `out_dir` are reused where their input did not
    change, and those the report no longer has are removed. A README.md beside `out_dir`
    with this suite's summary markers (readme.py) gets its summary rewritten, unless files
    were skipped: a summary missing rows is not published. `guide`: the
    suite's questions and the implementations' fixes, for the Findings (findings.py).
    """
    run, cases, problems = load_run(run_dir)
    for problem in problems:
        if on_problem:
            on_problem(problem)
    out_dir = Path(out_dir)
    # the page names what it leaves out, by file name (no path of this machine)
    missing = [problem.replace(f"{Path(run_dir)}/", "") for problem in problems]
    report = view.build(run, cases, guide, missing)
    suite = report.suite
    existing = {p.relative_to(out_dir).as_posix(): p
                for p in (out_dir / "charts").glob(f"{suite}-*.svg")}
    previous = {rel: p.read_text(encoding="utf-8") for rel, p in existing.items()}
    written = []
    for relative, text in render(report, previous).items():
        path = out_dir / relative
        if previous.get(relative) != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        written.append(path)
    for relative, path in existing.items():
        if path not in written:
            path.unlink()
    notes = out_dir.parent / "README.md"
    if notes.is_file() and not problems:
        text = notes.read_text(encoding="utf-8")
        page = f"{out_dir.name}/{suite}.md"
        updated = readme.update(text, suite, readme.summary(report, page))
        if updated != text:
            notes.write_text(updated, encoding="utf-8")
            written.append(notes)
    return sorted(written)
