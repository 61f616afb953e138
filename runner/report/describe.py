"""Words for a stored case, derived from what was recorded, never from fixed text:
the server as it ran (from its argv), the sizes in force (as its /info reported them; a
note from impl.yaml says a mechanism, never a size), the endpoint as a developer says it
(case.label), where each result came from (commit, time, resumed or not) and whether wrk's
two reports of a run agreed. Pure functions over stored records (runner/store/results.py,
docs/formats.md).
"""

import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..store.results import StoredCase, StoredRunFile

# argv flags whose values say how a server runs requests concurrently (the long and the
# short spelling of the common servers' options; anything else is shown in the argv only)
WORKERS = ("--workers", "-w")
THREADS = ("--threads",)
WORKER_CLASS = ("--worker-class", "-k")
ABSOLUTE = re.compile(r"(?<![\w.])/(?:[\w.+-]+/)+")


def _flag(argv: list[str], names: tuple[str, ...]) -> str | None:
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def admits(data: StoredCase) -> str | None:
    """How many requests one worker of the server takes on at once, as it ran: its request
    threads, a thread or task per request (capped where the argv caps it), or its event
    loop; None where the case does not say how its server admits requests."""
    case = data.case
    capped = _flag(first_argv(data), ("--worker-connections",))
    if case.concurrency == "threads" and case.threads:
        return f"{case.threads} request thread{'s' if case.threads > 1 else ''}"
    if case.concurrency == "task-per-request":
        return f"a task per request, up to {capped}" if capped else "a task per request"
    if case.concurrency == "thread-per-request":
        return "a thread per request"
    if case.concurrency == "event-loop":
        return "every connection, on its event loop"
    return None


def at_once(data: StoredCase) -> int | None:
    """How many requests the whole server takes on at once (its workers times what one
    admits), where something caps it; None where every connection is taken on."""
    case = data.case
    capped = case.concurrency in ("threads", "task-per-request") and case.threads
    return (case.workers or 1) * case.threads if capped else None


def first_argv(data: StoredCase) -> list[str]:
    return next(([str(a) for a in run.server_argv] for run in data.runs), [])


def server_text(data: StoredCase) -> str:
    """How the server ran, from its argv: 'gunicorn, 2 gthread workers × 4 threads'.

    Falls back to the configured server label when no argv was recorded (n/a, failed)."""
    case = data.case
    argv = first_argv(data)
    if not argv:
        return case.server_label or case.server
    program = PurePosixPath(argv[0]).name
    klass = _flag(argv, WORKER_CLASS)
    klass = klass.split(".")[0].lower() if klass else None
    workers, threads = _flag(argv, WORKERS), _flag(argv, THREADS)
    parts = []
    if workers or klass:
        count = workers or "?"
        parts.append(f"{count} {klass + ' ' if klass else ''}worker{'' if count == '1' else 's'}")
    if threads:
        each = f"{threads} thread{'' if threads == '1' else 's'}"
        parts[-1:] = [f"{parts[-1]} × {each}" if parts else each]
    if "--with-threads" in argv:
        parts.append("a thread per request")
    if "--without-threads" in argv:
        parts.append("one request at a time")
    # limits the suite set through the environment, as in force: "anyio's thread limiter tokens 100"
    parts += [setting_text(data, s) for s in case.settings.values()]
    if not parts:  # nothing about concurrency on the command line: the configured name
        return case.server_label or case.server
    # a program that says nothing of its concurrency (bin/server) goes by the server's name
    named = workers or klass or threads or {"--with-threads", "--without-threads"} & set(argv)
    return ", ".join([program if named else case.server, *parts])


# ---- the sizes in force, as the server's /info reported them ----

# a number a text states: digits that are not part of a name (p99, md5, worker_threads,
# pydantic1) nor of the protocol's version (HTTP/1.1)
STATED_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)*")
PROTOCOL = re.compile(r"\bHTTP/\d(?:\.\d)?")
ONE = {"threads": "thread", "processes": "process", "connections": "connection"}
WORKER_CONNECTIONS = ("--worker-connections",)


def stated_numbers(text: str) -> list[str]:
    """The numbers `text` states: 'up to 1000 a worker, HTTP/1.1, p99' -> ['1000']."""
    return STATED_NUMBER.findall(PROTOCOL.sub("", text))


