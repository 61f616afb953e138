"""Reports from stored raw results: load a run folder, render every format, write files.

`render_all` is pure (stored dicts in, file contents out); `load_run` and
`write_reports` are the only functions here that touch the disk. A run folder is
`reports/raw/<suite>/<run_id>/` with `run.json` and one file per case (docs/formats.md).
Nothing heavy is imported here: charts import matplotlib only to draw a chart whose input
changed, and only `table.build_rows` imports pandas.
"""

import json
import re
from collections.abc import Callable
from pathlib import Path

from ..errors import BenchError
from ..results import FORMAT as CASE_FORMAT, RUN_FORMAT, VERSIONS
from . import charts, html, markdown, readme, view

STATUSES = {"ok", "failed", "na"}
RUN_ID = re.compile(r"\d{8}T\d{6}Z")


def render_all(run: dict, cases: list[dict],
               previous: dict[str, str] | None = None) -> dict[str, str]:
    """Relative output path -> file content: `<suite>.md`, `<suite>.html`, `charts/*.svg`.

    `previous` maps output paths to what is there now; a chart whose input did not change
    is taken from it instead of being drawn again."""
    suite = view.suite_name(run, cases)
    old = {name: (previous or {}).get(markdown.chart_path(suite, name))
           for name in charts.plan(run, cases)}
    svgs = charts.render(run, cases, {k: v for k, v in old.items() if v is not None})
    files = {f"{suite}.md": markdown.render(run, cases, svgs),
             f"{suite}.html": html.render(run, cases, svgs)}
    files.update({markdown.chart_path(suite, name): svg for name, svg in svgs.items()})
    return files


def _check_header(data: object, expected_format: str) -> str | None:
    if not isinstance(data, dict):
        return f"expected a JSON object, found {type(data).__name__}"
    if data.get("format") != expected_format:
        return f"not a {expected_format} file (format {data.get('format')!r})"
    if data.get("version") not in VERSIONS:
        return (f"unknown version {data.get('version')!r} of {expected_format}; "
                f"this reader knows {', '.join(map(str, sorted(VERSIONS)))}")
    return None


def check_case(data: object) -> str | None:
    """Why `data` is not a case file this reader can render, or None if it is."""
    problem = _check_header(data, CASE_FORMAT)
    if problem:
        return problem
    case = data.get("case")
    if not isinstance(case, dict) or not all(isinstance(case.get(k), str)
                                             for k in ("scenario", "impl", "kind")):
        return "case.scenario, case.impl and case.kind must be strings"
    if data.get("status") not in STATUSES:
        return f"status {data.get('status')!r} is not one of ok, failed, na"
    if not isinstance(data.get("runs"), list):
        return "runs must be a list"
    return None


def _read_json(path: Path) -> tuple[object, str | None]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"not readable JSON ({exc})"


def load_run(run_dir: Path) -> tuple[dict, list[dict], list[str]]:
    """run.json, the case files in name order, and one line per file that was skipped.

    One corrupt, foreign or stray file never stops a report: it is named in `problems`
    and left out. A missing folder is the caller's mistake and raises BenchError.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BenchError("no such run folder", file=str(run_dir))
    problems: list[str] = []
    run: dict = {}
    run_path = run_dir / "run.json"
    if not run_path.is_file():
        problems.append(f"{run_path}: missing; the report has no environment or suite facts")
    else:
        data, problem = _read_json(run_path)
        # run.json written before it carried a format tag is still accepted
        if problem is None and isinstance(data, dict) and "format" not in data:
            data = {**data, "format": RUN_FORMAT, "version": data.get("version", 1)}
        problem = problem or _check_header(data, RUN_FORMAT)
        if problem:
            problems.append(f"{run_path}: {problem}; skipped")
        else:
            run = data
    cases = []
    for path in sorted(run_dir.glob("*.json")):
        if path.name == "run.json":
            continue
        data, problem = _read_json(path)
        problem = problem or check_case(data)
        expected = run.get("run_id")
        if problem is None and expected and data.get("run_id") not in (None, expected):
            problem = f"belongs to run {data['run_id']}, not {expected}"
        if problem:
            problems.append(f"{path}: {problem}; skipped")
        else:
            cases.append(data)
    return run, cases, problems


def write_reports(run_dir: Path, out_dir: Path,
                  on_problem: Callable[[str], None] | None = None) -> list[Path]:
    """Render the stored run in `run_dir` into `out_dir`; the written paths, sorted.

    Files that could not be used are passed to `on_problem` (one line each) and skipped.
    The charts of this suite already in `out_dir` are reused where their input did not
    change, and those the report no longer has are removed. A README.md beside `out_dir`
    with this suite's summary markers (readme.py) gets its summary rewritten.
    """
    run, cases, problems = load_run(run_dir)
    for problem in problems:
        if on_problem:
            on_problem(problem)
    out_dir = Path(out_dir)
    suite = view.suite_name(run, cases)
    existing = {p.relative_to(out_dir).as_posix(): p
                for p in (out_dir / "charts").glob(f"{suite}-*.svg")}
    previous = {rel: p.read_text(encoding="utf-8") for rel, p in existing.items()}
    written = []
    for relative, text in render_all(run, cases, previous).items():
        path = out_dir / relative
        if previous.get(relative) != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        written.append(path)
    for relative, path in existing.items():
        if path not in written:
            path.unlink()
    notes = out_dir.parent / "README.md"
    if notes.is_file():
        text = notes.read_text(encoding="utf-8")
        updated = readme.update(text, suite, readme.summary(run, cases, run_dir, out_dir.parent))
        if updated != text:
            notes.write_text(updated, encoding="utf-8")
            written.append(notes)
    return sorted(written)


def latest_run_dir(raw_root: Path, suite: str) -> Path | None:
    """The newest run folder of `suite` under `raw_root` (run ids sort as UTC times)."""
    base = Path(raw_root) / suite
    runs = [p for p in base.iterdir() if p.is_dir() and RUN_ID.fullmatch(p.name)] \
        if base.is_dir() else []
    return max(runs, default=None, key=lambda p: p.name)
