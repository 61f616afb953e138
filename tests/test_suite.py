"""Suite and manifest validation: every mistake is one clear line and exit status 2."""

import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from runner.__main__ import main
from runner.errors import BenchError
from runner.config.manifest import load_impls
from runner.config.suite import parse_duration, parse_suite, plan_cases
from runner.store.results import record_json
from runner.config.yamlfile import MAX_DEPTH, MAX_NODES, MAX_STRING, load_yaml, parse_yaml

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


@pytest.mark.parametrize("text,expected", [
    ("0", 0.0), (0, 0.0), ("0s", 0.0), ("0ms", 0.0), ("0.0s", 0.0), ("3s", 3.0), (2, 2.0),
])
def test_warmup_zero_in_any_unit_means_none(text, expected):
    """docs/formats.md: `warmup: 0` means none, and so does 0s, 0ms (issue: 0s was refused)."""
    suite = parse_suite(GOOD.replace("repeats: 3", f"repeats: 3\nwarmup: {text}"), "s.yaml", "s")
    assert suite.suite.warmup == expected


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
    (GOOD.replace("repeats: 3", "repeats: 3\nwarmup: 500ms"),
     "s.yaml:3: warmup: expected whole seconds (wrk reads -d and --timeout as integers)"),
    (GOOD.replace("repeats: 3", "repeats: 3\nwarmup: -1s"),
     "s.yaml:3: warmup: expected a duration like 15s, 500ms or 2m"),
    ("- just a list\n", "s.yaml: expected a mapping with keys wrk, targets and scenarios"),
    (GOOD.replace("  - name: hello", "  - name: sleep"), "s.yaml:12: scenarios[1].name: duplicate scenario name 'sleep'"),
    # open scenarios (vegeta at fixed rates)
    (GOOD.replace("    params: {ms: 100}", "    params: {ms: 100}\n    type: open"),
     "s.yaml:9: scenarios[0]: rates is for scenarios of type open, and they need it"),
    (GOOD.replace("    params: {ms: 100}", "    params: {ms: 100}\n    rates: {per_second: [5]}"),
     "s.yaml:9: scenarios[0]: rates is for scenarios of type open, and they need it"),
    (GOOD.replace("    params: {ms: 100}",
                  "    params: {ms: 100}\n    type: open\n    rates: {per_second: [5], of_capacity: [1]}"),
     "s.yaml:13: scenarios[0].rates: expected exactly one of of_capacity"),
    (GOOD.replace("    params: {ms: 100}", "    params: {ms: 100}\n    type: open\n    rates: {of_capacity: [0]}"),
     "s.yaml:13: scenarios[0].rates.of_capacity[0]: Input should be greater than 0"),
    # services: declared by the suite for the kinds that call them
    (GOOD.replace("[sync_sleep, async_sleep]", "[sync_sleep, db_sync]"),
     "s.yaml:10: scenarios[0].kinds[1]: kind 'db_sync' calls the postgres service, which the "
     "suite does not declare (add `services: {postgres: {}}`)"),
    (GOOD.replace("repeats: 3", "repeats: 3\nservices: {postgres: {max_connections: 1}}"),
     "s.yaml:3: services.postgres.max_connections: Input should be greater than or equal to 5"),
    (GOOD.replace("repeats: 3", "repeats: 3\nservices: {redis: {}}"),
     "s.yaml:3: services.redis: unknown key"),
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
    (lambda m: m.replace("  hello: {runs: request}", "  hello: {runs: request}\n  teleport: {}"),
     "impl.yaml:14: endpoints: unknown endpoint kind 'teleport'"),
    (lambda m: m.replace('--port, "{port}"]', '--port]', 1),
     "impl.yaml:8: servers.main.argv: argv must contain the {port} placeholder"),
    (lambda m: m.replace("workers: auto", "workers: 0"), "impl.yaml:13: servers.pool.workers: expected a positive number (got 0)"),
    (lambda m: m.replace("setup: []", "setup: make"), "impl.yaml:5: setup: Input should be a valid list"),
    (lambda m: m.replace("name: alpha", "name: beta"), "impl.yaml:1: name: duplicate implementation name 'beta'"),
    # the execution declaration (docs/formats.md)
    (lambda m: m.replace("lock: process\n", ""), "impl.yaml:1: lock: required key is missing"),
    (lambda m: m.replace("lock: process", "lock: gil"),
     "impl.yaml:4: lock: Input should be 'process' or 'none'"),
    (lambda m: m.replace("  hello: {runs: request}", "  hello: {}"),
     "impl.yaml:15: endpoints.hello.runs: required key is missing"),
    (lambda m: m.replace("  hello: {runs: request}", "  hello: {runs: thread}"),
     "impl.yaml:15: endpoints.hello.runs: Input should be 'loop', 'loop-blocking', 'request' or 'pool'"),
    (lambda m: m.replace("  hello: {runs: request}", "  hello: {runs: pool}"),
     "impl.yaml:15: endpoints.hello: runs: pool needs `pool`, the name of the pool it runs in"),
    (lambda m: m.replace("  hello: {runs: request}", "  hello: {runs: pool, pool: tokens}"),
     "impl.yaml:15: endpoints.hello.pool: pool 'tokens' is not declared under `pools` (declared: none)"),
    (lambda m: m.replace("  hello: {runs: request}", "  hello: {runs: request, via: conns}"),
     "impl.yaml:15: endpoints.hello.via: pool 'conns' is not declared under `pools` (declared: none)"),
    (lambda m: m.replace("  hello: {runs: request}", "  hello: {runs: loop-blocking}"),
     "impl.yaml:15: endpoints.hello.runs: runs: loop-blocking needs an event loop, but server "
     "'main' has concurrency threads"),
    # a setting's fix must say where its value goes
    (lambda m: m.replace("lock: process\n", "lock: process\nsettings:\n  tokens: {env: BENCH_T, "
                         "title: tokens, fix: \"pool(100)\"}\n"),
     "impl.yaml:6: settings.tokens.fix: expected the line of code with {value} where the "
     "setting's value goes (got 'pool(100)')"),
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


