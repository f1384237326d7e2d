"""The codebook: every exported variable with its names in each format, labels in every
language, type, choices and their codes, relevance, constraint, the form versions it
appears in and whether it is an identifier. Written as XLSX and as HTML."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment

from fieldapp.dataset.formula import write_text
from fieldapp.dataset.long import Table, Variable
from fieldapp.dataset.wide import label_of
from fieldapp.exports.formats import file_stem, stat_names, value_codes

COLUMNS = [
    "表 table",
    "导出名 export name",
    "SPSS",
    "Stata",
    "题目名 question",
    "类型 type",
    "选项 choices (code = label)",
    "SPSS/Stata 数值",
    "显示条件 relevant",
    "约束 constraint",
    "版本 versions",
    "身份信息 identifier",
]


def _rows(
    form_id: str, tables: list[Table], languages: list[str | None], marks: dict[str, str]
) -> list[list[str]]:
    spss, stata = stat_names(tables, "sav"), stat_names(tables, "dta")
    out = []
    for t in tables:
        for var in t.variables:
            q = var.question or {}
            choices = var.choices or []
            codes = value_codes(var) or {}
            out.append(
                [
                    file_stem(form_id, t),
                    var.name,
                    spss[t.key][var.name],
                    stata[t.key][var.name],
                    q.get("name", ""),
                    _kind(var),
                    *[
                        label_of(var.labels, lang)
                        if lang is None or lang in var.labels
                        else var.labels.get("", "")
                        for lang in languages
                    ],
                    "; ".join(
                        f"{c['name']} = {label_of(c['labels'], languages[0])}" for c in choices
                    ),
                    "; ".join(f"{codes[c['name']]} = {c['name']}" for c in choices if codes)
                    or ("0 = 未选; 1 = 选中" if var.kind == "choice" else ""),
                    q.get("relevant") or "",
                    q.get("constraint") or "",
                    ", ".join(var.versions),
                    marks.get(q.get("name", ""), ""),
                ]
            )
    return out


def _kind(var: Variable) -> str:
    if var.kind == "choice":
        return f"select_multiple 的选项 {var.choice['name']} (0/1)"
    return var.kind


def header(languages: list[str | None]) -> list[str]:
    """Codebook column titles, with one label column per form language."""
    labels = [f"标签 label ({lang})" if lang else "标签 label" for lang in languages]
    return [*COLUMNS[:6], *labels, *COLUMNS[6:]]


def write_codebook_xlsx(
    path: Path,
    form_id: str,
    title: str,
    tables: list[Table],
    languages: list[str | None],
    marks: dict[str, str],
) -> Path:
    """The codebook as a workbook (one sheet); every cell is text (``write_text``): a
    label or constraint that starts with ``=`` is shown as typed, never run."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "codebook"
    lines = [[f"{title}（{form_id}）"], header(languages)]
    lines += _rows(form_id, tables, languages, marks)
    for r, line in enumerate(lines):
        for c, value in enumerate(line):
            if value:
                write_text(ws, r, c, str(value))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "C3"
    wb.save(path)
    return path


_HTML = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }} · 编码本</title>
<style>body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:1rem}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:4px 6px;
vertical-align:top;text-align:left}th{background:#eee;position:sticky;top:0}</style></head>
<body><h1>{{ title }}（{{ form_id }}）编码本 · codebook</h1>
<table><thead><tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in rows %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table></body></html>""")


def write_codebook_html(
    path: Path,
    form_id: str,
    title: str,
    tables: list[Table],
    languages: list[str | None],
    marks: dict[str, str],
) -> Path:
    """The codebook as one self-contained HTML page."""
    path.write_text(
        _HTML.render(
            title=title,
            form_id=form_id,
            header=header(languages),
            rows=_rows(form_id, tables, languages, marks),
        ),
        encoding="utf-8",
    )
    return path
