"""The instance folder and the SQLite database name victims: readable by their owner only
(red team of 2026-12-02: ``fieldapp init`` under the usual umask made the folder 0755
and the database 0644, readable by every account on the machine)."""

from __future__ import annotations

import os
import stat

from click.testing import CliRunner

from fieldapp.cli import main


def test_init_makes_the_instance_folder_and_database_private(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("FIELDAPP_DATABASE_URL", raising=False)
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(main, ["init"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert stat.S_IMODE((instance / "fieldapp.sqlite3").stat().st_mode) == 0o600
