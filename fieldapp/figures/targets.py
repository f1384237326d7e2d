"""Yearly targets per district (责任状) and the progress against them.

An admin sets, for a year, a target for any figure in each district below them
(``scope.target_areas``). Progress is checked twice a year, as the contracts are:

- mid-year (年中督查): the value from 1 January to 30 June against **half** the yearly
  target (the pace that reaches the target by December); both numbers are shown;
- year end (年底综合考核): the year's value against the whole target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from fieldapp import scope
from fieldapp.areas.models import Area
from fieldapp.audit.services import record
from fieldapp.auth.models import utcnow
from fieldapp.extensions import db
from fieldapp.figures.compute import Cell, Figures, FigureValue
from fieldapp.figures.models import FigureTarget

MAX_TARGET = 1e9


def targets_of(year: int, area_ids: list[int]) -> dict[tuple[int, str], float]:
    """The targets of ``year`` for ``area_ids``: (area id, figure key) → value."""
    if not area_ids:
        return {}
    rows = db.session.execute(
        select(FigureTarget.area_id, FigureTarget.figure_key, FigureTarget.value).where(
            FigureTarget.year == year, FigureTarget.area_id.in_(area_ids)
        )
    )
    return {(a, k): v for a, k, v in rows}


def parse_target(text: str) -> float | None:
    """A target as typed: blank is no target (None); else a number ≥ 0 (full-width
    digits and thousands separators allowed); ``ValueError`` with a Chinese message."""
    clean = (
        (text or "").strip().translate(str.maketrans("０１２３４５６７８９．，", "0123456789.,"))
    )
    clean = clean.replace(",", "")
    if not clean:
        return None
    try:
        value = float(clean)
    except ValueError:
        raise ValueError(_("“%(t)s”不是数字", t=text.strip()[:20])) from None
    if not math.isfinite(value) or value < 0 or value > MAX_TARGET:
        raise ValueError(_("“%(t)s”应为 0 或正数", t=text.strip()[:20]))
    return value


def bad_cells(typed: dict[tuple[int, str], str]) -> set[tuple[int, str]]:
    """The cells of ``typed`` whose text is no valid target (``parse_target``)."""
    bad = set()
    for cell, text in typed.items():
        try:
            parse_target(text)
        except ValueError:
            bad.add(cell)
    return bad


def save_targets(person, year: int, typed: dict[tuple[int, str], str], keys: set[str]):
    """Set ``person``'s targets of ``year`` from ``typed`` ((district id, figure key) →
    text as typed; blank removes a target). Every district must be one of
    ``scope.target_areas(person)`` and every key one of ``keys``; a bad number refuses
    the whole table. Returns the errors (Chinese, naming district and figure; nothing
    saved) or [] (saved, audited as ``figure_targets_update``; the caller commits)."""
    areas = {a.id: a for a in db.session.scalars(scope.target_areas(person))}
    errors, values = [], {}
    for (area_id, key), text in typed.items():
        if area_id not in areas or key not in keys:
            errors.append(_("不能为该区划或指标设定目标（%(k)s）", k=key))
            continue
        try:
            values[(area_id, key)] = parse_target(text)
        except ValueError as exc:
            errors.append(f"{areas[area_id].name} · {key}{_('：')}{exc}")
    if errors:
        return errors
    have = {
        (t.area_id, t.figure_key): t
        for t in db.session.scalars(
            select(FigureTarget).where(
                FigureTarget.year == year, FigureTarget.area_id.in_(list(areas))
            )
        )
    }
    changed = []
    for (area_id, key), value in values.items():
        row = have.get((area_id, key))
        if value is None:
            if row is not None:
                db.session.delete(row)
                changed.append([areas[area_id].code, key, None])
            continue
        if row is None:
            row = FigureTarget(year=year, area_id=area_id, figure_key=key, value=value)
            db.session.add(row)
        elif row.value == value:
            continue
        row.value, row.updated_by_id, row.updated_at = value, person.id, utcnow()
        changed.append([areas[area_id].code, key, value])
    db.session.flush()
    if changed:
        record(person.id, "figure_targets_update", f"targets:{year}", year=year, changed=changed)
    return []


@dataclass
class Progress:
    """One figure's progress in one district."""

    figure: FigureValue
    target: float
    cell: Cell

    @property
    def mid_target(self) -> float:
        """What mid-year is checked against: half the yearly target."""
        return self.target / 2

    @property
    def mid_pct(self) -> float | None:
        """The value to 30 June as a percentage of half the target."""
        return self.cell.mid_year / self.mid_target * 100 if self.target else None

    @property
    def year_pct(self) -> float | None:
        """The year's value as a percentage of the target."""
        return self.cell.value / self.target * 100 if self.target else None


@dataclass
class DistrictProgress:
    """A district and its figures that have a target."""

    area: Area
    rows: list[Progress]


def progress(figures: Figures) -> list[DistrictProgress]:
    """Progress of the districts the figures cover: the area itself when it is a
    district, else its child districts (a city's); none below a district (towns sign
    with their district, and their targets are not kept here)."""
    if figures.area.level == "district":
        districts = [(figures.area, None)]
    else:
        districts = [(a, a.id) for a in figures.children if a.level == "district"]
    if not districts:
        return []
    targets = targets_of(figures.year, [a.id for a, _c in districts])
    out = []
    for area, child in districts:
        rows = [
            Progress(f, targets[(area.id, f.key)], f.cell if child is None else f.child(child))
            for f in figures.figures
            if (area.id, f.key) in targets
        ]
        if rows:
            out.append(DistrictProgress(area, rows))
    return out
