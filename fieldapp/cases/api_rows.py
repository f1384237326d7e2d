"""Households for the JSON API (``/api/v1/datasets/<name>/entities``), in the caller's
scope, shaped as ODK Central's entity API gives them (id, label, version, properties),
with fieldapp's household columns beside them. Who sees what: ``scope``; a label and the
properties outside the household vocabulary only for those who may identify the
household (``scope.may_identify_entity``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from fieldapp.cases import households as hh
from fieldapp.cases.models import Dataset, Entity, EntityVersion
from fieldapp.extensions import db
from fieldapp.scope import entities_in_scope, may_identify_entity


def dataset_named(name: str) -> Dataset | None:
    """The dataset ``name`` or None."""
    return db.session.scalar(select(Dataset).where(Dataset.name == name))


def entity_page(person, ds: Dataset, page: int, per_page: int) -> tuple[int, list[Entity]]:
    """(how many, one page by creation order) of ``ds``'s entities ``person`` may see,
    with area and assigned person loaded: two queries whatever the page."""
    stmt = entities_in_scope(person, ds.id)
    total = db.session.scalar(stmt.with_only_columns(func.count(Entity.id)))
    rows = db.session.scalars(
        stmt.options(joinedload(Entity.area), joinedload(Entity.assigned_to))
        .order_by(Entity.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).unique()
    return total, list(rows)


def visible_entity(person, ds: Dataset, uuid: str) -> Entity | None:
    """Entity ``uuid`` of ``ds`` if ``person`` may see it, else None."""
    return db.session.scalar(entities_in_scope(person, ds.id).where(Entity.uuid == uuid))


def _properties(person, entity: Entity, props: dict) -> dict:
    if may_identify_entity(person, entity):
        return dict(props or {})
    return {k: v for k, v in (props or {}).items() if k in hh.PROPERTY_LABELS}


def entity_json(person, entity: Entity, when) -> dict:
    """One entity as the API gives it; ``when(datetime) -> str`` formats times."""
    identifies = may_identify_entity(person, entity)
    return {
        "id": entity.uuid,
        "dataset": entity.dataset.name,
        "label": entity.label if identifies else None,
        "label_hidden": not identifies,
        "version": entity.version,
        "area_code": entity.area.code,
        "assigned_to": entity.assigned_to.username if entity.assigned_to else None,
        "risk_level": entity.risk,
        "case_status": entity.status,
        "next_visit_due": entity.next_visit_due.isoformat() if entity.next_visit_due else None,
        "last_visit_date": entity.last_visit_date.isoformat() if entity.last_visit_date else None,
        "conflict": entity.conflict,
        "created_at": when(entity.created_at),
        "updated_at": when(entity.updated_at),
        "properties": _properties(person, entity, entity.data),
    }


def versions_json(person, entity: Entity, when) -> list[dict]:
    """Every version of ``entity`` (its history), oldest first, as the API gives them."""
    stmt = (
        select(EntityVersion)
        .where(EntityVersion.entity_id == entity.id)
        .options(selectinload(EntityVersion.submission), selectinload(EntityVersion.actor))
        .order_by(EntityVersion.version)
    )
    return [
        {
            "version": v.version,
            "kind": v.kind,
            "at": when(v.created_at),
            "by": v.actor.username if v.actor else None,
            "instance_id": v.submission.instance_id if v.submission else None,
            "received": _properties(person, entity, v.received),
            "base_version": v.base_version,
            "conflict": v.conflict,
            "conflicting": v.conflicting,
        }
        for v in db.session.scalars(stmt)
    ]
