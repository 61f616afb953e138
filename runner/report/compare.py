"""Two stored runs side by side: the change in median req/s and in each latency figure
declared for it (figures.py: p99 and p99.9), row by row.

`compare_rows` and `render_compare` are pure (two reports' rows in, a table and its text
out): each run is read into its one report (`runner.report.view.build`), the same object
the Markdown and HTML reports are rendered from, and its numbers are formatted by the
reports' own units.py. `run_compare` is the thin effect that reads two run folders with
`runner.store.results.load_run`. Rows are matched by case id; run A is the baseline and every
change is B relative to A.

Which rate: the steady-state rate of each repeat (the reports' headline: completions per
second once the first answers arrived and before the last partial second), where every
repeat of both runs has one; otherwise wrk's whole-run req/s, which includes the ramp, and
the row says so (`rate` column).

When is a change real? Each run measured a case a few times (the suite's `repeats`), so
each run has a min-max range of req/s over its repeats, and of p99 over its repeats. A
change counts as real only when the two runs' ranges do not overlap: then every repeat of
B was faster (or slower) than every repeat of A. Overlapping ranges are "within spread".
A run with a single repeat has no range to speak of (a point never overlaps another
point, so noise would always look real): such a row gets no verdict, "no spread".
"""

import sys
from pathlib import Path

from ..errors import BenchError
from . import markdown, view
from .cells import Cell, Row, Table, header
from .figures import Figure, Place, placed
from .table import CaseRow
from ..units import MISSING, format_percent, format_rps, format_seconds, is_missing
from ..store.results import StoredRunFile, load_run
from ..stats import summarize
from ..terms import Status

# fewer repeats than this on either side and a row has no range to compare
MIN_REPEATS = 2

FASTER, SLOWER, WITHIN = "faster", "slower", "within spread"
ONLY_A, ONLY_B = "only in A", "only in B"
FAILED_A, FAILED_B, FAILED_BOTH = "failed in A", "failed in B", "failed in both"
NA_A, NA_B, NA_BOTH = "n/a in A", "n/a in B", "n/a"
NO_SPREAD, NO_DATA = "no spread", "no data"

RULE = ("A change is real only when the two runs' min-max ranges over their repeats do "
        "not overlap (req/s for the req/s verdict, each repeat's latency percentile for "
        "that percentile's verdict); overlapping ranges are \"within spread\", and a row "
        f"with fewer than {MIN_REPEATS} repeats in either run has no range (\"no spread\"). "
        "For a latency, \"faster\" means lower. Change is B relative to A.")

STEADY, RAMP = "steady", "incl. ramp"

COMPARED = placed(Place.COMPARE)   # beside the rate, lower is better for each


def name(figure: Figure) -> str:
    """A compared figure's prefix in a comparison row: p99, p99_9."""
    return figure.header.replace(".", "_")


def _range(prefix: str) -> list[str]:
    return [prefix, f"{prefix}_min", f"{prefix}_max"]


def _both_sides(prefix: str) -> list[str]:
    return [f"{key}_{side}" for side in ("a", "b") for key in _range(prefix)]


COLUMNS = (["id", "scenario", "impl", "server", "kind", "params",
            "status_a", "status_b", "repeats_a", "repeats_b", "rate",
            *_both_sides("rps"), "rps_change_pct", "verdict"]
           + [c for f in COMPARED
              for c in (*_both_sides(name(f)), f"{name(f)}_change_pct", f"{name(f)}_verdict")])
SIDE = ("status", "repeats", *_range("rps"), *(c for f in COMPARED for c in _range(name(f))))


def _side(row: CaseRow, steady: bool) -> dict:
    """One report row -> its status, repeats, rate and each compared figure's median and
    min-max; the rate is each repeat's steady-state rate when `steady`, else wrk's whole-run
    req/s."""
    rps = summarize(row.repeat_steady if steady else row.repeat_rps)
    out = {"status": row.status, "repeats": row.runs,
           "rps": rps.median, "rps_min": rps.min, "rps_max": rps.max}
    for figure in COMPARED:
        found = summarize([v for v in row.repeats[figure.key] if v is not None])
        out.update(zip(_range(name(figure)), (found.median, found.min, found.max)))
    return out


