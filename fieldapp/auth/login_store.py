"""Where failed logins are counted (``fieldapp.auth.throttle``): the database by default
(table ``login_failures``), or Redis when config ``LOGIN_STORE`` is a ``redis://`` URL.
Either is shared by every worker and every app host that uses the same database or the
same Redis. Both keep, per (kind, subject), the failures since the first of the current
period and the end of a lock; the rules (limits, periods, audit) stay in ``throttle``.

Times are aware UTC ``datetime``s passed in by the caller (one clock: the app host's), so
both stores decide alike. Redis keeps each subject in one hash, ``<prefix><kind>:<subject>``
(fields ``failures``, ``first`` and ``until`` in milliseconds since the epoch), changed by
one Lua script (atomic: no count lost between workers) and expiring by itself once its
period and lock are over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from flask import Flask, current_app
from sqlalchemy import and_, case, delete, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from fieldapp.auth.models import LoginFailure
from fieldapp.extensions import db


class LoginStore(Protocol):
    """Failure counts and locks per (kind, subject)."""

    def locks(self, pairs: list[tuple[str, str]], now: datetime) -> list[tuple[str, datetime]]:
        """The (kind, until) of each of ``pairs`` locked after ``now``."""

    def fail(
        self, kind: str, subject: str, now: datetime, limit: int, period: timedelta
    ) -> datetime | None:
        """One more failure (a count older than ``period`` starts again at 1); when the
        count reaches ``limit`` and no lock is in force, lock until ``now + period`` and
        return that end (only one caller starts a given lock), else ``None``."""

    def sweep(self, now: datetime, period: timedelta) -> None:
        """Forget the counts whose period and lock are over."""

    def clear(self, kind: str, subject: str) -> None:
        """Forget the count and lock of one subject."""

    def failures(self, kind: str, subject: str, now: datetime, period: timedelta) -> int:
        """The failures counted in the current period of one subject (0 when none)."""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite: naive UTC


class DatabaseStore:
    """Counts in ``login_failures``, written in the caller's transaction (not committed)."""

    def locks(self, pairs, now):
        rows = db.session.execute(
            select(LoginFailure.kind, LoginFailure.locked_until).where(
                or_(*(and_(LoginFailure.kind == k, LoginFailure.subject == s) for k, s in pairs)),
                LoginFailure.locked_until > now,
            )
        ).all()
        return [(kind, _aware(until)) for kind, until in rows]

    def fail(self, kind, subject, now, limit, period):
        # One INSERT … ON CONFLICT per failure: no count lost between workers.
        stale = LoginFailure.first_failed_at < now - period
        dialect = db.session.get_bind().dialect.name
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(LoginFailure)
        db.session.execute(
            insert.values(
                kind=kind, subject=subject, failures=1, first_failed_at=now
            ).on_conflict_do_update(
                index_elements=["kind", "subject"],
                set_={
                    "failures": case((stale, 1), else_=LoginFailure.failures + 1),
                    "first_failed_at": case((stale, now), else_=LoginFailure.first_failed_at),
                },
            )
        )
        until = now + period
        done = db.session.execute(
            update(LoginFailure)
            .where(
                LoginFailure.kind == kind,
                LoginFailure.subject == subject,
                LoginFailure.failures >= limit,
                or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until <= now),
            )
            .values(locked_until=until)
        )
        return until if done.rowcount == 1 else None

    def sweep(self, now, period):
        # Skipping rows another login holds (PostgreSQL SKIP LOCKED; SQLite has one writer
        # anyway), so that two failed logins at once never wait for each other in a circle.
        stale = (
            select(LoginFailure.kind, LoginFailure.subject)
            .where(
                LoginFailure.first_failed_at < now - period,
                or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now),
            )
            .with_for_update(skip_locked=True)
        )
        db.session.execute(
            delete(LoginFailure).where(tuple_(LoginFailure.kind, LoginFailure.subject).in_(stale))
        )

    def clear(self, kind, subject):
        db.session.execute(
            delete(LoginFailure).where(LoginFailure.kind == kind, LoginFailure.subject == subject)
        )

    def failures(self, kind, subject, now, period):
        row = db.session.execute(
            select(LoginFailure.failures, LoginFailure.first_failed_at).where(
                LoginFailure.kind == kind, LoginFailure.subject == subject
            )
        ).first()
        return row.failures if row and _aware(row.first_failed_at) >= now - period else 0


# KEYS[1] the subject's hash; ARGV now, period (ms), limit. Returns the new lock's end
# (ms) or 0. The hash lives until its period and its lock are over.
_FAIL = """
local now, period, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local first = tonumber(redis.call('HGET', KEYS[1], 'first') or '0')
local locked = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
local failures
if first < now - period then
  first, failures = now, 1
  redis.call('HSET', KEYS[1], 'first', first, 'failures', 1)
else
  failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
end
local started = 0
if failures >= limit and locked <= now then
  started, locked = now + period, now + period
  redis.call('HSET', KEYS[1], 'until', locked)
end
redis.call('PEXPIREAT', KEYS[1], math.max(first + period, locked))
return started
"""


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _from_ms(value) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, UTC)


class RedisStore:
    """Counts in Redis hashes under ``prefix`` (changed at once, outside the database
    transaction: a failure counts even when the request's transaction rolls back)."""

    def __init__(self, url: str, prefix: str):
        import redis  # optional: pip install 'fieldapp[redis]'

        # Short time-outs: a login must not hang on an unreachable Redis (it fails, 500).
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        self._fail = self.redis.register_script(_FAIL)

    def _key(self, kind: str, subject: str) -> str:
        return f"{self.prefix}{kind}:{subject}"

    def locks(self, pairs, now):
        pipe = self.redis.pipeline(transaction=False)
        for kind, subject in pairs:
            pipe.hget(self._key(kind, subject), "until")
        ends = pipe.execute()
        found = [(kind, _from_ms(end)) for (kind, _), end in zip(pairs, ends, strict=True) if end]
        return [(kind, until) for kind, until in found if until > now]

    def fail(self, kind, subject, now, limit, period):
        started = self._fail(
            keys=[self._key(kind, subject)],
            args=[_ms(now), int(period.total_seconds() * 1000), int(limit)],
        )
        return _from_ms(started) if int(started) else None

    def sweep(self, now, period):
        """Nothing to do: each hash expires by itself."""

    def clear(self, kind, subject):
        self.redis.delete(self._key(kind, subject))

    def failures(self, kind, subject, now, period):
        count, first = self.redis.hmget(self._key(kind, subject), "failures", "first")
        return int(count) if count and _from_ms(first) >= now - period else 0


def login_store(app: Flask | None = None) -> LoginStore:
    """The store config ``LOGIN_STORE`` names: ``database`` (or empty) or a Redis URL
    (``redis://host:6379/0``, ``rediss://`` for TLS), keys under ``LOGIN_STORE_PREFIX``.
    One Redis client per app, URL and prefix. Raises ``ValueError`` for anything else."""
    app = app or current_app._get_current_object()
    url = (app.config.get("LOGIN_STORE") or "database").strip()
    if url == "database":
        return DatabaseStore()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"FIELDAPP_LOGIN_STORE: 'database' or a redis:// URL, not {url!r}")
    prefix = app.config.get("LOGIN_STORE_PREFIX") or "fieldapp:login:"
    stores = app.extensions.setdefault("fieldapp_login_stores", {})
    if (url, prefix) not in stores:
        stores[(url, prefix)] = RedisStore(url, prefix)
    return stores[(url, prefix)]
