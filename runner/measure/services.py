"""The services I/O kinds call: PostgreSQL and the upstream HTTP service.

Each is prepared once per run (a database cluster in a temporary folder, the upstream's
binary built) and started fresh for every measurement, on a free loopback port, as an
owned process group (runner/measure/procs.py): stopped on every way out, by the watchdog if the
runner is killed. PostgreSQL refuses to run as root, so as root it runs as the unprivileged
`postgres` user that Debian's package creates.

What a server needs to reach them arrives in its environment: BENCH_DATABASE_URL and
BENCH_UPSTREAM_URL. What proves an answer used them (check.Proof) stays with the runner:
the upstream's signing key, and which pids are backends of this database.
"""

import glob
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .check import TABLE_ROWS, Proof
from .procs import OWNED, free_port, http_get, log_tail, run_owned
from .sampling import cpu_seconds
from ..store.results import StoredService, StoredServiceUse

UPSTREAM_DIR = Path(__file__).resolve().parents[2] / "services" / "upstream"
DATABASE = "bench"
DB_USER = "bench"
READY_TIMEOUT_S = 30.0
# a run's database folder, under the temporary folder: <prefix><runner pid>-<random>
FOLDER_PREFIX = "concbench-pg-"


class ServiceFailed(Exception):
    """A service cannot be prepared or started; the message says why."""


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs: on PATH, else Debian's newest."""
    found = shutil.which("postgres")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                     key=lambda p: int(re.sub(r"\D", "", Path(p).parent.name) or 0))
    return Path(folders[-1]) if folders else None


