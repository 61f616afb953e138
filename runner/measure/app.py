"""Your own app under load (`python -m runner app app.yaml`): set up its environment, start
it under the wrapper (runner/app/serve.py) in its own process group, read
/__concbench__/info, then per route: one request's time alone, wrk for a few seconds while
/__concbench__/info?live=1 is sampled, and what limits it (runner/model/app.py)."""

import json
import os
import statistics
import subprocess
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from ..config.app import AppRoute, AppSpec
from ..errors import BenchError
from ..report.app import RouteResult
from .procs import OWNED, ServerFailed, free_port, http_get, log_tail, start_server, stop_group
from .services import ServiceHost
from .wrk import WrkMissing, run_wrk

INFO = "/__concbench__/info"
REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0
ALONE_REQUESTS = 3
SAMPLE_EVERY_S = 0.5
PROBE_TIMEOUT_S = 2.0


def _info(port: int, live: bool, timeout_s: float = 2.0) -> dict:
    status, body, _ = http_get(port, INFO + ("?live=1" if live else ""), timeout_s)
    if status != 200:
        raise ServerFailed(f"{INFO} answered status {status}: is the app served by "
                           "runner.app.serve?")
    return json.loads(body)


def _wait_info(server, timeout_s: float = READY_TIMEOUT_S) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (code := server.proc.poll()) is not None:
            tail = log_tail(server.log_path, 5).splitlines()
            raise ServerFailed(f"the app exited with status {code} before it answered"
                               + (f": {tail[-1].strip()}" if tail else ""))
        try:
            return _info(server.port, live=False)
        except (OSError, ValueError):
            time.sleep(0.05)
    raise ServerFailed(f"the app did not answer {INFO} within {timeout_s:g} s")


def _alone(port: int, route: AppRoute) -> tuple[float, float, str | None]:
    """(median seconds, worst loop lag seconds, error) of a few requests sent one by one."""
    _info(port, live=True)  # starts the lag window afresh
    times = []
    for _ in range(ALONE_REQUESTS):
        status, _, seconds = http_get(port, route.path, 10.0)
        if status != route.status:
            return 0.0, 0.0, f"answered {status}, expected {route.status}"
        times.append(seconds)
    lag = _info(port, live=True)["loop_lag"]["worst_since_last_read_ms"] / 1e3
    return statistics.median(times), lag, None


def _sample(port: int, result: RouteResult, stop: threading.Event, probe: str | None) -> None:
    while not stop.wait(SAMPLE_EVERY_S):
        try:
            result.samples.append(_info(port, live=True))
        except (OSError, ValueError, ServerFailed):
            result.missed += 1
        if probe is not None and probe != result.route.path:
            result.probe_s.append(_probe(port, probe))


def _probe(port: int, path: str) -> float:
    """Seconds one GET of the probe took; its bound (2 s) when it had no answer by then."""
    try:
        return http_get(port, path, PROBE_TIMEOUT_S)[2]
    except OSError:
        return PROBE_TIMEOUT_S


def _load(port: int, spec: AppSpec, result: RouteResult, out_dir: Path) -> None:
    result.worst_before_ms = _info(port, live=True)["loop_lag"]["worst_ms"]
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(port, result, stop, spec.probe),
                               daemon=True)
    sampler.start()
    try:
        run = run_wrk(f"http://127.0.0.1:{port}{result.route.path}",
                      threads=spec.load.threads, connections=spec.load.connections,
                      duration_s=spec.load.duration, timeout_s=spec.load.timeout,
                      json_out=out_dir / f"wrk{result.route.path.replace('/', '_')}.json")
    finally:
        stop.set()
        sampler.join(timeout=5)
    try:  # the lag window also holds what samples the loop was too busy to answer missed
        result.samples.append(_info(port, live=True, timeout_s=10.0))
    except (OSError, ValueError, ServerFailed):
        result.missed += 1
    if run.json_text is None:
        result.error = f"wrk left no report (exit {run.returncode}): {run.stderr.strip()[:200]}"
        return
    report = json.loads(run.json_text)
    result.rate = report["requests"] / (report["duration_us"] / 1e6)
    result.p99_s = report["latency_us"]["p99"] / 1e6
    errors = report.get("errors") or {}
    if any(errors.values()):
        result.error = "wrk counted errors: " + ", ".join(f"{k} {v}" for k, v in errors.items()
                                                          if v)


