"""cases (issue 10): entity lists (datasets), entities (households) with their versions
(the history) and the processing log / backlog of submissions' entity blocks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:26:55.120155
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("assigned_to_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conflict", sa.String(length=8), nullable=True),
        sa.Column("stamp", sa.Integer(), nullable=False),
        sa.Column("risk", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_visit_due", sa.Date(), nullable=True),
        sa.Column("last_visit_date", sa.Date(), nullable=True),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["areas.id"],
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entities_area_id"), ["area_id"], unique=False)
        batch_op.create_index(
            "ix_entities_assignee_due", ["assigned_to_id", "next_visit_due"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_entities_conflict"), ["conflict"], unique=False)
        batch_op.create_index("ix_entities_dataset_area", ["dataset_id", "area_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_entities_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_entities_next_visit_due"), ["next_visit_due"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_entities_risk"), ["risk"], unique=False)
        batch_op.create_index(batch_op.f("ix_entities_status"), ["status"], unique=False)

    op.create_table(
        "entity_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("received", sa.JSON(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("trunk_version", sa.Integer(), nullable=True),
        sa.Column("branch_id", sa.String(length=64), nullable=True),
        sa.Column("branch_base_version", sa.Integer(), nullable=True),
        sa.Column("conflict", sa.String(length=8), nullable=True),
        sa.Column("conflicting", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("assigned_to_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["entities.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entity_id", "version"),
    )
    with op.batch_alter_table("entity_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_entity_versions_branch_id"), ["branch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_entity_versions_entity_id"), ["entity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_entity_versions_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "entity_ops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=100), nullable=False),
        sa.Column("entity_uuid", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("trunk_version", sa.Integer(), nullable=True),
        sa.Column("branch_id", sa.String(length=64), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["entity_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", "entity_uuid"),
    )
    with op.batch_alter_table("entity_ops", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_entity_ops_entity_uuid"), ["entity_uuid"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_entity_ops_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_entity_ops_submission_id"), ["submission_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("entity_ops", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entity_ops_submission_id"))
        batch_op.drop_index(batch_op.f("ix_entity_ops_state"))
        batch_op.drop_index(batch_op.f("ix_entity_ops_entity_uuid"))

    op.drop_table("entity_ops")
    with op.batch_alter_table("entity_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entity_versions_submission_id"))
        batch_op.drop_index(batch_op.f("ix_entity_versions_entity_id"))
        batch_op.drop_index(batch_op.f("ix_entity_versions_branch_id"))

    op.drop_table("entity_versions")
    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entities_status"))
        batch_op.drop_index(batch_op.f("ix_entities_risk"))
        batch_op.drop_index(batch_op.f("ix_entities_next_visit_due"))
        batch_op.drop_index(batch_op.f("ix_entities_dataset_id"))
        batch_op.drop_index("ix_entities_dataset_area")
        batch_op.drop_index(batch_op.f("ix_entities_conflict"))
        batch_op.drop_index("ix_entities_assignee_due")
        batch_op.drop_index(batch_op.f("ix_entities_area_id"))

    op.drop_table("entities")
    op.drop_table("datasets")
