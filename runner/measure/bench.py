"""Run a suite: set up implementations, measure every case, save each result at once.

This is the shell around the pure core: it starts servers, calls wrk and writes files.
A case that fails (a server that will not start, dies, hangs or answers wrongly) is
recorded with its reason and the suite goes on; an interruption stops every process
it started and keeps every result already written.
"""

import http.client
import json
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
from .calibrate import DEMAND_S, calibrate
from .openbench import OpenFailed, measure_open
from .check import check_answer
from ..config.kinds import SLEEP_KINDS
from .env import collect_environment, portable, utc_now
from ..model.probe import align, summarize_probe
from ..errors import BenchError
from ..config.manifest import Impl
from ..model.predict import Execution, Server as ModelServer, plan_warnings, steady_state_rps
from .procs import (ServerFailed, free_port, http_get, log_tail, run_owned, start_server,
                    stop_server, port_was_taken, wait_ready, with_log)
from .sampling import TreeSampler
from .services import ServiceFailed, ServiceHost, Started, upstream_shortfall
from ..store.results import (FORMAT, RUN_FORMAT, VERSION, StoredRun, case_file, case_slug, read_json,
                      write_json)
from ..config.suite import Case, LoadedSuite, Suite
from .wrk import run_wrk
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


def run_setup(impl: Impl, log_path: Path) -> str | None:
    """Run the implementation's setup steps; None when they worked, else the reason."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        for argv in impl.manifest.setup:
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


def _checked_request(case: Case, port: int, timeout_s: float,
                     services: Started | None = None) -> float:
    """One request to the case's endpoint whose answer must prove its work; its seconds."""
    return _checked(case.kind, case.params, case.path, port, timeout_s, "", services)


def _checked(kind: str, params: dict, path: str, port: int, timeout_s: float, what: str,
             services: Started | None = None) -> float:
    sent_at = time.time()
    try:
        status, body, elapsed = http_get(port, path, timeout_s)
    except (OSError, http.client.HTTPException) as exc:
        raise CaseFailed(f"conformance request to {what}{path} failed: {exc}") from None
    proof = (services or Started()).proof(sent_at, time.time())
    problems = check_answer(kind, params, status, body, elapsed, proof)
    if problems:
        raise CaseFailed(f"conformance check of {what}{path} failed: " + "; ".join(problems))
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


def _read_wrk(done, what: str) -> tuple[dict, dict]:
    """(Lua report, text report) of a finished wrk run, or CaseFailed with the reason."""
    if done.returncode != 0 or done.json_text is None:
        raise CaseFailed(f"{what} wrk exited with {done.returncode}: {done.stderr.strip()[:300]}")
    try:
        return parse_wrk_json(done.json_text), parse_wrk_text(done.stdout)
    except WrkParseError as exc:
        raise CaseFailed(f"cannot read {what} wrk's output: {exc}") from None


def _require_completions(lua: dict, duration_s: float, what: str) -> None:
    if lua["requests"] == 0:
        errors = ", ".join(f"{v} {k}" for k, v in lua["errors"].items() if v) or "no errors"
        raise CaseFailed(f"no {what}request completed in {duration_s:g} s ({errors}); "
                         "the server hangs or is far slower than the run")


def measure_once(case: Case, impl: Impl, settings: Suite, work_dir: Path, index: int,
                 host: ServiceHost | None = None) -> dict:
    """One measurement on a fresh server, with fresh services where the case calls them."""
    slug = case_slug(case.id)
    logs = work_dir / "logs"
    if case.services and host is None:
        raise CaseFailed(f"{case.kind} calls {', '.join(case.services)}, and no service "
                         "was prepared for this run")
    try:
        with (host or ServiceHost({}, logs)).started(case.services,
                                                     logs / f"{slug}.r{index}") as services:
            run = _measure_once(case, impl, settings, logs, slug, index, services)
    except ServiceFailed as exc:
        raise CaseFailed(str(exc)) from None
    answered = (run["wrk"]["requests"] - run["wrk"]["errors"]["status"]) if "wrk" in run else None
    short = upstream_shortfall(run.get("services") or {}, answered, "during the load")
    if short:
        raise CaseFailed(short)
    return run


