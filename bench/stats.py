"""Small statistics and the load average, for the table."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float]) -> str:
    """(max - min) / median of the measured repetitions, as a percentage."""
    if len(values) < 2:
        return "-"
    mid = median(values)
    return f"±{(max(values) - min(values)) / 2 / mid * 100:.0f}%" if mid else "-"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    """Mean microseconds per call over `calls` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def interleaved(a: Callable[[], float], b: Callable[[], float],
                reps: int) -> tuple[list[float], list[float]]:
    """A/B/A/B...: `a` is the baseline, `b` the figure; returns (baselines, figures)."""
    base, fig = [], []
    for _ in range(reps):
        base.append(a())
        fig.append(b())
    return base, fig


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
