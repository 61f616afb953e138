"""Numbers in the units a reader expects; "—" for a value that does not exist. The one set
of number formats: the reports' tables, the model's sentences and `compare` all use these.

No pandas here: the report's views are plain dicts, and pandas' missing values (pd.NA,
NaN) are recognised by type name and by float NaN so that frames built elsewhere still
format.
"""

import math

MISSING = "—"


def is_missing(value) -> bool:
    return (value is None or type(value).__name__ == "NAType"
            or (isinstance(value, float) and math.isnan(value)))


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


def seconds_unit(values) -> tuple[str, float]:
    """One unit for a whole column of seconds: ms when every value is under 10 s (so a 50 ms
    latency never reads 0.0514 beside a 1 s one), else s."""
    present = [v for v in values if not is_missing(v)]
    return ("ms", 1e-3) if present and max(present) < 9.9995 else ("s", 1.0)


def format_in(value, unit: tuple[str, float]) -> str:
    """Seconds in a column's fixed unit, the unit left to the header: 1.234 -> '1.23'."""
    if is_missing(value):
        return MISSING
    return format_number(value / unit[1])


def format_number(value) -> str:
    """Three significant digits, thousands separated, never in exponent form."""
    if is_missing(value):
        return MISSING
    rounded = float(f"{value:.3g}")  # 999.6 -> 1000.0, which then reads "1,000"
    if abs(rounded) >= 1000:
        return f"{value:,.0f}"
    return f"{rounded:.3g}" if abs(rounded) >= 1e-3 or rounded == 0 else f"{rounded:.1e}"


def format_rps(value) -> str:
    return format_number(value)


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


def format_percent(value) -> str:
    """A change in percent, signed: 12.34 -> '+12.3%'."""
    return MISSING if is_missing(value) else f"{value:+.1f}%"
