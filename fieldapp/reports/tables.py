"""Completeness as tables: the same numbers as the page, for CSV, XLSX and JSON (the
``fieldapp completeness`` command and the page's download).

- summary: the asked area then each of its rows, per period (oldest first): units
  expected, by status, on time and late, completeness and timeliness in percent;
- units: each expected unit per period: status, late or not, first received;
- chase: the units missing the latest past period and whom to call."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from flask_babel import gettext as _

from fieldapp.areas.services import level_label
from fieldapp.dataset.formula import excel_safe, quoted_format, write_text
from fieldapp.reports.completeness import FILED, STATUS_LABELS, Completeness, Row
from fieldapp.reports.periods import kind_label, period_label

SUMMARY_KEYS = (
    "area_code",
    "area",
    "period",
    "start",
    "end",
    "deadline",
    "expected",
    "reported",
    "zero",
    "corrected",
    "missing",
    "pending",
    "on_time",
    "late",
    "completeness",
    "timeliness",
)
UNIT_KEYS = (
    "unit_code",
    "unit",
    "period",
    "start",
    "end",
    "deadline",
    "status",
    "late",
    "first_received",
    "submissions",
    "zero_reports",
)


def percent(ratio: float | None) -> float | None:
    """A ratio as a percentage with one decimal (None stays None)."""
    return None if ratio is None else round(ratio * 100, 1)


def percent_text(ratio: float | None) -> str:
    """A ratio as the page shows it: ``90%``, ``66.7%``; ``—`` when nothing is expected."""
    value = percent(ratio)
    if value is None:
        return "—"
    return f"{value:g}%"


def _summary_headers() -> list[str]:
    return [
        _("区划代码"),
        _("区划"),
        _("周期"),
        _("开始"),
        _("结束"),
        _("截止日期"),
        _("应报单位"),
        _("已报告"),
        _("零报告"),
        _("已更正"),
        _("未报告"),
        _("未到截止"),
        _("按时"),
        _("迟报"),
        _("完整率（%）"),
        _("及时率（%）"),
    ]


def _unit_headers() -> list[str]:
    return [
        _("单位代码"),
        _("单位"),
        _("周期"),
        _("开始"),
        _("结束"),
        _("截止日期"),
        _("状态"),
        _("迟报"),
        _("首次提交时间"),
        _("提交数"),
        _("零报告数"),
    ]


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def summary_rows(result: Completeness) -> list[dict]:
    """The summary, one dict per (area, period) with ``SUMMARY_KEYS``: the asked area
    first, then its rows; periods oldest first."""
    out = []
    rows = [result.total] + [r for r in result.rows if r is not result.total]
    for row in rows:
        for i, period in enumerate(result.periods):
            t = row.tallies[i]
            out.append(
                {
                    "area_code": row.place.code,
                    "area": row.place.name,
                    "period": period_label(period),
                    "start": period.start.isoformat(),
                    "end": period.end.isoformat(),
                    "deadline": result.deadlines[i].isoformat(),
                    "expected": t.expected,
                    "reported": t.reported,
                    "zero": t.zero,
                    "corrected": t.corrected,
                    "missing": t.missing,
                    "pending": t.pending,
                    "on_time": t.on_time,
                    "late": t.late,
                    "completeness": percent(t.completeness),
                    "timeliness": percent(t.timeliness),
                }
            )
    return out


def status_text(cell) -> str:
    """A unit's status in words: 已报告, 零报告, 已更正, 未报告, 未到截止 (+ 迟报)."""
    text = _(STATUS_LABELS[cell.status])
    return _("%(status)s（迟报）", status=text) if cell.late else text


def unit_rows(result: Completeness) -> list[dict]:
    """Each unit per period with ``UNIT_KEYS`` (``status`` the code: reported, zero,
    corrected, missing, pending; ``late`` true, false or None when nothing was filed)."""
    out = []
    for row in result.units:
        for i, period in enumerate(result.periods):
            cell = row.cells[i]
            out.append(
                {
                    "unit_code": row.place.code,
                    "unit": row.place.name,
                    "period": period_label(period),
                    "start": period.start.isoformat(),
                    "end": period.end.isoformat(),
                    "deadline": result.deadlines[i].isoformat(),
                    "status": cell.status,
                    "late": cell.late if cell.status in FILED else None,
                    "first_received": _stamp(cell.first_at),
                    "submissions": cell.real,
                    "zero_reports": cell.zero,
                }
            )
    return out


def chase_rows(result: Completeness) -> list[dict]:
    """The units missing the latest past period: code, name, contacts (name, phone)."""
    return [
        {
            "unit_code": place.code,
            "unit": place.name,
            "contacts": [{"name": c.name, "phone": c.phone} for c in contacts],
        }
        for place, contacts in result.chase
    ]


