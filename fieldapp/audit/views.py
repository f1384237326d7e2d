"""The audit log pages for admins: events of their subtree, filtered, a page at a time,
and the same events as an Excel file. Nothing here changes or deletes an event."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request, send_file
from flask_login import current_user

from fieldapp.audit import log
from fieldapp.audit.actions import ACTION_LABELS, action_label
from fieldapp.audit.services import record
from fieldapp.audit.xlsx import AuditExportError, write_audit_xlsx
from fieldapp.extensions import db
from fieldapp.scope import AUDITORS, audit_events_in_scope, roles_required

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _tz() -> str:
    return current_app.config["TIMEZONE"]


def _page(filters: log.AuditFilter | None, page: log.Page | None, error: str | None = None):
    """The log page; with ``error`` (a filter to correct) a 400 that keeps the form."""
    body = render_template(
        "audit/index.html",
        filters=filters or log.AuditFilter(),
        args=request.args,
        page=page,
        error=error,
        actions=ACTION_LABELS,
        action_label=action_label,
        tz=_tz(),
    )
    return (body, 400) if error else body


@bp.get("/")
@roles_required(*AUDITORS)
def index():
    """Events of the admin's subtree, newest first, filtered by user, action and days;
    ``before``/``after`` (an event id) page through them."""
    try:
        flt = log.AuditFilter.from_args(request.args)
        stmt = flt.apply(audit_events_in_scope(current_user), current_user, _tz())
    except log.AuditFilterError as exc:
        return _page(None, None, str(exc))
    page = log.page(
        stmt,
        _tz(),
        before=request.args.get("before", type=int),
        after=request.args.get("after", type=int),
    )
    return _page(flt, page)


@bp.get("/export.xlsx")
@roles_required(*AUDITORS)
def export():
    """The filtered events as an Excel file (oldest first); the export is itself an
    audit event."""
    try:
        flt = log.AuditFilter.from_args(request.args)
        stmt = flt.apply(audit_events_in_scope(current_user), current_user, _tz())
    except log.AuditFilterError as exc:
        return _page(None, None, str(exc))
    folder = Path(tempfile.mkdtemp(prefix="fieldapp-audit-"))
    path = folder / "audit.xlsx"
    try:
        count = write_audit_xlsx(path, stmt, _tz())
    except AuditExportError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _page(flt, None, str(exc))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    record(current_user.id, "audit_export", "audit_log", rows=count, filters=flt.as_args())
    db.session.commit()
    stamp = datetime.now(ZoneInfo(_tz())).strftime("%Y%m%d-%H%M")
    resp = send_file(
        path, mimetype=XLSX, as_attachment=True, download_name=f"audit-log-{stamp}.xlsx"
    )
    resp.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    return resp
