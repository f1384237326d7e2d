"""submissions.repeat_counts: instances per repeat, so exports size repeat columns
without reading every answer

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counts(data: dict, path: str = "", into: dict | None = None) -> dict:
    # A frozen copy of fieldapp.submissions.parse.repeat_counts (migrations must not
    # change when the app does).
    counts = {} if into is None else into
    for name, child in data.items():
        p = f"{path}/{name}" if path else name
        if isinstance(child, list):
            counts[p] = max(counts.get(p, 0), len(child))
            for item in child:
                if isinstance(item, dict):
                    _counts(item, p, counts)
        elif isinstance(child, dict):
            _counts(child, p, counts)
    return counts


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("repeat_counts", sa.JSON(), nullable=True))
    subs = sa.table(
        "submissions",
        sa.column("id", sa.Integer),
        sa.column("data", sa.JSON),
        sa.column("repeat_counts", sa.JSON),
    )
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(subs.c.id, subs.c.data).where(subs.c.id > last).order_by(subs.c.id).limit(2000)
        ).all()
        if not rows:
            break
        for sid, data in rows:
            bind.execute(
                subs.update().where(subs.c.id == sid).values(repeat_counts=_counts(data or {}))
            )
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("repeat_counts")
