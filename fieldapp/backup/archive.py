"""The backup archive: a gzip-compressed tar whose first member is ``manifest.json``
(format, fieldapp version, Alembic revision, database kind, when, and each file's path,
size, SHA-256 and mode), then the files it lists: ``database/…`` and ``instance/…``.

Reading checks everything before the caller changes anything: a member the manifest
does not list, a listed file missing, a size or checksum that differs, a truncated or
corrupt stream (gzip's CRC) are all refused with ``ArchiveError``."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import time
import zlib
from pathlib import Path, PurePosixPath

from flask_babel import gettext as _

FORMAT = "fieldapp-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 20


class ArchiveError(Exception):
    """The archive cannot be used (a Chinese message saying why)."""


def sha256_of(path: Path) -> str:
    """The SHA-256 of the file at ``path`` (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe(stage: Path, names: list[str]) -> list[dict]:
    """Manifest entries for the staged files ``names`` (posix paths below ``stage``)."""
    out = []
    for name in names:
        path = stage / name
        st = path.stat()
        out.append(
            {
                "path": name,
                "size": st.st_size,
                "sha256": sha256_of(path),
                "mode": st.st_mode & 0o777,
            }
        )
    return out


def write(stage: Path, manifest: dict, target: Path) -> None:
    """Write the archive of ``manifest`` and the staged files it lists to ``target``:
    readable by its owner only (0600; it holds everything), written beside it under a
    temporary name and renamed into place, so a failed run leaves no half archive."""
    tmp = target.with_name(f".{target.name}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar,
        ):
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
            tar.addfile(info, io.BytesIO(data))
            for entry in manifest["files"]:
                info = tar.gettarinfo(stage / entry["path"], arcname=entry["path"])
                info.uid = info.gid = 0
                info.mode = 0o600  # as extracted by tar; restore uses the manifest's mode
                info.uname = info.gname = ""
                with (stage / entry["path"]).open("rb") as fh:
                    tar.addfile(info, fh)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and path.parts[:1] in (("database",), ("instance",))
        and len(path.parts) >= 2
    )


def read(archive: Path, stage: Path) -> dict:
    """Unpack ``archive`` into ``stage`` and return its manifest, once every listed file
    is there with its size and SHA-256. Raises ``ArchiveError`` otherwise."""
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise ArchiveError(_("这不是 fieldapp 备份文件（开头没有 manifest.json）"))
            manifest = _manifest(tar.extractfile(first).read())
            expected = {e["path"]: e for e in manifest["files"]}
            _room_for(stage, sum(e["size"] for e in expected.values()))
            seen: set[str] = set()
            for member in tar:
                if member is first:
                    continue
                entry = expected.get(member.name)
                if entry is None or not member.isfile() or member.name in seen:
                    raise ArchiveError(_("备份中有清单未列出的内容：%(name)s", name=member.name))
                if member.size != entry["size"]:  # before a byte is written (a bomb)
                    raise ArchiveError(_bad(entry))
                _unpack(tar, member, entry, stage)
                seen.add(member.name)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ArchiveError(
            _("备份文件已损坏或不完整（%(why)s），未做任何改动", why=type(exc).__name__)
        ) from exc
    missing = sorted(set(expected) - seen)
    if missing:
        raise ArchiveError(
            _("备份不完整：缺少 %(names)s，未做任何改动", names="、".join(missing[:5]))
        )
    return manifest


def _manifest(data: bytes) -> dict:
    try:
        manifest = json.loads(data)
        assert manifest["format"] == FORMAT
        files = manifest["files"]
        assert all(_safe(e["path"]) for e in files)
        assert all(
            type(e["size"]) is int and e["size"] >= 0 and len(e["sha256"]) == 64 for e in files
        )
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise ArchiveError(_("备份的清单 manifest.json 无法读取，未做任何改动")) from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(_("备份格式版本 %(v)s 不受本程序支持", v=manifest.get("format_version")))
    return manifest


def _unpack(tar: tarfile.TarFile, member: tarfile.TarInfo, entry: dict, stage: Path) -> None:
    target = stage / entry["path"]
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest, size = hashlib.sha256(), 0
    src = tar.extractfile(member)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            dst.write(chunk)
    if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
        raise ArchiveError(_bad(entry))


def _bad(entry: dict) -> str:
    return _(
        "备份中的 %(name)s 校验失败（SHA-256 或大小不符）：文件已损坏，未做任何改动",
        name=entry["path"],
    )


def _room_for(stage: Path, size: int) -> None:
    """``ArchiveError`` when the disk of ``stage`` lacks ``size`` bytes (the unpacked
    files the manifest lists) plus 64 MB: a restore must not fill the disk the running
    database lives on."""
    free = shutil.disk_usage(stage).free
    if size + (64 << 20) > free:
        raise ArchiveError(
            _(
                "磁盘空间不足：解开备份需要 %(need)s MB，只剩 %(free)s MB；未做任何改动",
                need=(size >> 20) + 64,
                free=free >> 20,
            )
        )
