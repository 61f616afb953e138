"""Conformance: does an answer prove that the endpoint did its work?

A benchmark of an endpoint that silently skips its work is worthless: one published
comparison timed a "CPU-bound" loop that returned after its first iteration and a Go
"sleep" that returned before sleeping. Every case is checked with a real request before
it is measured; any problem listed here skips the case with that reason.
"""

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass

from ..config.kinds import DB_KINDS, JSON_KINDS, SLEEP_KINDS, SUM_KINDS, UPSTREAM_KINDS
from ..model.predict import pools_from_info

ADDRESS_KEYS = {"id"} | {f"str{i}" for i in range(1, 9)}
ACCOUNT_KEYS = {"id", "address"} | {f"str{i}" for i in range(1, 17)}
CLIENT_KEYS = {"id", "address", "bank_accounts"} | {f"str{i}" for i in range(1, 9)}

# the answers of the kinds that do no work: a dict, from the event loop or from a thread
HELLO_ANSWERS = {"hello": {"message": "hello"},
                 "sync_hello": {"kind": "sync_hello", "message": "hello"}}
# a sleep answered this much sooner than asked was not a sleep (clock granularity aside)
SLEEP_TOLERANCE_S = 0.002
# the endpoint contract's error answers (docs/formats.md): a parameter that is not a
# non-negative integer answers 400, a path no endpoint serves answers 404
BAD_PARAMETER, BAD_PARAMETER_STATUS = "abc", 400
UNKNOWN_PATH, UNKNOWN_PATH_STATUS = "/no_such_endpoint", 404
ADD = ": add it to the server's /info answer"
# the rows of the database's table (runner/measure/services.py): id -> md5 of the id's text
TABLE_ROWS = 1000


@dataclass(frozen=True)
class Proof:
    """What an I/O answer is checked against, known only to the runner: when the request
    was sent and answered (epoch seconds, one clock for every process on the machine), the
    upstream's signing key, and whether a pid is a backend of the database it started."""
    sent_at: float
    answered_at: float
    upstream_key: bytes | None = None
    is_backend: Callable[[int], bool] | None = None


def upstream_signature(key: bytes, nonce: str, ms: int) -> str:
    """The upstream's signature of one answer: HMAC-SHA256 of "<nonce>:<ms>", in hex."""
    return hmac.new(key, f"{nonce}:{ms}".encode(), hashlib.sha256).hexdigest()


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _when(at: object, what: str, ms: int, proof: Proof) -> list[str]:
    """A service's own timestamp must fall after the wait began and before the answer."""
    if not _number(at):
        return [f"{what} is {at!r}, expected epoch seconds"]
    earliest = proof.sent_at + ms / 1000 - SLEEP_TOLERANCE_S
    latest = proof.answered_at + SLEEP_TOLERANCE_S
    if not earliest <= at <= latest:
        return [f"{what} {at:.3f} is not between the request + {ms} ms ({earliest:.3f}) "
                f"and its answer ({latest:.3f}): the call did not happen in this request"]
    return []


def _upstream_problems(data: dict, ms: int, proof: Proof) -> list[str]:
    nonce, echo = data.get("nonce"), data.get("upstream")
    if not isinstance(nonce, str) or not nonce:
        return [f"nonce is {nonce!r}, expected the request's own nonce"]
    if not isinstance(echo, dict):
        return [f"upstream is {echo!r}, expected the upstream's answer"]
    problems = []
    if echo.get("nonce") != nonce or echo.get("ms") != ms:
        problems.append(f"the upstream's answer is for nonce {echo.get('nonce')!r} and "
                        f"{echo.get('ms')!r} ms, expected {nonce!r} and {ms}")
    elif proof.upstream_key is None:
        problems.append("no upstream key to check the signature with")
    elif not hmac.compare_digest(str(echo.get("sig")),
                                 upstream_signature(proof.upstream_key, nonce, ms)):
        problems.append("the upstream's signature does not match: the answer was not "
                        "made by the upstream this run started")
    return problems + _when(echo.get("at"), "the upstream's time", ms, proof)


