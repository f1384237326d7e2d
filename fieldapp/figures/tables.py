"""The figures as files: CSV, XLSX and JSON, the same numbers as the page.

- CSV: one row per figure (group, key, label, this year, 1 January–30 June, previous
  year, change, change %, then this year's value in each child area); UTF-8 with BOM
  for Excel, text that looks like a formula quoted (``excel_safe``); in the XLSX, text
  cells with the quote prefix (``write_text``).
- XLSX: sheet 年度数据 (as the CSV), 分区 (each child's year, mid-year and previous-year
  values), 目标进度 (each district's targets: mid-year against half the target, year
  end against the target).
- JSON: the same as objects.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from flask_babel import gettext as _

from fieldapp.dataset.formula import excel_safe, quoted_format, write_text
from fieldapp.figures.compute import OWN, Figures
from fieldapp.figures.targets import DistrictProgress

FORMATS = ("csv", "xlsx", "json")


def number(value: float | None):
    """``value`` as an int when whole, else rounded to 2 places (None stays None)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 2)


def _columns(figs: Figures) -> list[tuple[int, str, str]]:
    """(child key, code, name) of the district table's columns."""
    cols = [(a.id, a.code, a.name) for a in figs.children]
    if figs.own:
        cols.append((OWN, figs.area.code, _("%(name)s本级", name=figs.area.name)))
    return cols


def header(figs: Figures) -> list[str]:
    """The main table's header."""
    return [
        _("组别"),
        _("编号"),
        _("指标"),
        _("年份"),
        _("区划代码"),
        _("区划"),
        _("本年"),
        _("1–6月"),
        _("上年"),
        _("增减"),
        _("增减%"),
        *[f"{name}（{code}）" for _k, code, name in _columns(figs)],
        _("说明"),
    ]


def rows(figs: Figures) -> list[list]:
    """The main table: one row per figure (numbers as numbers)."""
    out = []
    for f in figs.figures:
        pct = f.change_pct
        out.append(
            [
                f.group,
                f.key,
                f.label,
                figs.year,
                figs.area.code,
                figs.area.name,
                number(f.value),
                number(f.mid_year),
                number(f.previous),
                number(f.change),
                None if pct is None else round(pct, 1),
                *[number(f.child(k).value) for k, _c, _n in _columns(figs)],
                f.problem or "",
            ]
        )
    return out


def to_csv(figs: Figures) -> bytes:
    """The main table as CSV (UTF-8 with BOM)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([excel_safe(h) for h in header(figs)])
    for row in rows(figs):
        writer.writerow(
            ["" if v is None else excel_safe(v) if isinstance(v, str) else v for v in row]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_json(figs: Figures, progress: list[DistrictProgress]) -> bytes:
    """Figures, child areas and target progress as JSON (UTF-8)."""
    cols = _columns(figs)
    doc = {
        "year": figs.year,
        "area": {"code": figs.area.code, "name": figs.area.name},
        "children": [{"code": code, "name": name} for _k, code, name in cols],
        "figures": [
            {
                "key": f.key,
                "label": f.label,
                "group": f.group,
                "source": f.source,
                "aggregate": f.aggregate,
                "value": number(f.value),
                "mid_year": number(f.mid_year),
                "previous": number(f.previous),
                "change": number(f.change),
                "children": {
                    code: {
                        "value": number(f.child(k).value),
                        "mid_year": number(f.child(k).mid_year),
                        "previous": number(f.child(k).previous),
                    }
                    for k, code, _n in cols
                },
                "problem": f.problem,
            }
            for f in figs.figures
        ],
        "targets": [
            {
                "area": {"code": d.area.code, "name": d.area.name},
                "figures": [
                    {
                        "key": p.figure.key,
                        "target": number(p.target),
                        "mid_year": number(p.cell.mid_year),
                        "mid_target": number(p.mid_target),
                        "mid_pct": number(p.mid_pct),
                        "value": number(p.cell.value),
                        "year_pct": number(p.year_pct),
                    }
                    for p in d.rows
                ],
            }
            for d in progress
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def write_xlsx(target: Path | io.BytesIO, figs: Figures, progress: list[DistrictProgress]):
    """The three sheets to ``target`` (a path or a buffer). Text is written as text,
    with Excel's quote prefix where it could be taken for a formula."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        target if isinstance(target, io.BytesIO) else str(target),
        {"strings_to_formulas": False, "strings_to_urls": False, "in_memory": True},
    )
    bold = wb.add_format({"bold": True, "bg_color": "#efece6"})
    bold_quoted = quoted_format(wb, {"bold": True, "bg_color": "#efece6"})
    quoted = quoted_format(wb)
    pct = wb.add_format({"num_format": "0.0"})

    def put(ws, r, c, value, fmt=None):
        if value is None or value == "":
            return
        if isinstance(value, str):
            write_text(ws, r, c, value, quoted=quoted)
        else:
            ws.write_number(r, c, value, fmt)

    ws = wb.add_worksheet(_("年度数据"))
    for c, h in enumerate(header(figs)):  # area names are typed by admins
        write_text(ws, 0, c, h, bold, bold_quoted)
    for r, row in enumerate(rows(figs), 1):
        for c, value in enumerate(row):
            put(ws, r, c, value, pct if c == 10 else None)
    ws.set_column(0, 0, 14)
    ws.set_column(2, 2, 26)
    ws.freeze_panes(1, 3)

    ws = wb.add_worksheet(_("分区"))
    head = [_("编号"), _("指标"), _("区划代码"), _("区划"), _("本年"), _("1–6月"), _("上年")]
    for c, h in enumerate(head):
        write_text(ws, 0, c, h, bold, bold_quoted)
    r = 1
    for f in figs.figures:
        for k, code, name in _columns(figs):
            cell = f.child(k)
            for c, value in enumerate(
                [
                    f.key,
                    f.label,
                    code,
                    name,
                    number(cell.value),
                    number(cell.mid_year),
                    number(cell.previous),
                ]
            ):
                put(ws, r, c, value)
            r += 1
    ws.set_column(1, 1, 26)
    ws.set_column(3, 3, 16)

    ws = wb.add_worksheet(_("目标进度"))
    head = [
        _("区划代码"),
        _("区划"),
        _("编号"),
        _("指标"),
        _("全年目标"),
        _("1–6月完成"),
        _("年中目标（全年目标的一半）"),
        _("年中进度%"),
        _("全年完成"),
        _("全年进度%"),
    ]
    for c, h in enumerate(head):
        write_text(ws, 0, c, h, bold, bold_quoted)
    r = 1
    for d in progress:
        for p in d.rows:
            values = [
                d.area.code,
                d.area.name,
                p.figure.key,
                p.figure.label,
                number(p.target),
                number(p.cell.mid_year),
                number(p.mid_target),
                None if p.mid_pct is None else round(p.mid_pct, 1),
                number(p.cell.value),
                None if p.year_pct is None else round(p.year_pct, 1),
            ]
            for c, value in enumerate(values):
                put(ws, r, c, value)
            r += 1
    ws.set_column(3, 3, 26)
    ws.set_column(6, 6, 24)
    wb.close()
