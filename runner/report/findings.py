"""The Findings: one line per question the suite asks, first on the page.

A question (config/suite.py `Question`) names a scenario, a baseline row and its
contenders, and what a fair comparison holds equal. Its finding gives each contender's
figure beside the baseline's with the factor between them, says what was held equal and
names what was not, gives the fix as the line of code or the setting to change (each
implementation declares the code of its settings, `fix:` in impl.yaml) with what it costs,
and links the section with the evidence. Pure: rows and the guide in, records out.
"""

from dataclasses import dataclass, field

from ..config.suite import Pick, Question
from ..terms import ScenarioType, Status
from ..units import format_mib, format_number, format_rps, format_seconds, is_missing
from .cells import headline_rps, server_name
from .figures import P99, RSS_PEAK, THREADS, WRK_CORES
from .sentences import limit_words
from ..model.predict import LimitKind
from .table import CaseRow

# an orchestrator's default liveness probe timeout (Kubernetes: timeoutSeconds 1)
PROBE_TIMEOUT_S = 1.0
# a contender this much better than the baseline is what the question's fix is
BETTER = 1.2


@dataclass(frozen=True)
class Guide:
    """What a report knows beside the stored run: the suite's questions, and the code each
    implementation's settings are changed with, by (implementation, setting)."""
    questions: list[Question] = field(default_factory=list)
    fixes: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    ask: str
    text: str            # the answer, Markdown (code in backticks)
    anchor: str          # the section with the evidence
    figure: float | None   # the best contender's headline figure (None: not measured)


def anchor(scenario: str) -> str:
    return f"scenario-{scenario}"


def matches(pick: Pick, row: CaseRow) -> bool:
    """Whether `row` is the row `pick` names: its implementation, server, kind, and the
    limits the suite set on it ("auto" matches any value the suite resolved)."""
    if (row.impl, row.server_type, row.kind) != (pick.impl, pick.server, pick.kind):
        return False
    if set(pick.set) != set(row.tuned):
        return False
    return all(v == "auto" or row.tuned[k] == v for k, v in pick.set.items())


def _describe(row: CaseRow, base: CaseRow | None = None) -> str:
    """The row as a reader names it: the endpoint, the server (where it is not the
    baseline's), the settings the suite changed."""
    settings = [f"{(row.settings.get(k) or {}).get('title') or k} {v}"
                for k, v in row.tuned.items() if k not in ("workers", "threads")]
    if row.probe:   # a probe's row is named by its probe, beside the heavy load
        return (f"`GET {row.probe}` beside {row.label}"
                + (f" with {', '.join(settings)}" if settings else ""))
    if base is not None and (row.impl, row.server_type, row.workers, row.threads) == (
            base.impl, base.server_type, base.workers, base.threads):
        return row.label + (f" with {', '.join(settings)}" if settings else "")
    server = server_name(row)
    changed = [text for text in settings if text not in server]
    return f"{row.label} on {server}" + (f" with {', '.join(changed)}" if changed else "")


def _binds(row: CaseRow) -> str:
    """What limits a load row, as the model says, where it has a limit."""
    if row.limit is None or row.status != Status.OK:
        return ""
    if row.limit.kind == LimitKind.EVERY_CONNECTION:
        return "; every connection in service at once"
    return f"; limited by {limit_words(row.limit)}"


# ---- each scenario type's figure: higher is better for rates, lower for waits ----

def _figure(row: CaseRow) -> tuple[float | None, str]:
    """The row's headline figure and its words."""
    if row.status != Status.OK:
        return None, f"{row.status}: {row.reason or 'not measured'}"
    if row.type == ScenarioType.INTERFERENCE:
        wait = row.probe_longest_wait_s
        against = "" if is_missing(wait) else (
            f", {'over' if wait > PROBE_TIMEOUT_S else 'within'} a "
            f"{PROBE_TIMEOUT_S:g} s probe timeout")
        return wait, f"longest probe wait {format_seconds(wait)}{against}"
    if row.type == ScenarioType.OPEN:
        knee = row.open_knee
        if knee is None:
            return None, "not measured"
        if knee.saturated_at_rps is None:
            return knee.tried_up_to_rps, f"held every rate, ≥ {format_rps(knee.tried_up_to_rps)} req/s"
        if knee.knee_rps is None:
            return 0.0, (f"held no rate offered: saturated already at "
                         f"{format_rps(knee.saturated_at_rps)} req/s")
        return knee.knee_rps, f"held {format_rps(knee.knee_rps)} req/s at a fixed rate"
    rate, ramp = headline_rps(row)
    p99 = row.of(P99)
    return rate, (f"{format_rps(rate)} req/s" + (" (incl. ramp)" if ramp else "")
                  + ("" if is_missing(p99) else f", p99 {format_seconds(p99)}"))