def mechanism(note: str | None) -> str | None:
    """A stored note without the parts ("; "-separated) that state a number.

    impl.yaml's notes say a mechanism only (tests/test_describe.py); a note stored before
    that rule may state a size other than the one in force ("40 tokens" on a server that ran
    with 100), so that part is left out: the sizes come from the argv and /info."""
    kept = [part for part in (note or "").split("; ") if part and not stated_numbers(part)]
    return "; ".join(kept) or None


def _pool(data: StoredCase, name: str | None) -> dict | None:
    pool = ((data.info or {}).get("pools") or {}).get(name) if name else None
    return pool if isinstance(pool, dict) else None


def pool_size(data: StoredCase, name: str) -> str | None:
    """A pool's size in force, per worker process, as /info reported it: '100 threads',
    '40 threads a worker', 'no cap, 2 kept idle'; None when /info did not report it."""
    pool = _pool(data, name)
    if pool is None:
        return None
    size, kind = pool.get("size"), str(pool.get("kind") or "")
    if size is None:
        text = "no cap"
    else:
        text = f"{size} {ONE.get(kind, kind) if size == 1 else kind}".rstrip()
        text += " a worker" if (data.case.workers or 1) > 1 else ""
    return text + (f", {pool['idle']} kept idle" if pool.get("idle") is not None else "")


def setting_text(data: StoredCase, setting: dict) -> str:
    """A limit the suite set, with the value in force: its pool's size as /info reported it,
    where it sizes one; "(set N)" follows when that differs from what the suite set."""
    asked, pool = setting.get("value"), _pool(data, setting.get("pool"))
    if pool is None:
        return f"{setting.get('title')} {asked}"
    size = pool.get("size")
    shown = "no cap" if size is None else size
    return f"{setting.get('title')} {shown}" + (f" (set {asked})" if size != asked else "")


def _pools(data: StoredCase) -> dict[str, str]:
    """The pools the endpoint runs in and waits in: name -> title."""
    ex = data.case.execution
    pairs = ((ex.pool, ex.pool_title), (ex.via, ex.via_title)) if ex else ()
    return {name: title or name for name, title in pairs if name}


def pool_sizes(data: StoredCase, pools: dict[str, str]) -> list[str]:
    """'anyio's thread limiter: 100 threads' for each of `pools` /info reported."""
    return [f"{title}: {size}" for name, title in pools.items()
            if (size := pool_size(data, name)) is not None]


def endpoint_note(data: StoredCase) -> str | None:
    """The endpoint's note as it ran: the mechanism impl.yaml states (`mechanism`), then the
    size of each pool it runs or waits in, as /info reported it."""
    parts = [mechanism(data.case.note), *pool_sizes(data, _pools(data))]
    return "; ".join(p for p in parts if p) or None


def in_force(cases: list[StoredCase]) -> list[str]:
    """What one server configuration ran with beyond its workers, threads and settings
    (`server_text`), for its servers line: the connections a worker admits (argv), the
    threads its runtime runs at once and the size of each pool its endpoints here ran or
    waited in (/info), once each."""
    reported = [d for d in cases if d.info] or cases[:1]
    if not reported:
        return []
    first = reported[0]
    connections = _flag(first_argv(first), WORKER_CONNECTIONS)
    parallelism = (first.info or {}).get("parallelism")
    out = [f"up to {connections} connections a worker"] if connections else []
    out += [f"the runtime runs {parallelism} threads at once"] if parallelism else []
    set_pools = {s.get("pool") for s in first.case.settings.values()}
    seen: dict[str, str] = {}
    for data in reported:
        for name, title in _pools(data).items():
            size = pool_size(data, name)
            if name not in set_pools and size is not None:
                seen.setdefault(name, f"{title}: {size}")
    return out + list(seen.values())


def shown_argv(data: StoredCase) -> str:
    """The server's command line as it ran, with the port and absolute paths blanked."""
    text = shlex.join(portable(a) for a in first_argv(data))
    return PORT.sub("{port}", text)


# where a server's argv names the port it listens on: `--port N`, `--port=N`, `HOST:N`
PORT = re.compile(r"(?:(?<=--port[ =])|(?<=127\.0\.0\.1:)|(?<=localhost:))\d{1,5}\b")


