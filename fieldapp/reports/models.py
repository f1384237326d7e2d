"""A periodic report a supervisor or admin defines (issue 11, "Reporting periods").

Each unit at ``level`` (village or town) below ``area`` must, every ``period``, either
send a submission of ``form`` or an explicit zero report (the bundled form
``zero_report``), by ``deadline_days`` days after the period ends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.areas.models import Area
from fieldapp.auth.models import User, utcnow
from fieldapp.extensions import db
from fieldapp.surveys.models import Form

WEEKLY, MONTHLY, QUARTERLY = "weekly", "monthly", "quarterly"
PERIODS = (WEEKLY, MONTHLY, QUARTERLY)


class ReportDefinition(db.Model):
    """A periodic report: ``form`` counts as reporting for the units at ``level`` below
    ``area``, each ``period`` (weekly: ISO weeks from Monday; monthly; quarterly), due
    ``deadline_days`` after the period's last day."""

    __tablename__ = "report_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    form_pk: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))  # village or town
    deadline_days: Mapped[int] = mapped_column(Integer, default=5)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    form: Mapped[Form] = relationship()
    area: Mapped[Area] = relationship()
    created_by: Mapped[User | None] = relationship()
