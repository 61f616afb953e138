"""How much this machine's speed drifts: the same CPU loop timed over and over for a while,
its CPU time per loop averaged over windows of 0.5 s, 2 s and 10 s.

A ceiling computed from a calibration before a load judges that load by the machine's
speed at another moment. On a shared machine the speed drifts; where the drift does not
shrink with the window, a few seconds of calibration cannot predict the next ten, and the
model counts the CPU of the load's own seconds instead (docs/formats.md, Calibration).
Not a test: it prints what this machine does now. Usage:

    uv run python scripts/speed_drift.py [SECONDS]
"""

import statistics
import sys
import time

WINDOWS_S = (0.5, 2.0, 10.0)


def loop(n: int = 500_000) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def sample(seconds: float) -> list[tuple[float, float]]:
    """(wall-clock offset, CPU seconds of one loop) for every loop run in `seconds`."""
    out, start = [], time.monotonic()
    while (now := time.monotonic()) - start < seconds:
        cpu = time.process_time()
        loop()
        out.append((now - start, time.process_time() - cpu))
    return out


def windows(points: list[tuple[float, float]], width: float) -> list[float]:
    """Mean CPU time per loop in consecutive windows of `width` seconds."""
    means, current, start = [], [], 0.0
    for at, cpu in points:
        if at - start >= width and current:
            means.append(statistics.fmean(current))
            current, start = [], at
        current.append(cpu)
    return means


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    points = sample(seconds)
    print(f"{len(points)} loops in {seconds:g} s")
    for width in WINDOWS_S:
        means = windows(points, width)
        if len(means) < 2:
            continue
        mean = statistics.fmean(means)
        print(f"windows of {width:>4g} s: {len(means):3d}, coefficient of variation "
              f"{statistics.pstdev(means) / mean:.3f}, slowest/fastest "
              f"{max(means) / min(means):.2f}")


if __name__ == "__main__":
    main()
