"""Users, roles and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.areas.models import Area
from fieldapp.extensions import db
from fieldapp.i18n import N_

ROLES = ("admin", "supervisor", "mediator", "researcher")
ROLE_LABELS = {
    "admin": N_("管理员"),
    "supervisor": N_("督导"),
    "mediator": N_("调解员"),
    "researcher": N_("研究员"),
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class User(UserMixin, db.Model):
    """A person who logs in. ``role`` is one of ``ROLES``; ``area`` is the home area."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    # Set by a password reset (a one-time password): the next login must choose a new one.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    # The UI language the person chose on their account page ("zh", "en"; None: the
    # browser's); the login puts it in the session.
    language: Mapped[str | None] = mapped_column(String(8))
    # Two-factor sign-in (``fieldapp.auth.two_factor``): the base32 TOTP secret once
    # confirmed (None: off), and the last 30-second step a code was accepted for (a code
    # is taken once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    area: Mapped[Area] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for scripts and ODK Collect; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # "api": ``Authorization: Bearer`` on the API and OpenRosa; "collect": an ODK
    # Collect app-user URL (``/key/<token>/…``), OpenRosa routes only.
    purpose: Mapped[str] = mapped_column(String(16), default="api", server_default="api")

    user: Mapped[User] = relationship()


class LoginSession(db.Model):
    """One browser login, so that logging out ends it on the server too: the signed
    session cookie names it, and a copy of the cookie kept from before the logout (or
    from past the session's hours) no longer logs anyone in. Only the SHA-256 of the
    session's random id is stored."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(db.Model):
    """Failed logins counted against one account name or one client address, and the
    lock they started (``fieldapp.auth.throttle``). Kept in the database so that every
    worker and every app host counts the same failures."""

    __tablename__ = "login_failures"

    # "account": ``subject`` is the username as typed (whether or not it exists, cut to
    # 64 characters); "address": the client address (``request.remote_addr`` after
    # ``ProxyFix``).
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)  # since ``first_failed_at``
    first_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RecoveryCode(db.Model):
    """One of the 10 one-time codes that sign a person in instead of an authenticator
    code (a lost phone); shown once when two-factor sign-in is turned on, only the
    SHA-256 kept (they are random, like tokens). ``used_at``: taken, never again."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
