"""``fieldapp areas``: import the area tree from a file, list it. The commands act as
the server's operator (``scope.OPERATOR``: the whole tree) and are audited ``via="cli"``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fieldapp.extensions import db


@click.group("areas")
def areas() -> None:
    """The area tree (行政区划)."""


@areas.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="show what would change, change nothing")
def import_cmd(file: Path, dry_run: bool) -> None:
    """Import areas from FILE (.xlsx or .csv: code,name,parent or 代码,名称,上级代码).

    Adds new areas and updates names; never deletes or moves. A file with a bad row is
    refused whole (exit 1) with each row and why."""
    from fieldapp import create_app
    from fieldapp.areas.areafile import AreaFileError
    from fieldapp.areas.importer import import_areas
    from fieldapp.areas.services import level_label
    from fieldapp.scope import OPERATOR

    app = create_app()
    with app.app_context():
        try:
            plan = import_areas(OPERATOR, file.read_bytes(), file.name, dry_run=dry_run)
        except AreaFileError as exc:
            db.session.rollback()
            click.echo(f"未导入，区划没有任何改动。{file.name} 有以下问题：", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(1)
        for r in plan.renamed:
            click.echo(f"改名  第 {r.row} 行  {r.code}  {r.old_name} → {r.name}")
        for r in plan.added:
            where = f"{level_label(r.level)}，上级 {r.parent or '无'}"
            click.echo(f"新增  第 {r.row} 行  {r.code}  {r.name}（{where}）")
        for r in plan.notes:
            click.echo(f"注意  第 {r.row} 行  {r.code}  {r.note}", err=True)
        if dry_run:
            db.session.rollback()
            click.echo(f"试运行（未保存）：{plan.summary()}")
        else:
            db.session.commit()
            click.echo(f"已导入 {file.name}：{plan.summary()}")


@areas.command("list")
@click.argument("code", required=False)
@click.option("--depth", type=int, default=None, help="levels below CODE to show")
def list_cmd(code: str | None, depth: int | None) -> None:
    """List the tree below CODE (default: from the top): code, name, level, active
    users and submissions of each subtree."""
    from fieldapp import create_app
    from fieldapp.areas import tree
    from fieldapp.areas.services import AreaError, get_area, level_label
    from fieldapp.scope import OPERATOR

    app = create_app()
    with app.app_context():
        try:
            tops = [get_area(code)] if code else tree.roots(OPERATOR)
        except AreaError as exc:
            raise click.ClickException(str(exc)) from exc
        if not tops:
            click.echo("还没有区划：用 fieldapp areas import FILE 导入")
            return
        counts = tree.counts(OPERATOR)
        for top in tops:
            for area in tree.subtree_listing(top, depth):
                users, subs, _kids = counts.of(area)
                indent = "  " * (area.path.count("/") - top.path.count("/"))
                off = "  [已停用]" if not area.active else ""
                click.echo(
                    f"{indent}{area.code}  {area.name}  {level_label(area.level)}"
                    f"  用户 {users}  提交 {subs}{off}"
                )
