"""``fieldapp users``: create, list, deactivate, reactivate, reset passwords and import
users from the server's command line, as ``scope.OPERATOR`` (full reach, audited "via
cli"), through the services the people pages call."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fieldapp.auth.models import ROLES
from fieldapp.extensions import db


def _app():
    from fieldapp import create_app

    return create_app()


def _user(username: str):
    from fieldapp.auth.services import UserError, get_user

    try:
        return get_user(username)
    except UserError as exc:
        raise click.ClickException(f"{exc}（fieldapp users list 列出全部）") from exc


@click.group()
def users() -> None:
    """Manage users: create, list, deactivate, reactivate, unlock, reset-password,
    reset-two-factor, import."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--area", "area_code", required=True, help="home area code")
@click.option("--name", "display_name", default=None)
@click.option("--phone", default=None, help="11-digit mobile number")
@click.password_option()
def users_create(username, role, area_code, display_name, phone, password) -> None:
    """Create a user with a role, home area and the password typed here."""
    from fieldapp.areas.services import AreaError, get_area
    from fieldapp.auth.services import UserError
    from fieldapp.people.services import create_person
    from fieldapp.scope import OPERATOR

    with _app().app_context():
        try:
            create_person(
                OPERATOR,
                username,
                display_name or username,
                role,
                get_area(area_code),
                phone,
                password=password,
            )
        except (UserError, AreaError) as exc:
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
    click.echo(f"已创建用户 {username}（{role}）")


@users.command("list")
@click.option("--role", type=click.Choice(ROLES), default=None)
@click.option("--area", "area_code", default=None, help="only this area and below")
@click.option(
    "--state",
    type=click.Choice(["all", "active", "inactive"]),
    default="all",
    show_default=True,
)
def users_list(role, area_code, state) -> None:
    """List users (tab-separated: username, name, role, area code, area, phone, state)."""
    from fieldapp.areas.services import AreaError, get_area
    from fieldapp.people.services import find_users
    from fieldapp.scope import OPERATOR

    with _app().app_context():
        try:
            area = get_area(area_code) if area_code else None
        except AreaError as exc:
            raise click.ClickException(str(exc)) from exc
        active = {"all": None, "active": True, "inactive": False}[state]
        for u in db.session.scalars(find_users(OPERATOR, role, area, active)):
            flags = "在用" if u.active else "已停用"
            flags += "，待改密码" if u.must_change_password else ""
            cells = [u.username, u.display_name, u.role, u.area.code, u.area.name, u.phone or ""]
            click.echo("\t".join([*cells, flags]))


@users.command("deactivate")
@click.argument("username")
def users_deactivate(username) -> None:
    """Deactivate USERNAME: login refused, logins and tokens ended now, data kept."""
    from fieldapp.people.services import deactivate
    from fieldapp.scope import OPERATOR

    with _app().app_context():
        deactivate(OPERATOR, _user(username))
        db.session.commit()
    click.echo(f"已停用 {username}：不能登录，已登录的设备已退出，令牌已失效；数据保留")


@users.command("reactivate")
@click.argument("username")
def users_reactivate(username) -> None:
    """Let USERNAME log in again (their old tokens stay revoked)."""
    from fieldapp.people.services import reactivate
    from fieldapp.scope import OPERATOR

    with _app().app_context():
        reactivate(OPERATOR, _user(username))
        db.session.commit()
    click.echo(f"已恢复 {username}：可以再次登录")


@users.command("unlock")
@click.argument("username")
def users_unlock(username) -> None:
    """Lift the lock that failed logins put on USERNAME (they may log in at once)."""
    from fieldapp.people.services import unlock_login
    from fieldapp.scope import OPERATOR

    with _app().app_context():
        was_locked = unlock_login(OPERATOR, _user(username))
        db.session.commit()
    click.echo(f"已解除 {username} 的登录锁定" if was_locked else f"{username} 没有被锁定")


@users.command("reset-two-factor")
@click.argument("username")
def users_reset_two_factor(username) -> None:
    """Turn off USERNAME's two-step sign-in (a lost phone; the only admin's too)."""
    from fieldapp.people.services import reset_two_factor
    from fieldapp.scope import OPERATOR

    with _app().app_context():
        reset_two_factor(OPERATOR, _user(username))
        db.session.commit()
    click.echo(f"已重置 {username} 的两步验证：下次用密码登录后重新开启")


@users.command("reset-password")
@click.argument("username")
def users_reset_password(username) -> None:
    """Give USERNAME a one-time password (printed once; changed at their next login)."""
    from fieldapp.people.services import reset_password
    from fieldapp.scope import OPERATOR

    with _app().app_context():
        password = reset_password(OPERATOR, _user(username))
        db.session.commit()
    click.echo(f"{username} 的一次性密码（只显示这一次，登录后须修改）：", err=True)
    click.echo(password)


@users.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def users_import(file: Path) -> None:
    """Import the users of an XLSX FILE (all or none); print each new user's one-time
    password (tab-separated: username, name, password)."""
    from fieldapp.auth.services import hash_password, one_time_password
    from fieldapp.people import importer
    from fieldapp.scope import OPERATOR

    with _app().app_context():
        try:
            rows = importer.check_rows(OPERATOR, importer.read_xlsx(file.read_bytes()))
        except importer.ImportFileError as exc:
            raise click.ClickException(str(exc)) from exc
        bad = [r for r in rows if r.problems]
        for row in bad:
            click.echo(f"第 {row.line} 行（{row.username}）：{'；'.join(row.problems)}", err=True)
        if bad:
            click.echo(f"未导入：{len(bad)} 行有问题，没有创建任何用户", err=True)
            sys.exit(1)
        passwords = [one_time_password() for _ in rows]
        with click.progressbar(passwords, label="生成密码", file=sys.stderr) as bar:
            hashes = [hash_password(p) for p in bar]
        importer.create_all(OPERATOR, rows, hashes, file.name)
        db.session.commit()
    click.echo(f"已创建 {len(rows)} 个用户；一次性密码只显示这一次：", err=True)
    for row, password in zip(rows, passwords, strict=True):
        click.echo(f"{row.username}\t{row.name}\t{password}")
