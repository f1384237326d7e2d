"""Periodic reports (issue 11): defining them, and reading what a completeness request
asks for (dates, area). Views, the CLI and tests call these; who may do what is
``fieldapp.scope``; the figures themselves are ``fieldapp.reports.completeness``.

Every ``ReportError`` carries a message in the UI language that says what to correct."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from fieldapp import scope
from fieldapp.areas.models import LEVELS, Area
from fieldapp.areas.services import AreaError, get_area, level_label
from fieldapp.audit.services import record
from fieldapp.auth.models import User
from fieldapp.extensions import db
from fieldapp.reports.models import MONTHLY, PERIODS, QUARTERLY, WEEKLY, ReportDefinition
from fieldapp.reports.periods import kind_label, period_of
from fieldapp.surveys.models import Form

ZERO_FORM_ID = "zero_report"  # the bundled form of an explicit zero report (零报告)
UNIT_LEVELS = ("village", "town")  # who reports: each village, or each town
MAX_NAME = 100
MAX_DEADLINE_DAYS = 90
MAX_YEARS = 3  # the longest date range one completeness request may cover
# The range shown when none is asked: this many periods up to today.
DEFAULT_PERIODS = {WEEKLY: 12, MONTHLY: 12, QUARTERLY: 4}


class ReportError(ValueError):
    """A report cannot be defined or read as asked (message in the UI language)."""


# -- defining reports ----------------------------------------------------------------


def definition_forms(person: scope.Person, keep: Form | None = None) -> list[Form]:
    """The forms ``person`` may choose as a report's form: those they may see
    (``scope.forms_in_scope``) but the zero report itself, plus ``keep`` (the form a
    definition being edited already has), by title."""
    forms = [f for f in scope.forms_in_scope(person) if f.form_id != ZERO_FORM_ID]
    if keep is not None and keep not in forms:
        forms.insert(0, keep)
    return forms


def _clean_name(name: str | None) -> str:
    text = " ".join((name or "").split())
    if not text:
        raise ReportError(_("请填写报告名称"))
    if len(text) > MAX_NAME:
        raise ReportError(_("报告名称太长（最多 %(n)s 个字符）", n=MAX_NAME))
    return text


def _deadline_days(value) -> int:
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        days = -1
    if not 0 <= days <= MAX_DEADLINE_DAYS:
        raise ReportError(_("截止天数应为 0 到 %(n)s 之间的整数", n=MAX_DEADLINE_DAYS))
    return days


def save_definition(
    person: scope.Person,
    definition: ReportDefinition | None,
    *,
    name: str,
    form_id: str,
    period: str,
    level: str,
    deadline_days: int | str,
    area_code: str,
    active: bool = True,
) -> ReportDefinition:
    """Create (``definition`` None) or change a periodic report for ``person`` and
    flush it; audited ``report_define`` / ``report_update``.

    Checks: ``person`` may define reports (and edit this one: ``scope.may_edit_report``);
    the form is one they may see and not the zero report; ``period`` one of
    ``PERIODS``; ``level`` one of ``UNIT_LEVELS``; ``deadline_days`` 0…90; the area is in
    their subtree and at or above ``level``. Raises ``ReportError``."""
    if not scope.may_define_reports(person) or (
        definition is not None and not scope.may_edit_report(person, definition)
    ):
        raise ReportError(_("您无权定义或修改这个报告"))
    name = _clean_name(name)
    form = scope.form_in_scope(person, (form_id or "").strip())
    keep = definition.form if definition is not None else None
    if form is None and keep is not None and keep.form_id == form_id:
        form = keep  # unchanged: still allowed even if it moved out of sight
    if form is None:
        raise ReportError(_("请选择一份您可以查看的问卷"))
    if form.form_id == ZERO_FORM_ID:
        raise ReportError(_("零报告问卷本身不能作为报告问卷：零报告对每个报告都有效"))
    if period not in PERIODS:
        raise ReportError(_("请选择报告周期：每周、每月或每季度"))
    if level not in UNIT_LEVELS:
        raise ReportError(_("请选择报告单位：村/社区或镇/街道"))
    days = _deadline_days(deadline_days)
    try:
        area = get_area((area_code or "").strip())
    except AreaError:
        area = None
    if area is None or not scope.area_in_scope(person, area):
        raise ReportError(_("请选择您管辖范围内的区划"))
    if LEVELS.index(area.level) > LEVELS.index(level):
        raise ReportError(
            _(
                "%(area)s 是%(alevel)s，低于报告单位（%(level)s）：请选择更高一级的区划",
                area=area.name,
                alevel=level_label(area.level),
                level=level_label(level),
            )
        )
    values = dict(name=name, form=form, period=period, level=level, deadline_days=days, area=area)
    if definition is None:
        definition = ReportDefinition(**values, active=True, created_by_id=person.id)
        db.session.add(definition)
        action = "report_define"
    else:
        for key, value in values.items():
            setattr(definition, key, value)
        definition.active = bool(active)
        action = "report_update"
    db.session.flush()
    detail = {"name": name, "form": form.form_id, "period": period, "level": level}
    detail |= {"deadline_days": days, "area": area.code, "active": definition.active}
    if person is scope.OPERATOR:
        detail["via"] = "cli"
    record(person.id, action, f"report:{definition.id}", **detail)
    return definition


def describe(definition: ReportDefinition) -> str:
    """One line about a report: 每月 · 村/社区 · 截止：周期结束后 5 天."""
    return _(
        "%(period)s · 每个%(level)s · 截止：周期结束后 %(days)s 天",
        period=kind_label(definition.period),
        level=level_label(definition.level),
        days=definition.deadline_days,
    )


def find_definition(key: str) -> ReportDefinition:
    """The report with id ``key``, else the one named ``key`` (the command line: the
    operator reads every report). Raises ``ReportError`` when there is none or the
    name is not unique."""
    key = (key or "").strip()
    if key.isdigit():
        found = db.session.get(ReportDefinition, int(key))
        if found is not None:
            return found
    named = list(db.session.scalars(select(ReportDefinition).where(ReportDefinition.name == key)))
    if len(named) > 1:
        raise ReportError(_("有 %(n)s 个报告名为“%(name)s”，请用编号", n=len(named), name=key))
    if not named:
        raise ReportError(_("没有编号或名称为“%(key)s”的报告", key=key))
    return named[0]


# -- what a completeness request asks for ---------------------------------------------


def parse_day(text: str | None, what: str) -> date | None:
    """``text`` (YYYY-MM-DD) as a date, ``None`` when empty. Raises ``ReportError``
    naming ``what`` (开始日期, 结束日期) when it is not a date."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReportError(
            _("%(what)s“%(text)s”不是有效日期，请写成 2026-11-30 这样", what=what, text=text[:20])
        ) from None


