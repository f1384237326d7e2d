"""Figure definitions and targets (issue 11, "The yearly figures").

A ``FigureDefinition`` says what one figure counts, in data, not code: its ``key`` and
``label``, its ``source`` (a form id, ``households`` for the cases, or
``household_versions`` for their history), a ``condition`` on answers or properties, and
its ``aggregate`` (``count``, ``sum:<field>``, ``distinct_households``). Definitions are
shipped for the bundled questionnaires (``fieldapp/figures/defaults.toml``) and edited
by an admin. A ``FigureTarget`` is a district's yearly target for one figure (责任状)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.areas.models import Area
from fieldapp.auth.models import utcnow
from fieldapp.extensions import db


class FigureDefinition(db.Model):
    """One figure the federation reports; ``position`` orders them, ``group`` heads a
    section of the figures page (e.g. 排查, 走访调解, 转介, 宣传)."""

    __tablename__ = "figure_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(String(100))
    condition: Mapped[str] = mapped_column(Text, default="")
    aggregate: Mapped[str] = mapped_column(String(100), default="count")
    # The date a row counts on: a question (path) of the source form, or "" for when
    # the submission was filled in (households: when registered; versions: when made).
    date_field: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FigureTarget(db.Model):
    """A yearly target for figure ``figure_key`` in ``area`` (a district, 责任状)."""

    __tablename__ = "figure_targets"
    __table_args__ = (UniqueConstraint("year", "area_id", "figure_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    figure_key: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    area: Mapped[Area] = relationship()


class FigureFact(db.Model):
    """What one source row adds to one figure (``fieldapp.figures.facts``): ``amount``
    (1 for counts, the answer summed for sums) on ``day`` (a local date) in ``area_id``
    (where the submission was made; a household's own area for households, their
    versions and distinct households). ``submission_id`` (forms), ``version_id``
    (household versions) and ``entity_id`` (the household) say where it came from, so
    that a changed row's facts can be replaced."""

    __tablename__ = "figure_facts"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("figure_definitions.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    area_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[float] = mapped_column(Float)
    entity_id: Mapped[int | None] = mapped_column(Integer, index=True)
    submission_id: Mapped[int | None] = mapped_column(Integer, index=True)
    version_id: Mapped[int | None] = mapped_column(Integer, index=True)


class FigureFactBuild(db.Model):
    """A definition whose facts are built, and the ``revision`` (a digest of what they
    depend on: its source, condition, aggregate, date field, the source form's versions,
    the time zone) they were built for; a different revision rebuilds them."""

    __tablename__ = "figure_fact_builds"

    definition_id: Mapped[int] = mapped_column(
        ForeignKey("figure_definitions.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[str] = mapped_column(String(64))


class FigureFactPending(db.Model):
    """A submission whose household facts wait on a held entity update (its facts are
    built again once nothing of it is held)."""

    __tablename__ = "figure_fact_pending"

    submission_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class FigureFactState(db.Model):
    """One row (``id`` 1) that every bringing-up-to-date locks first, so that two never
    run at once; ``runs`` counts them, ``updated_at`` the last."""

    __tablename__ = "figure_fact_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FigureTally(db.Model):
    """The facts of a count or sum figure added up per area and month (``month``: its
    first day): what the figures page reads, so that its cost does not grow with the
    number of submissions. Kept with the facts (``fieldapp.figures.facts``); ``facts``
    is how many facts it adds up (the row goes when none is left)."""

    __tablename__ = "figure_tallies"

    definition_id: Mapped[int] = mapped_column(
        ForeignKey("figure_definitions.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    area_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[float] = mapped_column(Float)
    facts: Mapped[int] = mapped_column(Integer)


class FigureHousehold(db.Model):
    """A household that counts for a ``distinct_households`` figure in a half-year
    (``half``: year × 2, + 1 for July–December), in its area; ``facts`` is how many
    facts put it there (the row goes when none is left)."""

    __tablename__ = "figure_households"
    __table_args__ = (
        Index("ix_figure_households_read", "definition_id", "half", "area_id", "entity_id"),
    )

    definition_id: Mapped[int] = mapped_column(
        ForeignKey("figure_definitions.id", ondelete="CASCADE"), primary_key=True
    )
    entity_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    half: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(Integer)
    facts: Mapped[int] = mapped_column(Integer)
