"""runner.measure.wrkparse against real wrk outputs (tests/fixtures/wrk, made by capture.py).

Every expected number below was read off the fixture by eye and converted by hand, so a
parser that misreads a unit cannot also write its own expectations. No process starts.
"""

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.measure.wrk import Wrk, WrkMissing, wrk_argv
from runner.measure.wrkparse import (
    WrkParseError,
    compare_text_json,
    parse_bytes,
    parse_count,
    parse_time,
    parse_wrk_json,
    parse_wrk_text,
)

FIXTURES = Path(__file__).parent / "fixtures" / "wrk"
NAMES = ["fast_c1", "fast", "sleep_1s", "connect_errors", "write_errors", "read_errors",
         "timeouts", "status_500", "empty", "minutes"]

US, MS, S, MIN = 1e-6, 1e-3, 1.0, 60.0
KB, MB, GB, TB = 1024, 1024**2, 1024**3, 1024**4
NO_ERRORS = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
NO_LATENCY = dict.fromkeys(
    ["min", "max", "mean", "stdev", "p50", "p75", "p90", "p99", "p99_9", "p99_99"])


def read(name: str, ext: str) -> str:
    return (FIXTURES / f"{name}.{ext}").read_text()


def text_result(requests, duration_s, bytes_, rps, latency, **errors):
    """The expected parse of a text fixture; latency is (mean, stdev, max, p50, p75, p90,
    p99) in seconds, or None for an empty histogram."""
    lat = dict(NO_LATENCY)
    if latency is not None:
        lat.update(zip(["mean", "stdev", "max", "p50", "p75", "p90", "p99"], latency))
    return {"requests": requests, "duration_s": duration_s, "bytes": bytes_, "rps": rps,
            "latency_s": lat, "errors": {**NO_ERRORS, **errors}, "per_second": None,
            "per_second_start": None}


def json_result(start, requests, duration_us, bytes_, latency_us, per_second, **errors):
    """The expected parse of a JSON fixture; latency_us is (min, max, mean, stdev, p50,
    p75, p90, p99, p99.9, p99.99) in microseconds as written in the file, or None."""
    lat = dict(NO_LATENCY)
    if latency_us is not None:
        lat.update(zip(lat, (v / 1e6 for v in latency_us)))
    return {"requests": requests, "duration_s": duration_us / 1e6, "bytes": bytes_,
            "rps": requests / (duration_us / 1e6), "latency_s": lat,
            "errors": {**NO_ERRORS, **errors}, "per_second": per_second,
            "per_second_start": start}


TEXT = {
    "fast_c1": text_result(48370, 3.00 * S, round(7.57 * MB), 16111.10,
                           (70.44 * US, 131.38 * US, 3.63 * MS,
                            46.00 * US, 82.00 * US, 85.00 * US, 262.00 * US)),
    "fast": text_result(36972, 3.00 * S, round(5.78 * MB), 12319.32,
                        (2.98 * MS, 3.32 * MS, 71.67 * MS,
                         2.44 * MS, 3.94 * MS, 5.74 * MS, 11.29 * MS)),
    "sleep_1s": text_result(40, 4.01 * S, round(6.41 * KB), 9.98,
                            (1.00 * S, 549.19 * US, 1.00 * S,
                             1.00 * S, 1.00 * S, 1.00 * S, 1.00 * S)),
    "connect_errors": text_result(27158, 2.00 * S, round(4.25 * MB), 13575.22,
                                  (2.11 * MS, 2.77 * MS, 70.98 * MS,
                                   1.56 * MS, 2.69 * MS, 4.14 * MS, 8.41 * MS),
                                  connect=37),
    "write_errors": text_result(25382, 3.10 * S, round(3.97 * MB), 8188.89,
                                (526.89 * US, 842.61 * US, 32.13 * MS,
                                 377.00 * US, 562.00 * US, 0.94 * MS, 2.78 * MS),
                                read=8, write=90006),
    "read_errors": text_result(0, 2.00 * S, 0, 0.00, None, read=4588),
    # 8 completions, all slower than --timeout: counted as requests and as timeouts,
    # never recorded in the histogram, so the text shows 0.00us everywhere
    "timeouts": text_result(8, 4.01 * S, round(1.28 * KB), 2.00, None, timeout=8),
    "status_500": text_result(40729, 2.10 * S, round(7.11 * MB), 19396.35,
                              (262.86 * US, 418.48 * US, 8.47 * MS,
                               192.00 * US, 235.00 * US, 319.00 * US, 2.56 * MS),
                              status=40729),
    "empty": text_result(0, 2.00 * S, 0, 0.00, None),
    "minutes": text_result(1, 1.08 * MIN, 164, 0.02,
                           (1.02 * MIN, 0.00 * US, 1.02 * MIN,
                            1.02 * MIN, 1.02 * MIN, 1.02 * MIN, 1.02 * MIN)),
}

