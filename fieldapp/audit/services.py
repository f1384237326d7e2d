"""Write audit events; called by every view, API endpoint and CLI command that reads
identifying data."""

from __future__ import annotations

from flask import has_request_context, request

from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db


def record(user_id: int | None, action: str, obj: str, **detail) -> AuditEvent:
    """Add an audit event (flushed, committed with the caller's transaction)."""
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
