"""An operator backs up the server and restores it on a new one: every table row by row,
every attachment and instance key byte for byte; a damaged archive or a target that
holds data is refused and nothing changes (issue 14). On PostgreSQL when
FIELDAPP_TEST_DATABASE_URL is set (pg_dump/pg_restore), restoring into a second database
``<name>_restore`` made and dropped here."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from fieldapp import create_app
from fieldapp.areas.services import get_area
from fieldapp.backup.restore import restore_backup
from fieldapp.backup.services import BackupError, make_backup
from fieldapp.cli import main
from fieldapp.dataset.identify import pseudonym_key
from fieldapp.extensions import db
from fieldapp.migrate import upgrade
from fieldapp.surveys.services import import_xlsform
from tests.helpers import api_token, login, post_submission, submission_xml, xlsform
from tests.helpers_cases import registration, visit

PHOTO_FORM = xlsform(
    [["type", "name", "label"], ["text", "head", "户主"], ["image", "photo", "照片"]],
    settings=[["form_id", "version"], ["backup_photo", "1"]],
)
LOGO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PHOTOS = {f"p{i}.jpg": b"\xff\xd8\xff\xe0" + os.urandom(3000 + i) for i in range(3)}


def _app(url: str, instance: Path):
    """An app of our own (not the suite's): its own database and instance folder."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(instance),
            "WORKER_THREAD": False,
        }
    )


@pytest.fixture
def source(app, client, world, case_forms, send, tmp_path):
    """A server with data: the suite's database holding areas, users, a form with media,
    submissions with photos, a household registered and visited, logins and audit events;
    an instance folder of its own with the secret key, the pseudonym key, VAPID keys and
    an export file (left out of backups)."""
    with app.app_context():
        import_xlsform(
            PHOTO_FORM, "backup_photo.xlsx", get_area("3399"), media=[("logo.png", LOGO)]
        )
        db.session.commit()
    token = api_token(app, world.mediator)
    for i, (name, data) in enumerate(PHOTOS.items()):
        xml, _ = submission_xml("backup_photo", "1", {"head": f"李梅{i}", "photo": name})
        assert post_submission(client, xml, files={name: data}, token=token).status_code == 201
    xml, _, hh = registration("王芳")
    send(xml)
    send(visit(hh, 1)[0])
    login(client, world.admin)
    instance = tmp_path / "source"
    server = _app(app.config["DATABASE_URL"], instance)  # writes instance/secret_key
    pseudonym_key(instance)
    (instance / "vapid_private.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nvapid\n")
    (instance / "vapid_public.txt").write_text("BPublicKey")
    (instance / "exports" / "tok").mkdir(parents=True)
    (instance / "exports" / "tok" / "family.csv").write_text("identifying export")
    return server


