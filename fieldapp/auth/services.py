"""Users and tokens: create, authenticate, passwords and logins. Called by views, the
CLI, the people services and the demo loader."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from fieldapp.areas.models import Area
from fieldapp.auth.models import ROLES, ApiToken, LoginSession, User, utcnow
from fieldapp.auth.passwords import password_problem
from fieldapp.extensions import db

USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
TOKEN_PURPOSES = ("api", "collect")  # ApiToken.purpose
MOBILE = re.compile(r"1[3-9][0-9]{9}")  # a mainland China mobile number, 11 digits
# One-time passwords are read off paper and typed on phones: lower case and digits,
# without the look-alikes 0 o 1 l i; 10 of 31 symbols is ~50 bits behind Argon2id.
OTP_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
OTP_LENGTH = 10
_hasher = PasswordHasher()  # Argon2id, RFC 9106 defaults
_DUMMY_HASH = _hasher.hash("timing-equaliser")


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UserError(ValueError):
    """A user cannot be created or changed as asked (the message says why)."""


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (~0.2 s of CPU by design)."""
    return _hasher.hash(password)


def one_time_password() -> str:
    """A random password for someone else to hand over (``OTP_ALPHABET``) that passes
    the password policy (about one in 3,000 random ones would not: drawn again)."""
    while True:
        password = "".join(secrets.choice(OTP_ALPHABET) for _ in range(OTP_LENGTH))
        if password_problem(password) is None:
            return password


def username_problem(username: str) -> str | None:
    """Why ``username`` cannot be a username (its form only), or ``None``."""
    if not USERNAME.fullmatch(username or ""):
        return _("用户名只能用 1–64 个字母、数字、下划线、点或连字符")
    return None


def display_name_problem(name: str | None) -> str | None:
    """Why ``name`` cannot be a display name (empty, over 100 characters), or ``None``."""
    if name is None or not 0 < len(name.strip()) <= 100:
        return _("姓名不能为空，最多 100 个字符")
    return None


def normalise_phone(value: str | int | None) -> str | None:
    """``value`` as an 11-digit mainland mobile number (spaces, dashes and a leading
    +86 dropped), or ``None`` when empty. Raises ``UserError`` for anything else."""
    if value is None:
        return None
    text = re.sub(r"[\s\-()]", "", str(value))
    text = re.sub(r"^(\+?86)(?=1\d{10}$)", "", text)
    if not text:
        return None
    if not MOBILE.fullmatch(text):
        raise UserError(_("手机号应为 11 位大陆手机号码（如 13812345678）：%(value)s", value=value))
    return text


def check_new_password(
    password: str,
    username: str | None = "",
    display_name: str | None = "",
    phone: str | None = "",
) -> None:
    """Raise ``UserError`` (the Chinese reason and what to do) unless ``password`` passes
    the password policy (``fieldapp.auth.passwords``) for this person. The one gate of
    every password set: ``create_user``, ``set_password`` and the import's one-time
    passwords (``people.importer.password_for``) ask it."""
    problem = password_problem(password or "", username, display_name, phone)
    if problem:
        raise UserError(problem)


def create_user(
    username: str,
    password: str | None,
    role: str,
    area: Area,
    display_name: str | None = None,
    *,
    phone: str | None = None,
    must_change_password: bool = False,
    password_hash: str | None = None,
) -> User:
    """Add a user with an Argon2id password hash (flushed). Who may add whom is the
    caller's question (``fieldapp.scope.may_grant``; the people services ask it).

    ``password_hash`` (already hashed, a bulk import whose one-time passwords passed
    ``check_new_password`` when they were made) replaces ``password``.
    Raises ``UserError`` for a username that is not 1–64 letters, digits, ``_ . -``, an
    empty or over-long display name, an unknown role, a password the policy refuses
    (``check_new_password``), a phone that is not a mainland mobile number or a username
    already taken.
    """
    problem = username_problem(username)
    if problem is None and display_name is not None:
        problem = display_name_problem(display_name)
    if problem:
        raise UserError(problem)
    if role not in ROLES:
        raise UserError(_("未知角色 %(role)s；可选：%(roles)s", role=role, roles=", ".join(ROLES)))
    phone = normalise_phone(phone)
    if password_hash is None:
        check_new_password(password or "", username, display_name, phone)
        password_hash = hash_password(password)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(_("用户名 %(name)s 已存在", name=username))
    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        password_hash=password_hash,
        role=role,
        area=area,
        phone=phone,
        must_change_password=must_change_password,
    )
    db.session.add(user)
    db.session.flush()
    return user


@dataclass(frozen=True)
class SignIn:
    """The outcome of a login attempt: ``user`` when it succeeds, else ``refusal`` (a
    message for the person at the login page)."""

    user: User | None
    refusal: str | None = None


