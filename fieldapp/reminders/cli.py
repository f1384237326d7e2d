"""``fieldapp reminders send [--dry-run]``: send the reminders due now, as the background
worker's kind ``reminders`` does (the same ``send_due``): for cron or a systemd timer
(README, "Reminders")."""

from __future__ import annotations

import click

from fieldapp import create_app


@click.group("reminders")
def reminders() -> None:
    """Push reminders (提醒): fieldapp reminders send [--dry-run]."""


@reminders.command("send")
@click.option("--dry-run", is_flag=True, help="only print what would be sent (nothing is claimed)")
def send(dry_run: bool) -> None:
    """Send the reminders due now; safe to run twice and on several hosts at once."""
    from fieldapp.reminders.sender import send_due

    summary = send_due(create_app(), dry_run=dry_run)
    if dry_run:
        for line in summary.lines:
            click.echo(line)
        click.echo(f"将发送 {summary.planned} 条提醒；{summary.quiet} 人在免打扰时段")
        return
    click.echo(
        f"已发送 {summary.sent} 条，失败待重试 {summary.failed} 条，"
        f"已失效的订阅 {summary.gone} 个，{summary.quiet} 人在免打扰时段"
    )
