"""Two stored runs side by side: the change in median req/s and p99, row by row.

`compare_rows` and `render_compare` are pure (stored case dicts in, a table and its text
out); `run_compare` is the thin effect that reads two run folders with
`runner.report.load_run`. Rows are matched by case id (`case["case"]["id"]`); run A is
the baseline and every change is B relative to A.

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

import math
import sys
from pathlib import Path

import pandas as pd

from .errors import BenchError
from .report import load_run
from .model import steady_state_rps
from .report.measures import measured_runs
from .report.table import compute_row
from .stats import summarize

# fewer repeats than this on either side and a row has no range to compare
MIN_REPEATS = 2

FASTER, SLOWER, WITHIN = "faster", "slower", "within spread"
ONLY_A, ONLY_B = "only in A", "only in B"
FAILED_A, FAILED_B, FAILED_BOTH = "failed in A", "failed in B", "failed in both"
NA_A, NA_B, NA_BOTH = "n/a in A", "n/a in B", "n/a"
NO_SPREAD, NO_DATA = "no spread", "no data"

RULE = ("A change is real only when the two runs' min-max ranges over their repeats do "
        "not overlap (req/s for the req/s verdict, the per-repeat p99 for the p99 one); "
        "overlapping ranges are \"within spread\", and a row with fewer than "
        f"{MIN_REPEATS} repeats in either run has no range (\"no spread\"). "
        "For p99, \"faster\" means a lower p99. Change is B relative to A.")

STEADY, RAMP = "steady", "incl. ramp"

COLUMNS = ["id", "scenario", "impl", "server", "kind", "params",
           "status_a", "status_b", "repeats_a", "repeats_b", "rate",
           "rps_a", "rps_min_a", "rps_max_a", "rps_b", "rps_min_b", "rps_max_b",
           "rps_change_pct", "verdict",
           "p99_a", "p99_min_a", "p99_max_a", "p99_b", "p99_min_b", "p99_max_b",
           "p99_change_pct", "p99_verdict"]


def _side(data: dict, steady: bool) -> dict:
    """One case file -> its status, repeats, rate and p99 median and min-max; the rate is
    each repeat's steady-state rate when `steady`, else wrk's whole-run req/s."""
    row = compute_row(data)  # the reports' numbers: the median service time, req/s
    runs = measured_runs(data)
    rates = _steady_rates(data) if steady else [run["wrk"]["rps"] for run in runs]
    rps = summarize(rates)
    p99s = [(run["wrk"].get("latency_s") or {}).get("p99") for run in runs]
    p99 = summarize([v for v in p99s if v is not None])
    return {"status": row["status"], "repeats": row["runs"],
            "rps": rps.median, "rps_min": rps.min, "rps_max": rps.max,
            "p99": p99.median, "p99_min": p99.min, "p99_max": p99.max}


def _steady_rates(data: dict | None) -> list[float] | None:
    """Each measured repeat's steady-state rate, or None unless every repeat has one."""
    runs = measured_runs(data) if data else []
    if not runs:
        return None
    service = compute_row(data)["service_s"]
    rates = [steady_state_rps(run["wrk"].get("per_second"), service) for run in runs]
    return None if any(r is None for r in rates) else rates


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
    failed_a, failed_b = a["status"] == "failed", b["status"] == "failed"
    if failed_a or failed_b:
        return FAILED_BOTH if failed_a and failed_b else FAILED_A if failed_a else FAILED_B
    na_a, na_b = a["status"] != "ok", b["status"] != "ok"
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


def compare_rows(a_cases: list[dict], b_cases: list[dict]) -> pd.DataFrame:
    """One row per case id found in either run, in COLUMNS; A's order, then B-only cases.

    Values stay in base units (req/s, seconds); changes are percent of A.
    """
    def by_id(cases):
        return {data["case"]["id"]: data for data in cases}
    cases_a, cases_b = by_id(a_cases), by_id(b_cases)
    rows = []
    for case_id in list(dict.fromkeys([*cases_a, *cases_b])):
        data_a, data_b = cases_a.get(case_id), cases_b.get(case_id)
        case = (data_a or data_b)["case"]
        present = [d for d in (data_a, data_b) if d is not None]
        steady = all(_steady_rates(d) is not None for d in present)
        a = _side(data_a, steady) if data_a is not None else None
        b = _side(data_b, steady) if data_b is not None else None
        verdict = _status_verdict(a, b)
        empty = dict.fromkeys(("status", "repeats", "rps", "rps_min", "rps_max",
                               "p99", "p99_min", "p99_max"))
        sa, sb = a or empty, b or empty
        row = {"id": case_id, "scenario": case.get("scenario"), "impl": case.get("impl"),
               "server": case.get("server_label") or case.get("server"),
               "kind": case.get("kind"),
               "rate": (STEADY if steady else RAMP) if any(map(measured_runs, present))
               else None,
               "params": " ".join(f"{k}={v}" for k, v in (case.get("params") or {}).items()),
               "verdict": verdict or range_verdict(a, b, "rps", higher_is_better=True),
               "p99_verdict": verdict or range_verdict(a, b, "p99", higher_is_better=False),
               "rps_change_pct": _change_pct(sa["rps"], sb["rps"]),
               "p99_change_pct": _change_pct(sa["p99"], sb["p99"])}
        for suffix, side in (("a", sa), ("b", sb)):
            for key, value in side.items():
                row[f"{key}_{suffix}"] = value
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    floats = [c for c in COLUMNS if c.startswith(("rps_", "p99_")) and c != "p99_verdict"]
    return frame.astype({**{c: "float64" for c in floats},
                         "repeats_a": "Int64", "repeats_b": "Int64"})


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _fmt_rps(value) -> str:
    if _missing(value):
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _fmt_seconds(value) -> str:
    if _missing(value):
        return "–"
    if value >= 1:
        return f"{value:.2f} s"
    ms = value * 1000
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms" if ms >= 1 else f"{ms:.2f} ms"


