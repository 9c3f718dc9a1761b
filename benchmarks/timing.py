"""Timing shared by the benchmarks: interleaved repeats, pauses between runs, medians.

On 2-core machines OpenBLAS's threads spin for ~0.1 s after a matrix product and slow whatever
runs next, so implementations take turns with a pause between them. The shared machines also
have slow spells of a few seconds (numpy's own time per call nearly doubles), so a ratio is the
median of each repeat's ratio: the two runs it compares were back to back, and a slow spell
that spans both cancels out.
"""

from __future__ import annotations

import statistics
import time


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


class Timings(dict):
    """Seconds of each run, by implementation name, in the order the repeats ran."""

    def median(self, name: str) -> float:
        return statistics.median(self[name])

    def ratio(self, name: str, baseline: str) -> float:
        """Median over the repeats of ``name``'s time over ``baseline``'s in the same repeat."""
        return statistics.median(a / b for a, b in zip(self[name], self[baseline], strict=True))


def interleaved(runs: dict, repeats: int, pause: float = 0.15) -> Timings:
    """Time each named ``(fn, args)``, run in turn ``repeats`` times."""
    times = Timings({name: [] for name in runs})
    for _ in range(repeats):
        for name, (fn, args) in runs.items():
            time.sleep(pause)
            times[name].append(timed(fn, *args))
    return times
