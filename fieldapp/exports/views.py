"""Export pages: a form's data as a download (CSV streamed, other formats as files), the
households (entity list) a form fills with their history, and a background export's
progress page and download (requester only).

Starting a background job or an export with identifying data takes a POST with the
CSRF token (issue 14: a link must not make someone's browser start one). A GET of such
an export shows a page that asks, and changes nothing; a GET still downloads a small
de-identified export, and a finished job's file."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp.audit.services import record
from fieldapp.cases.export_rows import form_dataset
from fieldapp.errors import fail
from fieldapp.exports import households, queue, services
from fieldapp.exports.bundle import FORMATS, MIMETYPES
from fieldapp.exports.formats import ExportError
from fieldapp.exports.household_request import HouseholdExportRequest
from fieldapp.exports.models import DONE, ExportJob
from fieldapp.exports.request import ExportRequest, ExportRequestError
from fieldapp.extensions import db
from fieldapp.scope import (
    VIEWERS,
    logged_in,
    own_export_job_or_404,
    roles_required,
    visible_form_or_404,
)

bp = Blueprint("exports", __name__, url_prefix="/data")


@bp.app_context_processor
def _formats() -> dict:
    """The formats a data page offers (``templates/submissions/table.html``), and the
    dataset a form fills (its households export; None for most forms)."""
    return {"export_formats": FORMATS, "households_of": form_dataset}


def _args():
    """The export's parameters: the query of a GET, the form fields of a POST."""
    return request.form if request.method == "POST" else request.args


def _request(form_id: str, fmt: str | None = None) -> tuple[ExportRequest, int]:
    """The export the request asks for, checked, with its row count (not yet audited)."""
    form = visible_form_or_404(form_id)
    try:
        req = ExportRequest.from_args(current_user, form, _args(), fmt)
    except ExportRequestError as exc:
        fail(exc.status, str(exc))
    return req, services.count(req)


def _in_background(total: int) -> bool:
    return _args().get("background") == "1" or total > current_app.config["EXPORT_SYNC_MAX_ROWS"]


def _ask_first(req: ExportRequest | HouseholdExportRequest, total: int):
    """For a GET that would start a job or export identifying data: a page with a button
    that POSTs the same request (with the CSRF token); None when the GET may go on."""
    background = _in_background(total)
    if request.method == "POST" or not (background or req.identifying):
        return None
    fields = [(k, v) for k, v in request.args.items(multi=True) if k != "csrf_token"]
    return render_template(
        "exports/confirm.html",
        action=request.path,
        fields=fields,
        identifying=req.identifying,
        background=background,
        total=total,
    )


def _queue(req: ExportRequest | HouseholdExportRequest, total: int):
    """Hand a large export to the worker's queue and show its progress page."""
    job = queue.enqueue(req, total)
    db.session.commit()
    return redirect(url_for(".job", token=job.token))


@bp.route("/<form_id>/export.csv", methods=["GET", "POST"])
@roles_required(*VIEWERS)
def csv(form_id: str):
    """Download the form's submissions in the user's scope as CSV (UTF-8 with BOM); a
    job or identifying data only by POST (``_ask_first``)."""
    req, total = _request(form_id, "csv")
    if (ask := _ask_first(req, total)) is not None:
        return ask
    services.audit(req, rows=total)
    if _in_background(total):
        return _queue(req, total)
    body = services.stream_csv(req)
    db.session.commit()
    filename = f"{req.form.form_id}.csv"
    return Response(
        stream_with_context(body),
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{quote(filename)}"; '
            f"filename*=UTF-8''{quote(filename)}"
        },
    )


@bp.route("/<form_id>/export", methods=["GET", "POST"])
@roles_required(*VIEWERS)
def file(form_id: str):
    """Download the form's submissions as XLSX, SPSS, Stata, R, long CSV or codebook.

    Query (or form fields of a POST): ``format`` (see ``exports.bundle.FORMATS``),
    ``values=labels``, ``lang``, ``identifying=1`` (allowed roles only), ``background=1``
    and the filters of ``submissions.filters``. A job or identifying data only by POST.
    """
    if _args().get("format") == "csv":
        return csv(form_id)
    req, total = _request(form_id)
    if (ask := _ask_first(req, total)) is not None:
        return ask
    services.audit(req, rows=total)
    if _in_background(total):
        return _queue(req, total)
    db.session.commit()
    return _send(lambda folder: services.write(req, folder))


@bp.route("/<form_id>/households/export", methods=["GET", "POST"])
@roles_required(*VIEWERS)
def households_file(form_id: str):
    """Download the households (the entity list ``form_id`` creates or updates) in the
    user's scope, one row each, with their history: every format of ``FORMATS``
    (``csv``: the households only). Query (or POST fields): ``format``, ``values=labels``,
    ``lang``, ``bom=0``, ``identifying=1`` (allowed roles only). Large ones become jobs;
    a job or identifying data only by POST."""
    form = visible_form_or_404(form_id)
    try:
        req = HouseholdExportRequest.from_args(current_user, form, _args())
    except ExportRequestError as exc:
        fail(exc.status, str(exc))
    total = households.count(req)
    if (ask := _ask_first(req, total)) is not None:
        return ask
    households.audit(req, rows=total)
    if _in_background(total):
        return _queue(req, total)
    db.session.commit()
    return _send(lambda folder: households.write(req, folder))


def _send(write: Callable[[Path], Path]):
    """The file ``write`` makes in a temporary folder, as a download (422 when the data
    does not fit the format); the folder goes once the response is sent."""
    folder = Path(tempfile.mkdtemp(prefix="fieldapp-export-"))
    try:
        path = write(folder)
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


def _state(job: ExportJob) -> dict:
    return {
        "status": job.status,
        "progress": round(job.progress or 0.0, 3),
        "total": job.total,
        "error": job.error,
        "download_url": url_for(".job_download", token=job.token) if job.status == DONE else None,
    }


@bp.get("/exports/<token>")
@logged_in
def job(token: str):
    """A background export's page: a progress bar that fills while the export runs."""
    job = own_export_job_or_404(token)
    return render_template("exports/job.html", job=job, state=_state(job))


@bp.get("/exports/<token>.json")
@logged_in
def job_status(token: str):
    """The job's progress, for the page to poll."""
    return jsonify(_state(own_export_job_or_404(token)))


@bp.get("/exports/<token>/download")
@logged_in
def job_download(token: str):
    """The finished file; audited, and only for the person who asked for it."""
    job = own_export_job_or_404(token)
    if job.status != DONE or not job.file_path or not Path(job.file_path).exists():
        fail(404, _("导出文件还没有准备好，或已过期被删除；请重新导出"))
    dataset = job.params.get("dataset")
    record(
        current_user.id,
        "download_export",
        f"dataset:{dataset}" if dataset else f"form:{job.form.form_id}",
        job=job.token,
        format=job.params.get("format"),
        identifying=job.params.get("identifying"),
    )
    db.session.commit()
    path = Path(job.file_path)
    return send_file(
        path,
        mimetype=MIMETYPES.get(path.suffix, "application/octet-stream"),
        as_attachment=True,
        download_name=job.file_name,
        max_age=0,
    )
