"""Submissions make and change entities, as ODK Central processes them.

The rules follow ODK Central (central-backend lib/model/query/entities.js,
lib/data/entity.js) and the ODK Entities spec (getodk.github.io/xforms-spec/entities):

- ``meta/entity/@create`` "1"/"true" makes entity ``@id`` with ``label`` and the
  ``save_to`` properties; an id that exists already is skipped (a re-sent or edited
  registration never makes a second household).
- ``@update`` "1"/"true" sets the properties the submission carries (an element that
  is present, even blank; a non-relevant question is left out of the XML and changes
  nothing) on top of the newest version: later arrival wins, property by property, and
  no version is overwritten: each update is a new ``EntityVersion``.
- ``@baseVersion`` is the version the phone saw. Made from an older version than the
  newest, the update is a conflict: ``hard`` when a property (or the label) it sets
  changed on the server since its base and it sets it to another value than the
  server's now, else ``soft`` (parallel updates). The entity stays flagged
  until a supervisor resolves it (``fieldapp.cases.services.resolve``).
- Offline entities (spec 2024.1): updates made on a phone without signal carry
  ``@branchId`` (one per offline chain) and ``@trunkVersion`` (the last server version
  the phone had). Their ``baseVersion`` counts the phone's own versions, so the base on
  the server is the version the branch's previous update made; versions of the same
  branch are not conflicts with each other. An update whose entity or earlier branch
  update has not arrived yet is held (``EntityOp`` state ``held``, Central's backlog)
  and applied as soon as they arrive; ``force_held`` applies what has waited longer
  than ``HOLD`` (as Central does after its timeout: an update of an entity never
  created creates it).
- The submission is always kept, whatever becomes of its entity block; an entity block
  a person may not change (``scope.may_update_entity``) is refused and logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from fieldapp.auth.models import utcnow
from fieldapp.cases import households
from fieldapp.cases.models import (
    APPLIED,
    HARD,
    HELD,
    REFUSED,
    SKIPPED,
    SOFT,
    Dataset,
    Entity,
    EntityOp,
    EntityVersion,
)
from fieldapp.cases.spec import spec_of
from fieldapp.extensions import db
from fieldapp.scope import follows_what_they_register, may_update_entity

HOLD = timedelta(days=5)  # ODK Central's backlog timeout

# Why an entity block did not apply (``EntityOp.message``; a version's ``note``): stored
# as a code, shown in the reader's language by ``op_message``.
EDIT_NOT_AGAIN, OTHER_LIST, EXISTS = "edit_not_again", "other_list", "exists"
WAIT_CREATE, WAIT_BRANCH, NOT_THEIRS = "wait_create", "wait_branch", "not_theirs"
GONE, TEST_DATA, FORCED_CREATE = "gone", "test_data", "forced_create"
BAD_ID, BAD_BASE, STAYS_CLOSED = "bad_id", "bad_base", "stays_closed"
MESSAGES = {
    EDIT_NOT_AGAIN: _l("这是对已处理提交的修改，不再重复更改家庭"),
    OTHER_LIST: _l("这个编号已属于另一个实体列表"),
    EXISTS: _l("这户家庭已经建立过，未重复建立"),
    WAIT_CREATE: _l("等待登记这户家庭的提交到达"),
    WAIT_BRANCH: _l("等待同一手机更早的离线更新到达"),
    NOT_THEIRS: _l("提交人无权更新这户家庭；提交已保存，家庭未更改"),
    GONE: _l("提交不再包含这户家庭"),
    TEST_DATA: _l("测试数据不更改家庭"),
    FORCED_CREATE: _l("更新先于登记到达，等待超时后按更新建立"),
    BAD_ID: _l("实体编号格式不正确（应为字母、数字和 - : . _，最长 64 个字符）；家庭未更改"),
    BAD_BASE: _l("baseVersion 不是这户家庭已有的版本；提交已保存，家庭未更改"),
    STAYS_CLOSED: _l("这户家庭已结案：走访已记录，结案状态不变，请督导查看"),
}


def op_message(code: str | None) -> str:
    """An ``EntityOp.message`` (or a version's note made here) in the UI language; a text
    that is not one of the codes is shown as stored."""
    if not code:
        return ""
    text = MESSAGES.get(code)
    return str(text) if text is not None else code


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]{0,63}")
MAX_LABEL = 500
MAX_PROPERTY = 10_000


@dataclass
class EntityBlock:
    """A submission's ``meta/entity``: what it asks to do to which entity."""

    dataset: str
    uuid: str
    create: bool
    update: bool
    label: str | None
    base_version: int | None
    trunk_version: int | None
    branch_id: str | None
    properties: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # BAD_ID, BAD_BASE: refused as it stands


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: Element | None, name: str) -> Element | None:
    if el is None:
        return None
    return next((c for c in el if _local(c.tag) == name), None)


