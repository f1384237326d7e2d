"""What the phone app learns about the reports its user's unit files (``/api/v1/me``,
``reports``): each active report covering them with its current and previous period,
their deadlines, the unit's status in each, and the day a zero report for each should
carry (``report_date``), so the phone can offer "本期无新增（零报告）" offline."""

from __future__ import annotations

from datetime import date

from fieldapp import scope
from fieldapp.reports.completeness import FILED, compute
from fieldapp.reports.periods import Period, period_label, period_of
from fieldapp.reports.services import ZERO_FORM_ID, unit_of


def _period(p: Period, deadline: date, cell, report_date: date) -> dict:
    return {
        "key": p.key,
        "label": period_label(p),
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "deadline": deadline.isoformat(),
        "report_date": report_date.isoformat(),
        "status": cell.status,
        "late": cell.late if cell.status in FILED else None,
    }


def reports_for(person: scope.Person, day: date) -> list[dict]:
    """The reports ``person``'s unit files (``scope.reports_to_file``), as of ``day``
    (today): id, name, form_id, period, level, deadline_days, unit {code, name},
    zero_form_id (``zero_report`` when they may fill it in, else null), and ``current``
    and ``previous`` periods, each {key, label, start, end, deadline, report_date (the
    day a zero report for it should name: today for the current period, the last day
    for the previous one), status (reported, zero, corrected, missing, pending), late}.
    Three statements per report."""
    out = []
    zero_form = ZERO_FORM_ID if scope.form_in_scope(person, ZERO_FORM_ID, fill=True) else None
    for definition in scope.reports_to_file(person):
        unit = unit_of(person, definition)
        if unit is None:
            continue
        current = period_of(definition.period, day)
        previous = current.previous()
        result = compute(person, definition, unit, previous.start, day, day, chase=False)
        cells = result.total.cells or []
        if len(cells) != 2:  # an inactive unit expects nothing
            continue
        out.append(
            {
                "id": definition.id,
                "name": definition.name,
                "form_id": definition.form.form_id,
                "period": definition.period,
                "level": definition.level,
                "deadline_days": definition.deadline_days,
                "unit": {"code": unit.code, "name": unit.name},
                "zero_form_id": zero_form,
                "current": _period(current, result.deadlines[1], cells[1], day),
                "previous": _period(previous, result.deadlines[0], cells[0], previous.end),
            }
        )
    return out
