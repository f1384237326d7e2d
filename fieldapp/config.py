"""Configuration: defaults, then ``FIELDAPP_*`` environment variables, then a test override.

Every setting can be given as ``FIELDAPP_<NAME>``; e.g. ``FIELDAPP_DATABASE_URL``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instance_dir() -> Path:
    """Return the instance folder (``FIELDAPP_INSTANCE_PATH`` or ``<repo>/instance``)."""
    return Path(os.environ.get("FIELDAPP_INSTANCE_PATH", ROOT / "instance")).resolve()


def _secret_key(folder: Path) -> str:
    """Read the secret key kept in the instance folder, generating it on first use."""
    path = folder / "secret_key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # it holds the keys
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load_config(test_config: dict | None = None) -> dict:
    """Build the app configuration dict.

    Order: defaults, then ``FIELDAPP_*`` environment variables, then ``test_config``.
    The secret key comes from ``FIELDAPP_SECRET_KEY`` or a file ``instance/secret_key``
    generated once with 48 random bytes; it is never written in the code.
    """
    test_config = test_config or {}
    folder = Path(test_config.get("INSTANCE_PATH") or instance_dir())
    cfg: dict = {
        "INSTANCE_PATH": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'fieldapp.sqlite3'}",
        "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,  # bytes; OpenRosa X-OpenRosa-Accept-Content-Length
        "MAX_XLSFORM_BYTES": 10 * 1024 * 1024,
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "10 per minute",  # failed tries per address: a burst guard
        # Failed logins (fieldapp.auth.throttle, kept in LOGIN_STORE): this many for one
        # username, or from one client address, within LOGIN_LOCK_MINUTES lock it for
        # LOGIN_LOCK_MINUTES.
        "LOGIN_FAILURES_PER_ACCOUNT": 5,
        "LOGIN_FAILURES_PER_ADDRESS": 20,
        "LOGIN_LOCK_MINUTES": 15,
        # Where those failures are counted (fieldapp.auth.login_store): "database", or a
        # Redis URL (redis://127.0.0.1:6379/0) shared by every app host; keys under the prefix.
        "LOGIN_STORE": "database",
        "LOGIN_STORE_PREFIX": "fieldapp:login:",
        "SESSION_HOURS": 12,
        # Roles that must sign in with a second factor (TOTP; fieldapp.auth.two_factor),
        # comma-separated from admin, supervisor, researcher: such a user sets it up right
        # after the password and can use nothing else until then. Empty: nobody must.
        "TOTP_REQUIRED_ROLES": "",
        "BABEL_DEFAULT_LOCALE": "zh",
        "TIMEZONE": "Asia/Shanghai",  # for times shown and exported
        "RELEASE": "",  # appended to the service worker: a new value makes phones update
        # Roles that may export identifying data (names, phones…); others always get
        # de-identified data. See fieldapp/scope.py (may_identify).
        "IDENTIFYING_EXPORT_ROLES": "admin,supervisor",
        # Who corrects sent records, for how many days after they were first sent ("*": no
        # limit); a role not named corrects none. See fieldapp/scope.py (correction_refusal).
        "EDIT_DAYS": "mediator:30,supervisor:*,admin:*",
        # Exports of more submissions than this run as background jobs (progress bar).
        "EXPORT_SYNC_MAX_ROWS": 2000,
        "EXPORT_KEEP_HOURS": 24,
        # How many proxies in front of the app to trust for X-Forwarded-For/-Proto/-Host
        # (werkzeug ProxyFix): 1 behind one TLS-terminating nginx. 0: trust none. It
        # decides HTTPS (Basic auth) and the client address (login limits, audit log).
        "PROXY_FIX": 0,
        "WORKER_THREAD": True,  # each app process runs the background worker (fieldapp.worker)
        # Push reminders (fieldapp/reminders): the VAPID private key (base64url raw or DER,
        # or PEM); empty: generated on first use into instance/vapid_private.pem (0600).
        # Hosts sharing one database must share one key. The subject: a mailto: or https:
        # address push services may contact.
        "VAPID_PRIVATE_KEY": "",
        "VAPID_SUBJECT": "mailto:admin@fieldapp.invalid",
        "REMINDER_DEADLINE_DAYS": 3,  # remind of a report this many days before its deadline
        "PUSH_WORKERS": 8,  # pushes sent at once
        "PUSH_TTL": 12 * 3600,  # seconds a push service keeps a reminder for an offline phone
        "LANGUAGES": ["zh", "en"],
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        # A session cookie re-sent on every response (e.g. the service worker's update
        # check) can revive a session the user just logged out of: set it at login only.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_TIME_LIMIT": None,  # token lives as long as the session
    }
    for key in list(cfg) + ["SECRET_KEY", "SESSION_COOKIE_SECURE"]:
        env = os.environ.get(f"FIELDAPP_{key}")
        if env is not None:
            cfg[key] = (
                int(env)
                if key
                in {
                    "MAX_CONTENT_LENGTH",
                    "MAX_XLSFORM_BYTES",
                    "SESSION_HOURS",
                    "EXPORT_SYNC_MAX_ROWS",
                    "EXPORT_KEEP_HOURS",
                    "PROXY_FIX",
                    "LOGIN_FAILURES_PER_ACCOUNT",
                    "LOGIN_FAILURES_PER_ADDRESS",
                    "LOGIN_LOCK_MINUTES",
                    "REMINDER_DEADLINE_DAYS",
                    "PUSH_WORKERS",
                    "PUSH_TTL",
                }
                else env
            )
    if cfg.get("WORKER_THREAD") in ("0", "false", "no"):
        cfg["WORKER_THREAD"] = False
    if cfg.get("SESSION_COOKIE_SECURE") in ("1", "true", "yes"):
        cfg["SESSION_COOKIE_SECURE"] = True
    elif cfg.get("SESSION_COOKIE_SECURE") in ("0", "false", "no", ""):
        cfg["SESSION_COOKIE_SECURE"] = False  # "0" is a non-empty string: not "on"
    cfg.update(test_config)
    store = str(cfg["LOGIN_STORE"] or "database").strip()
    if store != "database" and not store.startswith(("redis://", "rediss://", "unix://")):
        # Refused at start, not at the first failed login.
        raise ValueError(f"FIELDAPP_LOGIN_STORE: 'database' or a redis:// URL, not {store!r}")
    cfg.setdefault("SECRET_KEY", None)
    if not cfg["SECRET_KEY"]:
        cfg["SECRET_KEY"] = _secret_key(folder)
    cfg["SQLALCHEMY_DATABASE_URI"] = cfg["DATABASE_URL"]
    cfg["RATELIMIT_STORAGE_URI"] = cfg["RATELIMIT_STORAGE_URI"]
    return cfg
