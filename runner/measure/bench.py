"""Run a suite: set up implementations, measure every case, save each result at once.

This is the shell around the pure core: it starts servers, calls wrk and writes files.
A case that fails (a server that will not start, dies, hangs or answers wrongly) is
recorded with its reason and the suite goes on; an interruption stops every process
it started and keeps every result already written.
"""

import http.client
import os
import resource
import shutil
import statistics
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import vegeta
from .calibrate import DEMAND_S, Target, WorkNotDone, calibrate
from .openbench import OpenFailed, measure_open
from .check import (BAD_PARAMETER_STATUS, UNKNOWN_PATH, UNKNOWN_PATH_STATUS,
                    bad_parameter_path, check_answer, error_answer_problem, info_problems)
from ..config.kinds import SLEEP_KINDS
from ..clip import clip_line, clip_tail
from .env import collect_environment, other_load, portable, seen_at, utc_now
from ..model.probe import align, summarize_probe
from ..errors import BenchError
from ..config.manifest import Impl
from ..model.diagnose import Level, LoadPlan, plan_warnings
from ..model.predict import Execution, Server as ModelServer, steady_state_rps
from ..report.sentences import warning_text
from .procs import (RunningServer, ServerFailed, free_port, http_get, log_tail, port_holder,
                    run_owned, start_server, stop_server, port_was_taken, wait_ready, with_log)
from .sampling import TreeSampler
from .services import ServiceFailed, ServiceHost, Started, upstream_shortfall
from ..store.results import (FORMAT, RUN_FORMAT, VERSION, StoredCalibration, StoredCase,
                             StoredCheck, StoredOtherLoad, StoredProbe, StoredResources, StoredRun, StoredRunFile,
                             StoredService, StoredTimeline, StoredTiming, StoredWrk,
                             StoredWrkText, case_file, case_slug, read_case, read_run_file,
                             record_json, write_record)
from ..config.suite import Case, LoadedSuite, Suite
from .wrk import Wrk, WrkRun
from .wrkcheck import checks_for, load_problems
from .wrkparse import WrkParseError, compare_text_json, parse_wrk_json, parse_wrk_text
from ..terms import ScenarioType, Status

# a kind answering faster than this is warmed up with wrk; slower ones are warmed by
# their conformance request alone (a warm-up load would leave queued work behind)
WARMUP_BELOW_S = 0.05
SERVICE_SAMPLES = 7


class CaseFailed(Exception):
    """One case cannot be measured; the message is the reason shown in the report."""


@dataclass
class Progress:
    """Case n of N with an ETA from the wrk seconds still planned, scaled by the pace so far."""

    planned_s: float
    console: object
    total_cases: int
    started: float = field(default_factory=time.monotonic)
    done_s: float = 0.0

    def eta_s(self) -> float | None:
        if self.done_s <= 0:
            return None
        pace = (time.monotonic() - self.started) / self.done_s
        return max(0.0, (self.planned_s - self.done_s) * pace)

    def advance(self, seconds: float) -> None:
        self.done_s += seconds

    def line(self, index: int, text: str) -> None:
        eta = self.eta_s()
        elapsed = time.monotonic() - self.started
        tail = f"elapsed {_clock(elapsed)}" + (f", ETA {_clock(eta)}" if eta is not None else "")
        self.console.print(f"[{index:>{len(str(self.total_cases))}}/{self.total_cases}] "
                           f"{text}  ({tail})", highlight=False, markup=False)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def planned_seconds(case: Case, repeats: int, warmup_s: float) -> float:
    """What one case should cost, for the ETA: measured time plus a warm-up and overhead."""
    if not case.available:
        return 0.0
    check_s = case.params.get("ms", 0) / 1000
    if case.type == ScenarioType.OPEN:
        rates = case.open["of_capacity"] or case.open["per_second"]
        return repeats * (len(rates) * (case.open["duration"] + check_s + 0.5) + 6)
    if case.type == ScenarioType.INTERFERENCE:
        return repeats * (case.window_s + check_s + 1.5)
    return repeats * (case.wrk.duration + min(warmup_s, 2.0) + check_s + 1.5)


