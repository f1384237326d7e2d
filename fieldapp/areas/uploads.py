"""Area files kept between the preview and the confirmation of a browser import, so the
person need not choose the file again: one folder per upload in
``instance/area-imports/``, named by the uploader's id and a random token, removed when
applied or after a day."""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

from flask import current_app

KEEP_SECONDS = 24 * 3600


def _root() -> Path:
    return Path(current_app.instance_path) / "area-imports"


def _folder(user_id: int, token: str) -> Path | None:
    if not token.isalnum() or len(token) > 64:
        return None
    return _root() / f"{user_id}-{token}"


def keep(user_id: int, data: bytes, filename: str) -> str:
    """Keep an uploaded file for ``user_id``; return its token. Old uploads are purged."""
    purge()
    token = secrets.token_hex(16)
    folder = _folder(user_id, token)
    folder.mkdir(parents=True, mode=0o700)
    (folder / "upload").write_bytes(data)
    (folder / "name").write_text(filename or "areas", encoding="utf-8")
    return token


def load(user_id: int, token: str) -> tuple[bytes, str] | None:
    """The file ``user_id`` kept under ``token`` and its name, or ``None`` (gone, or not
    theirs)."""
    folder = _folder(user_id, token or "")
    if folder is None or not (folder / "upload").is_file():
        return None
    return (folder / "upload").read_bytes(), (folder / "name").read_text(encoding="utf-8")


def discard(user_id: int, token: str) -> None:
    """Remove a kept upload (after it was applied)."""
    folder = _folder(user_id, token or "")
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def purge() -> None:
    """Remove uploads older than ``KEEP_SECONDS``."""
    root = _root()
    if not root.is_dir():
        return
    cutoff = time.time() - KEEP_SECONDS
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