def _owner() -> str | None:
    """The user PostgreSQL runs as: ourselves, or `postgres` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceFailed("PostgreSQL will not run as root and there is no `postgres` user: "
                            "install the postgresql package (`./just setup`), or run as "
                            "another user") from None
    return "postgres"


def _run(argv: list[str], log: Path, timeout_s: float = 120, **kwargs) -> None:
    with open(log, "ab") as out:
        code = run_owned(argv, timeout_s, stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, **kwargs)
    if code != 0:
        raise ServiceFailed(f"{' '.join(map(str, argv[:2]))} exited with {code}; log tail:\n"
                            + log_tail(log))


def _tree_cpu(root: psutil.Process) -> float:
    """CPU seconds of a process, its live descendants and the children it has reaped
    (a database's backends that ended)."""
    try:
        times = root.cpu_times()
        children = root.children(recursive=True)
    except psutil.Error:
        return 0.0
    return (times.user + times.system + times.children_user + times.children_system
            + sum(cpu_seconds(child) or 0.0 for child in children))


def _tree_memory(root: psutil.Process) -> int:
    """Bytes a process tree holds: the proportional set size of each process (pages shared
    by several processes, as a database's shared buffers, split among them), so that the
    sum is what the tree really uses; the resident size where PSS cannot be read."""
    total = 0
    try:
        for proc in [root] + root.children(recursive=True):
            try:
                info = proc.memory_full_info()
                total += getattr(info, "pss", info.rss)
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


@dataclass
class Running:
    """One started service: its process group, what servers get, what the record keeps."""
    name: str
    proc: subprocess.Popen
    env: dict[str, str]
    record: StoredService
    port: int
    key: bytes | None = None
    is_backend: "Backends | None" = None

    def cpu_s(self) -> float:
        return _tree_cpu(psutil.Process(self.proc.pid))

    def memory(self) -> int:
        return _tree_memory(psutil.Process(self.proc.pid))


@dataclass
class Started:
    """The services of one measurement."""
    running: dict[str, Running] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {k: v for svc in self.running.values() for k, v in svc.env.items()}

    def proof(self, sent_at: float, answered_at: float) -> Proof:
        upstream, db = self.running.get("upstream"), self.running.get("postgres")
        return Proof(sent_at, answered_at, upstream.key if upstream else None,
                     db.is_backend if db else None)

    def upstream_served(self) -> int | None:
        """Calls the upstream has answered since it started (None: no upstream)."""
        svc = self.running.get("upstream")
        if svc is None:
            return None
        try:
            _, body, _ = http_get(svc.port, "/stats", 10.0)
            return int(json.loads(body)["served"])
        except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as exc:
            raise ServiceFailed(f"the upstream did not tell the calls it served: {exc}") from None

    def records(self) -> dict[str, StoredService]:
        return {name: svc.record.model_copy(deep=True) for name, svc in self.running.items()}

    @contextmanager
    def metered(self):
        """Yields the run's `services` records, filled when the block ends: each service's
        CPU over the block (its cores), its memory at the end, and the upstream's calls."""
        out = self.records()
        first = {name: (svc.cpu_s(), time.monotonic()) for name, svc in self.running.items()}
        served = self.upstream_served()
        yield out
        for name, svc in self.running.items():
            cpu, started = first[name]
            used, wall = svc.cpu_s() - cpu, time.monotonic() - started
            out[name].resources = StoredServiceUse(cpu_s=used, wall_s=wall,
                                                   cores=used / wall if wall > 0 else None,
                                                   memory_end_bytes=svc.memory())
        if served is not None:
            out["upstream"].served = self.upstream_served() - served


def upstream_shortfall(record: dict[str, StoredService], answered: int | None,
                       during: str) -> str | None:
    """Why the server's `answered` requests cannot each have called the upstream, from a
    load's `services` records (Started.metered), or None when the upstream served enough."""
    upstream = record.get("upstream")
    served = upstream.served if upstream else None
    if served is None or answered is None or served >= answered:
        return None
    return (f"the upstream answered {served} calls {during}, but the server answered "
            f"{answered} requests that each need one")


class Backends:
    """Whether a pid is, or was, a backend of one PostgreSQL server: a child of its
    postmaster now, or a pid its log names as a connection it authorized (a pool that
    closes connections ends their backends before the runner reads the answer)."""

    def __init__(self, postmaster: int, log: Path):
        self.postmaster, self.log = postmaster, log
        self.seen: set[int] = set()

    def __call__(self, pid: int) -> bool:
        if pid in self.seen:
            return True
        try:
            if psutil.Process(pid).ppid() == self.postmaster:
                self.seen.add(pid)
                return True
        except psutil.Error:
            pass
        self.seen |= parse_backends(self.log.read_text(errors="replace"))
        return pid in self.seen


CONNECTION_LINE = re.compile(r"^(\d+): LOG:  connection authorized", re.MULTILINE)


def parse_backends(log_text: str) -> set[int]:
    """The backend pids a PostgreSQL log (log_line_prefix '%p: ') says it authorized."""
    return {int(pid) for pid in CONNECTION_LINE.findall(log_text)}


class ServiceHost:
    """Prepares the services of a run once and starts them fresh for each measurement."""

    def __init__(self, settings: dict[str, dict], log_dir: Path):
        self.settings = settings          # service name -> the suite's settings
        self.log_dir = log_dir
        self._folder: Path | None = None
        self._binaries: Path | None = None   # PostgreSQL's programs, and the user it runs as
        self._owner: str | None = None
        self._prepared: dict[str, str | None] = {}   # name -> why it cannot run, or None
        self.versions: dict[str, str] = {}

    def prepare(self, names: set[str]) -> dict[str, str | None]:
        """Prepare each named service once: name -> the reason it cannot run, or None."""
        for name in sorted(names - set(self._prepared)):
            try:
                {"postgres": self._prepare_postgres, "upstream": self._prepare_upstream}[name]()
                self._prepared[name] = None
            except ServiceFailed as exc:
                self._prepared[name] = f"the {name} service cannot run: {exc}"
        return {name: self._prepared[name] for name in names}

    def problem(self, names) -> str | None:
        """Why the named services cannot run (the first reason), or None; prepares them
        if that was not done yet."""
        return next(filter(None, self.prepare(set(names)).values()), None)

    def __enter__(self) -> "ServiceHost":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    # --- PostgreSQL ------------------------------------------------------------------

    def _prepare_postgres(self) -> None:
        binaries = self._binaries = postgres_bin()
        if binaries is None:
            raise ServiceFailed("PostgreSQL not found (initdb, postgres): install it with "
                                "`apt-get install -y postgresql` (or run `./just setup`)")
        owner = self._owner = _owner()
        remove_left_over()
        self._folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        if owner:
            shutil.chown(self._folder, owner)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / "postgres-setup.log"
        version = subprocess.run([binaries / "postgres", "--version"], capture_output=True,
                                 text=True, timeout=30).stdout.strip()
        found = re.search(r"\(PostgreSQL\) (\S+)", version)
        self.versions["postgres"] = found.group(1) if found else version or "unknown"
        _run([str(binaries / "initdb"), "-D", str(self._folder / "data"), "-U", DB_USER,
              "--auth=trust", "-E", "UTF8", "--no-sync"], log, user=owner)
        with self._postgres(log) as svc:
            psql = [str(binaries / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                    "127.0.0.1", "-p", str(svc.port), "-U", DB_USER]
            _run(psql + ["-d", "postgres", "-c", f"CREATE DATABASE {DATABASE}"], log)
            _run(psql + ["-d", DATABASE, "-c",
                         "CREATE TABLE bench_items (id integer PRIMARY KEY, value text NOT NULL);"
                         " INSERT INTO bench_items SELECT i, md5(i::text) FROM "
                         f"generate_series(1, {TABLE_ROWS}) AS i; ANALYZE bench_items"], log)

    @contextmanager
    def _postgres(self, log: Path):
        binaries = self._binaries
        max_connections = (self.settings.get("postgres") or {}).get("max_connections", 100)
        port = free_port()
        # durability is not what is measured: the cluster lives for one run
        argv = [str(binaries / "postgres"), "-D", str(self._folder / "data"), "-p", str(port),
                "-k", str(self._folder), "-c", "listen_addresses=127.0.0.1",
                "-c", f"max_connections={max_connections}", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                # every backend's pid in the log: the proof that a pid answered a query
                "-c", "log_connections=on", "-c", "log_line_prefix=%p: "]
        with open(log, "ab") as out:
            proc = OWNED.spawn(argv, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, user=self._owner)
        try:
            ready = [str(binaries / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port),
                     "-U", DB_USER, "-d", "postgres"]
            deadline = time.monotonic() + READY_TIMEOUT_S
            while subprocess.run(ready, timeout=10).returncode != 0:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise ServiceFailed(f"PostgreSQL did not start on port {port}; log tail:\n"
                                        + log_tail(log))
                time.sleep(0.05)
            record = StoredService(title="PostgreSQL", version=self.versions.get("postgres"),
                                   max_connections=max_connections, pid=proc.pid)
            yield Running("postgres", proc, {
                "BENCH_DATABASE_URL":
                    f"postgresql://{DB_USER}@127.0.0.1:{port}/{DATABASE}?sslmode=disable"},
                record, port, is_backend=Backends(proc.pid, log))
        finally:
            _stop_postgres(proc)

    # --- the upstream ----------------------------------------------------------------

    def _prepare_upstream(self) -> None:
        if shutil.which("go") is None:
            raise ServiceFailed("go not found: the upstream is built with Go "
                                "(https://go.dev/doc/install)")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        version = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True,
                                 timeout=60).stdout.strip()
        self.versions["upstream"] = version or "unknown"
        _run(["go", "build", "-o", "bin/upstream", "."], self.log_dir / "upstream-setup.log",
             timeout_s=600, cwd=UPSTREAM_DIR)

    @contextmanager
    def _upstream(self, log: Path):
        port, key = free_port(), secrets.token_hex(16)
        env = {**os.environ, "BENCH_UPSTREAM_KEY": key}
        with open(log, "ab") as out:
            proc = OWNED.spawn([str(UPSTREAM_DIR / "bin" / "upstream"), "-addr",
                                f"127.0.0.1:{port}"], stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, env=env)
        try:
            version = _wait_health(proc, port, log).get("go_version")
            record = StoredService(title="the upstream, Go net/http",
                                   version=version if isinstance(version, str) else None,
                                   pid=proc.pid)
            yield Running("upstream", proc,
                          {"BENCH_UPSTREAM_URL": f"http://127.0.0.1:{port}"}, record, port,
                          key.encode())
        finally:
            OWNED.stop(proc)

    @contextmanager
    def started(self, names, log_prefix: Path):
        """Fresh services for one measurement (none for an empty `names`)."""
        with ExitStack() as stack:
            out = Started()
            for name in sorted(names):
                if self._prepared.get(name, "not prepared") is not None:
                    raise ServiceFailed(self._prepared.get(name) or f"{name} not prepared")
                start = {"postgres": self._postgres, "upstream": self._upstream}[name]
                out.running[name] = stack.enter_context(
                    start(Path(f"{log_prefix}.{name}.log")))
            yield out


def _wait_health(proc: subprocess.Popen, port: int, log: Path) -> dict:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceFailed(f"the upstream exited with {proc.returncode}; log tail:\n"
                                + log_tail(log))
        try:
            status, body, _ = http_get(port, "/health", 2.0)
            if status == 200:
                return json.loads(body)
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise ServiceFailed(f"the upstream did not answer /health on port {port} within "
                        f"{READY_TIMEOUT_S:g} s")


def remove_left_over(root: Path = Path(tempfile.gettempdir())) -> list[Path]:
    """Remove the database folders of runs that were killed (their runner is gone)."""
    removed = []
    for folder in root.glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _stop_postgres(proc: subprocess.Popen) -> None:
    """A fast shutdown (SIGINT: backends end, a checkpoint is written) with a bound, then
    the group is stopped like any other."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    OWNED.stop(proc)