def _at(root: Element, path: str) -> Element | None:
    """The element at instance ``path`` (``/data/grp/q``) or None when left out."""
    el = root
    for part in path.strip("/").split("/")[1:]:
        el = _child(el, part)
        if el is None:
            return None
    return el


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true")


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _instances(root: Element, container: str) -> list[Element]:
    """Every element at instance path ``container`` (``/data``: the root; a repeat's
    path: each of its instances, in document order)."""
    found = [root]
    for part in container.strip("/").split("/")[1:]:
        found = [c for el in found for c in el if _local(c.tag) == part]
    return found


def _block(container: Element, block_spec: dict, spec_root: str) -> EntityBlock | None:
    entity = _child(_child(container, "meta"), "entity")
    if entity is None:
        return None
    create, update = _flag(entity.get("create")), _flag(entity.get("update"))
    uuid = (entity.get("id") or "").strip()
    if not (create or update) or not uuid:
        return None
    problem = None
    if not _ID.fullmatch(uuid):
        problem, uuid = BAD_ID, uuid[:64]
    raw_base = (entity.get("baseVersion") or "").strip()
    if update and raw_base and _int(raw_base) is None:
        problem = problem or BAD_BASE
    label_el = _child(entity, "label")
    label = (label_el.text or "").strip()[:MAX_LABEL] if label_el is not None else None
    props = {}
    for path, prop in block_spec.get("saveto", {}).items():
        el = _at(container, spec_root + path[len(block_spec["container"]) :])
        if el is not None:
            props[prop] = (el.text or "").strip()[:MAX_PROPERTY]
    branch = (entity.get("branchId") or "").strip()[:64] or None
    return EntityBlock(
        dataset=block_spec["dataset"],
        uuid=uuid,
        create=create,
        update=update,
        label=label or None,
        base_version=_int(entity.get("baseVersion")),
        trunk_version=_int(entity.get("trunkVersion")),
        branch_id=branch,
        properties=props,
        problem=problem,
    )


def read_blocks(root: Element, spec: dict) -> list[EntityBlock]:
    """The entity blocks of submission ``root`` under form declaration ``spec``
    (``fieldapp.cases.spec.entity_spec``): the form's own ``meta/entity`` and one per
    repeat instance that has one (entities spec 2025.1), in document order; blocks that
    ask for nothing (neither create nor update true, no usable id) are left out, and an
    id named twice counts once."""
    blocks, seen = [], set()
    for block_spec in spec.get("blocks") or [{**spec, "container": ""}]:
        container = block_spec["container"] or f"/{_local(root.tag)}"
        block_spec = {**block_spec, "container": container}
        for el in _instances(root, container):
            block = _block(el, block_spec, f"/{_local(el.tag)}")
            if block is not None and block.uuid not in seen:
                seen.add(block.uuid)
                blocks.append(block)
    return blocks


def read_block(root: Element, spec: dict) -> EntityBlock | None:
    """The first of ``read_blocks`` (the form's own entity), or None."""
    blocks = read_blocks(root, spec)
    return blocks[0] if blocks else None


def dataset_named(name: str, properties: list[str] | None = None) -> Dataset:
    """The dataset ``name``, made if missing; ``properties`` not yet known are added in
    order (a form published with new ``save_to`` names)."""
    ds = db.session.scalar(select(Dataset).where(Dataset.name == name))
    if ds is None:
        ds = Dataset(name=name, properties=[])
        db.session.add(ds)
    known = list(ds.properties or [])
    new = [p for p in properties or [] if p not in known]
    if new:
        ds.properties = known + new
    return ds


