"""vegeta's per-request results (`vegeta encode --to json`, one JSON object a line) turned
into the figures of one offered rate, with latency counted from each request's intended
send time.

A constant-rate generator sends request `seq` at `start + seq / rate` whatever the server
does. If the generator itself falls behind (it ran short of workers, or of CPU), a request
leaves late, and the server's slowness that made it late would go unmeasured: coordinated
omission. So each latency here is `sent - intended + latency`, the lateness is reported
(and a rate whose requests left late is flagged as not held), and requests still in flight
when the attack ended are counted, not dropped.
"""

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime

from ..store.results import StoredOpenLatency, StoredPoint

# a request leaving this much later than intended means the generator did not hold its rate
LATE_S = 0.010
PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99}


class OpenParseError(ValueError):
    """vegeta's output is not what was expected; the message says what."""


def _time(text: str) -> float:
    """RFC 3339 with nanoseconds -> POSIX seconds (microsecond precision is plenty here)."""
    head, _, frac = text.rstrip("Z").partition(".")
    base = datetime.fromisoformat(head + "+00:00").timestamp()
    return base + (float("0." + frac) if frac else 0.0)


def read_results(text: str) -> list[dict]:
    """One dict per request: seq, sent (s), latency_s, code, error, body (bytes)."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            out.append({"seq": int(raw["seq"]), "sent": _time(raw["timestamp"]),
                        "latency_s": raw["latency"] / 1e9, "code": int(raw["code"]),
                        "error": raw.get("error") or "",
                        "body": base64.b64decode(raw.get("body") or "")})
        except (ValueError, KeyError, TypeError) as exc:
            raise OpenParseError(f"line {number}: not a vegeta result ({exc})") from None
    return sorted(out, key=lambda r: r["seq"])


def _quantile(values: list[float], q: float) -> float | None:
    """Nearest-rank quantile of sorted values (what latency reports use)."""
    if not values:
        return None
    rank = max(1, min(len(values), round(q * len(values) + 0.5)))
    return values[rank - 1]


def _max_in_flight(spans: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans],
                    key=lambda e: (e[0], e[1]))
    now = most = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


@dataclass
class _Tally:
    """What the requests of one rate add up to, one request at a time."""
    latencies: list[float] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    timeouts: int = 0
    failed_proof: int = 0
    in_flight_at_end: int = 0
    first_problem: str | None = None

    def add(self, r: dict, late: float, end: float, problems_of) -> None:
        self.lateness.append(late)
        finished = r["sent"] + r["latency_s"]
        self.spans.append((r["sent"], finished))
        if r["sent"] < end < finished:
            self.in_flight_at_end += 1
        self.codes[str(r["code"])] = self.codes.get(str(r["code"]), 0) + 1
        if r["error"]:
            self.errors += 1
            if "timeout" in r["error"].lower() or "deadline" in r["error"].lower():
                self.timeouts += 1
            return
        if r["code"] != 200:
            self.errors += 1
            return
        if problems_of is not None:
            problems = problems_of(r)
            if problems:
                self.failed_proof += 1
                self.first_problem = self.first_problem or "; ".join(problems)
                return
        self.latencies.append(late + r["latency_s"])


def summarize(results: list[dict], rate: float, duration_s: float,
              problems_of=None) -> StoredPoint:
    """The figures of one offered rate (without when it started, the command line, the
    resources and the services, which the runner adds).

    `problems_of(result)` returns the conformance problems of one answer (the proof of
    work each body carries), or None to skip that check.
    """
    if not results:
        raise OpenParseError("vegeta recorded no request")
    start = results[0]["sent"] - results[0]["seq"] / rate
    end = start + duration_s
    tally = _Tally()
    for r in results:
        tally.add(r, max(0.0, r["sent"] - (start + r["seq"] / rate)), end, problems_of)
    latencies, lateness = sorted(tally.latencies), sorted(tally.lateness)
    sent_span = results[-1]["sent"] - results[0]["sent"]
    return StoredPoint(
        offered_rps=rate,
        requests=len(results),
        sent_rps=(len(results) - 1) / sent_span if sent_span > 0 else None,
        ok=len(latencies),
        completed_rps=len(latencies) / duration_s,
        errors=tally.errors, timeouts=tally.timeouts, failed_proof=tally.failed_proof,
        first_problem=tally.first_problem,
        codes=tally.codes,
        latency_s=StoredOpenLatency(
            **{k: _quantile(latencies, q) for k, q in PERCENTILES.items()},
            max=latencies[-1] if latencies else None),
        late_p99_s=_quantile(lateness, 0.99),
        late_max_s=lateness[-1],
        held_rate=_quantile(lateness, 0.99) <= LATE_S,
        in_flight_at_end=tally.in_flight_at_end,
        max_in_flight=_max_in_flight(tally.spans),
    )
