"""Turn wrk's two outputs into one result shape, in base units, and check they agree.

wrk prints its results as text for people ("3.51ms", "5.05MB", "11.41k"), rounded to two
decimals in a unit it picks by magnitude; runner/measure/wrk_report.lua writes the same run's
numbers exactly, as JSON, with what the text leaves out (min, p99.9, p99.99, completions
per second). The runner keeps both: the JSON is what it computes with, the text is what
a reader sees. Parsing both and comparing them (`compare_text_json`) catches a parser, a
script or a wrk build that disagrees with itself, instead of publishing it.

Both parsers return the record described in docs/formats.md ("wrk measurement"),
`StoredWrk` and `StoredWrkText` of runner/store/results.py: seconds, bytes and counts,
`None` where the source has no such number. The figures are checked here before the
record is made of them. Nothing here touches a process or a file; malformed input raises
`WrkParseError` and nothing else.

wrk's formatting rules (src/units.c and src/wrk.c, wrk 4.1.0):

- times are printed from microseconds: below 850 us as "us", below 1 s as "ms", then
  "s", and from 51 s (0.85 of a minute) as "m"; "h" is in wrk's table but its loop stops
  before reaching it. Every value has two decimals.
- bytes use 1024 as the base: "B", "KB", "MB", "GB", "TB" (from 870.4 of a unit on);
  counts (Req/Sec) use 1000: "", "k", "M", "G", "T".
- each column is cut to its width: a mean between 999.995 ms and 1 s prints as
  "1000.00ms", which the 8-character Avg column truncates to "1000.00m".
- an empty latency histogram prints "0.00us" everywhere and "-nan%"; that happens with
  no completed request and also when every completion took longer than --timeout (wrk
  counts those as requests and as timeouts, but does not record their latency).
- the "Socket errors" line appears only when one of its counters is non-zero, and
  "Non-2xx or 3xx responses" counts statuses above 399 only.
"""

import json
import math
import re

from pydantic import ValidationError

from ..store.results import StoredWrk, StoredWrkProof, StoredWrkText, StoredWrkThread

LATENCY_KEYS = ("min", "max", "mean", "stdev", "p50", "p75", "p90", "p99", "p99_9", "p99_99")
ERROR_KEYS = ("connect", "read", "write", "status", "timeout")

# seconds per unit as a fraction (numerator, denominator): dividing by 1e6 gives 85 us as
# 8.5e-05, where multiplying by 1e-6 gives 8.499999999999999e-05
TIME_UNITS = {"us": (1, 1_000_000), "ms": (1, 1000), "s": (1, 1), "m": (60, 1), "h": (3600, 1)}
BYTE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4, "PB": 1024**5}
COUNT_UNITS = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}

JSON_FORMAT = "concbench.wrk_report"
JSON_VERSION = 1

# digits are bounded so that no input reaches int()'s digit limit or float infinity
_NUMBER = r"\d{1,15}(?:\.\d{1,15})?"
_TIME_RE = re.compile(rf"({_NUMBER})(us|ms|s|m|h)")
_BYTES_RE = re.compile(rf"({_NUMBER})(B|KB|MB|GB|TB|PB)")
_COUNT_RE = re.compile(rf"({_NUMBER})([kMGTP]?)")
_PERCENT = r"(?:-?nan|-?\d{1,15}\.\d{1,15})%"


class WrkParseError(ValueError):
    """wrk's text or the Lua report is not in the expected form; the message says where."""


def parse_time(token: str) -> float:
    """'3.51ms' -> 0.00351 (seconds)."""
    match = _TIME_RE.fullmatch(token)
    if not match:
        raise WrkParseError(f"not a wrk time: {token!r}")
    numerator, denominator = TIME_UNITS[match[2]]
    return float(match[1]) * numerator / denominator


def parse_bytes(token: str) -> int:
    """'5.05MB' -> 5295308 (bytes, base 1024, rounded to a whole byte)."""
    match = _BYTES_RE.fullmatch(token)
    if not match:
        raise WrkParseError(f"not a wrk byte count: {token!r}")
    return round(float(match[1]) * BYTE_UNITS[match[2]])


