"""The Alembic migrations build exactly the schema the models describe, on SQLite and
PostgreSQL alike, and there is one line of them (a single head)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from fieldapp import models  # noqa: F401 - every table in db.metadata
from fieldapp.extensions import db
from fieldapp.migrate import alembic_config


def test_the_migrated_database_matches_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    engine.dispose()
    assert diff == [], "write a migration for the model change (see README, Layout)"


def test_the_migrations_have_one_head(database_url):
    assert len(ScriptDirectory.from_config(alembic_config(database_url)).get_heads()) == 1
