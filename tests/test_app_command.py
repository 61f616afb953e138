"""`python -m runner app app.yaml` (issue 25): the YAML, the model of one route's limit, the
table's figures, and bad input as one line with exit status 2."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner.config.app import AppRoute, load_app_spec
from runner.errors import BenchError
from runner.report.app import RouteResult, pools_used, route_row, summary, table
from runner.model.app import LOOP, Held, blocks_loop, held_by, route_limit

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "fastapi-sqlalchemy"


def runner(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_the_example_spec_loads():
    spec, folder = load_app_spec(EXAMPLE / "app.yaml")
    assert folder == EXAMPLE and spec.app == "main:app" and spec.services == ["postgres"]
    assert [r.path for r in spec.routes] == ["/async_sleep", "/db", "/blocking", "/health"]
    assert spec.load.duration == 3.0 and spec.routes[0].status == 200


@pytest.mark.parametrize("text, message", [
    ("app: main:app\nroutes: []\n", ":2: routes: List should have at least 1 item"),
    ("app: main\nroutes: [{path: /x}]\n", ":1: app: String should match pattern"),
    ("app: main:app\nroutes: [{path: x}]\n", "routes[0].path: a path starts with /"),
    ("app: main:app\nroutes: [{path: /x}]\nport: 3\n", ":3: port: unknown key"),
    ("app: main:app\nfolder: nowhere\nroutes: [{path: /x}]\n", ":2: folder: no such folder"),
    ("- a list\n", "expected a mapping with app: and routes:"),
])
def test_a_bad_spec_is_one_line(tmp_path, text, message):
    path = tmp_path / "app.yaml"
    path.write_text(text)
    with pytest.raises(BenchError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_app_spec(path)


def test_a_bad_spec_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text("app: main:app\nroutes: []\n")
    done = runner("app", str(path))
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"error: {path}:2: routes:")
    assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("extra, message", [
    ("setup: [sh, -c, 'echo no lock file; exit 3']\n",
     "error: {folder}: setup sh -c echo no lock file; exit 3 exited with 3: no lock file"),
    ("setup: []\npython: nope/python\n",
     "error: python: {folder}/nope/python not found: is `setup` creating the app's environment?"),
])
def test_a_setup_that_fails_exits_2(tmp_path, extra, message):
    spec = tmp_path / "app.yaml"
    spec.write_text(f"app: main:app\n{extra}routes: [{{path: /x}}]\n")
    done = runner("app", str(spec), "--logs", str(tmp_path / "logs"))
    assert done.returncode == 2
    assert done.stderr.strip() == message.format(folder=tmp_path)


def test_the_narrowest_held_thing_binds():
    limit = route_limit([Held("anyio's thread limiter", 40), Held("pool e", 15)], 64, 0.05)
    assert limit.binds == Held("pool e", 15) and limit.capacity_rps == pytest.approx(300)
    assert route_limit([], 64, 0.05).binds.name == "the load's connections"
    assert route_limit([], 64, None).capacity_rps is None


def test_what_a_route_holds():
    threads = Held("threads", 40)
    def_route = {"runs": "threads", "in_threads": ["main.db"]}
    assert held_by(def_route, threads, [], 0.0, 0.05) == [threads]
    # an async route with a def dependency holds a token too
    assert held_by({"runs": "loop", "in_threads": ["main.dep"]}, threads, [], 0.0, 0.05) == \
        [threads]
    assert held_by({"runs": "loop", "in_threads": []}, threads, [], 0.001, 0.05) == []
    assert held_by({"runs": "loop", "in_threads": []}, threads, [], 0.05, 0.05) == \
        [Held(LOOP, 1)]
    assert held_by(def_route, None, [Held("pool", 5)], 0.0, 0.05) == [Held("pool", 5)]
    assert not blocks_loop("threads", 0.05, 0.05) and blocks_loop("loop", 0.03, 0.05)


def sample(checked_out: int, window_ms: float, worst_ms: float) -> dict:
    return {"pools": [{"name": "main.engine", "kind": "sqlalchemy", "capacity": 15,
                       "checked_out": checked_out}],
            "loop_lag": {"worst_since_last_read_ms": window_ms, "worst_ms": worst_ms}}


def test_a_route_uses_the_pools_it_checked_out():
    result = RouteResult(AppRoute(path="/db"), {}, 0.05, 0.0,
                         samples=[sample(0, 1, 5), sample(15, 2, 5)])
    assert pools_used(result) == [Held("sqlalchemy pool main.engine", 15)]
    result.samples = [sample(0, 1, 5)]
    assert pools_used(result) == []


def test_the_row_names_the_limit_and_the_worst_lag():
    info = {"anyio_limiter": {"total_tokens": 40}}
    facts = {"path": "/db", "runs": "threads", "in_threads": ["main.db"]}
    result = RouteResult(AppRoute(path="/db"), facts, 0.05, 0.0, rate=280.0, p99_s=0.35,
                         samples=[sample(15, 4, 9), sample(15, 3, 9)], worst_before_ms=9)
    row = route_row(result, info, 64)
    assert (row["limit"], row["in_service"]) == ("sqlalchemy pool main.engine", 15)
    assert row["capacity"] == pytest.approx(300) and row["p99_ms"] == pytest.approx(350)
    assert row["worst_lag_ms"] == 4
    assert row["peaks"] == {"borrowed_tokens": 0, "tasks_waiting": 0, "main.engine": 15}
    # reads the blocked loop answered late reset the window; the worst since start keeps it
    result.samples.append(sample(15, 0, 2500))
    assert route_row(result, info, 64)["worst_lag_ms"] == 2500


def test_the_table_and_the_summary_show_the_rows():
    import io
    from rich.console import Console
    info = {"anyio_limiter": {"total_tokens": 40},
            "pools": [{"name": "main.engine", "pool": "QueuePool", "size": 5, "max_overflow": 10}]}
    ok = RouteResult(AppRoute(path="/db"), {"runs": "threads", "in_threads": ["main.db"]},
                     0.05, 0.0, rate=280.0, p99_s=0.35, samples=[sample(15, 4, 9)],
                     probe_s=[0.09])
    failed = RouteResult(AppRoute(path="/gone"), {}, 0.0, 0.0, error="the app exited")
    rows = [route_row(ok, info, 64), route_row(failed, info, 64)]
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(table(rows, "/health"))
    text = console.export_text()
    assert "/health worst ms" in text and "sqlalchemy pool main.engine" in text
    assert "│ 280 " in text and "│ 300 " in text and "│ 90 " in text
    assert "failed (below)" in text.splitlines()[-2]
    assert summary(rows, info) == [
        "anyio's thread limiter: 40 tokens; pools: main.engine (QueuePool, 5 + 10)",
        "/db at its peak: 0 of 40 thread tokens borrowed, 0 tasks waiting; main.engine 15 "
        "checked out"]


@pytest.mark.slow
def test_an_app_that_does_not_import_exits_2(tmp_path):
    spec = tmp_path / "app.yaml"
    spec.write_text(f"app: nosuch_module:app\nfolder: {EXAMPLE}\nroutes: [{{path: /health}}]\n")
    done = runner("app", str(spec), "--logs", str(tmp_path / "logs"), timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == ("error: the app exited with status 2 before it answered: "
                                   "error: app 'nosuch_module:app': importing nosuch_module "
                                   "failed: ModuleNotFoundError: No module named 'nosuch_module'")


@pytest.mark.slow
def test_the_example_names_each_route_s_limit(tmp_path):
    """The example under a short load: the SQLAlchemy pool binds /db, the event loop binds
    /blocking, and nothing of the app is left running."""
    spec = tmp_path / "app.yaml"
    spec.write_text(f"app: main:app\nfolder: {EXAMPLE}\nservices: [postgres]\n"
                    "env: {DATABASE_URL: '{postgres_url}'}\n"
                    "load: {connections: 32, duration: 1s}\n"
                    "routes: [{path: /db}, {path: /blocking}]\n")
    done = runner("app", str(spec), "--logs", str(tmp_path / "logs"), timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "logs" / "app.log").exists() and (tmp_path / "logs" / "wrk_db.json").exists()
    lines = {line.split("│")[1].strip(): line for line in done.stdout.splitlines()
             if line.startswith("│")}
    assert "sqlalchemy pool main.engine" in lines["/db"] and "│ 15 " in lines["/db"]
    assert "the event loop (blocked inside the route)" in lines["/blocking"]
    assert "main.engine (QueuePool, 5 + 10)" in done.stdout
    assert re.search(r"^/db at its peak: [1-9]\d* of 40 thread tokens borrowed", done.stdout, re.M)
    assert "main.engine 15 checked out" in done.stdout
    left = subprocess.run(["pgrep", "-f", f"runner.app.serve main:app"], capture_output=True)
    assert left.stdout == b""


@pytest.mark.slow
def test_a_route_that_fails_fails_alone(tmp_path):
    """A wrong status, then an app that dies: each of those routes fails with its reason,
    the routes before them keep their figures, exit status 3."""
    (tmp_path / "faulty.py").write_text(
        "import os\nfrom fastapi import FastAPI\napp = FastAPI()\n\n"
        "@app.get('/ok')\nasync def ok():\n    return {}\n\n"
        "@app.get('/die')\ndef die():\n    os._exit(3)\n")
    spec = tmp_path / "app.yaml"
    spec.write_text(f"app: faulty:app\nsetup: [uv, sync, --frozen, --quiet, --project, {EXAMPLE}]\n"
                    f"python: {EXAMPLE / '.venv/bin/python'}\n"
                    "load: {connections: 4, duration: 1s}\n"
                    "routes: [{path: /ok}, {path: /nope}, {path: /die}, {path: /after}]\n")
    done = runner("app", str(spec), "--logs", str(tmp_path / "logs"), timeout=300)
    assert done.returncode == 3, done.stderr
    assert "FAILED /nope: answered 404, expected 200" in done.stderr
    assert "FAILED /die: no answer alone: " in done.stderr
    assert "FAILED /after: the app exited with status 3" in done.stderr
    assert "FAILED /ok" not in done.stderr, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines()
            if line.startswith("│")}
    assert "the load's connections" in rows["/ok"] and "failed (below)" in rows["/die"]
