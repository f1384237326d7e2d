"""The yearly figures pages (``/figures/``): every figure of a year for an area with the
previous year and a small chart, the district table, target progress; its XLSX; the
targets table (admins, per district) and the definitions (city admins). Who may open
what is ``fieldapp.scope`` (``may_see_figures``, ``target_areas``,
``may_edit_figure_definitions``); the numbers are ``fieldapp.figures.compute``."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp import clock, scope
from fieldapp.errors import fail
from fieldapp.extensions import db
from fieldapp.figures import definitions as defs
from fieldapp.figures import pages, tables
from fieldapp.figures.compute import OWN, FiguresError, check_year
from fieldapp.figures.forms import DefinitionForm
from fieldapp.figures.models import FigureDefinition
from fieldapp.figures.targets import bad_cells, save_targets

bp = Blueprint("figures", __name__, url_prefix="/figures")
viewers_only = scope.roles_required(*scope.FIGURE_VIEWERS)
editors_only = scope.roles_required(*scope.FIGURE_EDITORS)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS_PER_TABLE = 8  # child areas per district table (A4 portrait)


def _year() -> int:
    """The ``year`` asked for (this year by default); 400 with a message when bad."""
    raw = request.values.get("year", "").strip()
    if not raw:
        return clock.today().year
    try:
        return check_year(raw)
    except FiguresError as exc:
        fail(400, str(exc))


def _area():
    """The ``area`` asked for (the user's home area by default), in their subtree."""
    code = request.args.get("area", "").strip()
    if not code:
        return current_user.area
    area = pages.area_by_code(current_user, code[:32])
    if area is None:
        fail(404, _("找不到区划 %(code)s，或它不在您的管辖范围内", code=code[:32]))
    return area


def _report():
    try:
        return pages.report(current_user, _year(), _area())
    except FiguresError as exc:
        fail(400, str(exc))


@bp.get("/")
@viewers_only
def index():
    """Every active figure of the year for the area, grouped, with the previous year, the
    change and a chart; the district table; each district's progress against its
    targets. Printable (A4)."""
    rep = _report()
    figs = rep.figures
    columns = [(a.id, a.name) for a in figs.children]
    if figs.own:
        columns.append((OWN, _("%(name)s本级", name=figs.area.name)))
    return render_template(
        "figures/index.html",
        rep=rep,
        figs=figs,
        chunks=[
            columns[i : i + COLUMNS_PER_TABLE] for i in range(0, len(columns), COLUMNS_PER_TABLE)
        ]
        or [[]],
        areas=pages.area_choices(current_user),
        fmt=fmt,
        pct=pct,
        problems=[f for f in figs.figures if f.problem],
        may_set_targets=scope.may_set_targets(current_user),
        may_edit=scope.may_edit_figure_definitions(current_user),
    )


def fmt(value) -> str:
    """A number for the page: thousands separated, at most 2 decimals."""
    n = tables.number(value)
    if n is None:
        return "–"
    return f"{n:,}" if isinstance(n, int) else f"{n:,.2f}".rstrip("0").rstrip(".")


def pct(value) -> str:
    """A percentage for the page (one decimal), or – when there is none."""
    return "–" if value is None else f"{value:.1f}%"


@bp.get("/export.xlsx")
@viewers_only
def export_xlsx():
    """The figures page as an Excel workbook (figures, district table, targets);
    audited as ``figures_export``."""
    rep = _report()
    buf = io.BytesIO()
    tables.write_xlsx(buf, rep.figures, rep.progress)
    pages.audit_export(current_user.id, rep, "xlsx")
    db.session.commit()
    buf.seek(0)
    name = f"figures-{rep.figures.year}-{rep.figures.area.code}.xlsx"
    return send_file(buf, mimetype=XLSX, as_attachment=True, download_name=name)


@bp.route("/targets", methods=["GET", "POST"])
@editors_only
def targets():
    """The yearly targets of the districts below the admin (a table of districts ×
    figures); a bad number refuses the whole table and names the cell."""
    year = _year()
    districts, definitions, saved = pages.target_table(current_user, year)
    typed: dict[tuple[int, str], str] = {}
    errors: list[str] = []
    if request.method == "POST":
        keys = {d.key for d in definitions}
        for name, text in request.form.items():
            if name.startswith("t-"):
                area_id, _sep, key = name[2:].partition("-")
                if area_id.isdigit():
                    typed[(int(area_id), key)] = text[:40]
        errors = save_targets(current_user, year, typed, keys)
        if not errors:
            db.session.commit()
            flash(_("%(year)s 年目标已保存", year=year), "success")
            return redirect(url_for("figures.targets", year=year))
    body = render_template(
        "figures/targets.html",
        year=year,
        districts=districts,
        definitions=definitions,
        saved=saved,
        typed=typed,
        bad=bad_cells(typed) if errors else set(),
        errors=errors,
        fmt=fmt,
    )
    return (body, 400) if errors else body


def _definitions_editor():
    if not scope.may_edit_figure_definitions(current_user):
        abort(403)


@bp.get("/definitions")
@editors_only
def definitions():
    """Every figure definition (active or not) with what is wrong with it, if anything
    (a condition that does not parse, a name its source lacks, a form not published)."""
    _definitions_editor()
    rows = [
        (d, _("；").join(defs.validate(d) + defs.warnings(d)) or None)
        for d in defs.all_definitions()
    ]
    return render_template("figures/definitions.html", rows=rows)


@bp.route("/definitions/new", methods=["GET", "POST"])
@bp.route("/definitions/<key>", methods=["GET", "POST"])
@editors_only
def edit_definition(key: str | None = None):
    """Add a definition, or change one: validated before saving (the condition parsed,
    its names looked up in the source), audited."""
    _definitions_editor()
    defn = None
    if key is not None:
        defn = defs.get_definition(key[:64])
        if defn is None:
            fail(404, _("找不到指标 %(key)s", key=key[:64]))
    form = DefinitionForm(obj=defn)
    if defn is None and request.method == "GET":
        form.active.data = True
        form.aggregate.data = defs.COUNT
        form.position.data = 1000
    errors: list[str] = []
    if form.validate_on_submit():
        target = defn or FigureDefinition()
        errors = defs.save(current_user.id, target, form.values(), new=defn is None)
        if not errors:
            warnings = defs.warnings(target)
            db.session.commit()
            flash(_("指标“%(label)s”已保存", label=target.label), "success")
            for w in warnings:
                flash(w, "warning")
            return redirect(url_for("figures.definitions"))
        db.session.rollback()
    elif request.method == "POST":
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    body = render_template("figures/definition.html", form=form, defn=defn, errors=errors)
    return (body, 400) if errors else body