JSON = {
    "fast_c1": json_result(1795460527, 48370, 3002278, 7932680,
                           (37, 3630, 70.443688786626211, 131.38062436674952,
                            46, 82, 85, 262, 2171, 3444),
                           [9469, 19914, 12561, 6426]),
    "fast": json_result(1795460530, 36972, 3001140, 6065280,
                        (48, 71674, 2978.7699391547444, 3321.4383503848139,
                         2445, 3940, 5739, 11292, 48292, 66478),
                        [5229, 12502, 12383, 6858]),
    "sleep_1s": json_result(1795460533, 40, 4008686, 6560,
                            (1000247, 1002246, 1001006.65, 549.18856459979156,
                             1000789, 1001250, 1001961, 1002246, 1002246, 1002246),
                            [0, 10, 10, 10, 10]),
    "connect_errors": json_result(1795460537, 27158, 2000557, 4455352,
                                  (43, 70984, 2105.9533752651209, 2774.9844112806722,
                                   1563, 2690, 4140, 8413, 45824, 66266),
                                  [3980, 13610, 9568], connect=37),
    "write_errors": json_result(1795460539, 25382, 3099566, 4163224,
                                (39, 32126, 526.88535374908633, 842.60972368190539,
                                 377, 562, 936, 2779, 9961, 30172),
                                [3264, 16610, 5508, 0], read=8, write=90006),
    "read_errors": json_result(1795460542, 0, 2000246, 0, None, [0, 0, 0], read=4588),
    "timeouts": json_result(1795460544, 8, 4007263, 1312, None, [0, 0, 4, 0, 4], timeout=8),
    "status_500": json_result(1795460549, 40729, 2099828, 7453570,
                              (38, 8473, 262.8555990095573, 418.48013265048235,
                               192, 235, 319, 2558, 4854, 7649),
                              [18970, 19601, 2158], status=40729),
    "empty": json_result(1795460551, 0, 2004422, 0, None, [0, 0, 0]),
    "minutes": json_result(1795460526, 1, 65044404, 164, (61005288,) * 3 + (0,) + (61005288,) * 6,
                           [0] * 61 + [1, 0, 0, 0, 0]),
}


