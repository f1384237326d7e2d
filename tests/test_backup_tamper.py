"""Restore against archives made to hurt (red team of 2026-12-02): a member far larger
than the manifest says is refused before it is written (a gzip bomb of zeros would
fill the database's disk first), a manifest whose files would not fit on the disk is
refused before anything is unpacked, and an instance file comes back readable by its
owner only, whatever mode the manifest claims."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import tarfile
from collections import namedtuple

import pytest

from fieldapp.backup import archive


def _make(path, files: dict[str, bytes], manifest_files: list[dict]) -> None:
    manifest = {"format": archive.FORMAT, "format_version": 1, "files": manifest_files}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), *files.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _entry(path: str, data: bytes, **over) -> dict:
    sha = hashlib.sha256(data).hexdigest()
    return {"path": path, "size": len(data), "sha256": sha, "mode": 0o600, **over}


def test_a_member_larger_than_its_manifest_is_not_written(app, tmp_path):
    big = b"\0" * (8 << 20)
    _make(tmp_path / "a.tar.gz", {"instance/big": big}, [_entry("instance/big", b"tiny")])
    stage = tmp_path / "stage"
    stage.mkdir()
    with app.app_context(), pytest.raises(archive.ArchiveError, match="instance/big"):
        archive.read(tmp_path / "a.tar.gz", stage)
    assert not (stage / "instance" / "big").exists()


def test_files_that_would_not_fit_on_the_disk_are_refused_first(app, tmp_path, monkeypatch):
    data = b"key"
    _make(tmp_path / "a.tar.gz", {"instance/k": data}, [_entry("instance/k", data)])
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(archive.shutil, "disk_usage", lambda _p: usage(1 << 30, 0, 1 << 20))
    stage = tmp_path / "stage"
    stage.mkdir()
    with app.app_context(), pytest.raises(archive.ArchiveError, match="磁盘空间不足"):
        archive.read(tmp_path / "a.tar.gz", stage)
    assert list(stage.iterdir()) == []


def test_a_restored_instance_file_is_never_readable_by_others(tmp_path):
    from fieldapp.backup.restore import _put

    source = tmp_path / "staged"
    source.write_bytes(b"secret")
    instance = tmp_path / "instance"
    instance.mkdir()
    _put(source, instance, {"path": "instance/secret_key", "mode": 0o4777}, set())
    assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o700


def test_a_backup_is_never_written_over_the_database_or_into_the_instance_folder(app, tmp_path):
    """``fieldapp backup -o instance/fieldapp.sqlite3`` renamed the archive over the live
    database (the server then read 'file is not a database')."""
    from pathlib import Path

    from fieldapp.backup.services import BackupError, _refuse_output, make_backup

    instance = Path(app.config["INSTANCE_PATH"]).resolve()
    with pytest.raises(BackupError, match="未做任何改动"):
        make_backup(app, instance / "backup.tar.gz")
    assert not (instance / "backup.tar.gz").exists()
    db = tmp_path / "data" / "fieldapp.sqlite3"
    for out in (db, db.with_name("fieldapp.sqlite3-wal"), instance / "pseudonym_key"):
        with pytest.raises(BackupError):
            _refuse_output(f"sqlite:///{db}", instance, out)
    _refuse_output(f"sqlite:///{db}", instance, tmp_path / "backups" / "b.tar.gz")  # fine
