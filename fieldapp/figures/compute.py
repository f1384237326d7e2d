"""Compute the yearly figures for a year and an area: each figure's value, the previous
year's, the mid-year value (1 January–30 June) and the same for each child area.

The figures add up the tallies of their facts (``fieldapp.figures.facts``: what each
submission, household and household version adds to each figure, added up per area and
month, or per household and half-year), brought up to date first. The number of SQL
statements does not grow with the data: the definitions, the source forms and the area
subtree are read once, then the tallies of counts and sums with one statement and the
households of distinct-household figures with another (counted in each area: a
household belongs to its own area, so it is never counted twice, whoever visited it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import case, distinct, func, select

from fieldapp import scope
from fieldapp.areas.models import Area
from fieldapp.extensions import db
from fieldapp.figures import facts, sources
from fieldapp.figures.definitions import all_definitions, check
from fieldapp.figures.models import FigureDefinition, FigureHousehold, FigureTally

YEAR_MIN, YEAR_MAX = 2000, 2100
OWN = 0  # the children key of rows made at the area itself (not in any child)


class FiguresError(ValueError):
    """A year or area that cannot be computed (message in Chinese)."""


@dataclass
class Cell:
    """One area's numbers for a figure: the year, its first half, the previous year."""

    value: float = 0
    mid_year: float = 0
    previous: float = 0


@dataclass
class FigureValue:
    """One figure for a year and an area (``cell``), and for each child area
    (``children``: child area id → ``Cell``; ``OWN`` for rows at the area itself)."""

    key: str
    label: str
    group: str
    source: str
    aggregate: str
    cell: Cell
    children: dict[int, Cell] = field(default_factory=dict)
    problem: str | None = None

    @property
    def value(self) -> float:
        return self.cell.value

    @property
    def previous(self) -> float:
        return self.cell.previous

    @property
    def mid_year(self) -> float:
        return self.cell.mid_year

    @property
    def change(self) -> float:
        """This year minus the previous year."""
        return self.cell.value - self.cell.previous

    @property
    def change_pct(self) -> float | None:
        """The change as a percentage of the previous year (None when that was 0)."""
        return self.change / self.cell.previous * 100 if self.cell.previous else None

    def child(self, area_id: int) -> Cell:
        """The cell of child ``area_id`` (zeros when it had no rows)."""
        return self.children.get(area_id) or Cell()


@dataclass
class Figures:
    """Every active figure of ``year`` for ``area``, with its child areas in order;
    ``own`` is True when some rows were made at ``area`` itself (the district table
    shows them as 本级)."""

    year: int
    area: Area
    children: list[Area]
    figures: list[FigureValue]
    own: bool = False

    def groups(self) -> list[tuple[str, list[FigureValue]]]:
        """The figures by ``group``, groups in the order of their first figure."""
        out: dict[str, list[FigureValue]] = {}
        for f in self.figures:
            out.setdefault(f.group, []).append(f)
        return list(out.items())


def check_year(value) -> int:
    """``value`` as a year between ``YEAR_MIN`` and ``YEAR_MAX``; ``FiguresError``."""
    try:
        year = int(str(value).strip())
    except ValueError:
        year = None
    if year is None or not YEAR_MIN <= year <= YEAR_MAX:
        raise FiguresError(_("年份应为 %(a)s 到 %(b)s 之间的四位数字", a=YEAR_MIN, b=YEAR_MAX))
    return year


def compute(person, year: int, area: Area) -> Figures:
    """The figures of ``year`` for ``area`` and its children, as ``person`` may see
    them (``scope.may_see_figures``, ``area`` in their subtree; else ``FiguresError``).
    Inactive definitions are left out; a definition that does not parse, or whose form
    is not published, is listed with 0 and its ``problem``. The facts are brought up to
    date first (``facts.catch_up``: what arrived since is taken in)."""
    if not scope.may_see_figures(person) or not scope.area_in_scope(person, area):
        raise FiguresError(_("您无权查看 %(area)s 的年度数据", area=area.name))
    year = check_year(year)
    checked = [check(d) for d in all_definitions(active_only=True)]
    prepared = facts.prepare(checked)
    facts.catch_up(prepared)
    children, child_of = _children(area)
    days = sources.Periods(year).days()
    cells = _read(prepared, area, days)
    figures = [
        _figure(c.defn, cells.get(c.defn.id, {}), child_of, prepared.problems.get(c.defn.key))
        for c in checked
    ]
    own = any(OWN in f.children for f in figures)
    return Figures(year, area, children, figures, own)


