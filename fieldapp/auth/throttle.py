"""Failed logins, counted per account name and per client address, lock further tries
for a while (issue 14). The counts live in a store shared by every worker and every app
host (``fieldapp.auth.login_store``: the database, or Redis when ``LOGIN_STORE`` names
it); only failures count.

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
from sqlalchemy import select

from fieldapp.audit.services import record
from fieldapp.auth.login_store import login_store
from fieldapp.auth.models import User
from fieldapp.extensions import db

ACCOUNT, ADDRESS = "account", "address"  # the kinds of subject counted


@dataclass(frozen=True, order=True)
class Lock:
    """A lock in force: on an ``ACCOUNT`` or an ``ADDRESS``, until ``until`` (aware UTC)."""

    kind: str
    until: datetime


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


def _now() -> datetime:
    return datetime.now(UTC)  # one clock for both stores (tests move it)


def lock_in_force(username: str, address: str) -> Lock | None:
    """The lock that refuses a login as ``username`` from ``address`` now (the account's
    first, else the address's), or ``None``."""
    pairs = _subjects(username, address)
    if not pairs:
        return None
    locks = sorted(Lock(kind, until) for kind, until in login_store().locks(pairs, _now()))
    return locks[0] if locks else None  # "account" sorts before "address"


def account_locked_until(username: str) -> datetime | None:
    """When the lock on ``username`` ends (aware UTC), or ``None`` when it is not locked."""
    lock = lock_in_force(username, "")
    return lock.until if lock else None


def failures(kind: str, subject: str) -> int:
    """The failed logins counted now for an ``ACCOUNT`` or an ``ADDRESS`` (0 when none)."""
    return login_store().failures(kind, subject[:64], _now(), _period())


def record_failure(username: str, address: str) -> Lock | None:
    """Count a failed login as ``username`` from ``address``; return the lock it started,
    if any (the account's before the address's), audited as ``login_locked``. Old counts
    whose period and lock are over are dropped on the way. Not committed (the database
    store; Redis counts at once)."""
    now, store = _now(), login_store()
    started = []
    for kind, subject in _subjects(username, address):  # always the account first
        until = store.fail(kind, subject, now, _limit(kind), _period())
        if until is not None:
            started.append(Lock(kind, until))
            _audit_lock(kind, subject, until)
    store.sweep(now, _period())
    return started[0] if started else None


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
    login_store().clear(ACCOUNT, username[:64])
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
