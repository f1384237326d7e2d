"""Filters shared by exports, the data table and the dashboard: date range, area (within
the user's scope), form version and submitter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import Select, select

from fieldapp.areas.models import Area
from fieldapp.auth.models import User
from fieldapp.extensions import db
from fieldapp.scope import area_in_scope, areas_in_scope, within
from fieldapp.submissions.models import Submission
from fieldapp.surveys.models import Form, FormVersion


class FilterError(ValueError):
    """A filter value a person can correct (bad date, unknown area…)."""


@dataclass(frozen=True)
class SubmissionFilter:
    """Which submissions to include. Dates are local days in ``tz``, both ends included."""

    date_from: date | None = None
    date_to: date | None = None
    area_code: str | None = None
    version: str | None = None
    submitter: str | None = None

    @classmethod
    def from_args(cls, args) -> SubmissionFilter:
        """Read ``from``, ``to`` (YYYY-MM-DD, days the server received submissions, in the
        configured time zone), ``area``, ``version``, ``submitter`` from a mapping such as
        ``request.args``; raise ``FilterError`` for a malformed date or ``from`` > ``to``."""

        def day(key):
            value = (args.get(key) or "").strip()
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise FilterError(f"日期 {value} 格式不正确，应为 2026-01-31") from exc

        def text(key):
            return (args.get(key) or "").strip() or None

        first, last = day("from"), day("to")
        if first and last and first > last:
            raise FilterError(gettext("开始日期晚于结束日期"))
        return cls(first, last, text("area"), text("version"), text("submitter"))

    def as_args(self) -> dict[str, str]:
        """The filter as query arguments (for links that keep it)."""
        out = {
            "from": self.date_from,
            "to": self.date_to,
            "area": self.area_code,
            "version": self.version,
            "submitter": self.submitter,
        }
        return {k: str(v) for k, v in out.items() if v}

    def apply(self, stmt: Select, user: User, tz: str = "Asia/Shanghai") -> Select:
        """Narrow a ``select(Submission)`` already limited to ``user``'s scope.

        An area outside the user's scope raises ``FilterError`` (it would silently show
        nothing otherwise)."""
        zone = ZoneInfo(tz)
        if self.date_from:
            # UTC: SQLite keeps times as zone-less UTC text and drops a bound's zone.
            start = datetime.combine(self.date_from, time.min, zone).astimezone(UTC)
            stmt = stmt.where(Submission.received_at >= start)
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time.min, zone).astimezone(UTC)
            stmt = stmt.where(Submission.received_at < end)
        if self.area_code:
            area = db.session.scalar(select(Area).where(Area.code == self.area_code))
            if area is None or not area_in_scope(user, area):
                raise FilterError(f"区划 {self.area_code} 不在您的范围内")
            stmt = stmt.where(within(area, Submission.area_id))
        if self.version:
            stmt = stmt.where(
                Submission.form_version_id.in_(
                    select(FormVersion.id).where(FormVersion.version == self.version)
                )
            )
        if self.submitter:
            stmt = stmt.where(
                Submission.submitter_id.in_(select(User.id).where(User.username == self.submitter))
            )
        return stmt


def filter_options(user: User, form: Form, scoped: Select) -> dict:
    """What the filter form offers: areas in ``user``'s subtree, the form's versions and
    the people who submitted within ``scoped``."""
    areas = db.session.scalars(areas_in_scope(user)).all()
    submitters = db.session.execute(
        select(User.username, User.display_name)
        .where(User.id.in_(scoped.order_by(None).with_only_columns(Submission.submitter_id)))
        .order_by(User.username)
    ).all()
    return {
        "areas": [(a.code, a.name, a.path.count("/") - user.area.path.count("/")) for a in areas],
        "versions": [v.version for v in reversed(form.versions)],
        "submitters": [(u, d or u) for u, d in submitters],
    }
