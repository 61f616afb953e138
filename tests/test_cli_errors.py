"""Bad input from the command line: one clear line, exit status 2, no traceback, nothing started."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from runner.errors import BenchError
from runner.config.suite import parse_suite

REPO = Path(__file__).resolve().parent.parent
FIXTURE_RUN = REPO / "tests" / "fixtures" / "results" / "demo" / "20261123T190000Z"


def runner(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env)


def path_without(*tools: str) -> dict:
    """The environment with PATH cut down to folders that hold none of `tools`."""
    keep = [d for d in os.environ["PATH"].split(os.pathsep)
            if d and not any((Path(d) / t).exists() for t in tools)]
    return {**os.environ, "PATH": os.pathsep.join(keep), "PYTHONPATH": str(REPO)}


def test_missing_wrk_says_how_to_install(tmp_path, fake_impls):
    suite = tmp_path / "s.yaml"
    suite.write_text("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 1s}\n"
                     "targets: [{impl: alpha, servers: [main]}]\n"
                     "scenarios: [{name: hello, kinds: [hello]}]\n")
    done = runner("bench", str(suite), "--impls", str(fake_impls), "--raw-dir", str(tmp_path / "raw"),
                  env=path_without("wrk"))
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: wrk not found: install it with `apt-get install -y wrk` "
                                   "(or run `./just setup`)")
    assert not (tmp_path / "raw").exists()


def test_missing_vegeta_says_how_to_install(tmp_path, fake_impls):
    suite = tmp_path / "s.yaml"
    suite.write_text("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 1s}\n"
                     "targets: [{impl: alpha, servers: [main]}]\n"
                     "scenarios: [{name: open, type: open, kinds: [hello],\n"
                     "             rates: {per_second: [10]}}]\n")
    env = {**os.environ, "CONCBENCH_VEGETA": str(tmp_path / "no-vegeta")}
    done = runner("bench", str(suite), "--impls", str(fake_impls), "--raw-dir", str(tmp_path / "raw"),
                  env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: vegeta not found: install it with `./just setup` (go "
                                   "install github.com/tsenart/vegeta/v12@v12.13.0 into .tools/bin)")
    assert not (tmp_path / "raw").exists()


def test_missing_go_says_how_to_install(tmp_path, fake_impls):
    manifest = fake_impls / "alpha" / "impl.yaml"
    manifest.write_text(manifest.read_text().replace("setup: []", "setup: [[go, build, -o, bin/server, .]]"))
    suite = tmp_path / "s.yaml"
    suite.write_text("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 1s}\n"
                     "targets: [{impl: alpha, servers: [main]}]\n"
                     "scenarios: [{name: hello, kinds: [hello]}]\n")
    if shutil.which("wrk") is None:
        pytest.fail("wrk is needed for this test: apt-get install -y wrk")
    env = path_without("go")
    env["PATH"] += os.pathsep + str(Path(shutil.which("wrk")).parent)
    done = runner("bench", str(suite), "--impls", str(fake_impls), "--raw-dir", str(tmp_path / "raw"),
                  env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"error: {manifest}: setup: 'go' not found on PATH, needed by this setup step; install go "
        "(Go: https://go.dev/doc/install, uv: `pip install uv`) and try again")
    assert "Traceback" not in done.stderr


def test_unknown_suite_file(tmp_path):
    done = runner("bench", str(tmp_path / "nope.yaml"))
    assert done.returncode == 2
    found = ", ".join(sorted(p.stem for p in (REPO / "suites").glob("*.yaml")))
    assert done.stderr.strip() == (f"error: {tmp_path / 'nope.yaml'}: no such suite; the suites "
                                   f"in {REPO / 'suites'} are {found} (or give the path of a "
                                   "YAML file)")
    assert "quick" in found


@pytest.mark.parametrize("name", ["quick", "quick.yaml", "suites/quick.yaml", "suites/quick",
                                  str(REPO / "suites" / "quick.yaml")])
def test_suite_by_name_file_name_or_path(name, tmp_path, monkeypatch):
    from runner.__main__ import suite_path
    monkeypatch.chdir(tmp_path)  # relative names are found from the repository too
    assert suite_path(name) == REPO / "suites" / "quick.yaml"
    monkeypatch.chdir(REPO)
    assert suite_path(name).resolve() == REPO / "suites" / "quick.yaml"
    assert suite_path("all") == REPO / "suites" / "default.yaml"


def test_messages_are_printed_literally(tmp_path, fake_impls, capsys):
    """Rich markup is off: brackets in a message (a pattern, [Errno 98]) are printed as they are."""
    from runner.__main__ import console, main
    suite = tmp_path / "s.yaml"
    suite.write_text("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 1s}\n"
                     "targets: [{impl: alpha, servers: [main]}]\n"
                     "scenarios: [{name: Bad_Name, kinds: [hello]}]\n")
    assert main(["bench", str(suite), "--impls", str(fake_impls), "--raw-dir",
                 str(tmp_path / "raw")]) == 2
    err = capsys.readouterr().err
    assert "String should match pattern '^[a-z0-9][a-z0-9_-]*$'" in err, err
    console.print("[bold]x[/bold] [Errno 98] :smile: [link=http://a]b[/link]")
    assert capsys.readouterr().err == "[bold]x[/bold] [Errno 98] :smile: [link=http://a]b[/link]\n"


def test_open_file_limit_is_checked_before_anything_starts(tmp_path, fake_impls):
    import resource
    suite = tmp_path / "s.yaml"
    suite.write_text("wrk: {threads: 2, connections: 10, duration: 1s, timeout: 1s}\n"
                     "targets: [{impl: alpha, servers: [main]}]\n"
                     "scenarios:\n"
                     "  - {name: small, kinds: [hello]}\n"
                     "  - name: big\n"
                     "    kinds: [hello]\n"
                     "    wrk: {connections: 1000}\n")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    done = subprocess.run(
        [sys.executable, "-m", "runner", "bench", str(suite), "--impls", str(fake_impls),
         "--raw-dir", str(tmp_path / "raw")], cwd=REPO, capture_output=True, text=True,
        timeout=60, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"error: {suite}:7: scenarios[1].wrk.connections: 1000 connections need about 1066 open "
        "files in wrk and as many in the server, but the open-file limit is 256: run "
        "`ulimit -n 1066` in this shell and try again")
    assert not (tmp_path / "raw").exists()


@pytest.mark.slow
def test_a_program_missing_after_setup_fails_its_cases(tmp_path, fake_impls):
    """argv[0] is checked once the setup ran: a setup that builds it passes, one that does
    not fails that server's cases with a reason naming impl.yaml and the server."""
    faulty = REPO / "tests" / "fakes" / "impls" / "faulty"
    impls = tmp_path / "impls"
    shutil.copytree(faulty, impls / "faulty")
    manifest = impls / "faulty" / "impl.yaml"
    manifest.write_text(manifest.read_text().replace(
        "setup: []", "setup: [[sh, -c, \"mkdir -p bin && (echo '#!/usr/bin/env python3'; "
        "cat server.py) > bin/built && chmod +x bin/built\"]]").replace(
        "good: {concurrency: thread-per-request, argv: [python3, server.py,",
        "good: {concurrency: thread-per-request, argv: [bin/built,").replace(
        "liar: {concurrency: thread-per-request, argv: [python3, server.py,",
        "liar: {concurrency: thread-per-request, argv: [bin/never-built,"))
    suite = tmp_path / "s.yaml"
    suite.write_text("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 1s}\n"
                     "warmup: 0\nrepeats: 1\n"
                     "targets: [{impl: faulty, servers: [good, liar]}]\n"
                     "scenarios: [{name: hello, kinds: [hello]}]\n")
    done = runner("bench", str(suite), "--impls", str(impls), "--raw-dir", str(tmp_path / "raw"),
                  "--no-report")
    assert done.returncode == 3, done.stderr
    assert (f"FAILED hello/faulty/liar/hello: {manifest}: servers.liar.argv: program "
            f"'bin/never-built' not found in {impls / 'faulty'} (after the setup steps ran)"
            in done.stderr), done.stderr
    assert "FAILED hello/faulty/good" not in done.stderr
    verify = runner("verify", str(suite), "--impls", str(impls), "--raw-dir", str(tmp_path / "raw"))
    assert verify.returncode == 3
    assert "FAIL faulty liar /hello: " in verify.stderr and "ok   faulty good /hello" in verify.stderr


