"""Users and tokens: create, authenticate. Called by views, CLI and the demo loader."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from fieldapp.areas.models import Area
from fieldapp.auth.models import ROLES, ApiToken, LoginSession, User, utcnow
from fieldapp.extensions import db

USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_hasher = PasswordHasher()  # Argon2id, RFC 9106 defaults
_DUMMY_HASH = _hasher.hash("timing-equaliser")


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UserError(ValueError):
    """A user cannot be created as asked."""


def create_user(
    username: str, password: str, role: str, area: Area, display_name: str | None = None
) -> User:
    """Add a user with an Argon2id password hash (flushed).

    Raises ``UserError`` for a username that is not 1–64 letters, digits, ``_ . -``, an
    empty or over-long display name, an unknown role, a password under 8 characters or
    a username already taken.
    """
    if not USERNAME.fullmatch(username or ""):
        raise UserError("用户名只能用 1–64 个字母、数字、下划线、点或连字符")
    if display_name is not None and not 0 < len(display_name.strip()) <= 100:
        raise UserError("姓名不能为空，最多 100 个字符")
    if role not in ROLES:
        raise UserError(f"未知角色 {role}；可选：{', '.join(ROLES)}")
    if len(password) < 8:
        raise UserError("密码至少需要 8 个字符")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"用户名 {username} 已存在")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        role=role,
        area=area,
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User | None:
    """Return the active user whose password matches, else ``None`` (constant-ish time)."""
    user = db.session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def create_token(user: User, name: str = "") -> str:
    """Create an API token for ``user``; return the secret (shown once, stored hashed)."""
    secret = secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(user=user, name=name, token_hash=hashlib.sha256(secret.encode()).hexdigest())
    )
    db.session.flush()
    return secret


def user_for_token(secret: str) -> User | None:
    """The active user owning the unrevoked token ``secret``, or ``None``."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked.is_(False))
    )
    if token is None or not token.user.active:
        return None
    token.last_used_at = utcnow()
    return token.user


def get_user(username: str) -> User:
    """The user named ``username``; raises ``UserError`` when there is none."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"没有用户 {username}")
    return user


def start_session(user: User) -> str:
    """Record a new browser login of ``user``; the random session id to keep in the
    signed session cookie (added to the database session, not committed)."""
    sid = secrets.token_urlsafe(32)
    db.session.add(LoginSession(sid_hash=_sha256(sid), user_id=user.id))
    return sid


def session_user(user_id: int, sid: str | None, hours: float) -> User | None:
    """The active user whose login ``sid`` is still open and younger than ``hours``."""
    if not sid:
        return None
    login = db.session.scalar(
        select(LoginSession).where(
            LoginSession.sid_hash == _sha256(sid),
            LoginSession.user_id == user_id,
            LoginSession.ended_at.is_(None),
        )
    )
    if login is None:
        return None
    started = login.created_at
    if started.tzinfo is None:  # SQLite gives back naive UTC
        started = started.replace(tzinfo=UTC)
    if datetime.now(UTC) - started > timedelta(hours=hours):
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


def end_session(sid: str | None) -> None:
    """Close the login ``sid`` (logout); unknown ids are ignored. Not committed."""
    if sid:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.sid_hash == _sha256(sid), LoginSession.ended_at.is_(None))
            .values(ended_at=datetime.now(UTC))
        )
