"""Completeness and timeliness of a periodic report (issue 11, the zero-report system).

For a report, a range of periods and an area, the expected units are the active areas
at the report's level (village or town) inside both the report's area and the asked one
(``scope.report_reach``). A submission belongs to the unit on its area's path (its area
is the submitter's home area when it arrived); one above the unit level belongs to none.
Each unit and period is, from the current non-test submissions whose ``filled_on`` lies
in the period:

- ``reported`` (已报告): one or more submissions of the report's form;
- ``zero`` (零报告): zero reports only (the bundled form ``zero_report``);
- ``corrected`` (已更正): a zero report and a real submission both: shown as such,
  never as both;
- ``missing`` (未报告): nothing, and the period's deadline has passed;
- ``pending`` (未到截止): nothing yet, the deadline not passed (today counts as before).

A filed period is late (迟报) when its first submission counted (of the report's form
for ``reported``, zero reports for ``zero``, either for ``corrected``) was received,
in config ``TIMEZONE``, after the deadline. Completeness = units filed (reported, zero,
corrected) / units expected; timeliness = units filed on time / units expected.

Cost: a fixed number of SQL statements whatever the number of submissions (the areas
of the subtree; submissions grouped by area, period and form; the contacts of units to
chase when there are any), and Python work in units × periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from fieldapp import scope
from fieldapp.areas.models import Area
from fieldapp.extensions import db
from fieldapp.i18n import N_
from fieldapp.reports.models import ReportDefinition
from fieldapp.reports.periods import Period, periods_between
from fieldapp.reports.services import ZERO_FORM_ID, ReportError, check_area
from fieldapp.submissions.models import Submission
from fieldapp.surveys.models import Form

REPORTED, ZERO, CORRECTED, MISSING, PENDING = "reported", "zero", "corrected", "missing", "pending"
FILED = (REPORTED, ZERO, CORRECTED)
# Shown through gettext (templates, tables).
STATUS_LABELS = {
    REPORTED: N_("已报告"),
    ZERO: N_("零报告"),
    CORRECTED: N_("已更正"),
    MISSING: N_("未报告"),
    PENDING: N_("未到截止"),
}


@dataclass(frozen=True)
class Place:
    """An area as the figures name it (a row, a unit)."""

    id: int
    code: str
    name: str
    level: str


@dataclass
class Cell:
    """One unit in one period: its status, whether it was filed late, the first
    submission counted (received, local time) and how many of each kind."""

    status: str
    late: bool = False
    first_at: datetime | None = None
    real: int = 0
    zero: int = 0

    @property
    def on_time(self) -> bool:
        return self.status in FILED and not self.late


@dataclass
class Tally:
    """Units of an area in one period, by status; ``completeness`` and ``timeliness``
    are ratios 0…1 (None when no unit is expected)."""

    expected: int = 0
    reported: int = 0
    zero: int = 0
    corrected: int = 0
    missing: int = 0
    pending: int = 0
    on_time: int = 0
    late: int = 0

    def add(self, cell: Cell) -> None:
        self.expected += 1
        setattr(self, cell.status, getattr(self, cell.status) + 1)
        if cell.status in FILED:
            self.on_time += not cell.late
            self.late += cell.late

    @property
    def filed(self) -> int:
        return self.reported + self.zero + self.corrected

    @property
    def completeness(self) -> float | None:
        return self.filed / self.expected if self.expected else None

    @property
    def timeliness(self) -> float | None:
        return self.on_time / self.expected if self.expected else None


@dataclass(eq=False)  # rows are told apart by identity (the total may be a row)
class Row:
    """One line of the figures: an area (a unit itself, or an area holding units) and
    its tally per period; a unit's own ``cells`` too."""

    place: Place
    tallies: list[Tally]
    cells: list[Cell] | None = None  # per period, when ``place`` is a unit


@dataclass
class Contact:
    """Someone to call about a missing report; ``phone`` None when not shown."""

    name: str
    phone: str | None


@dataclass
class Completeness:
    """The figures of ``definition`` for ``area`` over ``periods``, as of ``today``.

    ``total`` is ``area`` itself; ``rows`` its children that hold units (or the unit
    itself when ``area`` is one); ``units`` every expected unit with its cells;
    ``latest`` the index of the last period whose deadline has passed (None: none
    has), and ``chase`` its missing units with their contacts."""

    definition: ReportDefinition
    area: Area
    periods: list[Period]
    deadlines: list[date]
    today: date
    total: Row
    rows: list[Row]
    units: list[Row]
    latest: int | None
    chase: list[tuple[Place, list[Contact]]] = field(default_factory=list)
    phones_shown: bool = False


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    """A stored time in ``tz`` (SQLite hands back naive UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(tz)


def _codes(path: str) -> list[str]:
    return [c for c in path.split("/") if c]


def _place(area: Area) -> Place:
    return Place(area.id, area.code, area.name, area.level)


def _grouped(definition: ReportDefinition, reach: Area, periods: list[Period]):
    """(area id, period index, is zero report, count, first received) of the current
    real submissions of the report's form and of zero reports in ``reach``'s subtree
    with ``filled_on`` in the periods: one statement."""
    index = case(
        *[(Submission.filled_on.between(p.start, p.end), i) for i, p in enumerate(periods)],
        else_=-1,
    ).label("period")
    zero_form = select(Form.id).where(Form.form_id == ZERO_FORM_ID).scalar_subquery()
    stmt = (
        select(
            Submission.area_id,
            index,
            Submission.form_pk,
            func.count(),
            func.min(Submission.received_at),
        )
        .where(
            Submission.current.is_(True),
            Submission.test.is_(False),
            (Submission.form_pk == definition.form_pk) | (Submission.form_pk == zero_form),
            Submission.filled_on >= periods[0].start,
            Submission.filled_on <= periods[-1].end,
            scope.within(reach, Submission.area_id),
        )
        .group_by(Submission.area_id, index, Submission.form_pk)
    )
    for area_id, i, form_pk, count, first in db.session.execute(stmt):
        yield area_id, i, form_pk != definition.form_pk, count, first


def _cells(units, unit_of, groups, periods, deadlines, day, tz) -> dict[int, list[Cell]]:
    """Each unit's cells, from the grouped submissions."""
    found: dict[tuple[int, int], list] = {}  # (unit, period) → [real, zero, first real, first zero]
    for area_id, i, is_zero, count, first in groups:
        unit = unit_of.get(area_id)
        if unit is None or i < 0:
            continue
        acc = found.setdefault((unit, i), [0, 0, None, None])
        slot = 1 if is_zero else 0
        acc[slot] += count
        first = _local(first, tz)
        if acc[2 + slot] is None or first < acc[2 + slot]:
            acc[2 + slot] = first
    out = {}
    for unit in units:
        row = []
        for i, _period in enumerate(periods):
            real, zero, first_real, first_zero = found.get((unit.id, i), (0, 0, None, None))
            if real and zero:
                status, first = CORRECTED, min(first_real, first_zero)
            elif real:
                status, first = REPORTED, first_real
            elif zero:
                status, first = ZERO, first_zero
            else:
                row.append(Cell(PENDING if day <= deadlines[i] else MISSING))
                continue
            row.append(Cell(status, first.date() > deadlines[i], first, real, zero))
        out[unit.id] = row
    return out


