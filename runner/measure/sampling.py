"""Resource use while wrk runs: the server's whole process tree, and wrk itself.

The server's processes are its tree and, with its owner token, every process carrying it
(one that left the tree and its group, a daemon's double fork, still counts).

Threads versus processes is one of the articles' claims about memory, and a load generator
that saturates its cores measures itself rather than the server; both need numbers. A
background thread samples with psutil every `interval` seconds.
"""

import threading
import time

import psutil

from ..store.results import StoredResources
from .watchdog import carrying


def cpu_seconds(proc: psutil.Process) -> float | None:
    try:
        times = proc.cpu_times()
        return times.user + times.system
    except psutil.Error:
        return None


def _connections(proc: psutil.Process, port: int) -> int:
    try:
        return sum(1 for c in proc.net_connections(kind="tcp")
                   if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)
    except psutil.Error:
        return 0


def machine_cpu() -> tuple[float, float]:
    """(CPU seconds every core spent busy, of them in interrupts) since boot, whoever ran:
    kernel work for the network, done in interrupt context, is charged to no process."""
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    irq = getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
    return sum(times) - idle - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0), irq


GENERATORS = {"wrk", "vegeta"}
CONNECTIONS_EVERY = 4   # samples


class TreeSampler:
    """Samples the process tree under `root_pid`, the processes carrying `owner` (its owner
    token) and the runner's wrk children."""

    def __init__(self, root_pid: int, port: int | None = None, interval: float = 0.25,
                 owner: str | None = None):
        self.root = psutil.Process(root_pid)
        self.port = port
        self.owner = owner
        self._escaped: list[psutil.Process] = []   # carrying owner, refreshed now and then
        # established connections to the server's port held by each process: how the
        # kernel spread wrk's connections over a server's worker processes
        self.connections: dict[int, int] = {}
        self.interval = interval
        self.first_cpu: dict[int, float] = {}
        self.last_cpu: dict[int, float] = {}
        self.wrk_first: dict[int, float] = {}
        self.wrk_last: dict[int, float] = {}
        self.rss: list[int] = []
        self.processes_max = 0
        self.threads_max = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started = 0.0
        self._wall = 0.0
        self._count = 0
        self._runner = psutil.Process()
        self._runner_cpu = [0.0, 0.0]   # the runner's own CPU (this sampler) at start and end
        self._machine = [(0.0, 0.0), (0.0, 0.0)]   # machine_cpu() at start and end
        # (wall-clock time, the tree's CPU seconds since the start) at every sample: the
        # report counts the CPU of the same seconds it counts completions in
        self.series: list[tuple[float, float]] = []

    def __enter__(self) -> "TreeSampler":
        self._started = time.monotonic()
        self._runner_cpu[0] = cpu_seconds(self._runner) or 0.0
        self._machine[0] = machine_cpu()
        self._sample()  # baseline: CPU the server spent before the run is not counted
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._wall = time.monotonic() - self._started
        self._runner_cpu[1] = cpu_seconds(self._runner) or 0.0
        self._machine[1] = machine_cpu()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        procs = self._processes()
        rss = threads = alive = 0
        for proc in procs:
            cpu = cpu_seconds(proc)
            if cpu is None:
                continue
            try:
                rss += proc.memory_info().rss
                threads += proc.num_threads()
            except psutil.Error:
                continue
            alive += 1
            # reading a process's sockets costs the runner far more than the rest, and
            # the split settles in the first second: once a second is enough
            if self.port is not None and self._count % CONNECTIONS_EVERY == 0:
                held = _connections(proc, self.port)
                if held:
                    self.connections[proc.pid] = max(held, self.connections.get(proc.pid, 0))
            self.first_cpu.setdefault(proc.pid, cpu if not self.rss else 0.0)
            self.last_cpu[proc.pid] = cpu
        self._count += 1
        self.series.append((round(time.time(), 3), round(
            sum(self.last_cpu[p] - self.first_cpu[p] for p in self.last_cpu), 4)))
        if alive:
            self.rss.append(rss)
            self.processes_max = max(self.processes_max, alive)
            self.threads_max = max(self.threads_max, threads)
        try:
            runner_children = psutil.Process().children()
        except psutil.Error:
            runner_children = []
        for proc in runner_children:
            try:
                if proc.name() not in GENERATORS:
                    continue
            except psutil.Error:
                continue
            cpu = cpu_seconds(proc)
            if cpu is not None:
                self.wrk_first.setdefault(proc.pid, 0.0)  # wrk starts after the sampler
                self.wrk_last[proc.pid] = cpu

    def _processes(self) -> list[psutil.Process]:
        """The server's processes: its tree and those carrying its token, each once. Reading
        every process's environment costs more than a sample: once every few samples."""
        try:
            procs = [self.root] + self.root.children(recursive=True)
        except psutil.Error:
            procs = []
        if self.owner is not None and self._count % CONNECTIONS_EVERY == 0:
            self._escaped = carrying(self.owner)
        pids = {proc.pid for proc in procs}
        return procs + [proc for proc in self._escaped if proc.pid not in pids]

    def result(self) -> StoredResources:
        server_cpu = sum(self.last_cpu[p] - self.first_cpu[p] for p in self.last_cpu)
        wrk_cpu = sum(self.wrk_last[p] - self.wrk_first[p] for p in self.wrk_last)
        return StoredResources(
            wall_s=self._wall,
            server_cpu_s=server_cpu,
            server_rss_peak_bytes=max(self.rss) if self.rss else None,
            server_rss_mean_bytes=sum(self.rss) / len(self.rss) if self.rss else None,
            server_processes_max=self.processes_max,
            server_threads_max=self.threads_max,
            wrk_cpu_s=wrk_cpu,          # the load generator's (wrk or vegeta)
            runner_cpu_s=self._runner_cpu[1] - self._runner_cpu[0],
            # the whole machine, every process and the kernel: how busy its cores were
            machine_busy_s=self._machine[1][0] - self._machine[0][0],
            machine_irq_s=self._machine[1][1] - self._machine[0][1],
            connections_per_process=sorted(self.connections.values(), reverse=True),
            samples=len(self.rss),
            server_cpu_series=[list(point) for point in self.series],
        )
