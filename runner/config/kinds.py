"""The endpoint contract: every kind, the parameter it takes, and how it is reached.

New kinds are added to the endpoint contract in docs/formats.md first, then here;
implementations declare in their manifest which of these they serve.
"""

# kind -> the query parameter it needs
KINDS: dict[str, str | None] = {
    "hello": None,
    "sync_hello": None,
    "async_sleep": "ms",
    "sync_sleep": "ms",
    "blocking_in_async": "ms",
    "executor_sleep": "ms",
    "cpu_sync": "n",
    "cpu_in_async": "n",
    "cpu_process": "n",
    "fib": "n",
    "json_large": "items",
    "json_large_offloaded": "items",
    "upstream_async": "ms",
    "upstream_sync": "ms",
    "upstream_blocking": "ms",
    "db_async": "ms",
    "db_sync": "ms",
    "db_blocking": "ms",
}

SLEEP_KINDS = {"async_sleep", "sync_sleep", "blocking_in_async", "executor_sleep"}
SUM_KINDS = {"cpu_sync", "cpu_in_async", "cpu_process"}
CPU_KINDS = SUM_KINDS | {"fib"}
JSON_KINDS = {"json_large", "json_large_offloaded"}
# a call to the upstream service (runner/measure/services.py) and a query to PostgreSQL
UPSTREAM_KINDS = {"upstream_async", "upstream_sync", "upstream_blocking"}
DB_KINDS = {"db_async", "db_sync", "db_blocking"}
# kind -> the service the runner starts for it
SERVICE_OF = {**{k: "upstream" for k in UPSTREAM_KINDS}, **{k: "postgres" for k in DB_KINDS}}
# kinds whose rows the model explains: a wait or CPU work of a known size; the others
# measure per-request overhead, which a single request's time does not predict
MODELLED = SLEEP_KINDS | CPU_KINDS | UPSTREAM_KINDS | DB_KINDS
# kinds whose one request waits `ms` milliseconds at least
WAIT_KINDS = SLEEP_KINDS | UPSTREAM_KINDS | DB_KINDS


def endpoint_path(kind: str, params: dict[str, int]) -> str:
    """The request path of a kind, e.g. /async_sleep?ms=1000."""
    name = KINDS[kind]
    return f"/{kind}" if name is None else f"/{kind}?{name}={params[name]}"
