"""The federation's calendar: today's date in config ``TIMEZONE`` (Asia/Shanghai by
default), not the server's. What "overdue", "due today", "past its deadline", a to-do
list's day and "this year" of the figures are measured against; the one place that
reads it, so every page, the phone's API and the command line agree on the day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def today() -> date:
    """Today's date in config ``TIMEZONE`` (needs an app context)."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
