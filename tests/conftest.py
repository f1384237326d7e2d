"""Fixtures: a migrated database (SQLite, or PostgreSQL when FIELDAPP_TEST_DATABASE_URL
is set), the app built through the factory, a demo-like world of areas and users."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select, text, update

import fieldapp.models  # noqa: F401  (every table in db.metadata, for the cleanup)
from fieldapp import create_app
from fieldapp.audit.services import purge_audit_log_for_tests
from fieldapp.cases.lists import forget_hashes
from fieldapp.extensions import db, limiter
from fieldapp.migrate import upgrade
from tests.helpers import PASSWORD, api_token, form_schema, post_submission, submission_xml


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


WORLD_USERS = [name for name in World.__dataclass_fields__ if name != "password"]
# The rows of the base world, by table; the cleanup deletes every other row of every table.
WORLD_ROWS = {
    "users": lambda table: table.c.username.in_(WORLD_USERS),
    "areas": lambda table: table.c.code.like("3399%"),
}


@pytest.fixture(autouse=True)
def _clean(request, app):
    """Each test starts with the base world only: every table in db.metadata is emptied."""
    yield
    if "app" not in request.fixturenames and "world" not in request.fixturenames:
        return
    with app.app_context():
        db.session.rollback()
        purge_audit_log_for_tests(db.session.connection())  # past the append-only triggers
        for table in reversed(db.metadata.sorted_tables):  # rows that refer to others first
            stmt = delete(table)
            if table.name in WORLD_ROWS:
                stmt = stmt.where(~WORLD_ROWS[table.name](table))
            db.session.execute(stmt)
        db.session.commit()
    limiter.reset()
    forget_hashes()  # entity version ids start again in the emptied tables


# What a test may change on a world user (the cleanup keeps their rows, not their values).
WORLD_USER_FIELDS = (
    "active",
    "must_change_password",
    "language",
    "role",
    "area_id",
    "display_name",
    "phone",
    "password_hash",
    "totp_secret",
    "totp_last_step",
)


@pytest.fixture
def world_users_restored(app, _base_world):
    """The world's users as they were before the test (for tests that edit them)."""
    from fieldapp.auth.models import User

    with app.app_context():
        users = db.session.scalars(select(User).where(User.username.in_(WORLD_USERS)))
        saved = {u.username: {f: getattr(u, f) for f in WORLD_USER_FIELDS} for u in users}
    yield
    with app.app_context():
        for username, values in saved.items():
            db.session.execute(update(User).where(User.username == username).values(**values))
        db.session.commit()


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


@pytest.fixture
def submit(app, client, publish):
    """Post answer sets to a form as phones do, each accepted; return their instance IDs."""
    tokens: dict[str, str] = {}  # one API token per sender

    def _submit(
        form: Path | str,  # an XLSForm file (published first, to the city) or a form id
        answers: Sequence[dict],  # one answer set per submission
        by: str | Sequence[str] = World.mediator,  # one sender for all, or one per answer set
        version: str | None = None,  # of a form id: the current version unless named
    ) -> list[str]:
        if isinstance(form, Path):
            form, version = publish(form)
        schema = form_schema(app, form, version)
        senders = [by] * len(answers) if isinstance(by, str) else by
        ids = []
        for who, values in zip(senders, answers, strict=True):
            if who not in tokens:
                tokens[who] = api_token(app, who)
            xml, iid = submission_xml(form, schema["version"], values, root=schema["root"])
            resp = post_submission(client, xml, token=tokens[who])
            assert resp.status_code == 201, resp.get_data(as_text=True)[:500]
            ids.append(iid)
        return ids

    return _submit


@pytest.fixture
def case_forms(publish, tmp_path):
    """The small household forms of ``tests/helpers_cases.py`` (a registration that
    creates ``households``, a visit that updates them), published to the city."""
    from tests.helpers_cases import REGISTER, VISIT

    for name, data in (("hh_register.xlsx", REGISTER), ("hh_visit.xlsx", VISIT)):
        (tmp_path / name).write_bytes(data)
        publish(tmp_path / name)


@pytest.fixture
def send(app, client, world):
    """Send submission XML as ``who`` (a Bearer token each), expecting ``expect``;
    returns the response."""
    tokens: dict[str, str] = {}

    def _send(xml: bytes, who: str = World.mediator, expect: int = 201):
        tokens.setdefault(who, api_token(app, who))
        resp = post_submission(client, xml, token=tokens[who])
        assert resp.status_code == expect, resp.get_data(as_text=True)
        return resp

    return _send