def date_range(
    definition: ReportDefinition, first: str | None, last: str | None, day: date
) -> tuple[date, date]:
    """The days a completeness request covers: ``first`` … ``last`` as given; a missing
    end is ``day`` (today), a missing start the last ``DEFAULT_PERIODS`` periods up to
    the end. Raises ``ReportError`` for a bad date, a start after the end, or more than
    ``MAX_YEARS`` years."""
    start = parse_day(first, _("开始日期"))
    end = parse_day(last, _("结束日期")) or day
    if start is None:
        back = period_of(definition.period, end)
        for _i in range(DEFAULT_PERIODS.get(definition.period, 12) - 1):
            back = back.previous()
        start = back.start
    if start > end:
        raise ReportError(_("开始日期 %(a)s 晚于结束日期 %(b)s", a=start, b=end))
    if end - start > timedelta(days=366 * MAX_YEARS):
        raise ReportError(_("日期范围太长：一次最多查看 %(n)s 年，请缩短范围", n=MAX_YEARS))
    return start, end


def default_area(person: scope.Person, definition: ReportDefinition) -> Area:
    """Where a reader's view of ``definition`` starts: the report's area, or their own
    home area when the report was defined above it."""
    if person is scope.OPERATOR or scope.area_in_scope(person, definition.area):
        return definition.area
    return person.area


def check_area(definition: ReportDefinition, area: Area) -> None:
    """Raise ``ReportError`` unless ``area`` overlaps ``definition``'s area
    (``scope.report_reach``) and is at or above the report's unit level."""
    if scope.report_reach(definition, area) is None:
        raise ReportError(
            _(
                "%(area)s 不在报告“%(name)s”的范围（%(scope)s）内",
                area=area.name,
                name=definition.name,
                scope=definition.area.name,
            )
        )
    if LEVELS.index(area.level) > LEVELS.index(definition.level):
        raise ReportError(
            _(
                "这个报告按%(level)s统计；%(area)s 是%(alevel)s，请选择%(level)s或更高一级",
                level=level_label(definition.level),
                area=area.name,
                alevel=level_label(area.level),
            )
        )


def definitions(person: scope.Person) -> list[ReportDefinition]:
    """The reports ``person`` may read (``scope.report_definitions_in_scope``), active
    first, by area and name."""
    return list(db.session.scalars(scope.report_definitions_in_scope(person)))


def unit_of(person: scope.Person, definition: ReportDefinition) -> Area | None:
    """The unit ``person`` files ``definition`` for: their home area or the area above
    it at the report's level (None when their home area is above that level)."""
    if not isinstance(person, User):
        return None
    codes = [c for c in person.area.path.split("/") if c]
    stmt = select(Area).where(Area.code.in_(codes), Area.level == definition.level)
    return db.session.scalar(stmt)
