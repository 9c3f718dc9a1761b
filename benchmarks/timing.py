"""Timing shared by the benchmarks: process CPU time over interleaved rounds, per-round ratios.

- **Process CPU time** (``time.process_time``), not wall-clock: the machines are shared 2-core
  virtual machines, and wall-clock ratios of one pair of implementations swung from 0.85 to 9.2
  while their CPU-time ratio stayed within 2.5-2.9. CPU time counts every thread of the process,
  so BLAS must run on one thread (``OPENBLAS_NUM_THREADS=1``, as the Makefile sets; ``warn`` says
  so when it is not): a second OpenBLAS thread spins ~0.1 s after each product and that spin
  would be counted.
- **Interleaved rounds**: in each round every implementation runs once, in turn, with a pause
  before each run (OpenBLAS threads, where there are several, spin after products and slow
  whatever runs next; the pause also lets the other core's load settle).
- **A ratio is the median over rounds of the ratio within each round**: the two runs it
  compares were back to back, so a slow spell of the machine (numpy's own time per call nearly
  doubles in some) that spans both cancels out. ``spread`` gives the quartiles of those per-round
  ratios; the benchmarks' quoted ranges are over repeated invocations.

``interleaved(..., clock="wall")`` keeps the old wall-clock measure for a benchmark that wants it.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

CLOCKS = {"process": time.process_time, "wall": time.perf_counter}


def warn() -> None:
    """Say on stderr when BLAS may run on more than one thread (CPU time would count its spin)."""
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        print("note: OPENBLAS_NUM_THREADS is not 1: process CPU time counts the spin of BLAS's "
              "extra threads; run with OPENBLAS_NUM_THREADS=1 (make bench sets it)",
              file=sys.stderr)  # fmt: skip


def timed(fn, *args, clock: str = "process") -> float:
    """Seconds of one call of ``fn(*args)`` on ``clock`` ("process" CPU time or "wall")."""
    now = CLOCKS[clock]
    start = now()
    fn(*args)
    return now() - start


class Timings(dict):
    """Seconds of each run, by implementation name, in the order the rounds ran."""

    def median(self, name: str) -> float:
        return statistics.median(self[name])

    def ratios(self, name: str, baseline: str) -> list[float]:
        """``name``'s time over ``baseline``'s, one per round (the two ran back to back)."""
        return [a / b for a, b in zip(self[name], self[baseline], strict=True)]

    def ratio(self, name: str, baseline: str) -> float:
        """Median over the rounds of ``name``'s time over ``baseline``'s in the same round."""
        return statistics.median(self.ratios(name, baseline))

    def spread(self, name: str, baseline: str) -> tuple[float, float]:
        """Lower and upper quartile of the per-round ratios (the median when one round)."""
        ratios = self.ratios(name, baseline)
        if len(ratios) < 2:
            return ratios[0], ratios[0]
        low, _, high = statistics.quantiles(ratios, n=4, method="inclusive")
        return low, high


def interleaved(
    runs: dict, repeats: int, pause: float = 0.15, clock: str = "process", calls: dict | None = None
) -> Timings:
    """Time each named ``(fn, args)`` once per round, in turn, for ``repeats`` rounds, with a
    ``pause`` (seconds of sleep, not counted) before each run; ``clock`` is "process" (CPU time
    of the process, the default) or "wall". ``calls[name]`` (default 1) calls ``fn`` that many
    times in a run, and the time recorded is per call."""
    times = Timings({name: [] for name in runs})
    calls = calls or {}
    for _ in range(repeats):
        for name, (fn, args) in runs.items():
            count = calls.get(name, 1)
            time.sleep(pause)
            times[name].append(timed(_repeat, fn, args, count, clock=clock) / count)
    return times


def _repeat(fn, args, count):
    for _ in range(count):
        fn(*args)


def calls_for(fn, args, seconds: float) -> int:
    """How many calls of ``fn(*args)`` take about ``seconds`` of CPU time (at least one): short
    calls are timed in runs of many, so that a run is long against the clock's resolution and
    the pauses' wake-up."""
    fn(*args)  # warm up
    count, spent = 1, timed(fn, *args)
    while spent < seconds / 10:
        count *= 10
        spent = timed(_repeat, fn, args, count)
    return max(1, round(count * seconds / max(spent, 1e-9)))
