"""The services I/O kinds call: started fresh, proved by the answers, gone afterwards.

Real PostgreSQL and the real upstream, as a run starts them; the faulty test double's
`good` server calls them and its `liar` makes its answers up, which the check must catch.
Interrupted and killed runs must leave neither service running.
"""

import json
import signal
import subprocess
import sys
import time
from urllib.request import urlopen

import psutil
import pytest

from runner.measure import bench
from runner.measure.check import upstream_signature
from runner.config.manifest import load_impls
from runner.measure.procs import OWNED
from runner.measure.services import ServiceHost, parse_backends
from runner.config.suite import parse_suite, plan_cases

from test_interrupts import REPO, impls_in, start_bench, wait_none_left, wrk_writing

FAKES = REPO / "tests" / "fakes" / "impls"


def test_parse_backends_reads_the_connection_lines():
    log = ("2419: LOG:  database system is ready to accept connections\n"
           "2482: LOG:  connection received: host=127.0.0.1 port=51234\n"
           "2482: LOG:  connection authorized: user=bench database=bench\n"
           "2490: LOG:  connection authorized: user=bench database=postgres\n")
    assert parse_backends(log) == {2482, 2490}


def service_processes(besides: tuple[str, ...] = ()) -> list[str]:
    """Every PostgreSQL or upstream process a run of this repository started, except
    those running before the test (`besides`, as this returned them then)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            line = " ".join(proc.info["cmdline"] or [])
            if proc.info["status"] != psutil.STATUS_ZOMBIE and (
                    "concbench-pg-" in line or "services/upstream/bin/upstream" in line):
                if f"{proc.pid} {line}" not in besides:
                    found.append(f"{proc.pid} {line}")
        except psutil.Error:
            pass
    return found


def wait_no_service(besides: tuple[str, ...], timeout_s: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while (left := service_processes(besides)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


pytestmark = pytest.mark.slow


def test_services_answer_prove_and_stop(tmp_path):
    before = tuple(service_processes())
    with OWNED.session(), ServiceHost({"postgres": {"max_connections": 20}, "upstream": {}},
                                      tmp_path) as host:
        assert host.prepare({"postgres", "upstream"}) == {"postgres": None, "upstream": None}
        assert host.versions["postgres"][0].isdigit() and host.versions["upstream"].startswith("go")
        with host.started({"postgres": {}, "upstream": {}}, tmp_path / "one") as services:
            assert len(service_processes(before)) >= 2
            url = services.env["BENCH_UPSTREAM_URL"]
            with urlopen(f"{url}/delay?ms=30&nonce=abc") as answer:
                echo = json.loads(answer.read())
            key = services.running["upstream"].key
            assert echo["nonce"] == "abc" and echo["sig"] == upstream_signature(key, "abc", 30)
            out = subprocess.run(["psql", services.env["BENCH_DATABASE_URL"], "-At", "-c",
                                  "SHOW max_connections; SELECT pg_backend_pid()"],
                                 capture_output=True, text=True, check=True).stdout.split()
            assert out[0] == "20"
            # the backend has ended with its connection: the log still names it
            assert services.proof(0, 1).is_backend(int(out[1]))
            assert not services.proof(0, 1).is_backend(psutil.Process().pid)
            with services.metered() as record:
                with urlopen(f"{url}/delay?ms=1&nonce=n"):
                    pass
            assert record["upstream"].served == 1
            assert record["postgres"].max_connections == 20
            assert record["postgres"].resources.memory_end_bytes > 0
        assert wait_no_service(before) == []
        folder = host._folder
        assert folder.is_dir()
    assert not folder.exists()


def io_cases(server: str) -> list:
    suite = parse_suite("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 5s}\n"
                        "services: {postgres: {}, upstream: {}}\n"
                        f"targets: [{{impl: faulty, servers: [{server}]}}]\n"
                        "scenarios: [{name: io, kinds: [db_sync, upstream_sync], "
                        "params: {ms: 40}}]\n", "s.yaml", "s")
    return plan_cases(suite, load_impls(FAKES), 2)


def test_honest_calls_pass_and_made_up_ones_fail(tmp_path):
    impl = load_impls(FAKES)["faulty"]
    before = tuple(service_processes())
    with OWNED.session(), ServiceHost({"postgres": {}, "upstream": {}}, tmp_path) as host:
        for case in io_cases("good"):
            reason, elapsed = bench.verify_case(case, impl, tmp_path, 10, host)
            assert reason is None and elapsed >= 0.04, reason
        reasons = {case.kind: bench.verify_case(case, impl, tmp_path, 10, host)[0]
                   for case in io_cases("liar")}
    assert "is not a backend of the database this run started" in reasons["db_sync"]
    assert "cannot be faster" in reasons["db_sync"]
    assert "signature does not match" in reasons["upstream_sync"]
    assert wait_no_service(before) == []


KILLED = """\
wrk: {threads: 1, connections: 4, duration: 10s, timeout: 5s}
repeats: 1
warmup: 0
services: {postgres: {}, upstream: {}}
targets: [{impl: faulty, servers: [pool]}]
scenarios:
  - {name: io, kinds: [upstream_sync, db_sync], params: {ms: 20}}
