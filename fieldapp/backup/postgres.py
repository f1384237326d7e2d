"""PostgreSQL's side of a backup: ``pg_dump --format=custom`` out, and back in through
``pg_restore``'s SQL fed to ``psql`` in one transaction that first drops every table of
the target, so that the restored schema is the archive's (a table that only the target
has would otherwise stay, and its foreign keys make ``pg_restore --clean`` fail) and a
failure anywhere leaves the target as it was."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy.engine import URL, make_url

CHUNK = 1 << 20


class ToolError(Exception):
    """A PostgreSQL client program is missing or failed (a Chinese message)."""


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for a SQLAlchemy URL, and the password as PGPASSWORD
    (never on the command line, where ``ps`` shows it)."""
    parsed: URL = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    plain = URL.create(  # URL.set(password=None) would keep the password
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise ToolError(
            _(
                "找不到 %(tool)s：请安装 PostgreSQL 客户端（Debian/Ubuntu：apt install "
                "postgresql-client，版本不低于数据库服务器）",
                tool=name,
            )
        )
    return exe


def _failed(tool: str, err: str) -> ToolError:
    """The error for ``tool``'s standard error ``err``: what to install when it is
    older than the server or the dump."""
    err = err.strip()
    if "version mismatch" in err or "unsupported version" in err:
        server = re.search(r"server version: (\d+)", err)
        return ToolError(
            _(
                "%(tool)s 的版本低于数据库服务器或备份（%(err)s）：请安装 PostgreSQL %(v)s "
                "或更新的客户端（如 apt install postgresql-client-%(v)s）",
                tool=tool,
                err=err.splitlines()[-1],
                v=server.group(1) if server else "",
            )
        )
    return ToolError(_("%(tool)s 失败：%(err)s", tool=tool, err=err[-2000:]))


def dump(url: str, target: Path) -> None:
    """``pg_dump --format=custom`` of the database at ``url`` into ``target`` (one
    snapshot: consistent while the app writes)."""
    dsn, env = libpq(url)
    done = subprocess.run(
        [_tool("pg_dump"), f"--dbname={dsn}", "--format=custom", f"--file={target}"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise _failed("pg_dump", done.stderr)


def restore(url: str, source: Path, tables: list[str]) -> None:
    """Replace the database at ``url`` (whose tables are ``tables``) with the dump
    ``source``: ``BEGIN``, drop ``tables``, ``pg_restore``'s SQL (``--clean --if-exists
    --no-owner --no-privileges``), and ``COMMIT`` only once ``pg_restore`` has ended well;
    psql stops at the first error (ON_ERROR_STOP) and an unfinished transaction is
    rolled back."""
    dsn, env = libpq(url)
    env = {**os.environ, **env}
    producer_cmd = [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner"]
    producer_cmd += ["--no-privileges", "--file=-", str(source)]
    consumer_cmd = [_tool("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"]
    consumer_cmd += [f"--dbname={dsn}", "--file=-"]
    with tempfile.TemporaryFile() as producer_err, tempfile.TemporaryFile() as consumer_err:
        producer = subprocess.Popen(producer_cmd, stdout=subprocess.PIPE, stderr=producer_err)
        consumer = subprocess.Popen(
            consumer_cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=consumer_err,
            env=env,
        )
        _pump(producer, consumer, tables)
        consumer.stdin.close()
        consumer.wait()
        if consumer.returncode:  # psql stopped at an error (pg_restore was then stopped)
            consumer_err.seek(0)
            raise _failed("psql", consumer_err.read().decode(errors="replace"))
        if producer.returncode:  # no COMMIT was sent: psql's transaction was dropped
            producer_err.seek(0)
            raise _failed("pg_restore", producer_err.read().decode(errors="replace"))


def _pump(producer: subprocess.Popen, consumer: subprocess.Popen, tables: list[str]) -> None:
    """Feed psql the transaction; ``COMMIT`` only when pg_restore ended well."""
    drop = "".join(
        f'DROP TABLE IF EXISTS public."{t.replace(chr(34), chr(34) * 2)}" CASCADE;\n'
        for t in tables
    )
    try:
        consumer.stdin.write(f"BEGIN;\n{drop}".encode())
        while chunk := producer.stdout.read(CHUNK):
            consumer.stdin.write(chunk)
    except BrokenPipeError:  # psql stopped at an error and says which
        producer.kill()
    producer.stdout.close()
    if producer.wait() == 0:
        try:
            consumer.stdin.write(b"\nCOMMIT;\n")
        except BrokenPipeError:
            pass
