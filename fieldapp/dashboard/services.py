"""The dashboard's aggregates: one pass over a form's submissions in batches decoded with
Polars (``dataset.bulk``), keeping only counts and summaries (no row, name or free text
leaves this module)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import polars as pl
from sqlalchemy import Select, String, Text, cast, select, type_coerce

from fieldapp.areas.models import Area
from fieldapp.dashboard.stats import NumericSummary, parse_number, time_series
from fieldapp.dashboard.tallies import ChoiceTally, answers, choice_lists, describe
from fieldapp.dataset import bulk
from fieldapp.dataset.wide import merge_questions
from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from fieldapp.surveys.models import Form

BATCH = 5000  # submissions decoded at a time (dataset.bulk)
SELECT_TYPES = ("select_one", "select_multiple")
NUMERIC_TYPES = ("integer", "decimal")


def _counts(series: pl.Series) -> dict:
    """Each distinct non-null value of ``series`` and how often it occurs, in order of
    first appearance."""
    series = series.drop_nulls()
    counted = series.to_frame("v").group_by("v", maintain_order=True).len()
    return dict(zip(counted["v"].to_list(), counted["len"].to_list(), strict=True))


def _child_codes(paths: pl.Series, under: str) -> pl.Series:
    """The child of the area at path ``under`` each area path lies under ("" for the
    area itself or outside it)."""
    below = paths.str.strip_prefix(under)
    child = below.str.split("/").list.first()
    return pl.select(
        pl.when(paths.str.starts_with(under)).then(child).otherwise(pl.lit(""))
    ).to_series()


def values_at(frame: pl.DataFrame, parts: list[str]) -> pl.Series:
    """The non-blank answers at ``parts`` in a ``bulk.decode`` frame, stripped, one per
    repeat instance (``tallies.answers`` for a whole batch)."""
    if parts[0] not in frame.columns:
        return pl.Series([], dtype=pl.String)
    series = frame[parts[0]]
    for part in [*parts[1:], None]:
        while isinstance(series.dtype, pl.List):
            series = series.explode()
        if part is not None:
            series = series.struct.field(part)
    series = series.drop_nulls().str.strip_chars()
    return series.filter(series != "")


def _tally(tally: ChoiceTally, values: pl.Series) -> None:
    """Add a batch of one select question's answers to its tally."""
    if tally.question.q["type"] == "select_multiple":
        codes = values.str.extract_all(r"\S+").list.unique(maintain_order=True).explode()
    else:
        codes = values
    tally.add_counts(_counts(codes), len(values))


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
    days: Counter[date] = Counter()
    children: Counter[str] = Counter()
    total = 0
    decode = bulk.decoder([t.question for t in selects] + [q for q, _ in numbers])
    ids = stmt.order_by(None).with_only_columns(Submission.id).correlate(None)
    rows = (
        select(type_coerce(Submission.received_at, String), cast(Submission.data, Text), Area.path)
        .join(Area, Submission.area_id == Area.id)
        .where(Submission.id.in_(ids))
        .order_by(Submission.id)
        .execution_options(stream_results=True)
    )
    result = db.session.connection().execute(rows)
    while batch := result.fetchmany(BATCH):
        total += len(batch)
        received, texts, paths = (list(col) for col in zip(*batch, strict=True))
        days.update(_counts(bulk.received_series(received, tz).dt.date()))
        children.update(_counts(_child_codes(pl.Series(paths, dtype=pl.String), area.path)))
        frame = decode(texts)
        if frame is not None:
            for tally in selects:
                _tally(tally, values_at(frame, tally.question.parts))
            for q, summary in numbers:
                numeric = values_at(frame, q.parts).cast(pl.Float64, strict=False)
                summary.add_counts(_counts(numeric.filter(numeric.is_finite())))
            continue
        for data in map(json.loads, texts):  # versions disagree on a path's shape
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
