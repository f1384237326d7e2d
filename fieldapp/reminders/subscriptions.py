"""Adding and removing a person's push subscriptions (several devices each).

A subscription is what the browser's ``PushSubscription.toJSON()`` gives: the push
service's ``endpoint`` and the device's keys. The endpoint must be an https address of
a push service on the internet (plain http only to 127.0.0.1 or localhost while
testing: the test push service), since the server will POST to it. Every
``SubscriptionError`` carries a message in the UI language."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import re
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from fieldapp.auth.models import User
from fieldapp.extensions import db
from fieldapp.reminders.models import MAX_ENDPOINT, PushSubscription, ReminderDelivery
from fieldapp.reminders.outbound import allowed_address

MAX_PER_USER = 10
MAX_DEVICE = 100
LOOPBACK = ("127.0.0.1", "localhost", "::1")
NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
log = logging.getLogger(__name__)


class SubscriptionError(ValueError):
    """A subscription cannot be stored as sent (message in the UI language)."""


def _b64url(value, size: int | None, what: str) -> str:
    """``value`` when it is base64url text (no padding needed) of ``size`` bytes."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if not text or (size is not None and len(raw) != size) or "=" in text.rstrip("="):
        raise SubscriptionError(
            _("推送订阅的密钥 %(what)s 无效，请在手机上重新开启提醒", what=what)
        )
    return text.rstrip("=")


def check_endpoint(value) -> str:
    """``value`` as an endpoint the server may POST to: https, a host name that is not
    an address on this machine or a private network (http and 127.0.0.1 or localhost
    only while ``TESTING``), on the https port (443, written or not: every browser's
    push service listens there; another port would let a user make the server knock on
    any service of a host), at most 2048 characters. A host whose last label is a
    number (``127.1``, ``0x7f.0.0.1``: the resolver reads them as IPv4 addresses; no
    top-level domain is numeric) is refused. A name that resolves to such an address is
    refused when the push is sent (``outbound``). Raises ``SubscriptionError``."""
    text = value.strip() if isinstance(value, str) else ""
    bad = SubscriptionError(_("推送订阅地址无效：应为推送服务的 https 地址"))
    if not text or len(text) > MAX_ENDPOINT or any(c.isspace() or ord(c) < 32 for c in text):
        raise bad
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        port = parts.port  # raises ValueError for a port out of range
    except ValueError:
        raise bad from None
    testing = current_app.config.get("TESTING") and host in LOOPBACK
    if parts.scheme not in (("http", "https") if testing else ("https",)) or not host:
        raise bad
    if not testing:
        if port not in (None, 443):
            raise bad
        host = host.rstrip(".")  # "localhost." is localhost
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if host == "localhost" or host.endswith(".localhost") or "." not in host:
            raise bad
        if address is not None and not allowed_address(host):
            raise bad
        if address is None and NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
            raise bad  # 127.1, 10.1, 0x7f.0.0.1, 0177.0.0.1: IPv4 as the resolver reads it
    return text


def subscribe(user: User, body) -> tuple[PushSubscription, bool]:
    """Store the subscription ``body`` ({endpoint, expirationTime, keys: {p256dh, auth},
    device?}) for ``user`` and flush; returns (subscription, created). The same
    endpoint again moves it to ``user`` with the new keys, only when its ``auth``
    secret is the one stored (the same browser subscription). A user keeps at most
    ``MAX_PER_USER``: the one that has not worked for longest makes room. Raises
    ``SubscriptionError``."""
    if not isinstance(body, dict):
        raise SubscriptionError(_("请求内容应为推送订阅（JSON 对象）"))
    endpoint = check_endpoint(body.get("endpoint"))
    keys = body.get("keys")
    if not isinstance(keys, dict):
        raise SubscriptionError(_("推送订阅缺少密钥（keys），请在手机上重新开启提醒"))
    p256dh = _b64url(keys.get("p256dh"), 65, "p256dh")
    if base64.urlsafe_b64decode(p256dh + "=" * (-len(p256dh) % 4))[0] != 4:
        raise SubscriptionError(
            _("推送订阅的密钥 %(what)s 无效，请在手机上重新开启提醒", what="p256dh")
        )
    auth = _b64url(keys.get("auth"), 16, "auth")
    device = body.get("device") or ""
    if not isinstance(device, str):
        raise SubscriptionError(_("设备名称应为文字"))
    device = "".join(c for c in device if c.isprintable()).strip()[:MAX_DEVICE]
    found = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if found is not None and found.user_id != user.id and found.auth != auth:
        # The same browser subscription keeps its auth secret whoever is logged in on
        # the phone; one who knows only the endpoint (a secret URL) would otherwise
        # swap in keys the phone cannot decrypt with, and its owner would get nothing.
        log.warning("push endpoint of subscription %s offered with other keys", found.id)
        raise SubscriptionError(_("这个推送地址已由本机的另一个账号开启，请在手机上重新开启提醒"))
    created = found is None
    if created:
        _make_room(user)
        found = PushSubscription(user_id=user.id, endpoint=endpoint, failures=0)
        db.session.add(found)
    found.user_id, found.p256dh, found.auth, found.device = user.id, p256dh, auth, device
    db.session.flush()
    log.info(
        "push subscription %s %s for user %s", found.id, "added" if created else "renewed", user.id
    )
    return found, created


def _make_room(user: User) -> None:
    stmt = select(PushSubscription).where(PushSubscription.user_id == user.id)
    mine = list(db.session.scalars(stmt))
    mine.sort(key=lambda s: (s.last_success_at or s.created_at, s.id))
    for old in mine[: max(0, len(mine) - MAX_PER_USER + 1)]:
        log.info(
            "push subscription %s of user %s dropped: more than %s", old.id, user.id, MAX_PER_USER
        )
        delete_subscription(old)


def delete_subscription(sub: PushSubscription) -> None:
    """Delete ``sub``; its deliveries stay as a record, without it (flushes)."""
    for d in db.session.scalars(
        select(ReminderDelivery).where(ReminderDelivery.subscription_id == sub.id)
    ):
        d.subscription_id = None
    db.session.flush()
    db.session.delete(sub)
    db.session.flush()


def unsubscribe(user: User, body) -> bool:
    """Delete ``user``'s own subscription of ``body['endpoint']`` (flushes); False when
    they have none there (another person's is never touched). Raises
    ``SubscriptionError`` when no endpoint is given."""
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise SubscriptionError(_("请给出要关闭提醒的推送订阅地址（endpoint）"))
    if len(endpoint) > MAX_ENDPOINT or "\x00" in endpoint:
        return False  # no stored endpoint looks like this (and PostgreSQL refuses NUL)
    found = db.session.scalar(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint.strip(), PushSubscription.user_id == user.id
        )
    )
    if found is None:
        return False
    log.info("push subscription %s of user %s removed", found.id, user.id)
    delete_subscription(found)
    return True


def device_count(user: User) -> int:
    """How many devices receive ``user``'s push reminders."""
    stmt = select(func.count()).where(PushSubscription.user_id == user.id)
    return db.session.scalar(stmt) or 0
