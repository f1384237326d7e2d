"""Fixtures: a migrated database (SQLite, or PostgreSQL when FIELDAPP_TEST_DATABASE_URL
is set), the app built through the factory, a demo-like world of areas and users."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select, text

from fieldapp import create_app
from fieldapp.extensions import db, limiter
from fieldapp.migrate import upgrade

SHARED_FORMS = Path(__file__).resolve().parents[2] / "shared" / "forms"
BUNDLED_FORMS = Path(__file__).resolve().parents[1] / "questionnaires"
PASSWORD = "correct-horse-9"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A fresh database brought to the newest Alembic revision."""
    url = os.environ.get("FIELDAPP_TEST_DATABASE_URL")
    if url:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'fieldapp-test.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The app, built by the factory with a test config override."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
            "SECRET_KEY": "test-only-secret",
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "WORKER_THREAD": False,  # tests run queued exports themselves
        }
    )


@dataclass
class World:
    """Areas and one user per role, like the demo (codes as in fieldapp.demo.loader).

    City 3399 → districts 339901 (东城区), 339902 (西山县) → towns → villages
    339901001001 (和平社区), 339901001002 (光明社区), 339902001001 (柳树村).
    """

    password: str = PASSWORD
    admin: str = "admin"
    researcher: str = "researcher"
    supervisor: str = "supervisor"  # 东城区 339901
    mediator: str = "mediator"  # 和平社区
    mediator2: str = "mediator2"  # 光明社区, same town
    mediator3: str = "mediator3"  # 柳树村, other district


@pytest.fixture(scope="session")
def _base_world(app):
    from fieldapp.areas.services import create_area
    from fieldapp.auth.models import User
    from fieldapp.auth.services import create_user
    from fieldapp.demo.loader import AREAS, USERS

    with app.app_context():
        areas = {}
        for code, name, level, parent in AREAS:
            areas[code] = create_area(code, name, level, areas[parent] if parent else None)
        for username, display, role, code in USERS:
            create_user(username, PASSWORD, role, areas[code], display)
        db.session.commit()
        max_user = db.session.scalar(select(db.func.max(User.id)))
    return max_user


@pytest.fixture(autouse=True)
def _clean(request, app):
    """Each test starts with the base world only (no forms, submissions, tokens, logs)."""
    yield
    if "app" not in request.fixturenames and "world" not in request.fixturenames:
        return
    from fieldapp import models as m

    with app.app_context():
        db.session.rollback()
        for table in (
            m.AuditEvent,
            m.ExportJob,
            m.SubmissionAttachment,
            m.Submission,
            m.FormMedia,
            m.FormVersion,
            m.Form,
            m.ApiToken,
            m.LoginSession,
        ):
            db.session.execute(delete(table))
        db.session.execute(
            delete(m.User).where(
                m.User.username.not_in([u for u in World.__dataclass_fields__ if u != "password"])
            )
        )
        db.session.execute(delete(m.Area).where(m.Area.code.not_like("3399%")))
        db.session.commit()
    limiter.reset()


@pytest.fixture
def world(_base_world) -> World:
    """The demo-like areas and users; every password is ``world.password``."""
    return World()


@pytest.fixture
def client(app):
    """A test client with cookies."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A click runner for the ``fieldapp`` CLI."""
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def publish(app, world):
    """Publish an XLSForm file to an area (default the city); return (form_id, version)."""
    from fieldapp.areas.services import get_area
    from fieldapp.surveys.services import import_xlsform

    def _publish(path: Path, area_code: str = "3399", name: str | None = None):
        with app.app_context():
            result = import_xlsform(
                Path(path).read_bytes(), name or Path(path).name, get_area(area_code)
            )
            db.session.commit()
            return result.form_version.form.form_id, result.form_version.version

    return _publish
