"""Numbers in the units a reader expects; "—" for a value that does not exist."""

import math

import pandas as pd

MISSING = "—"


def is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def format_seconds(value) -> str:
    """Seconds in the unit a reader expects: '1.01 s', '35 ms', '480 µs'."""
    if is_missing(value):
        return MISSING
    if value == 0:
        return "0 s"
    rounded = float(f"{value:.3g}")  # round first so 0.9996 s reads "1 s", not "1e+03 ms"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if rounded >= scale:
            return f"{rounded / scale:.3g} {unit}"
    return f"{rounded / 1e-9:.3g} ns"


def format_rps(value) -> str:
    if is_missing(value):
        return MISSING
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


def format_ratio(value) -> str:
    """Efficiency and similar ratios: '0.98'."""
    return MISSING if is_missing(value) else f"{value:.2f}"


def format_mib(value) -> str:
    return MISSING if is_missing(value) else f"{value / 2**20:.0f} MiB"


def format_count(value) -> str:
    return MISSING if is_missing(value) else f"{int(value)}"


def format_duration(seconds: float | None) -> str:
    """wrk's duration syntax: 15.0 -> '15s', 0.5 -> '500ms'."""
    if is_missing(seconds):
        return "?"
    return f"{seconds:g}s" if float(seconds).is_integer() else f"{seconds * 1000:g}ms"


def format_wrk(settings: dict) -> str:
    return (f"-t{settings.get('threads')} -c{settings.get('connections')} "
            f"-d{format_duration(settings.get('duration_s'))} "
            f"--timeout {format_duration(settings.get('timeout_s'))}")
