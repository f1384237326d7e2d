"""Login, logout, the language switch, and one's own account (password, language)."""

from __future__ import annotations

from time import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from fieldapp.audit.services import record, record_failed_login
from fieldapp.auth import throttle, two_factor
from fieldapp.auth.forms import ChangePasswordForm, CodeForm, LanguageForm, LoginForm
from fieldapp.auth.models import User
from fieldapp.auth.services import (
    UserError,
    change_own_password,
    end_session,
    set_language_choice,
    sign_in,
    start_session,
)
from fieldapp.errors import JSON, OPENROSA, error_kind, error_response
from fieldapp.extensions import db, limiter
from fieldapp.scope import logged_in, must_change_password_first, public, totp_required

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths may be redirect targets."""
    if (
        target
        and not urlsplit(target).netloc
        and target.startswith("/")
        and not target.startswith("//")
    ):
        return target
    return url_for("surveys.index")


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["LOGIN_RATE_LIMIT"]


def _refused(response) -> bool:
    return response.status_code != 302  # a login that worked (or an expired page) redirects


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_refused)
def login():
    """Show the login form; log the user in. Failed logins lock the username and the
    client address for a while (``fieldapp.auth.throttle``): 429 with when to retry."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        username, address = form.username.data.strip(), throttle.client_address()
        lock = throttle.lock_in_force(username, address)
        if lock is not None:  # no password is checked while locked
            flash(throttle.lock_message(lock), "error")
            return render_template("auth/login.html", form=form), 429
        attempt = sign_in(username, form.password.data)
        user = attempt.user
        if user is None:
            record_failed_login(username)  # the name tried, no password
            lock = throttle.record_failure(username, address)
            db.session.commit()
            flash(throttle.lock_message(lock) if lock else attempt.refusal, "error")
            if lock is not None:
                return render_template("auth/login.html", form=form), 429
        elif two_factor.is_on(user):  # the password alone clears no failure count
            db.session.commit()  # a rehashed password is kept
            session[PENDING] = {"uid": user.id, "next": request.args.get("next"), "at": time()}
            return redirect(url_for("auth.login_code"))
        else:
            return _finish_login(user, request.args.get("next"))
    elif request.method == "POST":
        flash(_("请填写用户名和密码"), "error")
    return render_template("auth/login.html", form=form)


def _finish_login(user, next_: str | None, **detail):
    """Log ``user`` in (a fresh session, its login recorded) and send them on: to their
    own password first after a one-time one, then to set up a second factor when their
    role must have one, else to ``next_``."""
    throttle.clear_account(user.username)
    lang = session.get("lang")
    session.clear()  # no session fixation: a fresh session for the new login
    if user.language or lang:  # the account page's choice, else this browser's
        session["lang"] = user.language or lang
    login_user(user)
    session["sid"] = start_session(user)
    session.permanent = True
    record(user.id, "login", f"user:{user.username}", **detail)
    db.session.commit()
    target = _safe_next(next_)
    if user.must_change_password:  # a one-time password: their own one first
        return redirect(url_for("auth.change_password", next=target))
    if totp_required(user) and not two_factor.is_on(user):
        return redirect(url_for("auth.two_factor", next=target))
    return redirect(target)


PENDING = "2fa_pending"  # session: a password checked, the second factor awaited
PENDING_SECONDS = 300


def _pending_user():
    """The user whose password was checked in this browser in the last
    ``PENDING_SECONDS`` and who owes a second factor, or None."""
    pending = session.get(PENDING)
    if not pending or time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = db.session.get(User, pending.get("uid"))
    return user if user is not None and user.active and two_factor.is_on(user) else None


