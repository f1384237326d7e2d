"""Where a figure's rows come from, and how a name reads from them (SQL expressions).

Three kinds of source (``FigureDefinition.source``):

- a form id (``mediation_visit``): its current, non-test submissions, each counted in
  the area it was made in (the submitter's home area). A name is a question name: the
  last segment of its path in any version of the form (groups are walked; a question
  inside a repeat gives one value per instance). The day a row counts on is the answer
  to ``date_field`` when given, else the day it was filled in (``Submission.filled_on``).
  For ``distinct_households`` the rows are the households the submissions name (their
  ``EntityOp``: the entity block's id; refused blocks left out), each in *its* area.
- ``households``: the households (entities of the dataset ``households``) by the day
  they were registered (``created_at`` in config ``TIMEZONE``), or by the property
  ``date_field`` names; names are their properties, ``risk_level`` and ``case_status``
  read from the indexed columns.
- ``household_versions``: the versions made in the period (``created_at``, or the
  property ``date_field``), each in its household's area; names are the properties the
  version set (``received``: ``case_status = 'paired'`` is "a change put it in paired
  assistance") and ``kind`` (create, update, assign, close, reopen, resolve).

Nothing here decides who sees what: the figures read their facts through ``scope.within``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, Select, String, case, cast, func, literal, select

from fieldapp.cases.models import REFUSED, Dataset, Entity, EntityOp, EntityVersion
from fieldapp.dashboard.tallies import answers
from fieldapp.submissions.models import Submission
from fieldapp.surveys.models import Form

HOUSEHOLDS, HOUSEHOLD_VERSIONS = "households", "household_versions"
DATASET = "households"
# Household columns a condition may name besides the properties (indexed, not JSON).
HOUSEHOLD_COLUMNS = {"risk_level": Entity.risk, "case_status": Entity.status}
VERSION_COLUMNS = {"kind": EntityVersion.kind}
DATE_TYPES = {"date", "dateTime"}


@dataclass
class Column:
    """One SQL column read for a name: ``expr`` (text), and for a question inside a
    repeat the parts to walk below the repeat whose JSON ``expr`` gives."""

    expr: ColumnElement
    inner: list[str] | None = None

    def values(self, raw) -> list[str]:
        """The non-blank answers ``raw`` (what the database gave) holds."""
        if raw is None:
            return []
        if self.inner is None:
            text = str(raw).strip()
            return [text] if text else []
        try:
            node = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return []
        return list(answers(node, self.inner))


@dataclass
class Periods:
    """The two years a computation reads, as half-years: 0 = Jan–Jun of ``year`` - 1,
    1 = Jul–Dec of it, 2 = Jan–Jun of ``year`` (the mid-year check), 3 = Jul–Dec."""

    year: int

    def days(self) -> list[date]:
        """Start of each half-year, then the day after the last one."""
        y = self.year
        return [
            date(y - 1, 1, 1),
            date(y - 1, 7, 1),
            date(y, 1, 1),
            date(y, 7, 1),
            date(y + 1, 1, 1),
        ]


def in_range(day: ColumnElement, bounds: list[date]) -> list[ColumnElement[bool]]:
    """The clauses "``day`` (a date column) falls in the two years of ``bounds``
    (``Periods.days``)"."""
    return [day >= literal(bounds[0], day.type), day < literal(bounds[4], day.type)]


def bucket(day: ColumnElement, bounds: list[date]) -> ColumnElement:
    """The half-year (``Periods``) ``day`` falls in, 0–3."""
    return case(
        (day >= literal(bounds[3], day.type), 3),
        (day >= literal(bounds[2], day.type), 2),
        (day >= literal(bounds[1], day.type), 1),
        else_=0,
    )


@dataclass
class Source:
    """A figure source, ready to be read: ``base(columns)`` (a select of ``columns`` over
    its rows: every area, every day), its ``area`` and ``entity`` columns, the ``day`` of a
    row and how to read a name (``columns``); ``known`` lists the names it has (None:
    any)."""

    key: str
    base: Callable[[list], Select]
    area: ColumnElement
    entity: ColumnElement | None
    # (expression, kind: date, text (an ISO answer) or utc (a time stamp)), None when
    # the date field cannot place a row (missing, or inside a repeat)
    day: Callable[[str], tuple[ColumnElement, str] | None]
    columns: Callable[[str], list[Column]]
    known: set[str] | None = None
    missing: str | None = None  # why it has no rows (a form not published)
    versions: list[dict] = field(default_factory=list)


# -- forms -------------------------------------------------------------------------


def form_schemas(form_ids: set[str]) -> dict[str, tuple[int, list[dict]]]:
    """Each of ``form_ids`` that is published: (form pk, its versions' schemas), in one
    query."""
    from fieldapp.extensions import db
    from fieldapp.surveys.models import FormVersion

    out: dict[str, tuple[int, list[dict]]] = {}
    if not form_ids:
        return out
    rows = db.session.execute(
        select(Form.form_id, Form.id, FormVersion.schema)
        .join(FormVersion, FormVersion.form_pk == Form.id)
        .where(Form.form_id.in_(form_ids))
        .order_by(FormVersion.id)
    )
    for form_id, pk, schema in rows:
        out.setdefault(form_id, (pk, []))[1].append(schema)
    return out


