"""The server's VAPID key pair (RFC 8292), which push services check every push
against: config ``VAPID_PRIVATE_KEY`` (base64url raw or DER, or PEM text), or else the
file ``vapid_private.pem`` in the instance folder, generated on first use (mode 0600;
made by one process atomically, read by the others). Never in the code. All crypto is
``py_vapid``'s. Phones subscribe with the public key (``public_key``); hosts that share
a database must share the key (``FIELDAPP_VAPID_PRIVATE_KEY``), or a host's pushes are
refused for the subscriptions made through another."""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask import current_app
from py_vapid import Vapid

KEY_FILE = "vapid_private.pem"
_cache: dict[str, Vapid] = {}
_lock = threading.Lock()


def _load() -> Vapid:
    given = str(current_app.config.get("VAPID_PRIVATE_KEY") or "").strip()
    if given:
        if given.startswith("-----BEGIN"):
            return Vapid.from_pem(given.encode())
        return Vapid.from_string(given)
    path = Path(current_app.instance_path) / KEY_FILE
    if not path.exists():
        _generate(path)
    return Vapid.from_file(str(path))


def _generate(path: Path) -> None:
    """Write a new private key to ``path`` (0600) unless another process got there
    first: written to a private temporary file, then linked into place (fails if it
    exists), so nobody reads a half-written key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Vapid()
    key.generate_keys()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_pem())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def vapid_key() -> Vapid:
    """The server's VAPID key (loaded once per process and source)."""
    source = str(current_app.config.get("VAPID_PRIVATE_KEY") or "") or current_app.instance_path
    with _lock:
        if source not in _cache:
            _cache[source] = _load()
        return _cache[source]


def public_key() -> str:
    """The public key as phones pass it to ``pushManager.subscribe``
    (``applicationServerKey``): the uncompressed P-256 point, base64url, no padding."""
    raw = vapid_key().public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(endpoint_origin: str, expires: int) -> dict:
    """The VAPID claims of one push: ``aud`` the push service's origin, ``exp`` (Unix
    seconds, at most 24 h ahead), ``sub`` config ``VAPID_SUBJECT``."""
    return {"aud": endpoint_origin, "exp": expires, "sub": current_app.config["VAPID_SUBJECT"]}
