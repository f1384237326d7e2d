"""A person's reminder preferences: which kinds, and quiet hours (config ``TIMEZONE``)
during which nothing is sent (it goes out once they end). Defaults: every kind on,
21:00–08:00. Every ``PreferenceError`` carries a message in the UI language."""

from __future__ import annotations

import re
from datetime import time

from flask_babel import gettext as _
from sqlalchemy import select

from fieldapp.auth.models import User, utcnow
from fieldapp.extensions import db
from fieldapp.reminders.models import DEFAULT_QUIET, KINDS, ReminderPreference

HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")  # fullmatch: "21:00\n" is no time


class PreferenceError(ValueError):
    """Preferences cannot be stored as sent (message in the UI language)."""


def preferences_of(user_id: int) -> ReminderPreference:
    """The stored preferences of user ``user_id``, or the defaults (not added)."""
    found = db.session.scalar(
        select(ReminderPreference).where(ReminderPreference.user_id == user_id)
    )
    return found if found is not None else default_preferences(user_id)


def default_preferences(user_id: int) -> ReminderPreference:
    """The defaults of user ``user_id`` (every kind, quiet ``DEFAULT_QUIET``; not added)."""
    found = ReminderPreference(user_id=user_id, quiet_start=DEFAULT_QUIET[0])
    found.quiet_end = DEFAULT_QUIET[1]
    for kind in KINDS:
        setattr(found, kind, True)
    return found


def preferences_of_users(user_ids) -> dict[int, ReminderPreference]:
    """The preferences of each of ``user_ids`` (stored, or the defaults): one query."""
    stmt = select(ReminderPreference).where(ReminderPreference.user_id.in_(user_ids))
    stored = {p.user_id: p for p in db.session.scalars(stmt)}
    return {u: stored.get(u) or default_preferences(u) for u in user_ids}


def as_json(pref: ReminderPreference, devices: int) -> dict:
    """The contract's shape: {kinds: {visits, report, assigned, digest}, quiet_start,
    quiet_end, devices}."""
    return {
        "kinds": {kind: bool(getattr(pref, kind)) for kind in KINDS},
        "quiet_start": pref.quiet_start,
        "quiet_end": pref.quiet_end,
        "devices": devices,
    }


def save(user: User, body) -> ReminderPreference:
    """Store ``body`` (the shape of ``as_json``; any part may be left out and keeps its
    value; ``devices`` and unknown keys are ignored) as ``user``'s preferences and
    flush. Raises ``PreferenceError``: kinds not an object of true/false for the known
    kinds, a time not HH:MM."""
    if not isinstance(body, dict):
        raise PreferenceError(_("请求内容应为提醒设置（JSON 对象）"))
    pref = preferences_of(user.id)
    kinds = body.get("kinds", {})
    if not isinstance(kinds, dict):
        raise PreferenceError(_('提醒种类（kinds）应为对象，例如 {"visits": true}'))
    for key, value in kinds.items():
        if key not in KINDS:
            raise PreferenceError(
                _("没有这种提醒：%(kind)s（可选：%(kinds)s）", kind=key, kinds="、".join(KINDS))
            )
        if not isinstance(value, bool):
            raise PreferenceError(_("提醒种类 %(kind)s 的值应为 true 或 false", kind=key))
    times = {}
    for key in ("quiet_start", "quiet_end"):
        value = body.get(key, getattr(pref, key))
        if not isinstance(value, str) or not HHMM.fullmatch(value):
            raise PreferenceError(_("免打扰时间应为 时:分 格式，例如 21:00"))
        times[key] = value
    for key, value in kinds.items():
        setattr(pref, key, value)
    pref.quiet_start, pref.quiet_end = times["quiet_start"], times["quiet_end"]
    pref.updated_at = utcnow()
    if pref.id is None:
        db.session.add(pref)
    db.session.flush()
    return pref


def _time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(pref: ReminderPreference, moment: time) -> bool:
    """True when the local time ``moment`` lies in ``pref``'s quiet hours (from start,
    included, to end, excluded; over midnight when start is later than end; none when
    they are equal)."""
    start, end = _time(pref.quiet_start), _time(pref.quiet_end)
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end
