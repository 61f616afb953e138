"""A new implementation is explained by what its folder declares: a throwaway one, written
here, with a declaration no built-in implementation uses (a fixed pool of 3 threads behind a
thread-per-request server), measured for real and checked against its modelled ceiling."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runner.report import measures
from runner.store.results import as_case

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

SERVER = '''
"""A thread per request; each request's wait runs in a pool of POOL threads."""
import json, os, sys, time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

POOL = 3
pool = ThreadPoolExecutor(max_workers=POOL)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16   # headers and body in one write: no Nagle / delayed-ACK pause

    def log_message(self, *args):
        pass

    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/info":
            return self.answer({"pid": os.getpid(), "cpu_count": os.cpu_count(),
                                "pools": {"three": {"size": POOL, "kind": "threads"}},
                                "parallelism": None, "lock_switch_interval_s": None})
        ms = int(parse_qs(url.query)["ms"][0])
        started = time.perf_counter()
        pool.submit(time.sleep, ms / 1000).result()
        self.answer({"kind": "sync_sleep", "ms": ms,
                     "slept_ms": (time.perf_counter() - started) * 1000})


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
'''

MANIFEST = '''
name: pooled
language: made-up
framework: http.server
lock: process
pools:
  three: a pool of three threads
setup: []
servers:
  threaded:
    concurrency: thread-per-request
    argv: [{python}, server.py, "{{port}}"]
endpoints:
  sync_sleep: {{runs: pool, pool: three, label: "a wait in a 3-thread pool"}}
'''

SUITE = '''
wrk: {threads: 2, connections: 10, duration: 5s, timeout: 10s}
repeats: 1
warmup: 0
targets:
  - impl: pooled
    servers: [threaded]
scenarios:
  - name: pooled
    kinds: [sync_sleep]
    params: {ms: 200}
'''


def test_a_new_declaration_is_modelled_from_its_folder(tmp_path):
    impl = tmp_path / "impls" / "pooled"
    impl.mkdir(parents=True)
    (impl / "server.py").write_text(textwrap.dedent(SERVER))
    (impl / "impl.yaml").write_text(MANIFEST.format(python=sys.executable))
    (tmp_path / "pooled.yaml").write_text(SUITE)
    raw = tmp_path / "raw"
    done = subprocess.run([sys.executable, "-m", "runner", "bench", str(tmp_path / "pooled.yaml"),
                           "--impls", str(tmp_path / "impls"), "--raw-dir", str(raw),
                           "--no-report"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    (case_file,) = (raw / "pooled").glob("*/pooled__*.json")
    data = json.loads(case_file.read_text())
    assert data["case"]["execution"] == {"runs": "pool", "pool": "three",
                                         "pool_title": "a pool of three threads",
                                         "lock": "process"}
    data = as_case(data)
    runs = data.measured_runs()
    row = measures.model_columns(data, runs)
    # 3 requests in service at once, 0.2 s each: 15 per second, whatever the 10 connections;
    # a request's time is the lower of one alone and its place held under a queue
    held = min(row["service_s"], measures.occupancy(data, runs) or row["service_s"])
    assert held == pytest.approx(0.2, rel=0.05)
    assert row["ceiling_rps"] == pytest.approx(3 / held)
    assert row["bottleneck"] == "a pool of three threads: 3 threads × 1 worker"
    assert 0.9 <= row["efficiency"] <= 1.1, row
