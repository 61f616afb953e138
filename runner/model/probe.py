"""The liveness-probe experiment: what a light probe sees while a heavy load runs beside it.

A probe (wrk, one thread, one connection, to a cheap endpoint) runs for the whole
window; the heavy load starts `before` seconds later and lasts `during` seconds. Both
wrk runs record completions per wall-clock second (the Lua script's `per_second`, with
the epoch second of its first bucket), so the two timelines line up on the clock.

With one connection in a closed loop, a second with k probe completions had a mean probe
wait of about 1/k s, and a second with none means the probe waited the whole second.
"""

import statistics


def align(probe: dict, heavy: dict) -> dict:
    """The probe's per-second completions and the bucket indexes the heavy load covered."""
    counts = list(probe.get("per_second") or [])
    start = probe.get("per_second_start")
    heavy_start = heavy.get("per_second_start")
    if start is None or heavy_start is None or not counts:
        return {"probe_per_second": counts, "heavy_first": None, "heavy_last": None}
    first = heavy_start - start
    last = first + max(len(heavy.get("per_second") or []), 1) - 1
    return {"probe_per_second": counts, "heavy_first": first, "heavy_last": last}


def summarize_probe(timeline: dict, probe_wrk: dict) -> dict:
    """Probe rate before, during (lowest and mean) and after the heavy load; longest wait.

    The first and last buckets of each run are partial seconds and are left out. "During"
    runs from the heavy load's first full second to the end of the window: wrk stops
    sending when its duration is up, but the server still works through the requests it
    holds (a 40,000-item response can outlast the heavy run by seconds), and a stall in
    that tail is the heavy load's doing too. "After" is the part of the window after the
    heavy run, where the probe should have recovered.
    """
    counts = timeline["probe_per_second"]
    first, last = timeline["heavy_first"], timeline["heavy_last"]
    out = {"before_rps": None, "during_min_rps": None, "during_mean_rps": None,
           "after_rps": None, "longest_wait_s": (probe_wrk.get("latency_s") or {}).get("max")}
    if first is None or not counts:
        return out
    before = counts[1:max(first, 1)]
    during = counts[first + 1:-1] if len(counts) - first >= 3 else counts[first:]
    after = counts[last + 1:-1]
    if before:
        out["before_rps"] = statistics.median(before)
    if during:
        out["during_min_rps"] = min(during)
        out["during_mean_rps"] = statistics.fmean(during)
    if after:
        out["after_rps"] = statistics.median(after)
    return out
