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
from runner.suite import parse_suite

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
    assert done.stderr.strip() == f"error: {tmp_path / 'nope.yaml'}: no such suite file"


def test_report_names_and_skips_corrupt_and_foreign_files(tmp_path):
    run_dir = tmp_path / "raw" / "demo" / FIXTURE_RUN.name
    shutil.copytree(FIXTURE_RUN, run_dir)
    (run_dir / "broken.json").write_text('{"format": "concbench.case", "vers')
    (run_dir / "foreign.json").write_text(json.dumps({"format": "something-else", "version": 7}))
    done = runner("report", "--raw-dir", str(tmp_path / "raw"), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    skipped = [line for line in done.stderr.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == 2
    assert any("broken.json" in line for line in skipped)
    assert any("foreign.json" in line for line in skipped)
    assert "Traceback" not in done.stderr
    assert (tmp_path / "out" / "demo.md").read_text().count("| hello") >= 1


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
    assert done.returncode == 0, done.stderr
    assert "FAILED hello/alpha/main/hello: server exited with status 2" in done.stderr
    assert not marker.exists()


def test_servers_bind_loopback_only():
    from runner.manifest import load_impls
    for impl in load_impls(REPO / "impls").values():
        for name, server in impl.manifest.servers.items():
            hosts = [a for a in server.argv if "127.0.0.1" in a]
            assert hosts, f"{impl.name} {name} does not bind 127.0.0.1 explicitly"
            assert not any("0.0.0.0" in a or "::" in a for a in server.argv)


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
