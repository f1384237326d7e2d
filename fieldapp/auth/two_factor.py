"""Two-factor sign-in (issue 14): a TOTP code (RFC 6238, ``pyotp``; any authenticator
app: 微信/支付宝 小程序, Google Authenticator, Microsoft Authenticator…) after the
password, or one of 10 one-time recovery codes.

A person turns it on at 我的账号: a new secret (``new_secret``) shown as a QR code and as
text, confirmed with a first code (``turn_on``), which gives the recovery codes, shown
once. A code is accepted for the current 30-second step and the one either side (phone
clocks drift), and each step once (``User.totp_last_step``: a code seen over a shoulder
cannot be replayed). Roles named in config ``TOTP_REQUIRED_ROLES`` must have it
(``scope.totp_required``; the gate: ``scope.must_set_up_totp_first``). A manager resets it for
a lost phone (``people.services.reset_two_factor``).
"""

from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
from sqlalchemy import delete, select, update

from fieldapp.auth.models import RecoveryCode, User, utcnow
from fieldapp.extensions import db

ISSUER = "平安家庭"
RECOVERY_CODES = 10
# Recovery codes are read off paper: lower case and digits without look-alikes, 10 of
# 31 symbols (~50 bits), written as two groups of five.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def is_on(user: User) -> bool:
    """True when ``user`` signs in with a second factor."""
    return bool(user.totp_secret)


def new_secret() -> str:
    """A new random base32 TOTP secret (160 bits, RFC 4226's recommendation)."""
    return pyotp.random_base32(32)


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def _step(secret: str, code: str) -> int | None:
    """The 30-second step (now, or one either side) whose code ``code`` is, or None."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp, now = pyotp.TOTP(secret), int(time.time())
    for offset in (0, -1, 1):
        at = now + offset * totp.interval
        if secrets.compare_digest(totp.at(at), code):
            return totp.timecode(_datetime(at))
    return None


def _datetime(at: int):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at, UTC)


def _hash(code: str) -> str:
    plain = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(plain.encode()).hexdigest()


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def new_recovery_codes(user: User) -> list[str]:
    """Replace ``user``'s recovery codes with ``RECOVERY_CODES`` new ones; return them
    (show them once: only their SHA-256 is kept). Not committed."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(c)) for c in codes)
    db.session.flush()
    return codes


def turn_on(user: User, secret: str, code: str) -> list[str] | None:
    """Turn two-factor sign-in on for ``user`` with ``secret`` when ``code`` is its
    current code; return the new recovery codes, or None for a wrong code. Not
    committed."""
    step = _step(secret, code)
    if step is None:
        return None
    user.totp_secret, user.totp_last_step = secret, step
    return new_recovery_codes(user)


def turn_off(user: User) -> None:
    """Forget ``user``'s secret and recovery codes (their choice, or a manager's reset).
    Not committed."""
    user.totp_secret = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def check_code(user: User, code: str) -> str | None:
    """Check a second factor of ``user``: "totp" for a valid authenticator code not used
    before, "recovery" for an unused recovery code (now used up), else None. Not
    committed."""
    if not user.totp_secret:
        return None
    step = _step(user.totp_secret, code)
    if step is not None:
        taken = db.session.execute(  # one statement: two workers cannot both take it
            update(User)
            .where(
                User.id == user.id,
                (User.totp_last_step.is_(None)) | (User.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        return "totp" if taken.rowcount == 1 else None
    row = db.session.scalar(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return None
    used = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == row, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return "recovery" if used.rowcount == 1 else None


def recovery_codes_left(user: User) -> int:
    """How many of ``user``'s recovery codes are unused."""
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )
