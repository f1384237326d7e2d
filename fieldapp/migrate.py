"""Run Alembic migrations from code (``fieldapp init``, tests). Never from create_app."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from fieldapp.config import ROOT


def alembic_config(url: str) -> Config:
    """Alembic config for ``migrations/`` pointed at database ``url``."""
    cfg = Config(str(ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(url), revision)
