"""How a request becomes a user: the session cookie, or ``Authorization: Bearer``."""

from __future__ import annotations

from flask import Flask, Request

from fieldapp.auth.models import User
from fieldapp.extensions import db, login_manager


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
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.active else None

    @login_manager.request_loader
    def load_from_token(request: Request) -> User | None:
        from fieldapp.auth.services import user_for_token

        secret = bearer_secret(request)
        return user_for_token(secret) if secret else None
