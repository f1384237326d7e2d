"""Questionnaires: list, fill in, publish (XLSForm upload)."""

from flask import Blueprint

bp = Blueprint("surveys", __name__)

from fieldapp.surveys import views  # noqa: E402,F401