def _db_problems(data: dict, ms: int, proof: Proof) -> list[str]:
    problems = []
    row, value = data.get("id"), data.get("value")
    if not isinstance(row, int) or isinstance(row, bool) or not 1 <= row <= TABLE_ROWS:
        problems.append(f"id is {row!r}, expected a row id in 1..{TABLE_ROWS}")
    elif value != hashlib.md5(str(row).encode()).hexdigest():
        problems.append(f"value is {value!r}, expected row {row}'s value from the table")
    pid = data.get("backend_pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        problems.append(f"backend_pid is {pid!r}, expected the database backend's pid")
    elif proof.is_backend is None or not proof.is_backend(pid):
        problems.append(f"backend_pid {pid} is not a backend of the database this run started")
    return problems + _when(data.get("db_at"), "db_at", ms, proof)


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def _client_problems(item: object, i: int) -> list[str]:
    if not isinstance(item, dict) or set(item) != CLIENT_KEYS:
        return [f"items[{i}] is not a Client with keys {sorted(CLIENT_KEYS)}"]
    problems = []
    if item["id"] != i:
        problems.append(f"items[{i}].id is {item['id']!r}, expected {i}")
    address = item["address"]
    if not isinstance(address, dict) or set(address) != ADDRESS_KEYS or address["id"] != i:
        problems.append(f"items[{i}].address is not an Address with id {i}")
    accounts = item["bank_accounts"]
    if (not isinstance(accounts, list) or len(accounts) != 1
            or not isinstance(accounts[0], dict) or set(accounts[0]) != ACCOUNT_KEYS
            or accounts[0]["id"] != i):
        problems.append(f"items[{i}].bank_accounts is not one Account with id {i}")
    return problems


def check_answer(kind: str, params: dict, status: int, body: bytes, elapsed_s: float,
                 proof: Proof | None = None) -> list[str]:
    """Problems with one answer to `kind` called with `params`; empty when it proves its work.
    An I/O kind is checked against `proof`, which only the runner knows."""
    if status != 200:
        return [f"status {status}, expected 200 (body: {body[:200]!r})"]
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return [f"body is not JSON: {body[:200]!r}"]
    if not isinstance(data, dict):
        return [f"body is not a JSON object: {body[:200]!r}"]
    if kind in HELLO_ANSWERS:
        want = HELLO_ANSWERS[kind]
        return [] if data == want else [f"expected {json.dumps(want)}, got {data!r}"]
    if data.get("kind") != kind:
        return [f"body kind is {data.get('kind')!r}, expected {kind!r}"]
    if kind in SLEEP_KINDS:
        return _sleep_problems(data, params["ms"], elapsed_s)
    if kind in UPSTREAM_KINDS or kind in DB_KINDS:
        return _io_problems(kind, data, params["ms"], elapsed_s, proof)
    if kind in SUM_KINDS or kind == "fib":
        return _compute_problems(kind, data, params["n"])
    if kind in JSON_KINDS:
        return _json_problems(data, params["items"])
    raise ValueError(f"no check for kind {kind!r}")


def _sleep_problems(data: dict, ms: int, elapsed_s: float) -> list[str]:
    slept = data.get("slept_ms")
    problems = []
    if data.get("ms") != ms:
        problems.append(f"body ms is {data.get('ms')!r}, expected {ms}")
    if not isinstance(slept, (int, float)) or isinstance(slept, bool):
        problems.append(f"slept_ms is {slept!r}, expected a number")
    elif slept < ms - SLEEP_TOLERANCE_S * 1000:
        problems.append(f"slept_ms is {slept}, expected at least {ms}")
    if elapsed_s < ms / 1000 - SLEEP_TOLERANCE_S:
        problems.append(f"answered in {elapsed_s * 1000:.1f} ms, a sleep of {ms} ms "
                        "cannot be faster")
    return problems


def _io_problems(kind: str, data: dict, ms: int, elapsed_s: float,
                 proof: Proof | None) -> list[str]:
    problems = [] if data.get("ms") == ms else [f"body ms is {data.get('ms')!r}, expected {ms}"]
    if elapsed_s < ms / 1000 - SLEEP_TOLERANCE_S:
        problems.append(f"answered in {elapsed_s * 1000:.1f} ms, a call that waits {ms} ms "
                        "cannot be faster")
    if proof is None:
        return problems + ["no proof to check the answer against"]
    check = _upstream_problems if kind in UPSTREAM_KINDS else _db_problems
    return problems + check(data, ms, proof)


def _compute_problems(kind: str, data: dict, n: int) -> list[str]:
    expected = n * (n - 1) // 2 if kind in SUM_KINDS else fib(n)
    problems = []
    if data.get("n") != n:
        problems.append(f"body n is {data.get('n')!r}, expected {n}")
    if data.get("result") != expected:
        problems.append(f"result is {data.get('result')!r}, expected {expected}")
    return problems


def _json_problems(data: dict, count: int) -> list[str]:
    items = data.get("items")
    if data.get("count") != count:
        return [f"count is {data.get('count')!r}, expected {count}"]
    if not isinstance(items, list) or len(items) != count:
        got = len(items) if isinstance(items, list) else items
        return [f"items has {got!r} entries, expected {count}"]
    problems = []
    for i, item in enumerate(items):
        problems += _client_problems(item, i)
        if problems:
            break
    return problems


def _pool_problem(name: str, why: str) -> str:
    return (f"/info must report pools.{name}.size (an int; null only for a connection pool "
            f"without a cap) and pools.{name}.kind (threads, processes or connections), "
            f"{why}{ADD}")


def info_problems(info: dict, execution: dict | None, settings: dict) -> list[str]:
    """What the model needs from a server's /info for one case and the answer lacks
    (runner/model/predict.py): the size and kind of each pool the endpoint runs in or goes
    via, of each pool a setting the suite set sizes (and that size in force); where
    reported, the lock's switch interval under `lock: process` and the runtime's
    parallelism under `lock: none` (either may be null or absent: the model then goes by
    the cores). The server's concurrency needs no fact from /info: the manifest declares
    it, `threads` included."""
    execution = execution or {}
    pools = pools_from_info(info)
    problems = []
    for role, where in (("pool", "the pool the endpoint runs in"), ("via", "the pool the "
                                                                           "endpoint goes via")):
        name = execution.get(role)
        if name and name not in pools:
            problems.append(_pool_problem(name, where))
    for key, setting in settings.items():
        name, value, env = setting.get("pool"), setting["value"], setting["env"]
        said = name in (execution.get("pool"), execution.get("via"))
        if not name or (name not in pools and said):
            continue   # sizes no pool, or its missing pool is already said
        if name not in pools:
            problems.append(_pool_problem(name, f"the size in force of the suite's setting "
                                                f"{key} ({env}={value})"))
        elif pools[name].size != value:
            problems.append(f"/info reports pools.{name}.size {pools[name].size!r}, but the "
                            f"suite set {key} to {value} ({env}={value}): the server must "
                            f"apply {env} and report the size in force")
    lock = execution.get("lock")
    interval = info.get("lock_switch_interval_s")
    if lock == "process" and not (interval is None or _number(interval) and interval > 0):
        problems.append("/info must report lock_switch_interval_s as seconds (how often the "
                        "process-wide lock is handed over, e.g. sys.getswitchinterval()) or "
                        f"null, got {interval!r}: fix it in the server's /info answer")
    parallelism = info.get("parallelism")
    if lock == "none" and not (parallelism is None or isinstance(parallelism, int)
                               and not isinstance(parallelism, bool) and parallelism > 0):
        problems.append("/info must report parallelism as the threads the runtime runs at "
                        "once (e.g. GOMAXPROCS) or null for the cores, got "
                        f"{parallelism!r}: fix it in the server's /info answer")
    return problems


def bad_parameter_path(path: str, params: dict) -> str | None:
    """The endpoint's path with its first parameter made bad (`/sync_sleep?ms=abc`); None
    for an endpoint without parameters."""
    if not params:
        return None
    return f"{path.split('?')[0]}?{next(iter(params))}={BAD_PARAMETER}"


def error_answer_problem(path: str, expected: int, status: int, body: bytes) -> str | None:
    """The contract's error answer to `path`, or why it is not."""
    if status == expected:
        return None
    what = "a bad parameter" if expected == BAD_PARAMETER_STATUS else "an unknown path"
    return (f"answers {what} ({path}) with {status}, expected {expected} (the endpoint "
            f"contract, docs/formats.md; body: {body[:120]!r})")