def _read(prepared: facts.Prepared, area: Area, days: list) -> dict[int, dict[int, Cell]]:
    """Each definition's cells per area of ``area``'s subtree (definition id → area id →
    ``Cell``) for the two years of ``days``, from the facts' tallies; two statements,
    reading at most one row per figure, area and month (counts, sums) and per figure,
    household and half-year (distinct households, counted in each area: a household is
    in one area only, so an area's numbers add up to its parent's)."""
    plans = prepared.plans.values()
    out: dict[int, dict[int, Cell]] = {}
    summed = [p.id for p in plans if not p.distinct]
    if summed:
        month = FigureTally.month
        half = sources.bucket(month, days).label("h")
        inner = (
            select(FigureTally.definition_id, FigureTally.area_id, FigureTally.amount, half)
            .where(
                FigureTally.definition_id.in_(summed),
                *sources.in_range(month, days),
                scope.within(area, FigureTally.area_id),
            )
            .subquery()
        )
        keys = (inner.c.definition_id, inner.c.area_id, inner.c.h)
        stmt = select(*keys, func.sum(inner.c.amount)).group_by(*keys)
        for defn, area_of, h, amount in db.session.execute(stmt):
            cell = out.setdefault(defn, {}).setdefault(area_of, Cell())
            for attr, bits in SPANS:
                if (1 << h) & bits:
                    setattr(cell, attr, getattr(cell, attr) + amount)
    counted = [p.id for p in plans if p.distinct]
    if counted:
        year = days[2].year
        h, entity = FigureHousehold.half, FigureHousehold.entity_id

        def households(*halves):
            return func.count(distinct(case((h.in_(halves), entity))))

        stmt = (
            select(
                FigureHousehold.definition_id,
                FigureHousehold.area_id,
                households(year * 2, year * 2 + 1),
                households(year * 2),
                households(year * 2 - 2, year * 2 - 1),
            )
            .where(
                FigureHousehold.definition_id.in_(counted),
                h.between(year * 2 - 2, year * 2 + 1),
                scope.within(area, FigureHousehold.area_id),
            )
            .group_by(FigureHousehold.definition_id, FigureHousehold.area_id)
        )
        for defn, area_of, value, mid_year, previous in db.session.execute(stmt):
            out.setdefault(defn, {})[area_of] = Cell(value, mid_year, previous)
    return out


def _children(area: Area) -> tuple[list[Area], dict[int, int]]:
    """``area``'s child areas (by code) and, for every area of its subtree, the child
    it lies in (``OWN`` for ``area`` itself); one query."""
    subtree = list(db.session.scalars(select(Area).where(scope.within(area, Area.id))))
    children = sorted((a for a in subtree if a.parent_id == area.id), key=lambda a: a.code)
    by_code = {a.code: a.id for a in children}
    child_of = {}
    depth = len(area.path)
    for a in subtree:
        rest = a.path[depth:].strip("/")
        child_of[a.id] = by_code.get(rest.split("/")[0], OWN) if rest else OWN
    return children, child_of


SPANS = (("value", 0b1100), ("mid_year", 0b0100), ("previous", 0b0011))  # half-year bits


def _figure(defn: FigureDefinition, cells: dict[int, Cell], child_of: dict[int, int], problem):
    """The ``FigureValue`` of ``defn`` from its cells per area: each child's the sum of
    the areas of its subtree (``OWN``: the area itself), the total the sum of all."""
    children: dict[int, Cell] = {}
    total = Cell()
    for area_id, cell in cells.items():
        child = children.setdefault(child_of.get(area_id, OWN), Cell())
        for attr in ("value", "mid_year", "previous"):
            amount = getattr(cell, attr)
            setattr(child, attr, getattr(child, attr) + amount)
            setattr(total, attr, getattr(total, attr) + amount)
    return FigureValue(
        key=defn.key,
        label=defn.label,
        group=defn.group or _("其他"),
        source=defn.source,
        aggregate=defn.aggregate,
        cell=total,
        children=children,
        problem=problem,
    )
