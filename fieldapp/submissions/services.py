"""Receiving submissions (OpenRosa) and counting them (who sees which: ``fieldapp.scope``)."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from fieldapp.auth.models import User
from fieldapp.extensions import db
from fieldapp.scope import can_fill, submissions_in_scope
from fieldapp.submissions.models import Submission, SubmissionAttachment
from fieldapp.submissions.parse import SubmissionError, project, read_envelope, repeat_counts
from fieldapp.surveys.models import Form, FormVersion


@dataclass
class Received:
    """Outcome of ``receive_submission``: the submission and whether anything was new."""

    submission: Submission
    created: bool
    attachments_added: int = 0


def receive_submission(
    user: User, xml: bytes, files: list[tuple[str, bytes, str | None]] | None = None
) -> Received:
    """Store a submission sent by ``user`` (flushed, not committed).

    ``xml`` is ``xml_submission_file`` as bytes; ``files`` are the other parts as
    (filename, content, content type). The key is ``meta/instanceID``: the same ID with
    the same XML stores nothing new (only attachments not yet received), the same ID
    with other XML or another attachment under a received name raises
    ``SubmissionError`` 409. Raises ``SubmissionError`` 400/403/404 for the refusals of
    ``fieldapp.submissions.parse`` and for a form the user may not use; nothing is stored
    then.
    """
    envelope = read_envelope(xml)
    sha = hashlib.sha256(xml).hexdigest()
    existing = db.session.scalar(
        select(Submission).where(Submission.instance_id == envelope.instance_id)
    )
    if existing is not None:
        if existing.submitter_id != user.id:
            raise SubmissionError(
                f"编号 {envelope.instance_id} 已被其他账号的提交使用；未作任何更改", 409
            )
        if existing.xml_sha256 != sha:
            raise SubmissionError(
                f"编号 {envelope.instance_id} 的问卷已提交过，且内容不同；未作任何更改", 409
            )
        _, referenced = project(envelope, existing.form_version.schema)
        added = _attach(existing, referenced, files or [])
        return Received(existing, False, added)

    form = db.session.scalar(select(Form).where(Form.form_id == envelope.form_id))
    if form is None:
        raise SubmissionError(f"服务器上没有编号为 {envelope.form_id} 的问卷", 404)
    if not can_fill(user, form):
        raise SubmissionError(f"您无权向问卷 {envelope.form_id} 提交数据", 403)
    fv = db.session.scalar(
        select(FormVersion).where(
            FormVersion.form_pk == form.id, FormVersion.version == envelope.version
        )
    )
    if fv is None:
        raise SubmissionError(
            f"问卷 {envelope.form_id} 没有版本 {envelope.version or '（空）'}", 404
        )
    data, referenced = project(envelope, fv.schema)
    sub = Submission(
        instance_id=envelope.instance_id,
        deprecated_id=envelope.deprecated_id,
        form=form,
        form_version=fv,
        submitter=user,
        area_id=user.area_id,
        xml=xml.decode("utf-8"),
        xml_sha256=sha,
        data=data,
        repeat_counts=repeat_counts(data),
    )
    db.session.add(sub)
    added = _attach(sub, referenced, files or [])
    db.session.flush()
    return Received(sub, True, added)


def _attach(
    sub: Submission, referenced: list[str], files: list[tuple[str, bytes, str | None]]
) -> int:
    """Add the files not yet stored; refuse unreferenced names and changed content."""
    have = {a.filename: a.sha256 for a in sub.attachments}
    added = 0
    for name, content, ctype in files:
        if len(name) > 255:
            raise SubmissionError("附件文件名过长（超过 255 个字符）")
        if name not in referenced:
            raise SubmissionError(f"附件 {name} 未在问卷答案中引用")
        digest = hashlib.sha256(content).hexdigest()
        if name in have:
            if have[name] != digest:
                raise SubmissionError(f"附件 {name} 已收到过，且内容不同", 409)
            continue
        ctype = ctype if ctype and len(ctype) <= 100 else None
        sub.attachments.append(
            SubmissionAttachment(
                filename=name,
                data=content,
                sha256=digest,
                content_type=ctype or mimetypes.guess_type(name)[0] or "application/octet-stream",
            )
        )
        have[name] = digest
        added += 1
    return added


def count_stmt(stmt: Select) -> int:
    """How many rows a ``select(Submission)`` would return."""
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def count_scoped(user: User, form: Form | None = None) -> int:
    """How many submissions of ``form`` (or of all forms) ``user`` may see."""
    return count_stmt(submissions_in_scope(user, form))
