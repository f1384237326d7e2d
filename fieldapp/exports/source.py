"""Where every export reads its submissions from: plain rows, one query, no ORM objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from sqlalchemy import Select, select

from fieldapp.areas.models import Area
from fieldapp.auth.models import User
from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
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


def flat_rows(stmt: Select, size: int = 1000) -> Iterator[SubmissionRow]:
    """The submissions ``stmt`` selects (scope and filters already applied), oldest
    first, streamed ``size`` at a time."""
    ids = stmt.with_only_columns(Submission.id).order_by(None)
    query = (
        select(
            Submission.instance_id,
            FormVersion.version,
            User.username,
            Area.code,
            Area.name,
            Submission.received_at,
            Submission.data,
        )
        .join(FormVersion, FormVersion.id == Submission.form_version_id)
        .join(User, User.id == Submission.submitter_id)
        .join(Area, Area.id == Submission.area_id)
        .where(Submission.id.in_(ids))
        .order_by(Submission.id)
        .execution_options(yield_per=size)
    )
    for row in db.session.execute(query):
        yield SubmissionRow(*row)


def answers_only(stmt: Select, size: int = 1000) -> Iterator[dict]:
    """Just the answers of the submissions ``stmt`` selects (for a layout pass)."""
    yield from db.session.scalars(
        stmt.with_only_columns(Submission.data).execution_options(yield_per=size)
    )
