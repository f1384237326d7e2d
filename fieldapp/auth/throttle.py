"""Failed logins, counted per account name and per client address, lock further tries
for a while (issue 14). The counts live in the database (``LoginFailure``), so every
worker and every app host sees the same ones; only failures count.

Rules (config, defaults): ``LOGIN_FAILURES_PER_ACCOUNT`` (5) failures of one username
within ``LOGIN_LOCK_MINUTES`` (15) lock that username for ``LOGIN_LOCK_MINUTES``;
``LOGIN_FAILURES_PER_ADDRESS`` (20) failures from one client address within the same
time lock that address. A username that does not exist is counted and locked the same
way, with the same message, so the lock tells nobody whether an account exists. While
locked, no password is checked. A successful login clears its account's count (not its
address's: one's own good login must not wipe a guesser's count); a manager lifts an
account's lock (``unlock_account``: the people page, ``fieldapp users unlock``). The
client address is ``request.remote_addr``: the proxy's own unless ``PROXY_FIX`` trusts
its ``X-Forwarded-For`` (werkzeug ``ProxyFix``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import and_, case, delete, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from fieldapp.audit.services import record
from fieldapp.auth.models import LoginFailure, User
from fieldapp.extensions import db

ACCOUNT, ADDRESS = "account", "address"  # LoginFailure.kind


@dataclass(frozen=True)
class Lock:
    """A lock in force: on an ``ACCOUNT`` or an ``ADDRESS``, until ``until`` (aware UTC)."""

    kind: str
    until: datetime


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite: naive UTC


def _period() -> timedelta:
    return timedelta(minutes=int(current_app.config["LOGIN_LOCK_MINUTES"]))


def _limit(kind: str) -> int:
    key = "LOGIN_FAILURES_PER_ACCOUNT" if kind == ACCOUNT else "LOGIN_FAILURES_PER_ADDRESS"
    return int(current_app.config[key])


def client_address() -> str:
    """The address the request came from (``ProxyFix`` applied), or "" outside one."""
    return (request.remote_addr or "") if has_request_context() else ""


def _subjects(username: str, address: str) -> list[tuple[str, str]]:
    pairs = [(ACCOUNT, username[:64]), (ADDRESS, address[:64])]
    return [(kind, subject) for kind, subject in pairs if subject]


def lock_in_force(username: str, address: str) -> Lock | None:
    """The lock that refuses a login as ``username`` from ``address`` now (the account's
    first, else the address's), or ``None``."""
    now = datetime.now(UTC)
    pairs = _subjects(username, address)
    if not pairs:
        return None
    rows = db.session.execute(
        select(LoginFailure.kind, LoginFailure.locked_until).where(
            or_(*(and_(LoginFailure.kind == k, LoginFailure.subject == s) for k, s in pairs)),
            LoginFailure.locked_until > now,
        )
    ).all()
    locks = sorted((Lock(kind, _aware(until)) for kind, until in rows), key=lambda x: x.kind)
    return locks[0] if locks else None  # "account" sorts before "address"


def account_locked_until(username: str) -> datetime | None:
    """When the lock on ``username`` ends (aware UTC), or ``None`` when it is not locked."""
    lock = lock_in_force(username, "")
    return lock.until if lock else None


def _insert():
    """``INSERT … ON CONFLICT`` of the database in use (SQLite or PostgreSQL)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(LoginFailure)


def _count(kind: str, subject: str, now: datetime) -> None:
    """One more failure for ``subject``, in one statement (no lost count between workers):
    a count older than the period starts again at 1."""
    stale = LoginFailure.first_failed_at < now - _period()
    stmt = _insert().values(kind=kind, subject=subject, failures=1, first_failed_at=now)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["kind", "subject"],
            set_={
                "failures": case((stale, 1), else_=LoginFailure.failures + 1),
                "first_failed_at": case((stale, now), else_=LoginFailure.first_failed_at),
            },
        )
    )


def _lock(kind: str, subject: str, now: datetime) -> datetime | None:
    """Lock ``subject`` when its count has reached its limit and it is not locked yet;
    the end of the new lock, or ``None`` (only one worker starts a given lock)."""
    until = now + _period()
    done = db.session.execute(
        update(LoginFailure)
        .where(
            LoginFailure.kind == kind,
            LoginFailure.subject == subject,
            LoginFailure.failures >= _limit(kind),
            or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until <= now),
        )
        .values(locked_until=until)
    )
    return until if done.rowcount == 1 else None


def record_failure(username: str, address: str) -> Lock | None:
    """Count a failed login as ``username`` from ``address``; return the lock it started,
    if any (the account's before the address's), audited as ``login_locked``. Old counts
    whose period and lock are over are dropped on the way. Not committed."""
    now = datetime.now(UTC)
    started = []
    for kind, subject in _subjects(username, address):  # always the account row first
        _count(kind, subject, now)
        until = _lock(kind, subject, now)
        if until is not None:
            started.append(Lock(kind, until))
            _audit_lock(kind, subject, until)
    _sweep(now)
    return started[0] if started else None


def _sweep(now: datetime) -> None:
    """Drop the counts whose period and lock are over. Last, and skipping rows another
    login holds (PostgreSQL ``SKIP LOCKED``; SQLite has one writer anyway), so that two
    failed logins at once never wait for each other in a circle."""
    stale = (
        select(LoginFailure.kind, LoginFailure.subject)
        .where(
            LoginFailure.first_failed_at < now - _period(),
            or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now),
        )
        .with_for_update(skip_locked=True)
    )
    db.session.execute(
        delete(LoginFailure).where(tuple_(LoginFailure.kind, LoginFailure.subject).in_(stale))
    )


def _audit_lock(kind: str, subject: str, until: datetime) -> None:
    detail = {"until": until.isoformat(timespec="seconds"), "failures": _limit(kind)}
    if kind == ACCOUNT:
        user_id = db.session.scalar(select(User.id).where(User.username == subject))
        record(user_id, "login_locked", f"user:{subject}", username=subject, **detail)
    else:
        record(None, "login_locked", f"address:{subject}", **detail)


def clear_account(username: str) -> bool:
    """Forget the failures and lift the lock of ``username``; True when a lock was in
    force. Not committed (a successful login, ``unlock_account``)."""
    locked = account_locked_until(username) is not None
    db.session.execute(
        delete(LoginFailure).where(
            LoginFailure.kind == ACCOUNT, LoginFailure.subject == username[:64]
        )
    )
    return locked


def lock_message(lock: Lock) -> str:
    """What the login page (or ODK Collect) says about ``lock``: when to try again, in
    config ``TIMEZONE``, rounded up to the minute. The same words for every username."""
    end = lock.until.replace(second=0, microsecond=0)
    if end < lock.until:
        end += timedelta(minutes=1)
    minutes = max(1, math.ceil((end - datetime.now(UTC)).total_seconds() / 60))
    when = end.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%H:%M")
    if lock.kind == ACCOUNT:
        return _(
            "登录失败次数过多，此账号已暂时锁定。请在 %(minutes)s 分钟后（%(time)s 以后）"
            "再试，或请管理员解除锁定。",
            minutes=minutes,
            time=when,
        )
    return _(
        "此网络的登录失败次数过多，暂时不能登录。请在 %(minutes)s 分钟后（%(time)s 以后）再试。",
        minutes=minutes,
        time=when,
    )
