"""Make a backup archive of this server and restore one: the functions behind
``fieldapp backup`` and ``fieldapp restore`` (fieldapp/backup/cli.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from flask import Flask
from flask_babel import gettext as _

from fieldapp.backup import archive, database
from fieldapp.extensions import db

# Working files with their own expiry that the database can rebuild: export files (a
# finished export is asked for again), area files between preview and confirmation.
SKIPPED = ("exports", "area-imports")
STAGING = ".fieldapp-"  # our own temporary folders (backup and restore staging)
# Keys that may come from the environment instead of the instance folder.
ENV_KEYS = ("FIELDAPP_SECRET_KEY", "FIELDAPP_PSEUDONYM_KEY", "FIELDAPP_VAPID_PRIVATE_KEY")
# Made by create_app on first start: a new server always has one, so a different one
# is no sign of data (replacing it only ends sessions).
FRESH = {"instance/secret_key"}


class BackupError(Exception):
    """A backup or restore that cannot go ahead; nothing was changed (Chinese message)."""


class RestoreRefused(BackupError):
    """The target already holds data and ``--force`` was not given."""


@dataclass
class Backup:
    """A written archive: where, its manifest, and its size in bytes."""

    path: Path
    manifest: dict
    size: int
    env_keys: list[str] = field(default_factory=list)  # keys the archive cannot hold


@dataclass
class Restored:
    """A finished restore: the archive's manifest, the revision reached, row counts."""

    manifest: dict
    revision: str
    upgraded: bool
    counts: dict[str, int]


def default_name(now: datetime | None = None) -> str:
    """``fieldapp-backup-YYYYmmdd-HHMMSS.tar.gz`` (UTC)."""
    return f"fieldapp-backup-{(now or datetime.now(UTC)):%Y%m%d-%H%M%S}.tar.gz"


def instance_files(app: Flask, skip: set[Path]) -> list[Path]:
    """The instance folder's files that belong in a backup (relative paths): keys and
    everything else, but not the SQLite database itself (copied through SQLite), the
    folders of ``SKIPPED``, our staging folders, symbolic links, or ``skip``."""
    root = Path(app.config["INSTANCE_PATH"])
    url = app.config["DATABASE_URL"]
    if database.kind(url) == "sqlite":
        main = database.sqlite_path(url).resolve()
        skip = skip | {main.with_name(main.name + s) for s in ("", "-wal", "-shm", "-journal")}
    found = []
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        rel = path.relative_to(root)
        if rel.parts[0] in SKIPPED or any(p.startswith(STAGING) for p in rel.parts):
            continue
        if path.is_symlink() or not path.is_file() or path.resolve() in skip:
            continue
        if path.name.startswith(("fieldapp-backup-", ".fieldapp-backup-")):
            continue  # earlier backups kept here (not advised) would nest
        found.append(rel)
    return found


def _refuse_output(url: str, instance: Path, out: Path) -> None:
    """``BackupError`` when ``out`` is the SQLite database or one of its -wal/-shm/-journal
    files, or lies in the instance folder: the archive is renamed over what is there
    (``-o instance/fieldapp.sqlite3`` replaced the live database, ``-o
    instance/pseudonym_key`` the key), and an archive there goes into the next one."""
    main = database.sqlite_path(url) if database.kind(url) == "sqlite" else None
    main = main.resolve() if main else None
    ours = {main.with_name(main.name + s) for s in ("", "-wal", "-shm", "-journal")} if main else ()
    if out in ours or out.is_relative_to(instance):
        raise BackupError(
            _(
                "备份不能写到 %(out)s：那是数据库或实例文件夹 %(folder)s（会覆盖数据或密钥）；"
                "未做任何改动，请换一个位置",
                out=out,
                folder=instance,
            )
        )


def make_backup(app: Flask, out: Path) -> Backup:
    """Write one archive of the database, the instance folder's keys and files to
    ``out`` (mode 0600), and audit it (``backup_create``, via cli). Raises
    ``BackupError`` (nothing written) when the database cannot be copied, or when
    ``out`` is the database or lies in the instance folder."""
    url = app.config["DATABASE_URL"]
    out = out.resolve()
    _refuse_output(url, Path(app.config["INSTANCE_PATH"]).resolve(), out)
    try:
        kind = database.kind(url)
        with tempfile.TemporaryDirectory(prefix=STAGING + "backup-", dir=out.parent) as tmp:
            stage = Path(tmp)
            (stage / "database").mkdir()
            name = "database/fieldapp." + ("sqlite3" if kind == "sqlite" else "pgdump")
            database.dump(url, stage / name)
            copy_url = f"sqlite:///{stage / name}" if kind == "sqlite" else url
            revision, counts = database.facts(copy_url)
            if revision is None:
                raise BackupError(_("数据库尚未建立（请先运行 fieldapp init）"))
            names = [name]
            for rel in instance_files(app, {out}):
                target = stage / "instance" / rel
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                shutil.copy2(Path(app.config["INSTANCE_PATH"]) / rel, target)
                names.append(f"instance/{rel.as_posix()}")
            manifest = {
                "format": archive.FORMAT,
                "format_version": archive.FORMAT_VERSION,
                "fieldapp_version": version("fieldapp"),
                "alembic_revision": revision,
                "database": kind,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "counts": counts,
                "files": archive.describe(stage, names),
            }
            archive.write(stage, manifest, out)
    except database.DatabaseError as exc:
        raise BackupError(str(exc)) from exc
    size = out.stat().st_size
    _audit(app, "backup_create", out, size=size, revision=revision, files=len(names))
    return Backup(out, manifest, size, [k for k in ENV_KEYS if os.environ.get(k)])


def _audit(app: Flask, action: str, path: Path, **detail) -> None:
    from fieldapp.audit.services import record

    with app.app_context():
        record(None, action, f"backup:{path.name}", via="cli", path=str(path), **detail)
        db.session.commit()
        db.engine.dispose()
