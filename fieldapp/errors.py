"""Errors as the client wants them: JSON for the API, OpenRosa XML for phones, HTML else.

The kind is chosen by the blueprint that answers the request (``BLUEPRINT_KINDS``; a URL
no route matches goes by the blueprint whose URL prefix it falls under), or by a view
marked ``json_errors`` (a JSON endpoint of an HTML feature). Every message is one a
person can act on, in the UI language.
"""

from __future__ import annotations

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from fieldapp.extensions import db, login_manager

JSON, OPENROSA, HTML = "json", "openrosa", "html"
BLUEPRINT_KINDS = {
    "api": JSON,
    "reminders": JSON,  # /api/v1/push, /api/v1/reminders
    "openrosa": OPENROSA,
    "openrosa_key": OPENROSA,
    "openrosa_test": OPENROSA,
    "cases": HTML,
    "reports": HTML,
}


def json_errors(view):
    """Mark a view of an HTML blueprint whose errors are JSON (a page's data endpoint)."""
    view.error_kind = JSON
    return view


def error_kind() -> str:
    """``json``, ``openrosa`` or ``html``: how the current request's errors are written."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if getattr(view, "error_kind", None):
        return view.error_kind
    blueprint = request.blueprint
    if blueprint is None:  # no route matched: the blueprint whose prefix the path is under
        blueprint = next(
            (
                name
                for name, bp in current_app.blueprints.items()
                if bp.url_prefix and request.path.startswith(bp.url_prefix.rstrip("/") + "/")
            ),
            None,
        )
    return BLUEPRINT_KINDS.get(blueprint, HTML)


def _messages() -> dict[int, str]:
    return {
        400: _("请求无效，请返回重试"),
        401: _("请先登录"),
        403: _("您没有权限访问此内容"),
        404: _("找不到该页面或数据"),
        405: _("不支持此操作"),
        413: _("上传的文件太大"),
        429: _("尝试次数过多，请稍后再试"),
        500: _("服务器出错了，您的数据没有丢失，请稍后再试"),
    }


def fail(status: int, message: str):
    """Abort the request with ``status`` and a message meant for the person asking."""
    try:
        abort(status)
    except HTTPException as exc:
        exc.user_message = message
        raise


def error_response(status: int, message: str | None = None):
    """Render an error for the kind of client asking."""
    from fieldapp.openrosa.responses import openrosa_message

    message = message or _messages().get(status, _("出错了"))
    kind = error_kind()
    if kind == JSON:
        return jsonify(error={"status": status, "message": message}), status
    # A browser opening an OpenRosa URL gets a page; ODK Collect and the phone app's
    # POSTs get OpenRosa XML.
    if kind == OPENROSA and (
        not request.accept_mimetypes.accept_html or request.method not in ("GET", "HEAD")
    ):
        return openrosa_message(message, status=status, nature="error")
    return render_template("errors/error.html", status=status, message=message), status


def _deactivated_in_session() -> bool:
    """True when the browser's session names a user who has since been deactivated (the
    login itself was ended on the server when that happened)."""
    from fieldapp.auth.models import User

    if request.headers.get("Authorization"):  # a token speaks for itself
        return False
    user_id = session.get("_user_id")
    if not user_id or not str(user_id).isdigit():
        return False
    user = db.session.get(User, int(user_id))
    return user is not None and not user.active


def _has_nul() -> bool:
    """True when the path, a query argument or a form field holds a NUL character: no
    person types one, PostgreSQL refuses it in text, and SQLite would store it."""
    if "\x00" in request.path:
        return True
    if any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        return True
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            fields = request.form.items(multi=True)
        except RequestEntityTooLarge:
            return False  # the view answers that one in its own words
        return any("\x00" in k or "\x00" in v for k, v in fields)
    return False


def register(app: Flask) -> None:
    """Install the error handlers, the unauthorized handler, and the refusal of requests
    with a NUL character (before any view reads them)."""

    @app.before_request
    def refuse_nul():
        if _has_nul():
            return error_response(400, _("请求中含有不允许的字符（空字符）；请检查链接或输入"))
        return None

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        if request.endpoint == "auth.login":  # a login page left open too long: try again
            flash(_("登录页面已过期，请重新输入用户名和密码"), "error")
            return redirect(request.full_path.rstrip("?"))
        if request.endpoint == "openrosa.submission":
            # The fill page fetches a fresh token and sends again: answers stay on the page.
            resp = error_response(400, _("安全令牌已失效，请重新提交"))
            resp.headers["X-Fieldapp-CSRF"] = "invalid"
            return resp
        return error_response(
            400, _("页面已过期（安全令牌失效），请刷新页面后重试；已填写的内容请先复制保存")
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        resp = app.make_response(
            error_response(exc.code or 500, getattr(exc, "user_message", None))
        )
        # A 405 says which methods the address takes (RFC 9110 §15.5.6: Allow).
        allowed = getattr(exc, "valid_methods", None)
        if exc.code == 405 and allowed:
            resp.headers["Allow"] = ", ".join(sorted(allowed))
        return resp

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s", request.path)
        return error_response(500)

    @login_manager.unauthorized_handler
    def unauthorized():
        # Clients of the API and OpenRosa get 401 and a challenge; pages (their JSON
        # endpoints included) go to the login page.
        if BLUEPRINT_KINDS.get(request.blueprint) in (JSON, OPENROSA):
            if request.blueprint == "api" and _deactivated_in_session():
                # Not "your login expired": the phone app must not promise to send
                # after the next login (it keeps the work and says whom to ask).
                message = _("此账号已停用。已填写的问卷保存在本机，不会丢失；请联系督导。")
                body = {"status": 403, "message": message, "code": "account_deactivated"}
                return jsonify(error=body), 403
            resp = error_response(401)
            resp = resp if not isinstance(resp, tuple) else app.make_response(resp)
            resp.headers["WWW-Authenticate"] = 'Bearer realm="fieldapp"'
            return resp
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
