"""OpenRosa endpoints: form list, XForm, manifest, media, HEAD and POST submission.

One blueprint, served three ways (``fieldapp.openrosa.register``; who the caller is:
``fieldapp.openrosa.auth``): at ``/`` for logged-in users, under ``/key/<token>/`` for
ODK Collect app-user URLs, under ``/test/<draft_token>/`` for a draft's test link. URLs
the responses name (download, manifest, media) stay under the prefix they were asked by.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from fieldapp.auth.csrf import csrf_unless_credential
from fieldapp.auth.models import User
from fieldapp.cases.lists import dataset_files, entity_list_response, served_lists
from fieldapp.errors import fail
from fieldapp.extensions import db
from fieldapp.openrosa.auth import challenge
from fieldapp.openrosa.responses import openrosa_headers, openrosa_message
from fieldapp.scope import caller, form_in_scope, forms_to_fill, token_route
from fieldapp.submissions.parse import SubmissionError
from fieldapp.submissions.services import receive_submission
from fieldapp.surveys.media import referenced
from fieldapp.surveys.models import Form, FormVersion

bp = Blueprint("openrosa", __name__)

XML = "text/xml; charset=utf-8"
PREFIX_ARGS = ("token", "draft_token")  # the path arguments of /key/ and /test/


@bp.url_value_preprocessor
def _take_prefix(endpoint: str | None, values: dict | None) -> None:
    """Keep the /key/ or /test/ token apart from the view's arguments."""
    if values and "token" in values:
        g.app_key = values.pop("token")
    if values and "draft_token" in values:
        g.draft_token = values.pop("draft_token")


@bp.url_defaults
def _keep_prefix(endpoint: str, values: dict) -> None:
    """URLs built for this blueprint stay under the prefix of the request."""
    for arg, key in (("token", "app_key"), ("draft_token", "draft_token")):
        if key in g and current_app.url_map.is_endpoint_expecting(endpoint, arg):
            values.setdefault(arg, g.get(key))


@bp.after_request
def _challenge(resp: Response) -> Response:
    """A 401 says how to authenticate (``auth.challenge``)."""
    if resp.status_code == 401:
        resp.headers["WWW-Authenticate"] = challenge()
    return resp


def _xml(body: str) -> Response:
    return openrosa_headers(
        Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, content_type=XML)
    )


def _fillable(form_id: str) -> Form:
    form = form_in_scope(caller(), form_id, fill=True)
    if form is None:
        fail(404, _("找不到问卷 %(id)s，或您无权查看", id=form_id))
    return form


def _version(form: Form, version: str | None) -> FormVersion:
    if version is None:
        return form.current
    fv = next((v for v in form.versions if v.version == version), None)
    if fv is None:
        fail(404, _("问卷 %(id)s 没有版本 %(v)s", id=form.form_id, v=version))
    return fv


@bp.get("/formList")
@token_route
def form_list():
    """The OpenRosa XForms list (docs.getodk.org/openrosa-form-list): the forms offered
    to the caller (``scope.forms_to_fill``: open ones; a test link's draft), current
    versions, with a manifest URL when the version has media."""
    items = []
    for form in forms_to_fill(caller()):
        fv = form.current
        args = {"form_id": form.form_id, "version": fv.version, "_external": True}
        has_media = fv.media or dataset_files(referenced(fv))
        manifest = (
            f"<manifestUrl>{escape(url_for('.manifest', **args))}</manifestUrl>"
            if has_media
            else ""
        )
        items.append(
            f"<xform><formID>{escape(form.form_id)}</formID><name>{escape(fv.title)}</name>"
            f"<version>{escape(fv.version)}</version><hash>md5:{fv.md5}</hash>"
            f"<downloadUrl>{escape(url_for('.xform', **args))}</downloadUrl>{manifest}</xform>"
        )
    return _xml(
        '<xforms xmlns="http://openrosa.org/xforms/xformsList">' + "".join(items) + "</xforms>"
    )


@bp.get("/forms/<form_id>/form.xml")
@bp.get("/forms/<form_id>/versions/<version>/form.xml")
@token_route
def xform(form_id: str, version: str | None = None):
    """A form version's XForm XML (the current version without ``version``)."""
    fv = _version(_fillable(form_id), version)
    resp = openrosa_headers(Response(fv.xform, content_type=XML))
    resp.headers["ETag"] = f'"{fv.md5}"'
    return resp