def _factor(row: CaseRow, value: float | None, base: float | None) -> str:
    if value is None or base is None or not value or not base:
        return ""
    if row.type == ScenarioType.INTERFERENCE:   # a wait: how many times shorter or longer
        ratio = base / value
        return (f" ({format_number(ratio)}× shorter)" if ratio >= 1
                else f" ({format_number(1 / ratio)}× longer)")
    ratio = value / base
    return (f" ({format_number(ratio)}× the baseline)" if ratio >= 1
            else f" ({format_number(1 / ratio)}× below the baseline)")


def _better(row: CaseRow, value: float | None, base: float | None) -> bool:
    if value is None or base is None:
        return False
    if row.type == ScenarioType.INTERFERENCE:
        return value * BETTER <= base
    return value >= BETTER * base


# ---- fairness: what was held equal, what was not ----

# `threads` in a question: what one worker takes on at once, threads or not
LABELS = {"threads": "requests at once a worker", "concurrency": "requests at once in all"}


def _plural(n, word: str) -> str:
    return f"{format_number(n)} {word}{'' if n == 1 else 's'}"


def _cores(row: CaseRow) -> str:
    """The cores the model gives the work, else those the server was seen to use."""
    if row.type != ScenarioType.LOAD:   # a probe's or an open load's CPU is no capacity
        return "—"
    if not is_missing(row.usable_cores):
        return _plural(float(f"{row.usable_cores:.2g}"), "core")
    used = row.figures.get("cpu_s")
    if is_missing(used) or not row.wrk_duration_s:
        return "—"
    return _plural(float(f"{used / row.wrk_duration_s:.2g}"), "core") + " used"


def _pools(row: CaseRow) -> str:
    """The pools a request waits in: its connection pool by size alone (one database
    connection is as good as another's), else the pool its work runs in by name."""
    if row.via_size is not None or row.via_title:
        return ("connections without a cap" if row.via_size is None
                else _plural(row.via_size, "connection"))
    return ", ".join(f"{name} {'no cap' if size is None else size}"
                     for name, size in row.waits_in.items()) or "no pool"


def _held(row: CaseRow) -> dict[str, str]:
    """What a comparison may hold equal, as this row ran."""
    return {"workers": _plural(row.workers or 1, "worker"),
            "threads": row.admits or "—",
            "concurrency": ("every connection" if row.at_once is None
                            else _plural(row.at_once, "request")),
            "pools": _pools(row),
            "cores": _cores(row)}


def _fairness(question: Question, rows: list[CaseRow]) -> str:
    """What was held equal; a quantity the question holds equal that differs is flagged,
    and workers or cores that differ are named even where the question expects it."""
    seen = [_held(r) for r in rows]
    equal, unequal, differs = [], [], []
    for name in ("workers", "threads", "concurrency", "pools", "cores"):
        values = list(dict.fromkeys(s[name] for s in seen))
        text = f"{LABELS.get(name, name)} ({' against '.join(values)})"
        if len(values) == 1:
            if name in question.equal and values[0] != "—":
                equal.append(values[0] + (" at once" if name == "concurrency" else ""))
        elif name in question.equal:
            unequal.append(text)
        elif not all(r.tuned for r, s in zip(rows, seen) if s[name] != seen[0][name]):
            differs.append(text)   # named, unless the settings a contender changed explain it
    if "connections" in question.equal:
        equal.insert(0, "the same connections")
    parts = ["Held equal: " + ", ".join(equal) + "." if equal else "",
             f"⚠ Not held equal: {'; '.join(unequal)}." if unequal else "",
             f"Differs: {'; '.join(differs)}." if differs else ""]
    wrk = [r.of(WRK_CORES) for r in rows if not is_missing(r.of(WRK_CORES))]
    if "cores" in question.equal and wrk:   # the load generator shares the machine
        parts.append(f"wrk itself used up to {max(wrk):.2f} cores of the machine's.")
    return " ".join(p for p in parts if p)


