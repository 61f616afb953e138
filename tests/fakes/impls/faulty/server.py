"""A deliberately faulty implementation, one fault per --mode, for the runner's tests.

good: a correct server; liar: sync_sleep answers at once while claiming it slept,
cpu_sync's loop returns after its first step (a bug an article's code had), and db_sync and
upstream_sync make up their answers without calling anything; exits-at-start;
never-ready; crashes-mid-run (exits after a few requests); hangs (stops answering
after the conformance request); wrong-status (500 for everything but /info);
lax-errors (a bad parameter answered 422, not the contract's 400); no-pools (/info
reports no pools). Every other mode reports pool fake-pool (4 threads) in /info.
With any mode, --cheat-after N answers honestly N requests (the conformance check, the
calibration) and then answers a sleep at once with a valid-looking body and hello with
a made-up one; --hang-after N stops answering after N requests (in the middle of a load).

For the interrupt tests, with any mode: --start-delay S (listen only after S seconds, a
wide readiness wait), --children N (N processes in the server's group, like a process
pool's), --slow-exit (on SIGTERM log "stopping" and go on, so only SIGKILL ends it) and
--trace (log "GET <path>" as each request arrives). Every line is flushed at once.

--escape serve|sleep: once listening, double-fork a daemon into a session of its own (as
gunicorn --daemon does) that keeps the listening socket and serves it too, or just
sleeps holding it: only its environment still ties it to the runner. --spew N: print one
line of N bytes first. For the containment and output-bound tests.
"""

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
from urllib.request import urlopen

QUERY = ("SELECT pg_backend_pid(), extract(epoch FROM clock_timestamp())::float8, i.value "
         "FROM pg_sleep({s}) AS s, bench_items AS i WHERE i.id = {id}")

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--mode", default="good")
parser.add_argument("--start-delay", type=float, default=0.0)
parser.add_argument("--children", type=int, default=0)
parser.add_argument("--slow-exit", action="store_true")
parser.add_argument("--trace", action="store_true")
parser.add_argument("--escape", choices=["serve", "sleep"])
parser.add_argument("--spew", type=int, default=0)
parser.add_argument("--cheat-after", type=int, default=None)
parser.add_argument("--hang-after", type=int, default=None)
args = parser.parse_args()
served = 0
lock = threading.Lock()
PATHS = {"/hello", "/sync_sleep", "/cpu_sync", "/db_sync", "/upstream_sync"}


def cpu_work(n: int, honest: bool) -> int:
    total = 0
    for i in range(n):
        total += i
        if not honest:
            return total
    return total


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        global served
        if args.trace:
            print(f"GET {self.path}", file=sys.stderr, flush=True)
        url = urlparse(self.path)
        try:
            query = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
        except ValueError:
            return self.answer(422 if args.mode == "lax-errors" else 400, {"error": "bad"})
        if url.path == "/info":
            if args.mode == "never-ready":
                return self.answer(503, {"error": "starting"})
            pools = {} if args.mode == "no-pools" else {"fake-pool": {"size": 4, "kind": "threads"}}
            return self.answer(200, {"impl": "faulty", "pid": os.getpid(), "cpu_count": os.cpu_count(),
                                     "pools": pools, "parallelism": None,
                                     "lock_switch_interval_s": sys.getswitchinterval()})
        if url.path not in PATHS:
            return self.answer(404, {"error": "no such endpoint"})
        with lock:
            served += 1
            count = served
        if args.mode == "crashes-mid-run" and count > 3:
            os._exit(3)
        if (args.mode == "hangs" and count > 1) or (args.hang_after is not None
                                                    and count > args.hang_after):
            time.sleep(3600)
        if args.mode == "wrong-status":
            return self.answer(500, {"error": "broken on purpose"})
        honest = args.mode != "liar" and (args.cheat_after is None or count <= args.cheat_after)
        if url.path == "/hello":
            return self.answer(200, {"message": "hello" if honest else "cached"})
        if url.path == "/sync_sleep":
            ms = query["ms"]
            started = time.perf_counter()
            if honest:
                time.sleep(ms / 1000)
            slept = (time.perf_counter() - started) * 1000 if honest else float(ms)
            return self.answer(200, {"kind": "sync_sleep", "ms": ms, "slept_ms": slept})
        if url.path == "/db_sync":   # psql for a driver: the test double has no packages
            ms, row = query["ms"], 1 + secrets.randbelow(1000)
            if not honest:
                return self.answer(200, {"kind": "db_sync", "ms": ms, "id": row,
                                         "value": "0" * 32, "backend_pid": os.getpid(),
                                         "db_at": time.time()})
            out = subprocess.run(["psql", os.environ["BENCH_DATABASE_URL"], "-At", "-F", " ",
                                  "-c", QUERY.format(s=ms / 1000, id=row)],
                                 capture_output=True, text=True, check=True).stdout.split()
            return self.answer(200, {"kind": "db_sync", "ms": ms, "id": row, "value": out[2],
                                     "backend_pid": int(out[0]), "db_at": float(out[1])})
        if url.path == "/upstream_sync":
            ms, nonce = query["ms"], secrets.token_hex(16)
            if not honest:
                time.sleep(ms / 1000)
                echo = {"nonce": nonce, "ms": ms, "at": time.time(), "sig": "0" * 64}
            else:
                with urlopen(f"{os.environ['BENCH_UPSTREAM_URL']}/delay?ms={ms}&nonce={nonce}") as r:
                    echo = json.loads(r.read())
            return self.answer(200, {"kind": "upstream_sync", "ms": ms, "nonce": nonce,
                                     "upstream": echo})
        if url.path == "/cpu_sync":
            n = query["n"]
            return self.answer(200, {"kind": "cpu_sync", "n": n, "result": cpu_work(n, honest)})
        return self.answer(404, {"error": "no such endpoint"})


if args.spew:
    sys.stdout.write("x" * args.spew + "\n")
    sys.stdout.flush()
if args.mode == "exits-at-start":
    print("fatal: configuration broken on purpose", file=sys.stderr)
    sys.exit(1)
if args.slow_exit:
    signal.signal(signal.SIGTERM, lambda *_: print("stopping", file=sys.stderr, flush=True))
children = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
            for _ in range(args.children)]  # in our group, as a pool's workers are
time.sleep(args.start_delay)
ThreadingHTTPServer.daemon_threads = True
httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)


def escape() -> None:
    """Double-fork a daemon in a new session; it keeps the listening socket."""
    if os.fork() > 0:
        os.wait()
        return
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    print(f"daemon {os.getpid()} escaped", file=sys.stderr, flush=True)
    if args.escape == "serve":
        httpd.serve_forever()
    time.sleep(3600)
    os._exit(0)


if args.escape:
    escape()
httpd.serve_forever()
