"""Submissions: a filled-in questionnaire as sent by the phone, and its attachments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.areas.models import Area
from fieldapp.auth.models import User, utcnow
from fieldapp.extensions import db
from fieldapp.surveys.models import Form, FormVersion


class Submission(db.Model):
    """One submission, keyed by the phone-made ``instance_id`` (``uuid:…``).

    ``xml`` is the submitted XML verbatim; ``data`` its JSON projection (see
    ``fieldapp.submissions.parse``); ``xml_sha256`` decides whether a re-send is the same.
    ``area`` is the submitter's home area when it arrived: the scope it is seen in.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        Index(
            "ix_submissions_not_in_figures",
            "id",
            sqlite_where=text("NOT in_figures"),
            postgresql_where=text("NOT in_figures"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(100), unique=True)
    deprecated_id: Mapped[str | None] = mapped_column(String(100))
    form_pk: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"), index=True)
    # None for test data sent through a draft's test link (no user logged in).
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    xml: Mapped[str] = mapped_column(Text)
    xml_sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
    # Instances per repeat path, as ``parse.repeat_counts`` gives (exports read it).
    repeat_counts: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # The day it was filled in, in config TIMEZONE: its ``report_date`` answer when the
    # form has one (the zero report), else the day of ``start`` (the phone's clock), else
    # the day it was received. The reporting period it counts for (issue 11).
    filled_on: Mapped[date | None] = mapped_column(Date, index=True)
    # False once an edit (``meta/deprecatedID``) replaced it: kept as history, out of
    # tables, exports and the API.
    current: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(), index=True)
    # Sent to a draft form in test mode: kept apart from real data, discarded on publish.
    test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # False until the yearly figures' facts were brought up to date with it
    # (``fieldapp.figures.facts``); the partial index finds the few that are not.
    in_figures: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    form: Mapped[Form] = relationship()
    form_version: Mapped[FormVersion] = relationship()
    submitter: Mapped[User | None] = relationship()
    area: Mapped[Area] = relationship()
    attachments: Mapped[list[SubmissionAttachment]] = relationship(
        back_populates="submission",
        order_by="SubmissionAttachment.filename",
        cascade="all, delete-orphan",
    )


class SubmissionAttachment(db.Model):
    """A file sent with a submission (photo, audio); named as in the submission XML."""

    __tablename__ = "submission_attachments"
    __table_args__ = (UniqueConstraint("submission_id", "filename"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    submission: Mapped[Submission] = relationship(back_populates="attachments")
