"""Data pages: forms with counts, a form's submission table, one submission, CSV."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from fieldapp.audit.services import record
from fieldapp.auth.access import roles_required
from fieldapp.errors import fail
from fieldapp.exports.bundle import FORMATS, MIMETYPES, ExportError, ExportOptions, build_export
from fieldapp.exports.csv_export import build_layout, deidentifier, export_csv
from fieldapp.exports.filters import FilterError, SubmissionFilter, filter_options
from fieldapp.exports.identify import may_export_identifying
from fieldapp.exports.runner import job_params
from fieldapp.exports.table import META_LABELS, meta_cells
from fieldapp.extensions import db
from fieldapp.jobs.services import enqueue, ensure_worker
from fieldapp.submissions.models import Submission
from fieldapp.submissions.services import (
    count_scoped,
    count_stmt,
    get_scoped,
    scoped_submissions,
)
from fieldapp.surveys.services import can_see, forms_in_scope, get_form

bp = Blueprint("submissions", __name__, url_prefix="/data")

VIEWERS = ("admin", "supervisor", "researcher")
PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # keeps the SQL offset a sane integer


def _allowed_identifying() -> bool:
    return may_export_identifying(current_user.role, current_app.config["IDENTIFYING_EXPORT_ROLES"])


def _deid(form, identifying: bool):
    return deidentifier(form, identifying, current_app.config["INSTANCE_PATH"])


def _filtered(form):
    """The user's scoped submissions of ``form`` narrowed by the request's filters."""
    try:
        flt = SubmissionFilter.from_args(request.args)
        return flt, flt.apply(
            scoped_submissions(current_user, form), current_user, current_app.config["TIMEZONE"]
        )
    except FilterError as exc:
        fail(400, str(exc))


def _in_background(total: int) -> bool:
    return (
        request.args.get("background") == "1" or total > current_app.config["EXPORT_SYNC_MAX_ROWS"]
    )


def _queue(form, params: dict, total: int):
    """Hand a large export to the job queue and show its progress page."""
    job = enqueue(current_user, form, params, total)
    db.session.commit()
    ensure_worker(current_app._get_current_object())
    return redirect(url_for("jobs.page", token=job.token))


def _form_or_404(form_id: str):
    form = get_form(form_id)
    if form is None or not can_see(current_user, form):
        fail(404, _("找不到问卷 %(id)s，或您无权查看", id=form_id))
    return form


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
    form = _form_or_404(form_id)
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
        formats=FORMATS,
        options=filter_options(current_user, form, scoped_submissions(current_user, form)),
    )


def _export_request(form_id: str, fmt: str):
    """Read an export request (options, filters, identifying) and write its audit event.

    Returns (form, options, identifying, filter, statement, row count)."""
    form = _form_or_404(form_id)
    identifying = request.args.get("identifying") == "1"
    if identifying and not _allowed_identifying():
        fail(403, _("您的角色不能导出含身份信息的数据；请导出去标识化的数据"))
    values = request.args.get("values") or "codes"
    if values not in ("codes", "labels"):
        fail(400, _("values 只能是 codes（选项代码）或 labels（选项标签）"))
    language = request.args.get("lang") or None
    languages = form.current.schema.get("languages") or []
    if language and language not in languages:
        fail(
            400,
            _(
                "问卷没有语言 %(lang)s；可选：%(langs)s",
                lang=language,
                langs="、".join(languages) or "无",
            ),
        )
    options = ExportOptions(
        fmt=fmt,
        labels=values == "labels",
        language=language,
        bom=request.args.get("bom", "1") != "0",
    )
    flt, stmt = _filtered(form)
    total = count_stmt(stmt)
    record(
        current_user.id,
        "export",
        f"form:{form.form_id}",
        format=fmt,
        values="labels" if options.labels else "codes",
        identifying=identifying,
        filters=flt.as_args(),
        rows=total,
    )
    return form, options, identifying, flt, stmt, total


@bp.get("/<form_id>/export.csv")
@roles_required(*VIEWERS)
def export(form_id: str):
    """Download the form's submissions in the user's scope as CSV (UTF-8 with BOM)."""
    form, options, identifying, flt, stmt, total = _export_request(form_id, "csv")
    if _in_background(total):
        return _queue(form, job_params("csv", options, flt, identifying), total)
    db.session.commit()
    body = export_csv(
        form.id,
        stmt,
        labels=options.labels,
        language=options.language or form.current.schema.get("default_language"),
        bom=options.bom,
        tz=current_app.config["TIMEZONE"],
        identifying=identifying,
        instance_path=current_app.config["INSTANCE_PATH"],
    )
    filename = f"{form.form_id}.csv"
    return Response(
        stream_with_context(body),
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{quote(filename)}"; '
            f"filename*=UTF-8''{quote(filename)}"
        },
    )


@bp.get("/<form_id>/export")
@roles_required(*VIEWERS)
def export_file(form_id: str):
    """Download the form's submissions as XLSX, SPSS, Stata, R, long CSV or codebook.

    Query: ``format`` (see ``exports.bundle.FORMATS``), ``values=labels``, ``lang``,
    ``identifying=1`` (allowed roles only), and the filters of ``exports.filters``.
    """
    fmt = request.args.get("format", "xlsx")
    if fmt == "csv":
        return export(form_id)
    if fmt not in FORMATS:
        fail(400, _("未知的导出格式：%(fmt)s", fmt=fmt))
    form, options, identifying, flt, stmt, total = _export_request(form_id, fmt)
    if _in_background(total):
        return _queue(form, job_params(fmt, options, flt, identifying), total)
    db.session.commit()
    folder = Path(tempfile.mkdtemp(prefix="fieldapp-export-"))
    try:
        path = build_export(
            form, stmt, options, _deid(form, identifying), folder, current_app.config["TIMEZONE"]
        )
    except ExportError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        fail(422, str(exc))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    resp = send_file(
        path,
        mimetype=MIMETYPES.get(path.suffix, "application/octet-stream"),
        as_attachment=True,
        download_name=path.name,
        max_age=0,
    )
    resp.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    return resp


@bp.get("/submission/<instance_id>")
@roles_required(*VIEWERS)
def detail(instance_id: str):
    """One submission's answers (an audited read of identifying data)."""
    sub = get_scoped(current_user, instance_id)
    if sub is None:
        fail(404, _("找不到该提交，或您无权查看"))
    layout = build_layout(
        sub.form,
        scoped_submissions(current_user, sub.form).where(Submission.id == sub.id),
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
    )


@bp.get("/submission/<instance_id>/attachments/<filename>")
@roles_required(*VIEWERS)
def attachment(instance_id: str, filename: str):
    """Download one attachment (photo, audio) of a submission; audited, never inline HTML."""
    if not _allowed_identifying():  # a photo of a household identifies it
        fail(403, _("照片等附件可能暴露身份，您的角色不能查看"))
    sub = get_scoped(current_user, instance_id)
    item = next((a for a in sub.attachments if a.filename == filename), None) if sub else None
    if item is None:
        fail(404, _("找不到该附件，或您无权查看"))
    record(
        current_user.id, "download_attachment", f"submission:{sub.instance_id}", filename=filename
    )
    db.session.commit()
    inline = item.content_type.startswith(("image/", "audio/", "video/"))
    return Response(
        item.data,
        content_type=item.content_type,
        headers={
            "Content-Disposition": ("inline" if inline else "attachment")
            + f"; filename*=UTF-8''{quote(filename)}",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "no-store",
        },
    )
