"""runner.stats: exact answers for inputs small enough to check by hand."""

import math

import pytest

from runner.stats import CV_LIMIT, Summary, median_or_none, summarize


def test_empty_has_no_statistics():
    assert summarize([]) == Summary(0, None, None, None, None, None, None, None, None, None,
                                    False)


def test_one_value_has_no_spread():
    s = summarize([93.08])
    assert (s.n, s.median, s.min, s.max, s.iqr) == (1, 93.08, 93.08, 93.08, 0.0)
    assert s.stdev is None and s.cv is None and not s.too_wide


def test_four_values_use_inclusive_quartiles():
    s = summarize([4, 1, 3, 2])  # order does not matter
    assert (s.n, s.median, s.min, s.max) == (4, 2.5, 1.0, 4.0)
    # Hyndman & Fan type 7: positions 1 + (n - 1) * p -> 1.75 and 3.25
    assert (s.q1, s.q3, s.iqr) == (1.75, 3.25, 1.5)
    assert s.mean == 2.5
    assert s.stdev == pytest.approx(math.sqrt(5 / 3))
    assert s.cv == pytest.approx(math.sqrt(5 / 3) / 2.5)


def test_cv_uses_the_sample_standard_deviation():
    s = summarize([90, 100, 110])
    assert (s.mean, s.stdev, s.cv) == (100.0, 10.0, 0.1)


def test_too_wide_at_the_limit_with_three_runs():
    assert CV_LIMIT == 0.10
    assert summarize([90, 100, 110]).too_wide          # exactly 10%: pyperf warns too
    assert not summarize([95, 100, 105]).too_wide      # 5%
    assert summarize([80, 100, 120]).too_wide          # 20%


def test_two_runs_are_never_flagged():
    s = summarize([80, 120])
    assert s.cv == pytest.approx(math.sqrt(800) / 100)
    assert not s.too_wide


def test_zero_mean_has_no_cv():
    s = summarize([0, 0, 0])
    assert s.cv is None and not s.too_wide


def test_median_or_none_skips_missing_values():
    assert median_or_none([None, 3.0, float("nan"), 1.0]) == 2.0
    assert median_or_none([None, None]) is None
    assert median_or_none([]) is None
