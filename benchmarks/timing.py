"""Timing shared by the benchmarks: interleaved repeats, pauses between runs, medians.

On 2-core machines OpenBLAS's threads spin for ~0.1 s after a matrix product and slow whatever
runs next, so implementations take turns with a pause between them, and medians are reported.
"""

from __future__ import annotations

import statistics
import time


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def interleaved(runs: dict, repeats: int, pause: float = 0.15) -> dict:
    """Median seconds of each named ``(fn, args)``, run in turn ``repeats`` times."""
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (fn, args) in runs.items():
            time.sleep(pause)
            times[name].append(timed(fn, *args))
    return {name: statistics.median(ts) for name, ts in times.items()}
