"""Push subscriptions, reminder preferences and deliveries (issue 13).

A user may receive push reminders on several devices (``PushSubscription``, one per
browser's push endpoint). ``ReminderPreference`` holds which kinds they want and their
quiet hours (no row: the defaults). ``ReminderDelivery`` is one reminder of one kind for
one subscription on one day: its unique key is what keeps a reminder from being sent
twice, whichever host's sender gets there first (``fieldapp.reminders.claims``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.auth.models import utcnow
from fieldapp.extensions import db

# Kinds of push reminder (also the keys of the preferences' ``kinds``).
VISITS, REPORT, ASSIGNED, DIGEST = "visits", "report", "assigned", "digest"
KINDS = (VISITS, REPORT, ASSIGNED, DIGEST)
# ReminderDelivery.state
PENDING, SENT, FAILED, GONE = "pending", "sent", "failed", "gone"
DEFAULT_QUIET = ("21:00", "08:00")
MAX_ENDPOINT = 2048


class PushSubscription(db.Model):
    """One device's Web Push subscription (the browser's ``PushSubscription``): its push
    service ``endpoint`` (unique: a device belongs to whoever subscribed it last) and
    its keys (``p256dh``: the device's P-256 public key, ``auth``: its 16-byte secret,
    both base64url). ``failures`` counts sends that failed since the last success."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(MAX_ENDPOINT), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    device: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer, default=0)


class ReminderPreference(db.Model):
    """A user's choice of reminder kinds and quiet hours (``HH:MM`` in config
    ``TIMEZONE``; start == end: none). No row: every kind on, 21:00–08:00."""

    __tablename__ = "reminder_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    visits: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    report: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    assigned: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    digest: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    quiet_start: Mapped[str] = mapped_column(String(5), default=DEFAULT_QUIET[0])
    quiet_end: Mapped[str] = mapped_column(String(5), default=DEFAULT_QUIET[1])
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReminderDelivery(db.Model):
    """One reminder of ``kind`` for one subscription on ``day`` (config ``TIMEZONE``).

    Made by the sender that claims it (an INSERT into the unique key: a second sender's
    INSERT does nothing), with the ``payload`` it sends (counts and kinds only). States:
    ``pending`` (claimed, being sent; ``next_try_at`` is when another sender may take it
    over if this one died), ``sent``, ``failed`` (``next_try_at``: when to try again;
    None: given up) and ``gone`` (the push service said the subscription no longer
    exists: it was deleted, ``subscription_id`` is then None)."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "kind", "day", name="uq_reminder_deliveries_once"),
        Index("ix_reminder_deliveries_state_next", "state", "next_try_at"),
        Index("ix_reminder_deliveries_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("push_subscriptions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(8), default=PENDING)
    payload: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    next_try_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
