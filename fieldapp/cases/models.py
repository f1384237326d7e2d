"""Entities (cases) and their history, as ODK Central keeps them.

A ``Dataset`` (Central's "entity list", e.g. ``households``) holds ``Entity`` rows. Each
change is an ``EntityVersion`` (Central's entity def): made by a submission (create,
update) or by a supervisor (assign, close, reopen, resolve, edit); nothing is ever
overwritten, the entity row is the newest state. ``EntityOp`` records what became of
each submission's entity block (applied, held until an earlier update arrives, refused,
skipped): the processing log and the backlog of ODK's offline entities.

The household columns of ``Entity`` (``risk``, ``status``, ``next_visit_due``,
``last_visit_date``) are derived from its properties by ``fieldapp.cases.households`` so
that lists and figures query indexed columns, not JSON.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.areas.models import Area
from fieldapp.auth.models import User, utcnow
from fieldapp.extensions import db

# EntityOp.state
APPLIED, HELD, REFUSED, SKIPPED = "applied", "held", "refused", "skipped"
# Entity.conflict (ODK Central): "soft" = parallel updates of different properties,
# "hard" = the same property changed by two updates made from the same base version.
SOFT, HARD = "soft", "hard"


class Dataset(db.Model):
    """An entity list (ODK Central's dataset), known by its ``name`` (``households``):
    made when the first form that creates or updates it is published."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Property names in the order forms first declared them (``save_to``).
    properties: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Entity(db.Model):
    """One entity (a household): its newest state. ``uuid`` is the id the phone made
    (``meta/entity/@id``); ``version`` counts its versions from 1 (Central's
    ``__version``); ``data`` maps property names to string values."""

    __tablename__ = "entities"
    __table_args__ = (
        Index("ix_entities_assignee_due", "assigned_to_id", "next_visit_due"),
        Index("ix_entities_dataset_area", "dataset_id", "area_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(64), unique=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    label: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # The scope it is seen in: the area of the submission that created it.
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    # The named person who follows it (包户到人); None until a supervisor assigns one
    # when a viewer registered it.
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    conflict: Mapped[str | None] = mapped_column(String(8), index=True)
    # Id of the newest EntityVersion: a list's ETag changes whenever one of its rows does.
    stamp: Mapped[int] = mapped_column(Integer, default=0)
    # Household columns, derived from ``data`` (fieldapp.cases.households.derive).
    risk: Mapped[str | None] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    next_visit_due: Mapped[date | None] = mapped_column(Date, index=True)
    last_visit_date: Mapped[date | None] = mapped_column(Date)
    closed_reason: Mapped[str | None] = mapped_column(Text)

    dataset: Mapped[Dataset] = relationship(lazy="joined")
    area: Mapped[Area] = relationship()
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class EntityVersion(db.Model):
    """One version of an entity (ODK Central's entity def), never changed once stored.

    ``data`` is every property after this version; ``received`` the properties this
    version set (Central's ``dataReceived``). A submission's version keeps the offline
    entities attributes it came with (``base_version``, ``trunk_version``,
    ``branch_id``); ``conflict`` and ``conflicting`` say whether it was made from an
    older version than the one it landed on, and which properties both changed."""

    __tablename__ = "entity_versions"
    __table_args__ = (
        UniqueConstraint("entity_id", "version"),
        Index(
            "ix_entity_versions_not_in_figures",
            "id",
            sqlite_where=text("NOT in_figures"),
            postgresql_where=text("NOT in_figures"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # create, update (submissions); assign, close, reopen, resolve, edit (supervisors)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    received: Mapped[dict] = mapped_column(JSON, default=dict)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    base_version: Mapped[int | None] = mapped_column(Integer)
    trunk_version: Mapped[int | None] = mapped_column(Integer)
    branch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # The base version as the branch's phone numbered it (offline entities).
    branch_base_version: Mapped[int | None] = mapped_column(Integer)
    conflict: Mapped[str | None] = mapped_column(String(8))
    conflicting: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # False until the yearly figures' facts were brought up to date with it.
    in_figures: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    entity: Mapped[Entity] = relationship()
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    submission = relationship("Submission")


class EntityOp(db.Model):
    """What became of one submission's entity block: ``applied`` (made ``version_id``),
    ``held`` (an offline update waiting for the create or the branch's earlier update:
    Central's backlog), ``refused`` or ``skipped`` (with ``message``). The submission
    itself is always kept."""

    __tablename__ = "entity_ops"
    __table_args__ = (UniqueConstraint("submission_id", "entity_uuid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    dataset: Mapped[str] = mapped_column(String(100))
    entity_uuid: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(8))  # create, update
    state: Mapped[str] = mapped_column(String(12), index=True)
    message: Mapped[str | None] = mapped_column(Text)
    base_version: Mapped[int | None] = mapped_column(Integer)
    trunk_version: Mapped[int | None] = mapped_column(Integer)
    branch_id: Mapped[str | None] = mapped_column(String(64))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("entity_versions.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    submission = relationship("Submission")
