"""Submissions: tables for supervisors and researchers, one submission, CSV download."""

from flask import Blueprint

bp = Blueprint("submissions", __name__, url_prefix="/data")

from fieldapp.submissions import views  # noqa: E402,F401