def apply_submission(person, sub, replaces=None) -> list[EntityOp]:
    """Make or change the entities ``sub`` (a just-stored, non-test submission sent by
    ``person``) asks for; one ``EntityOp`` per entity block, none when its form declares
    no entities or its blocks ask nothing. ``replaces``: the submission an edit
    (``meta/deprecatedID``) replaces; as in Central, an edit does not apply again what
    its original applied (skipped, with a message). Flushes; never raises for what a
    block says (the outcome is the op's state and message)."""
    spec = spec_of(sub.form_version)
    if not spec:
        return []
    root = fromstring(sub.xml.encode("utf-8"))
    done_before = set()
    if replaces is not None:
        done_before = set(
            db.session.scalars(
                select(EntityOp.entity_uuid).where(
                    EntityOp.submission_id == replaces.id, EntityOp.state == APPLIED
                )
            )
        )
    ops = []
    for block in read_blocks(root, spec):
        op = EntityOp(
            submission_id=sub.id,
            dataset=block.dataset[:100],
            entity_uuid=block.uuid,
            action="create" if block.create else "update",
            state=HELD,
            base_version=block.base_version,
            trunk_version=block.trunk_version,
            branch_id=block.branch_id,
        )
        db.session.add(op)
        if block.problem:
            _done(op, REFUSED, block.problem)
        elif block.uuid in done_before:
            _done(op, SKIPPED, EDIT_NOT_AGAIN)
        else:
            _process(person, sub, block, op)
        db.session.flush()
        if op.state == APPLIED:
            drain(block.uuid)
        ops.append(op)
    return ops


def _process(person, sub, block: EntityBlock, op: EntityOp, force: bool = False) -> None:
    entity = db.session.scalar(select(Entity).where(Entity.uuid == block.uuid))
    ds = dataset_named(block.dataset, list(block.properties))
    if entity is not None and entity.dataset_id is not None and entity.dataset_id != ds.id:
        _done(op, REFUSED, OTHER_LIST)
        return
    if block.create:
        if entity is None:
            _create(person, sub, ds, block, op)
            return
        if not block.update:
            _done(op, SKIPPED, EXISTS)
            return
        op.action = "update"  # create and update both true: an update of the existing one
    if entity is None:
        if force:
            _create(person, sub, ds, block, op, forced=True)
        else:
            _done(op, HELD, WAIT_CREATE, processed=False)
        return
    if not may_update_entity(person, entity):
        _done(op, REFUSED, NOT_THEIRS)
        return
    _update(person, sub, entity, block, op, force)


