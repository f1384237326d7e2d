"""Reading the audit log: filters (user, action, days), pages newest first, rows with
their times in the configured time zone. The events a person may read at all come from
``fieldapp.scope.audit_events_in_scope``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from fieldapp.audit.models import AuditEvent
from fieldapp.auth.models import User
from fieldapp.extensions import db
from fieldapp.scope import Person, area_in_scope

PAGE_SIZE = 50


class AuditFilterError(ValueError):
    """A filter value the person can correct (a bad date, a user out of reach…)."""


@dataclass(frozen=True)
class AuditFilter:
    """Which events to show: one user (username), one action, local days (both ends
    included, in the configured time zone)."""

    username: str | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args) -> AuditFilter:
        """Read ``user``, ``action``, ``from``, ``to`` (YYYY-MM-DD) from a mapping such as
        ``request.args``; raise ``AuditFilterError`` for a malformed date or ``from``
        after ``to``."""

        def day(key: str) -> date | None:
            value = (args.get(key) or "").strip()
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise AuditFilterError(
                    gettext("日期 %(value)s 无效，请填写如 2026-01-31 的日期", value=value[:40])
                ) from None

        def text(key: str) -> str | None:
            return (args.get(key) or "").strip() or None

        first, last = day("from"), day("to")
        if first and last and first > last:
            raise AuditFilterError(gettext("开始日期晚于结束日期"))
        return cls(text("user"), text("action"), first, last)

    def as_args(self) -> dict[str, str]:
        """The filter as query arguments (for links and the export that keep it)."""
        out = {"user": self.username, "action": self.action}
        out |= {"from": self.date_from, "to": self.date_to}
        return {k: str(v) for k, v in out.items() if v}

    def apply(self, stmt: Select, person: Person, tz: str) -> Select:
        """Narrow ``stmt`` (``scope.audit_events_in_scope(person)``) by the filter.

        A username that is no user in ``person``'s subtree raises ``AuditFilterError``
        (one message for both: it would silently show nothing otherwise)."""
        zone = ZoneInfo(tz)
        if self.username:
            user = db.session.scalar(select(User).where(User.username == self.username))
            if user is None or not area_in_scope(person, user.area):
                raise AuditFilterError(
                    gettext("您的范围内没有用户 %(name)s", name=self.username[:64])
                )
            stmt = stmt.where(AuditEvent.user_id == user.id)
        if self.action:
            stmt = stmt.where(AuditEvent.action == self.action)
        # UTC bounds: SQLite keeps times as zone-less UTC text and drops a bound's zone.
        if self.date_from:
            start = datetime.combine(self.date_from, time.min, zone).astimezone(UTC)
            stmt = stmt.where(AuditEvent.at >= start)
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time.min, zone)
            stmt = stmt.where(AuditEvent.at < end.astimezone(UTC))
        return stmt


@dataclass(frozen=True)
class EventRow:
    """One event as shown: ``at`` in the configured zone; who by username and name
    (``None`` for events with no user)."""

    id: int
    at: datetime
    username: str | None
    display_name: str | None
    action: str
    object: str
    detail: dict
    remote_addr: str | None

    @property
    def detail_text(self) -> str:
        """The details as ``key=value`` pairs, ``; ``-separated (values other than text
        as JSON)."""

        def shown(value) -> str:
            if isinstance(value, str):
                return value
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

        return "; ".join(f"{k}={shown(v)}" for k, v in (self.detail or {}).items())


def rows(stmt: Select, tz: str) -> Iterator[EventRow]:
    """The events of ``stmt`` (a ``select(AuditEvent)``, in its order) as ``EventRow``s,
    read in batches (constant memory however large the log)."""
    zone = ZoneInfo(tz)
    who = aliased(User)  # apart from any users subquery of the scope's clause
    listing = stmt.with_only_columns(
        AuditEvent.id,
        AuditEvent.at,
        who.username,
        who.display_name,
        AuditEvent.action,
        AuditEvent.object,
        AuditEvent.detail,
        AuditEvent.remote_addr,
    ).outerjoin_from(AuditEvent, who, AuditEvent.user_id == who.id)
    for r in db.session.execute(listing.execution_options(yield_per=1000)):
        at = r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC)  # SQLite: naive UTC
        yield EventRow(r.id, at.astimezone(zone), *r[2:])


@dataclass(frozen=True)
class Page:
    """A page of events, newest first, and the cursors of its neighbours: ``newer``
    (``after=``) and ``older`` (``before=``), ``None`` at either end."""

    events: list[EventRow]
    newer: int | None
    older: int | None


def page(
    stmt: Select, tz: str, before: int | None = None, after: int | None = None, size=PAGE_SIZE
) -> Page:
    """The page of ``stmt`` (newest first by id) just older than event ``before``, or
    just newer than event ``after``, or the newest. Keyset paging on the primary key: a
    page costs the same at the log's start as at its end, and no total is counted."""
    if after is not None:
        ascending = stmt.where(AuditEvent.id > after).order_by(None).order_by(AuditEvent.id)
        found = list(rows(ascending.limit(size + 1), tz))
        more, events = len(found) > size, found[:size][::-1]
        return Page(events, events[0].id if more else None, events[-1].id if events else None)
    if before is not None:
        stmt = stmt.where(AuditEvent.id < before)
    found = list(rows(stmt.limit(size + 1), tz))
    events = found[:size]
    newer = events[0].id if before is not None and events else None
    return Page(events, newer, events[-1].id if len(found) > size else None)