def check_tools(impls: list[Impl], pinning: bool = False) -> None:
    if shutil.which("wrk") is None:
        raise BenchError("wrk not found: install it with `apt-get install -y wrk` "
                         "(or run `./just setup`)")
    if pinning and shutil.which("taskset") is None:
        raise BenchError("taskset not found (needed by the suite's pinning): install it with "
                         "`apt-get install -y util-linux`")
    for impl in impls:
        for argv in impl.manifest.setup:
            if shutil.which(argv[0]) is None and not (impl.folder / argv[0]).exists():
                raise BenchError(f"{argv[0]!r} not found on PATH, needed by this setup step; "
                                 f"install {argv[0]} (Go: https://go.dev/doc/install, uv: "
                                 "`pip install uv`) and try again",
                                 file=str(impl.folder / "impl.yaml"), key="setup")


# beyond one file per connection, wrk holds an epoll set and pipes per thread and the
# server its listening socket, logs, libraries and the probe's connection
FD_MARGIN = 64


def check_open_files(loaded: LoadedSuite, cases: list[Case]) -> None:
    """The open-file limit, which wrk and the server inherit, must hold every case's
    connections: wrk needs one file per connection, and so does the server."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return
    measured = {c.scenario for c in cases if c.available}
    for index, scenario in enumerate(loaded.suite.scenarios):
        wrk = loaded.suite.wrk.merged(scenario.wrk)
        needed = wrk.connections + wrk.threads + FD_MARGIN
        if scenario.name not in measured or needed <= soft:
            continue
        own = scenario.wrk is not None and scenario.wrk.connections is not None
        root = ""
        if hard != resource.RLIM_INFINITY and hard < needed:
            root = (f" (the hard limit is {hard}: raise it first, as root or in "
                    "/etc/security/limits.conf)")
        raise loaded.error(
            f"{wrk.connections} connections need about {needed} open files in wrk and as many "
            f"in the server, but the open-file limit is {soft}: run `ulimit -n {needed}` in "
            f"this shell and try again{root}",
            ("scenarios", index, "wrk", "connections") if own else ("wrk", "connections"))


def program_problems(impl: Impl, cases: list[Case]) -> dict[str, str]:
    """server name -> why its program cannot start, for impl's servers among cases.

    Checked after the setup steps ran, since they may build the program (bin/server,
    .venv/bin/uvicorn): argv[0] with a slash is looked up from the implementation's folder
    (where the server starts), a bare name on PATH.
    """
    problems = {}
    for case in cases:
        if case.impl != impl.name or not case.available or case.server in problems:
            continue
        program = server_argv(impl, case, 0)[0]
        if "/" in program:
            path = impl.folder / program
            found = path.is_file() and os.access(path, os.X_OK)
        else:
            found = shutil.which(program, path=impl_env().get("PATH")) is not None
        if not found:
            where = f"in {impl.folder}" if "/" in program else "on PATH"
            problems[case.server] = (
                f"{impl.folder / 'impl.yaml'}: servers.{case.server}.argv: program {program!r} "
                f"not found {where} (after the setup steps ran)")
    return problems


def run_setup(impl: Impl, log_path: Path, say=None) -> str | None:
    """Run the implementation's setup steps, each told to say(line) as it starts; None
    when they worked, else the reason (its output cut to clip.TAIL_BYTES)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        for argv in impl.manifest.setup:
            if say is not None:
                say(f"setting up {impl.name}: {clip_line(' '.join(argv), 200)}")
            try:
                code = run_owned(argv, 900, cwd=impl.folder, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=impl_env())
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"setup step {' '.join(argv)} failed: {exc}"
            if code != 0:
                return (f"setup step {' '.join(argv)} exited with {code}; log tail:\n"
                        + log_tail(log_path))
    return None


def impl_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment an implementation's commands run in.

    The runner itself runs inside its own virtual environment (`uv run`); an inherited
    VIRTUAL_ENV would make an implementation's `uv pip freeze` list the runner's packages.
    """
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    return {**env, **(extra or {})}


def collect_packages(impl: Impl) -> list[str] | None:
    if impl.manifest.packages is None:
        return None
    try:
        done = subprocess.run(impl.manifest.packages, cwd=impl.folder, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL, env=impl_env())
    except (OSError, subprocess.TimeoutExpired):
        return None
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def server_argv(impl: Impl, case: Case, port: int, cpus: str | None = None) -> list[str]:
    server = impl.manifest.servers[case.server]
    values = {"port": str(port), "workers": str(case.workers),
              "threads": str(case.threads if case.threads is not None else 1)}
    out = []
    for arg in server.argv:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        out.append(arg)
    # exec'd through taskset, the server and every process and thread it makes are pinned
    return ["taskset", "-c", cpus, *out] if cpus else out


@dataclass(frozen=True)
class Endpoint:
    """A request whose answer must prove its work: the endpoint's kind, its parameters and
    path, and how a failure names it ("the probe ")."""
    kind: str
    params: dict
    path: str
    what: str = ""


def _checked_request(case: Case, port: int, timeout_s: float,
                     services: Started | None = None) -> float:
    """One request to the case's endpoint whose answer must prove its work; its seconds."""
    return _checked(Endpoint(case.kind, case.params, case.path), port, timeout_s, services)