def _create(person, sub, ds: Dataset, block: EntityBlock, op: EntityOp, forced=False) -> None:
    data = dict(block.properties)
    label = block.label or next((v for v in data.values() if v), "") or block.uuid
    entity = Entity(
        uuid=block.uuid,
        dataset_id=ds.id,
        label=label,
        version=1,
        data=data,
        area_id=sub.area_id,
        assigned_to_id=person.id if follows_what_they_register(person) else None,
        created_by_id=sub.submitter_id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    if ds.id is None:
        db.session.flush()
        entity.dataset_id = ds.id
    households.derive(entity)
    db.session.add(entity)
    db.session.flush()
    ev = EntityVersion(
        entity_id=entity.id,
        version=1,
        kind="create",
        label=label,
        data=data,
        received=dict(block.properties),
        submission_id=sub.id,
        actor_id=sub.submitter_id,
        assigned_to_id=entity.assigned_to_id,
        branch_id=block.branch_id,
        base_version=block.base_version,
        trunk_version=block.trunk_version,
        note=FORCED_CREATE if forced else None,
    )
    _record(entity, ev, op)


def _effective_base(entity: Entity, block: EntityBlock) -> tuple[int | None, bool]:
    """(the server version the update was made from, ready). ``ready`` is False when an
    earlier update of the same offline branch has not arrived (or the base version is
    ahead of the server's)."""
    base = block.base_version
    if block.branch_id:
        prev = db.session.scalar(
            select(EntityVersion)
            .where(EntityVersion.entity_id == entity.id, EntityVersion.branch_id == block.branch_id)
            .order_by(EntityVersion.version.desc())
            .limit(1)
        )
        if prev is not None and prev.branch_base_version is not None:
            if base is not None and base > prev.branch_base_version + 1:
                return None, False
            return prev.version, True
        start = block.trunk_version if block.trunk_version is not None else 1
        if base is not None and base > start:
            return None, False
        return min(start, entity.version), True
    if base is None:
        return None, True
    return base, True


def _update(person, sub, entity: Entity, block: EntityBlock, op: EntityOp, force: bool) -> None:
    if not block.branch_id and block.base_version is not None:
        if block.base_version > entity.version or block.base_version < 1:
            # Outside a branch the base is a version the phone read from the server's
            # list: one the household never had is not an update to apply.
            _done(op, REFUSED, BAD_BASE)
            return
    base, ready = _effective_base(entity, block)
    if not ready and not force:
        _done(op, HELD, WAIT_BRANCH, processed=False)
        return
    props = dict(block.properties)
    kept_closed = False
    if entity.status == households.CLOSED and props.get(households.STATUS, households.CLOSED) != (
        households.CLOSED
    ):
        # A visit made before the case was closed, sent after: kept, but only a
        # supervisor reopens a case (services.reopen).
        del props[households.STATUS]
        kept_closed = True
    block = EntityBlock(**{**block.__dict__, "properties": props})
    conflict, conflicting = None, None
    if base is not None and base < entity.version:
        at_base = db.session.scalar(
            select(EntityVersion).where(
                EntityVersion.entity_id == entity.id, EntityVersion.version == base
            )
        )
        then = dict(at_base.data or {}) if at_base else {}
        now = dict(entity.data or {})
        then["\0label"], now["\0label"] = (at_base.label if at_base else ""), entity.label
        ours = dict(block.properties)
        if block.label:
            ours["\0label"] = block.label
        # Central's rule: a property that changed on the server since the base and that
        # this update sets to another value than the server's now.
        conflicting = sorted(
            p.replace("\0", "")
            for p, value in ours.items()
            if then.get(p, "") != now.get(p, "") and value != now.get(p, "")
        )
        conflict = HARD if conflicting else SOFT
    if kept_closed:
        conflict, conflicting = HARD, sorted({*(conflicting or []), households.STATUS})
    data = {**entity.data, **block.properties}
    entity.data = data
    if block.label:
        entity.label = block.label
    entity.version += 1
    entity.updated_at = utcnow()
    if conflict and entity.conflict != HARD:
        entity.conflict = conflict
    households.derive(entity)
    ev = EntityVersion(
        entity_id=entity.id,
        version=entity.version,
        kind="update",
        label=entity.label,
        data=data,
        received=dict(block.properties),
        submission_id=sub.id,
        actor_id=sub.submitter_id,
        assigned_to_id=entity.assigned_to_id,
        base_version=base,
        trunk_version=block.trunk_version,
        branch_id=block.branch_id,
        branch_base_version=block.base_version if block.branch_id else None,
        conflict=conflict,
        conflicting=conflicting or None,
        note=STAYS_CLOSED if kept_closed else None,
    )
    _record(entity, ev, op)


def _record(entity: Entity, ev: EntityVersion, op: EntityOp) -> None:
    db.session.add(ev)
    db.session.flush()
    entity.stamp = ev.id
    op.version_id = ev.id
    _done(op, APPLIED, None)


def _done(op: EntityOp, state: str, message: str | None, processed: bool = True) -> None:
    op.state = state
    op.message = message
    op.processed_at = utcnow() if processed else None


def _retry(op: EntityOp, force: bool = False) -> None:
    sub = op.submission
    spec = spec_of(sub.form_version)
    blocks = read_blocks(fromstring(sub.xml.encode("utf-8")), spec) if spec else []
    block = next((b for b in blocks if b.uuid == op.entity_uuid), None)
    if block is None:
        _done(op, SKIPPED, GONE)
        return
    person = sub.submitter
    if person is None:
        _done(op, SKIPPED, TEST_DATA)
        return
    _process(person, sub, block, op, force=force)


def drain(uuid: str) -> int:
    """Apply the held updates of entity ``uuid`` that can go now, oldest first, until
    none can; returns how many were applied."""
    applied = 0
    progress = True
    while progress:
        progress = False
        held = db.session.scalars(
            select(EntityOp)
            .where(EntityOp.entity_uuid == uuid, EntityOp.state == HELD)
            .order_by(EntityOp.id)
        ).all()
        for op in held:
            _retry(op)
            db.session.flush()
            if op.state != HELD:
                progress = True
                applied += op.state == APPLIED
    return applied


def force_held(now=None) -> int:
    """Apply every update held longer than ``HOLD`` as Central does after its backlog
    timeout: against the newest version (a missing earlier branch update is skipped
    over), and an update of an entity that never arrived creates it. Returns how many
    ops were processed. Run by the background worker (kind ``entity-backlog``)."""
    cutoff = (now or utcnow()) - HOLD
    ops = db.session.scalars(
        select(EntityOp)
        .where(EntityOp.state == HELD, EntityOp.created_at < cutoff)
        .order_by(EntityOp.id)
    ).all()
    for op in ops:
        _retry(op, force=True)
        db.session.flush()
        if op.state == APPLIED:
            drain(op.entity_uuid)
    return len(ops)


def run_held_updates(app, worker: str) -> bool:
    """The worker's ``entity-backlog`` kind: ``force_held`` and commit; True when it
    processed something."""
    done = force_held()
    db.session.commit()
    return bool(done)