def _measure_once(case: Case, impl: Impl, settings: Suite, logs: Path, slug: str, index: int,
                  services: Started) -> dict:
    """start, check, warm up, wrk, stop."""
    log_path = logs / f"{slug}.r{index}.log"
    started_at = utc_now()
    wrk = case.wrk
    warmup_s = settings.warmup
    probe = None
    clock = [time.monotonic()]  # start, checked, measured, stopped: the runner's own share
    calibration = None
    pins = settings.pinning
    wrk_cpus = pins.wrk if pins else None
    with checked_server(case, impl, log_path, settings.ready_timeout,
                        pins.server if pins else None, services) as (server, info, elapsed):
        clock.append(time.monotonic())
        url = f"http://127.0.0.1:{server.port}{case.path}"
        check_timeout = case.params.get("ms", 0) / 1000 + 60
        if case.type == ScenarioType.OPEN:
            try:
                opened = measure_open(case, server, info, elapsed, settings, logs, slug, index,
                                      lambda: _checked_request(case, server.port, check_timeout,
                                                               services), services)
            except OpenFailed as exc:
                raise CaseFailed(with_log(str(exc), log_path)) from None
            return {"index": index, "started_at": started_at, "server_argv": server.argv,
                    "info": info, "check": {"service_s": elapsed},
                    "timing": {"start_and_check_s": clock[1] - clock[0],
                               "measure_s": time.monotonic() - clock[1]}, **opened}
        if case.type == ScenarioType.INTERFERENCE:
            with services.metered() as metered, TreeSampler(server.proc.pid, server.port) as sampler:
                heavy, probe = _interfere(case, server, url, logs / f"{slug}.r{index}", wrk_cpus)
            done = heavy
        else:
            if warmup_s > 0 and elapsed < WARMUP_BELOW_S:
                run_wrk(url, threads=wrk.threads, connections=wrk.threads, duration_s=warmup_s,
                        timeout_s=wrk.timeout, json_out=logs / f"{slug}.warmup.json",
                        cpus=wrk_cpus)
            calibration = calibrate(
                server, url, elapsed, settings.ready_timeout, str(logs / f"{slug}.r{index}"),
                lambda: _checked_request(case, server.port, check_timeout, services),
                os.cpu_count() or 1, wrk_cpus, demand_s=min(DEMAND_S, wrk.duration))
            with services.metered() as metered, TreeSampler(server.proc.pid, server.port) as sampler:
                done = run_wrk(url, threads=wrk.threads, connections=wrk.connections,
                               duration_s=wrk.duration, timeout_s=wrk.timeout,
                               json_out=logs / f"{slug}.r{index}.wrk.json", cpus=wrk_cpus)
        exit_code = server.proc.poll()
        clock.append(time.monotonic())
    clock.append(time.monotonic())
    if exit_code is not None:
        raise CaseFailed(with_log(f"server exited during the measurement with status {exit_code}",
                                  log_path))
    lua, text = _read_wrk(done, "the")
    run = {"index": index, "started_at": started_at, "server_argv": server.argv,
           "wrk_argv": portable(done.argv), "info": info, "check": {"service_s": elapsed},
           "timing": {"start_and_check_s": clock[1] - clock[0], "measure_s": clock[2] - clock[1],
                      "stop_s": clock[3] - clock[2]},
           "calibration": calibration,
           "wrk": lua, "text": text, "text_raw": done.stdout,
           "disagreements": compare_text_json(text, lua)}
    run["resources"] = sampler.result()
    if metered:
        run["services"] = metered
    if probe is None:
        _require_completions(lua, wrk.duration, "")
    else:
        probe_lua, probe_text = _read_wrk(probe, "the probe's")
        _require_completions(probe_lua, case.window_s, "probe ")
        run["probe"] = {"wrk_argv": portable(probe.argv), "wrk": probe_lua, "text": probe_text,
                        "text_raw": probe.stdout,
                        "disagreements": compare_text_json(probe_text, probe_lua)}
        run["timeline"] = align(probe_lua, lua)
    return run


