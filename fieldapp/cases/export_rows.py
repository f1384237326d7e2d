"""What the exports read of entity lists (issue 10): which forms fill a dataset, and the
entities and versions a person may see as plain rows (Core, no ORM objects), streamed.

Who sees which household is ``scope.entities_in_scope``; the layout, de-identification
and files are ``fieldapp.exports.households``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, load_only

from fieldapp.areas.models import Area
from fieldapp.auth.models import User
from fieldapp.cases.models import Dataset, Entity, EntityVersion
from fieldapp.cases.spec import spec_of
from fieldapp.extensions import db
from fieldapp.scope import Person, entities_in_scope
from fieldapp.submissions.models import Submission
from fieldapp.surveys.models import Form, FormVersion


def form_dataset(form: Form) -> str | None:
    """The dataset (entity list) ``form`` creates or updates, by its newest version that
    declares one (``cases.spec.spec_of``); None for a form without entities."""
    for fv in reversed(form.versions):
        spec = spec_of(fv)
        if spec:
            return spec["dataset"]
    return None


def find_dataset(name: str) -> Dataset | None:
    """The dataset called ``name``, or None (never made here: see ``process.dataset_named``)."""
    return db.session.scalar(select(Dataset).where(Dataset.name == name))


def dataset_forms(name: str) -> list[tuple[str, list[FormVersion]]]:
    """The forms one of whose versions declares dataset ``name``: (form id, every version
    of that form, oldest first), oldest form first. Versions are loaded without their
    files (schema and, for versions published before schemas kept entities, the XForm on
    demand)."""
    stmt = (
        select(Form.form_id, FormVersion)
        .join(Form, Form.id == FormVersion.form_pk)
        .options(load_only(FormVersion.id, FormVersion.version, FormVersion.schema))
        .order_by(Form.id, FormVersion.id)
    )
    by_form: dict[str, list[FormVersion]] = {}
    for form_id, fv in db.session.execute(stmt):
        by_form.setdefault(form_id, []).append(fv)
    return [
        (form_id, versions)
        for form_id, versions in by_form.items()
        if any((spec_of(v) or {}).get("dataset") == name for v in versions)
    ]


def _in_scope(person: Person, ds: Dataset) -> Select:
    return entities_in_scope(person, ds.id).with_only_columns(Entity.id)


def counts(person: Person, ds: Dataset) -> tuple[int, int]:
    """(households, versions) of ``ds`` that ``person`` may see (two count queries)."""
    ids = _in_scope(person, ds)
    households = db.session.scalar(select(func.count()).select_from(ids.subquery()))
    versions = db.session.scalar(
        select(func.count(EntityVersion.id)).where(EntityVersion.entity_id.in_(ids))
    )
    return households or 0, versions or 0


def _stream(query: Select, size: int = 2000) -> Iterator:
    result = db.session.connection().execute(query.execution_options(stream_results=True))
    while batch := result.fetchmany(size):
        yield from batch


def household_rows(person: Person, ds: Dataset) -> Iterator[tuple]:
    """The households of ``ds`` that ``person`` may see, by id, as rows with ``uuid``,
    ``label``, ``area_code``, ``area_name``, ``risk``, ``status``, ``assignee`` (the
    assigned person's username or None), ``next_visit_due``, ``last_visit_date``,
    ``version``, ``conflict``, ``created_at``, ``updated_at`` (as the driver gives them:
    naive UTC on SQLite, aware on PostgreSQL), ``closed_reason`` and ``data`` (the
    properties). One streamed query."""
    assignee = aliased(User)
    query = (
        select(
            Entity.uuid,
            Entity.label,
            Area.code.label("area_code"),
            Area.name.label("area_name"),
            Entity.risk,
            Entity.status,
            assignee.username.label("assignee"),
            Entity.next_visit_due,
            Entity.last_visit_date,
            Entity.version,
            Entity.conflict,
            Entity.created_at,
            Entity.updated_at,
            Entity.closed_reason,
            Entity.data,
        )
        .join(Area, Area.id == Entity.area_id)
        .outerjoin(assignee, assignee.id == Entity.assigned_to_id)
        .where(Entity.id.in_(_in_scope(person, ds)))
        .order_by(Entity.id)
    )
    return _stream(query)


def version_rows(person: Person, ds: Dataset) -> Iterator[tuple]:
    """Every version of the households of ``ds`` that ``person`` may see, by household
    and version, as rows with ``uuid``, ``version``, ``kind``, ``created_at``, ``actor``
    (username), ``instance_id`` and ``form_id`` (the submission that made it; None for a
    supervisor's change), ``base_version``, ``conflict``, ``conflicting`` (property
    names), ``assignee`` (username), ``note``, ``label`` and ``received`` (the properties
    it set). One streamed query."""
    actor, assignee = aliased(User), aliased(User)
    query = (
        select(
            Entity.uuid,
            EntityVersion.version,
            EntityVersion.kind,
            EntityVersion.created_at,
            actor.username.label("actor"),
            Submission.instance_id,
            Form.form_id,
            EntityVersion.base_version,
            EntityVersion.conflict,
            EntityVersion.conflicting,
            assignee.username.label("assignee"),
            EntityVersion.note,
            EntityVersion.label,
            EntityVersion.received,
        )
        .join(Entity, Entity.id == EntityVersion.entity_id)
        .outerjoin(actor, actor.id == EntityVersion.actor_id)
        .outerjoin(assignee, assignee.id == EntityVersion.assigned_to_id)
        .outerjoin(Submission, Submission.id == EntityVersion.submission_id)
        .outerjoin(Form, Form.id == Submission.form_pk)
        .where(EntityVersion.entity_id.in_(_in_scope(person, ds)))
        .order_by(EntityVersion.entity_id, EntityVersion.version)
    )
    return _stream(query)
