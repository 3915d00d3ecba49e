"""Timing helpers: medians of repeated runs, and one line per comparison."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timing:
    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def measure(fn: Callable[[], object], *, repeat: int = 5, warmup: int = 1,
            setup: Callable[[], object] | None = None) -> Timing:
    """Run ``fn`` ``warmup + repeat`` times (``setup`` before each, untimed); keep the timed runs."""
    samples = []
    for i in range(warmup + repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        if i >= warmup:
            samples.append(elapsed)
    return Timing(tuple(samples))


def measure_interleaved(fns: dict[str, Callable[[], object]], *, repeat: int = 5,
                        warmup: int = 1) -> dict[str, Timing]:
    """Run each of ``fns`` in turn, ``warmup + repeat`` rounds, so all see the same state of the
    machine (and of anything the runs accumulate); keep the timed rounds, per name."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(warmup + repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            if i >= warmup:
                samples[name].append(elapsed)
    return {name: Timing(tuple(times)) for name, times in samples.items()}


def report(name: str, subject: Timing, baseline: Timing, *, target: float | None = None,
           baseline_name: str = "baseline") -> float:
    """Print one comparison line and return the ratio of medians."""
    ratio = subject.median / baseline.median
    verdict = "" if target is None else ("  (target <= %.2fx: %s)" % (target, "met" if ratio <= target else "MISSED"))
    print(f"{name}: {subject.median * 1000:.1f} ms vs {baseline_name} {baseline.median * 1000:.1f} ms "
          f"(medians of {len(subject.samples)}) -> ratio {ratio:.2f}x{verdict}", flush=True)
    return ratio
