"""audit log append-only (issue 9): the database refuses UPDATE and DELETE of audit
events except in a deliberate purge; indexes for the log page's filters

PostgreSQL: one trigger function refuses UPDATE, DELETE and TRUNCATE on audit_events,
unless the transaction has set ``fieldapp.audit_purge`` to 'on' (``SET LOCAL``): then
DELETE and TRUNCATE pass, UPDATE never does. SQLite: triggers that always refuse; a purge
drops and re-creates them inside its own write transaction (SQLite has one writer at a
time, so no other write ever finds them gone). Both are what
``fieldapp.audit.services.purge_audit_log_for_tests`` does, the only way to delete events.

A later migration that rebuilds audit_events on SQLite (``op.batch_alter_table``) copies
the table without its triggers: it must call ``create_triggers`` again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy.engine import Connection

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The test suite's cleanup (tests/conftest.py, which deletes every row between tests)
# purges the log through fieldapp.audit.services.purge_audit_log_for_tests.
APPEND_ONLY = True

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND current_setting('fieldapp.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit_events is append-only: ' || TG_OP || ' refused',
        HINT = 'a deliberate purge: fieldapp.audit.services.purge_audit_log_for_tests';
END
$$
"""
PG_TRIGGERS = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events"
    " FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
)
SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER audit_events_no_{op_name.lower()} BEFORE {op_name} ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: {op_name} refused'); END"
    for op_name in ("UPDATE", "DELETE")
)


def create_triggers(conn: Connection) -> None:
    """Make ``audit_events`` refuse UPDATE and DELETE (see the module's text)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(PG_FUNCTION)
        for sql in PG_TRIGGERS:
            conn.exec_driver_sql(sql)
    else:
        for sql in SQLITE_TRIGGERS:
            conn.exec_driver_sql(sql)


def drop_triggers(conn: Connection) -> None:
    """Undo ``create_triggers``."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS audit_events_append_only()")
    else:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")


def upgrade() -> None:
    op.drop_index("ix_audit_events_user_id", table_name="audit_events")
    op.create_index("ix_audit_events_user_id_id", "audit_events", ["user_id", "id"])
    op.create_index("ix_audit_events_action_id", "audit_events", ["action", "id"])
    if APPEND_ONLY:
        create_triggers(op.get_bind())


def downgrade() -> None:
    drop_triggers(op.get_bind())
    op.drop_index("ix_audit_events_action_id", table_name="audit_events")
    op.drop_index("ix_audit_events_user_id_id", table_name="audit_events")
    op.create_index("ix_audit_events_user_id", "audit_events", ["user_id"])
