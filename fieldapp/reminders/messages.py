"""What a person's phone is told today: one push per kind at most, with counts and
kinds only (the lock screen shows it: never a name, household label, person or place).

- ``visits``: one daily summary of the households overdue, due today and due tomorrow;
- ``report``: the report periods of their unit with nothing filed whose deadline is
  within config ``REMINDER_DEADLINE_DAYS`` days (today included);
- ``assigned``: households newly given to them by someone else since the last such
  reminder (at most ``todo.ASSIGNED_DAYS`` back);
- ``digest`` (``scope.receives_digest``): overdue visits of their subtree and units that
  missed the latest past period of a report.

The payload is the contract's JSON: {kind, title, body, url, tag}."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from fieldapp import scope
from fieldapp.auth.models import User
from fieldapp.extensions import db
from fieldapp.reminders import todo
from fieldapp.reminders.models import (
    ASSIGNED,
    DIGEST,
    REPORT,
    VISITS,
    ReminderDelivery,
    ReminderPreference,
)

TITLE = "平安家庭"
TODO_URL = "/app#/todo"
DIGEST_URL = "/cases/"
URGENCY = {VISITS: "normal", REPORT: "high", ASSIGNED: "normal", DIGEST: "low"}


@dataclass(frozen=True)
class Reminder:
    """One push for one person on ``day``: ``kind``, what it says and where a tap goes."""

    kind: str
    day: date
    body: str
    url: str = TODO_URL

    @property
    def tag(self) -> str:
        """The notification's tag: a newer one of the same kind and day replaces it."""
        return f"{self.kind}-{self.day.isoformat()}"

    @property
    def urgency(self) -> str:
        """The Web Push ``Urgency`` header (RFC 8030 §5.3)."""
        return URGENCY[self.kind]

    def payload(self) -> str:
        """The JSON the service worker receives (encrypted on the way)."""
        out = {
            "kind": self.kind,
            "title": TITLE,
            "body": self.body,
            "url": self.url,
            "tag": self.tag,
        }
        return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def _visits(day: date, user: User) -> Reminder | None:
    overdue, today, tomorrow = todo.visits_due(user, day)
    parts = []
    if today:
        parts.append(_("%(n)s户今日待走访", n=len(today)))
    if tomorrow:
        parts.append(_("%(n)s户明日待走访", n=len(tomorrow)))
    if overdue:
        parts.append(_("%(n)s户已逾期", n=len(overdue)))
    if not parts:
        return None
    return Reminder(VISITS, day, _("您有%(list)s", list="，".join(parts)))


def _report(day: date, user: User) -> Reminder | None:
    window = int(current_app.config["REMINDER_DEADLINE_DAYS"])
    due = [
        r
        for r in todo.unfiled_reports(user, day)
        if r["status"] == todo.PENDING
        and 0 <= (date.fromisoformat(r["deadline"]) - day).days <= window
    ]
    if not due:
        return None
    first = min((date.fromisoformat(r["deadline"]) - day).days for r in due)
    when = _("今天") if first == 0 else _("%(n)s天内", n=first)
    return Reminder(
        REPORT, day, _("有%(n)s份报告%(when)s截止，尚未上报（可报零报告）", n=len(due), when=when)
    )


def _assigned(day: date, user: User, now: datetime) -> Reminder | None:
    since = todo.day_start(day - timedelta(days=todo.ASSIGNED_DAYS - 1))
    last = db.session.scalar(
        select(func.max(ReminderDelivery.created_at)).where(
            ReminderDelivery.user_id == user.id, ReminderDelivery.kind == ASSIGNED
        )
    )
    if last is not None:
        last = last if last.tzinfo else last.replace(tzinfo=since.tzinfo)  # SQLite: naive UTC
        since = max(since, last)
    found = todo.assigned_since(user, since, now)
    if not found:
        return None
    return Reminder(ASSIGNED, day, _("新分配给您%(n)s户家庭，请查看待办", n=len(found)))


def _digest(day: date, user: User) -> Reminder | None:
    if not scope.receives_digest(user):
        return None
    found = todo.digest_for(user, day)
    parts = []
    if found.overdue:
        parts.append(_("%(n)s户走访已逾期", n=found.overdue))
    if found.missing_units:
        parts.append(_("%(n)s个单位上期未上报", n=found.missing_units))
    if not parts:
        return None
    return Reminder(DIGEST, day, _("辖区内%(list)s", list="，".join(parts)), DIGEST_URL)


def reminders_for(
    user: User, pref: ReminderPreference, day: date, now: datetime, done: frozenset = frozenset()
) -> list[Reminder]:
    """The reminders ``user`` gets on ``day`` (``now``: this moment), for the kinds
    ``pref`` leaves on but those in ``done`` (already claimed for every device today:
    not computed again); kinds with nothing to say are left out."""
    makers = {
        VISITS: lambda: _visits(day, user),
        REPORT: lambda: _report(day, user),
        ASSIGNED: lambda: _assigned(day, user, now),
        DIGEST: lambda: _digest(day, user),
    }
    out = [make() for kind, make in makers.items() if getattr(pref, kind) and kind not in done]
    return [r for r in out if r is not None]
