"""Who calls an OpenRosa route, by the way the request came in (``scope.token_route``).

Three ways in, as the field's servers offer them:

- ``/…`` (no prefix): a logged-in user: the browser session (our phone app, the fill
  page), ``Authorization: Bearer`` (scripts), or HTTP Basic with the user's password,
  accepted only over HTTPS and only from clients that are not browsers. ODK Collect
  answers a 401 with ``WWW-Authenticate: Basic`` with the project's username and
  password, and its HTTP client offers Basic only on https URLs (collect
  open-rosa/…/okhttp/OkHttpOpenRosaServerClientProvider.java); ODK Central refuses Basic
  over plain HTTP (central-backend lib/http/preprocessors.js).
- ``/key/<token>/…``: an ODK Collect app-user URL (ODK Central's ``/v1/key/<token>/``):
  the token is a user's ``collect`` token; the session and headers play no part. A
  token that is unknown, revoked or whose user is deactivated gets 403, not 401, as in
  Central: Collect would ask for a password that cannot help.
- ``/test/<draft_token>/…``: a draft form's test link (Central's draft test token): no
  login; the caller is the draft's ``DraftTester``; an unknown token gets 404.
"""

from __future__ import annotations

import base64
import binascii

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse
from sqlalchemy import select

from fieldapp.auth import throttle
from fieldapp.auth.models import User
from fieldapp.auth.services import authenticate as check_password
from fieldapp.auth.services import user_for_token
from fieldapp.errors import fail
from fieldapp.extensions import db, limiter
from fieldapp.loaders import token_user
from fieldapp.scope import DraftTester, Person
from fieldapp.surveys.models import DRAFT, Form

REALM = "fieldapp"


def authenticate() -> Person:
    """The caller of the current OpenRosa request, or abort (401 asks for credentials,
    403 refuses a dead app-user token, 404 an unknown draft test link). A valid Bearer
    token comes before the session cookie; ``g.caller_via`` keeps which way it was
    (``fieldapp.auth.csrf.needs_csrf``)."""
    if "draft_token" in g:
        g.caller_via = "draft"
        return _draft_tester(g.draft_token)
    if "app_key" in g:
        g.caller_via = "key"
        return _app_user(g.app_key)
    if basic_allowed() and _basic_header():
        g.caller_via = "basic"
        return _basic_user()
    user = token_user(request)
    if user is not None:
        g.caller_via = "token"
        return user
    if current_user.is_authenticated:  # not by a token (checked above): the session
        g.caller_via = "session"
        return current_user._get_current_object()
    if _basic_header():
        fail(
            401,
            _(
                "用户名和密码只能通过 HTTPS 发送；请使用 https 开头的服务器地址，"
                "或扫描账号的 ODK Collect 二维码"
            ),
        )
    fail(401, _("请先登录"))


def basic_allowed() -> bool:
    """HTTP Basic is offered and accepted: over HTTPS (``request.is_secure``; behind a
    TLS-terminating proxy, its ``X-Forwarded-Proto`` trusted through ``PROXY_FIX``) and
    not to a browser (``Sec-Fetch-Mode``, which scripts cannot set): a browser would pop
    up a password dialog over our own login, and could send cached credentials with a
    request another site started."""
    return request.is_secure and "Sec-Fetch-Mode" not in request.headers


def _basic_header() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[6:].strip() if header[:6].lower() == "basic " else None


def _basic_user() -> User:
    """The user of valid Basic credentials; failed tries count against the login rate
    limit (``LOGIN_RATE_LIMIT``, per address) and lock the username and the address
    (``fieldapp.auth.throttle``) like the login page's: 429 while locked."""
    limit = parse(current_app.config["LOGIN_RATE_LIMIT"])
    address = throttle.client_address()
    if not limiter.limiter.test(limit, "openrosa-basic", address):
        fail(429, _("尝试次数过多，请稍后再试"))
    try:
        username, _sep, password = (
            base64.b64decode(_basic_header() or "", validate=True).decode("utf-8").partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        username = password = ""
    lock = throttle.lock_in_force(username, address)
    if lock is not None:
        fail(429, throttle.lock_message(lock))
    user = check_password(username, password) if username and password else None
    if user is None:
        limiter.limiter.hit(limit, "openrosa-basic", address)
        lock = throttle.record_failure(username, address)
        db.session.commit()
        fail(
            429 if lock else 401,
            throttle.lock_message(lock) if lock else _("用户名或密码不正确，或账号已停用"),
        )
    throttle.clear_account(username)
    if user.must_change_password:
        fail(403, _("请先在手机浏览器登录本系统，修改一次性密码后，再在 ODK Collect 中使用新密码"))
    if user.totp_secret:  # a password alone would skip the second factor
        fail(
            403,
            _(
                "此账号已开启两步验证，不能在 ODK Collect 中只用密码登录：请扫描账号的 "
                "ODK Collect 二维码（在“人员 → 手机与 ODK Collect”页生成）"
            ),
        )
    db.session.commit()  # a rehashed password is kept
    return user


def _app_user(secret: str) -> User:
    user = user_for_token(secret, purpose="collect") if secret else None
    if user is None:
        fail(403, _("此 ODK Collect 地址已失效（已撤销，或账号已停用）；请向督导索取新的二维码"))
    if db.session.dirty:  # last_used_at, at most once a minute (user_for_token)
        db.session.commit()
    return user


def _draft_tester(token: str) -> DraftTester:
    form = db.session.scalar(select(Form).where(Form.draft_token == token)) if token else None
    if form is None or form.state != DRAFT:
        fail(404, _("此测试链接无效：问卷已发布或草稿已删除"))
    return DraftTester(form)


def challenge() -> str:
    """The ``WWW-Authenticate`` value of a 401 on an OpenRosa route: Basic when it may
    be used (``basic_allowed``), else Bearer (which Collect does not answer, so it asks
    its user instead of sending a password over plain HTTP)."""
    return (
        f'Basic realm="{REALM}", charset="UTF-8"' if basic_allowed() else f'Bearer realm="{REALM}"'
    )
