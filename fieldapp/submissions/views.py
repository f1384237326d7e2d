"""Data pages: forms with counts, a form's submission table, one submission and its
attachments (exports: ``fieldapp.exports``; charts: ``fieldapp.dashboard``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from fieldapp.audit.services import record
from fieldapp.dataset.identify import deidentifier
from fieldapp.dataset.wide import META_LABELS, build_layout, meta_cells
from fieldapp.errors import fail
from fieldapp.extensions import db
from fieldapp.scope import (
    VIEWERS,
    correction_refusal,
    forms_in_scope,
    may_identify,
    roles_required,
    submissions_in_scope,
    visible_form_or_404,
    visible_submission_or_404,
)
from fieldapp.submissions.attachments import attachment_response
from fieldapp.submissions.filters import FilterError, SubmissionFilter, filter_options
from fieldapp.submissions.models import Submission
from fieldapp.submissions.services import count_scoped, count_stmt

bp = Blueprint("submissions", __name__, url_prefix="/data")

PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # keeps the SQL offset a sane integer


def _allowed_identifying() -> bool:
    return may_identify(current_user)


def _deid(form, identifying: bool):
    return deidentifier(form, identifying, current_app.config["INSTANCE_PATH"])


def _filtered(form):
    """The user's scoped submissions of ``form`` narrowed by the request's filters."""
    try:
        flt = SubmissionFilter.from_args(request.args)
        return flt, flt.apply(
            submissions_in_scope(current_user, form), current_user, current_app.config["TIMEZONE"]
        )
    except FilterError as exc:
        fail(400, str(exc))


@bp.get("/")
@roles_required(*VIEWERS)
def index():
    """Forms whose data the user may see, with submission counts in their scope."""
    forms = forms_in_scope(current_user)
    return render_template(
        "submissions/index.html",
        forms=forms,
        counts={f.id: count_scoped(current_user, f) for f in forms},
    )


@bp.get("/<form_id>")
@roles_required(*VIEWERS)
def table(form_id: str):
    """A page of a form's submissions as a table, codes or labels."""
    form = visible_form_or_404(form_id)
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    labels = request.args.get("values") == "labels"
    language = request.args.get("lang") or form.current.schema.get("default_language")
    flt, stmt = _filtered(form)
    total = count_stmt(stmt)
    page_stmt = (
        stmt.limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
        .options(
            selectinload(Submission.submitter),
            selectinload(Submission.area),
            selectinload(Submission.form_version),
        )
    )
    # People who may not export identifying data do not see it on screen either.
    layout = build_layout(form, page_stmt, labels, language, _deid(form, _allowed_identifying()))
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    rows = [layout.row(meta_cells(s, zone), s.data) for s in db.session.scalars(page_stmt)]
    record(current_user.id, "view_table", f"form:{form.form_id}", page=page, rows=len(rows))
    db.session.commit()
    return render_template(
        "submissions/table.html",
        form=form,
        header=layout.header,
        header_labels=layout.header_labels,
        meta_count=len(META_LABELS),
        rows=rows,
        page=page,
        total=total,
        page_size=PAGE_SIZE,
        labels=labels,
        language=language,
        languages=form.current.schema.get("languages") or [],
        filters=flt,
        may_identify=_allowed_identifying(),
        options=filter_options(current_user, form, submissions_in_scope(current_user, form)),
    )


@bp.get("/submission/<instance_id>")
@roles_required(*VIEWERS)
def detail(instance_id: str):
    """One submission's answers (an audited read of identifying data)."""
    sub = visible_submission_or_404(instance_id)
    layout = build_layout(
        sub.form,
        submissions_in_scope(current_user, sub.form).where(Submission.id == sub.id),
        deid=_deid(sub.form, _allowed_identifying()),
    )
    cells = layout.row(meta_cells(sub, ZoneInfo(current_app.config["TIMEZONE"])), sub.data)
    record(current_user.id, "view_submission", f"submission:{sub.instance_id}")
    db.session.commit()
    return render_template(
        "submissions/detail.html",
        sub=sub,
        rows=list(zip(layout.header_labels, layout.header, cells, strict=True)),
        meta_count=len(META_LABELS),
        show_attachments=_allowed_identifying(),
        # Correcting it (issue 12) happens in the phone app, as on a mediator's phone.
        may_correct=correction_refusal(current_user, sub) is None,
    )


@bp.get("/submission/<instance_id>/attachments/<filename>")
@roles_required(*VIEWERS)
def attachment(instance_id: str, filename: str):
    """Download one attachment (photo, audio) of a submission; audited, never inline HTML."""
    if not _allowed_identifying():  # a photo of a household identifies it
        fail(403, _("照片等附件可能暴露身份，您的角色不能查看"))
    sub = visible_submission_or_404(instance_id, _("找不到该附件，或您无权查看"))
    return attachment_response(sub, filename, inline=True)