def assert_same(actual, expected, path="result"):
    """Equal shape and keys; ints and None exactly, floats to 1e-12 relative."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert actual.keys() == expected.keys(), path
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert actual == expected, path
    elif isinstance(expected, float):
        assert isinstance(actual, float), path
        assert math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-15), \
            f"{path}: {actual!r} != {expected!r}"
    else:
        assert type(actual) is type(expected) and actual == expected, \
            f"{path}: {actual!r} != {expected!r}"


def test_every_fixture_is_listed():
    on_disk = {p.stem for p in FIXTURES.glob("*.txt")}
    assert on_disk == set(NAMES) == set(TEXT) == set(JSON)
    assert on_disk == {p.stem for p in FIXTURES.glob("*.json")}


@pytest.mark.parametrize("name", NAMES)
def test_parse_text_fixture(name):
    assert_same(parse_wrk_text(read(name, "txt")).model_dump(exclude_unset=True), TEXT[name])


@pytest.mark.parametrize("name", NAMES)
def test_parse_json_fixture(name):
    assert_same(parse_wrk_json(read(name, "json")).model_dump(exclude_unset=True), JSON[name])


@pytest.mark.parametrize("name", NAMES)
def test_per_second_adds_up_to_requests(name):
    result = parse_wrk_json(read(name, "json"))
    assert sum(result.per_second) == result.requests


@pytest.mark.parametrize("name", NAMES)
def test_text_and_json_of_one_run_agree(name):
    assert compare_text_json(parse_wrk_text(read(name, "txt")),
                             parse_wrk_json(read(name, "json"))) == []


@pytest.mark.parametrize("name, old, new, flagged", [
    ("fast", "36972 requests", "36973 requests", "requests"),
    ("fast", "50%    2.44ms", "50%    2.64ms", "latency_s.p50"),
    ("fast", "99%   11.29ms", "99%   11.29us", "latency_s.p99"),
    ("fast", "Latency     2.98ms", "Latency     3.08ms", "latency_s.mean"),
    ("fast", "71.67ms   92.49%", "81.67ms   92.49%", "latency_s.max"),
    ("fast", "Requests/sec:  12319.32", "Requests/sec:  12519.32", "rps"),
    ("fast", "5.78MB read", "5.78GB read", "bytes"),
    ("fast", "in 3.00s", "in 3.00m", "duration_s"),
    ("status_500", "responses: 40729", "responses: 40728", "errors.status"),
    ("connect_errors", "connect 37,", "connect 36,", "errors.connect"),
    ("write_errors", "write 90006,", "write 9006,", "errors.write"),
    ("timeouts", "timeout 8", "timeout 7", "errors.timeout"),
    # a histogram the text shows but the JSON has not
    ("timeouts", "Latency     0.00us    0.00us   0.00us",
     "Latency     1.00s     0.00us   1.00s ", "latency_s.mean"),
])
def test_an_altered_text_disagrees(name, old, new, flagged):
    text = read(name, "txt")
    assert old in text
    problems = compare_text_json(parse_wrk_text(text.replace(old, new)),
                                 parse_wrk_json(read(name, "json")))
    assert any(p.startswith(flagged + ":") for p in problems), problems


@pytest.mark.parametrize("field, value, flagged", [
    ("requests", 36971, "requests"),
    ("p99", 12000, "latency_s.p99"),
    ("mean", 3100.0, "latency_s.mean"),
    ("read", 1, "errors.read"),
])
def test_an_altered_json_disagrees(field, value, flagged):
    data = json.loads(read("fast", "json"))
    for table in (data, data["latency_us"], data["errors"]):
        if field in table:
            table[field] = value
    problems = compare_text_json(parse_wrk_text(read("fast", "txt")),
                                 parse_wrk_json(json.dumps(data)))
    assert any(p.startswith(flagged + ":") for p in problems), problems


def test_rounding_alone_is_no_disagreement():
    # "Requests/sec: 0.02" is 1 request in 65.04 s (0.0154/s): 30 % off, and right
    text, lua = parse_wrk_text(read("minutes", "txt")), parse_wrk_json(read("minutes", "json"))
    assert text.rps == 0.02 and round(lua.rps, 4) == 0.0154
    assert compare_text_json(text, lua) == []


# ----------------------------------------------------------------------------- units

@pytest.mark.parametrize("token, seconds", [
    ("0.00us", 0.0),
    ("46.00us", 46e-6),
    ("849.99us", 849.99e-6),
    ("0.85ms", 0.85e-3),     # wrk moves to the next unit at 0.85 of it
    ("999.99ms", 0.99999),
    ("1.00s", 1.0),
    ("50.99s", 50.99),
    ("0.85m", 51.0),
    ("1.02m", 61.2),
    ("120.00m", 7200.0),
    ("1.50h", 5400.0),       # in wrk's table, though its loop never reaches it
])
def test_parse_time(token, seconds):
    assert math.isclose(parse_time(token), seconds, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize("token, count", [
    ("0.00B", 0),
    ("164.00B", 164),
    ("870.00B", 870),
    ("0.85KB", 870),         # 0.85 * 1024 = 870.4
    ("1.28KB", 1311),
    ("6.41KB", 6564),
    ("7.57MB", 7937720),
    ("1.00GB", 1073741824),
    ("2.50TB", 2748779069440),
])
def test_parse_bytes(token, count):
    assert parse_bytes(token) == count


@pytest.mark.parametrize("token, count", [
    ("0.00", 0.0),
    ("451.02", 451.02),
    ("0.90k", 900.0),
    ("11.41k", 11410.0),
    ("1.50M", 1.5e6),
    ("2.00G", 2e9),
    ("3.00T", 3e12),
])
def test_parse_count(token, count):
    assert math.isclose(parse_count(token), count, rel_tol=1e-12)


@pytest.mark.parametrize("parse, token", [
    (parse_time, "1.00"), (parse_time, "ms"), (parse_time, ""), (parse_time, "1.00 ms"),
    (parse_time, "-1.00ms"), (parse_time, "1.00Ms"), (parse_time, "1.00ks"),
    (parse_time, "1" * 40 + "us"),
    (parse_bytes, "1.00"), (parse_bytes, "1.00K"), (parse_bytes, "1.00kB"),
    (parse_bytes, "1.00XB"), (parse_bytes, "B"),
    (parse_count, "1.00K"), (parse_count, "k"), (parse_count, "1.00kk"), (parse_count, "nan"),
])
def test_bad_unit_tokens_raise(parse, token):
    with pytest.raises(WrkParseError):
        parse(token)


def test_truncated_mean_of_just_under_one_second():
    # "1000.00ms" is one character wider than the Avg column, and wrk cuts it to
    # "1000.00m": it means 1000 ms, not 1000 minutes
    text = read("sleep_1s", "txt").replace("Latency     1.00s ", "Latency    1000.00m")
    assert parse_wrk_text(text).latency_s["mean"] == 1.0


# ----------------------------------------------------------------------------- malformed text

def test_text_without_distribution_has_no_percentiles():
    lines = [line for line in read("fast", "txt").splitlines()
             if "Distribution" not in line and not re.match(r"\s*\d+%", line)]
    latency = parse_wrk_text("\n".join(lines)).latency_s
    assert latency["mean"] == 2.98 * MS
    assert [latency[k] for k in ("p50", "p75", "p90", "p99")] == [None] * 4


@pytest.mark.parametrize("change", [
    lambda t: t.replace("Requests/sec:  12319.32\n", ""),
    lambda t: re.sub(r".*requests in.*\n", "", t),
    lambda t: re.sub(r".*Latency +\d.*\n", "", t),
    lambda t: re.sub(r".*75%.*\n", "", t),
    lambda t: t.replace("  Latency Distribution\n", ""),
    lambda t: t + "Requests/sec:      1.00\n",
    lambda t: t.replace("50%", "50% 50%"),
    lambda t: t.replace("5.78MB read", "5.78Mb read"),
    lambda t: t.replace("2.98ms", "2.98 ms"),
    lambda t: t.replace("36972 requests", "many requests"),
    lambda t: t.replace("12319.32", "lots"),
    lambda t: t.replace("Transfer/sec:      1.93MB", "Transfer/sec:      1.93"),
    lambda t: t.replace("6.19k", "6.19q"),
    lambda t: t.replace("5.74ms", "5.74xs"),
], ids=["no rps", "no summary", "no latency", "no p75", "percentiles without header",
        "two rps", "two tokens", "bad byte unit", "split time", "non-numeric requests",
        "non-numeric rps", "bad transfer", "bad count unit", "bad time unit"])
def test_malformed_text_raises(change):
    with pytest.raises(WrkParseError):
        parse_wrk_text(change(read("fast", "txt")))


@pytest.mark.parametrize("text", [
    "", "\n\n", "wrk: command not found\n", "Socket errors: connect x",
    "  Socket errors: connect 1, read 2\n", "  Non-2xx or 3xx responses: many\n",
    read("fast", "json"),
])
def test_not_wrk_text_raises(text):
    with pytest.raises(WrkParseError):
        parse_wrk_text(text)


def test_text_must_be_str():
    with pytest.raises(WrkParseError):
        parse_wrk_text(b"bytes")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- malformed json

def _altered(**changes) -> str:
    data = json.loads(read("fast", "json"))
    for path, value in changes.items():
        target = data
        *parents, last = path.split("__")
        for key in parents:
            target = target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return json.dumps(data)


@pytest.mark.parametrize("text", [
    "", "not json", "[]", "null", "{}", '{"format": "concbench.wrk_report"}',
    read("fast", "txt"),
    _altered(format="other"), _altered(version=2), _altered(duration_us=0),
    _altered(duration_us=-1), _altered(duration_us="3s"), _altered(requests=1.5),
    _altered(requests=True), _altered(requests=KeyError), _altered(bytes=None),
    _altered(errors=[]), _altered(errors__timeout=-1), _altered(errors__read=KeyError),
    _altered(latency_us=None), _altered(latency_us__p99=None), _altered(latency_us__max="1"),
    _altered(latency_us__mean=-0.5), _altered(per_second=None), _altered(per_second=[1, -1]),
    _altered(per_second=[1, 2.5]), _altered(per_second=[True]),
    read("fast", "json").replace("2978.7699391547444", "NaN"),
    read("fast", "json").replace("2978.7699391547444", "1e999"),
    "[" * 100000,
])
def test_malformed_json_raises(text):
    with pytest.raises(WrkParseError):
        parse_wrk_json(text)


def test_json_may_hold_more_keys():
    assert_same(parse_wrk_json(_altered(note="extra")).model_dump(exclude_unset=True), JSON["fast"])


# ----------------------------------------------------------------------------- hypothesis

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
ALL_TEXT = [read(n, "txt") for n in NAMES]
ALL_JSON = [read(n, "json") for n in NAMES]


@st.composite
def mutated(draw, sources, fragments):
    """A real fixture with a few random edits: cut, insert, replace, repeat a line."""
    text = draw(st.sampled_from(sources))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "insert", "replace", "line"]))
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        if kind == "cut":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + "".join(draw(st.lists(fragments, max_size=6))) + text[i:]
        elif kind == "replace":
            text = text[:i] + "".join(draw(st.lists(fragments, min_size=1, max_size=3))) \
                + text[j:]
        else:
            lines = text.splitlines(keepends=True) or [""]
            k = draw(st.integers(0, len(lines) - 1))
            text = "".join(lines[:k + 1] + [lines[k]] + lines[k + 1:])
    return text


TEXT_FRAGMENTS = st.sampled_from(list("0123456789.%:, -\nusmhkKMGTB") + ["nan", "requests"])
JSON_FRAGMENTS = st.sampled_from(list('0123456789.,:-"[]{}e \n') + ["null", "true", "NaN"])


def _parses_or_raises_wrk_error(parse, text):
    try:
        result = parse(text)
    except WrkParseError:
        return
    # every figure is given, so every one is stored (runner.store.results.record_json)
    assert result.model_fields_set == {"requests", "duration_s", "bytes", "rps", "latency_s",
                                       "errors", "per_second", "per_second_start"}


@FUZZ
@given(st.text())
def test_random_text_parses_or_raises(text):
    _parses_or_raises_wrk_error(parse_wrk_text, text)


@FUZZ
@given(mutated(ALL_TEXT, TEXT_FRAGMENTS))
def test_mutated_text_parses_or_raises(text):
    _parses_or_raises_wrk_error(parse_wrk_text, text)


@FUZZ
@given(st.text())
def test_random_json_text_parses_or_raises(text):
    _parses_or_raises_wrk_error(parse_wrk_json, text)


@FUZZ
@given(mutated(ALL_JSON, JSON_FRAGMENTS))
def test_mutated_json_parses_or_raises(text):
    _parses_or_raises_wrk_error(parse_wrk_json, text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)


@FUZZ
@given(st.sampled_from(NAMES), st.data())
def test_json_with_a_field_of_the_wrong_type_parses_or_raises(name, data):
    report = json.loads(read(name, "json"))
    table = data.draw(st.sampled_from([report, report["errors"], report["latency_us"]]))
    key = data.draw(st.sampled_from(sorted(table)))
    table[key] = data.draw(JSON_VALUES)
    _parses_or_raises_wrk_error(parse_wrk_json, json.dumps(report))


# ----------------------------------------------------------------------------- the shell, without running it

def test_wrk_argv_is_the_fixed_command_line():
    argv = wrk_argv("http://127.0.0.1:8000/hello", threads=4, connections=100,
                    duration_s=15, timeout_s=100.0)
    assert argv[:11] == ["wrk", "-t", "4", "-c", "100", "-d", "15s", "--timeout", "100s",
                         "--latency", "-s"]
    assert argv[11].endswith("runner/measure/wrk_report.lua") and Path(argv[11]).is_file()
    assert argv[12] == "http://127.0.0.1:8000/hello"


def test_fractional_seconds_round_up():
    argv = wrk_argv("http://127.0.0.1:1/", threads=1, connections=1, duration_s=0.5,
                    timeout_s=2.2)
    assert argv[6] == "1s" and argv[8] == "3s"


def test_missing_wrk_is_a_clear_error(tmp_path):
    with pytest.raises(WrkMissing, match=r"wrk not found: install it with "
                                         r"`apt-get install -y wrk` \(or run `./just setup`\)"):
        Wrk(program=str(tmp_path / "no-such-wrk")).run(
            "http://127.0.0.1:1/", threads=1, connections=1, duration_s=1, timeout_s=1,
            json_out=tmp_path / "out.json")
    assert issubclass(WrkMissing, RuntimeError)
