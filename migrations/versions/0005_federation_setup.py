"""federation set-up (issue 9): user phone and forced password change, area active,
token purpose, form state and draft token, submission current/test

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("areas") as batch:
        batch.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(length=16), nullable=False, server_default="api")
        )
    with op.batch_alter_table("forms") as batch:
        batch.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="open")
        )
        batch.add_column(sa.Column("draft_token", sa.String(length=64), nullable=True))
        batch.create_index("ix_forms_state", ["state"])
        batch.create_unique_constraint("uq_forms_draft_token", ["draft_token"])
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(
            sa.Column("current", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_submissions_current", ["current"])


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_index("ix_submissions_current")
        batch.drop_column("test")
        batch.drop_column("current")
    with op.batch_alter_table("forms") as batch:
        batch.drop_constraint("uq_forms_draft_token", type_="unique")
        batch.drop_index("ix_forms_state")
        batch.drop_column("draft_token")
        batch.drop_column("state")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("purpose")
    with op.batch_alter_table("areas") as batch:
        batch.drop_column("active")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
        batch.drop_column("phone")
