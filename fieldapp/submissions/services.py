"""Receiving submissions (OpenRosa) and counting them (who sees which: ``fieldapp.scope``).

The rules follow the OpenRosa submission API (docs.getodk.org/openrosa-form-submission)
and what ODK Central does with what ODK Collect sends (central-backend
lib/resources/submissions.js, lib/model/query/submission-attachments.js):

- ``meta/instanceID`` is the key: the same ID and XML again stores nothing new but the
  attachments not yet received (a re-send, or the next part of a split upload).
- ``meta/deprecatedID`` makes the submission an edit: it replaces the current version it
  names, which is kept as history (``Submission.current`` False); attachments the new XML
  still names and the edit does not send are carried over.
- Files the XML does not name are ignored: Collect uploads every file in the instance
  folder (collect_app OpenRosaServerInstanceUploader.getFilesInParentDirectory).
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, Text, bindparam, cast, func, insert, inspect, select, update
from sqlalchemy.orm import defer, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from fieldapp.audit.models import AuditEvent
from fieldapp.audit.services import record
from fieldapp.auth.models import utcnow
from fieldapp.cases.process import apply_submission
from fieldapp.extensions import db
from fieldapp.scope import (
    DraftTester,
    Person,
    correction_refusal,
    may_see_version,
    submission_refusal,
    submissions_in_scope,
    unknown_form,
)
from fieldapp.submissions.models import Submission, SubmissionAttachment
from fieldapp.submissions.parse import (
    Envelope,
    SubmissionError,
    project,
    read_envelope,
    repeat_counts,
)
from fieldapp.submissions.schema_cache import parsed_schema
from fieldapp.surveys.models import Form, FormVersion

File = tuple[str, bytes, str | None]  # (filename, content, content type) of one part


# The two SELECTs of every submission, built once with bound parameters (bench/load.py:
# building them on each request cost more CPU than running them; a statement object
# reused keeps its cache key, so its compiled form is found at once). The form and the
# version the XML names come in one statement; the version's schema as its stored text,
# decoded once per content in the process (schema_cache: decoding it was 3-6 % of a
# submission's CPU).
_FORM_AND_VERSION = (
    select(Form, FormVersion, cast(FormVersion.schema, Text))
    .outerjoin(
        FormVersion,
        (FormVersion.form_pk == Form.id) & (FormVersion.version == bindparam("version")),
    )
    .where(Form.form_id == bindparam("form_id"))
    .options(defer(FormVersion.schema))
)
_BY_INSTANCE_ID = select(Submission).where(Submission.instance_id == bindparam("instance_id"))


@dataclass
class Received:
    """Outcome of ``receive_submission``: the submission and whether anything was new."""

    submission: Submission
    created: bool
    attachments_added: int = 0
    replaced: str | None = None  # the instance ID an edit replaced


def receive_submission(person: Person, xml: bytes, files: list[File] | None = None) -> Received:
    """Store a submission sent by ``person`` (a user, or a draft's tester: test data),
    flushed, not committed.

    ``xml`` is ``xml_submission_file`` as bytes; ``files`` are the other parts. Raises
    ``SubmissionError`` and stores nothing for: the refusals of
    ``fieldapp.submissions.parse`` (400); no such form or version (404); a form the
    sender may not submit to now (``scope.submission_refusal``: 403 with the reason,
    area, draft, archived, for a form they may see; else 404 as for no such form);
    the same instance ID from another sender or with other XML, or another file under
    a received name (409); an edit of a submission that is not there, or that the sender
    may not see (404, one answer: ``scope.may_see_version``), or may not correct now
    (403: their role, the days since it was first sent: ``scope.correction_refusal``), or
    that is not the current version (409, as Central's ``deprecatingOldSubmission``).

    The sender's right to the form is checked before anything about the instance ID
    (issue 14): one who may not submit to the form gets the same refusal whether or not
    the ID exists, so the endpoint cannot be used to probe for IDs. Only the sender's
    own re-send of a stored submission is answered as a duplicate even when the form no
    longer accepts data (a re-send after a lost reply must not stay queued forever).
    """
    envelope = read_envelope(xml)
    xml = envelope.xml  # UTF-8 (decoded from the encoding it declared)
    sha = hashlib.sha256(xml).hexdigest()
    files = files or []
    # The form and the version the XML names (``_FORM_AND_VERSION``); the version is
    # looked at only further down.
    form, fv, schema_text = db.session.execute(
        _FORM_AND_VERSION, {"form_id": envelope.form_id, "version": envelope.version}
    ).one_or_none() or (None, None, None)
    if fv is not None and "schema" not in inspect(fv).dict:
        set_committed_value(fv, "schema", parsed_schema(schema_text))
    if form is None:
        raise SubmissionError(unknown_form(envelope.form_id), 404)
    existing = db.session.scalar(_BY_INSTANCE_ID, {"instance_id": envelope.instance_id})
    if existing is not None and existing.form_pk == form.id and _same_sender(person, existing):
        return _resent(person, existing, envelope, sha, files)
    refusal = submission_refusal(person, form)
    if refusal:
        raise SubmissionError(refusal[1], refusal[0])
    if existing is not None:
        return _resent(person, existing, envelope, sha, files)
    if fv is None:
        raise SubmissionError(
            f"问卷 {envelope.form_id} 没有版本 {envelope.version or '（空）'}", 404
        )
    data, referenced = project(envelope, fv.schema)
    old = _replaced(person, form, envelope) if envelope.deprecated_id else None
    tester = isinstance(person, DraftTester)
    row = dict(
        filled_on=filled_day(data, fv.schema),
        instance_id=envelope.instance_id,
        deprecated_id=envelope.deprecated_id,
        form_pk=form.id,
        form_version_id=fv.id,
        # An edit stays the original submitter's (their scope, their "own submissions");
        # who edited it is on the audit log (Central keeps both: submission and version).
        submitter_id=old.submitter_id if old else person.id,
        area_id=old.area_id if old else (form.area_id if tester else person.area_id),
        xml=xml.decode("utf-8"),
        xml_sha256=sha,
        data=data,
        repeat_counts=repeat_counts(data),
        received_at=utcnow(),
        current=True,
        test=tester,
        in_figures=False,
    )
    new_files = _new_files(referenced, files)  # refusals before anything is written
    added = len(new_files)
    if old is not None:
        sent = {f["filename"] for f in new_files}
        new_files += [
            dict(filename=a.filename, data=a.data, sha256=a.sha256, content_type=a.content_type)
            for a in old.attachments
            if a.filename in referenced and a.filename not in sent
        ]
    # Two Core INSERTs instead of the ORM's unit of work (bench/load.py: flushing the
    # two objects was a fifth of a submission's CPU), values as parameters so that the
    # compiled statements are cached: the same rows and columns. The Submission then
    # joins the session as if loaded, for what follows to read.
    sub_id = db.session.execute(insert(Submission.__table__), row).inserted_primary_key[0]
    if new_files:
        rows = [dict(f, submission_id=sub_id) for f in new_files]
        db.session.execute(
            insert(SubmissionAttachment.__table__), rows[0] if len(rows) == 1 else rows
        )
    sub = Submission(id=sub_id, **row)
    make_transient_to_detached(sub)
    db.session.add(sub)
    set_committed_value(sub, "form", form)
    set_committed_value(sub, "form_version", fv)
    if old is not None:
        record(
            person.id, "edit_submission", f"submission:{sub.instance_id}", replaces=old.instance_id
        )
    db.session.flush()
    if not tester:
        apply_submission(person, sub, old)  # households: create or update (ODK Entities)
    return Received(sub, True, added, old.instance_id if old else None)


REPORT_DATE = "report_date"  # a form's question naming the day it reports for


def _answer(data: dict, path: str, root: str):
    node = data
    for part in path.removeprefix(f"/{root}/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, str) else None


def filled_day(data: dict, schema: dict, now: datetime | None = None) -> date:
    """The day a submission was filled in, in config ``TIMEZONE`` (issue 11: the
    reporting period it counts for): its ``report_date`` answer when the form has that
    date question (the zero report: "this report is for…"), else the day of its
    ``start`` (the phone's clock when it was opened), else today (``now``)."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    questions = schema.get("questions", [])
    root = schema.get("root", "data")
    for q in questions:
        if q.get("name") == REPORT_DATE and q.get("data_type") == "date":
            value = _answer(data, q["path"], root)
            try:
                return date.fromisoformat((value or "")[:10])
            except ValueError:
                break
    for q in questions:
        if q.get("type") == "start":
            value = _answer(data, q["path"], root) or ""
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                break
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
            return moment.astimezone(tz).date()
    return (now or datetime.now(UTC)).astimezone(tz).date()


def _same_sender(person: Person, sub: Submission) -> bool:
    """True when ``person`` sent ``sub``: its submitter, or the person who sent it as an
    edit of someone else's submission (on the audit log as ``edit_submission``)."""
    if isinstance(person, DraftTester):
        return sub.test and sub.form_pk == person.form.id
    if sub.test:
        return False
    if sub.submitter_id == person.id:
        return True
    return sub.deprecated_id is not None and (
        db.session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == "edit_submission",
                AuditEvent.object == f"submission:{sub.instance_id}",
                AuditEvent.user_id == person.id,
            )
        )
        is not None
    )


def _resent(
    person: Person, existing: Submission, envelope: Envelope, sha: str, files: list[File]
) -> Received:
    """The same instance again: a re-send after a lost reply, or the next part of a
    split upload (``*isIncomplete*``): only attachments not yet received are added."""
    if not _same_sender(person, existing):
        # Logged: someone who may use the form sent an ID already taken (a phone's ID
        # taken first by another account shows here).
        current_app.logger.warning(
            "instance ID %s refused: already used by another account's submission",
            envelope.instance_id,
        )
        raise SubmissionError(
            f"编号 {envelope.instance_id} 已被其他账号的提交使用；未作任何更改", 409
        )
    if existing.xml_sha256 != sha:
        raise SubmissionError(
            f"编号 {envelope.instance_id} 的问卷已提交过，且内容不同；未作任何更改", 409
        )
    _, referenced = project(envelope, existing.form_version.schema)
    return Received(existing, False, _attach(existing, referenced, files))


def _replaced(person: Person, form: Form, envelope: Envelope) -> Submission:
    """The current submission an edit replaces, marked no longer current; raises
    ``SubmissionError`` when it is missing, outdated or not the sender's to replace."""
    old_id = envelope.deprecated_id
    old = db.session.scalar(select(Submission).where(Submission.instance_id == old_id))
    if old is None or old.form_pk != form.id or not may_see_version(person, old):
        # One answer for missing, of another form, and not the sender's to see: an edit
        # must not tell whether an ID the sender may not see exists.
        raise SubmissionError(
            f"要修改的提交 {old_id} 不在服务器上，或不属于问卷 {form.form_id}，"
            "或您无权修改它；未作任何更改",
            404,
        )
    # The rule the phone was shown when it fetched the record (issue 12): the role, the
    # form, and the days since it was first sent, asked again on arrival.
    refusal = correction_refusal(person, old)
    if refusal:
        raise SubmissionError(f"{refusal}；未作任何更改", 403)
    # One UPDATE that only a current row matches: of two edits of the same version sent
    # at once, the second finds nothing to replace.
    done = db.session.execute(
        update(Submission)
        .where(Submission.id == old.id, Submission.current.is_(True))
        .values(current=False)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise SubmissionError(
            f"您修改的是提交 {old_id} 的旧版本，它已被更新的版本替代；"
            "请取得最新版本再修改。未作任何更改",
            409,
        )
    db.session.refresh(old)
    return old


def _new_files(
    referenced: list[str], files: list[File], have: dict[str, str] | None = None
) -> list[dict]:
    """The named files not yet stored (``have``: filename to SHA-256 of those stored), as
    ``submission_attachments`` columns; ignore files the XML does not name; refuse
    changed content under a received name (409) and a name over 255 characters (400)."""
    have = dict(have or {})
    new = []
    for name, content, ctype in files:
        if name not in referenced:
            continue  # Collect sends every file of the instance folder
        if len(name) > 255:
            raise SubmissionError("附件文件名过长（超过 255 个字符）")
        digest = hashlib.sha256(content).hexdigest()
        if name in have:
            if have[name] != digest:
                raise SubmissionError(f"附件 {name} 已收到过，且内容不同；未作任何更改", 409)
            continue
        ctype = ctype if ctype and len(ctype) <= 100 else None
        new.append(
            dict(
                filename=name,
                data=content,
                sha256=digest,
                content_type=ctype or mimetypes.guess_type(name)[0] or "application/octet-stream",
            )
        )
        have[name] = digest
    return new


def _attach(sub: Submission, referenced: list[str], files: list[File]) -> int:
    """Add the named files not yet stored to ``sub`` (``_new_files``); how many."""
    new = _new_files(referenced, files, {a.filename: a.sha256 for a in sub.attachments})
    for f in new:
        sub.attachments.append(SubmissionAttachment(**f))
    return len(new)


def count_stmt(stmt: Select) -> int:
    """How many rows a ``select(...)`` would return (any statement; ordering dropped)."""
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def count_scoped(user: Person, form: Form | None = None) -> int:
    """How many submissions of ``form`` (or of all forms) ``user`` may see."""
    return count_stmt(submissions_in_scope(user, form))