# ---- limits checked before or while parsing YAML: one line, exit 2, within a second ----

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [" + ", ".join([f"*{a}"] * 9) + "]\n"
    for a, b in zip("abcdefgh", "bcdefghi"))

BAD_FILES = [
    (b"wrk: {threads: 1}\n# " + b"x" * (1 << 20), "s.yaml: 1048596 bytes; a suite or manifest may be at most 1 MiB"),
    ("description: caf\u00e9\n".encode("latin-1"), "s.yaml:1: not UTF-8 text (byte 0xe9 at column 17); save the file as UTF-8"),
    (b"wrk: {threads: 1}\nx: " + b"[" * 5000 + b"]" * 5000 + b"\n", f"s.yaml:2: nested more than {MAX_DEPTH} levels deep"),
    (LAUGHS.encode(), f"s.yaml:5: more than {MAX_NODES} values, counting an alias (*name) as the values it stands for"),
    (b"description: " + b"a" * 900_000 + b"\n", f"s.yaml:1: a string of 900000 characters; at most {MAX_STRING} are allowed"),
]


@pytest.mark.parametrize("content,message", BAD_FILES, ids=["size", "encoding", "depth", "aliases", "string"])
def test_yaml_beyond_a_limit_is_one_line_exit_2_within_a_second(content, message, tmp_path,
                                                                 fake_impls, capsys):
    suite = tmp_path / "s.yaml"
    suite.write_bytes(content)
    started = time.monotonic()
    code = main(["bench", str(suite), "--impls", str(fake_impls), "--raw-dir", str(tmp_path / "raw")])
    assert time.monotonic() - started < 1.0
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {tmp_path}/{message}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    # a manifest goes through the same reader
    manifest = fake_impls / "alpha" / "impl.yaml"
    manifest.write_bytes(content)
    with pytest.raises(BenchError, match="^" + str(manifest).replace(".", r"\.")):
        load_impls(fake_impls)


def test_twenty_megabyte_string_is_refused_at_once(tmp_path):
    text = "description: " + "a" * 20_000_000 + "\n"
    started = time.monotonic()
    with pytest.raises(BenchError, match=r"^s\.yaml: 20000014 characters; a suite or manifest may be at most 1 MiB$"):
        parse_yaml(text, "s.yaml")
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(BenchError, match=r"s\.yaml: 20000014 bytes; "):
        load_yaml(tmp_path / "s.yaml")
    assert time.monotonic() - started < 1.0


def test_anchors_and_aliases_within_the_limits_still_work():
    data, _ = parse_yaml("base: &w {threads: 1, connections: 2}\nother: *w\n", "s.yaml")
    assert data["other"] == {"threads": 1, "connections": 2}


def limit_error(text: str) -> str | None:
    """The message of the limit text breaks, or None if it parses (or is merely invalid)."""
    try:
        parse_yaml(text, "p.yaml")
    except BenchError as exc:
        return str(exc)
    return None


@settings(max_examples=60, deadline=1000)
@given(st.integers(1, 3 * MAX_DEPTH), st.sampled_from(["[", "{a: "]))
def test_property_nesting(depth, opener):
    closer = "]" if opener == "[" else "}"
    error = limit_error("x: " + opener * depth + "1" + closer * depth + "\n")
    # the top-level mapping is one level
    if depth + 1 > MAX_DEPTH:
        assert error == f"p.yaml:1: nested more than {MAX_DEPTH} levels deep"
    else:
        assert error is None


