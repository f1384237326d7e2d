"""How a request becomes a user: the session cookie, or ``Authorization: Bearer``."""

from __future__ import annotations

from flask import Flask, Request, current_app, g, session

from fieldapp.auth.models import User
from fieldapp.extensions import login_manager


def bearer_secret(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def token_user(request: Request) -> User | None:
    """The active user of a valid ``Authorization: Bearer`` API token on this request,
    or ``None`` (no header, or an unknown, revoked or dead token); looked up once per
    request. Only a user found here spares a request the CSRF check
    (``fieldapp.auth.csrf.needs_csrf``)."""
    if "bearer_user" not in g:
        from fieldapp.auth.services import user_for_token

        secret = bearer_secret(request)
        g.bearer_user = user_for_token(secret) if secret else None
    return g.bearer_user


def register(app: Flask) -> None:
    """Install Flask-Login's loaders."""

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        from fieldapp.auth.services import session_user

        try:
            uid = int(user_id)
        except ValueError:
            return None
        hours = float(current_app.config["SESSION_HOURS"])
        return session_user(uid, session.get("sid"), hours)

    @login_manager.request_loader
    def load_from_token(request: Request) -> User | None:
        return token_user(request)
