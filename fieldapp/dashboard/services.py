"""The dashboard's aggregates: one pass over a form's submissions in batches, keeping only
counts and summaries (no row, name or free text leaves this module)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from fieldapp.areas.models import Area
from fieldapp.dashboard.stats import NumericSummary, parse_number, time_series
from fieldapp.dashboard.tallies import ChoiceTally, answers, choice_lists, describe
from fieldapp.exports.table import merge_questions
from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from fieldapp.surveys.models import Form

BATCH = 500
SELECT_TYPES = ("select_one", "select_multiple")
NUMERIC_TYPES = ("integer", "decimal")


def _local_day(received, zone: ZoneInfo) -> date:
    if received.tzinfo is None:  # SQLite gives back naive UTC
        received = received.replace(tzinfo=ZoneInfo("UTC"))
    return received.astimezone(zone).date()


def summarize(
    form: Form,
    stmt: Select,
    language: str | None,
    *,
    area: Area,
    tz: str = "Asia/Shanghai",
    first: date | None = None,
    last: date | None = None,
) -> dict:
    """Aggregate the submissions ``stmt`` (a ``select(Submission)``) selects.

    Returns the total, counts over time (days ``first``..``last``, else the data's range),
    counts by the child areas of ``area`` (a submission counts to the child it lies
    under, or to ``area`` itself), the choice counts of every select question and the
    numeric summary of every integer/decimal question not marked as identifying;
    questions in repeats count once per repeat instance. Labels are in ``language``.
    """
    # Questions a form marks as identifying (fieldapp::identifier) are left out: a min or
    # max would be one person's value.
    marked = {name for v in form.versions for name in v.schema.get("identifiers") or {}}
    questions = [
        q
        for q in merge_questions(v.schema for v in reversed(form.versions))
        if q.q["name"] not in marked
    ]
    lists = choice_lists(form)
    selects = [
        ChoiceTally(q, lists.get(q.name, [])) for q in questions if q.q["type"] in SELECT_TYPES
    ]
    numbers = [(q, NumericSummary()) for q in questions if q.q["type"] in NUMERIC_TYPES]
    zone = ZoneInfo(tz)
    days: Counter[date] = Counter()
    children: Counter[str] = Counter()
    total = 0
    ids = stmt.order_by(None).with_only_columns(Submission.id).correlate(None)
    rows = (
        select(Submission.received_at, Submission.data, Area.path)
        .join(Area, Submission.area_id == Area.id)
        .where(Submission.id.in_(ids))
        .order_by(Submission.id)
        .execution_options(yield_per=BATCH)
    )
    for received, data, path in db.session.execute(rows):
        total += 1
        days[_local_day(received, zone)] += 1
        children[path[len(area.path) :].split("/")[0] if path.startswith(area.path) else ""] += 1
        for tally in selects:
            for value in answers(data, tally.question.parts):
                tally.add(value)
        for q, summary in numbers:
            for value in answers(data, q.parts):
                number = parse_number(value)
                if number is not None:
                    summary.add(number)
    return {
        "form": {"form_id": form.form_id, "title": form.title},
        "language": language,
        "total": total,
        "over_time": time_series(days, first, last),
        "by_area": by_area(area, children),
        "selects": [t.result(language) for t in selects],
        "numbers": [{**describe(q, language), **s.result()} for q, s in numbers],
    }


def by_area(area: Area, counts: Counter[str]) -> dict:
    """Counts per child area of ``area`` (zeros included: silence shows), then ``area``
    itself when submissions were made at its own level."""
    kids = db.session.scalars(select(Area).where(Area.parent_id == area.id).order_by(Area.code))
    rows = [{"code": a.code, "name": a.name, "count": counts.pop(a.code, 0)} for a in kids]
    own = counts.pop("", 0)
    rows += [{"code": c, "name": c, "count": n} for c, n in sorted(counts.items())]
    if own or not rows:
        rows.append({"code": area.code, "name": area.name, "count": own, "own_level": True})
    return {"code": area.code, "name": area.name, "areas": rows}