def parse_count(token: str) -> float:
    """'11.41k' -> 11410.0 (base 1000; wrk prints Req/Sec this way)."""
    match = _COUNT_RE.fullmatch(token)
    if not match:
        raise WrkParseError(f"not a wrk count: {token!r}")
    return float(match[1]) * COUNT_UNITS[match[2]]


def _avg_time(token: str) -> float:
    # the Avg column is 8 characters wide and wrk truncates: "1000.00ms" (a mean just
    # under 1 s) comes out as "1000.00m", which is not 1000 minutes
    if token == "1000.00m":
        return 1.0
    return parse_time(token)


def empty_result() -> dict:
    return {"requests": None, "duration_s": None, "bytes": None, "rps": None,
            "latency_s": dict.fromkeys(LATENCY_KEYS),
            "errors": dict.fromkeys(ERROR_KEYS, 0), "per_second": None,
            "per_second_start": None}


# ----------------------------------------------------------------------------- text

_LINES = [
    # (name, what starts such a line, the whole line)
    ("distribution", re.compile(r"\s*Latency\s+Distribution\b"),
     re.compile(r"\s*Latency\s+Distribution\s*")),
    ("latency", re.compile(r"\s*Latency\b"),
     re.compile(rf"\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+{_PERCENT}\s*")),
    ("req_sec", re.compile(r"\s*Req/Sec\b"),
     re.compile(rf"\s*Req/Sec\s+(\S+)\s+(\S+)\s+(\S+)\s+{_PERCENT}\s*")),
    ("percentile", re.compile(r"\s*\d+(?:\.\d+)?%"),
     re.compile(r"\s*(50|75|90|99)%\s+(\S+)\s*")),
    ("summary", re.compile(r".*\brequests in\b"),
     re.compile(r"\s*(\d{1,20}) requests in (\S+), (\S+) read\s*")),
    ("socket_errors", re.compile(r"\s*Socket errors:"),
     re.compile(r"\s*Socket errors: connect (\d{1,20}), read (\d{1,20}), "
                r"write (\d{1,20}), timeout (\d{1,20})\s*")),
    ("non_2xx", re.compile(r"\s*Non-2xx or 3xx responses:"),
     re.compile(r"\s*Non-2xx or 3xx responses: (\d{1,20})\s*")),
    ("requests_sec", re.compile(r"\s*Requests/sec:"),
     re.compile(rf"\s*Requests/sec:\s+({_NUMBER})\s*")),
    ("transfer_sec", re.compile(r"\s*Transfer/sec:"),
     re.compile(r"\s*Transfer/sec:\s+(\S+)\s*")),
]


def parse_wrk_text(text: str) -> StoredWrkText:
    """wrk's stdout (run with --latency) -> its figures; min, p99.9, p99.99 and
    per_second are None (the text has no such numbers)."""
    if not isinstance(text, str):
        raise WrkParseError(f"expected wrk's output as text, not {type(text).__name__}")
    seen, percentiles = _text_lines(text)
    for name, what in (("latency", "Thread Stats 'Latency' line"),
                       ("summary", "'N requests in T, B read' line"),
                       ("requests_sec", "'Requests/sec:' line")):
        if name not in seen:
            raise WrkParseError(f"no {what}: is this wrk's output?")
    if "distribution" in seen and len(percentiles) != 4:
        missing = sorted({"50", "75", "90", "99"} - set(percentiles), key=int)
        raise WrkParseError(f"Latency Distribution lacks {', '.join(p + '%' for p in missing)}")
    return StoredWrkText(**_text_result(seen, percentiles))


def _text_lines(text: str) -> tuple[dict[str, re.Match], dict[str, str]]:
    """The lines wrk's text holds, by name, and its percentiles' tokens, by percent."""
    seen: dict[str, re.Match] = {}
    percentiles: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for name, start, whole in _LINES:
            if not start.match(line):
                continue
            match = whole.fullmatch(line)
            if match is None:
                raise WrkParseError(f"line {number}: malformed {name.replace('_', ' ')} "
                                    f"line: {line.strip()[:120]!r}")
            if name == "percentile":
                if "distribution" not in seen:
                    raise WrkParseError(f"line {number}: a percentile before "
                                        f"'Latency Distribution'")
                if match[1] in percentiles:
                    raise WrkParseError(f"line {number}: the {match[1]}% line twice")
                percentiles[match[1]] = match[2]
            elif name in seen:
                raise WrkParseError(f"line {number}: a second {name.replace('_', ' ')} line")
            else:
                seen[name] = match
            break
    return seen, percentiles


