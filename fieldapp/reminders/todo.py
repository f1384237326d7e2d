"""The to-do items (待办) of one person on one day (issue 13; the contract in
notes/reminders_contract.md, "Shared definitions"): what the phone computes offline from
its lists, computed here from the database. The API (``/api/v1/reminders/todo``), the
push sender and the CLI all read it from these functions.

- ``overdue`` / ``due_today`` / ``due_tomorrow``: the person's open households (the rows
  of their ``households.csv``: ``scope.entities_in_scope`` less closed cases) whose next
  visit day is before today, today, tomorrow;
- ``report``: each report their unit files (``fieldapp.reports.phone.reports_for``) with
  a period (current or previous) where nothing is filed: ``pending`` (deadline not
  passed) or ``missing``;
- ``assigned``: open households of theirs given to them by someone else (versions
  create, assign, reopen naming them, made by another person) in the last
  ``ASSIGNED_DAYS`` days, today included (config ``TIMEZONE``).

The supervisors' digest (``digest_for``) counts what a supervisor chases: overdue visits
of their subtree and units that missed the latest past period of a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, or_, select

from fieldapp import scope
from fieldapp.auth.models import User
from fieldapp.cases.households import CLOSED, DATASET
from fieldapp.cases.models import Dataset, Entity, EntityVersion
from fieldapp.extensions import db
from fieldapp.reports.completeness import MISSING, PENDING, compute
from fieldapp.reports.models import ReportDefinition
from fieldapp.reports.phone import reports_for
from fieldapp.reports.services import ReportError

ASSIGNED_DAYS = 7
ASSIGNING_KINDS = ("create", "assign", "reopen")
UNFILED = (PENDING, MISSING)


@dataclass
class Todo:
    """One person's to-do items on ``day``: household ids (uuids) per kind, and the
    unfiled report periods (dicts of the contract's ``report`` item)."""

    day: date
    overdue: list[str] = field(default_factory=list)
    due_today: list[str] = field(default_factory=list)
    due_tomorrow: list[str] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)
    assigned: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        """The contract's ``{"day", "items": [...]}``; kinds with nothing left out."""
        items = [
            {"kind": kind, "count": len(ids), "households": ids}
            for kind, ids in (
                ("overdue", self.overdue),
                ("due_today", self.due_today),
                ("due_tomorrow", self.due_tomorrow),
            )
            if ids
        ]
        items += [{"kind": "report", **r} for r in self.reports]
        if self.assigned:
            items.append(
                {"kind": "assigned", "count": len(self.assigned), "households": self.assigned}
            )
        return {"day": self.day.isoformat(), "items": items}


def day_start(day: date) -> datetime:
    """The first moment of ``day`` in config ``TIMEZONE``, as an aware UTC time."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _households(person: scope.Person):
    """``select(Entity)`` of ``person``'s open households (their households.csv), or
    None when there is no households list yet."""
    ds = db.session.scalar(select(Dataset.id).where(Dataset.name == DATASET))
    if ds is None:
        return None
    return scope.entities_in_scope(person, ds).where(Entity.status != CLOSED)


def visits_due(person: scope.Person, day: date) -> tuple[list[str], list[str], list[str]]:
    """(overdue, due today, due tomorrow) household uuids of ``person``'s open
    households, by next visit day then uuid: one statement."""
    rows = _households(person)
    if rows is None:
        return [], [], []
    tomorrow = day + timedelta(days=1)
    stmt = rows.where(Entity.next_visit_due <= tomorrow).with_only_columns(
        Entity.uuid, Entity.next_visit_due
    )
    found = db.session.execute(stmt.order_by(Entity.next_visit_due, Entity.uuid)).all()
    overdue = [u for u, due in found if due < day]
    return overdue, [u for u, due in found if due == day], [u for u, due in found if due > day]


def assigned_since(person: scope.Person, since: datetime, until: datetime) -> list[str]:
    """Uuids of ``person``'s open households given to them by someone else (a version
    create, assign or reopen naming them, made by another person or by nobody) from
    ``since`` up to ``until``, oldest change first: one statement."""
    rows = _households(person)
    if rows is None or not isinstance(person, User):
        return []
    mine = rows.with_only_columns(Entity.id).scalar_subquery()
    stmt = (
        select(Entity.uuid, func.max(EntityVersion.created_at).label("at"))
        .join(EntityVersion, EntityVersion.entity_id == Entity.id)
        .where(
            Entity.id.in_(mine),
            EntityVersion.kind.in_(ASSIGNING_KINDS),
            EntityVersion.assigned_to_id == person.id,
            or_(EntityVersion.actor_id.is_(None), EntityVersion.actor_id != person.id),
            EntityVersion.created_at >= since,
            EntityVersion.created_at < until,
        )
        .group_by(Entity.uuid)
    )
    return [uuid for uuid, _at in sorted(db.session.execute(stmt), key=lambda r: (str(r[1]), r[0]))]


def unfiled_reports(person: scope.Person, day: date) -> list[dict]:
    """The periods (previous, then current) of the reports ``person``'s unit files
    where nothing is filed: {report_id, name, period, label, deadline, status}."""
    out = []
    for report in reports_for(person, day):
        for which in ("previous", "current"):
            p = report[which]
            if p["status"] in UNFILED:
                out.append(
                    {
                        "report_id": report["id"],
                        "name": report["name"],
                        "period": p["key"],
                        "label": p["label"],
                        "deadline": p["deadline"],
                        "status": p["status"],
                    }
                )
    return out


def todo_for(person: scope.Person, day: date) -> Todo:
    """``person``'s to-do items on ``day`` (see the module)."""
    overdue, today, tomorrow = visits_due(person, day)
    since = day_start(day - timedelta(days=ASSIGNED_DAYS - 1))
    assigned = assigned_since(person, since, day_start(day + timedelta(days=1)))
    return Todo(day, overdue, today, tomorrow, unfiled_reports(person, day), assigned)


@dataclass(frozen=True)
class Digest:
    """A supervisor's daily digest: overdue visits in their subtree, and units of their
    subtree that have not filed the latest past period of a report (summed over
    reports)."""

    overdue: int
    missing_units: int


def digest_for(person: scope.Person, day: date) -> Digest:
    """The digest of ``person`` (one who ``scope.receives_digest``) on ``day``."""
    rows = _households(person)
    overdue = 0
    if rows is not None:
        stmt = rows.where(Entity.next_visit_due < day).with_only_columns(func.count())
        overdue = db.session.scalar(stmt) or 0
    missing = 0
    stmt = scope.report_definitions_in_scope(person).where(ReportDefinition.active.is_(True))
    for definition in db.session.scalars(stmt):
        first = day - timedelta(days=definition.deadline_days + 100)
        try:
            result = compute(person, definition, person.area, first, day, day, chase=False)
        except ReportError:
            continue  # a report of another district, or below its unit level
        if result.latest is not None:
            missing += sum(1 for r in result.units if r.cells[result.latest].status == MISSING)
    return Digest(overdue, missing)
