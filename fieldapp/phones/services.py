"""ODK Collect app-user tokens and the QR codes that set a phone up.

A Collect token is an ``ApiToken`` with ``purpose="collect"``: its secret is shown once
(stored as SHA-256), goes into the app-user URL ``<server>/key/<secret>`` that Collect
takes as its server URL (as ODK Central's app users), works only on the OpenRosa routes
under ``/key/`` (``fieldapp.openrosa.auth``), acts with its user's scope, and ends when
revoked or when its user is deactivated. Collect reads its settings from a QR code of
zlib-compressed, base64-encoded JSON (collect androidshared CompressionUtils,
settings client-settings.schema.json): ``fieldapp.surveys.drafts.collect_settings_payload``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from fieldapp.audit.services import record
from fieldapp.auth.models import ApiToken, User
from fieldapp.auth.services import create_token
from fieldapp.extensions import db
from fieldapp.scope import Person
from fieldapp.surveys.drafts import collect_settings_payload, qr_svg

COLLECT = "collect"
MAX_NAME = 100


class PhoneError(ValueError):
    """A phone set-up step cannot be done as asked (the message says why)."""


@dataclass(frozen=True)
class CollectLink:
    """A new Collect token as shown once: the server URL and its settings QR code."""

    token: ApiToken
    server_url: str
    payload: str  # the QR code's text (compressed settings)
    qr: Markup


def app_user_url(base_url: str, secret: str) -> str:
    """The app-user server URL Collect is given: ``<base_url>/key/<secret>``."""
    return f"{base_url.rstrip('/')}/key/{secret}"


def collect_project_name(user: User) -> str:
    """The project name Collect shows for ``user``'s phone."""
    return f"平安家庭 · {user.display_name}"[:60]


def create_collect_token(actor: Person, user: User, name: str) -> tuple[str, ApiToken]:
    """Make a Collect token for ``user`` named ``name`` (whose phone); return its secret
    (to show once) and row. Audited, flushed, not committed. Raises ``PhoneError`` for an
    empty or over-long name or a deactivated user."""
    name = (name or "").strip()
    if not 0 < len(name) <= MAX_NAME:
        raise PhoneError(_("请填写这台手机的名称（最多 %(n)s 个字），例如“王芳的手机”", n=MAX_NAME))
    if not user.active:
        raise PhoneError(_("账号 %(name)s 已停用，不能再连接手机", name=user.username))
    secret = create_token(user, name, purpose=COLLECT)
    digest = hashlib.sha256(secret.encode()).hexdigest()
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    record(actor.id, "create_collect_token", f"user:{user.username}", token=token.id, name=name)
    return secret, token


def collect_link(user: User, token: ApiToken, secret: str, base_url: str) -> CollectLink:
    """The app-user URL under ``base_url`` (the server's address as phones reach it) and
    the settings QR code of a token just made."""
    url = app_user_url(base_url, secret)
    payload = collect_settings_payload(url, collect_project_name(user))
    return CollectLink(token, url, payload, qr_svg(payload, _("ODK Collect 设置二维码")))


def collect_tokens(user: User) -> list[ApiToken]:
    """``user``'s Collect tokens that still work, newest first."""
    stmt = select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.purpose == COLLECT, ApiToken.revoked.is_(False)
    )
    return list(db.session.scalars(stmt.order_by(ApiToken.id.desc())))


def revoke_collect_token(actor: Person, user: User, token_id: int) -> ApiToken:
    """Revoke ``user``'s Collect token ``token_id`` (its phone is refused from now on);
    audited, not committed. Raises ``PhoneError`` when ``user`` has no such token."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.purpose != COLLECT:
        raise PhoneError(_("找不到这个 ODK Collect 连接"))
    if not token.revoked:
        token.revoked = True
        record(actor.id, "revoke_collect_token", f"user:{user.username}", token=token.id)
    return token


def app_login_qr(login_url: str) -> Markup:
    """The QR code of our phone app's login page (a phone's camera opens it)."""
    return qr_svg(login_url, _("手机登录页二维码"))
