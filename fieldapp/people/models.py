"""A bulk import of users between its preview and the printed sheet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldapp.auth.models import utcnow
from fieldapp.extensions import db


class UserImport(db.Model):
    """Rows of a checked XLSX of users, waiting to become users.

    Hashing a password with Argon2id costs ~0.2 s of CPU, so the users of a large file
    are hashed a few at a time over several requests (``hashed`` rows done) and created
    together at the end (``finished_at``). ``rows`` holds each row's fields and, once
    hashed, its password hash; the one-time passwords themselves are never stored: they
    are derived from a key kept only in the importer's session (``people.importer``)."""

    __tablename__ = "user_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    rows: Mapped[list] = mapped_column(JSON)
    hashed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
