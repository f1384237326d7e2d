"""Claiming a reminder so that exactly one sender sends it, on any number of hosts
sharing the database. Never check-then-insert:

- a new reminder is claimed by INSERTing its row into the unique key (subscription,
  kind, day) with ON CONFLICT DO NOTHING: the sender whose INSERT made the row sends it;
  another sender (this run again, or another host's) inserts nothing and sends nothing;
- a failed one due for another try, or a pending one whose sender died (its lease,
  ``next_try_at``, ran out), is claimed by a conditional UPDATE that only one sender's
  statement can match (state, ``next_try_at`` passed, and the attempts it saw).

Each claim is its own short transaction, committed before anything is sent."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fieldapp.extensions import db
from fieldapp.reminders.models import FAILED, PENDING, ReminderDelivery

LEASE = timedelta(minutes=10)  # how long a claimed reminder is its sender's alone
MAX_ATTEMPTS = 8
BACKOFF = timedelta(minutes=5)  # first wait after a failure; doubled each time, at most 2 h
MAX_BACKOFF = timedelta(hours=2)
KEEP_DAYS = 30  # deliveries are kept this long (what was sent, what failed), then deleted


def _insert():
    name = db.session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql_insert(ReminderDelivery)
    if name == "sqlite":
        return sqlite_insert(ReminderDelivery)
    return insert(ReminderDelivery)  # pragma: no cover - other databases are not supported


def claim_new(
    subscription_id: int,
    user_id: int,
    kind: str,
    day: date,
    payload: str,
    urgency: str,
    now: datetime,
) -> int | None:
    """Claim the reminder (``subscription_id``, ``kind``, ``day``) and commit: its
    delivery id, or None when it already exists (sent, being sent or failed)."""
    stmt = (
        _insert()
        .values(
            subscription_id=subscription_id,
            user_id=user_id,
            kind=kind,
            day=day,
            state=PENDING,
            payload=payload,
            urgency=urgency,
            attempts=1,
            next_try_at=now + LEASE,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["subscription_id", "kind", "day"])
        .returning(ReminderDelivery.id)
    )
    found = db.session.execute(stmt).scalar()
    db.session.commit()
    return found


def due_again(day: date, now: datetime) -> list[tuple[int, int]]:
    """(delivery id, attempts) of ``day``'s reminders that may be tried again now: failed
    with ``next_try_at`` passed, or pending with their lease run out (a sender died);
    yesterday's are not worth sending any more."""
    stmt = select(ReminderDelivery.id, ReminderDelivery.attempts).where(
        ReminderDelivery.day == day,
        ReminderDelivery.state.in_((FAILED, PENDING)),
        ReminderDelivery.next_try_at <= now,
        ReminderDelivery.subscription_id.is_not(None),
        ReminderDelivery.attempts < MAX_ATTEMPTS,
    )
    return [tuple(row) for row in db.session.execute(stmt.order_by(ReminderDelivery.id))]


def claim_again(delivery_id: int, attempts: int, now: datetime) -> bool:
    """Claim delivery ``delivery_id`` for another try (conditional UPDATE) and commit:
    True when this sender got it."""
    stmt = (
        update(ReminderDelivery)
        .where(
            ReminderDelivery.id == delivery_id,
            ReminderDelivery.state.in_((FAILED, PENDING)),
            ReminderDelivery.attempts == attempts,
            ReminderDelivery.next_try_at <= now,
        )
        .values(state=PENDING, attempts=attempts + 1, next_try_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    won = db.session.execute(stmt).rowcount == 1
    db.session.commit()
    return won


def forget_old(day: date) -> None:
    """Delete the deliveries of days more than ``KEEP_DAYS`` before ``day`` and commit."""
    db.session.execute(
        delete(ReminderDelivery).where(ReminderDelivery.day < day - timedelta(days=KEEP_DAYS))
    )
    db.session.commit()


def backoff(attempts: int) -> timedelta:
    """How long to wait before try ``attempts + 1``: 5 min, 10, 20, … at most 2 h."""
    return min(BACKOFF * (2 ** max(0, attempts - 1)), MAX_BACKOFF)
