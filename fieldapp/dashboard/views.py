"""A form's dashboard page and the aggregates it draws (JSON)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask_login import current_user

from fieldapp.areas.services import get_area
from fieldapp.audit.services import record
from fieldapp.dashboard.services import summarize
from fieldapp.errors import json_errors
from fieldapp.extensions import db
from fieldapp.scope import VIEWERS, roles_required, submissions_in_scope, visible_form_or_404
from fieldapp.submissions.filters import FilterError, SubmissionFilter, filter_options
from fieldapp.surveys.models import Form

bp = Blueprint("dashboard", __name__, url_prefix="/data")

FILTER_ARGS = ("from", "to", "area", "version", "submitter", "lang")


def _filtered(form: Form):
    """The request's filter and the user's scoped submissions narrowed by it."""
    flt = SubmissionFilter.from_args(request.args)
    tz = current_app.config["TIMEZONE"]
    return flt, flt.apply(submissions_in_scope(current_user, form), current_user, tz)


def _language(form: Form) -> str | None:
    schema = form.current.schema
    asked = request.args.get("lang")
    return asked if asked in (schema.get("languages") or []) else schema.get("default_language")


@bp.get("/<form_id>/dashboard")
@roles_required(*VIEWERS)
def page(form_id: str):
    """The dashboard: the filters and empty charts that fetch ``dashboard.json``."""
    form = visible_form_or_404(form_id)
    error = None
    try:
        _filtered(form)
    except FilterError as exc:
        error = str(exc)
    return render_template(
        "dashboard/page.html",
        form=form,
        error=error,
        options=filter_options(current_user, form, submissions_in_scope(current_user, form)),
        languages=form.current.schema.get("languages") or [],
        language=_language(form),
        data_url=url_for(
            "dashboard.data",
            form_id=form.form_id,
            **{k: request.args[k] for k in FILTER_ARGS if request.args.get(k)},
        ),
    ), (400 if error else 200)


@bp.get("/<form_id>/dashboard.json")
@roles_required(*VIEWERS)
@json_errors
def data(form_id: str):
    """Counts and summaries of the form's submissions in the user's scope, filtered."""
    form = visible_form_or_404(form_id)
    try:
        flt, stmt = _filtered(form)
    except FilterError as exc:
        return jsonify(error={"status": 400, "message": str(exc)}), 400
    summary = summarize(
        form,
        stmt,
        _language(form),
        area=get_area(flt.area_code) if flt.area_code else current_user.area,
        tz=current_app.config["TIMEZONE"],
        first=flt.date_from,
        last=flt.date_to,
    )
    record(
        current_user.id,
        "view_dashboard",
        f"form:{form.form_id}",
        filters=flt.as_args(),
        rows=summary["total"],
    )
    db.session.commit()
    return jsonify(summary)
