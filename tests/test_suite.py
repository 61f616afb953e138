"""Suite and manifest validation: every mistake is one clear line and exit status 2."""

from pathlib import Path

import pytest

from runner.__main__ import main
from runner.errors import BenchError
from runner.manifest import load_impls
from runner.suite import parse_duration, parse_suite, plan_cases

GOOD = """\
wrk: {threads: 2, connections: 10, duration: 2s, timeout: 10s}
repeats: 3
targets:
  - impl: alpha
    servers: [main, {name: pool, workers: [1, auto]}]
  - impl: beta
    servers: [main]
scenarios:
  - name: sleep
    kinds: [sync_sleep, async_sleep]
    params: {ms: 100}
  - name: hello
    kinds: [hello]
    wrk: {duration: 1m}
"""


def plan(text: str, impls_root: Path, cores: int = 2):
    return plan_cases(parse_suite(text, "s.yaml", "s"), load_impls(impls_root), cores)


def test_plan_expands_targets_servers_workers_and_kinds(fake_impls):
    cases = plan(GOOD, fake_impls)
    ids = [c.id for c in cases]
    assert ids[:6] == [
        "sleep/alpha/main/sync_sleep", "sleep/alpha/main/async_sleep",
        "sleep/alpha/pool-w1/sync_sleep", "sleep/alpha/pool-w1/async_sleep",
        "sleep/alpha/pool-w5/sync_sleep", "sleep/alpha/pool-w5/async_sleep",
    ]
    assert len(cases) == 8 + 4
    by_id = {c.id: c for c in cases}
    assert by_id["sleep/alpha/pool-w5/sync_sleep"].workers == 5  # auto = 2 x 2 cores + 1
    assert by_id["sleep/alpha/main/sync_sleep"].path == "/sync_sleep?ms=100"
    assert by_id["sleep/alpha/main/sync_sleep"].note == "a plain sleep"
    na = by_id["sleep/beta/main/async_sleep"]
    assert not na.available and na.reason == "beta does not serve async_sleep"
    hello = by_id["hello/beta/main/hello"]
    assert hello.path == "/hello" and hello.wrk.duration == 60 and hello.wrk.threads == 2


@pytest.mark.parametrize("text,expected", [
    ("15s", 15.0), ("500ms", 0.5), ("2m", 120.0), ("1h", 3600.0), (3, 3.0), ("1.5s", 1.5),
])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["15", "fast", "-1s", "0s", "1 min", True])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


BAD_SUITES = [
    ("wrk: {threads: 2\n", "s.yaml:2: malformed YAML"),
    (GOOD.replace("repeats: 3", "repeats: 3\nrepeat: 2"), "s.yaml:3: repeat: unknown key"),
    (GOOD.replace("repeats: 3", "repeats: three"), "s.yaml:2: repeats: Input should be a valid integer"),
    (GOOD.replace("[sync_sleep, async_sleep]", "[sync_sleep, async_nap]"),
     "s.yaml:10: scenarios[0].kinds: unknown endpoint kind 'async_nap'"),
    (GOOD.replace("impl: beta", "impl: gamma"),
     "s.yaml:6: targets[1].impl: unknown implementation 'gamma'; expected one of alpha, beta"),
    (GOOD.replace("servers: [main]", "servers: [mian]"),
     "s.yaml:7: targets[1].servers[0]: unknown server 'mian' of beta; expected one of main, pool"),
    (GOOD.replace("connections: 10", "connections: 1"),
     "s.yaml:1: wrk: connections (1) must be at least threads (2)"),
    (GOOD.replace("duration: 2s", "duration: soon"),
     "s.yaml:1: wrk.duration: expected a duration like 15s, 500ms or 2m (got 'soon')"),
    (GOOD.replace("ms: 100", "ms: -100"),
     "s.yaml:11: scenarios[0].params.ms: Input should be greater than 0 (got -100)"),
    (GOOD.replace("ms: 100", "ms: 0"),
     "s.yaml:11: scenarios[0].params.ms: Input should be greater than 0 (got 0)"),
    (GOOD.replace("params: {ms: 100}", "params: {n: 100}"),
     "s.yaml:11: scenarios[0].params: kind 'sync_sleep' needs the parameter 'ms'"),
    (GOOD.replace("servers: [main]", "servers: [{name: main, workers: 3}]"),
     "s.yaml:7: targets[1].servers[0]: server 'main' of beta has no {workers} placeholder"),
    (GOOD.replace("duration: 2s", "duration: 1500ms"),
     "s.yaml:1: wrk.duration: expected whole seconds (wrk reads -d and --timeout as integers)"),
    ("- just a list\n", "s.yaml: expected a mapping with keys wrk, targets and scenarios"),
    (GOOD.replace("  - name: hello", "  - name: sleep"), "s.yaml:12: scenarios[1].name: duplicate scenario name 'sleep'"),
]


@pytest.mark.parametrize("text,message", BAD_SUITES)
def test_bad_suite_is_one_clear_line(text, message, fake_impls):
    with pytest.raises(BenchError) as err:
        plan(text, fake_impls)
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


def test_cli_bad_suite_exits_2_without_traceback(tmp_path, fake_impls, capsys):
    suite = tmp_path / "broken.yaml"
    suite.write_text(GOOD.replace("repeats: 3", "repeats: 3\ncolour: blue"))
    raw = tmp_path / "raw"
    code = main(["bench", str(suite), "--impls", str(fake_impls), "--raw-dir", str(raw)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"error: {suite}:3: colour: unknown key"
    assert "Traceback" not in err
    assert not raw.exists()  # nothing started, nothing written


BAD_MANIFESTS = [
    (lambda m: m.replace("framework: fake\n", ""), "impl.yaml:1: framework: required key is missing"),
    (lambda m: m.replace("  hello: {}", "  hello: {}\n  teleport: {}"),
     "impl.yaml:13: endpoints: unknown endpoint kind 'teleport'"),
    (lambda m: m.replace('--port, "{port}"]', '--port]', 1),
     "impl.yaml:7: servers.main.argv: argv must contain the {port} placeholder"),
    (lambda m: m.replace("workers: auto", "workers: 0"), "impl.yaml:12: servers.pool.workers: expected a positive number (got 0)"),
    (lambda m: m.replace("setup: []", "setup: make"), "impl.yaml:4: setup: Input should be a valid list"),
    (lambda m: m.replace("name: alpha", "name: beta"), "impl.yaml:1: name: duplicate implementation name 'beta'"),
]


@pytest.mark.parametrize("edit,message", BAD_MANIFESTS)
def test_bad_manifest_is_one_clear_line(edit, message, fake_impls):
    path = fake_impls / "alpha" / "impl.yaml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(BenchError) as err:
        load_impls(fake_impls)
    assert message in str(err.value), str(err.value)
    assert str(fake_impls) in str(err.value)


def test_name_must_match_folder(fake_impls):
    path = fake_impls / "beta" / "impl.yaml"
    path.write_text(path.read_text().replace("name: beta", "name: gamma"))
    with pytest.raises(BenchError, match=r"beta/impl.yaml:1: name: expected the folder's name 'beta', got 'gamma'"):
        load_impls(fake_impls)


def test_repository_suites_and_manifests_are_valid():
    from runner.__main__ import REPO
    impls = load_impls(REPO / "impls")
    assert {"python-fastapi", "python-flask", "go"} <= set(impls)
    for path in (REPO / "suites").glob("*.yaml"):
        cases = plan_cases(parse_suite(path.read_text(), str(path), path.stem), impls, 2)
        assert any(c.available for c in cases)
