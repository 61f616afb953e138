"""Every implementation, on every one of its servers, proves its work on every kind it serves.

Real servers, started and stopped by the runner exactly as a measurement would.
"""

import os
from pathlib import Path

import pytest

from runner.measure.bench import check_tools, run_setup, verify_case
from runner.config.kinds import KINDS
from runner.config.manifest import load_impls
from runner.measure.procs import OWNED
from runner.measure.services import ServiceHost
from runner.config.suite import parse_suite, plan_cases

REPO = Path(__file__).resolve().parent.parent
IMPLS = load_impls(REPO / "impls")
PARAMS = {"ms": 50, "n": 20_000, "items": 50}

pytestmark = pytest.mark.slow


def every_case():
    lines = ["wrk: {threads: 1, connections: 1, duration: 1s, timeout: 5s}",
             "services: {postgres: {}, upstream: {}}", "targets:"]
    for impl in IMPLS.values():
        lines += [f"  - impl: {impl.name}", f"    servers: [{', '.join(impl.manifest.servers)}]"]
    lines += ["scenarios:", "  - name: all", f"    kinds: [{', '.join(k for k in KINDS if k != 'fib')}]",
              f"    params: {{ms: {PARAMS['ms']}, n: {PARAMS['n']}, items: {PARAMS['items']}}}",
              "  - name: fib", "    kinds: [fib]", "    params: {n: 20}"]
    suite = parse_suite("\n".join(lines) + "\n", "conformance.yaml", "conformance")
    return [c for c in plan_cases(suite, IMPLS, os.cpu_count() or 1) if c.available]


CASES = every_case()


@pytest.fixture(scope="module")
def ready(tmp_path_factory):
    check_tools(list(IMPLS.values()))
    logs = tmp_path_factory.mktemp("setup")
    for impl in IMPLS.values():
        error = run_setup(impl, logs / f"{impl.name}.log")
        assert error is None, error
    return tmp_path_factory.mktemp("verify")


@pytest.fixture(scope="module")
def services(ready):
    """The database and the upstream, prepared once; each case starts them fresh."""
    with OWNED.session(), ServiceHost({"postgres": {}, "upstream": {}}, ready) as host:
        assert set(host.prepare({"postgres", "upstream"}).values()) == {None}
        yield host


def test_every_implementation_serves_something_on_every_server():
    served = {(c.impl, c.server_label) for c in CASES}
    for impl in IMPLS.values():
        for server in impl.manifest.servers:
            assert any(i == impl.name and s.startswith(server) for i, s in served)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_endpoint_proves_its_work(case, ready, services):
    reason, elapsed = verify_case(case, IMPLS[case.impl], ready, ready_timeout_s=30,
                                  host=services)
    assert reason is None, reason
    if "ms" in case.params:
        assert elapsed >= case.params["ms"] / 1000
