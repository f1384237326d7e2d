"""Running tallies with bounded memory: numeric summaries and time buckets."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta

MAX_DISTINCT = 10_000  # distinct values kept per numeric question for the median
DAYS_PER_DAY_CHART = 62  # longer ranges are drawn per week
DAYS_PER_WEEK_CHART = 2 * 366  # longer still: per month
MAX_SPAN_DAYS = 20 * 366  # a wider range asked for is cut to the data's own range


def parse_number(value: str) -> float | None:
    """The finite number in an answer string, or ``None`` (blank or not a number)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _tidy(x: float | None) -> float | int | None:
    """Whole numbers as ``int`` (15, not 15.0), others to 12 significant digits (3.17, not
    3.1700000000000004: sums differ in the last bits with the order of adding) for JSON."""
    if x is None:
        return None
    x = float(f"{x:.12g}")
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


class NumericSummary:
    """n, mean, median, min and max of a stream of numbers.

    The median comes from a count of each distinct value. Past ``MAX_DISTINCT`` distinct
    values they are rounded to fewer significant digits, so memory stays bounded, and the
    median is then marked approximate.
    """

    def __init__(self) -> None:
        self.n = 0
        self.total = 0.0
        self.low: float | None = None
        self.high: float | None = None
        self.counts: Counter[float] = Counter()
        self.digits: int | None = None  # None: exact values kept

    def add(self, x: float) -> None:
        """Count one value."""
        self.add_counts({float(x): 1})

    def add_counts(self, counts: dict[float, int]) -> None:
        """Count each value ``x`` of ``counts`` ``counts[x]`` times (finite floats)."""
        if not counts:
            return
        self.n += sum(counts.values())
        self.total += sum(x * k for x, k in counts.items())
        if self.digits is None:
            self.counts.update(counts)
        else:
            for x, k in counts.items():
                self.counts[self._key(x)] += k
        low, high = min(counts), max(counts)
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
        while len(self.counts) > MAX_DISTINCT and self.digits != 1:
            self.digits = 6 if self.digits is None else self.digits - 1
            old, self.counts = self.counts, Counter()
            for value, k in old.items():
                self.counts[self._key(value)] += k

    def _key(self, x: float) -> float:
        return x if self.digits is None else float(f"{x:.{self.digits}g}")

    def median(self) -> float | None:
        """The median (the mean of the two middle values when n is even)."""
        if not self.n:
            return None
        lower, upper = (self.n - 1) // 2, self.n // 2  # 0-based ranks of the middle
        seen, low_value = 0, None
        for value in sorted(self.counts):
            seen += self.counts[value]
            if low_value is None and seen > lower:
                low_value = value
            if seen > upper:
                return (low_value + value) / 2
        return None  # unreachable: counts add up to n

    def result(self) -> dict:
        """The summary as JSON-able numbers (``None`` when nothing was counted)."""
        return {
            "n": self.n,
            "mean": _tidy(self.total / self.n if self.n else None),
            "median": _tidy(self.median()),
            "min": _tidy(self.low),
            "max": _tidy(self.high),
            "approximate": self.digits is not None,
        }


def _bucket(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())  # the Monday
    if unit == "month":
        return day.replace(day=1)
    return day


def _next(start: date, unit: str) -> date:
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def time_series(days: Counter[date], first: date | None, last: date | None) -> dict:
    """Counts per day, week (from Monday) or month between ``first`` and ``last``.

    Missing ends come from the data; empty buckets in between are shown as 0, so a gap in
    reporting is visible. The unit is the day unless the range is long.
    """
    first = first or (min(days) if days else None)
    last = last or (max(days) if days else None)
    if (first and last and (last - first).days > MAX_SPAN_DAYS) and days:
        first, last = max(first, min(days)), min(last, max(days))
    if first is None or last is None or first > last or (last - first).days > MAX_SPAN_DAYS:
        return {"unit": "day", "labels": [], "counts": []}
    span = (last - first).days + 1
    unit = (
        "day" if span <= DAYS_PER_DAY_CHART else "week" if span <= DAYS_PER_WEEK_CHART else "month"
    )
    buckets: Counter[date] = Counter()
    for day, k in days.items():
        if first <= day <= last:
            buckets[_bucket(day, unit)] += k
    labels, counts = [], []
    start = _bucket(first, unit)
    while start <= last:
        labels.append(start.isoformat()[:7] if unit == "month" else start.isoformat())
        counts.append(buckets[start])
        start = _next(start, unit)
    return {"unit": unit, "labels": labels, "counts": counts}
