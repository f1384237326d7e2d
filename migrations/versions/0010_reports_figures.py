"""reports and figures (issue 11): periodic report definitions, figure definitions and
targets; submissions.filled_on (the day a submission was filled in: its reporting
period), backfilled from the day it was received

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:20:33.838595
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "figure_definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("group", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("aggregate", sa.String(length=100), nullable=False),
        sa.Column("date_field", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "figure_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("figure_key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["areas.id"],
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "area_id", "figure_key"),
    )
    with op.batch_alter_table("figure_targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_figure_targets_area_id"), ["area_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_figure_targets_year"), ["year"], unique=False)

    op.create_table(
        "report_definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("form_pk", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("deadline_days", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["areas.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["form_pk"],
            ["forms.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_definitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_definitions_area_id"), ["area_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_definitions_form_pk"), ["form_pk"], unique=False
        )

    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filled_on", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_submissions_filled_on"), ["filled_on"], unique=False)
    day = (
        "date(received_at)"
        if op.get_bind().dialect.name == "sqlite"
        else "CAST(received_at AS DATE)"
    )
    op.execute(f"UPDATE submissions SET filled_on = {day}")


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_filled_on"))
        batch_op.drop_column("filled_on")

    with op.batch_alter_table("report_definitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_definitions_form_pk"))
        batch_op.drop_index(batch_op.f("ix_report_definitions_area_id"))

    op.drop_table("report_definitions")
    with op.batch_alter_table("figure_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_figure_targets_year"))
        batch_op.drop_index(batch_op.f("ix_figure_targets_area_id"))

    op.drop_table("figure_targets")
    op.drop_table("figure_definitions")