@pytest.fixture
def target_url(app, tmp_path):
    """An empty database for the restore: a new SQLite file, or on PostgreSQL a second
    database ``<name>_restore`` (dropped afterwards)."""
    url = app.config["DATABASE_URL"]
    if not url.startswith("postgresql"):
        (tmp_path / "target").mkdir()
        yield f"sqlite:///{tmp_path / 'target' / 'fieldapp.sqlite3'}"
        return
    if not all(shutil.which(tool) for tool in ("pg_dump", "pg_restore", "psql")):
        pytest.skip(
            "pg_dump, pg_restore or psql not found: install the PostgreSQL client "
            "(postgresql-client)"
        )
    parsed = make_url(url)
    name = f"{parsed.database}_restore"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield parsed.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def tables(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (``db.metadata.sorted_tables`` and ``alembic_version``),
    in primary key order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {
                t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in db.metadata.sorted_tables
            }
            out["alembic_version"] = [
                tuple(r) for r in conn.execute(text("SELECT * FROM alembic_version"))
            ]
    finally:
        engine.dispose()
    return out


def files(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` by relative path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_backup_restored_on_a_new_server_holds_every_row_and_file(source, target_url, tmp_path):
    before = tables(source.config["DATABASE_URL"])
    assert len(before["submission_attachments"]) == 3 and before["entities"]
    archive = tmp_path / "backup.tar.gz"

    made = make_backup(source, archive)

    assert archive.stat().st_mode & 0o777 == 0o600
    assert made.manifest["alembic_revision"] == before["alembic_version"][0][0]
    listed = {e["path"] for e in made.manifest["files"]}
    assert {"instance/secret_key", "instance/pseudonym_key", "instance/vapid_private.pem"} <= listed
    assert not any(p.startswith("instance/exports") for p in listed)
    last = tables(source.config["DATABASE_URL"])["audit_events"][-1]  # after the copy
    assert (last[3], last[5]["via"], last[5]["revision"]) == (
        "backup_create",
        "cli",
        made.manifest["alembic_revision"],
    )

    instance = tmp_path / "target"
    restored = restore_backup(_app(target_url, instance), archive)

    after = tables(target_url)
    event = after["audit_events"].pop()  # the restore's own event, and nothing else new
    assert (event[3], event[5]["via"]) == ("backup_restore", "cli")
    for name, rows in before.items():
        assert after[name] == rows, f"table {name} differs after the round trip"
    assert restored.counts == {"users": len(before["users"]), "submissions": 5, "entities": 1}
    kept = files(Path(source.config["INSTANCE_PATH"]))
    got = files(instance)
    for name, data in kept.items():
        if not name.startswith(("exports/", "fieldapp.sqlite3")):
            assert got[name] == data, f"{name} differs after the round trip"
    assert "exports/tok/family.csv" not in got
    assert (instance / "pseudonym_key").stat().st_mode & 0o777 == 0o600
    stored = {r[2]: r[-1] for r in after["submission_attachments"]}
    assert {name: stored.get(name) for name in PHOTOS} == PHOTOS


def _digest(folder: Path) -> dict[str, str]:
    return {k: hashlib.sha256(v).hexdigest() for k, v in files(folder).items()}


def _rewrite(archive: Path, change) -> None:
    """Rewrite ``archive`` member by member through ``change(name, data) -> data``."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(archive, "w:gz") as tar:
        for member, data in members:
            data = change(member.name, data)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


@pytest.mark.parametrize("damage", ["truncated", "flipped", "tampered", "newer"])
def test_a_damaged_or_newer_archive_is_refused_and_nothing_changes(
    source, target_url, tmp_path, damage
):
    archive = tmp_path / "backup.tar.gz"
    make_backup(source, archive)
    if damage == "truncated":
        archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    elif damage == "flipped":
        data = bytearray(archive.read_bytes())
        data[len(data) // 2] ^= 0xFF
        archive.write_bytes(bytes(data))
    elif damage == "tampered":  # a key changed, the manifest not
        _rewrite(
            archive, lambda name, data: b"x" + data[1:] if name.endswith("secret_key") else data
        )
    else:  # made by a fieldapp whose migrations this one does not know

        def newer(name, data):
            if name != "manifest.json":
                return data
            return json.dumps({**json.loads(data), "alembic_revision": "9999"}).encode()

        _rewrite(archive, newer)
    instance = tmp_path / "target"
    instance.mkdir(exist_ok=True)
    upgrade(target_url)  # an initialised, empty server
    (instance / "pseudonym_key").write_text("the target's own")
    server = _app(target_url, instance)
    seen, rows = _digest(instance), tables(target_url)

    with pytest.raises(BackupError) as refused:
        restore_backup(server, archive)

    message = str(refused.value)
    assert "未做任何改动" in message
    assert {
        "truncated": "已损坏或不完整",
        "flipped": "已损坏",
        "tampered": "secret_key 校验失败",
        "newer": "备份来自更新的 fieldapp（数据库版本 9999",
    }[damage] in message
    assert _digest(instance) == seen  # nothing changed, no staging folder left
    assert tables(target_url) == rows


def test_restoring_over_data_needs_force(source, target_url, tmp_path, monkeypatch):
    archive = tmp_path / "backup.tar.gz"
    make_backup(source, archive)
    instance = tmp_path / "target"
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("FIELDAPP_DATABASE_URL", target_url)
    runner = CliRunner()
    assert runner.invoke(main, ["restore", str(archive)]).exit_code == 0
    seen = _digest(instance)

    again = runner.invoke(main, ["restore", str(archive)])

    assert again.exit_code == 1
    assert "目标不是空的：数据库已有数据（用户 6，提交 5，家庭 1；" in again.output
    assert "--force" in again.output
    assert _digest(instance) == seen
    rows = tables(target_url)
    assert rows["audit_events"][-1][3] == "backup_restore"  # the first restore's only
    forced = runner.invoke(main, ["restore", str(archive), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "用户 6，提交 5，家庭 1" in forced.output
    assert "请重启 fieldapp 服务" in forced.output
    again = tables(target_url)
    assert again["submissions"] == rows["submissions"]
    # The whole database is the archive's again, with the forced restore's event last.
    assert again["audit_events"][:-1] == rows["audit_events"][:-1]
    assert again["audit_events"][-1][5]["forced"] is True


def test_an_older_archive_is_migrated_after_restoring(target_url, tmp_path, monkeypatch):
    """A backup made at revision 0012, restored on a server that a newer fieldapp has
    just set up (``fieldapp init``: tables the archive does not have): the archive's
    schema comes back, then the migrations."""
    upgrade(target_url, "0012")
    archive = tmp_path / "old.tar.gz"
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(tmp_path / "old"))
    monkeypatch.setenv("FIELDAPP_DATABASE_URL", target_url)
    made = CliRunner().invoke(main, ["backup", "-o", str(archive)])
    assert made.exit_code == 0, made.output
    assert "数据库版本 0012" in made.output and "0600" in made.output
    upgrade(target_url)  # the new server, empty, at this code's revision

    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(tmp_path / "new"))
    # --force: the same database played the old server, whose backup event it holds.
    done = CliRunner().invoke(main, ["restore", str(archive), "--force"])

    assert done.exit_code == 0, done.output
    assert "数据库已升级到版本" in done.output
    restored = tables(target_url)
    assert restored["alembic_version"] != [("0012",)]
    assert [e[3] for e in restored["audit_events"]] == ["backup_restore"]


def test_restore_refuses_an_archive_of_the_other_database_kind(source, target_url, tmp_path):
    archive = tmp_path / "backup.tar.gz"
    other = {"sqlite": "postgresql", "postgresql": "sqlite"}
    kind = make_backup(source, archive).manifest["database"]
    _rewrite(
        archive,
        lambda name, data: (
            json.dumps({**json.loads(data), "database": other[kind]}).encode()
            if name == "manifest.json"
            else data
        ),
    )
    with pytest.raises(BackupError, match=f"备份来自 {other[kind]} 数据库"):
        restore_backup(_app(target_url, tmp_path / "target"), archive)


def _fake_tool(folder: Path, name: str, stderr: str) -> None:
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{stderr}' >&2\nexit 1\n")
    tool.chmod(0o755)


def test_a_missing_or_older_pg_dump_says_what_to_install(tmp_path, monkeypatch):
    from fieldapp.backup.database import DatabaseError, dump
    from fieldapp.backup.postgres import ToolError, restore

    url = "postgresql+psycopg://fieldapp:secret@127.0.0.1:5432/nowhere"
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump at all
    with pytest.raises(DatabaseError, match="找不到 pg_dump：请安装 PostgreSQL 客户端"):
        dump(url, tmp_path / "x.pgdump")
    _fake_tool(
        tmp_path,
        "pg_dump",
        "pg_dump: error: aborting because of server version mismatch\n"
        "pg_dump: detail: server version: 17.2; pg_dump version: 15.20",
    )
    with pytest.raises(DatabaseError, match="postgresql-client-17"):
        dump(url, tmp_path / "x.pgdump")
    fed = tmp_path / "fed.sql"  # what psql was given: never a COMMIT
    (tmp_path / "psql").write_text(f"#!/bin/sh\n/bin/cat > {fed}\n")
    (tmp_path / "psql").chmod(0o755)
    _fake_tool(
        tmp_path, "pg_restore", "pg_restore: error: unsupported version (1.16) in file header"
    )
    with pytest.raises(ToolError, match="pg_restore 的版本低于"):
        restore(url, tmp_path / "x.pgdump", ["users", "audit_events"])
    assert fed.read_text() == (
        "BEGIN;\n"
        'DROP TABLE IF EXISTS public."users" CASCADE;\n'
        'DROP TABLE IF EXISTS public."audit_events" CASCADE;\n'
    )


def test_the_database_password_is_not_on_pg_dumps_command_line(tmp_path, monkeypatch):
    from fieldapp.backup.database import dump

    tool = tmp_path / "pg_dump"
    tool.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\necho "$PGPASSWORD" > {tmp_path}/pw\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    dump("postgresql+psycopg://fieldapp:s3cret@db.example:5433/fed", tmp_path / "x.pgdump")
    args = (tmp_path / "args").read_text()
    assert "s3cret" not in args
    assert "--dbname=postgresql://fieldapp@db.example:5433/fed" in args
    assert "--format=custom" in args
    assert (tmp_path / "pw").read_text().strip() == "s3cret"


def test_a_sqlite_backup_is_consistent_while_the_app_writes(tmp_path):
    """Each write puts two audit events in one transaction, hundreds of times while the
    backup runs: the archived database holds whole pairs only."""
    import sqlite3
    import threading

    instance = tmp_path / "busy"
    instance.mkdir()
    url = f"sqlite:///{instance / 'fieldapp.sqlite3'}"
    upgrade(url)
    server = _app(url, instance)
    stop, written = threading.Event(), [0]

    def write_pairs():
        conn = sqlite3.connect(instance / "fieldapp.sqlite3", timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        while not stop.is_set() or written[0] < 200:
            with conn:
                for half in "ab":
                    conn.execute(
                        "INSERT INTO audit_events (at, action, object, detail) "
                        "VALUES (CURRENT_TIMESTAMP, 'probe', ?, '{}')",
                        (f"pair:{written[0]}:{half}",),
                    )
            written[0] += 1
            stop.wait(0.002)  # room for the backup's own audit event
        conn.close()

    writer = threading.Thread(target=write_pairs)
    writer.start()
    try:
        while written[0] < 50:
            stop.wait(0.01)
        make_backup(server, tmp_path / "busy.tar.gz")
        during = written[0]
    finally:
        stop.set()
        writer.join()
    restored = tmp_path / "restored"
    restore_backup(
        _app(f"sqlite:///{restored / 'fieldapp.sqlite3'}", restored), tmp_path / "busy.tar.gz"
    )
    rows = tables(f"sqlite:///{restored / 'fieldapp.sqlite3'}")["audit_events"]
    probes = [r[4] for r in rows if r[3] == "probe"]
    pairs = len(probes) // 2
    assert probes == [f"pair:{n}:{h}" for n in range(pairs) for h in "ab"]
    assert 50 <= pairs <= during < written[0]


def test_a_postgresql_restore_that_fails_half_way_changes_nothing(source, target_url, tmp_path):
    """pg_restore's SQL stops in the middle (a cut dump): the tables dropped at the start
    and everything restored before the cut are rolled back."""
    if not target_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (FIELDAPP_TEST_DATABASE_URL)")
    from fieldapp.backup.postgres import ToolError, restore

    archive = tmp_path / "backup.tar.gz"
    make_backup(source, archive)
    restore_backup(_app(target_url, tmp_path / "target"), archive)
    before = tables(target_url)
    with tarfile.open(archive) as tar:
        dump = tar.extractfile("database/fieldapp.pgdump").read()
    cut = tmp_path / "cut.pgdump"
    cut.write_bytes(dump[: len(dump) * 99 // 100])  # the last data, after the tables
    half = subprocess.run(["pg_restore", "--file=-", str(cut)], capture_output=True, check=False)
    assert half.returncode and b"CREATE TABLE" in half.stdout  # SQL up to the cut, then fails
    engine = create_engine(target_url)
    with engine.connect() as conn:
        names = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        ]
    engine.dispose()

    with pytest.raises(ToolError, match="pg_restore 失败"):
        restore(target_url, cut, names)

    assert tables(target_url) == before


def test_an_instance_file_never_lands_on_the_restored_database(tmp_path):
    """The old server kept its database elsewhere and a stale ``fieldapp.sqlite3`` in its
    instance folder; the new one keeps its database there: the restored one stays."""
    (tmp_path / "db").mkdir()
    old_url = f"sqlite:///{tmp_path / 'db' / 'live.sqlite3'}"
    upgrade(old_url)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "fieldapp.sqlite3").write_bytes(b"stale, not a database")
    archive = tmp_path / "b.tar.gz"
    made = make_backup(_app(old_url, tmp_path / "old"), archive)
    assert "instance/fieldapp.sqlite3" in {e["path"] for e in made.manifest["files"]}

    new_url = f"sqlite:///{tmp_path / 'new' / 'fieldapp.sqlite3'}"
    restored = restore_backup(_app(new_url, tmp_path / "new"), archive)

    assert tables(new_url)["alembic_version"] == [(restored.revision,)]