def _checked(endpoint: Endpoint, port: int, timeout_s: float,
             services: Started | None = None) -> float:
    sent_at = time.time()
    where = f"{endpoint.what}{endpoint.path}"
    try:
        status, body, elapsed = http_get(port, endpoint.path, timeout_s)
    except (OSError, http.client.HTTPException) as exc:
        raise CaseFailed(f"conformance request to {where} failed: {exc}") from None
    proof = (services or Started()).proof(sent_at, time.time())
    problems = check_answer(endpoint.kind, endpoint.params, status, body, elapsed, proof)
    if problems:
        raise CaseFailed(f"conformance check of {where} failed: " + "; ".join(problems))
    return elapsed


def _ready_server(case: Case, impl: Impl, log_path: Path, ready_timeout_s: float,
                  cpus: str | None, services: Started | None = None):
    """(server, its /info) of a fresh server that answers; stopped on any way out but success.

    start_server records the server in procs.OWNED as it starts, so even an interrupt
    before the `try` below cannot leave it unowned: the run's session stops it.
    """
    env = impl_env({"BENCH_IMPL": impl.name, "BENCH_SERVER": case.server_label, **case.env,
                    **(services.env if services else {})})
    for attempt in (1, 2):
        # a free port can be taken by someone else before the server binds it; one
        # retry on a new port tells that race apart from a server that cannot start
        port = free_port()
        try:
            server = start_server(server_argv(impl, case, port, cpus), port, impl.folder, env,
                                  log_path)
        except ServerFailed as exc:
            raise CaseFailed(str(exc)) from None
        try:
            return server, wait_ready(server, ready_timeout_s)
        except ServerFailed as exc:
            stop_server(server)
            if attempt == 2 or not port_was_taken(server):
                raise CaseFailed(str(exc)) from None
        except BaseException:  # an interrupt during the wait takes the server with it
            stop_server(server)
            raise
    raise AssertionError("unreachable")


@contextmanager
def checked_server(case: Case, impl: Impl, log_path: Path, ready_timeout_s: float,
                   cpus: str | None = None, services: Started | None = None):
    """A fresh server for case that passed the conformance check: (server, info, seconds)."""
    server, info = _ready_server(case, impl, log_path, ready_timeout_s, cpus, services)
    try:
        missing = info_problems(info, case.execution, case.settings)
        if missing:   # one line each: what the server's /info must add
            raise CaseFailed("\n".join(missing))
        check_timeout = case.params.get("ms", 0) / 1000 + 60
        elapsed = _checked_request(case, server.port, check_timeout, services)
        if case.kind not in SLEEP_KINDS:
            # the first answer paid for start-up work (a process pool's fork, imports);
            # the model wants the service time of a request alone on a warm server, and
            # for a quick one the median of a few, since the round trip's noise is large
            warm = [_checked_request(case, server.port, check_timeout, services)]
            while warm[0] < WARMUP_BELOW_S and len(warm) < SERVICE_SAMPLES:
                warm.append(_checked_request(case, server.port, check_timeout, services))
            elapsed = statistics.median(warm)
        yield server, info, elapsed
    finally:
        stop_server(server)
    holder = port_holder(server.port)   # only reached when the block above went well
    if holder:
        raise CaseFailed(f"port {server.port} is still held after the server was stopped, by "
                         f"the server's own escaped process ({holder})")


def _read_wrk(done: WrkRun, what: str) -> tuple[StoredWrk, StoredWrkText]:
    """(Lua report, text report) of a finished wrk run, or CaseFailed with the reason."""
    if done.returncode != 0 or done.json_text is None:
        raise CaseFailed(f"{what} wrk exited with {done.returncode}: {done.stderr.strip()[:300]}")
    try:
        return parse_wrk_json(done.json_text), parse_wrk_text(done.stdout)
    except WrkParseError as exc:
        raise CaseFailed(f"cannot read {what} wrk's output: {exc}") from None


