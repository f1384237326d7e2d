"""Login, logout and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from fieldapp.auth.forms import LoginForm
from fieldapp.auth.services import authenticate, end_session, start_session
from fieldapp.extensions import db, limiter
from fieldapp.scope import logged_in, public

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


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Show the login form; log the user in."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data.strip(), form.password.data)
        if user is None:
            flash(_("用户名或密码不正确"), "error")
        else:
            lang = session.get("lang")
            session.clear()  # no session fixation: a fresh session for the new login
            if lang:
                session["lang"] = lang
            login_user(user)
            session["sid"] = start_session(user)
            session.permanent = True
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        flash(_("请填写用户名和密码"), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@public
def logout():
    """Log out (POST with a CSRF token, so that no other site can log you out)."""
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
