"""How a request becomes a user: the session cookie, or ``Authorization: Bearer``."""

from __future__ import annotations

from flask import Flask, Request, current_app, session

from fieldapp.auth.models import User
from fieldapp.extensions import login_manager


def bearer_secret(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


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
        from fieldapp.auth.services import user_for_token

        secret = bearer_secret(request)
        return user_for_token(secret) if secret else None