def question_paths(
    schemas: list[dict], name: str
) -> list[tuple[list[str], list[str] | None, dict]]:
    """Where question ``name`` sits in the versions ``schemas``: (parts to read, parts
    below the outermost repeat or None, the question), each distinct path once."""
    seen, out = set(), []
    for schema in reversed(schemas):
        root = "/" + schema["root"]
        repeats = set(schema.get("repeats") or [])
        for q in schema["questions"]:
            if q.get("name") != name or q["type"] in ("group", "repeat", "note"):
                continue
            if q["path"] in seen or not q["path"].startswith(root + "/"):
                continue
            seen.add(q["path"])
            parts = q["path"][len(root) + 1 :].split("/")
            cut = next(
                (
                    i + 1
                    for i in range(len(parts) - 1)
                    if f"{root}/{'/'.join(parts[: i + 1])}" in repeats
                ),
                None,
            )
            out.append((parts[:cut], parts[cut:], q) if cut else (parts, None, q))
    return out


def form_names(schemas: list[dict]) -> set[str]:
    """Every question name of the versions ``schemas``."""
    return {
        q["name"]
        for s in schemas
        for q in s["questions"]
        if q["type"] not in ("group", "repeat", "note")
    }


def _text(column, parts: list[str]) -> ColumnElement:
    return cast(column[tuple(parts)].as_string(), String)


def form_source(form_id: str, found: tuple[int, list[dict]] | None, distinct: bool) -> Source:
    """The source for form ``form_id`` (``found``: ``form_schemas``' entry, None when the
    form is not published); ``distinct``: rows are households (``EntityOp``)."""
    pk, schemas = found if found else (None, [])

    def columns(name: str) -> list[Column]:
        return [
            Column(_text(Submission.data, parts), inner)
            for parts, inner, _q in question_paths(schemas, name)
        ]

    def day(date_field: str):
        if not date_field:
            return Submission.filled_on, "date"
        paths = [p for p, inner, _q in question_paths(schemas, date_field) if inner is None]
        if not paths:
            return None
        texts = [_text(Submission.data, p) for p in paths]
        return (texts[0] if len(texts) == 1 else func.coalesce(*texts)), "text"

    area = Entity.area_id if distinct else Submission.area_id

    def base(cols) -> Select:
        # "IS NOT": the planner reads the form's rows by ``form_pk`` (the flags hold for
        # nearly every row; SQLite would otherwise scan every current submission).
        stmt = select(*cols).where(
            Submission.form_pk == pk,
            Submission.current.is_not(False),
            Submission.test.is_not(True),
        )
        if distinct:
            stmt = (
                stmt.select_from(Submission)
                .join(EntityOp, EntityOp.submission_id == Submission.id)
                .join(Entity, Entity.uuid == EntityOp.entity_uuid)
                .where(EntityOp.dataset == DATASET, EntityOp.state != REFUSED)
            )
        return stmt

    return Source(
        key=form_id,
        base=base,
        area=area,
        entity=Entity.id if distinct else None,
        day=day,
        columns=columns,
        known=form_names(schemas) if found else None,
        missing=None if found else form_id,
        versions=schemas,
    )


# -- households --------------------------------------------------------------------


def _households_dataset() -> ColumnElement[bool]:
    return Entity.dataset_id.in_(select(Dataset.id).where(Dataset.name == DATASET))


def dataset_properties() -> list[str] | None:
    """The properties of the dataset ``households`` (None before any form made it)."""
    from fieldapp.extensions import db

    return db.session.scalar(select(Dataset.properties).where(Dataset.name == DATASET))


def households_source(properties: list[str] | None) -> Source:
    """The households themselves: one row each, in their area."""

    def columns(name: str) -> list[Column]:
        if name in HOUSEHOLD_COLUMNS:
            return [Column(cast(HOUSEHOLD_COLUMNS[name], String))]
        return [Column(_text(Entity.data, [name]))]

    def day(date_field: str):
        if not date_field:
            return Entity.created_at, "utc"
        return _text(Entity.data, [date_field]), "text"

    def base(cols) -> Select:
        return select(*cols).where(_households_dataset())

    known = None if properties is None else set(properties) | set(HOUSEHOLD_COLUMNS)
    return Source(HOUSEHOLDS, base, Entity.area_id, Entity.id, day, columns, known)


def versions_source(properties: list[str] | None) -> Source:
    """The households' versions (their history), each in its household's area."""

    def columns(name: str) -> list[Column]:
        if name in VERSION_COLUMNS:
            return [Column(cast(VERSION_COLUMNS[name], String))]
        return [Column(_text(EntityVersion.received, [name]))]

    def day(date_field: str):
        if not date_field:
            return EntityVersion.created_at, "utc"
        return _text(EntityVersion.received, [date_field]), "text"

    def base(cols) -> Select:
        return (
            select(*cols)
            .select_from(EntityVersion)
            .join(Entity, Entity.id == EntityVersion.entity_id)
            .where(_households_dataset())
        )

    known = None if properties is None else set(properties) | set(HOUSEHOLD_COLUMNS)
    if known is not None:
        known |= set(VERSION_COLUMNS)
    return Source(HOUSEHOLD_VERSIONS, base, Entity.area_id, Entity.id, day, columns, known)