def _text_result(seen: dict[str, re.Match], percentiles: dict[str, str]) -> dict:
    """The figures of the text's lines, in base units."""
    result = empty_result()
    summary = seen["summary"]
    result["requests"] = int(summary[1])
    result["duration_s"] = parse_time(summary[2])
    result["bytes"] = parse_bytes(summary[3])
    result["rps"] = float(seen["requests_sec"][1])
    if "transfer_sec" in seen:
        parse_bytes(seen["transfer_sec"][1])  # checked, not kept: bytes / duration_s
    if "req_sec" in seen:
        for token in seen["req_sec"].groups():
            parse_count(token)  # checked, not kept: a per-thread statistic

    latency = seen["latency"]
    mean, stdev, max_ = _avg_time(latency[1]), parse_time(latency[2]), parse_time(latency[3])
    quantiles = {f"p{p}": parse_time(token) for p, token in percentiles.items()}
    # an empty histogram prints zeros, not absence; no real response takes 0 us
    if result["requests"] > 0 and not (max_ == 0 and mean == 0):
        result["latency_s"].update(mean=mean, stdev=stdev, max=max_, **quantiles)

    if "socket_errors" in seen:
        errors = seen["socket_errors"]
        for key, value in zip(("connect", "read", "write", "timeout"), errors.groups()):
            result["errors"][key] = int(value)
    if "non_2xx" in seen:
        result["errors"]["status"] = int(seen["non_2xx"][1])
    return result


# ----------------------------------------------------------------------------- json

