"""What a closed load must show besides its rate: that the server did the work and kept
answering. Pure: the checks wrk's Lua script is asked for, and the problems of its report.

The conformance check proves one answer before the load; under load a server could still
answer a sleep at once (a made-up or cached body) or stop answering half-way, and wrk
would count the first as a high rate and drop the second's unanswered requests silently.
So wrk_report.lua counts, as it runs (docs/formats.md, "wrk measurement"):

- the answers faster than the wait the endpoint must do (`below_floor`, for the kinds of
  `WAIT_KINDS`, from wrk's latency histogram);
- a sample of bodies matched against the proof's Lua patterns (`proof`): every body for
  kinds that are not hello, every `HELLO_PROOF_EVERY`-th for hello, whose answers come
  fastest;
- per wrk thread, the answers and how long before the load's end the last one came
  (`threads`), and the requests sent where `count_sent` is on.
"""

from dataclasses import dataclass

from ..config.kinds import CPU_KINDS, JSON_KINDS, SUM_KINDS, WAIT_KINDS
from ..store.results import StoredWrk
from .check import SLEEP_TOLERANCE_S, fib

HELLO_PROOF_EVERY = 10
# a thread silent this long at the end, and 3 times longer than the slowest answer seen,
# stopped answering: no closed loop leaves its connections waiting that long
STALL_MIN_S = 1.0
STALL_FACTOR = 3.0


@dataclass(frozen=True)
class WrkChecks:
    """What wrk_report.lua counts for one load: the latency floor in microseconds, the Lua
    patterns every sampled body must match, one body in `proof_every`, and whether it
    counts the requests sent (wrk then builds each request in Lua)."""
    floor_us: int | None = None
    proof: tuple[str, ...] = ()
    proof_every: int = 1
    count_sent: bool = True

    def env(self) -> dict[str, str]:
        """The environment wrk is started with (read by wrk_report.lua)."""
        env = {"WRK_COUNT_SENT": "1" if self.count_sent else "0"}
        if self.floor_us is not None:
            env["WRK_FLOOR_US"] = str(self.floor_us)
        if self.proof:
            env["WRK_PROOF"] = "\n".join(self.proof)
            env["WRK_PROOF_EVERY"] = str(self.proof_every)
        return env


def _field(key: str, value: str) -> str:
    """A Lua pattern for `"key": value` in JSON, with any spacing; a whole number must end
    there, or go on with zeros after a point (100.0 is 100, as the conformance check reads it)."""
    end = "%.?0*[^%d%.]" if value[-1].isdigit() else ""
    return f'"{key}"%s*:%s*{value}{end}'


def checks_for(kind: str, params: dict[str, int]) -> WrkChecks:
    """The checks of a load of `kind` with `params` (docs/formats.md, endpoint contract)."""
    if kind == "hello":
        return WrkChecks(proof=(_field("message", '"hello"'),), proof_every=HELLO_PROOF_EVERY)
    proof = [_field("kind", f'"{kind}"')]
    floor_us = None
    if kind in WAIT_KINDS:
        proof.append(_field("ms", str(params["ms"])))
        floor_us = round((params["ms"] / 1000 - SLEEP_TOLERANCE_S) * 1e6)
    elif kind in CPU_KINDS:
        n = params["n"]
        proof.append(_field("result", str(n * (n - 1) // 2 if kind in SUM_KINDS else fib(n))))
    elif kind in JSON_KINDS:
        proof.append(_field("count", str(params["items"])))
    return WrkChecks(floor_us=floor_us, proof=tuple(proof))


def load_problems(wrk: StoredWrk, connections: int) -> list[str]:
    """Why a load's report does not show work done and answers kept coming: empty when
    it does. `connections` is wrk's -c (each thread keeps -c / -t of them)."""
    problems = []
    if wrk.below_floor:
        fastest = wrk.latency_s.get("min")
        wait_ms = round((wrk.floor_s + SLEEP_TOLERANCE_S) * 1000, 3)  # the declared wait
        problems.append(
            f"{wrk.below_floor} answers came back sooner than the {wait_ms:g} ms "
            f"the endpoint must wait (fastest {(fastest or 0) * 1000:.1f} ms): "
            "the server did not do the work")
    proof = wrk.proof
    if proof is not None and proof.failed:
        problems.append(f"{proof.failed} of {proof.checked} sampled answers lack the proof "
                        f"of work ({' and '.join(proof.patterns)}), e.g. {proof.sample!r}")
    return problems + _stall_problems(wrk, connections)


def _stall_problems(wrk: StoredWrk, connections: int) -> list[str]:
    """A server that stopped answering: threads silent at the end far longer than any
    answer took, and requests sent beyond one in flight per connection."""
    if not wrk.threads:
        return []
    per_thread = connections // len(wrk.threads)
    slowest = wrk.latency_s.get("max") or 0.0
    allowed = max(STALL_MIN_S, STALL_FACTOR * slowest)
    waiting = [t.sent - t.answered if t.sent is not None else per_thread
               for t in wrk.threads if t.silent_s > allowed]
    problems = []
    if waiting and sum(waiting):
        silent = min(t.silent_s for t in wrk.threads if t.silent_s > allowed)
        problems.append(
            f"the server stopped answering: {sum(waiting)} requests sent were never answered, "
            f"{len(waiting)} of {len(wrk.threads)} wrk threads got no answer in the last "
            f"{silent:.1f} s of the load (the slowest answer before took {slowest:.3f} s)")
    if all(t.sent is not None for t in wrk.threads):
        lost = sum(t.sent - t.answered for t in wrk.threads) - per_thread * len(wrk.threads)
        lost -= sum(wrk.errors.get(k) or 0 for k in ("connect", "read", "write"))
        if lost > 0 and not waiting:
            problems.append(f"{lost} requests were sent and never answered, beyond the one "
                            f"in flight on each of the {per_thread * len(wrk.threads)} "
                            "connections at the end")
    return problems