@bp.get("/forms/<form_id>/versions/<version>/manifest")
@token_route
def manifest(form_id: str, version: str):
    """The OpenRosa manifest of a form version's media files: uploaded files, and the
    entity lists it names (``households.csv``: the caller's households, whose hash
    changes with them, so ODK Collect downloads the list again only then)."""
    fv = _version(_fillable(form_id), version)
    entries = [(m.filename, m.md5, "") for m in fv.media]
    entries += [(n, md5, ' type="entityList"') for n, _ds, md5 in served_lists(caller(), fv)]
    files = "".join(
        f"<mediaFile{kind}><filename>{escape(name)}</filename><hash>md5:{md5}</hash>"
        f"<downloadUrl>{escape(url_for('.media', form_id=form_id, version=version, filename=name, _external=True))}</downloadUrl></mediaFile>"  # noqa: E501
        for name, md5, kind in entries
    )
    return _xml(f'<manifest xmlns="http://openrosa.org/xforms/xformsManifest">{files}</manifest>')


@bp.get("/forms/<form_id>/versions/<version>/media/<filename>")
@token_route
def media(form_id: str, version: str, filename: str):
    """One media file of a form version (answers 404 for a missing one). An entity
    list is made for the caller (``fieldapp.cases.lists``), with its hash as ETag: a
    request with that ETag in ``If-None-Match`` gets 304 and no body."""
    fv = _version(_fillable(form_id), version)
    item = next((m for m in fv.media if m.filename == filename), None)
    if item is None:
        served = next((s for s in served_lists(caller(), fv) if s[0] == filename), None)
        if served is None:
            fail(404, _("问卷附件 %(name)s 不存在", name=filename))
        return entity_list_response(caller(), served[1], served[2])
    resp = Response(item.data, content_type=item.content_type)
    resp.headers["ETag"] = f'"{item.md5}"'
    resp.headers["Content-Security-Policy"] = "sandbox"  # uploaded files never run as pages
    return resp


@bp.route("/submission", methods=["HEAD"])
@token_route
def submission_head():
    """OpenRosa pre-flight: 204 with the largest body we accept (Collect splits larger
    uploads over several POSTs)."""
    return openrosa_headers(Response(status=204))


@bp.post("/submission")
@token_route
@csrf_unless_credential  # a browser session must prove the page is ours
def submission():
    """Receive a submission: multipart with ``xml_submission_file`` and attachments
    (one part per file, named as in the XML; ``*isIncomplete*`` marks a split upload's
    parts but the last, which need nothing special: each part stores what it brings).

    201 when stored, 201 with ``X-Fieldapp-Duplicate: 1`` when this exact submission was
    stored before; 400/403/404/409/413 with an OpenRosa error message and nothing stored.
    """
    try:
        files = request.files
        xml_file = files.get("xml_submission_file")
    except RequestEntityTooLarge:
        fail(413, _("提交内容超过服务器允许的大小"))
    if xml_file is None:
        return openrosa_message(_("缺少 xml_submission_file"), status=400, nature="error")
    extra = [
        (f.filename or key, f.read(), f.mimetype)
        for key, fl in files.lists()
        for f in fl
        if key != "xml_submission_file"
    ]
    xml = xml_file.read()
    person = caller()
    # Read for the log line before the commit expires them (reading them after it
    # loaded the submission and the user again: two SELECTs; bench/load.py).
    sender = person.username
    try:
        try:
            result = receive_submission(person, xml, extra)
            instance_id = result.submission.instance_id
            db.session.commit()
        except IntegrityError:
            # The same instance arrived twice at once (two tabs, a retry racing the
            # first send): the other request stored it; answer as for a re-send.
            db.session.rollback()
            result = receive_submission(person, xml, extra)
            instance_id = result.submission.instance_id
            db.session.commit()
    except SubmissionError as exc:
        db.session.rollback()
        return openrosa_message(str(exc), status=exc.status, nature="error")
    current_app.logger.info(
        "submission %s from %s (%s)",
        instance_id,
        sender,
        "new" if result.created else "duplicate",
    )
    test = "" if isinstance(person, User) else _("（测试数据）")
    if result.replaced:
        return openrosa_message(_("已保存修改") + test, status=201)
    if result.created:
        return openrosa_message(_("已成功提交") + test, status=201)
    if result.attachments_added:
        return openrosa_message(_("已补收 %(n)s 个附件", n=result.attachments_added), status=201)
    return openrosa_message(
        _("此问卷已提交过，未重复保存"), status=201, headers={"X-Fieldapp-Duplicate": "1"}
    )
