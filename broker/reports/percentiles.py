"""Median and 90th percentile of durations: pure, so SQLite and PostgreSQL give one answer.

Linear interpolation between the closest ranks, as PostgreSQL's ``percentile_cont`` and
Python's ``statistics.quantiles(method="inclusive")`` compute it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta


def percentile(durations: Iterable[timedelta], fraction: float) -> timedelta | None:
    """The ``fraction`` (0 to 1) percentile of the durations; None when there are none."""
    if not 0 <= fraction <= 1:
        raise ValueError("a percentile is a fraction between 0 and 1")
    ordered = sorted(durations)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    below = int(position)
    if below + 1 >= len(ordered):
        return ordered[-1]
    return ordered[below] + (ordered[below + 1] - ordered[below]) * (position - below)


@dataclass(frozen=True)
class Spread:
    """How long something took across a group: its median and 90th percentile."""

    count: int
    median: timedelta | None
    p90: timedelta | None


def spread(durations: Iterable[timedelta]) -> Spread:
    values = list(durations)
    return Spread(len(values), percentile(values, 0.5), percentile(values, 0.9))
