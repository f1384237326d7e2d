"""What the figures pages, their XLSX and the command line share: the year and area
asked for, the figures and their target progress, the area choices, the audit of an
export."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from fieldapp import scope
from fieldapp.areas.models import Area
from fieldapp.audit.services import record
from fieldapp.extensions import db
from fieldapp.figures.compute import Figures, compute
from fieldapp.figures.definitions import all_definitions
from fieldapp.figures.targets import DistrictProgress, progress, targets_of


@dataclass
class Report:
    """The figures of a year and area, with the districts' progress against targets."""

    figures: Figures
    progress: list[DistrictProgress]


def report(person, year: int, area: Area) -> Report:
    """``compute`` and ``progress`` for ``person`` (``FiguresError`` when out of reach)."""
    figs = compute(person, year, area)
    return Report(figs, progress(figs))


def area_choices(person) -> list[Area]:
    """Areas ``person`` may pick on the figures page: their subtree above the villages
    (a village's figures are in its town's district table), in tree order."""
    return list(db.session.scalars(scope.areas_in_scope(person).where(Area.level != "village")))


def area_by_code(person, code: str) -> Area | None:
    """The area ``code`` if it is in ``person``'s subtree, else None."""
    return db.session.scalar(scope.areas_in_scope(person).where(Area.code == code))


def top_area() -> Area | None:
    """The one area without a parent (the city), or None when there are several."""
    tops = list(db.session.scalars(select(Area).where(Area.parent_id.is_(None)).limit(2)))
    return tops[0] if len(tops) == 1 else None


def audit_export(user_id: int | None, rep: Report, fmt: str, via: str = "web", **detail):
    """Record an export of the figures (action ``figures_export``)."""
    figs = rep.figures
    record(
        user_id,
        "figures_export",
        f"figures:{figs.year}:{figs.area.code}",
        format=fmt,
        via=via,
        **detail,
    )


def target_table(person, year: int):
    """The targets page's table: (districts ``person`` sets, active definitions, the
    targets of ``year``: (area id, key) → value)."""
    districts = list(db.session.scalars(scope.target_areas(person)))
    defs = all_definitions(active_only=True)
    return districts, defs, targets_of(year, [a.id for a in districts])
