"""What supervisors do to households, and reading one household's history.

Every change is a new ``EntityVersion`` (kind ``assign``, ``close``, ``reopen``,
``resolve``) on top of the newest: history is never overwritten, and a phone's update
made before the change shows up as a conflict (``fieldapp.cases.process``). Each change
is on the audit log. Who may: ``scope.may_manage_case``; to whom: ``scope.assignable_users``.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from fieldapp.audit.services import record
from fieldapp.auth.models import User, utcnow
from fieldapp.cases import households
from fieldapp.cases.models import Entity, EntityOp, EntityVersion
from fieldapp.extensions import db
from fieldapp.scope import assignable_users, may_manage_case

MAX_REASON = 500


class CaseError(ValueError):
    """A change to a household is refused; ``str()`` says why, in the UI language."""


def _check(actor, entity: Entity) -> None:
    if not may_manage_case(actor, entity):
        raise CaseError(_("您无权管理这户家庭"))


def _new_version(
    actor, entity: Entity, kind: str, received: dict | None = None, note: str | None = None
) -> EntityVersion:
    received = received or {}
    entity.data = {**(entity.data or {}), **received}
    entity.version += 1
    entity.updated_at = utcnow()
    households.derive(entity)
    ev = EntityVersion(
        entity_id=entity.id,
        version=entity.version,
        kind=kind,
        label=entity.label,
        data=entity.data,
        received=received,
        actor_id=actor.id,
        assigned_to_id=entity.assigned_to_id,
        note=note,
    )
    db.session.add(ev)
    db.session.flush()
    entity.stamp = ev.id
    record(actor.id, f"case_{kind}", f"entity:{entity.uuid}", version=entity.version, note=note)
    return ev


def assign(actor, entity: Entity, user: User | None) -> EntityVersion | None:
    """Assign ``entity`` to ``user`` (None: nobody) for ``actor``; None when it already
    is. On the next sync the household leaves the old person's phone and reaches the
    new one's (``scope.entities_in_scope``). Raises ``CaseError`` when ``actor`` may not
    manage it or ``user`` is not one of ``scope.assignable_users``."""
    _check(actor, entity)
    new_id = user.id if user else None
    if new_id == entity.assigned_to_id:
        return None
    if user is not None:
        allowed = db.session.scalar(assignable_users(actor, entity).where(User.id == user.id))
        if allowed is None:
            raise CaseError(_("不能把这户家庭分配给 %(name)s", name=user.display_name))
    entity.assigned_to_id = new_id
    name = user.display_name if user else _("无人")
    return _new_version(actor, entity, "assign", note=_("分配给 %(name)s", name=name))


def close(actor, entity: Entity, reason: str) -> EntityVersion:
    """Close ``entity``'s case with ``reason`` (required, up to 500 characters): status
    ``closed``; it leaves phones' lists on their next sync and its visits stop being due.
    Raises ``CaseError`` when not allowed, already closed or without a reason."""
    _check(actor, entity)
    reason = (reason or "").strip()
    if not reason:
        raise CaseError(_("请填写结案原因"))
    if len(reason) > MAX_REASON:
        raise CaseError(_("结案原因不能超过 %(n)s 字", n=MAX_REASON))
    if entity.status == households.CLOSED:
        raise CaseError(_("这户家庭已经结案"))
    entity.closed_reason = reason
    return _new_version(actor, entity, "close", {households.STATUS: households.CLOSED}, reason)


def reopen(actor, entity: Entity, reason: str = "") -> EntityVersion:
    """Reopen a closed case (status ``following``). Raises ``CaseError`` when not
    allowed or not closed."""
    _check(actor, entity)
    if entity.status != households.CLOSED:
        raise CaseError(_("这户家庭没有结案，无需重新打开"))
    entity.closed_reason = None
    note = (reason or "").strip()[:MAX_REASON] or None
    return _new_version(actor, entity, "reopen", {households.STATUS: households.FOLLOWING}, note)


def resolve(actor, entity: Entity, values: dict[str, str] | None = None, note: str = ""):
    """Mark ``entity``'s conflict resolved (as Central's "mark as resolved"), setting
    the property ``values`` the supervisor chose (property → value; only properties the
    dataset has). Raises ``CaseError`` when not allowed, or when there is no conflict."""
    _check(actor, entity)
    if not entity.conflict:
        raise CaseError(_("这户家庭没有待处理的冲突"))
    known = set(entity.dataset.properties or []) | set(entity.data or {})
    values = {k: str(v).strip() for k, v in (values or {}).items() if k in known}
    changed = {k: v for k, v in values.items() if (entity.data or {}).get(k) != v}
    entity.conflict = None
    note = (note or "").strip()[:MAX_REASON] or None
    return _new_version(actor, entity, "resolve", changed, note)


def history(entity: Entity) -> list[EntityVersion]:
    """Every version of ``entity``, oldest first, with its submission and actor loaded."""
    from sqlalchemy.orm import selectinload

    stmt = (
        select(EntityVersion)
        .where(EntityVersion.entity_id == entity.id)
        .options(selectinload(EntityVersion.submission), selectinload(EntityVersion.actor))
        .order_by(EntityVersion.version)
    )
    return list(db.session.scalars(stmt))


def pending_ops(entity: Entity) -> list[EntityOp]:
    """Submissions naming ``entity`` whose entity block was held or refused (shown on
    its page: a visit that is kept but has not changed the household)."""
    stmt = (
        select(EntityOp)
        .where(EntityOp.entity_uuid == entity.uuid, EntityOp.state.in_(("held", "refused")))
        .order_by(EntityOp.id)
    )
    return list(db.session.scalars(stmt))


def conflict_details(entity: Entity) -> list[EntityVersion]:
    """The versions since the last resolution that arrived as conflicts, oldest first:
    what a supervisor reviews before resolving."""
    last = db.session.scalar(
        select(EntityVersion.version)
        .where(EntityVersion.entity_id == entity.id, EntityVersion.kind == "resolve")
        .order_by(EntityVersion.version.desc())
        .limit(1)
    )
    stmt = select(EntityVersion).where(
        EntityVersion.entity_id == entity.id,
        EntityVersion.conflict.is_not(None),
        EntityVersion.version > (last or 0),
    )
    return list(db.session.scalars(stmt.order_by(EntityVersion.version)))
