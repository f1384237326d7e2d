"""The baseline of ``bench/load.py``: a bare OpenRosa submission endpoint on fieldapp's
stack (Flask, Flask-SQLAlchemy, the same database kind, gunicorn with the same workers)
that stores each POST's raw body without reading or checking it.

    BENCH_BARE_DATABASE_URL=sqlite:////tmp/x/bare.sqlite3 \\
        .venv/bin/gunicorn --workers 2 bench.bare_app:app

``HEAD /submission`` answers 204 as fieldapp does; ``POST /submission`` inserts the body
(bytes) into ``bare_submissions`` and answers 201 with an OpenRosa message. The same
routes under ``/key/<token>/`` accept any token, so the load is the same URLs. The table
is made by ``create_table`` (the bench calls it before starting gunicorn), never here.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime

from flask import Flask, Response, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, LargeBinary, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

OK = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OpenRosaResponse xmlns="http://openrosa.org/http/response">'
    '<message nature="">stored</message></OpenRosaResponse>'
)


class Base(DeclarativeBase):
    """Declarative base of the bare app's one table."""


db = SQLAlchemy(model_class=Base)


class BareSubmission(db.Model):
    """One POST's raw body as received."""

    __tablename__ = "bare_submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[bytes] = mapped_column(LargeBinary)


@event.listens_for(Engine, "connect")
def _sqlite_concurrency(dbapi_connection, _record) -> None:
    """The same SQLite settings as fieldapp (WAL, a writer waits up to 10 s)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def create_table(url: str) -> None:
    """Make the ``bare_submissions`` table in the database at ``url`` (if missing)."""
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()


def _openrosa(resp: Response) -> Response:
    resp.headers["X-OpenRosa-Version"] = "1.0"
    resp.headers["X-OpenRosa-Accept-Content-Length"] = str(50 * 1024 * 1024)
    return resp


def create_app() -> Flask:
    """The bare app, storing into ``BENCH_BARE_DATABASE_URL``."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["BENCH_BARE_DATABASE_URL"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    db.init_app(app)

    @app.route("/submission", methods=["HEAD"])
    @app.route("/key/<token>/submission", methods=["HEAD"])
    def head(token: str | None = None):
        return _openrosa(Response(status=204))

    @app.post("/submission")
    @app.post("/key/<token>/submission")
    def store(token: str | None = None):
        db.session.add(BareSubmission(received_at=datetime.now(UTC), body=request.get_data()))
        db.session.commit()
        return _openrosa(Response(OK, status=201, content_type="text/xml; charset=utf-8"))

    return app


app = create_app() if "BENCH_BARE_DATABASE_URL" in os.environ else None
