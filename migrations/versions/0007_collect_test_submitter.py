"""ODK Collect and draft tests (issue 9): a test submission sent through a draft's test
link has no submitting user (submissions.submitter_id may be NULL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("submitter_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM submission_attachments WHERE submission_id IN "
               "(SELECT id FROM submissions WHERE submitter_id IS NULL)")
    op.execute("DELETE FROM submissions WHERE submitter_id IS NULL")
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("submitter_id", existing_type=sa.Integer(), nullable=False)