def _interfere(case: Case, server, url: str, prefix: Path, cpus: str | None):
    """The probe for the whole window, the heavy load in its middle: (heavy, probe) runs."""
    _checked(case.probe, {}, case.probe_path, server.port, 10.0, "the probe ")
    wrk = case.wrk
    total = case.window_s
    probe_url = f"http://127.0.0.1:{server.port}{case.probe_path}"
    stop = threading.Event()
    outcome: dict = {}

    def probe() -> None:
        # the probe waits as long as the window lasts: a stalled server shows as a gap
        # in its completions, not as a timeout error
        outcome["run"] = run_wrk(probe_url, threads=1, connections=1, duration_s=total,
                                 timeout_s=total, json_out=f"{prefix}.probe.json", stop=stop,
                                 cpus=cpus)

    thread = threading.Thread(target=probe, name="probe")
    thread.start()
    try:
        time.sleep(case.before_s)
        heavy = run_wrk(url, threads=wrk.threads, connections=wrk.connections,
                        duration_s=wrk.duration, timeout_s=wrk.timeout,
                        json_out=f"{prefix}.heavy.json", cpus=cpus)
        thread.join(timeout=total + 60)
    finally:
        stop.set()  # only matters when interrupted: the probe's wrk is killed at once
        thread.join(timeout=30)
    if "run" not in outcome:
        raise CaseFailed("the probe's wrk did not finish")
    return heavy, outcome["run"]


def verify_case(case: Case, impl: Impl, work_dir: Path, ready_timeout_s: float,
                host: ServiceHost | None = None) -> tuple[str | None, float | None]:
    """Conformance only: (reason it failed or None, seconds the checked request took).
    Without a host, the services the case calls are prepared for it alone."""
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
                               services=services) as (_, _, elapsed):
            return None, elapsed
    except (CaseFailed, ServiceFailed) as exc:
        return str(exc), None
    finally:
        if own:
            host.close()


def base_record(suite: LoadedSuite, run_id: str, case: Case, environment: dict) -> dict:
    pins = suite.suite.pinning
    return {"format": FORMAT, "version": VERSION, "suite": suite.name, "run_id": run_id,
            "case": case.record(), "wrk": case.wrk.as_record(),
            "pinning": pins.model_dump() if pins else None,
            "repeats": case.repeats, "status": Status.RUNNING, "reason": None,
            "info": None, "runs": [], "environment": environment}


def run_case(case: Case, impl: Impl, suite: LoadedSuite, run_id: str, run_dir: Path,
             environment: dict, setup_error: str | None, progress: Progress,
             index: int, host: ServiceHost | None = None) -> dict:
    record = base_record(suite, run_id, case, environment)
    path = case_file(run_dir, case.id)
    if not case.available:
        record.update(status=Status.NA, reason=case.reason)
        write_json(path, record)
        return record
    if setup_error:
        record.update(status=Status.FAILED, reason=setup_error)
        write_json(path, record)
        progress.line(index, f"{case.id}: FAILED ({setup_error.splitlines()[0]})")
        return record
    repeats = case.repeats
    for repeat in range(repeats):
        try:
            run = measure_once(case, impl, suite.suite, run_dir, repeat, host)
        except CaseFailed as exc:
            record.update(status=Status.FAILED, reason=str(exc))
            write_json(path, record)
            progress.advance(planned_seconds(case, repeats - repeat, suite.suite.warmup))
            progress.line(index, f"{case.id}: FAILED ({str(exc).splitlines()[0]})")
            return record
        record["info"] = run.pop("info")
        record["runs"].append(run)
        agree = (agreeing_repeats(record["runs"], suite.suite.stop_when_agree)
                 if repeats > 2 else None)
        if agree:
            record["stopped_early"] = agree
        record["status"] = Status.OK if repeat == repeats - 1 or agree else Status.RUNNING
        write_json(path, record)
        progress.advance(planned_seconds(case, repeats - repeat if agree else 1,
                                         suite.suite.warmup))
        if case.type == ScenarioType.OPEN:
            points = run["points"]
            summary = ", ".join(f"{p['offered_rps']:g}/s: p99 {p['latency_s']['p99'] or 0:.3g} s"
                                for p in points)
            progress.line(index, f"{case.id} run {repeat + 1}/{repeats}: {summary}")
            continue
        wrk = run["wrk"]
        summary = f"{wrk['rps']:.1f} req/s, {wrk['requests']} requests"
        if "timeline" in run:
            probe = summarize_probe(run["timeline"], run["probe"]["wrk"])
            summary += (f"; probe {probe['before_rps']} req/s before, lowest "
                        f"{probe['during_min_rps']} req/s during")
        progress.line(index, f"{case.id} run {repeat + 1}/{repeats}: {summary}"
                             + (f" ({agree})" if agree else ""))
        if agree:
            break
    return record


