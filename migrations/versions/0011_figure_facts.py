"""figure facts (issue 11): what each submission, household and household version adds
to each yearly figure, and those facts added up per area and month (counts, sums) or
household and half-year (distinct households), kept up to date by
``fieldapp.figures.facts`` so that the figures page reads small typed rows instead of
every answer's JSON; ``in_figures`` on
submissions and household versions marks those already taken in (the rows already
stored are taken in by the first build, which every definition needs)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "figure_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["definition_id"], ["figure_definitions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("figure_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_figure_facts_definition_id"), ["definition_id"])
        batch_op.create_index(batch_op.f("ix_figure_facts_entity_id"), ["entity_id"])
        batch_op.create_index(batch_op.f("ix_figure_facts_submission_id"), ["submission_id"])
        batch_op.create_index(batch_op.f("ix_figure_facts_version_id"), ["version_id"])
    op.create_table(
        "figure_tallies",
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("facts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["figure_definitions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("definition_id", "month", "area_id"),
    )
    op.create_table(
        "figure_households",
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("half", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("facts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["figure_definitions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("definition_id", "entity_id", "half"),
    )
    op.create_index(
        "ix_figure_households_read",
        "figure_households",
        ["definition_id", "half", "area_id", "entity_id"],
        unique=False,
    )
    op.create_table(
        "figure_fact_builds",
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["figure_definitions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("definition_id"),
    )
    op.create_table(
        "figure_fact_pending",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("submission_id"),
    )
    op.create_table(
        "figure_fact_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    for table in ("submissions", "entity_versions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("in_figures", sa.Boolean(), server_default=sa.false(), nullable=False)
            )
        # What is stored already is taken in by the first build of every definition.
        op.execute(sa.text(f"UPDATE {table} SET in_figures = true"))
        op.create_index(
            f"ix_{table}_not_in_figures",
            table,
            ["id"],
            unique=False,
            sqlite_where=sa.text("NOT in_figures"),
            postgresql_where=sa.text("NOT in_figures"),
        )


def downgrade() -> None:
    for table in ("entity_versions", "submissions"):
        op.drop_index(f"ix_{table}_not_in_figures", table_name=table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("in_figures")
    op.drop_table("figure_fact_state")
    op.drop_table("figure_fact_pending")
    op.drop_table("figure_fact_builds")
    op.drop_index("ix_figure_households_read", table_name="figure_households")
    op.drop_table("figure_households")
    op.drop_table("figure_tallies")
    with op.batch_alter_table("figure_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_figure_facts_version_id"))
        batch_op.drop_index(batch_op.f("ix_figure_facts_submission_id"))
        batch_op.drop_index(batch_op.f("ix_figure_facts_entity_id"))
        batch_op.drop_index(batch_op.f("ix_figure_facts_definition_id"))
    op.drop_table("figure_facts")