def _require_completions(lua: StoredWrk, duration_s: float, what: str) -> None:
    if lua.requests == 0:
        errors = ", ".join(f"{v} {k}" for k, v in lua.errors.items() if v) or "no errors"
        raise CaseFailed(f"no {what}request completed in {duration_s:g} s ({errors}); "
                         "the server hangs or is far slower than the run")


@dataclass(frozen=True)
class Measurement:
    """One repeat of one case: the case and its implementation, the suite's settings, the
    folder of the run's logs, the repeat's index and the services started for it."""
    case: Case
    impl: Impl
    settings: Suite
    logs: Path
    index: int
    services: Started

    @property
    def prefix(self) -> Path:
        """logs/<case>.r<index>: where this repeat's log files' names start."""
        return self.logs / f"{case_slug(self.case.id)}.r{self.index}"

    @property
    def log_path(self) -> Path:
        return Path(f"{self.prefix}.log")

    @property
    def server_cpus(self) -> str | None:
        return self.settings.pinning.server if self.settings.pinning else None

    @property
    def wrk_cpus(self) -> str | None:
        return self.settings.pinning.wrk if self.settings.pinning else None

    def target(self, server: RunningServer, elapsed: float, cpus: str | None) -> Target:
        """The checked server as a calibration or a load measures it."""
        case, services = self.case, self.services
        check_timeout = case.params.get("ms", 0) / 1000 + 60
        return Target(server, f"http://127.0.0.1:{server.port}{case.path}", elapsed,
                      lambda: _checked_request(case, server.port, check_timeout, services),
                      str(self.prefix), self.settings.ready_timeout, cpus,
                      checks_for(case.kind, case.params))


@dataclass
class _Clock:
    """When a repeat started, and the runner's own marks: start, checked, measured, stopped."""
    started_at: str = field(default_factory=utc_now)
    marks: list[float] = field(default_factory=lambda: [time.monotonic()])

    def mark(self) -> None:
        self.marks.append(time.monotonic())

    def timing(self) -> StoredTiming:
        """The seconds between the marks so far."""
        steps = [b - a for a, b in zip(self.marks, self.marks[1:])]
        return StoredTiming(**dict(zip(("start_and_check_s", "measure_s", "stop_s"), steps)))


@dataclass(frozen=True)
class _Loads:
    """What the loads of a closed repeat left: wrk's run (the heavy load's, and the probe's
    for an interference case), the resources and services they used, the calibration."""
    done: WrkRun
    probe: WrkRun | None
    resources: StoredResources
    services: dict[str, StoredService]
    calibration: StoredCalibration | None


def measure_once(case: Case, impl: Impl, settings: Suite, work_dir: Path, index: int,
                 host: ServiceHost | None = None) -> tuple[StoredRun, dict]:
    """One measurement on a fresh server, with fresh services where the case calls them:
    the run's record and the server's /info answer."""
    logs = work_dir / "logs"
    if case.services and host is None:
        raise CaseFailed(f"{case.kind} calls {', '.join(case.services)}, and no service "
                         "was prepared for this run")
    try:
        with (host or ServiceHost({}, logs)).started(
                case.services, logs / f"{case_slug(case.id)}.r{index}") as services:
            run, info = _measure_once(Measurement(case, impl, settings, logs, index, services))
    except ServiceFailed as exc:
        raise CaseFailed(str(exc)) from None
    answered = (run.wrk.requests - run.wrk.errors["status"]) if run.wrk else None
    short = upstream_shortfall(run.services, answered, "during the load")
    if short:
        raise CaseFailed(short)
    return run, info


def _measure_once(m: Measurement) -> tuple[StoredRun, dict]:
    """start, check, warm up, wrk, stop: the run's record and the server's /info."""
    clock = _Clock()
    with checked_server(m.case, m.impl, m.log_path, m.settings.ready_timeout, m.server_cpus,
                        m.services) as (server, info, elapsed):
        clock.mark()
        if m.case.type == ScenarioType.OPEN:
            return _open_run(m, server, elapsed, clock, info), info
        loads = _closed_loads(m, server, elapsed)
        exit_code = server.proc.poll()
        clock.mark()
    clock.mark()
    if exit_code is not None:
        raise CaseFailed(with_log(f"server exited during the measurement with status {exit_code}",
                                  m.log_path))
    return _closed_run(m, server.argv, elapsed, clock, loads), info


