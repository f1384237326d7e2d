"""``fieldapp reminders send [--dry-run]``: send the reminders due now, as the background
worker's kind ``reminders`` does (the same ``send_due``): for cron or a systemd timer
(README, "Reminders")."""

from __future__ import annotations

import click
from flask_babel import gettext as _

from fieldapp import create_app


@click.group("reminders")
def reminders() -> None:
    """Push reminders (提醒): fieldapp reminders send [--dry-run]."""


@reminders.command("send")
@click.option("--dry-run", is_flag=True, help="only print what would be sent (nothing is claimed)")
def send(dry_run: bool) -> None:
    """Send the reminders due now; safe to run twice and on several hosts at once. Exits
    1 when the configured database has not been made (``fieldapp init``): a cron line
    without the server's FIELDAPP_* environment looks at another one."""
    from fieldapp.backup import database
    from fieldapp.reminders.sender import send_due

    app = create_app()
    url = app.config["DATABASE_URL"]
    missing = database.kind(url) == "sqlite" and not database.sqlite_path(url).exists()
    if missing or database.facts(url)[0] is None:  # cron without the server's environment
        with app.app_context():
            raise click.ClickException(_("数据库尚未建立（请先运行 fieldapp init）"))
    summary = send_due(app, dry_run=dry_run)
    if dry_run:
        for line in summary.lines:
            click.echo(line)
        click.echo(f"将发送 {summary.planned} 条提醒；{summary.quiet} 人在免打扰时段")
        return
    click.echo(
        f"已发送 {summary.sent} 条，失败待重试 {summary.failed} 条，"
        f"已失效的订阅 {summary.gone} 个，{summary.quiet} 人在免打扰时段"
    )
