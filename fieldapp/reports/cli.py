"""``fieldapp completeness``: a periodic report's completeness and timeliness from the
server's command line, as ``scope.OPERATOR`` (every area; audited ``via="cli"``). The
numbers are the page's (``fieldapp.reports.completeness``, ``fieldapp.reports.tables``)."""

from __future__ import annotations

import json
import sys

import click

from fieldapp.cli_files import emit, output_target
from fieldapp.extensions import db

FORMATS = ("csv", "xlsx", "json")


@click.command("completeness")
@click.option("--report", "report", required=True, help="the report's id or name")
@click.option("--from", "first", default=None, help="first day, YYYY-MM-DD (default: 12 periods)")
@click.option("--to", "last", default=None, help="last day, YYYY-MM-DD (default: today)")
@click.option("--area", default=None, help="area code (default: the report's area)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("-o", "--output", default="-", show_default=True, help="file to write; - for stdout")
def completeness(report, first, last, area, fmt, output) -> None:
    """Completeness and timeliness of REPORT per area and period: csv (the summary),
    xlsx (summary, each unit, units to chase) or json (all of it)."""
    from fieldapp import clock, create_app
    from fieldapp.areas.services import AreaError, get_area
    from fieldapp.audit.services import record
    from fieldapp.reports import services, tables
    from fieldapp.reports.completeness import compute
    from fieldapp.scope import OPERATOR

    target = output_target(output)
    if target is None and fmt == "xlsx" and sys.stdout.isatty():
        raise click.ClickException("XLSX 不能输出到终端，请用 -o 文件名.xlsx")
    app = create_app()
    with app.app_context():
        try:
            definition = services.find_definition(report)
            place = get_area(area) if area else services.default_area(OPERATOR, definition)
            day = clock.today()
            start, end = services.date_range(definition, first, last, day)
            result = compute(OPERATOR, definition, place, start, end, day)
        except (services.ReportError, AreaError) as exc:
            raise click.ClickException(str(exc)) from exc
        if fmt == "csv":
            data = tables.as_csv(result)
        elif fmt == "xlsx":
            data = tables.as_xlsx(result)
        else:
            text = json.dumps(tables.as_json(result), ensure_ascii=False, indent=1)
            data = (text + "\n").encode("utf-8")
        record(
            None,
            "report_export",
            f"report:{definition.id}",
            area=result.area.code,
            first=start.isoformat(),
            last=end.isoformat(),
            format=fmt,
            via="cli",
        )
        db.session.commit()
    emit(data, target)
