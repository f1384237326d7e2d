"""The audit log: who read or exported identifying data, signed in or changed what, when.

Append-only: the app has no way to change or delete an event, and the database refuses
UPDATE and DELETE on ``audit_events`` (triggers, migration 0008) except in a deliberate
purge (``fieldapp.audit.services.purge_audit_log_for_tests``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.auth.models import utcnow
from fieldapp.extensions import db


class AuditEvent(db.Model):
    """One event: ``action`` (e.g. ``export``, ``view_submission``, ``login``), the
    record it concerns (``object``, e.g. ``form:family_screening``), details."""

    __tablename__ = "audit_events"
    # The log page and its filters read newest first by id, one page at a time.
    __table_args__ = (
        Index("ix_audit_events_user_id_id", "user_id", "id"),
        Index("ix_audit_events_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(50))
    object: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
