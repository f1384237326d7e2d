"""Handing out one attachment (photo, audio) of a submission: the data page's link and
the phone's correction fetch both go through ``attachment_response``."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp.audit.services import record
from fieldapp.errors import fail
from fieldapp.extensions import db
from fieldapp.submissions.models import Submission


def attachment_response(sub: Submission, filename: str, inline: bool = False) -> Response:
    """The attachment ``filename`` of ``sub`` (which the caller has already been allowed
    to see): 404 when it has none by that name; audited as ``download_attachment``
    (identifying: a photo of a household shows it); sandboxed and never cached;
    ``inline`` shows an image, audio or video in the browser instead of downloading."""
    item = next((a for a in sub.attachments if a.filename == filename), None)
    if item is None:
        fail(404, _("找不到该附件，或您无权查看"))
    record(
        current_user.id, "download_attachment", f"submission:{sub.instance_id}", filename=filename
    )
    db.session.commit()
    shown = inline and item.content_type.startswith(("image/", "audio/", "video/"))
    return Response(
        item.data,
        content_type=item.content_type,
        headers={
            "Content-Disposition": ("inline" if shown else "attachment")
            + f"; filename*=UTF-8''{quote(filename)}",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "no-store",
        },
    )