# ---- the fix and its cost ----

def _fix(best: CaseRow, base: CaseRow, guide: Guide) -> str:
    """The change the best contender made, as code, and what it cost."""
    changes = []
    for key, value in best.tuned.items():
        code = guide.fixes.get((best.impl, key))
        if code:
            changes.append(f"`{code.replace('{value}', str(value))}`")
        elif key in ("workers", "threads"):
            changes.append(f"`--{key} {value}`")
        else:
            env = (best.settings.get(key) or {}).get("env")
            changes.append(f"`{env}={value}`" if env else f"{key} {value}")
    if not changes:
        return ""
    return " Fix: " + " and ".join(changes) + _cost(best, base) + "."


def _cost(best: CaseRow, base: CaseRow) -> str:
    costs = []
    memory = (best.of(RSS_PEAK), base.of(RSS_PEAK))
    if None not in memory and abs(memory[0] - memory[1]) >= 2**20:
        delta = memory[0] - memory[1]
        costs.append(f"{'+' if delta >= 0 else '−'}{format_mib(abs(delta))} peak memory")
    threads = (best.of(THREADS), base.of(THREADS))
    if None not in threads and threads[0] != threads[1]:
        costs.append(f"{int(threads[0]) - int(threads[1]):+d} threads")
    return f" (costs {', '.join(costs)})" if costs else " (no measurable cost in memory or threads)"


# ---- a finding ----

def answer(question: Question, rows: list[CaseRow], guide: Guide) -> Finding:
    """The question's finding from its scenario's rows: the answer first (the best
    contender against the baseline, or the baseline when none beats it), the fix and its
    cost, the other contenders, then what was held equal; a row not measured says so."""
    base = _row(question, question.baseline, rows)
    picks = [(p, _row(question, p, rows)) for p in question.contenders]
    link = anchor(question.scenario)
    if base is None:
        return Finding(question.ask, "The baseline was not measured in this run.", link, None)
    base_value, base_words = _figure(base)
    measured = [r for _, r in picks if r is not None]
    best = None
    for row in measured:
        if _better(row, _figure(row)[0], base_value) and (
                best is None or _better(row, _figure(row)[0], _figure(best)[0])):
            best = row
    parts = []
    if best is not None:
        value, words = _figure(best)
        parts.append(f"{_describe(best, base)}: {words}{_factor(best, value, base_value)}"
                     f"{_binds(best)}; the baseline, {_describe(base)}: {base_words}"
                     f"{_binds(base)}.")
        if best.kind == base.kind:   # the same endpoint, tuned: its setting is the fix
            parts.append(_fix(best, base, guide).strip())
    else:
        parts.append(f"No contender does {format_number(BETTER)}× better than the baseline, "
                     f"{_describe(base)}: {base_words}{_binds(base)}.")
    others = [f"{_describe(r, base)}: {w}{_factor(r, v, base_value)}"   # their limits: below
              for r in measured if r is not best for v, w in [_figure(r)]]
    others += [f"{p.kind} on {p.impl} {p.server}: not measured in this run"
               for p, r in picks if r is None]
    if others:
        parts.append(("Also: " if best is not None else "Against: ") + "; ".join(others) + ".")
    if question.fix:
        parts.append(question.fix)
    parts.append(_fairness(question, [base, *measured]))
    text = " ".join(p for p in parts if p)
    return Finding(question.ask, text, link, _figure(best or base)[0])


def _row(question: Question, pick: Pick, rows: list[CaseRow]) -> CaseRow | None:
    scenario = pick.scenario or question.scenario
    return next((r for r in rows if r.scenario == scenario and matches(pick, r)), None)


def baseline_of(guide: Guide | None, scenario: str, rows: list[CaseRow]) -> CaseRow | None:
    """The row a scenario's verdict sets the others against: the baseline of the first
    question asked of that scenario, where it was measured."""
    for question in guide.questions if guide else []:
        if question.scenario == scenario and not question.baseline.scenario:
            return _row(question, question.baseline, rows)
    return None


def findings(guide: Guide | None, rows: list[CaseRow]) -> list[Finding]:
    """One finding per question of the guide, in the suite's order."""
    return [answer(q, rows, guide) for q in guide.questions] if guide else []