"""


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_an_interrupted_or_killed_run_leaves_no_service(tmp_path, how):
    before = tuple(service_processes())
    # the first case's service is the one running: the database for one, the upstream for the other
    text = KILLED if how == "SIGINT" else KILLED.replace("[upstream_sync, db_sync]",
                                                         "[db_sync, upstream_sync]")
    proc = start_bench(tmp_path, text, impls_in(tmp_path))
    deadline = time.monotonic() + 90
    while not wrk_writing(tmp_path, "io__", ".r0.wrk.json"):
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the load never started"
        time.sleep(0.02)
    running = " ".join(service_processes(before))
    assert ("upstream" if how == "SIGINT" else "concbench-pg-") in running, running
    if how == "SIGKILL":
        proc.kill()
    else:
        proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == (-signal.SIGKILL if how == "SIGKILL" else 130), output
    assert wait_no_service(before) == []
    assert wait_none_left(tmp_path) == []
    if how == "SIGKILL":   # its database folder stays until a later run prepares one
        from runner.measure.services import FOLDER_PREFIX, remove_left_over
        dead = str(proc.pid)
        assert [f for f in remove_left_over() if f.name.startswith(FOLDER_PREFIX + dead + "-")]


def test_a_run_records_what_its_services_did(tmp_path):
    before = tuple(service_processes())
    suite = tmp_path / "io.yaml"
    suite.write_text(KILLED.replace("duration: 10s", "duration: 2s"))
    done = subprocess.run([sys.executable, "-m", "runner", "bench", str(suite), "--impls",
                           str(impls_in(tmp_path)), "--raw-dir", str(tmp_path / "raw"),
                           "--no-report"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    records = {json.loads(p.read_text())["case"]["kind"]: json.loads(p.read_text())
               for p in (tmp_path / "raw").glob("io/*/io__*.json")}
    run = records["upstream_sync"]["runs"][0]
    assert run["services"]["upstream"]["served"] >= run["wrk"]["requests"] > 0
    assert run["services"]["upstream"]["resources"]["cores"] is not None
    db = records["db_sync"]["runs"][0]["services"]["postgres"]
    assert db["max_connections"] == 100 and db["version"][0].isdigit()
    (run_file,) = (tmp_path / "raw").glob("io/*/run.json")
    assert set(json.loads(run_file.read_text())["environment"]["services"]) == {"postgres",
                                                                                "upstream"}
    assert service_processes(before) == []


def test_an_open_load_records_what_its_services_did_at_each_rate(tmp_path):
    before = tuple(service_processes())
    suite = tmp_path / "open-io.yaml"
    suite.write_text(KILLED.split("scenarios:")[0] + (
        "scenarios:\n"
        "  - {name: open-io, type: open, kinds: [upstream_sync], params: {ms: 20},\n"
        "     rates: {per_second: [10, 20], max_rate: 50, duration: 1s, timeout: 5s}}\n"))
    done = subprocess.run([sys.executable, "-m", "runner", "bench", str(suite), "--impls",
                           str(impls_in(tmp_path)), "--raw-dir", str(tmp_path / "raw"),
                           "--out", str(tmp_path / "out")], cwd=REPO, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = (tmp_path / "raw").glob("open-io/*/open-io__*.json")
    (run,) = json.loads(path.read_text())["runs"]
    assert [p["offered_rps"] for p in run["points"]] == [10.0, 20.0]
    for point in run["points"]:
        upstream = point["services"]["upstream"]
        assert upstream["served"] >= point["ok"] > 0
        assert upstream["resources"]["cores"] is not None and upstream["pid"] > 0
    # the report says what the services used over the rates, beside each rate's figures
    report = (tmp_path / "out" / "open-io.md").read_text()
    assert "used at most" in report and "services (cores)" in report
    assert service_processes(before) == []
