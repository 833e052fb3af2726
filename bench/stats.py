"""Small statistics: percentiles of latencies, summaries across repetitions."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), nearest-rank on the sorted values; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass(frozen=True)
class Summary:
    """Median and range of one figure across repetitions."""

    median: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        if self.n == 1:
            return _fmt(self.median)
        return f"{_fmt(self.median)} [{_fmt(self.low)}-{_fmt(self.high)}]"


def summarize(values: Sequence[float]) -> Summary:
    """Median, min and max of ``values`` (which must not be empty)."""
    return Summary(statistics.median(values), min(values), max(values), len(values))


def _fmt(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def fmt(value: float) -> str:
    """Format a figure with about three significant digits."""
    return _fmt(value)
