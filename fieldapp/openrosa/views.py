"""OpenRosa endpoints. Auth: the browser session (with CSRF on POST) or a Bearer token."""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from fieldapp.errors import fail
from fieldapp.extensions import csrf, db
from fieldapp.loaders import bearer_secret
from fieldapp.openrosa.responses import openrosa_headers, openrosa_message
from fieldapp.scope import forms_to_fill, logged_in, visible_form_or_404
from fieldapp.submissions.parse import SubmissionError
from fieldapp.submissions.services import receive_submission
from fieldapp.surveys.models import Form, FormVersion

bp = Blueprint("openrosa", __name__)

XML = "text/xml; charset=utf-8"


def _xml(body: str) -> Response:
    return openrosa_headers(
        Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, content_type=XML)
    )


def _version(form: Form, version: str | None) -> FormVersion:
    if version is None:
        return form.current
    fv = next((v for v in form.versions if v.version == version), None)
    if fv is None:
        fail(404, f"问卷 {form.form_id} 没有版本 {version}")
    return fv


@bp.get("/formList")
@logged_in
def form_list():
    """The OpenRosa XForms list: forms the caller may fill in, current versions."""
    items = []
    for form in forms_to_fill(current_user):
        fv = form.current
        manifest = (
            f"<manifestUrl>{escape(url_for('.manifest', form_id=form.form_id, version=fv.version, _external=True))}</manifestUrl>"  # noqa: E501
            if fv.media
            else ""
        )
        items.append(
            f"<xform><formID>{escape(form.form_id)}</formID><name>{escape(fv.title)}</name>"
            f"<version>{escape(fv.version)}</version><hash>md5:{fv.md5}</hash>"
            f"<downloadUrl>{escape(url_for('.xform', form_id=form.form_id, version=fv.version, _external=True))}</downloadUrl>"  # noqa: E501
            f"{manifest}</xform>"
        )
    return _xml(
        '<xforms xmlns="http://openrosa.org/xforms/xformsList">' + "".join(items) + "</xforms>"
    )


@bp.get("/forms/<form_id>/form.xml")
@bp.get("/forms/<form_id>/versions/<version>/form.xml")
@logged_in
def xform(form_id: str, version: str | None = None):
    """A form version's XForm XML (the current version without ``version``)."""
    fv = _version(visible_form_or_404(form_id), version)
    resp = openrosa_headers(Response(fv.xform, content_type=XML))
    resp.headers["ETag"] = f'"{fv.md5}"'
    return resp


@bp.get("/forms/<form_id>/versions/<version>/manifest")
@logged_in
def manifest(form_id: str, version: str):
    """The OpenRosa manifest of a form version's media files."""
    fv = _version(visible_form_or_404(form_id), version)
    files = "".join(
        f"<mediaFile><filename>{escape(m.filename)}</filename><hash>md5:{m.md5}</hash>"
        f"<downloadUrl>{escape(url_for('.media', form_id=form_id, version=version, filename=m.filename, _external=True))}</downloadUrl></mediaFile>"  # noqa: E501
        for m in fv.media
    )
    return _xml(f'<manifest xmlns="http://openrosa.org/xforms/xformsManifest">{files}</manifest>')


@bp.get("/forms/<form_id>/versions/<version>/media/<filename>")
@logged_in
def media(form_id: str, version: str, filename: str):
    """One media file of a form version (answers 404 for a missing one)."""
    fv = _version(visible_form_or_404(form_id), version)
    item = next((m for m in fv.media if m.filename == filename), None)
    if item is None:
        fail(404, f"问卷附件 {filename} 不存在")
    resp = Response(item.data, content_type=item.content_type)
    resp.headers["ETag"] = f'"{item.md5}"'
    resp.headers["Content-Security-Policy"] = "sandbox"  # uploaded files never run as pages
    return resp


@bp.route("/submission", methods=["HEAD"])
@logged_in
def submission_head():
    """OpenRosa pre-flight: 204 with the largest body we accept."""
    return openrosa_headers(Response(status=204))


@bp.post("/submission")
@csrf.exempt
@logged_in
def submission():
    """Receive a submission: multipart with ``xml_submission_file`` and attachments.

    201 when stored, 201 with ``X-Fieldapp-Duplicate: 1`` when this exact submission was
    stored before; 400/403/404/409/413 with an OpenRosa error message and nothing stored.
    """
    if bearer_secret(request) is None:
        csrf.protect()  # a browser session must prove the page is ours
    try:
        files = request.files
        xml_file = files.get("xml_submission_file")
    except RequestEntityTooLarge:
        fail(413, "提交内容超过服务器允许的大小")
    if xml_file is None:
        return openrosa_message("缺少 xml_submission_file", status=400, nature="error")
    extra = [
        (f.filename or "", f.read(), f.mimetype)
        for key, fl in files.lists()
        for f in fl
        if key != "xml_submission_file"
    ]
    xml = xml_file.read()
    try:
        try:
            result = receive_submission(current_user, xml, extra)
            db.session.commit()
        except IntegrityError:
            # The same instance arrived twice at once (two tabs, a retry racing the
            # first send): the other request stored it; answer as for a re-send.
            db.session.rollback()
            result = receive_submission(current_user, xml, extra)
            db.session.commit()
    except SubmissionError as exc:
        db.session.rollback()
        return openrosa_message(str(exc), status=exc.status, nature="error")
    current_app.logger.info(
        "submission %s from %s (%s)",
        result.submission.instance_id,
        current_user.username,
        "new" if result.created else "duplicate",
    )
    if result.created:
        return openrosa_message("已成功提交", status=201)
    if result.attachments_added:
        return openrosa_message(f"已补收 {result.attachments_added} 个附件", status=201)
    return openrosa_message(
        "此问卷已提交过，未重复保存", status=201, headers={"X-Fieldapp-Duplicate": "1"}
    )
