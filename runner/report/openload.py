"""Figures of an open scenario's case, from its stored run: each offered rate with its
measured percentiles beside the model's prediction, and the knee against the capacity.

The knee is the highest offered rate whose p99 stays within the suite's `knee` times the
service time, every lower rate included; the model's knee is its capacity. Pure functions
over a stored case (runner/store/results.py, docs/formats.md).
"""

from dataclasses import dataclass

from ..model.predict import open_latency, saturated
from ..store.results import StoredCase, StoredPoint, StoredRun
from .sentences import cause_text

# a knee within this band of the capacity agrees with the model (the rates are a grid:
# with fractions 0.8, 0.95, 1.1 of the capacity a right model puts the knee at 0.95)
KNEE_BAND = (0.85, 1.10)


@dataclass(frozen=True)
class OpenPoint:
    """One offered rate as measured, beside the model's prediction for it."""
    measured: StoredPoint
    predicted_p50_s: float | None
    predicted_max_s: float | None


@dataclass(frozen=True)
class Knee:
    """Where an open case fell over, against the model's capacity."""
    verdict: str                         # in words
    knee_rps: float | None = None        # the highest rate held, every lower one included
    saturated_at_rps: float | None = None
    tried_up_to_rps: float | None = None
    capacity_rps: float | None = None    # the model's
    bottleneck: str | None = None        # what binds the capacity, in words
    ratio: float | None = None           # knee / capacity, where a rate saturated
    agrees: bool = False
    relative_to: str | None = None       # what the offered rates were fractions of


def open_run(data: StoredCase) -> StoredRun | None:
    """The (first) measured run of an open case, or None."""
    return next((run for run in data.runs if run.points), None)


def _capacity(run: StoredRun) -> float | None:
    return run.capacity.rps if run.capacity else None


def points(data: StoredCase) -> list[OpenPoint]:
    """Each offered rate: measured figures and the model's predicted p50 and max."""
    run = open_run(data)
    if run is None:
        return []
    duration = (data.case.open or {}).get("duration") or 10.0
    capacity = _capacity(run)
    service = run.calibration.service_s if run.calibration else None
    out = []
    for point in run.points:
        predicted = (open_latency(capacity, service, point.offered_rps, duration)
                     if capacity and service else (None, None))
        out.append(OpenPoint(point, *predicted))
    return out


def knee(data: StoredCase) -> Knee:
    """Measured knee, modelled capacity, their ratio and the verdict in words."""
    run = open_run(data)
    if run is None:
        return Knee("not measured")
    factor = (data.case.open or {}).get("knee") or 1.5
    service = run.calibration.service_s if run.calibration else None
    capacity = _capacity(run)
    held = None
    first_bad = None
    bad_point = None
    for point in run.points:
        if not service or saturated(point.model_dump(), service, factor):
            first_bad, bad_point = point.offered_rps, point
            break
        held = point.offered_rps
    tried = run.points[-1].offered_rps
    if held is None:
        verdict = f"saturated already at the lowest rate offered ({first_bad:g}/s)"
        if capacity:
            verdict += (f", {first_bad / capacity:.2f}× the modelled capacity: "
                        f"{_cores_at(bad_point)}")
    elif first_bad is None:
        verdict = f"held every rate offered, up to {tried:g}/s"
    else:
        verdict = f"held {held:g}/s, saturated at {first_bad:g}/s"
    if bad_point is not None and bad_point.ok < bad_point.requests:
        verdict += (f" ({bad_point.requests - bad_point.ok} of {bad_point.requests} requests "
                    f"there failed or timed out: {bad_point.timeouts} timeouts)")
    ratio = held / capacity if held and capacity and first_bad is not None else None
    agrees = ratio is not None and KNEE_BAND[0] <= ratio <= KNEE_BAND[1]
    if ratio is not None and not agrees:
        verdict += f"; the knee is {ratio:.2f}× the modelled capacity: {_cores_at(bad_point)}"
    elif first_bad is None and capacity and capacity <= tried:
        verdict += f", above the modelled capacity {capacity:.3g}/s"
    not_held = [p.offered_rps for p in run.points if not p.held_rate]
    if not_held:
        verdict += (f"; the generator could not hold {', '.join(f'{r:g}/s' for r in not_held)}"
                    " (requests left late)")
    return Knee(verdict, held, first_bad, tried, capacity,
                run.capacity.bottleneck if run.capacity else None, ratio, agrees,
                run.capacity.rates_relative_to if run.capacity else None)


def _cores_at(point: StoredPoint) -> str:
    """What the server and the load generator used at a saturating rate, in words."""
    res = point.resources
    if res is None or not res.wall_s:
        return cause_text([])   # nothing measured to explain it
    server = (res.server_cpu_s or 0) / res.wall_s
    beside = ((res.wrk_cpu_s or 0) + (res.runner_cpu_s or 0)) / res.wall_s
    split = res.connections_per_process
    spread = (f"; its workers held {'/'.join(map(str, split))} connections"
              if len(split) > 1 else "")
    return (f"at {point.offered_rps:g}/s the server used {server:.2f} cores, vegeta and the "
            f"runner {beside:.2f}{spread}")
