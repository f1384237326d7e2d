"""Where every export reads its submissions from: plain rows in batches, one query, no ORM
objects; and the repeat widths they need."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from sqlalchemy import (
    Integer,
    Select,
    String,
    Text,
    case,
    cast,
    func,
    select,
    true,
    type_coerce,
)

from fieldapp.areas.models import Area
from fieldapp.auth.models import User
from fieldapp.cases.models import EntityOp
from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from fieldapp.submissions.parse import repeat_counts
from fieldapp.surveys.models import FormVersion


class SubmissionRow(NamedTuple):
    """What an export needs of one submission."""

    instance_id: str
    version: str
    username: str
    area_code: str
    area_name: str
    received_at: object  # datetime (UTC; naive on SQLite)
    data: dict
    household_id: str | None = None  # the entity its meta/entity names (entity_column)


def entity_column():
    """The id of the entity (household) a submission's ``meta/entity/@id`` names, as a
    column of a query of submissions: read from ``EntityOp`` (the XML's attributes are
    not in the stored answers), the submission's first op (its root entity block);
    ``None`` for a submission with no entity block, and always for test data (which
    never changes entities). A correlated subquery on an indexed column: no extra
    round trip per row or batch."""
    first = (
        select(EntityOp.entity_uuid)
        .where(EntityOp.submission_id == Submission.id)
        .order_by(EntityOp.id)
        .limit(1)
        .scalar_subquery()
    )
    return case((Submission.test.is_(True), None), else_=first)


def raw_batches(stmt: Select, size: int = 5000, entities: bool = False) -> Iterator[list]:
    """The submissions ``stmt`` selects, oldest first, in lists of up to ``size`` rows
    ``(instance_id, version, username, area_code, area_name, received_at, data_json)``:
    answers as their JSON text and ``received_at`` as the driver gives it (text on
    SQLite, an aware datetime on PostgreSQL), for ``dataset.bulk`` to decode in bulk.
    With ``entities`` (forms that create or update entities) each row ends with an
    eighth value, the household id (``entity_column``)."""
    ids = stmt.with_only_columns(Submission.id).order_by(None)
    columns = [
        Submission.instance_id,
        FormVersion.version,
        User.username,
        Area.code,
        Area.name,
        type_coerce(Submission.received_at, String),
        cast(Submission.data, Text),
    ]
    if entities:
        columns.append(entity_column())
    query = (
        select(*columns)
        .join(FormVersion, FormVersion.id == Submission.form_version_id)
        .join(User, User.id == Submission.submitter_id)
        .join(Area, Area.id == Submission.area_id)
        .where(Submission.id.in_(ids))
        .order_by(Submission.id)
    )
    # Core rows (no ORM loading), fetched as the export goes.
    result = db.session.connection().execute(query.execution_options(stream_results=True))
    while batch := result.fetchmany(size):
        yield batch


def largest_repeat_counts(stmt: Select) -> dict[str, int]:
    """Largest instance count of each repeat path over the submissions ``stmt`` selects,
    from their stored ``repeat_counts`` (one aggregate query; no answers read)."""
    inner = stmt.with_only_columns(Submission.repeat_counts.label("rc")).order_by(None).subquery()
    each_fn = func.json_each_text if db.engine.dialect.name == "postgresql" else func.json_each
    each = each_fn(inner.c.rc).table_valued("key", "value")
    query = (
        select(each.c.key, func.max(cast(each.c.value, Integer)))
        .select_from(inner)
        .join(each, true())
        .group_by(each.c.key)
    )
    counts = {key: int(n or 0) for key, n in db.session.execute(query)}
    # A submission stored without counts (written around receive_submission) is counted
    # from its answers, so that no repeat instance ever falls outside the columns.
    unset = stmt.with_only_columns(Submission.data).where(Submission.repeat_counts.is_(None))
    for data in db.session.scalars(unset.order_by(None)):
        for key, n in repeat_counts(data or {}).items():
            counts[key] = max(counts.get(key, 0), n)
    return counts
