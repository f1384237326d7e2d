"""JSON API v1 (read-only for now), described at ``/api/v1/openapi.json``."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from fieldapp.api import views  # noqa: E402,F401
