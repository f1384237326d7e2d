"""A submission's versions: the chain of edits that ``meta/deprecatedID`` links.

An edit names the version it replaces (``Submission.deprecated_id``); the replaced one
stays as history (``current`` False). Following the names back from any version gives
the first one sent, whose arrival starts the time a submission may be corrected in
(``fieldapp.scope.correction_refusal``), and the chain the history shows.
"""

from __future__ import annotations

from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission


def by_instance_id(instance_id: str) -> Submission | None:
    """The stored version ``instance_id`` (current or history), or ``None``."""
    return db.session.scalar(select(Submission).where(Submission.instance_id == instance_id))


def versions(sub: Submission) -> list[Submission]:
    """``sub`` and the versions it replaced, oldest first (the first one sent first)."""
    chain = [sub]
    seen = {sub.instance_id}
    while chain[0].deprecated_id and chain[0].deprecated_id not in seen:
        older = by_instance_id(chain[0].deprecated_id)
        if older is None:  # an edit of a version deleted since: the chain starts here
            break
        seen.add(older.instance_id)
        chain.insert(0, older)
    return chain


def current_version(sub: Submission) -> Submission:
    """The version that replaced ``sub`` last (``sub`` itself when it is current)."""
    seen = {sub.instance_id}
    while not sub.current:
        newer = db.session.scalar(
            select(Submission).where(Submission.deprecated_id == sub.instance_id)
        )
        if newer is None or newer.instance_id in seen:
            break
        seen.add(newer.instance_id)
        sub = newer
    return sub
