"""The filters of the household list (``/cases/``), read from the query string.

A value that is not one of the offered choices (an area out of scope, an unknown risk,
a person who follows none of the user's households) is ignored and named in
``problems``, so that a hand-edited or stale link shows the list, not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, and_, or_, select

from fieldapp.areas.models import Area
from fieldapp.auth.models import User
from fieldapp.cases import households as hh
from fieldapp.cases.models import Entity
from fieldapp.scope import identifiable_entities, within

ALL = "all"  # status: every status (the default leaves closed cases out)
NONE = "none"  # risk: not assessed; assigned: nobody
DUE_SOON_DAYS = 7
MAX_TEXT = 100


@dataclass
class CaseFilter:
    """What the list is narrowed to; ``problems`` names the values that were ignored."""

    area: Area | None = None
    risk: str = ""
    status: str = ""
    assigned: User | str | None = None  # a user, or NONE (nobody)
    overdue: bool = False
    due_soon: bool = False
    conflict: bool = False
    orphaned: bool = False  # followed by a deactivated account
    q: str = ""
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_args(
        cls, args, area_named: Callable[[str], Area | None], people: dict[str, User]
    ) -> CaseFilter:
        """Read ``args`` (``request.args``) against what may be chosen: ``area_named``
        (code → the area if in scope, else None), ``people`` (username → a person who
        follows a household in scope)."""
        flt = cls()
        code = (args.get("area") or "").strip()[:MAX_TEXT]
        if code:
            flt.area = area_named(code)
            if flt.area is None:
                flt.problems.append(_("区划"))
        risk = (args.get("risk") or "").strip()
        if risk in hh.RISK_LEVELS or risk == NONE:
            flt.risk = risk
        elif risk:
            flt.problems.append(_("风险等级"))
        status = (args.get("status") or "").strip()
        if status in hh.STATUSES or status == ALL:
            flt.status = status
        elif status:
            flt.problems.append(_("状态"))
        who = (args.get("assigned") or "").strip()
        if who == NONE:
            flt.assigned = NONE
        elif who:
            flt.assigned = people.get(who)
            if flt.assigned is None:
                flt.problems.append(_("负责人"))
        flt.overdue = args.get("overdue") == "1"
        flt.due_soon = args.get("due_soon") == "1"
        flt.conflict = args.get("conflict") == "1"
        flt.orphaned = args.get("orphaned") == "1"
        flt.q = (args.get("q") or "").strip()[:MAX_TEXT]
        return flt

    def apply(self, stmt: Select, person, today: date) -> Select:
        """``stmt`` (a ``select(Entity)``) narrowed by the filters. The text is looked for
        in the labels ``person`` may see (``scope.identifiable_entities``) and at the
        start of the household id."""
        if self.area is not None:
            stmt = stmt.where(within(self.area, Entity.area_id))
        if self.risk == NONE:
            stmt = stmt.where(Entity.risk.is_(None))
        elif self.risk:
            stmt = stmt.where(Entity.risk == self.risk)
        if self.status == "":
            stmt = stmt.where(Entity.status != hh.CLOSED)
        elif self.status != ALL:
            stmt = stmt.where(Entity.status == self.status)
        if self.assigned == NONE:
            stmt = stmt.where(Entity.assigned_to_id.is_(None))
        elif self.assigned is not None:
            stmt = stmt.where(Entity.assigned_to_id == self.assigned.id)
        if self.overdue:
            stmt = stmt.where(overdue(today))
        if self.due_soon:
            stmt = stmt.where(due_soon(today))
        if self.conflict:
            stmt = stmt.where(Entity.conflict.is_not(None))
        if self.orphaned:
            stmt = stmt.where(orphaned())
        if self.q:
            text = self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(
                or_(
                    Entity.uuid.like(f"{text}%", escape="\\"),
                    and_(
                        identifiable_entities(person),
                        Entity.label.like(f"%{text}%", escape="\\"),
                    ),
                )
            )
        return stmt

    def args(self) -> dict[str, str]:
        """The filters as query-string arguments (for the pager's and the counts' links)."""
        out = {
            "area": self.area.code if self.area is not None else "",
            "risk": self.risk,
            "status": self.status,
            "assigned": self.assigned
            if self.assigned == NONE
            else (self.assigned.username if self.assigned is not None else ""),
            "overdue": "1" if self.overdue else "",
            "due_soon": "1" if self.due_soon else "",
            "conflict": "1" if self.conflict else "",
            "orphaned": "1" if self.orphaned else "",
            "q": self.q,
        }
        return {k: v for k, v in out.items() if v}


def orphaned():
    """The clause "the person it is assigned to has been deactivated" (nobody's phone
    holds it any more: a supervisor must reassign it), for an open case."""
    gone = select(User.id).where(User.active.is_(False))
    return and_(Entity.assigned_to_id.in_(gone), Entity.status != hh.CLOSED)


def overdue(today: date):
    """The clause "the next visit was due before ``today`` and the case is not closed"."""
    return and_(Entity.next_visit_due < today, Entity.status != hh.CLOSED)


def due_soon(today: date):
    """The clause "the next visit is due from ``today`` to ``DUE_SOON_DAYS`` days on"."""
    return and_(
        Entity.next_visit_due >= today,
        Entity.next_visit_due <= today + timedelta(days=DUE_SOON_DAYS),
        Entity.status != hh.CLOSED,
    )
