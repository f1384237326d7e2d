"""The ``fieldapp`` command. Each command calls the same service functions as the views."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from fieldapp import create_app
from fieldapp.areas import cli as areas_cli
from fieldapp.backup import cli as backup_cli
from fieldapp.extensions import db
from fieldapp.figures import cli as figures_cli
from fieldapp.people import cli as people_cli
from fieldapp.reminders import cli as reminders_cli
from fieldapp.reports import cli as reports_cli
from fieldapp.surveys import cli as surveys_cli


def _app():
    app = create_app()
    return app


@click.group()
def main() -> None:
    """fieldapp: field surveys and case follow-up (平安家庭)."""


@main.command()
def init() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from fieldapp.migrate import upgrade

    app = _app()
    Path(app.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)
    upgrade(app.config["DATABASE_URL"])
    _owner_only(app.config["DATABASE_URL"])
    click.echo(f"数据库已就绪：{_safe_url(app.config['DATABASE_URL'])}")


def _owner_only(url: str) -> None:
    """Make a SQLite database (and its -wal/-shm) readable by its owner only (0600): it
    names victims, and SQLite creates it by the umask (often 0644, readable by every
    account on the machine)."""
    from fieldapp.backup.database import kind, sqlite_path

    path = sqlite_path(url) if kind(url) == "sqlite" else None
    for name in (path.name, path.name + "-wal", path.name + "-shm") if path else ():
        if (path.with_name(name)).exists():
            os.chmod(path.with_name(name), 0o600)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command()
def demo() -> None:
    """Load the demo areas, users and bundled questionnaires; print the logins."""
    from fieldapp.demo.loader import load_demo

    app = _app()
    with app.app_context():
        rows = load_demo(Path(app.instance_path))
        db.session.commit()
    click.echo("演示账号 (demo logins):")
    for username, password, role, area in rows:
        click.echo(f"  {username:<12} {password:<16} {role:<11} {area}")


def gunicorn_args(bind: str, workers: int, app: str = "fieldapp.wsgi:app") -> list[str]:
    """gunicorn's options for ``fieldapp serve`` (and for a bench's baseline app on the
    same stack, ``app``), without the program name."""
    return [
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        # gunicorn trusts X-Forwarded-Proto from 127.0.0.1 by default; only
        # FIELDAPP_PROXY_FIX may decide that a request came over HTTPS (passwords).
        "--forwarded-allow-ips=",
        app,
    ]


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(bind: str, workers: int) -> None:
    """Serve the app with gunicorn."""
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    click.echo(f"fieldapp 正在运行：http://{bind}/")
    os.execvp(gunicorn, [gunicorn, *gunicorn_args(bind, workers)])


@main.group()
def tokens() -> None:
    """Manage API tokens and ODK Collect app-user tokens."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="", help="what the token is for (with --collect: whose phone)")
@click.option(
    "--collect",
    is_flag=True,
    help="an ODK Collect app-user token: works only in the URL <server>/key/<token>",
)
@click.option(
    "--server",
    default=None,
    help="with --collect: the server's address as phones reach it (https://…); prints the "
    "Collect URL and its settings QR code",
)
def tokens_create(username, name, collect, server) -> None:
    """Create a token for USERNAME and print it once (a Bearer token; --collect: an
    ODK Collect app-user token)."""
    from fieldapp.auth.services import UserError, create_token, get_user
    from fieldapp.phones import services as phones
    from fieldapp.scope import OPERATOR

    app = _app()
    with app.app_context():
        try:
            user = get_user(username)
            if collect:
                secret, token = phones.create_collect_token(OPERATOR, user, name or "ODK Collect")
            else:
                secret = create_token(user, name)
        except (UserError, phones.PhoneError) as exc:
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(secret)
        if collect and server:
            link = phones.collect_link(user, token, secret, server)
            click.echo(link.server_url)
            _print_qr(link.payload)


def _print_qr(text: str) -> None:
    import segno

    segno.make(text, error="m").terminal(compact=True)


@tokens.command("list")
@click.argument("username")
def tokens_list(username) -> None:
    """List USERNAME's ODK Collect tokens that still work (id, name, created, last used)."""
    from fieldapp.auth.services import UserError, get_user
    from fieldapp.phones import services as phones

    app = _app()
    with app.app_context():
        try:
            found = phones.collect_tokens(get_user(username))
        except UserError as exc:
            raise click.ClickException(str(exc)) from exc
        for t in found:
            used = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "-"
            click.echo(f"{t.id}\t{t.name}\t{t.created_at.isoformat(timespec='minutes')}\t{used}")


@tokens.command("revoke")
@click.argument("username")
@click.argument("token_id", type=int)
def tokens_revoke(username, token_id) -> None:
    """Revoke USERNAME's ODK Collect token TOKEN_ID (see ``tokens list``)."""
    from fieldapp.auth.services import UserError, get_user
    from fieldapp.phones import services as phones
    from fieldapp.scope import OPERATOR

    app = _app()
    with app.app_context():
        try:
            token = phones.revoke_collect_token(OPERATOR, get_user(username), token_id)
        except (UserError, phones.PhoneError) as exc:
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"revoked {token.id} {token.name}")


@main.group()
def jobs() -> None:
    """Background work (export jobs today)."""


@jobs.command("work")
@click.option("--once", is_flag=True, help="run what is queued now, then stop")
def jobs_work(once: bool) -> None:
    """Run the background worker (app processes also run it by themselves)."""
    from fieldapp import worker

    worker.run(_app(), once=once)