def sign_in(username: str, password: str) -> SignIn:
    """Check a login. A wrong username or password gets one message (no hint which);
    a deactivated account says so, but only to someone who knows its password.
    Takes about the same time whether or not the user exists."""
    user = db.session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return SignIn(None, _("用户名或密码不正确"))
    if user is None:
        return SignIn(None, _("用户名或密码不正确"))
    if not user.active:
        return SignIn(None, _("此账号已停用，不能登录。如有疑问请联系您的管理员或督导。"))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return SignIn(user)


def authenticate(username: str, password: str) -> User | None:
    """Return the active user whose password matches, else ``None`` (constant-ish time)."""
    return sign_in(username, password).user


def verify_password(user: User, password: str) -> bool:
    """True when ``password`` is ``user``'s current password."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


LANGUAGES = ("zh", "en")


def set_language_choice(user: User, language: str) -> None:
    """Keep ``user``'s UI language (one of ``LANGUAGES``); the login puts it in the
    session. Raises ``UserError`` for another language. Not committed."""
    if language not in LANGUAGES:
        raise UserError(_("不支持的语言：%(lang)s", lang=language))
    user.language = language


def set_password(user: User, password: str, must_change: bool) -> None:
    """Give ``user`` a new password (hashed); ``must_change``: one set by someone else,
    to be replaced at the next login. Raises ``UserError`` when the policy refuses it
    (``check_new_password``). Not committed."""
    check_new_password(password, user.username, user.display_name, user.phone)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change


def change_own_password(user: User, current: str, new: str, keep_sid: str | None) -> None:
    """``user`` replaces their password: ``current`` must match, ``new`` must pass
    the policy (``check_new_password``) and differ from ``current``. Clears ``must_change_password``
    and ends every other browser login of ``user`` (``keep_sid``: this one stays).
    Raises ``UserError`` with the reason. Not committed."""
    if not verify_password(user, current):
        raise UserError(_("当前密码不正确"))
    if new == current:
        raise UserError(_("新密码不能与当前密码相同"))
    set_password(user, new, must_change=False)
    end_sessions(user, keep_sid=keep_sid)


def create_token(user: User, name: str = "", purpose: str = "api") -> str:
    """Create a token for ``user``; return the secret (shown once, stored as SHA-256).

    ``purpose`` "api": ``Authorization: Bearer`` on the JSON API and OpenRosa; "collect":
    an ODK Collect app-user URL (``/key/<secret>/``), OpenRosa routes only."""
    if purpose not in TOKEN_PURPOSES:
        raise ValueError(f"unknown token purpose {purpose}")
    secret = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, name=name, token_hash=_sha256(secret), purpose=purpose))
    db.session.flush()
    return secret


TOKEN_USE_PRECISION = timedelta(minutes=1)  # last_used_at is shown to the minute

# Built once, with the hash and purpose as bound parameters (bench/load.py: building
# the statement on every request cost as much CPU as running it; a statement object
# reused keeps its cache key, so its compiled form is found at once).
_TOKEN_WITH_USER = (
    select(ApiToken)
    .options(joinedload(ApiToken.user))
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked.is_(False),
        ApiToken.purpose == bindparam("purpose"),
    )
)


def user_for_token(secret: str, purpose: str = "api") -> User | None:
    """The active user owning the unrevoked token ``secret`` made for ``purpose``, or
    ``None`` (a Collect token is no Bearer token, nor the other way round).

    The token's ``last_used_at`` is set to now when it is older than a minute (it is
    shown to the minute): a phone sending a batch writes it once, not on every request
    (bench/load.py: a write and a commit per submission). The session is then dirty:
    the caller commits."""
    token = db.session.scalar(_TOKEN_WITH_USER, {"token_hash": _sha256(secret), "purpose": purpose})
    if token is None or not token.user.active:
        return None
    now = utcnow()
    used = token.last_used_at
    if used is not None and used.tzinfo is None:  # SQLite gives back naive UTC
        used = used.replace(tzinfo=UTC)
    if used is None or not timedelta(0) <= now - used < TOKEN_USE_PRECISION:
        token.last_used_at = now
    return token.user


def get_user(username: str) -> User:
    """The user named ``username``; raises ``UserError`` when there is none."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(_("没有用户 %(name)s", name=username))
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


def end_sessions(user: User, keep_sid: str | None = None) -> int:
    """Close every open browser login of ``user`` but ``keep_sid``; return how many.
    Not committed."""
    stmt = update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None)
    )
    if keep_sid:
        stmt = stmt.where(LoginSession.sid_hash != _sha256(keep_sid))
    return db.session.execute(stmt.values(ended_at=datetime.now(UTC))).rowcount


def revoke_tokens(user: User) -> int:
    """Revoke every API and ODK Collect token of ``user``; return how many. Not
    committed."""
    stmt = update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
    return db.session.execute(stmt.values(revoked=True)).rowcount