def _open_run(m: Measurement, server: RunningServer, elapsed: float, clock: _Clock,
              info: dict) -> StoredRun:
    """An open case's repeat: calibration, then its offered rates (runner.measure.openbench)."""
    try:
        opened = measure_open(m.case, m.target(server, elapsed, None), info, m.services)
    except OpenFailed as exc:
        raise CaseFailed(with_log(str(exc), m.log_path)) from None
    clock.mark()
    return StoredRun(index=m.index, started_at=clock.started_at, server_argv=server.argv,
                     check=StoredCheck(service_s=elapsed), timing=clock.timing(),
                     calibration=opened.calibration, capacity=opened.capacity,
                     points=opened.points,
                     **({"services": opened.services} if opened.services else {}))


def _closed_loads(m: Measurement, server: RunningServer, elapsed: float) -> _Loads:
    """A closed case's loads: the probe beside the heavy load (interference), or a warm-up,
    the calibration and wrk, with the server's tree and the services metered."""
    case, wrk = m.case, m.case.wrk
    url = f"http://127.0.0.1:{server.port}{case.path}"
    if case.type == ScenarioType.INTERFERENCE:
        with m.services.metered() as metered, TreeSampler(
                server.proc.pid, server.port, owner=server.owner) as sampler:
            heavy, probe = _interfere(case, server, url, m.prefix,
                                      Wrk(cpus=m.wrk_cpus, checks=checks_for(case.kind, case.params)))
        return _Loads(heavy, probe, sampler.result(), metered, None)
    warmup_s = m.settings.warmup
    if warmup_s > 0 and elapsed < WARMUP_BELOW_S:
        Wrk(cpus=m.wrk_cpus).run(url, threads=wrk.threads, connections=wrk.threads,
                                 duration_s=warmup_s, timeout_s=wrk.timeout,
                                 json_out=m.logs / f"{case_slug(case.id)}.warmup.json")
    target = m.target(server, elapsed, m.wrk_cpus)
    try:
        calibration = calibrate(target, os.cpu_count() or 1, demand_s=min(DEMAND_S, wrk.duration))
    except WorkNotDone as exc:
        raise CaseFailed(str(exc)) from None
    with m.services.metered() as metered, TreeSampler(
            server.proc.pid, server.port, owner=server.owner) as sampler:
        done = Wrk(cpus=m.wrk_cpus, checks=target.checks).run(
            url, threads=wrk.threads, connections=wrk.connections, duration_s=wrk.duration,
            timeout_s=wrk.timeout, json_out=Path(f"{m.prefix}.wrk.json"))
    return _Loads(done, None, sampler.result(), metered, calibration)


def _closed_run(m: Measurement, server_argv: list[str], elapsed: float, clock: _Clock,
                loads: _Loads) -> StoredRun:
    """A closed case's repeat as its record, from wrk's outputs (CaseFailed where they
    cannot be read or no request completed)."""
    done = loads.done
    lua, text = _read_wrk(done, "the")
    run = StoredRun(index=m.index, started_at=clock.started_at, server_argv=server_argv,
                    wrk_argv=portable(done.argv), check=StoredCheck(service_s=elapsed),
                    timing=clock.timing(), calibration=loads.calibration,
                    wrk=lua, text=text, text_raw=clip_tail(done.stdout),
                    disagreements=compare_text_json(text, lua), resources=loads.resources,
                    **({"services": loads.services} if loads.services else {}))
    if loads.probe is None:
        _require_completions(lua, m.case.wrk.duration, "")
    problems = load_problems(lua, m.case.wrk.connections) if lua.requests else []
    if problems:
        raise CaseFailed("; ".join(problems))
    if loads.probe is None:
        return run
    probe_lua, probe_text = _read_wrk(loads.probe, "the probe's")
    _require_completions(probe_lua, m.case.window_s, "probe ")
    run.probe = StoredProbe(wrk_argv=portable(loads.probe.argv), wrk=probe_lua,
                            text=probe_text, text_raw=clip_tail(loads.probe.stdout),
                            disagreements=compare_text_json(probe_text, probe_lua))
    run.timeline = StoredTimeline(**align(probe_lua.model_dump(), lua.model_dump()))
    return run