def _rows(reach: Area, areas: list[Area], units: list[Area], cells, n: int):
    """(total, rows, unit rows): ``reach``'s tally, its children's (a child that is a
    unit is its own row; ``reach`` a unit: that unit alone) and each unit's."""

    def tallied(place: Place, own: list[Cell] | None = None) -> Row:
        return Row(place, [Tally() for _i in range(n)], own)

    unit_rows = []
    for unit in units:
        row = tallied(_place(unit), cells[unit.id])
        for i, cell in enumerate(row.cells):
            row.tallies[i].add(cell)
        unit_rows.append(row)
    if len(unit_rows) == 1 and units[0].id == reach.id:
        return unit_rows[0], unit_rows, unit_rows
    by_code = {a.code: a for a in areas}
    depth = len(_codes(reach.path))  # a unit's path code at this index: reach's child
    total, rows = tallied(_place(reach)), {}
    for unit, row in zip(units, unit_rows, strict=True):
        child = by_code[_codes(unit.path)[depth]]
        if child.id == unit.id:
            rows[child.code] = row
        else:
            holder = rows.setdefault(child.code, tallied(_place(child)))
            for i, cell in enumerate(row.cells):
                holder.tallies[i].add(cell)
        for i, cell in enumerate(row.cells):
            total.tallies[i].add(cell)
    ordered = sorted(rows.values(), key=lambda r: by_code[r.place.code].path)
    return total, ordered, unit_rows


def compute(
    person: scope.Person,
    definition: ReportDefinition,
    area: Area,
    first: date,
    last: date,
    day: date,
    chase: bool = True,
) -> Completeness:
    """The completeness of ``definition`` for ``area`` (in ``person``'s scope: the
    caller checked it) over the periods holding ``first`` … ``last``, as of ``day``
    (today). ``area`` above the report's area is read as the report's area. Raises
    ``ReportError`` when ``area`` is outside the report or below its unit level, or the
    dates are reversed. ``chase`` False: without the units to chase (no contacts)."""
    check_area(definition, area)
    reach = scope.report_reach(definition, area)
    if first > last:
        raise ReportError(_("开始日期 %(a)s 晚于结束日期 %(b)s", a=first, b=last))
    periods = periods_between(definition.period, first, last)
    deadlines = [p.deadline(definition.deadline_days) for p in periods]
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    areas = list(db.session.scalars(select(Area).where(scope.within(reach, Area.id))))
    units = sorted(
        (a for a in areas if a.active and a.level == definition.level), key=lambda a: a.path
    )
    unit_ids = {a.code: a.id for a in units}
    unit_of = {}
    for a in areas:
        unit = next((unit_ids[c] for c in _codes(a.path) if c in unit_ids), None)
        if unit is not None:
            unit_of[a.id] = unit
    cells = _cells(
        units, unit_of, _grouped(definition, reach, periods), periods, deadlines, day, tz
    )
    total, rows, unit_rows = _rows(reach, areas, units, cells, len(periods))
    past = [i for i, d in enumerate(deadlines) if d < day]
    result = Completeness(
        definition,
        reach,
        periods,
        deadlines,
        day,
        total,
        rows,
        unit_rows,
        past[-1] if past else None,
    )
    if chase and result.latest is not None:
        _chase(person, result)
    return result


def _chase(person: scope.Person, result: Completeness) -> None:
    """The units missing the latest past period, each with its mediators (names; phones
    for those who may see them): one statement, only when some unit is missing."""
    missing = [r.place for r in result.units if r.cells[result.latest].status == MISSING]
    if not missing:
        return
    result.phones_shown = scope.may_see_contact_phones(person)
    wanted = {p.code: [] for p in missing}
    for user in db.session.scalars(scope.report_contacts(result.area)):
        code = next((c for c in _codes(user.area.path) if c in wanted), None)
        if code is not None:
            phone = user.phone if result.phones_shown else None
            wanted[code].append(Contact(user.display_name, phone))
    result.chase = [(p, wanted[p.code]) for p in missing]
