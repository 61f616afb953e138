"""Spread statistics of repeated measurements, kept apart so their method is stated once.

A case is measured a few times (the suite's `repeats`); the report shows the median and
how far the repeats disagree. Pure functions over plain numbers, no I/O.
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# A spread this wide makes a median untrustworthy. The bound is pyperf's: it warns "the
# benchmark result may be unstable" when the standard deviation is 10% of the mean or
# more (pyperf/_cli.py, format_checks).
CV_LIMIT = 0.10

# With two repeats the sample standard deviation is one difference scaled by 1/sqrt(2):
# it is too noisy to accuse a row of being unstable, so the flag needs three or more.
MIN_RUNS_FOR_FLAG = 3


@dataclass(frozen=True)
class Summary:
    """The spread of one quantity over repeats; None where it is undefined."""

    n: int
    median: float | None
    min: float | None
    max: float | None
    q1: float | None
    q3: float | None
    iqr: float | None
    mean: float | None
    stdev: float | None
    cv: float | None
    too_wide: bool


def summarize(values: Sequence[float]) -> Summary:
    """n, median, min, max, IQR, sample CV and the too-wide flag of `values`.

    Quartiles use linear interpolation between order statistics, Hyndman & Fan type 7
    (`statistics.quantiles(method="inclusive")`, the default of numpy and pandas), so
    they stay inside [min, max] for the handful of repeats a benchmark has.
    The CV is the sample standard deviation (n - 1 denominator) over the mean.
    """
    data = sorted(float(v) for v in values)
    n = len(data)
    if n == 0:
        return Summary(0, None, None, None, None, None, None, None, None, None, False)
    if n == 1:
        q1 = q3 = data[0]
    else:
        q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
    mean = statistics.fmean(data)
    stdev = statistics.stdev(data) if n >= 2 else None
    cv = stdev / mean if stdev is not None and mean != 0 else None
    too_wide = cv is not None and n >= MIN_RUNS_FOR_FLAG and cv >= CV_LIMIT
    return Summary(n=n, median=statistics.median(data), min=data[0], max=data[-1],
                   q1=q1, q3=q3, iqr=q3 - q1, mean=mean, stdev=stdev, cv=cv,
                   too_wide=too_wide)


def median_or_none(values: Sequence[float | None]) -> float | None:
    """The median of the values that exist (None and NaN are skipped), or None."""
    present = [float(v) for v in values if v is not None and not math.isnan(v)]
    return statistics.median(present) if present else None