@settings(max_examples=60, deadline=1000)
@given(st.integers(1, 12), st.integers(1, 12))
def test_property_alias_expansion(levels, width):
    """Level i holds `width` aliases of level i - 1: width ** levels leaves in all."""
    lines = ["l0: &l0 [" + ", ".join(["x"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    error = limit_error("\n".join(lines) + "\n")
    # the values of the document with every alias written out: the top mapping, then per
    # level a key and its list (the list itself, and `width` copies of the level below)
    size = 1 + width
    expanded = 1 + 1 + size
    for _ in range(1, levels):
        size = 1 + width * size
        expanded += 1 + size
    if expanded <= MAX_NODES:
        assert error is None
    else:
        assert error is not None and "values, counting an alias" in error


@settings(max_examples=40, deadline=1000)
@given(st.integers(0, 3 * MAX_STRING), st.sampled_from(["plain", "quoted", "key"]))
def test_property_string_length(length, style):
    value = "a" * length
    text = {"plain": f"x: {value or 'b'}\n", "quoted": f'x: "{value}"\n',
            "key": f"? {value or 'b'}\n: 1\n"}[style]  # a simple key stops at 1024
    error = limit_error(text)
    if max(length, 1) > MAX_STRING:
        assert error == f"p.yaml:1: a string of {length} characters; at most {MAX_STRING} are allowed"
    else:
        assert error is None


@settings(max_examples=100, deadline=1000)
@given(st.binary(max_size=300))
def test_property_any_bytes_load_or_raise_bench_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("bytes") / "s.yaml"
    path.write_bytes(content)
    try:
        load_yaml(path)
    except BenchError as exc:
        assert str(exc).startswith(str(path))


TUNABLE = """\
pools:
  tokens: a pool of tokens
settings:
  tokens: {env: BENCH_TOKENS, title: "the pool's tokens", pool: tokens}
setup: []"""


def test_plan_sets_threads_and_declared_settings(fake_impls):
    path = fake_impls / "alpha" / "impl.yaml"
    path.write_text(path.read_text().replace("setup: []", TUNABLE).replace(
        '"{workers}"]', '"{workers}", --threads, "{threads}"]\n    threads: 4'))
    suite = GOOD.replace("servers: [main, {name: pool, workers: [1, auto]}]", (
        "servers: [main, {name: main, set: {tokens: [10, 80]}, kinds: [sync_sleep]},"
        " {name: pool, threads: 16}]"))
    cases = {c.id: c for c in plan(suite, fake_impls) if c.scenario == "sleep"}
    tuned = cases["sleep/alpha/main-tokens80/sync_sleep"]
    assert tuned.env == {"BENCH_TOKENS": "80"}
    assert tuned.tuned == {"tokens": 80}
    assert tuned.record().settings == {"tokens": {"value": 80, "title": "the pool's tokens",
                                                     "env": "BENCH_TOKENS", "pool": "tokens"}}
    assert "sleep/alpha/main-tokens10/async_sleep" not in cases   # only the kinds asked for
    threads = cases["sleep/alpha/pool-w5-t16/sync_sleep"]
    assert (threads.threads, threads.tuned, threads.env) == (16, {"threads": 16}, {})
    assert cases["sleep/alpha/main/sync_sleep"].tuned == {}


@pytest.mark.parametrize("server,message", [
    ("{name: main, set: {tokens: 5}}",
     "s.yaml:5: targets[0].servers[0].set.tokens: unknown setting 'tokens' of alpha; "
     "expected one of none (it declares no `settings`)"),
    ("{name: main, kinds: [fib]}",
     "s.yaml:5: targets[0].servers[0].kinds: kind 'fib' is in no scenario of the suite "
     "(async_sleep, hello, sync_sleep)"),
    ("{name: main, threads: 8}",
     "s.yaml:5: targets[0].servers[0]: server 'main' of alpha has no {threads} placeholder"),
])
def test_bad_tuning_is_one_clear_line(server, message, fake_impls):
    suite = GOOD.replace("servers: [main, {name: pool, workers: [1, auto]}]",
                         f"servers: [{server}]")
    with pytest.raises(BenchError) as err:
        plan(suite, fake_impls)
    assert str(err.value).startswith(message), str(err.value)


def test_a_setting_names_a_declared_pool(fake_impls):
    path = fake_impls / "alpha" / "impl.yaml"
    path.write_text(path.read_text().replace("setup: []", TUNABLE.replace(
        "pools:\n  tokens: a pool of tokens\n", "")))
    with pytest.raises(BenchError, match=r"impl.yaml:\d+: settings.tokens.pool: pool 'tokens' "
                                         r"is not declared under `pools` \(declared: none\)"):
        load_impls(fake_impls)


def test_a_kind_that_calls_a_service_carries_the_suites_settings(fake_impls):
    text = GOOD.replace("repeats: 3", "repeats: 3\nservices: {postgres: {max_connections: 150}, "
                        "upstream: {}}").replace("[sync_sleep, async_sleep]",
                                                 "[sync_sleep, db_sync, upstream_sync]")
    manifest = fake_impls / "alpha" / "impl.yaml"
    manifest.write_text(manifest.read_text().replace(
        "  hello: {runs: request}", "  hello: {runs: request}\n  db_sync: {runs: request}\n"
        "  upstream_sync: {runs: request}"))
    cases = {c.kind: c for c in plan(text, fake_impls) if c.impl == "alpha" and c.server == "main"}
    assert cases["db_sync"].services == {"postgres": {"max_connections": 150}}
    assert cases["db_sync"].record().services == {"postgres": {"max_connections": 150}}
    assert cases["upstream_sync"].services == {"upstream": {}}
    # a case that calls no service has no `services` in its file
    assert cases["sync_sleep"].services == {} and \
        "services" not in record_json(cases["sync_sleep"].record())
