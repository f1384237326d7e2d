"""Reading households for the pages (``fieldapp.cases.views``): the list with its figures,
the choices of its filters and of the reassignment, and how a household is named.

Who sees which households is ``scope.entities_in_scope``; every query here starts from it.
The list's query count does not grow with the number of households: the figures are one
GROUP BY, a page is one query with its areas and assigned people joined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import joinedload

from fieldapp.areas.models import LEVELS, Area
from fieldapp.auth.models import User
from fieldapp.cases import households as hh
from fieldapp.cases.filters import NONE, CaseFilter, due_soon, orphaned, overdue
from fieldapp.cases.models import Dataset, Entity
from fieldapp.extensions import db
from fieldapp.scope import areas_in_scope, assignable_users, entities_in_scope, may_identify_entity

PAGE_SIZE = 50
RISK_KEYS = (*hh.RISK_ORDER, NONE)  # rows of the figures: 重大隐患 … 低, 未评估


def display_label(person, entity: Entity) -> str:
    """How ``entity`` is named to ``person``: its label (``王芳家（和平社区）``) when they
    may identify it (``scope.may_identify_entity``), else ``家庭`` and the first 8
    characters of its id."""
    if may_identify_entity(person, entity):
        return entity.label
    return _("家庭 %(id)s", id=entity.uuid[:8])


def local_time(value: datetime | None) -> str:
    """A stored time as ``YYYY-MM-DD HH:MM`` in ``TIMEZONE`` (SQLite gives naive UTC)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y-%m-%d %H:%M")


def households_in_scope(person) -> Select:
    """``select(Entity)`` of the ``households`` dataset that ``person`` may see."""
    ds_id = select(Dataset.id).where(Dataset.name == hh.DATASET).scalar_subquery()
    # "+ 0" keeps SQLite (no planner statistics) from reading every household of the
    # dataset through its index instead of a mediator's through the assignee index.
    return entities_in_scope(person).where(Entity.dataset_id + 0 == ds_id)


@dataclass
class Summary:
    """The figures over a person's households: counts by (risk key or ``none``, status),
    and how many visits are overdue, due within a week, and conflicts to resolve."""

    cells: dict[tuple[str, str], int] = field(default_factory=dict)
    overdue: int = 0
    due_soon: int = 0
    conflicts: int = 0
    orphaned: int = 0  # open cases assigned to a deactivated account

    def count(self, risk: str | None = None, status: str | None = None) -> int:
        """The count of one cell, row (``status`` None), column or all."""
        return sum(
            n
            for (r, s), n in self.cells.items()
            if (risk is None or r == risk) and (status is None or s == status)
        )


def _how_many(clause):
    return func.sum(case((clause, 1), else_=0))


def summary(person, day: date) -> Summary:
    """The figures of ``person``'s households on ``day`` (one GROUP BY query)."""
    stmt = (
        households_in_scope(person)
        .with_only_columns(
            Entity.risk,
            Entity.status,
            func.count(Entity.id),
            _how_many(overdue(day)),
            _how_many(due_soon(day)),
            _how_many(Entity.conflict.is_not(None)),
            _how_many(orphaned()),
        )
        .group_by(Entity.risk, Entity.status)
    )
    out = Summary()
    for risk, status, n, late, soon, conflicts, lost in db.session.execute(stmt):
        key = (risk if risk in hh.RISK_LEVELS else NONE, status)
        out.cells[key] = out.cells.get(key, 0) + n
        out.overdue += late or 0
        out.due_soon += soon or 0
        out.conflicts += conflicts or 0
        out.orphaned += lost or 0
    return out


def risk_rank():
    """An ORDER BY expression: 重大隐患 first, then 高, 中, 低, not assessed."""
    return case(
        *((Entity.risk == key, n) for n, key in enumerate(hh.RISK_ORDER)),
        else_=len(hh.RISK_ORDER),
    )


def household_page(person, flt: CaseFilter, page: int, day: date):
    """One page of ``person``'s households narrowed by ``flt``: (households, total, page,
    pages). Ordered by next visit due (overdue ones come first; none due last), then
    risk; ``page`` is clamped to the pages there are. Three queries whatever the number
    of households: the count, the page's ids (sorted on narrow rows), and the page's
    households with their areas and assigned people."""
    stmt = flt.apply(households_in_scope(person), person, day)
    total = db.session.scalar(stmt.with_only_columns(func.count(Entity.id)))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    ids = list(
        db.session.scalars(
            stmt.with_only_columns(Entity.id)
            .order_by(
                Entity.next_visit_due.is_(None),
                Entity.next_visit_due,
                risk_rank(),
                Entity.id,
            )
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    if not ids:
        return [], total, page, pages
    rows = db.session.scalars(
        select(Entity)
        .where(Entity.id.in_(ids))
        .options(joinedload(Entity.area), joinedload(Entity.assigned_to))
    )
    order = {id_: n for n, id_ in enumerate(ids)}
    return sorted(rows, key=lambda e: order[e.id]), total, page, pages


def filter_areas(person, depth: int = 2) -> list[Area]:
    """The areas offered to narrow the list: ``person``'s subtree down to ``depth``
    levels below their home area (a city's researcher: districts and towns, not every
    village), in tree order. Any area of the subtree may still be named (``area_named``)."""
    home = LEVELS.index(person.area.level) if person.area.level in LEVELS else 0
    levels = LEVELS[: home + depth + 1]
    return list(db.session.scalars(areas_in_scope(person).where(Area.level.in_(levels))))


def area_named(person, code: str) -> Area | None:
    """The area ``code`` if it is in ``person``'s subtree, else None."""
    return db.session.scalar(areas_in_scope(person).where(Area.code == code))


def assignees(person) -> list[User]:
    """The people who follow one of ``person``'s households (the "assigned" filter), by
    area and name."""
    ids = households_in_scope(person).with_only_columns(Entity.assigned_to_id).distinct()
    stmt = (
        select(User)
        .join(Area, User.area_id == Area.id)
        .where(User.id.in_(ids))
        .order_by(Area.path, User.username)
    )
    return list(db.session.scalars(stmt))


def assignable(person, entity: Entity) -> list[User]:
    """Whom ``person`` may assign ``entity`` to (``scope.assignable_users``)."""
    return list(db.session.scalars(assignable_users(person, entity)))


def user_named(username: str) -> User | None:
    """The user ``username`` or None (whether they may be chosen is the service's rule)."""
    return db.session.scalar(select(User).where(User.username == username))
