"""The page "手机与 ODK Collect" of a user: connect ODK Collect (a token shown once with
its URL and settings QR code), list and revoke connections, and the QR code of our
phone app's login page. Who may: ``scope.may_set_up_phone``."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from fieldapp.extensions import db
from fieldapp.phones import services
from fieldapp.scope import logged_in, phone_user_or_404

bp = Blueprint("phones", __name__, url_prefix="/admin/phones")


def _page(user, link=None, error=None, status=200):
    return (
        render_template(
            "phones/user.html",
            user=user,
            tokens=services.collect_tokens(user),
            link=link,
            error=error,
            action=FlaskForm(),
            login_url=url_for("auth.login", _external=True),
            app_qr=services.app_login_qr(url_for("auth.login", _external=True)),
            secure=request.is_secure,
        ),
        status,
    )


@bp.get("/<username>")
@logged_in
def user_phones(username: str):
    """The user's phone set-up page."""
    return _page(phone_user_or_404(username))


@bp.post("/<username>/collect")
@logged_in
def create_collect(username: str):
    """Connect an ODK Collect: make a token and show it once with its QR code."""
    user = phone_user_or_404(username)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        secret, token = services.create_collect_token(
            current_user, user, request.form.get("name", "")
        )
    except services.PhoneError as exc:
        db.session.rollback()
        return _page(user, error=str(exc), status=400)
    db.session.commit()
    link = services.collect_link(user, token, secret, request.url_root)
    return _page(user, link=link, status=201)


@bp.post("/<username>/collect/<int:token_id>/revoke")
@logged_in
def revoke_collect(username: str, token_id: int):
    """Revoke one ODK Collect connection: that phone is refused from its next request."""
    user = phone_user_or_404(username)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        token = services.revoke_collect_token(current_user, user, token_id)
    except services.PhoneError as exc:
        db.session.rollback()
        return _page(user, error=str(exc), status=404)
    db.session.commit()
    flash(_("已撤销“%(name)s”：这台手机不能再下载问卷或提交数据", name=token.name), "info")
    return redirect(url_for(".user_phones", username=user.username))
