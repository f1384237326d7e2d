"""The reminders API (issue 13; notes/reminders_contract.md), under /api/v1 beside the
rest of the JSON API: the VAPID public key, one's push subscriptions, one's reminder
preferences and one's to-do list. Session or Bearer; a session's POST, PUT and DELETE
carry the page's CSRF token (``X-CSRFToken``), a valid Bearer token spares it, as for
the OpenRosa submission (``fieldapp.auth.csrf.csrf_unless_credential``). Bad input: 400
with a message in the UI language."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from fieldapp import clock
from fieldapp.auth.csrf import csrf_unless_credential
from fieldapp.errors import fail
from fieldapp.extensions import db
from fieldapp.reminders import preferences, subscriptions, todo, vapid
from fieldapp.scope import logged_in

bp = Blueprint("reminders", __name__, url_prefix="/api/v1")


MAX_JSON = 64 * 1024  # bytes; a subscription or preferences take well under 1 KB


def _json_body():
    """The request's JSON body; 400 when it is not JSON (nested too deep for the parser
    included: a RecursionError was a 500), 413 above ``MAX_JSON`` bytes (not parsed)."""
    if (request.content_length or 0) > MAX_JSON:
        fail(413, _("请求内容太大"))
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    if body is None:
        fail(400, _("请求内容应为 JSON"))
    return body


def _stored(change, *args):
    """``change(*args)`` committed; once more when another request stored the same row
    (an endpoint, a user's preferences) at the same moment. 400 with its message for a
    ``ValueError`` (``SubscriptionError``, ``PreferenceError``)."""
    for last in (False, True):
        try:
            out = change(*args)
            db.session.commit()
            return out
        except ValueError as exc:
            db.session.rollback()
            fail(400, str(exc))
        except IntegrityError:
            db.session.rollback()
            if last:
                raise
    return None  # pragma: no cover


@bp.get("/push/key")
@logged_in
def push_key():
    """The server's VAPID public key, for ``pushManager.subscribe``."""
    return jsonify(public_key=vapid.public_key())


@bp.post("/push/subscriptions")
@logged_in
@csrf_unless_credential
def push_subscribe():
    """Store the caller's push subscription (``PushSubscription.toJSON()`` and an
    optional ``device`` label): 201 {id}, or 200 {id} for an endpoint already known
    (now the caller's)."""
    sub, created = _stored(subscriptions.subscribe, current_user, _json_body())
    return jsonify(id=sub.id), 201 if created else 200


@bp.delete("/push/subscriptions")
@logged_in
@csrf_unless_credential
def push_unsubscribe():
    """Delete the caller's own subscription of ``{"endpoint": …}``: 204 (also when there
    was none of theirs)."""
    _stored(subscriptions.unsubscribe, current_user, _json_body())
    return "", 204


def _preferences_json():
    pref = preferences.preferences_of(current_user.id)
    return jsonify(preferences.as_json(pref, subscriptions.device_count(current_user)))


@bp.get("/reminders/preferences")
@logged_in
def get_preferences():
    """The caller's reminder kinds, quiet hours and how many devices receive pushes."""
    return _preferences_json()


@bp.put("/reminders/preferences")
@logged_in
@csrf_unless_credential
def put_preferences():
    """Store the caller's reminder kinds and quiet hours; answers the stored shape."""
    _stored(preferences.save, current_user, _json_body())
    return _preferences_json()


@bp.get("/reminders/todo")
@logged_in
def get_todo():
    """The caller's to-do items today (config ``TIMEZONE``); ``?day=YYYY-MM-DD`` only
    while ``TESTING``."""
    day = clock.today()
    asked = request.args.get("day")
    if asked is not None and current_app.config.get("TESTING"):
        try:
            day = date.fromisoformat(asked)
        except ValueError:
            fail(400, _("日期应为 YYYY-MM-DD 格式"))
    return jsonify(todo.todo_for(current_user, day).as_json())
