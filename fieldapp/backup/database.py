"""Copying the database out and back: SQLite through its online backup API (a consistent
copy while the app writes, and a restore in one write transaction), PostgreSQL through
``pg_dump`` and ``pg_restore`` (fieldapp/backup/postgres.py); what a database holds."""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from fieldapp.backup import postgres

# What ``restore`` prints and the manifest keeps: (table, Chinese name).
COUNTED = (("users", "用户"), ("submissions", "提交"), ("entities", "家庭"))


class DatabaseError(Exception):
    """The database cannot be copied or restored (a Chinese message saying why)."""


def kind(url: str) -> str:
    """``sqlite`` or ``postgresql`` for a SQLAlchemy URL; ``DatabaseError`` otherwise."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite" and sqlite_path(url) is None:
        raise DatabaseError(_("内存中的 SQLite 数据库无法备份或恢复"))
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseError(_("不支持的数据库：%(kind)s", kind=backend))
    return backend


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database)."""
    name = make_url(url).database
    return Path(name) if name and name != ":memory:" else None


@contextmanager
def _connect(url: str):
    """A connection to ``url``; ``DatabaseError`` (password hidden) when none is made."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    except OperationalError as exc:
        raise DatabaseError(
            _(
                "无法连接数据库 %(url)s：%(why)s",
                url=make_url(url).render_as_string(hide_password=True),
                why=str(exc.orig).strip().splitlines()[0] if exc.orig else exc,
            )
        ) from exc
    finally:
        engine.dispose()


def facts(url: str) -> tuple[str | None, dict[str, int]]:
    """The Alembic revision of the database at ``url`` (None when it has none) and the
    row counts of ``COUNTED`` (tables it lacks are left out)."""
    with _connect(url) as conn:
        names = set(inspect(conn).get_table_names())
        revision = (
            conn.scalar(text("SELECT version_num FROM alembic_version"))
            if "alembic_version" in names
            else None
        )
        counts = {
            name: conn.scalar(select(func.count()).select_from(table(name)))
            for name, _label in COUNTED
            if name in names
        }
    return revision, counts


def rows_present(url: str) -> dict[str, int]:
    """The tables of the database at ``url`` that hold rows, with their counts
    (``alembic_version`` aside): empty for a new or freshly migrated database."""
    if kind(url) == "sqlite" and not sqlite_path(url).exists():
        return {}
    with _connect(url) as conn:
        names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
        counts = {n: conn.scalar(select(func.count()).select_from(table(n))) for n in names}
    return {n: c for n, c in counts.items() if c}


def dump(url: str, target: Path) -> None:
    """Copy the database at ``url`` into the file ``target``."""
    if kind(url) == "sqlite":
        _sqlite_copy(sqlite_path(url), target, restoring=False)
    else:
        _postgres(postgres.dump, url, target)


def load(url: str, source: Path) -> None:
    """Replace the database at ``url`` with the copy ``source`` (all or nothing)."""
    if kind(url) == "sqlite":
        target = sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():  # a new database file: readable by the app's account only
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        _sqlite_copy(source, target, restoring=True)
    else:
        with _connect(url) as conn:
            tables = inspect(conn).get_table_names()
        _postgres(postgres.restore, url, source, tables)


def _postgres(step, *args) -> None:
    try:
        step(*args)
    except postgres.ToolError as exc:
        raise DatabaseError(str(exc)) from exc


def _sqlite_copy(source: Path, target: Path, restoring: bool) -> None:
    """SQLite's online backup from ``source`` into ``target``: one read transaction on
    the source (a consistent copy while others write) and one write transaction on the
    target (others see all of the old or all of the new). Renaming a file over the
    database would be wrong in WAL mode: its old ``-wal`` file would be replayed over
    the new one. The archive's copy is a single file (journal_mode DELETE); a restored
    copy is checked first (``PRAGMA quick_check``) and the database stays in WAL mode."""
    if not source.exists():
        raise DatabaseError(_("数据库文件 %(path)s 不存在", path=source))
    if not restoring:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        if restoring:
            check = src.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise DatabaseError(_("备份中的数据库已损坏：%(why)s", why=check))
            dst.execute("PRAGMA busy_timeout=10000")
        src.backup(dst)
        dst.execute(f"PRAGMA journal_mode={'WAL' if restoring else 'DELETE'}")
    except sqlite3.Error as exc:
        raise DatabaseError(_("SQLite 复制失败：%(why)s", why=exc)) from exc
    finally:
        dst.close()
        src.close()