def as_json(result: Completeness) -> dict:
    """Everything the page shows, as JSON-ready data (dates ISO, percentages 0…100)."""
    d = result.definition
    latest = result.periods[result.latest] if result.latest is not None else None
    return {
        "report": {
            "id": d.id,
            "name": d.name,
            "form_id": d.form.form_id,
            "period": d.period,
            "level": d.level,
            "deadline_days": d.deadline_days,
            "area": {"code": d.area.code, "name": d.area.name},
            "active": d.active,
        },
        "area": {"code": result.area.code, "name": result.area.name},
        "from": result.periods[0].start.isoformat(),
        "to": result.periods[-1].end.isoformat(),
        "today": result.today.isoformat(),
        "periods": [
            {
                "key": p.key,
                "label": period_label(p),
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "deadline": result.deadlines[i].isoformat(),
                "deadline_passed": result.deadlines[i] < result.today,
            }
            for i, p in enumerate(result.periods)
        ],
        "summary": summary_rows(result),
        "units": unit_rows(result),
        "missing": {
            "period": latest.key if latest else None,
            "phones_shown": result.phones_shown,
            "units": chase_rows(result),
        },
    }


def _csv_cell(value):
    if value is None:
        return ""
    return excel_safe(value) if isinstance(value, str) else value


def as_csv(result: Completeness) -> bytes:
    """The summary as CSV (UTF-8 with BOM, for Excel), headers in the UI language,
    text made formula-safe."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(_summary_headers())
    for row in summary_rows(result):
        writer.writerow([_csv_cell(v) for v in row.values()])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _xlsx_rows(ws, quoted, header: list[str], rows: list[list]) -> None:
    for col, title in enumerate(header):
        write_text(ws, 0, col, title, quoted=quoted)
    for r, values in enumerate(rows, 1):
        for col, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                write_text(ws, r, col, _("是") if value else _("否"), quoted=quoted)
            elif isinstance(value, int | float):
                ws.write_number(r, col, value)
            else:
                write_text(ws, r, col, str(value), quoted=quoted)


def as_xlsx(result: Completeness) -> bytes:
    """The report as a workbook: 说明 (the report and range), 汇总 (the summary), 各单位
    (each unit's status per period, in words) and 未报告单位 (whom to chase). Text that
    a spreadsheet could take for a formula carries Excel's quote prefix."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    quoted = quoted_format(wb)
    d = result.definition
    about = wb.add_worksheet(_("说明"))
    about.set_column(0, 0, 14)
    about.set_column(1, 1, 40)
    _xlsx_rows(
        about,
        quoted,
        [_("项目"), _("内容")],
        [
            [_("报告"), d.name],
            [_("问卷"), d.form.title],
            [_("周期"), kind_label(d.period)],
            [_("报告单位"), level_label(d.level)],
            [_("截止"), _("周期结束后 %(n)s 天", n=d.deadline_days)],
            [_("区划"), _("%(name)s（%(code)s）", name=result.area.name, code=result.area.code)],
            [_("时间范围"), f"{result.periods[0].start} — {result.periods[-1].end}"],
            [_("统计日期"), result.today.isoformat()],
        ],
    )
    summary = wb.add_worksheet(_("汇总"))
    summary.freeze_panes(1, 3)
    rows = [list(r.values()) for r in summary_rows(result)]
    _xlsx_rows(summary, quoted, _summary_headers(), rows)
    units = wb.add_worksheet(_("各单位"))
    units.freeze_panes(1, 3)
    cells = [c for row in result.units for c in row.cells]
    _xlsx_rows(
        units,
        quoted,
        _unit_headers(),
        [
            [*list(r.values())[:6], status_text(cell), r["late"], *list(r.values())[8:]]
            for r, cell in zip(unit_rows(result), cells, strict=True)
        ],
    )
    chase = wb.add_worksheet(_("未报告单位"))
    latest = result.periods[result.latest] if result.latest is not None else None
    _xlsx_rows(
        chase,
        quoted,
        [_("周期"), _("单位代码"), _("单位"), _("联系人"), _("电话")],
        [
            [period_label(latest), r["unit_code"], r["unit"], c["name"], c["phone"]]
            for r in chase_rows(result)
            for c in (r["contacts"] or [{"name": "", "phone": None}])
        ],
    )
    wb.close()
    return buf.getvalue()


def row_is_unit(row: Row) -> bool:
    """True when ``row`` is a unit's own (its cells are statuses)."""
    return row.cells is not None
