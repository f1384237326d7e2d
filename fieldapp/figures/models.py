"""Figure definitions and targets (issue 11, "The yearly figures").

A ``FigureDefinition`` says what one figure counts, in data, not code: its ``key`` and
``label``, its ``source`` (a form id, ``households`` for the cases, or
``household_versions`` for their history), a ``condition`` on answers or properties, and
its ``aggregate`` (``count``, ``sum:<field>``, ``distinct_households``). Definitions are
shipped for the bundled questionnaires (``fieldapp/figures/defaults.toml``) and edited
by an admin. A ``FigureTarget`` is a district's yearly target for one figure (责任状)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
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