def _change_pct(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or a == 0:
        return None
    return (b - a) / a * 100.0


def _status_verdict(a: dict | None, b: dict | None) -> str | None:
    """The verdict when the numbers cannot be compared, else None."""
    if a is None:
        return ONLY_B
    if b is None:
        return ONLY_A
    failed_a, failed_b = a["status"] == Status.FAILED, b["status"] == Status.FAILED
    if failed_a or failed_b:
        return FAILED_BOTH if failed_a and failed_b else FAILED_A if failed_a else FAILED_B
    na_a, na_b = a["status"] != Status.OK, b["status"] != Status.OK
    if na_a or na_b:
        return NA_BOTH if na_a and na_b else NA_A if na_a else NA_B
    return None


def range_verdict(a: dict, b: dict, key: str, higher_is_better: bool) -> str:
    """faster / slower / within spread / no spread / no data for one quantity `key`.

    The rule: a change is real only when [min A, max A] and [min B, max B] do not overlap.
    """
    lo_a, hi_a, lo_b, hi_b = (a[f"{key}_min"], a[f"{key}_max"],
                              b[f"{key}_min"], b[f"{key}_max"])
    if None in (lo_a, hi_a, lo_b, hi_b, a[key], b[key]):
        return NO_DATA
    if min(a["repeats"], b["repeats"]) < MIN_REPEATS:
        return NO_SPREAD
    if lo_a <= hi_b and lo_b <= hi_a:
        return WITHIN
    b_higher = lo_b > hi_a
    return FASTER if b_higher == higher_is_better else SLOWER


def compare_rows(a: view.Report | list, b: view.Report | list) -> list[dict]:
    """One row (a dict of COLUMNS) per case id found in either run; A's order, then B-only
    cases. Each side is a report, or the stored cases to build one from. Values stay in base
    units (req/s, seconds); changes are percent of A."""
    rows_a, rows_b = ({row.id: row for row in
                       (side if isinstance(side, view.Report) else view.build(None, side)).rows}
                      for side in (a, b))
    out = []
    for case_id in dict.fromkeys([*rows_a, *rows_b]):
        row_a, row_b = rows_a.get(case_id), rows_b.get(case_id)
        first = row_a or row_b
        present = [r for r in (row_a, row_b) if r is not None]
        steady = all(r.repeat_steady is not None for r in present)
        sa = _side(row_a, steady) if row_a is not None else None
        sb = _side(row_b, steady) if row_b is not None else None
        verdict = _status_verdict(sa, sb)
        sa, sb = sa or dict.fromkeys(SIDE), sb or dict.fromkeys(SIDE)
        row = {"id": case_id, "scenario": first.scenario, "impl": first.impl,
               "server": first.server_label, "kind": first.kind, "params": first.params,
               "rate": (STEADY if steady else RAMP) if any(r.runs for r in present)
               else None,
               "verdict": verdict or range_verdict(sa, sb, "rps", higher_is_better=True),
               "rps_change_pct": _change_pct(sa["rps"], sb["rps"])}
        for prefix in map(name, COMPARED):
            row[f"{prefix}_verdict"] = verdict or range_verdict(sa, sb, prefix,
                                                                 higher_is_better=False)
            row[f"{prefix}_change_pct"] = _change_pct(sa[prefix], sb[prefix])
        for suffix, side in (("a", sa), ("b", sb)):
            row.update({f"{key}_{suffix}": value for key, value in side.items()})
        out.append({key: row[key] for key in COLUMNS})
    return out


def _both(a, b) -> str:
    a, b = (MISSING if is_missing(v) else str(v) for v in (a, b))
    return a if a == b else f"{a}/{b}"


def summary_line(rows: list[dict]) -> str:
    """'req/s: 2 faster, 1 slower, 5 within spread, 1 only in one run; ...' for `rows`."""
    def counts(column: str) -> str:
        values = [row[column] for row in rows]
        parts = [f"{values.count(FASTER)} faster", f"{values.count(SLOWER)} slower",
                 f"{values.count(WITHIN)} within spread",
                 f"{values.count(ONLY_A) + values.count(ONLY_B)} only in one run"]
        extra = {"failed": sum(v.startswith("failed") for v in values),
                 "n/a": sum(v.startswith("n/a") for v in values),
                 "without spread (1 repeat)": values.count(NO_SPREAD),
                 "without data": values.count(NO_DATA)}
        parts += [f"{n} {name}" for name, n in extra.items() if n]
        return ", ".join(parts)
    return " ".join([f"{len(rows)} cases. req/s: {counts('verdict')}.",
                     *(f"{f.header}: {counts(name(f) + '_verdict')}." for f in COMPARED)])


def compare_table(rows: list[dict]) -> Table:
    """The comparison as a report table, every number formatted as the reports format it."""
    columns = header("case*", "status A/B*", "repeats A/B", "rate*", "req/s A", "req/s B",
                     "req/s change", "req/s verdict*",
                     *(h for f in COMPARED for h in (f"{f.header} A", f"{f.header} B",
                                                     f"{f.header} change",
                                                     f"{f.header} verdict*")))
    out = []
    for r in rows:
        repeats = "/".join(MISSING if is_missing(v) else str(v)
                           for v in (r["repeats_a"], r["repeats_b"]))
        texts = [r["id"], _both(r["status_a"], r["status_b"]), repeats, r["rate"] or MISSING,
                 format_rps(r["rps_a"]), format_rps(r["rps_b"]),
                 format_percent(r["rps_change_pct"]), r["verdict"]]
        for prefix in map(name, COMPARED):
            texts += [format_seconds(r[f"{prefix}_a"]), format_seconds(r[f"{prefix}_b"]),
                      format_percent(r[f"{prefix}_change_pct"]), r[f"{prefix}_verdict"]]
        out.append(Row(str(r["status_b"] or r["status_a"]),
                       [Cell(text, None) for text in texts]))
    return Table("Comparison", columns, out)


def render_compare(a_label: str, b_label: str, rows: list[dict]) -> str:
    """The comparison as a Markdown table with a heading, a summary line and the rule."""
    body = markdown.render_table(compare_table(rows)) if rows else "(no cases in either run)"
    return "\n".join([f"# Comparison: A = {a_label}, B = {b_label}", "",
                      "Medians over each run's repeats; change is B relative to A. req/s is "
                      "the steady-state rate where both runs have one (rate: steady), else "
                      "wrk's whole-run rate (rate: incl. ramp).", "",
                      body, "", summary_line(rows), "", RULE, ""])


def _label(run_dir: Path, run: StoredRunFile) -> str:
    """`<suite>/<run_id>` from the run, or from the folder's path when it lacks them."""
    suite = run.suite if isinstance(run.suite, str) else run_dir.parent.name
    return f"{suite}/{run.run_id or run_dir.name}"


def run_compare(a: Path, b: Path) -> str:
    """Read two run folders (reports/raw/<suite>/<run_id>) and render their comparison.

    Files `load_run` skipped are listed after the table as `skipped: ...` lines. A folder
    that does not exist raises BenchError naming it.
    """
    labels, reports, skipped = [], [], []
    for path in (Path(a), Path(b)):
        run, cases, problems = load_run(path)   # a missing folder: BenchError naming it
        report = view.build(run, cases)
        labels.append(_label(path, run))
        reports.append(report)
        skipped += [f"skipped: {problem}" for problem in problems]
    text = render_compare(*labels, compare_rows(*reports))
    return text + ("\n".join(skipped) + "\n" if skipped else "")


def main(argv: list[str]) -> int:
    """`python -m runner.report.compare RUN_DIR_A RUN_DIR_B`: print the comparison."""
    if len(argv) != 2:
        print("usage: python -m runner.report.compare RUN_DIR_A RUN_DIR_B", file=sys.stderr)
        return 2
    try:
        print(run_compare(Path(argv[0]), Path(argv[1])), end="")
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