def portable(text: str) -> str:
    """`text` with absolute directory paths dropped: '/x/y/runner/a.lua' -> 'runner/a.lua'
    is not knowable, so the directories go: 'a.lua'. Nothing of the measuring machine's
    file system is printed."""
    return ABSOLUTE.sub("", text)


def endpoint_label(data: StoredCase) -> str:
    """The endpoint as a developer says it: case.label, else (older results) the kind. Its
    parameters are the scenario's (its title says them) and stay in the detail tables."""
    return data.case.label or data.case.kind


# ---- provenance ----

@dataclass(frozen=True)
class Session:
    """One invocation of the runner that measured some of a run's cases."""
    started: str
    finished: str | None
    commit: str | None
    dirty: bool | None
    resumed: bool
    load: float | None   # 1-minute load average when it started
    cases: int


def _session_key(data: StoredCase) -> tuple:
    env = data.environment
    return (env.get("started_at") or "", env.get("git_commit") or "")


def _resumed(env: dict) -> bool:
    return "--resume" in (env.get("argv") or [])


def sessions(run: StoredRunFile, cases: list[StoredCase]) -> list[Session]:
    """The sessions that measured the run's cases, oldest first (n/a cases count too)."""
    groups: dict[tuple, list[StoredCase]] = {}
    for data in cases:
        groups.setdefault(_session_key(data), []).append(data)
    ends = [run.finished_at, *run.resumed_finished_at]
    starts = [(run.environment or {}).get("started_at"), *run.resumed_at]
    out = []
    for (started, commit), members in sorted(groups.items()):
        env = members[0].environment
        finished = ends[starts.index(started)] if started in starts and \
            starts.index(started) < len(ends) else None
        load = env.get("load_avg_at_start")
        out.append(Session(started=started, finished=finished, commit=commit or None,
                           dirty=env.get("git_dirty"), resumed=_resumed(env),
                           load=load[0] if isinstance(load, list) and load else None,
                           cases=len(members)))
    return out


def session_of(data: StoredCase, found: list[Session]) -> int | None:
    """The index in `found` of the session that measured `data`."""
    started, commit = _session_key(data)
    for i, session in enumerate(found):
        if (session.started, session.commit or "") == (started, commit):
            return i
    return None


def session_text(session: Session) -> str:
    commit = (session.commit or "unknown commit")[:10]
    if session.dirty:
        commit += " with uncommitted changes"
    span = session.started.replace("T", " ").rstrip("Z")
    if session.finished:
        span += " to " + session.finished.split("T")[-1].rstrip("Z")
    load = f", load average {session.load:.2f} at start" if session.load is not None else ""
    how = "resumed run (--resume)" if session.resumed else "run"
    return f"{how} {span} UTC at commit {commit}{load}: {session.cases} cases"


def other_load_text(data: StoredCase) -> str | None:
    """The load on the machine during a case that was not the run's own, on one line; None
    when there was none."""
    if not data.other_load:
        return None
    seen = "; ".join(f"{p.name} (pid {p.pid}, at its {' and '.join(p.seen)}: "
                     f"{portable(p.command)})" for p in data.other_load)
    return f"⚠ other load on the machine during {data.case.id}: {seen}"


# ---- wrk's text output against its Lua report ----

def _checks(run) -> tuple[tuple[str, list | None], ...]:
    """("" or "probe ", that load's disagreements; None where they were not compared)."""
    return (("", run.disagreements), ("probe ", run.probe.disagreements if run.probe else None))


def disagreements(data: StoredCase) -> list[str]:
    """Each measured repeat's text-against-Lua disagreements, one line per repeat that had any."""
    lines = []
    for i, run in enumerate(data.runs, 1):
        for what, found in _checks(run):
            if found:
                lines.append(f"repeat {i} {what}wrk text vs Lua: " + "; ".join(map(str, found)))
    return lines


def checked_runs(cases: list[StoredCase]) -> tuple[int, int]:
    """(runs whose text and Lua figures were compared, runs where they disagreed)."""
    checked = disagreed = 0
    for data in cases:
        for run in data.runs:
            for _, found in _checks(run):
                if isinstance(found, list):
                    checked += 1
                    disagreed += bool(found)
    return checked, disagreed