def _interfere(case: Case, server: RunningServer, url: str, prefix: Path, loader: Wrk):
    """The probe for the whole window, the heavy load in its middle: (heavy, probe) runs.
    The heavy load runs as `loader` says (pinned, checked); the probe pinned alike."""
    cpus = loader.cpus
    _checked(Endpoint(case.probe, {}, case.probe_path, "the probe "), server.port, 10.0)
    wrk = case.wrk
    total = case.window_s
    probe_url = f"http://127.0.0.1:{server.port}{case.probe_path}"
    stop = threading.Event()
    outcome: dict = {}

    def probe() -> None:
        # the probe waits as long as the window lasts: a stalled server shows as a gap
        # in its completions, not as a timeout error
        outcome["run"] = Wrk(cpus=cpus, stop=stop).run(
            probe_url, threads=1, connections=1, duration_s=total, timeout_s=total,
            json_out=f"{prefix}.probe.json")

    thread = threading.Thread(target=probe, name="probe")
    thread.start()
    try:
        time.sleep(case.before_s)
        heavy = loader.run(url, threads=wrk.threads, connections=wrk.connections,
                           duration_s=wrk.duration, timeout_s=wrk.timeout,
                           json_out=f"{prefix}.heavy.json")
        thread.join(timeout=total + 60)
    finally:
        stop.set()  # only matters when interrupted: the probe's wrk is killed at once
        thread.join(timeout=30)
    if "run" not in outcome:
        raise CaseFailed("the probe's wrk did not finish")
    return heavy, outcome["run"]


def error_answer_problems(case: Case, port: int, timeout_s: float = 10) -> list[str]:
    """The contract's error answers of case's server: 400 to a bad parameter of its
    endpoint, 404 to an unknown path; one line for each that is otherwise."""
    problems = []
    for path, expected in ((bad_parameter_path(case.path, case.params), BAD_PARAMETER_STATUS),
                           (UNKNOWN_PATH, UNKNOWN_PATH_STATUS)):
        if path is None:
            continue
        try:
            status, body, _ = http_get(port, path, timeout_s)
        except (OSError, http.client.HTTPException) as exc:
            problems.append(f"request to {path} failed: {exc} (expected status {expected})")
            continue
        problems += [p for p in [error_answer_problem(path, expected, status, body)] if p]
    return problems


def verify_case(case: Case, impl: Impl, work_dir: Path, ready_timeout_s: float,
                host: ServiceHost | None = None) -> tuple[str | None, float | None]:
    """Conformance only: (why it failed, one line a problem, or None; seconds the checked
    request took), the contract's error answers included. Without a host, the services the case calls are prepared for it alone."""
    log_path = work_dir / (case_slug(case.id) + ".verify.log")
    own = host is None
    if own:
        host = ServiceHost(case.services, work_dir)
    try:
        problem = host.problem(case.services)
        if problem:
            return problem, None
        with host.started(case.services, work_dir / case_slug(case.id)) as services, \
                checked_server(case, impl, log_path, ready_timeout_s,
                               services=services) as (server, _, elapsed):
            return "\n".join(error_answer_problems(case, server.port)) or None, elapsed
    except (CaseFailed, ServiceFailed) as exc:
        return str(exc), None
    finally:
        if own:
            host.close()


def base_record(suite: LoadedSuite, run_id: str, case: Case, environment: dict) -> StoredCase:
    """A case's file before its first repeat: its facts and settings, running, no runs."""
    pins = suite.suite.pinning
    return StoredCase(format=FORMAT, version=VERSION, suite=suite.name, run_id=run_id,
                      case=case.record(), wrk=case.wrk.as_record(),
                      pinning=pins.model_dump() if pins else None,
                      repeats=case.repeats, status=Status.RUNNING, reason=None,
                      info=None, runs=[], environment=environment)


@dataclass(frozen=True)
class RunContext:
    """What every case of a run shares: the suite, the run's id and folder, the environment
    each case file records, the progress line and the services."""
    suite: LoadedSuite
    run_id: str
    run_dir: Path
    environment: dict
    progress: Progress
    host: ServiceHost | None = None


