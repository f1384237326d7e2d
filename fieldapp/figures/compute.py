"""Compute the yearly figures for a year and an area: each figure's value, the previous
year's, the mid-year value (1 January–30 June) and the same for each child area.

The number of SQL statements does not grow with the data: the definitions, the area
subtree and the source forms are read once, then each source once per (date field,
kind of aggregate) (``fieldapp.figures.reading``: rows counted by area or household,
half-year and the values the conditions read; each distinct key judged once in Python).
Counts and sums are added up per area; distinct households are kept as household ids
with the half-years they count in, and counted at each area directly (a household
belongs to its own area, so it is never counted twice, whoever visited it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from fieldapp import scope
from fieldapp.areas.models import Area
from fieldapp.extensions import db
from fieldapp.figures import reading, sources
from fieldapp.figures.definitions import DISTINCT, Checked, all_definitions, check
from fieldapp.figures.models import FigureDefinition

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
    is not published, is listed with 0 and its ``problem``."""
    if not scope.may_see_figures(person) or not scope.area_in_scope(person, area):
        raise FiguresError(_("您无权查看 %(area)s 的年度数据", area=area.name))
    year = check_year(year)
    checked = [check(d) for d in all_definitions(active_only=True)]
    children, child_of = _children(area)
    periods = sources.Periods(year)
    tz = current_app.config["TIMEZONE"]
    totals = {c.defn.key: reading.Totals() for c in checked}
    problems = {c.defn.key: c.problem for c in checked}

    usable = [c for c in checked if c.problem is None]
    forms = sources.form_schemas(
        {c.defn.source for c in usable} - {sources.HOUSEHOLDS, sources.HOUSEHOLD_VERSIONS}
    )
    props = (
        sources.dataset_properties()
        if any(c.defn.source in (sources.HOUSEHOLDS, sources.HOUSEHOLD_VERSIONS) for c in usable)
        else None
    )
    plan: dict[tuple[str, str, bool], list[Checked]] = defaultdict(list)
    for c in usable:
        distinct = c.aggregate.kind == DISTINCT
        plan[(c.defn.source, c.defn.date_field or "", distinct)].append(c)
    for (key, date_field, distinct), group in plan.items():
        source = _source(key, forms, props, distinct)
        if source.missing:
            for c in group:
                problems[c.defn.key] = _("问卷 %(form)s 尚未发布", form=source.missing)
            continue
        day = source.day(date_field)
        if day is None:
            for c in group:
                problems[c.defn.key] = _(
                    "日期题 %(f)s 不在问卷 %(form)s 中（或在重复组内）", f=date_field, form=key
                )
            continue
        bounds = periods.bounds(day[1], tz)  # day: (expression, kind)
        read = reading.read_distinct if distinct else reading.read_counts
        read(source, group, area, day, bounds, totals)
    figures = [_figure(c.defn, totals[c.defn.key], child_of, problems[c.defn.key]) for c in checked]
    own = any(OWN in f.children for f in figures)
    return Figures(year, area, children, figures, own)


def _source(key: str, forms, props, distinct: bool) -> sources.Source:
    if key == sources.HOUSEHOLDS:
        return sources.households_source(props)
    if key == sources.HOUSEHOLD_VERSIONS:
        return sources.versions_source(props)
    return sources.form_source(key, forms.get(key), distinct)


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


def _figure(defn: FigureDefinition, t: reading.Totals, child_of: dict[int, int], problem):
    """The ``FigureValue`` of ``defn`` from its totals: distinct households counted once
    at each level (the whole area, and each child for the households of its subtree)."""
    children: dict[int, Cell] = {}
    total = Cell()
    if t.distinct:
        for attr, bits in SPANS:
            counted = Counter(
                child_of.get(a, OWN) for a, mask in t.households.values() if mask & bits
            )
            setattr(total, attr, sum(1 for _a, mask in t.households.values() if mask & bits))
            for child, n in counted.items():
                setattr(children.setdefault(child, Cell()), attr, n)
    else:
        for (area_id, half), amount in t.amounts.items():
            cell = children.setdefault(child_of.get(area_id, OWN), Cell())
            for attr, bits in SPANS:
                if (1 << half) & bits:
                    setattr(cell, attr, getattr(cell, attr) + amount)
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
