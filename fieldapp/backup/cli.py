"""``fieldapp backup`` and ``fieldapp restore``: the server's operator makes one archive
of everything and puts it back (audited "via cli"; fieldapp/backup/services.py)."""

from __future__ import annotations

from pathlib import Path

import click

from fieldapp.backup.database import COUNTED


def _app():
    from fieldapp import create_app

    return create_app()


@click.command("backup")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the archive to write (default: fieldapp-backup-<UTC time>.tar.gz here)",
)
def backup(output: Path | None) -> None:
    """Write one archive: the database, the instance keys and files, a manifest with
    their SHA-256 (mode 0600: it holds everything)."""
    from fieldapp.backup.services import BackupError, default_name, make_backup

    output = output or Path(default_name())
    if not output.parent.is_dir():
        raise click.ClickException(f"文件夹 {output.parent} 不存在，请先建立或换一个位置")
    try:
        done = make_backup(_app(), output)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    m = done.manifest
    click.echo(
        f"已备份到 {done.path}（{done.size / 1e6:.1f} MB，{len(m['files'])} 个文件，"
        f"{m['database']} 数据库版本 {m['alembic_revision']}）"
    )
    click.echo(_counts(m["counts"]))
    click.echo(
        "备份含全部数据（受害人与未成年人的信息、附件、密钥），文件仅本账号可读（0600）；"
        "请加密保存在服务器以外的地方"
    )
    for key in done.env_keys:
        click.echo(f"注意：{key} 由环境变量给出，不在备份中：请另行妥善保存", err=True)


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="replace a database or instance keys that hold data")
def restore(archive: Path, force: bool) -> None:
    """Restore ARCHIVE (made by 'fieldapp backup') into the configured database and
    instance folder; checks every checksum first; refuses a target with data unless
    --force; migrates an older archive. Restart the server afterwards."""
    from fieldapp.backup.restore import restore_backup
    from fieldapp.backup.services import BackupError

    try:
        done = restore_backup(_app(), archive, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    m = done.manifest
    click.echo(
        f"已恢复 {archive}（备份于 {m['created_at']}，fieldapp {m['fieldapp_version']}，"
        f"{m['database']} 数据库版本 {m['alembic_revision']}）"
    )
    if done.upgraded:
        click.echo(f"数据库已升级到版本 {done.revision}")
    click.echo(_counts(done.counts))
    click.echo(
        "请重启 fieldapp 服务（fieldapp serve 和 fieldapp jobs work）：运行中的进程"
        "仍缓存着恢复前的数据；已登录的用户需要重新登录"
    )


def _counts(counts: dict[str, int]) -> str:
    return "，".join(f"{label} {counts.get(name, 0)}" for name, label in COUNTED)