def _setup(spec: AppSpec, folder: Path, log: Path) -> None:
    if not spec.setup:
        return
    with open(log, "ab") as out:
        try:
            done = subprocess.run(spec.setup, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BenchError(f"setup {' '.join(spec.setup)} failed: {exc}") from None
    if done.returncode != 0:
        last = log_tail(log, 1).strip()
        raise BenchError(f"setup {' '.join(spec.setup)} exited with {done.returncode}"
                         + (f": {last}" if last else ""), file=str(folder))


def _env(spec: AppSpec, services: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    for key, value in spec.env.items():
        env[key] = value.replace("{postgres_url}", services.get("postgres_url", ""))
    return env


def _postgres_url(env: dict[str, str]) -> str:
    # SQLAlchemy's URL for psycopg 3 (the runner's own servers get libpq's)
    return env["BENCH_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)


def measure_app(spec: AppSpec, folder: Path, out_dir: Path) -> tuple[dict, list[RouteResult]]:
    """Start the app, measure each route; the app and its services are stopped on every way
    out. Bad input (a setup that fails, an app that does not start) is a BenchError."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _setup(spec, folder, out_dir / "setup.log")
    python = folder / spec.python
    if not python.exists():
        raise BenchError(f"{python} not found: is `setup` creating the app's environment?",
                         key="python")
    with ExitStack() as stack:
        services: dict[str, str] = {}
        if spec.services:
            host = stack.enter_context(ServiceHost({}, out_dir))
            if (problem := host.problem(set(spec.services))) is not None:
                raise BenchError(problem)
            started = stack.enter_context(host.started(set(spec.services), out_dir / "svc"))
            services["postgres_url"] = _postgres_url(started.env)
        port = free_port()
        server = start_server([str(python), "-m", "runner.app.serve", spec.app, "--port",
                               str(port)], port, folder, _env(spec, services), out_dir / "app.log")
        stack.callback(lambda: (stop_group(server.proc), OWNED.forget(server.proc)))
        try:
            info = _wait_info(server)
        except ServerFailed as exc:
            raise BenchError(str(exc)) from None
        return info, [_measure_or_skip(server, spec, route, info, out_dir)
                      for route in spec.routes]


def _measure_or_skip(server, spec: AppSpec, route: AppRoute, info: dict,
                     out_dir: Path) -> RouteResult:
    """The route measured, or failed at once when the app has already exited."""
    code = server.proc.poll()
    if code is None:
        return _measure_route(server.port, spec, route, info, out_dir)
    facts = next((r for r in info.get("routes", []) if r["path"] == route.path), {})
    return RouteResult(route, facts, 0.0, 0.0, error=f"the app exited with status {code}")


def _measure_route(port: int, spec: AppSpec, route: AppRoute, info: dict,
                   out_dir: Path) -> RouteResult:
    facts = next((r for r in info.get("routes", []) if r["path"] == route.path), {})
    try:
        alone_s, lag_s, error = _alone(port, route)
    except (OSError, ValueError, ServerFailed) as exc:
        alone_s, lag_s, error = 0.0, 0.0, f"no answer alone: {exc}"
    result = RouteResult(route, facts, alone_s, lag_s, error=error)
    if error is None:
        try:
            _load(port, spec, result, out_dir)
        except WrkMissing as exc:
            raise BenchError(str(exc)) from None
        except (OSError, ValueError, KeyError, ServerFailed) as exc:  # the app died meanwhile
            result.error = f"no answer under load: {type(exc).__name__}: {exc}"
    return result