@pytest.mark.slow
def test_verify_lists_the_kinds_an_implementation_does_not_serve(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 1s}\n"
                     "targets: [{impl: faulty, servers: [good]}]\n"
                     "scenarios: [{name: a, kinds: [hello, async_sleep, executor_sleep], "
                     "params: {ms: 10}}]\n")
    done = runner("verify", str(suite), "--impls", str(REPO / "tests" / "fakes" / "impls"),
                  "--raw-dir", str(tmp_path / "raw"))
    assert done.returncode == 0, done.stderr
    assert ("faulty does not serve async_sleep, executor_sleep (n/a in the report)"
            in done.stderr.splitlines())


def test_report_names_and_skips_corrupt_and_foreign_files(tmp_path):
    run_dir = tmp_path / "raw" / "demo" / FIXTURE_RUN.name
    shutil.copytree(FIXTURE_RUN, run_dir)
    (run_dir / "broken.json").write_text('{"format": "concbench.case", "vers')
    (run_dir / "foreign.json").write_text(json.dumps({"format": "something-else", "version": 7}))
    from runner.report import readme
    notes = tmp_path / "README.md"   # beside --out: its summary is the report's
    old = f"intro\n{readme.START.format(suite='demo')}\nold summary\n{readme.END}\n"
    notes.write_text(old)
    done = runner("report", "--raw-dir", str(tmp_path / "raw"), "--out", str(tmp_path / "out"))
    assert done.returncode == 4, done.stderr
    skipped = [line for line in done.stderr.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == 2
    assert any("broken.json" in line for line in skipped)
    assert any("foreign.json" in line for line in skipped)
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == ("incomplete: 2 stored files skipped (named at the "
                                            "top of the report); README.md's summary was not "
                                            "rewritten from it")
    assert (tmp_path / "out" / "demo.md").read_text().count("| hello") >= 1
    assert notes.read_text() == old   # a summary missing rows is not published
    # once every file reads, the report is complete: exit 0 and the summary rewritten
    (run_dir / "broken.json").unlink()
    (run_dir / "foreign.json").unlink()
    done = runner("report", "--raw-dir", str(tmp_path / "raw"), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "old summary" not in notes.read_text()


def test_report_without_results(tmp_path):
    done = runner("report", "--raw-dir", str(tmp_path / "empty"))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: {tmp_path / 'empty'}: no stored results; "
                                   "run `./just bench all` first")


def test_no_value_reaches_a_shell(tmp_path, fake_impls):
    """A manifest argument full of shell syntax is passed to the program as it is."""
    marker = tmp_path / "pwned"
    manifest = fake_impls / "alpha" / "impl.yaml"
    manifest.write_text(manifest.read_text().replace(
        'argv: [python3, server.py, --port, "{port}"]',
        f'argv: [python3, server.py, --port, "{{port}}; touch {marker}", "$(touch {marker})"]'))
    suite = tmp_path / "s.yaml"
    suite.write_text("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 1s}\n"
                     "ready_timeout: 2s\n"
                     "targets: [{impl: alpha, servers: [main]}]\n"
                     "scenarios: [{name: hello, kinds: [hello]}]\n")
    done = runner("bench", str(suite), "--impls", str(fake_impls), "--raw-dir",
                  str(tmp_path / "raw"), "--no-report")
    assert done.returncode == 3, done.stderr  # a case failed
    assert "FAILED hello/alpha/main/hello: server exited with status 2" in done.stderr
    assert not marker.exists()


LOOPBACK = {"127.0.0.1", "::1"}


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every socket the process tree of pid listens on."""
    import psutil
    root = psutil.Process(pid)
    out = set()
    for proc in [root, *root.children(recursive=True)]:
        for conn in proc.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN:
                out.add((conn.laddr.ip, conn.laddr.port))
    return out


def servers_of_every_impl():
    from runner.config.manifest import load_impls
    from runner.config.suite import parse_suite, plan_cases
    impls = load_impls(REPO / "impls")
    targets = "".join(f"  - {{impl: {i.name}, servers: [{', '.join(i.manifest.servers)}]}}\n"
                      for i in impls.values())
    suite = parse_suite("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 1s}\n"
                        f"targets:\n{targets}scenarios: [{{name: hello, kinds: [hello]}}]\n",
                        "loopback.yaml", "loopback")
    return impls, plan_cases(suite, impls, os.cpu_count() or 1)


@pytest.mark.slow
def test_servers_bind_loopback_only(tmp_path):
    """Every real server, started as a measurement starts it, listens on loopback only."""
    from runner.measure.bench import check_tools, checked_server, run_setup
    impls, cases = servers_of_every_impl()
    check_tools(list(impls.values()))
    for impl in impls.values():
        assert run_setup(impl, tmp_path / f"setup-{impl.name}.log") is None
    assert {c.impl for c in cases} == set(impls)
    for case in cases:
        with checked_server(case, impls[case.impl], tmp_path / f"{case.server_label}.log",
                            30) as (server, _, _):
            sockets = listening(server.proc.pid)
        assert server.port in {port for _, port in sockets}, (case.id, sockets)
        assert {ip for ip, _ in sockets} <= LOOPBACK, f"{case.id} listens on {sockets}"


def test_loopback_check_sees_a_wildcard_bind(tmp_path):
    """The check above can fail: a server bound to every address is seen as such."""
    proc = subprocess.Popen([sys.executable, "-c", "import socket, time; s = socket.socket(); "
                             "s.bind(('0.0.0.0', 0)); s.listen(); print(s.getsockname()[1], "
                             "flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        sockets = listening(proc.pid)
        assert sockets == {("0.0.0.0", port)}
        assert {ip for ip, _ in sockets} - LOOPBACK == {"0.0.0.0"}
    finally:
        proc.kill()
        proc.communicate()


# ---- fuzzing: the suite loader either loads or raises BenchError, nothing else ----

GOOD = (REPO / "suites" / "quick.yaml").read_text()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_random_text_loads_or_raises_bench_error(text):
    try:
        parse_suite(text, "fuzz.yaml", "fuzz")
    except BenchError as exc:
        assert str(exc).startswith("fuzz.yaml")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_suite_loads_or_raises_bench_error(data):
    text = GOOD
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        snippet = data.draw(st.sampled_from(["", ":", "-", "{", "}", "[", "]", "\n", "  ", "0",
                                             "-1", "x", "null", "1.5", "'", "\t", "&a", "*a", "!!",
                                             "ms", "kinds", "10m", "true"]))
        if action == "insert":
            text = text[:pos] + snippet + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + data.draw(st.integers(1, 20)):]
        else:
            text = text[:pos] + snippet + text[pos + 1:]
    try:
        parse_suite(text, "fuzz.yaml", "fuzz")
    except BenchError as exc:
        assert str(exc).startswith("fuzz.yaml")


@pytest.mark.slow
def test_verify_fails_a_server_whose_info_or_error_answers_break_the_contract(tmp_path):
    """/info without the size of the pool an endpoint runs in, and 422 for a bad parameter,
    each fail verify with one line saying what to change; a server that keeps the contract
    passes."""
    impls = tmp_path / "impls"
    shutil.copytree(REPO / "tests" / "fakes" / "impls" / "faulty", impls / "faulty")
    manifest = impls / "faulty" / "impl.yaml"
    manifest.write_text(manifest.read_text().replace(
        "  sync_sleep: {runs: request}", "  sync_sleep: {runs: pool, pool: fake-pool}"))
    suite = tmp_path / "s.yaml"
    suite.write_text("wrk: {threads: 1, connections: 1, duration: 1s, timeout: 1s}\n"
                     "targets: [{impl: faulty, servers: [good, no-pools, lax-errors]}]\n"
                     "scenarios: [{name: a, kinds: [sync_sleep], params: {ms: 10}}]\n")
    done = runner("verify", str(suite), "--impls", str(impls), "--raw-dir", str(tmp_path / "raw"))
    assert done.returncode == 3, done.stderr
    lines = done.stderr.splitlines()
    assert any(line.startswith("ok   faulty good /sync_sleep?ms=10") for line in lines), lines
    assert ("FAIL faulty no-pools /sync_sleep?ms=10: /info must report pools.fake-pool.size "
            "(an int; null only for a connection pool without a cap) and pools.fake-pool.kind "
            "(threads, processes or connections), the pool the endpoint runs in: add it to the "
            "server's /info answer") in lines, lines
    assert any(line.startswith("FAIL faulty lax-errors /sync_sleep?ms=10: answers a bad "
                               "parameter (/sync_sleep?ms=abc) with 422, expected 400")
               for line in lines), lines
    assert "1 passed, 2 failed" in lines
