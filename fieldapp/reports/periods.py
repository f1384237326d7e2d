"""Reporting periods (issue 11): ISO weeks (Monday to Sunday), calendar months and
quarters; a period's deadline is its last day plus the report's ``deadline_days``.

Plain dates, no time zone: a submission counts for the period that holds its
``filled_on`` day (already a day in config ``TIMEZONE``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _

from fieldapp.i18n import N_
from fieldapp.reports.models import MONTHLY, PERIODS, QUARTERLY, WEEKLY

# Shown through gettext (``kind_label``).
KIND_LABELS = {WEEKLY: N_("每周"), MONTHLY: N_("每月"), QUARTERLY: N_("每季度")}


@dataclass(frozen=True)
class Period:
    """One reporting period: ``kind`` (weekly, monthly, quarterly) from ``start`` to
    ``end``, both days included."""

    kind: str
    start: date
    end: date

    @property
    def key(self) -> str:
        """A stable name for files and data: ``2026-W48``, ``2026-11``, ``2026-Q4``."""
        if self.kind == WEEKLY:
            year, week, _day = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == MONTHLY:
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    def deadline(self, days: int) -> date:
        """The last day a report for this period is on time: ``days`` after its end."""
        return self.end + timedelta(days=days)

    def next(self) -> Period:
        """The period right after this one."""
        return period_of(self.kind, self.end + timedelta(days=1))

    def previous(self) -> Period:
        """The period right before this one."""
        return period_of(self.kind, self.start - timedelta(days=1))


def kind_label(kind: str) -> str:
    """The period kind in the UI language (``monthly`` → 每月)."""
    return _(KIND_LABELS.get(kind, kind))


def period_label(period: Period) -> str:
    """The period's name in the UI language: 2026年第48周 (the ISO week's year),
    2026年11月, 2026年第4季度."""
    if period.kind == WEEKLY:
        year, week, _day = period.start.isocalendar()
        return _("%(year)s年第%(week)s周", year=year, week=week)
    if period.kind == MONTHLY:
        return _("%(year)s年%(month)s月", year=period.start.year, month=period.start.month)
    quarter = (period.start.month - 1) // 3 + 1
    return _("%(year)s年第%(quarter)s季度", year=period.start.year, quarter=quarter)


def _month_start(year: int, month: int) -> date:
    """The first day of ``month`` of ``year``; a month past 12 rolls into the next year."""
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def period_of(kind: str, day: date) -> Period:
    """The period of ``kind`` that holds ``day``. Raises ``ValueError`` for an unknown
    kind."""
    if kind == WEEKLY:
        start = day - timedelta(days=day.weekday())  # Monday
        return Period(kind, start, start + timedelta(days=6))
    if kind == MONTHLY:
        start = date(day.year, day.month, 1)
        return Period(kind, start, _month_start(day.year, day.month + 1) - timedelta(days=1))
    if kind == QUARTERLY:
        first = (day.month - 1) // 3 * 3 + 1
        start = date(day.year, first, 1)
        return Period(kind, start, _month_start(day.year, first + 3) - timedelta(days=1))
    raise ValueError(f"unknown period kind {kind!r}; one of {PERIODS}")


def periods_between(kind: str, first: date, last: date) -> list[Period]:
    """Every period of ``kind`` that holds a day from ``first`` to ``last`` (both
    included), oldest first: whole periods, so the first may start before ``first`` and
    the last end after ``last``. Raises ``ValueError`` when ``first`` is after ``last``
    or the kind is unknown."""
    if first > last:
        raise ValueError("first day after last day")
    out = [period_of(kind, first)]
    while out[-1].end < last:
        out.append(out[-1].next())
    return out
