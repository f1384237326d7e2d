"""The report pages (``/reports/``): the periodic reports one may read, defining and
editing them (admins and supervisors, for their subtree), and a report's completeness
and timeliness per area and period, drilling down to the units, with its XLSX. Who may
do what is ``fieldapp.scope``; the figures are ``fieldapp.reports.completeness``."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp import clock, scope
from fieldapp.areas import tree
from fieldapp.areas.services import area_choices, level_label
from fieldapp.audit.services import record
from fieldapp.extensions import db
from fieldapp.reports import completeness as figures
from fieldapp.reports import services, tables
from fieldapp.reports.forms import DefinitionForm
from fieldapp.reports.models import PERIODS
from fieldapp.reports.periods import kind_label, period_label
from fieldapp.reports.services import ReportError

bp = Blueprint("reports", __name__, url_prefix="/reports")
readers = scope.roles_required(*scope.REPORT_READERS)
definers = scope.roles_required(*scope.REPORT_DEFINERS)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/")
@readers
def index():
    """The periodic reports I may read, with links to their completeness."""
    return render_template(
        "reports/index.html",
        definitions=services.definitions(current_user),
        describe=services.describe,
        may_edit=lambda d: scope.may_edit_report(current_user, d),
    )


def _edit_page(form: DefinitionForm, definition=None, error: str | None = None):
    keep = definition.form if definition else None
    form.form.choices = [
        (f.form_id, _("%(title)s（%(id)s）", title=f.title, id=f.form_id))
        for f in services.definition_forms(current_user, keep)
    ]
    form.period.choices = [(p, kind_label(p)) for p in PERIODS]
    form.level.choices = [(lvl, level_label(lvl)) for lvl in services.UNIT_LEVELS]
    form.area.choices = area_choices(
        current_user, active_only=True, keep=definition.area.code if definition else None
    )
    body = render_template("reports/edit.html", form=form, definition=definition, error=error)
    return (body, 400) if error else body


def _save(form: DefinitionForm, definition=None):
    """Save a valid POST (CSRF); a ``ReportError`` shows the form again with why."""
    if not form.validate_on_submit():
        abort(400)
    try:
        saved = services.save_definition(
            current_user,
            definition,
            name=form.name.data,
            form_id=form.form.data,
            period=form.period.data,
            level=form.level.data,
            deadline_days=form.deadline_days.data,
            area_code=form.area.data,
            active=form.active.data,
        )
    except ReportError as exc:
        db.session.rollback()
        return _edit_page(form, definition, str(exc))
    db.session.commit()
    flash(_("已保存报告“%(name)s”", name=saved.name), "info")
    return redirect(url_for(".page", report_id=saved.id))


@bp.route("/new", methods=["GET", "POST"])
@definers
def create():
    """Define a new periodic report."""
    form = DefinitionForm()
    if request.method == "POST":
        return _save(form)
    form.period.data, form.level.data, form.deadline_days.data = "monthly", "village", "5"
    form.area.data = current_user.area.code
    return _edit_page(form)


@bp.route("/<int:report_id>/edit", methods=["GET", "POST"])
@definers
def edit(report_id: int):
    """Change or deactivate a report of my subtree."""
    definition = scope.visible_report_or_404(report_id)
    if not scope.may_edit_report(current_user, definition):
        abort(403)
    form = DefinitionForm(obj=None if request.method == "POST" else definition)
    if request.method == "POST":
        return _save(form, definition)
    form.form.data, form.area.data = definition.form.form_id, definition.area.code
    form.deadline_days.data = str(definition.deadline_days)
    return _edit_page(form, definition)


def _asked(definition):
    """(area, first day, last day) of the request's ``area``, ``from``, ``to``; an area
    outside one's subtree is a 404; a bad date or an area outside the report, a
    ``ReportError``."""
    code = (request.args.get("area") or "").strip()
    area = scope.visible_area_or_404(code) if code else None
    area = area or services.default_area(current_user, definition)
    services.check_area(definition, area)
    first, last = services.date_range(
        definition, request.args.get("from"), request.args.get("to"), clock.today()
    )
    return area, first, last


@bp.get("/<int:report_id>")
@readers
def page(report_id: int):
    """Completeness and timeliness of a report per area and period; click an area to
    go down to its units; the units that have not reported the latest past period."""
    definition = scope.visible_report_or_404(report_id)
    try:
        area, first, last = _asked(definition)
        result = figures.compute(current_user, definition, area, first, last, clock.today())
    except ReportError as exc:
        return _error_page(definition, str(exc))
    # The way back up, within the report's area.
    trail = [
        a for a in tree.trail(current_user, result.area) if scope.report_reach(definition, a) is a
    ]
    return render_template(
        "reports/page.html",
        definition=definition,
        result=result,
        error=None,
        trail=trail,
        first=first,
        last=last,
        **_shared(),
    )


def _error_page(definition, message: str):
    """The page with ``message`` (a date or area to correct) and the form, as a 400."""
    body = render_template(
        "reports/page.html", definition=definition, result=None, error=message, **_shared()
    )
    return body, 400


def _shared() -> dict:
    return {
        "describe": services.describe,
        "level_label": level_label,
        "period_label": period_label,
        "percent": tables.percent_text,
        "status_text": tables.status_text,
        "STATUS": figures.STATUS_LABELS,
        "args": {k: v for k, v in request.args.items() if k in ("from", "to", "area") and v},
    }


@bp.get("/<int:report_id>/completeness.xlsx")
@readers
def download(report_id: int):
    """The page's figures as an Excel workbook (summary, units, whom to chase)."""
    definition = scope.visible_report_or_404(report_id)
    try:
        area, first, last = _asked(definition)
        result = figures.compute(current_user, definition, area, first, last, clock.today())
    except ReportError as exc:
        return _error_page(definition, str(exc))
    data = tables.as_xlsx(result)
    record(
        current_user.id,
        "report_export",
        f"report:{definition.id}",
        area=result.area.code,
        first=first.isoformat(),
        last=last.isoformat(),
        format="xlsx",
    )
    db.session.commit()
    name = f"completeness-{definition.id}-{result.area.code}-{first}-{last}.xlsx"
    return Response(
        data, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