def run_case(case: Case, impl: Impl, context: RunContext, setup_error: str | None,
             index: int) -> StoredCase:
    """Measure a case's repeats, writing its file after each; its record."""
    record = base_record(context.suite, context.run_id, case, context.environment)
    path = case_file(context.run_dir, case.id)
    if not case.available:
        record.status, record.reason = Status.NA, case.reason
        write_record(path, record)
        return record
    if setup_error:
        record.status, record.reason = Status.FAILED, setup_error
        write_record(path, record)
        context.progress.line(index, f"{case.id}: FAILED ({setup_error.splitlines()[0]})")
        return record
    settings, repeats = context.suite.suite, case.repeats
    at_start = other_load()
    for repeat in range(repeats):
        try:
            measured, info = measure_once(case, impl, settings, context.run_dir, repeat,
                                          context.host)
        except CaseFailed as exc:
            record.status, record.reason = Status.FAILED, str(exc)
            record.other_load = _other_load_since(at_start)
            write_record(path, record)
            context.progress.advance(planned_seconds(case, repeats - repeat, settings.warmup))
            context.progress.line(index, f"{case.id}: FAILED ({str(exc).splitlines()[0]})")
            return record
        record.info = info
        record.runs.append(measured)
        record.other_load = _other_load_since(at_start)
        agree = (agreeing_repeats(record.runs, settings.stop_when_agree)
                 if repeats > 2 else None)
        if agree:
            record.stopped_early = agree
        record.status = Status.OK if repeat == repeats - 1 or agree else Status.RUNNING
        write_record(path, record)
        context.progress.advance(planned_seconds(case, repeats - repeat if agree else 1,
                                                 settings.warmup))
        context.progress.line(index, f"{case.id} run {repeat + 1}/{repeats}: "
                                     f"{_summary(case, measured)}"
                                     + (f" ({agree})" if agree else ""))
        if agree:
            break
    return record


def _other_load_since(at_start: list[dict]) -> list[StoredOtherLoad]:
    """The load on the machine that was not this run's, at the case's start and now."""
    return [StoredOtherLoad(**found) for found in seen_at(at_start, other_load())]


def _summary(case: Case, run: StoredRun) -> str:
    """A repeat's figures, for its progress line."""
    if case.type == ScenarioType.OPEN:
        return ", ".join(f"{p.offered_rps:g}/s: p99 {p.latency_s.p99 or 0:.3g} s"
                         for p in run.points)
    summary = f"{run.wrk.rps:.1f} req/s, {run.wrk.requests} requests"
    not_2xx = (sum(t.non_2xx for t in run.wrk.threads) if run.wrk.threads
               else run.wrk.errors.get("status") or 0)
    if not_2xx:
        summary += f", {not_2xx} answers not 2xx"
    if run.timeline is not None:
        probe = summarize_probe(run.timeline.model_dump(), run.probe.wrk.model_dump())
        summary += (f"; probe {probe['before_rps']} req/s before, lowest "
                    f"{probe['during_min_rps']} req/s during")
    return summary


def agreeing_repeats(runs: list[StoredRun], within: float | None) -> str | None:
    """Why a case needs no more repeats: its first two steady rates agree within `within`."""
    if not within or len(runs) != 2:
        return None
    # the repeats as records, read as the reports read them (a run's JSON is read into one)
    stored = [StoredRun.model_validate(run) for run in runs]
    if any(run.wrk is None for run in stored):
        return None
    rates = [steady_state_rps(run.wrk.per_second, run.service_time()) or run.wrk.rps
             for run in stored]
    low, high = sorted(rates)
    if high > 0 and (high - low) / high <= within:
        return f"the first two repeats agree within {within:.0%}: no third"
    return None


def completed_cases(run_dir: Path, suite: LoadedSuite, cases: list[Case]) -> set[str]:
    """Case ids already measured in run_dir with the same settings (for --resume)."""
    done = set()
    for case in cases:
        old, _ = read_case(case_file(run_dir, case.id))
        new = base_record(suite, "", case, {})
        if (old is not None and old.status in (Status.OK, Status.NA)
                and record_json(old.case) == record_json(new.case) and old.wrk == new.wrk
                and old.repeats == new.repeats and old.pinning == new.pinning):
            done.add(case.id)
    return done


def method_checks(cases: list[Case], cores: int) -> tuple[list[str], list[str]]:
    """(warnings, errors) about the method, one line per case, before anything starts."""
    warnings, errors = [], []
    for case in cases:
        if not case.available:
            continue
        execution = Execution(**case.execution) if case.execution else None
        server = ModelServer(case.concurrency, case.workers, case.threads)
        known_s = case.params["ms"] / 1000 if "ms" in case.params else None
        load = LoadPlan(case.wrk.threads, case.wrk.connections, case.wrk.duration,
                        case.wrk.timeout)
        for found in plan_warnings(execution, server, load, known_s, cores):
            (errors if found.level == Level.ERROR else warnings).append(
                f"{case.id}: {warning_text(found)}")
    return warnings, errors


