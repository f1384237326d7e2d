"""我的账号 → 两步验证: turn two-factor sign-in on (QR code, secret as text, a first code,
recovery codes shown once) or off; and the gate that sends a person whose role must
have it (``TOTP_REQUIRED_ROLES``) to set it up before anything else. The login's second
step is ``auth.views.login_code``; a manager's reset, ``people.views.reset_two_factor``."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp.audit.services import record
from fieldapp.auth import two_factor
from fieldapp.auth.forms import CodeForm, TwoFactorOffForm
from fieldapp.auth.services import end_sessions, verify_password
from fieldapp.auth.views import _safe_next, bp
from fieldapp.errors import JSON, OPENROSA, error_kind, error_response
from fieldapp.extensions import db
from fieldapp.scope import logged_in, must_set_up_totp_first, totp_required
from fieldapp.surveys.drafts import qr_svg

SETUP = "totp_setup"  # session: the secret being set up, until confirmed


@bp.before_app_request
def two_factor_first():
    """Someone whose role must sign in with a second factor sets it up before anything
    else (``scope.must_set_up_totp_first``): pages go to the set-up page, the JSON API
    and OpenRosa answer 403 with a message."""
    if not must_set_up_totp_first(current_user, request.endpoint):
        return None
    url = url_for("auth.two_factor")
    message = _("请先开启两步验证：您的角色必须用密码加验证码登录，开启后才能继续使用。")
    kind = error_kind()
    if kind == JSON:
        body = {"status": 403, "message": message, "code": "totp_setup_required"}
        return jsonify(error={**body, "two_factor_url": url}), 403
    if kind == OPENROSA or request.method not in ("GET", "HEAD"):
        return error_response(403, message)
    return redirect(url_for("auth.two_factor", next=request.full_path.rstrip("?")))


def _setup_page(form: CodeForm, status: int = 200):
    secret = session.get(SETUP)
    if not secret:
        secret = session[SETUP] = two_factor.new_secret()
    uri = two_factor.provisioning_uri(current_user, secret)
    return render_template(
        "auth/two_factor.html",
        form=form,
        off_form=None,
        qr=qr_svg(uri, _("两步验证二维码")),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        required=totp_required(current_user),
    ), status


@bp.get("/account/two-factor", endpoint="two_factor")
@logged_in
def two_factor_page():
    """Two-factor sign-in: when off, a new secret to scan and a first code to confirm it;
    when on, how many recovery codes are left and how to turn it off."""
    if not two_factor.is_on(current_user):
        return _setup_page(CodeForm())
    return render_template(
        "auth/two_factor.html",
        form=None,
        off_form=TwoFactorOffForm(),
        left=two_factor.recovery_codes_left(current_user),
        required=totp_required(current_user),
    )


@bp.post("/account/two-factor/confirm")
@logged_in
def two_factor_confirm():
    """Turn two-factor sign-in on with the first code of the secret being set up; show
    the recovery codes once. Other browser logins end."""
    form = CodeForm()
    secret = session.get(SETUP)
    if two_factor.is_on(current_user):
        return redirect(url_for("auth.two_factor"))
    if not form.validate_on_submit() or not secret:
        return _setup_page(form, 400)
    codes = two_factor.turn_on(current_user, secret, form.code.data)
    if codes is None:
        record(current_user.id, "totp_failed", f"user:{current_user.username}", setup=True)
        db.session.commit()
        flash(_("验证码不正确：请输入验证器应用里现在显示的 6 位数字（手机时间要准确）"), "error")
        return _setup_page(form, 400)
    session.pop(SETUP, None)
    end_sessions(current_user, keep_sid=session.get("sid"))
    record(current_user.id, "totp_enable", f"user:{current_user.username}")
    db.session.commit()
    return render_template(
        "auth/recovery_codes.html", codes=codes, next=_safe_next(request.args.get("next"))
    )


@bp.post("/account/two-factor/off")
@logged_in
def two_factor_off():
    """Turn two-factor sign-in off (the password again); refused for a role that must
    have it."""
    form = TwoFactorOffForm()
    if totp_required(current_user):
        flash(_("您的角色必须使用两步验证，不能关闭。换了手机请请管理员重置。"), "error")
        return redirect(url_for("auth.two_factor"))
    if not form.validate_on_submit() or not verify_password(current_user, form.password.data):
        flash(_("当前密码不正确"), "error")
        return redirect(url_for("auth.two_factor"))
    two_factor.turn_off(current_user)
    record(current_user.id, "totp_disable", f"user:{current_user.username}")
    db.session.commit()
    flash(_("已关闭两步验证：以后只用密码登录"), "info")
    return redirect(url_for("auth.account"))
