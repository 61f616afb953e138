"""The words the runner compares: a case's status, a scenario's type, where an endpoint's
work runs, its lock, how a server admits requests, and what bounds a row. `StrEnum`s, so
each is its own string in stored JSON and in YAML, and equal to it."""

from enum import StrEnum


class Status(StrEnum):
    RUNNING = "running"   # a case file whose repeats are not all in: not a result yet
    OK = "ok"
    FAILED = "failed"
    NA = "na"             # the implementation does not offer the case's endpoint


class ScenarioType(StrEnum):
    LOAD = "load"                   # wrk, a closed loop
    INTERFERENCE = "interference"   # a probe beside a heavy load
    OPEN = "open"                   # vegeta, a fixed arrival rate


class Runs(StrEnum):
    """Where an endpoint's work runs."""
    LOOP = "loop"                     # on the event loop, yielding while it waits
    LOOP_BLOCKING = "loop-blocking"   # on the event loop, blocking it
    REQUEST = "request"               # on the server's thread or task for the request
    POOL = "pool"                     # handed to a pool of threads or processes


class Lock(StrEnum):
    PROCESS = "process"   # one lock per process (CPython's GIL) serialises its threads
    NONE = "none"


class Concurrency(StrEnum):
    """How one server worker admits requests."""
    EVENT_LOOP = "event-loop"
    THREAD_PER_REQUEST = "thread-per-request"
    THREADS = "threads"
    TASK_PER_REQUEST = "task-per-request"


class Bound(StrEnum):
    """What caps a row's rate in the model."""
    REQUESTS = "requests"   # the requests in service at once over the service time
    CORES = "cores"         # the cores that can run the work over its CPU per request


class PoolKind(StrEnum):
    """What a pool a server reports in /info holds."""
    THREADS = "threads"
    PROCESSES = "processes"
    CONNECTIONS = "connections"   # a connection pool a request waits in
