"""Correcting a sent record (issue 12): what the phone app fetches to reopen one.

A sent submission does not stay on the phone; to correct it, the app asks for it here,
opens it as a draft with a new ``meta/instanceID`` and ``meta/deprecatedID`` naming this
one (ODK's edit convention, as ODK Collect and Central's Web Forms edit) and sends it
through its outbox. Who may correct what, and for how long, is
``scope.correction_refusal``; the receiver asks the same again
(``fieldapp.submissions.services``). Both reads are audited.
"""

from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user

from fieldapp.api.views import _local, bp, phone_form
from fieldapp.audit.services import record
from fieldapp.extensions import db
from fieldapp.scope import correctable_submission_or_abort, correction_deadline, logged_in
from fieldapp.submissions.attachments import attachment_response
from fieldapp.submissions.history import versions


@bp.get("/submissions/<instance_id>/correction")
@logged_in
def correction(instance_id: str):
    """A sent submission the caller may correct now, for the phone app to reopen:

    ``{instance_id, form: {form_id, version, title, xform_url, media, entities, hash}
    (as in /me), xml (the instance as received), attachments: [{filename, url,
    content_type}], submitted_by, received_at, first_sent_at, correct_until (null: no
    limit), versions (how many were sent)}``. 404 for one the caller may not see (or
    none), 409 for one that is not the current version (naming the one that is), 403
    for one they may not correct now (role, form, time); each with a message. Audited
    (``open_correction``)."""
    sub = correctable_submission_or_abort(instance_id)
    chain = versions(sub)
    deadline = correction_deadline(current_user, sub)
    body = {
        "instance_id": sub.instance_id,
        "form": phone_form(sub.form_version),
        "xml": sub.xml,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "url": url_for(
                    ".correction_attachment", instance_id=sub.instance_id, filename=a.filename
                ),
            }
            for a in sub.attachments
        ],
        "submitted_by": sub.submitter.username if sub.submitter else None,
        "received_at": _local(sub.received_at),
        "first_sent_at": _local(chain[0].received_at),
        "correct_until": _local(deadline) if deadline else None,
        "versions": len(chain),
    }
    record(current_user.id, "open_correction", f"submission:{sub.instance_id}")
    db.session.commit()
    return jsonify(body)


@bp.get("/submissions/<instance_id>/correction/attachments/<filename>")
@logged_in
def correction_attachment(instance_id: str, filename: str):
    """One attachment (photo) of a submission the caller may correct now, for the draft
    the correction opens (same refusals as ``correction``); audited
    (``download_attachment``), never shown inline as a page."""
    return attachment_response(correctable_submission_or_abort(instance_id), filename)