def _start_run_file(suite: LoadedSuite, cases: list[Case], run_dir: Path, repo: Path,
                    environment: dict, resume: bool) -> StoredRunFile:
    """run.json as the run starts: a new one, or a resumed run's own with this start added."""
    path = run_dir / "run.json"
    previous, _ = read_run_file(path) if resume else (None, None)
    if previous is not None:
        # a resumed run keeps the environment it started with; each case file has its own
        previous.resumed_at = [*previous.resumed_at, environment["started_at"]]
        previous.cases = [c.id for c in cases]
        run = previous
    else:
        run = StoredRunFile(format=RUN_FORMAT, version=VERSION, suite=suite.name,
                            run_id=run_dir.name, suite_file=portable([suite.file], repo)[0],
                            suite_text=suite.text, environment=environment,
                            cases=[c.id for c in cases], finished_at=None)
    write_record(path, run)
    return run


def _check_plan(suite: LoadedSuite, cases: list[Case], used: list[Impl], console) -> None:
    """The tools, the open-file limit and the method, before anything starts."""
    check_tools(used, pinning=suite.suite.pinning is not None)
    if any(c.type == ScenarioType.OPEN and c.available for c in cases) and vegeta.binary() is None:
        raise BenchError(str(vegeta.VegetaMissing()))
    check_open_files(suite, cases)
    warnings, errors = method_checks(cases, os.cpu_count() or 1)
    if errors:
        raise BenchError(f"{errors[0]}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
                         file=suite.file)
    for warning in warnings:
        console.print(f"warning: {warning}", highlight=False)


def _set_up(used: list[Impl], cases: list[Case], run_dir: Path, console) -> dict:
    """Each implementation's setup steps: why an implementation (by name) or one of its
    servers (by (name, server)) cannot run, or None."""
    def say(line: str) -> None:
        console.print(line, highlight=False, markup=False)

    setup_errors: dict = {impl.name: run_setup(impl, run_dir / "logs" / f"setup-{impl.name}.log",
                                               say)
                          for impl in used}
    for impl in used:  # a program the setup should have built fails its server's cases
        if not setup_errors[impl.name]:
            for server, problem in program_problems(impl, cases).items():
                setup_errors[(impl.name, server)] = problem
    return setup_errors


@dataclass(frozen=True)
class Plan:
    """What a run measures: the suite, the implementations and the cases planned from them."""
    suite: LoadedSuite
    impls: dict[str, Impl]
    cases: list[Case]


def run_suite(plan: Plan, run_dir: Path, repo: Path, console,
              resume: bool = False) -> list[dict]:
    """Measure the cases into run_dir; every case's record, as its file holds it."""
    suite, impls, cases = plan.suite, plan.impls, plan.cases
    used = [impls[name] for name in dict.fromkeys(c.impl for c in cases if c.available)]
    _check_plan(suite, cases, used, console)
    run_dir.mkdir(parents=True, exist_ok=True)
    skip = completed_cases(run_dir, suite, cases) if resume else set()
    environment = collect_environment(repo)
    todo = [c for c in cases if c.id not in skip]
    if skip:
        console.print(f"resuming {run_dir}: {len(skip)} cases already measured, "
                      f"{len(todo)} to go", highlight=False)
    setup_errors = _set_up(used, cases, run_dir, console)
    environment["packages"] = {impl.name: collect_packages(impl) for impl in used}
    host = ServiceHost(suite.suite.services.model_dump(exclude_none=True), run_dir / "logs")
    needed = {name for c in todo if c.available for name in c.services}
    if needed:
        console.print(f"preparing {', '.join(sorted(needed))} ...", highlight=False)
    host.prepare(needed)
    environment["services"] = dict(host.versions) or None
    run_file = _start_run_file(suite, cases, run_dir, repo, environment, resume)
    progress = Progress(sum(planned_seconds(c, c.repeats, suite.suite.warmup)
                            for c in todo), console, len(cases))
    console.print(f"{len(todo)} cases, about {_clock(progress.planned_s)} of measuring; "
                  f"results in {run_dir}", highlight=False)
    run = RunContext(suite, run_dir.name, run_dir, environment, progress, host)
    records = []
    try:
        for index, case in enumerate(cases, 1):
            if case.id in skip:
                continue
            problem = (setup_errors.get(case.impl) or setup_errors.get((case.impl, case.server))
                       or host.problem(case.services))
            records.append(run_case(case, impls[case.impl], run, problem, index))
    finally:
        host.close()
    if run_file.finished_at:  # a resumed run that had finished once keeps that time
        run_file.resumed_finished_at = [*run_file.resumed_finished_at, utc_now()]
    else:
        run_file.finished_at = utc_now()
    write_record(run_dir / "run.json", run_file)
    return [record_json(record) for record in records]
