"""A form's life after its first upload: state changes, test data, media added later.

States (``Form.state``):

- ``draft``: uploaded with "先存为草稿" / ``--draft``; not offered to the field; filled
  in test mode through its test link (``fieldapp.surveys.drafts``);
- ``open``: offered to everyone in its area's subtree;
- ``closed``: not offered for new filling; drafts already on phones may still be sent;
- ``archived``: hidden from the lists; its data is kept and stays exportable.

Moves (``TRANSITIONS``): draft → open ("发布") or archived (given up), either way
discarding its test submissions and ending its test link; open ↔ closed; open or
closed → archived; archived → closed (restored without being offered again until
reopened). Only people who may manage the form (``scope.may_manage_form``) change it;
every change is audited. (ODK Central's draft/open/closing/closed, where publishing a
draft also drops its test submissions.)

A new version of a form keeps the form's state: a new version of an open form is
published to the field at once (as before states existed); one of a draft stays a
draft to be tested.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from fieldapp.audit.services import record
from fieldapp.extensions import db
from fieldapp.scope import Person, may_manage_form, submissions_in_scope
from fieldapp.submissions.models import Submission, SubmissionAttachment
from fieldapp.surveys.media import MediaError, store_media
from fieldapp.surveys.models import ARCHIVED, CLOSED, DRAFT, OPEN, Form

STATE_LABELS = {DRAFT: _l("草稿"), OPEN: _l("开放"), CLOSED: _l("已关闭"), ARCHIVED: _l("已归档")}
TRANSITIONS = {
    DRAFT: (OPEN, ARCHIVED),
    OPEN: (CLOSED, ARCHIVED),
    CLOSED: (OPEN, ARCHIVED),
    ARCHIVED: (CLOSED,),
}


class FormStateError(ValueError):
    """A state change or media addition is refused; ``str()`` says why."""


@dataclass(frozen=True)
class StateChange:
    """What ``set_state`` did."""

    before: str
    after: str
    discarded: int  # test submissions deleted (publishing a draft)


def _actor(person: Person) -> int | None:
    return getattr(person, "id", None)


def set_state(form: Form, state: str, person: Person, via: str = "web") -> StateChange:
    """Move ``form`` to ``state`` (flushed, not committed; audited as ``form_state``).

    A draft that moves on (published, or archived unpublished) loses its test
    submissions with their attachments and its draft token. Raises ``FormStateError``
    for a person who may not manage the form, an unknown state or a move not in
    ``TRANSITIONS``; nothing changes then.
    """
    if not may_manage_form(person, form):
        raise FormStateError(_("您无权更改问卷 %(id)s", id=form.form_id))
    before = form.state
    if state not in TRANSITIONS:
        raise FormStateError(_("未知的问卷状态：%(s)s", s=state[:20]))
    if state == before:
        raise FormStateError(_("问卷已是“%(s)s”状态", s=STATE_LABELS[state]))
    if state not in TRANSITIONS[before]:
        raise FormStateError(
            _(
                "问卷不能从“%(a)s”改为“%(b)s”",
                a=STATE_LABELS[before],
                b=STATE_LABELS[state],
            )
        )
    discarded = 0
    if before == DRAFT:  # the test is over: its data and link go
        discarded = discard_test_submissions(form)
        form.draft_token = None
    form.state = state
    db.session.flush()
    record(
        _actor(person),
        "form_state",
        f"form:{form.form_id}",
        **{"from": before, "to": state, "discarded_test": discarded, "via": via},
    )
    return StateChange(before, state, discarded)


def discard_test_submissions(form: Form) -> int:
    """Delete ``form``'s test submissions (``Submission.test``) and their attachments;
    return how many submissions went."""
    ids = select(Submission.id).where(Submission.form_pk == form.id, Submission.test.is_(True))
    n = db.session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    if n:
        db.session.execute(
            delete(SubmissionAttachment).where(SubmissionAttachment.submission_id.in_(ids))
        )
        db.session.execute(
            delete(Submission).where(Submission.form_pk == form.id, Submission.test.is_(True))
        )
        db.session.expire_all()
    return n


def test_submission_count(form: Form) -> int:
    """How many test submissions ``form`` holds (sent to it as a draft)."""
    return db.session.scalar(
        select(func.count(Submission.id)).where(
            Submission.form_pk == form.id, Submission.test.is_(True)
        )
    )


def version_counts(person: Person, form: Form) -> dict[int, int]:
    """Submissions ``person`` may see per version of ``form``: {form_version.id: n}
    (current, real data only: ``scope.submissions_in_scope``)."""
    stmt = (
        submissions_in_scope(person, form)
        .order_by(None)
        .with_only_columns(Submission.form_version_id, func.count(Submission.id))
        .group_by(Submission.form_version_id)
    )
    return {version_id: n for version_id, n in db.session.execute(stmt)}


@dataclass(frozen=True)
class MediaChange:
    """What ``add_media`` did to the current version."""

    version: str
    added: list[str]
    replaced: list[str]


def add_media(
    form: Form, files: list[tuple[str, bytes]], person: Person, via: str = "web"
) -> MediaChange:
    """Store ``files`` (name, bytes) on ``form``'s current version without raising its
    version (flushed; audited as ``form_media_add``).

    A missing file is added, a present one replaced; either way its manifest hash is
    new, so ODK Collect and the phone app fetch it at their next form update. Raises
    ``FormStateError`` for a person who may not manage the form, no files, or an
    unusable file (``media.check_media``); nothing is stored then.
    """
    if not may_manage_form(person, form):
        raise FormStateError(_("您无权更改问卷 %(id)s", id=form.form_id))
    if not files:
        raise FormStateError(_("请选择要上传的附件"))
    fv = form.current
    try:
        added, replaced = store_media(fv, files)
    except MediaError as exc:
        raise FormStateError(str(exc)) from exc
    db.session.flush()
    if added or replaced:
        record(
            _actor(person),
            "form_media_add",
            f"form:{form.form_id}",
            version=fv.version,
            added=added,
            replaced=replaced,
            via=via,
        )
    return MediaChange(fv.version, added, replaced)