def parse_wrk_json(text: str) -> StoredWrk:
    """The report of runner/measure/wrk_report.lua -> its figures."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise WrkParseError(f"expected the Lua report as text, not {type(text).__name__}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8
        raise WrkParseError(f"the Lua report is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WrkParseError("the Lua report is not a JSON object")
    if data.get("format") != JSON_FORMAT or data.get("version") != JSON_VERSION:
        raise WrkParseError(f"not a {JSON_FORMAT} version {JSON_VERSION} report "
                            f"(format {data.get('format')!r}, version {data.get('version')!r})")

    duration_us = _number(data, "duration_us")
    if duration_us <= 0:
        raise WrkParseError(f"duration_us must be positive, not {duration_us!r}")
    requests = _count(data, "requests")
    errors = _object(data, "errors")
    latency = _object(data, "latency_us")
    values = {}
    for key in LATENCY_KEYS:
        value = latency.get(key)
        if value is not None:
            value = _number(latency, key, where="latency_us.")
        values[key] = value
    if len({v is None for v in values.values()}) > 1:
        raise WrkParseError("latency_us has numbers and nulls: it is either all or nothing")
    per_second = data.get("per_second")
    if not isinstance(per_second, list) or not all(_is_count(n) for n in per_second):
        raise WrkParseError("per_second must be a list of counts")

    duration_s = duration_us / 1e6
    return StoredWrk(
        requests=requests,
        duration_s=duration_s,
        bytes=_count(data, "bytes"),
        rps=requests / duration_s,
        latency_s={k: (None if v is None else v / 1e6) for k, v in values.items()},
        errors={key: _count(errors, key, where="errors.") for key in ERROR_KEYS},
        per_second=[int(n) for n in per_second],
        # the epoch second of per_second[0], so two runs side by side line up on the clock
        per_second_start=_start_second(data.get("per_second_start")),
        **_checked_counts(data),
    )


def _checked_counts(data: dict) -> dict:
    """What the script counted for runner.measure.wrkcheck: the floor (in seconds), the
    answers below it, each thread's counts and the proof's sample; absent from a report
    of an older script."""
    out: dict = {}
    if data.get("floor_us") is not None:
        out["floor_s"] = _number(data, "floor_us") / 1e6
        out["below_floor"] = _count(data, "below_floor")
    threads = data.get("threads")
    if threads is not None:
        if not isinstance(threads, list) or not all(isinstance(t, dict) for t in threads):
            raise WrkParseError("threads must be a list of objects")
        out["threads"] = [_thread(t) for t in threads]
    if data.get("proof") is not None:
        try:
            out["proof"] = StoredWrkProof.model_validate(data["proof"])
        except ValidationError as exc:
            raise WrkParseError(f"proof is malformed: {exc.errors()[0]['msg']}") from None
    return out


def _thread(data: dict) -> StoredWrkThread:
    sent = data.get("sent")
    return StoredWrkThread(answered=_count(data, "answered", where="threads[]."),
                           non_2xx=_count(data, "non_2xx", where="threads[]."),
                           sent=None if sent is None else _count(data, "sent", where="threads[]."),
                           silent_s=_number(data, "silent_us", where="threads[].") / 1e6)


def _start_second(value: object) -> int | None:
    if value is None:
        return None
    if not _is_count(value):
        raise WrkParseError(f"per_second_start must be an epoch second, not {value!r}")
    return int(value)


def _object(data: dict, key: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise WrkParseError(f"{key} must be an object")
    return value


def _number(data: dict, key: str, where: str = "") -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise WrkParseError(f"{where}{key} must be a non-negative number, not {value!r}")
    return value


def _is_count(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float))
            and math.isfinite(value) and value >= 0 and value == int(value))


def _count(data: dict, key: str, where: str = "") -> int:
    value = data.get(key)
    if not _is_count(value):
        raise WrkParseError(f"{where}{key} must be a whole non-negative number, not {value!r}")
    return int(value)


# ----------------------------------------------------------------------------- compare

RELATIVE = 0.01  # beyond the last printed digit, 1 % for the rounding of unit choice


def printed_time_step(seconds: float) -> float:
    """The last printed digit's unit (0.01 of wrk's unit) for a time wrk printed."""
    us = seconds * 1e6
    if us >= 1e6:
        return 0.01 * (60.0 if seconds >= 51 else 1.0)
    return 0.01 * (1e-3 if us >= 850 else 1e-6)


def printed_bytes_step(count: float) -> float:
    """The last printed digit's unit for a byte count wrk printed (base 1024)."""
    unit = 1.0
    while count >= 1024 * 0.85 and unit < 1024**4:
        count /= 1024
        unit *= 1024
    return 0.01 * unit


def _close(text_value: float, json_value: float, step: float) -> bool:
    return abs(text_value - json_value) <= RELATIVE * abs(json_value) + step / 2


def compare_text_json(text_result: StoredWrk, json_result: StoredWrk) -> list[str]:
    """What the text and the JSON of one run disagree on, beyond the text's rounding.

    Counts must be equal; latencies, bytes, duration and requests/s may differ by 1 % plus
    half of the text's last printed digit ("0.02" requests/s is 0.015 rounded)."""
    problems = []
    if text_result.requests != json_result.requests:
        problems.append(f"requests: text {text_result.requests}, json {json_result.requests}")
    for key in ERROR_KEYS:
        t, j = text_result.errors[key], json_result.errors[key]
        if t != j:
            problems.append(f"errors.{key}: text {t}, json {j}")
    checks = [("duration_s", text_result.duration_s, json_result.duration_s,
               printed_time_step, "s"),
              ("bytes", text_result.bytes, json_result.bytes, printed_bytes_step, "B"),
              ("rps", text_result.rps, json_result.rps, lambda _: 0.01, "/s")]
    for key in LATENCY_KEYS:
        t = text_result.latency_s[key]
        if t is None and key in ("min", "p99_9", "p99_99"):
            continue  # the text never has these
        checks.append((f"latency_s.{key}", t, json_result.latency_s[key],
                       printed_time_step, "s"))
    for name, t, j, step, unit in checks:
        if t is None and j is None:
            continue
        if t is None or j is None:
            problems.append(f"{name}: text {t}, json {j}")
        elif not _close(t, j, step(t)):
            problems.append(f"{name}: text {t:.6g} {unit}, json {j:.6g} {unit}")
    return problems
