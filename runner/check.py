"""Conformance: does an answer prove that the endpoint did its work?

A benchmark of an endpoint that silently skips its work is worthless: one published
comparison timed a "CPU-bound" loop that returned after its first iteration and a Go
"sleep" that returned before sleeping. Every case is checked with a real request before
it is measured; any problem listed here skips the case with that reason.
"""

import json

from .kinds import JSON_KINDS, SLEEP_KINDS, SUM_KINDS

ADDRESS_KEYS = {"id"} | {f"str{i}" for i in range(1, 9)}
ACCOUNT_KEYS = {"id", "address"} | {f"str{i}" for i in range(1, 17)}
CLIENT_KEYS = {"id", "address", "bank_accounts"} | {f"str{i}" for i in range(1, 9)}

# a sleep answered this much sooner than asked was not a sleep (clock granularity aside)
SLEEP_TOLERANCE_S = 0.002


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


def check_answer(kind: str, params: dict, status: int, body: bytes, elapsed_s: float) -> list[str]:
    """Problems with one answer to `kind` called with `params`; empty when it proves its work."""
    if status != 200:
        return [f"status {status}, expected 200 (body: {body[:200]!r})"]
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return [f"body is not JSON: {body[:200]!r}"]
    if not isinstance(data, dict):
        return [f"body is not a JSON object: {body[:200]!r}"]
    if kind == "hello":
        return [] if data == {"message": "hello"} else [f'expected {{"message": "hello"}}, got {data!r}']
    if data.get("kind") != kind:
        return [f"body kind is {data.get('kind')!r}, expected {kind!r}"]
    if kind in SLEEP_KINDS:
        ms = params["ms"]
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
    if kind in SUM_KINDS or kind == "fib":
        n = params["n"]
        expected = n * (n - 1) // 2 if kind in SUM_KINDS else fib(n)
        problems = []
        if data.get("n") != n:
            problems.append(f"body n is {data.get('n')!r}, expected {n}")
        if data.get("result") != expected:
            problems.append(f"result is {data.get('result')!r}, expected {expected}")
        return problems
    if kind in JSON_KINDS:
        count = params["items"]
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
    raise ValueError(f"no check for kind {kind!r}")
