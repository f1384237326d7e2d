"""Write audit events; called by every view, API endpoint and CLI command that reads
identifying data, by sign-in and sign-out, and by the features that change users, areas
and forms. The log is append-only: nothing here (or anywhere in the app) changes or
deletes an event, and the database refuses to (migration 0008) except through
``purge_audit_log_for_tests``."""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy import delete, select, text
from sqlalchemy.engine import Connection

from fieldapp.audit.models import AuditEvent
from fieldapp.auth.models import User
from fieldapp.extensions import db


def record(user_id: int | None, action: str, obj: str, **detail) -> AuditEvent:
    """Add an audit event (flushed, committed with the caller's transaction).

    ``action`` names what happened (see ``fieldapp.audit.actions`` for the names the log
    page translates), ``obj`` the record it concerns (``form:<id>``, ``submission:<id>``,
    ``user:<username>``…), ``detail`` anything else as JSON; the request's remote address
    is kept (behind a reverse proxy: the proxy's, unless the app trusts its headers)."""
    event = AuditEvent(
        user_id=user_id,
        action=action,
        object=obj,
        detail=detail,
        remote_addr=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    db.session.flush()
    return event


def record_failed_login(username: str) -> AuditEvent:
    """Record a refused sign-in as ``username`` (the name as typed, cut to 64 characters;
    never the password). The event names the user of that name when there is one, so
    the admins of their area see it; an unknown name leaves ``user_id`` empty."""
    tried = username[:64]
    user_id = db.session.scalar(select(User.id).where(User.username == tried))
    return record(user_id, "login_failed", f"user:{tried}", username=tried)


def purge_audit_log_for_tests(connection: Connection) -> int:
    """Delete every audit event, past the database's append-only triggers; return how
    many. The test suite's cleanup calls it; the app never does.

    Runs in ``connection``'s transaction (the caller commits or rolls back, and the log
    is whole again on rollback). PostgreSQL: ``fieldapp.audit_purge`` is 'on' for the
    DELETE only (``SET LOCAL``). SQLite: the triggers are dropped, the rows deleted and
    the triggers re-created from their own text, in one write transaction."""
    table = AuditEvent.__table__
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL fieldapp.audit_purge = 'on'"))
        try:
            return connection.execute(delete(table)).rowcount
        finally:
            connection.execute(text("SET LOCAL fieldapp.audit_purge = 'off'"))
    # pysqlite begins a transaction before DML only: begin one for the DDL too, so that
    # the triggers are never dropped outside a transaction.
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")
    triggers = connection.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": table.name},
    ).all()
    for name, _sql in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    count = connection.execute(delete(table)).rowcount
    for _name, sql in triggers:
        connection.exec_driver_sql(sql)
    return count
