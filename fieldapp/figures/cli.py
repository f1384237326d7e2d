"""``fieldapp figures``: the yearly figures from the command line, the same numbers as
the page (``fieldapp figures 2026 --area 339901 --format xlsx -o figures.xlsx``), and
``fieldapp figures load-defaults`` (the shipped definitions). The commands act as the
server's operator (``scope.OPERATOR``) and are audited ``via="cli"``."""

from __future__ import annotations

import click

from fieldapp.cli_files import emit, output_target
from fieldapp.extensions import db


class _YearFirst(click.Group):
    """A group whose first argument may be a year instead of a command: ``figures 2026
    …`` runs ``figures show 2026 …``."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group("figures", cls=_YearFirst)
def figures() -> None:
    """The yearly figures (年度数据): fieldapp figures YEAR [--area CODE] [--format
    csv|xlsx|json] [-o FILE]; fieldapp figures load-defaults [--replace]."""


@figures.command("show")
@click.argument("year")
@click.option("--area", "code", default=None, help="area code (default: the top of the tree)")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv", show_default=True
)
@click.option("-o", "--output", default=None, help="file to write; - for standard output")
def show(year: str, code: str | None, fmt: str, output: str | None) -> None:
    """Compute the figures of YEAR for an area and write them (CSV and JSON to standard
    output unless -o; XLSX to figures-YEAR-AREA.xlsx unless -o)."""
    from fieldapp import create_app
    from fieldapp.figures import pages, tables
    from fieldapp.figures.compute import FiguresError, check_year
    from fieldapp.scope import OPERATOR

    app = create_app()
    with app.app_context():
        try:
            year_n = check_year(year)
        except FiguresError as exc:
            raise click.BadParameter(str(exc), param_hint="YEAR") from exc
        area = pages.area_by_code(OPERATOR, code) if code else pages.top_area()
        if area is None:
            raise click.ClickException(
                f"没有区划 {code}" if code else "区划不止一个顶层，请用 --area 指定区划代码"
            )
        try:
            rep = pages.report(OPERATOR, year_n, area)
        except FiguresError as exc:
            raise click.ClickException(str(exc)) from exc
        if fmt == "csv":
            data = tables.to_csv(rep.figures)
        elif fmt == "json":
            data = tables.to_json(rep.figures, rep.progress)
        else:
            import io

            buf = io.BytesIO()
            tables.write_xlsx(buf, rep.figures, rep.progress)
            data = buf.getvalue()
        if output is None and fmt == "xlsx":
            output = f"figures-{year_n}-{area.code}.xlsx"
        target = output_target(output)
        pages.audit_export(None, rep, fmt, via="cli", output=str(target) if target else "stdout")
        db.session.commit()
    emit(data, target)


@figures.command("load-defaults")
@click.option(
    "--replace", is_flag=True, help="also put the shipped text back on figures an admin edited"
)
def load_defaults_cmd(replace: bool) -> None:
    """Load the shipped figure definitions (fieldapp/figures/defaults.toml): add those
    missing; keep an admin's edits unless --replace."""
    from fieldapp import create_app
    from fieldapp.audit.services import record
    from fieldapp.figures.definitions import load_defaults

    app = create_app()
    with app.app_context():
        added, replaced = load_defaults(replace=replace)
        record(
            None,
            "figure_definitions_load",
            "figures:defaults",
            added=added,
            replaced=replaced,
            via="cli",
        )
        db.session.commit()
    click.echo(f"新增 {added} 个指标，覆盖 {replaced} 个指标")