main.add_command(surveys_cli.forms)  # fieldapp forms …: fieldapp/surveys/cli.py
main.add_command(people_cli.users)  # fieldapp users …: fieldapp/people/cli.py
main.add_command(areas_cli.areas)  # fieldapp areas import|list: fieldapp/areas/cli.py
main.add_command(figures_cli.figures)  # fieldapp figures YEAR …: fieldapp/figures/cli.py
main.add_command(reports_cli.completeness)  # fieldapp completeness: fieldapp/reports/cli.py
main.add_command(reminders_cli.reminders)  # fieldapp reminders send: fieldapp/reminders/cli.py
main.add_command(backup_cli.backup)  # fieldapp backup|restore: fieldapp/backup/cli.py
main.add_command(backup_cli.restore)


@main.command("export")
@click.argument("form_id", required=False)
@click.option(
    "--dataset",
    default=None,
    help="export an entity list (households) and its history instead of a form",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "csv-long", "xlsx", "sav", "dta", "r", "codebook", "codebook-html"]),
    default="csv",
    show_default=True,
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--values", type=click.Choice(["codes", "labels"]), default="codes", show_default=True
)
@click.option("--lang", default=None, help="label language, e.g. '中文 (zh)'")
@click.option("--no-bom", is_flag=True, help="plain UTF-8 without byte order mark")
@click.option(
    "--identifying",
    is_flag=True,
    help="keep names, phones and other marked identifiers (default: de-identified)",
)
def export_cmd(form_id, dataset, fmt, output, values, lang, no_bom, identifying) -> None:
    """Export all submissions of FORM_ID, or with --dataset NAME every household of an
    entity list and its history (server-side, full scope; audited)."""
    from fieldapp.exports.request import ExportRequest, ExportRequestError
    from fieldapp.exports.services import audit, stream_csv, write
    from fieldapp.scope import OPERATOR, form_in_scope

    if bool(form_id) == bool(dataset):
        raise click.UsageError("请给出问卷编号 FORM_ID，或 --dataset 实体列表名（二者选一）")
    app = _app()
    with app.app_context():
        if dataset:
            _export_dataset(dataset, fmt, output, values, lang, no_bom, identifying)
            return
        form = form_in_scope(OPERATOR, form_id)
        if form is None:
            raise click.ClickException(f"没有问卷 {form_id}")
        try:
            request = ExportRequest.make(OPERATOR, form, fmt, values, lang, not no_bom, identifying)
        except ExportRequestError as exc:
            raise click.ClickException(str(exc)) from exc
        target = _target(output)
        audit(
            request,
            via="cli",
            output=str(target) if target else "stdout" if fmt == "csv" or output else ".",
        )
        db.session.commit()
        if fmt != "csv":
            _export_file(request, output, target, write)
            return
        chunks = stream_csv(request)
        if target is None:
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
        else:
            with _private(target, identifying) as fh:
                for chunk in chunks:
                    fh.write(chunk)
            click.echo(f"已导出到 {target}", err=True)


def _target(output: Path | None) -> Path | None:
    """Where ``-o`` asks to write: ``None`` for standard output (none given, or ``-``)."""
    if output is None or str(output) == "-":
        return None
    if not output.parent.is_dir():
        raise click.ClickException(f"文件夹 {output.parent} 不存在，请先建立或换一个位置")
    return output


def _private(path: Path, identifying: bool):
    """``path`` opened for writing; identifying data readable by its owner only (0600)."""
    mode = 0o600 if identifying else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    if identifying:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode otherwise
    return os.fdopen(fd, "wb")


def _export_dataset(name, fmt, output, values, lang, no_bom, identifying) -> None:
    """``fieldapp export --dataset NAME``: the households export (every format; ``csv``
    is the households table, to standard output unless ``-o``)."""
    from fieldapp.exports import households
    from fieldapp.exports.household_request import HouseholdExportRequest
    from fieldapp.exports.request import ExportRequestError
    from fieldapp.scope import OPERATOR

    try:
        request = HouseholdExportRequest.make(
            OPERATOR, name, None, fmt, values, lang, not no_bom, identifying
        )
    except ExportRequestError as exc:
        raise click.ClickException(str(exc)) from exc
    target = _target(output)
    if fmt == "csv" and output is None:
        output = Path("-")  # like a form's CSV: standard output
    households.audit(
        request, via="cli", output=str(target) if target else "stdout" if output else "."
    )
    db.session.commit()
    _export_file(request, output, target, households.write)


def _export_file(request, output, target, write) -> None:
    """Write a file format (XLSX, SPSS, …) with ``write`` (``exports.services.write`` or
    ``exports.households.write``) to OUTPUT (``-``: standard output), or to its own name
    in this folder."""
    import tempfile

    from fieldapp.exports.formats import ExportError

    with tempfile.TemporaryDirectory(prefix="fieldapp-export-") as tmp:
        try:
            path = write(request, Path(tmp))
        except ExportError as exc:
            raise click.ClickException(str(exc)) from exc
        if output is not None and target is None:  # "-o -"
            with path.open("rb") as src:
                shutil.copyfileobj(src, sys.stdout.buffer)
            return
        target = target or Path(path.name)
        with path.open("rb") as src, _private(target, request.identifying) as dst:
            shutil.copyfileobj(src, dst)
    click.echo(f"已导出到 {target}", err=True)