@bp.route("/login/code", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_refused)
def login_code():
    """The second step of a login with two-factor sign-in: an authenticator code, or a
    recovery code (each once). Wrong codes count as failed logins of the account and the
    address (``fieldapp.auth.throttle``); a lock ends the attempt."""
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(_("请重新输入用户名和密码"), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/login_code.html", form=form), status
    address = throttle.client_address()
    lock = throttle.lock_in_force(user.username, address)
    if lock is None:
        factor = two_factor.check_code(user, form.code.data.strip())
        if factor is not None:
            next_ = session.pop(PENDING).get("next")
            if factor == "recovery":
                left = two_factor.recovery_codes_left(user)
                record(user.id, "totp_recovery_used", f"user:{user.username}", left=left)
                flash(_("已用掉一个恢复码，还剩 %(n)s 个。", n=left), "info")
            return _finish_login(user, next_, second_factor=factor)
        record(user.id, "totp_failed", f"user:{user.username}")
        lock = throttle.record_failure(user.username, address)
        db.session.commit()
    if lock is not None:
        session.pop(PENDING, None)
        flash(throttle.lock_message(lock), "error")
        return render_template("auth/login_code.html", form=form), 429
    flash(
        _("验证码不正确或已用过：请输入验证器应用里现在显示的 6 位数字，或一个未用过的恢复码"),
        "error",
    )
    return render_template("auth/login_code.html", form=form), 400


@bp.post("/logout")
@public
def logout():
    """Log out (POST with a CSRF token, so that no other site can log you out)."""
    if current_user.is_authenticated:
        record(current_user.id, "logout", f"user:{current_user.username}")
    end_session(session.get("sid"))  # a copy of the old cookie logs no one in
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))


@bp.get("/lang/<lang>")
@public
def set_language(lang: str):
    """Remember the chosen UI language (zh or en) in the session."""
    if lang in ("zh", "en"):
        session["lang"] = lang
    return redirect(_safe_next(request.args.get("next")))


@bp.get("/csrf-token")
@logged_in
def csrf_token():
    """A fresh CSRF token for a page whose token no longer matches the session."""
    return jsonify(token=generate_csrf())


# -- one's own account ---------------------------------------------------------------


@bp.before_app_request
def password_change_first():
    """Someone whose password was set by another (a new user, a reset) chooses their own
    before anything else (``scope.must_change_password_first``): pages go to the change
    page, the JSON API and OpenRosa answer 403 with a message (the phone app shows it
    with a link to the change page)."""
    if not must_change_password_first(current_user, request.endpoint):
        return None
    url = url_for("auth.change_password")
    message = _(
        "请先修改密码：您的密码是别人为您设置的一次性密码，设置自己的新密码后才能继续使用。"
    )
    kind = error_kind()
    if kind == JSON:
        body = {"status": 403, "message": message, "code": "password_change_required"}
        return jsonify(error={**body, "change_password_url": url}), 403
    if kind == OPENROSA or request.method not in ("GET", "HEAD"):
        return error_response(403, message)
    return redirect(url_for("auth.change_password", next=request.full_path.rstrip("?")))


@bp.get("/account")
@logged_in
def account():
    """My account: who I am, my language, a link to change my password."""
    form = LanguageForm(language=current_user.language or str(get_locale() or "zh"))
    return render_template("auth/account.html", form=form)


@bp.post("/account/language")
@logged_in
def account_language():
    """Keep my UI language (for every later login too)."""
    form = LanguageForm()
    if form.validate_on_submit():
        set_language_choice(current_user, form.language.data)
        session["lang"] = form.language.data
        db.session.commit()
        flash(_("界面语言已保存"), "info")
    return redirect(url_for("auth.account"))


@bp.route("/account/password", methods=["GET", "POST"])
@logged_in
def change_password():
    """Change my password (the current one first); required after a one-time password."""
    form = ChangePasswordForm()
    forced = current_user.must_change_password
    if form.validate_on_submit():
        try:
            change_own_password(current_user, form.current.data, form.new.data, session.get("sid"))
        except UserError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_template("auth/password.html", form=form, forced=forced), 400
        record(current_user.id, "password_change", f"user:{current_user.username}", forced=forced)
        db.session.commit()
        flash(_("密码已修改"), "info")
        return redirect(_safe_next(request.args.get("next")))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form, forced=forced), status


from fieldapp.auth import two_factor_views  # noqa: E402,F401  (its routes join ``bp``)
