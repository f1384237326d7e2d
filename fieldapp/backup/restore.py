"""Restore a backup archive into the configured database and instance folder: every
checksum first, then the database (all or nothing), the instance files, the migrations
an older archive needs, and an audit event (``backup_restore``, via cli)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import Flask
from flask_babel import gettext as _

from fieldapp.backup import archive, database
from fieldapp.backup.services import FRESH, STAGING, BackupError, Restored, RestoreRefused
from fieldapp.extensions import db
from fieldapp.migrate import alembic_config, upgrade


def restore_backup(app: Flask, path: Path, force: bool = False) -> Restored:
    """Restore the archive at ``path`` into ``app``'s database and instance folder.

    Refused (``BackupError``, nothing changed) when the archive is corrupt, truncated or
    not ours, of the other database kind, or from a newer Alembic revision than this code
    knows; ``RestoreRefused`` when the target holds rows, or instance keys that differ
    from the archive's, unless ``force``. An older revision is migrated after restoring.
    A running server keeps caches of the old data: it must be restarted."""
    url = app.config["DATABASE_URL"]
    instance = Path(app.config["INSTANCE_PATH"])
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        kind = database.kind(url)
        with tempfile.TemporaryDirectory(prefix=STAGING + "restore-", dir=instance) as tmp:
            stage = Path(tmp)
            manifest = archive.read(path, stage)
            if manifest["database"] != kind:
                raise BackupError(
                    _(
                        "备份来自 %(theirs)s 数据库，而本服务器配置的是 %(ours)s：未做任何改动",
                        theirs=manifest["database"],
                        ours=kind,
                    )
                )
            head = _known(url, manifest["alembic_revision"])
            _refuse_unless_empty(url, instance, stage, manifest, force)
            with app.app_context():
                db.engine.dispose()  # no pooled connection of ours holds the old data
            entries = manifest["files"]
            dump = next(e["path"] for e in entries if e["path"].startswith("database/"))
            database.load(url, stage / dump)
            ours = _database_files(url)
            for entry in entries:
                if entry["path"].startswith("instance/"):
                    _put(stage / entry["path"], instance, entry, ours)
    except (archive.ArchiveError, database.DatabaseError) as exc:
        raise BackupError(str(exc)) from exc
    upgraded = manifest["alembic_revision"] != head
    if upgraded:
        upgrade(url)
    from fieldapp.audit.services import record
    from fieldapp.cases.lists import forget_hashes

    forget_hashes()  # this process's cache; other processes must restart
    with app.app_context():
        db.engine.dispose()
        record(
            None,
            "backup_restore",
            f"backup:{path.name}",
            via="cli",
            path=str(path.resolve()),
            created_at=manifest["created_at"],
            revision=manifest["alembic_revision"],
            upgraded_to=head if upgraded else None,
            forced=force,
        )
        db.session.commit()
        db.engine.dispose()
    return Restored(manifest, head, upgraded, database.facts(url)[1])


def _known(url: str, revision: str) -> str:
    """The newest revision this code knows, once ``revision`` is one of them."""
    script = ScriptDirectory.from_config(alembic_config(url))
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            _(
                "备份来自更新的 fieldapp（数据库版本 %(rev)s，本程序只认识到 %(head)s）："
                "请先升级 fieldapp 再恢复；未做任何改动",
                rev=revision,
                head=script.get_current_head(),
            )
        )
    return script.get_current_head()


def _refuse_unless_empty(url, instance: Path, stage: Path, manifest: dict, force: bool) -> None:
    """``RestoreRefused`` naming what is there, unless ``force`` or nothing is."""
    rows = database.rows_present(url)
    differ = [
        e["path"].removeprefix("instance/")
        for e in manifest["files"]
        if e["path"].startswith("instance/")
        and e["path"] not in FRESH
        and (instance / e["path"].removeprefix("instance/")).is_file()
        and archive.sha256_of(instance / e["path"].removeprefix("instance/")) != e["sha256"]
    ]
    if force or not (rows or differ):
        return
    said = []
    if rows:
        main = "，".join(f"{label} {rows.get(name, 0)}" for name, label in database.COUNTED)
        said.append(_("数据库已有数据（%(main)s；%(n)s 张表有数据）", main=main, n=len(rows)))
    if differ:
        said.append(_("实例文件夹中 %(names)s 与备份不同", names="、".join(differ)))
    raise RestoreRefused(
        _(
            "目标不是空的：%(what)s。未做任何改动；确认要用备份覆盖，请加 --force",
            what="；".join(said),
        )
    )


def _database_files(url: str) -> set[Path]:
    """The configured SQLite database and its -wal/-shm/-journal files (none for
    PostgreSQL): an instance file of the archive never lands on them."""
    if database.kind(url) != "sqlite":
        return set()
    main = database.sqlite_path(url).resolve()
    return {main.with_name(main.name + s) for s in ("", "-wal", "-shm", "-journal")}


def _put(source: Path, instance: Path, entry: dict, database_files: set[Path]) -> None:
    """Put one restored instance file in place (renamed over the old one: never half
    written), with the owner's bits of the mode it had (never readable by others: the
    instance files are keys); never over ``database_files``."""
    target = instance / entry["path"].removeprefix("instance/")
    if target.resolve() in database_files:
        return
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(source, entry.get("mode", 0o600) & 0o700)
    os.replace(source, target)
