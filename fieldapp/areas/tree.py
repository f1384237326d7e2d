"""Reading the area tree for the area pages and ``fieldapp areas list``: one level at a
time with counts per node, a search, the way up. Everything is limited to the person's
subtree through ``fieldapp.scope``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from fieldapp import scope
from fieldapp.areas.codes import CodeError, implied_level, normalise
from fieldapp.areas.models import LEVELS, Area
from fieldapp.auth.models import User
from fieldapp.extensions import db
from fieldapp.submissions.models import Submission

SEARCH_LIMIT = 50


@dataclass
class Counts:
    """Per area code, totals over the area and everything below it."""

    users: Counter
    submissions: Counter
    children: Counter  # direct children, by parent code

    def of(self, area: Area) -> tuple[int, int, int]:
        """(active users, submissions, direct children) of ``area``'s subtree."""
        return self.users[area.code], self.submissions[area.code], self.children[area.code]


def counts(person: scope.Person) -> Counts:
    """Active users and current real submissions of every area in ``person``'s scope,
    summed up the tree (a town counts its villages'), and each area's child count."""
    rows = db.session.execute(select(Area.id, Area.path).where(scope.within(person, Area.id))).all()
    codes_up = {id_: [c for c in path.split("/") if c] for id_, path in rows}
    users = db.session.execute(
        select(User.area_id, func.count())
        .where(scope.within(person, User.area_id), User.active.is_(True))
        .group_by(User.area_id)
    ).all()
    subs = db.session.execute(
        scope.submissions_in_scope(person)
        .with_only_columns(Submission.area_id, func.count())
        .group_by(Submission.area_id)
        .order_by(None)
    ).all()
    totals = []
    for pairs in (users, subs):
        total: Counter = Counter()
        for area_id, n in pairs:
            for code in codes_up.get(area_id, ()):
                total[code] += n
        totals.append(total)
    children: Counter = Counter()
    for codes in codes_up.values():
        if len(codes) > 1:
            children[codes[-2]] += 1
    return Counts(totals[0], totals[1], children)


def roots(person: scope.Person) -> list[Area]:
    """Where ``person``'s tree starts: their home area (every top-level area for the
    operator)."""
    if person is scope.OPERATOR:
        return list(
            db.session.scalars(select(Area).where(Area.parent_id.is_(None)).order_by(Area.code))
        )
    return [person.area]


def children(person: scope.Person, area: Area) -> list[Area]:
    """The areas directly below ``area`` that ``person`` may see, by code."""
    stmt = select(Area).where(Area.parent_id == area.id, scope.within(person, Area.id))
    return list(db.session.scalars(stmt.order_by(Area.code)))


def trail(person: scope.Person, area: Area) -> list[Area]:
    """The areas from ``person``'s home area down to ``area`` (the way back up)."""
    codes = [c for c in area.path.split("/") if c]
    stmt = select(Area).where(Area.code.in_(codes), scope.within(person, Area.id))
    return sorted(db.session.scalars(stmt), key=lambda a: len(a.path))


def search(person: scope.Person, query: str) -> tuple[list[Area], bool]:
    """Areas in ``person``'s scope whose name contains ``query`` or whose code starts
    with it (a 12-digit code is read in its short form), tree order; at most
    ``SEARCH_LIMIT``, and whether there were more."""
    text = " ".join((query or "").split())
    if not text:
        return [], False
    try:
        code = normalise(text)
    except CodeError:
        code = text
    stmt = (
        select(Area)
        .where(
            scope.within(person, Area.id),
            or_(
                Area.name.contains(text, autoescape=True),
                Area.code.startswith(code, autoescape=True),
            ),
        )
        .order_by(Area.path)
        .limit(SEARCH_LIMIT + 1)
    )
    found = list(db.session.scalars(stmt))
    return found[:SEARCH_LIMIT], len(found) > SEARCH_LIMIT


def names_of(person: scope.Person, codes: set[str]) -> dict[str, str]:
    """Names of the areas ``codes`` in ``person``'s scope (where a search hit lies)."""
    if not codes:
        return {}
    stmt = select(Area.code, Area.name).where(Area.code.in_(codes), scope.within(person, Area.id))
    return dict(db.session.execute(stmt).all())


def where_is(person: scope.Person, areas: list[Area]) -> dict[str, str]:
    """Per area code, the names above it within ``person``'s scope (``东城区 › 新华街道``)."""
    above = {a.code: [c for c in a.path.split("/") if c][:-1] for a in areas}
    names = names_of(person, {c for codes in above.values() for c in codes})
    return {
        code: " › ".join(names[c] for c in codes if c in names) for code, codes in above.items()
    }


def move_targets(person: scope.Person, area: Area) -> list[Area]:
    """Active areas one level above ``area`` in ``person``'s scope: where it may go."""
    index = LEVELS.index(area.level)
    if index == 0:
        return []
    stmt = scope.areas_in_scope(person).where(
        Area.level == LEVELS[index - 1], Area.active.is_(True)
    )
    return list(db.session.scalars(stmt))


def subtree_listing(area: Area, depth: int | None = None) -> list[Area]:
    """``area`` and the areas below it to ``depth`` levels (all when ``None``), tree order."""
    stmt = select(Area).where(scope.within(area, Area.id)).order_by(Area.path)
    top = area.path.count("/")
    return [
        a for a in db.session.scalars(stmt) if depth is None or a.path.count("/") - top <= depth
    ]


def next_code(area: Area, children_: list[Area]) -> str | None:
    """A free statistical code for a new child of ``area`` (the highest child's number
    plus one), or ``None`` when ``area``'s code is not statistical."""
    level = implied_level(area.code)
    if level is None or level == LEVELS[-1]:
        return None
    width = 2 if level == "city" else 3
    numbers = [
        int(c.code[len(area.code) :])
        for c in children_
        if c.code.startswith(area.code) and len(c.code) == len(area.code) + width
    ]
    number = max(numbers, default=0) + 1
    return f"{area.code}{number:0{width}d}" if number < 10**width else None
