"""Questionnaires: a form, its published versions, and their media attachments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.areas.models import Area
from fieldapp.auth.models import User, utcnow
from fieldapp.extensions import db

DRAFT, OPEN, CLOSED, ARCHIVED = "draft", "open", "closed", "archived"
FORM_STATES = (DRAFT, OPEN, CLOSED, ARCHIVED)


class Form(db.Model):
    """A questionnaire, known by its XForm id (``settings.form_id``).

    It is published to ``area``: users whose home area lies in that area's subtree fill
    it in; users above it see its data within their own scope.
    """

    __tablename__ = "forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    # draft (testable, not offered to the field), open, closed (no new filling; sends of
    # drafts already on phones are accepted), archived (hidden from lists, data kept).
    state: Mapped[str] = mapped_column(String(16), default=OPEN, server_default=OPEN, index=True)
    # The draft's test link/QR code names this (unguessable; None once published).
    draft_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    area: Mapped[Area] = relationship(lazy="joined")
    versions: Mapped[list[FormVersion]] = relationship(
        back_populates="form", order_by="FormVersion.id", cascade="all, delete-orphan"
    )

    @property
    def current(self) -> FormVersion:
        """The newest published version."""
        return self.versions[-1]


class FormVersion(db.Model):
    """One published version (``settings.version``) of a form; never changed once stored.

    ``xform`` is pyxform's XForm XML, the canonical form. ``schema`` is the question list
    extracted from it (see ``fieldapp.surveys.xform_schema``). ``md5`` is the OpenRosa
    form-list hash of ``xform``.
    """

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_pk", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_pk: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    xform: Mapped[str] = mapped_column(Text)
    md5: Mapped[str] = mapped_column(String(32))
    schema: Mapped[dict] = mapped_column(JSON)
    xlsform: Mapped[bytes] = mapped_column(LargeBinary)
    xlsform_filename: Mapped[str] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    form: Mapped[Form] = relationship(back_populates="versions")
    created_by: Mapped[User | None] = relationship()  # None: the command line
    media: Mapped[list[FormMedia]] = relationship(
        back_populates="form_version", order_by="FormMedia.filename", cascade="all, delete-orphan"
    )


class FormMedia(db.Model):
    """A media file (image, audio, CSV for ``select_one_from_file``) of a form version."""

    __tablename__ = "form_media"
    __table_args__ = (UniqueConstraint("form_version_id", "filename"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    md5: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    form_version: Mapped[FormVersion] = relationship(back_populates="media")
