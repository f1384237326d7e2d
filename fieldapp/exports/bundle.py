"""Build an export file in a given format: called by the web view, the CLI and jobs."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select

from fieldapp.exports.codebook import write_codebook_html, write_codebook_xlsx
from fieldapp.exports.csv_export import form_marks
from fieldapp.exports.dataset import build_tables
from fieldapp.exports.formats import ExportError, write_csv, write_r, write_stats, write_xlsx
from fieldapp.exports.identify import Deidentifier
from fieldapp.exports.long_bulk import as_rows, table_batches
from fieldapp.i18n import N_
from fieldapp.surveys.models import Form

FORMATS = {
    "xlsx": N_("Excel（.xlsx，每个重复组一个工作表）"),
    "csv": N_("CSV（每份问卷一行，重复组展开为多列）"),
    "csv-long": N_("CSV（每个重复组一张表，ZIP）"),
    "sav": N_("SPSS（.sav，含变量和值标签）"),
    "dta": N_("Stata（.dta，含变量和值标签）"),
    "r": N_("R（CSV + 读取脚本）"),
    "codebook": N_("编码本（.xlsx）"),
    "codebook-html": N_("编码本（网页）"),
}
MIMETYPES = {
    ".zip": "application/zip",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".sav": "application/x-spss-sav",
    ".dta": "application/x-stata-dta",
    ".csv": "text/csv",
    ".html": "text/html",
}


@dataclass
class ExportOptions:
    """How to export: format, choice labels or codes, label language, BOM, identifying."""

    fmt: str = "xlsx"
    labels: bool = False
    language: str | None = None
    bom: bool = True


def build_export(
    form: Form,
    stmt: Select,
    options: ExportOptions,
    deid: Deidentifier,
    folder: Path,
    tz: str = "Asia/Shanghai",
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write the export of the submissions ``stmt`` selects into ``folder``; return the
    file to hand over (a ZIP when the format makes several files).

    ``progress(n)`` is called with the submissions done after each batch. Raises
    ``ExportError`` for an unknown format or a table too big for the format.
    """
    if options.fmt not in FORMATS or options.fmt == "csv":
        raise ExportError(f"未知的导出格式：{options.fmt}")
    versions = list(reversed(form.versions))
    tables = build_tables(versions, deid)
    language = options.language or form.current.schema.get("default_language")
    languages = form.current.schema.get("languages") or [None]  # None: labels without one
    marks = form_marks(form)  # the codebook shows them, identifying export or not
    stem = re.sub(r"[^\w-]", "_", form.form_id)
    batches = table_batches(tables, versions, stmt, deid, tz, progress)
    data = as_rows(batches)
    if options.fmt == "codebook":
        return write_codebook_xlsx(
            folder / f"{stem}_codebook.xlsx", form.form_id, form.title, tables, languages, marks
        )
    if options.fmt == "codebook-html":
        return write_codebook_html(
            folder / f"{stem}_codebook.html", form.form_id, form.title, tables, languages, marks
        )
    if options.fmt == "xlsx":
        return write_xlsx(
            folder / f"{stem}.xlsx",
            form.form_id,
            tables,
            data,
            labels=options.labels,
            language=language,
        )
    out = folder / "files"
    out.mkdir()
    if options.fmt == "csv-long":
        files = write_csv(out, form.form_id, tables, data, bom=options.bom)
    elif options.fmt in ("sav", "dta"):
        files = write_stats(out, form.form_id, tables, batches, options.fmt, language)
    else:
        files = write_r(out, form.form_id, tables, data, language)
    files.append(
        write_codebook_html(
            out / f"{stem}_codebook.html", form.form_id, form.title, tables, languages, marks
        )
    )
    archive = folder / f"{stem}_{options.fmt}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f.name)
    return archive