def _fmt_pct(value) -> str:
    return "–" if _missing(value) else f"{value:+.1f}%"


def _fmt_status(a, b) -> str:
    a, b = ("–" if _missing(v) else v for v in (a, b))
    return a if a == b else f"{a}/{b}"


def _fmt_repeats(a, b) -> str:
    return f"{'–' if _missing(a) else a}/{'–' if _missing(b) else b}"


def summary_line(df: pd.DataFrame) -> str:
    """'req/s: 2 faster, 1 slower, 5 within spread, 1 only in one run; ...' for `df`."""
    def counts(column: str) -> str:
        values = df[column].tolist()
        parts = [f"{values.count(FASTER)} faster", f"{values.count(SLOWER)} slower",
                 f"{values.count(WITHIN)} within spread",
                 f"{values.count(ONLY_A) + values.count(ONLY_B)} only in one run"]
        extra = {"failed": sum(v.startswith("failed") for v in values),
                 "n/a": sum(v.startswith("n/a") for v in values),
                 "without spread (1 repeat)": values.count(NO_SPREAD),
                 "without data": values.count(NO_DATA)}
        parts += [f"{n} {name}" for name, n in extra.items() if n]
        return ", ".join(parts)
    return (f"{len(df)} cases. req/s: {counts('verdict')}. "
            f"p99: {counts('p99_verdict')}.")


def render_compare(a_label: str, b_label: str, df: pd.DataFrame) -> str:
    """The comparison as a Markdown table with a heading, a summary line and the rule."""
    table = pd.DataFrame({
        "case": df["id"],
        "status A/B": [_fmt_status(a, b) for a, b in zip(df["status_a"], df["status_b"])],
        "repeats A/B": [_fmt_repeats(a, b) for a, b in zip(df["repeats_a"], df["repeats_b"])],
        "rate": df["rate"].fillna("–"),
        "req/s A": df["rps_a"].map(_fmt_rps), "req/s B": df["rps_b"].map(_fmt_rps),
        "req/s change": df["rps_change_pct"].map(_fmt_pct), "req/s verdict": df["verdict"],
        "p99 A": df["p99_a"].map(_fmt_seconds), "p99 B": df["p99_b"].map(_fmt_seconds),
        "p99 change": df["p99_change_pct"].map(_fmt_pct), "p99 verdict": df["p99_verdict"],
    })
    colalign = ["left", "left", "right", "left", "right", "right", "right", "left",
                "right", "right", "right", "left"]
    body = (table.to_markdown(index=False, colalign=colalign) if len(table)
            else "(no cases in either run)")
    return "\n".join([f"# Comparison: A = {a_label}, B = {b_label}", "",
                      "Medians over each run's repeats; change is B relative to A. req/s is "
                      "the steady-state rate where both runs have one (rate: steady), else "
                      "wrk's whole-run rate (rate: incl. ramp).", "",
                      body, "", summary_line(df), "", RULE, ""])


def _label(run_dir: Path, run: dict) -> str:
    """`<suite>/<run_id>` from run.json, or from the folder's path when it lacks them."""
    suite = run.get("suite") if isinstance(run.get("suite"), str) else run_dir.parent.name
    return f"{suite}/{run.get('run_id') or run_dir.name}"


def run_compare(a: Path, b: Path) -> str:
    """Read two run folders (reports/raw/<suite>/<run_id>) and render their comparison.

    Files `load_run` skipped are listed after the table as `skipped: ...` lines. A folder
    that does not exist raises BenchError naming it.
    """
    loaded = []
    for path in (Path(a), Path(b)):
        if not path.is_dir():
            raise BenchError("no such run folder", file=str(path))
        loaded.append((path, *load_run(path)))
    (path_a, run_a, cases_a, problems_a), (path_b, run_b, cases_b, problems_b) = loaded
    text = render_compare(_label(path_a, run_a), _label(path_b, run_b),
                          compare_rows(cases_a, cases_b))
    skipped = [f"skipped: {problem}" for problem in [*problems_a, *problems_b]]
    return text + ("\n".join(skipped) + "\n" if skipped else "")


def main(argv: list[str]) -> int:
    """`python -m runner.compare RUN_DIR_A RUN_DIR_B`: print the comparison."""
    if len(argv) != 2:
        print("usage: python -m runner.compare RUN_DIR_A RUN_DIR_B", file=sys.stderr)
        return 2
    try:
        print(run_compare(Path(argv[0]), Path(argv[1])), end="")
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
