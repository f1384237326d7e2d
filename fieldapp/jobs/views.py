"""A background export's page, its progress as JSON, and its download (requester only)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from fieldapp.audit.services import record
from fieldapp.errors import fail
from fieldapp.exports.bundle import MIMETYPES
from fieldapp.extensions import db
from fieldapp.jobs.models import DONE, ExportJob
from fieldapp.jobs.services import ensure_worker

bp = Blueprint("jobs", __name__, url_prefix="/data/exports")


@bp.before_app_request
def _start_worker() -> None:
    """Each app process works the queue from its first request, so a job interrupted by a
    restart is taken up again without waiting for a new export to be asked for."""
    ensure_worker(current_app._get_current_object())


def _own_job(token: str) -> ExportJob:
    job = db.session.scalar(select(ExportJob).where(ExportJob.token == token))
    if job is None or job.user_id != current_user.id:
        fail(404, _("找不到该导出任务（只有发起导出的人能查看和下载）"))
    return job


def _state(job: ExportJob) -> dict:
    return {
        "status": job.status,
        "progress": round(job.progress or 0.0, 3),
        "total": job.total,
        "error": job.error,
        "download_url": url_for(".download", token=job.token) if job.status == DONE else None,
    }


@bp.get("/<token>")
@login_required
def page(token: str):
    """The job's page: a progress bar that fills while the export runs."""
    job = _own_job(token)
    return render_template("jobs/page.html", job=job, state=_state(job))


@bp.get("/<token>.json")
@login_required
def status(token: str):
    """The job's progress, for the page to poll."""
    return jsonify(_state(_own_job(token)))


@bp.get("/<token>/download")
@login_required
def download(token: str):
    """The finished file; audited, and only for the person who asked for it."""
    job = _own_job(token)
    if job.status != DONE or not job.file_path or not Path(job.file_path).exists():
        fail(404, _("导出文件还没有准备好，或已过期被删除；请重新导出"))
    record(
        current_user.id,
        "download_export",
        f"form:{job.form.form_id}",
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
