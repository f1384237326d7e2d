"""CSRF on routes that a browser and a script both call: the one rule for them.

Every POST, PUT, PATCH and DELETE carries the page's CSRF token (Flask-WTF's
``CSRFProtect``, app-wide). A few routes are also called by phones and scripts with a
credential of their own (the OpenRosa ``/submission``, the reminders JSON API); they are
declared with ``csrf_unless_credential``: a credential that was checked and held (a valid
Bearer token, HTTP Basic over HTTPS, an ODK Collect app-user key, a draft test link)
spares the check; a caller let in by the session cookie must send the token. An
``Authorization`` header that authenticated nobody spares nothing (issue 14).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, request

from fieldapp.extensions import csrf
from fieldapp.loaders import token_user


def needs_csrf() -> bool:
    """True when the caller of this request was let in by the browser session cookie.

    On an OpenRosa route, ``fieldapp.openrosa.auth.authenticate`` has said which way
    (``g.caller_via``: ``session``, ``token``, ``basic``, ``key``, ``draft``); elsewhere
    the caller is the session's unless a valid Bearer token came with the request
    (``fieldapp.loaders.token_user``)."""
    via = g.get("caller_via")
    if via is None:
        return token_user(request) is None
    return via == "session"


def csrf_unless_credential(view: Callable) -> Callable:
    """Declare a write route that scripts may call with a credential: exempt from the
    app-wide check, protected here when ``needs_csrf()``. Put it below the decorator
    that finds the caller (``scope.token_route``, ``scope.logged_in``) so a caller
    nobody let in is refused (401) before the token is asked for."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if needs_csrf():
            csrf.protect()
        return view(*args, **kwargs)

    return csrf.exempt(wrapped)