def agreeing_repeats(runs: list[dict], within: float | None) -> str | None:
    """Why a case needs no more repeats: its first two steady rates agree within `within`."""
    if not within or len(runs) != 2 or any("wrk" not in run for run in runs):
        return None
    # the repeats as they are stored, read as the reports read them
    stored = [StoredRun.model_validate(run) for run in runs]
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
        old, _ = read_json(case_file(run_dir, case.id))
        if (isinstance(old, dict) and old.get("status") in (Status.OK, Status.NA)
                and old.get("case") == case.record() and old.get("wrk") == case.wrk.as_record()
                and old.get("repeats") == (case.repeats)
                and old.get("pinning") == base_record(suite, "", case, {})["pinning"]):
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
        for level, message in plan_warnings(
                execution, server, case.wrk.threads, case.wrk.connections, case.wrk.duration,
                case.wrk.timeout, known_s, cores):
            (errors if level == "error" else warnings).append(f"{case.id}: {message}")
    return warnings, errors


def _read_run(path: Path) -> dict | None:
    data, _ = read_json(path)
    return data if isinstance(data, dict) and data.get("format") == RUN_FORMAT else None


def run_suite(suite: LoadedSuite, impls: dict[str, Impl], cases: list[Case], run_dir: Path,
              repo: Path, console, resume: bool = False) -> list[dict]:
    used = [impls[name] for name in dict.fromkeys(c.impl for c in cases if c.available)]
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
    run_dir.mkdir(parents=True, exist_ok=True)
    run_id = run_dir.name
    skip = completed_cases(run_dir, suite, cases) if resume else set()
    environment = collect_environment(repo)
    todo = [c for c in cases if c.id not in skip]
    if skip:
        console.print(f"resuming {run_dir}: {len(skip)} cases already measured, "
                      f"{len(todo)} to go", highlight=False)
    for impl in used:
        console.print(f"setting up {impl.name} ...", highlight=False)
    setup_errors = {impl.name: run_setup(impl, run_dir / "logs" / f"setup-{impl.name}.log")
                    for impl in used}
    for impl in used:  # a program the setup should have built fails its server's cases
        if not setup_errors[impl.name]:
            for server, problem in program_problems(impl, cases).items():
                setup_errors[(impl.name, server)] = problem
    environment["packages"] = {impl.name: collect_packages(impl) for impl in used}
    host = ServiceHost(suite.suite.services.model_dump(exclude_none=True), run_dir / "logs")
    needed = {name for c in todo if c.available for name in c.services}
    if needed:
        console.print(f"preparing {', '.join(sorted(needed))} ...", highlight=False)
    host.prepare(needed)
    environment["services"] = dict(host.versions) or None
    run_path = run_dir / "run.json"
    previous = _read_run(run_path) if resume else None
    if previous:
        # a resumed run keeps the environment it started with; each case file has its own
        previous.setdefault("resumed_at", []).append(environment["started_at"])
        previous["cases"] = [c.id for c in cases]
        write_json(run_path, previous)
    else:
        write_json(run_path, {"format": RUN_FORMAT, "version": VERSION, "suite": suite.name,
                              "run_id": run_id, "suite_file": portable([suite.file], repo)[0],
                              "suite_text": suite.text,
                              "environment": environment, "cases": [c.id for c in cases],
                              "finished_at": None})
    progress = Progress(sum(planned_seconds(c, c.repeats, suite.suite.warmup)
                            for c in todo), console, len(cases))
    console.print(f"{len(todo)} cases, about {_clock(progress.planned_s)} of measuring; "
                  f"results in {run_dir}", highlight=False)
    records = []
    try:
        for index, case in enumerate(cases, 1):
            if case.id in skip:
                continue
            problem = (setup_errors.get(case.impl) or setup_errors.get((case.impl, case.server))
                       or host.problem(case.services))
            records.append(run_case(case, impls[case.impl], suite, run_id, run_dir,
                                    environment, problem, progress, index, host))
    finally:
        host.close()
    run = json.loads(run_path.read_text())
    if run.get("finished_at"):  # a resumed run that had finished once keeps that time
        run.setdefault("resumed_finished_at", []).append(utc_now())
    else:
        run["finished_at"] = utc_now()
    write_json(run_path, run)
    return records
