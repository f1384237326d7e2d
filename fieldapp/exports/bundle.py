"""The export formats and the writer of each (all but the wide CSV, ``csv_export``)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Select

from fieldapp.dataset.identify import Deidentifier, form_marks
from fieldapp.dataset.long import build_tables
from fieldapp.dataset.long_bulk import as_rows, table_batches
from fieldapp.exports.codebook import write_codebook_html, write_codebook_xlsx
from fieldapp.exports.formats import ExportError, write_csv, write_r, write_stats, write_xlsx
from fieldapp.i18n import N_

if TYPE_CHECKING:
    from fieldapp.exports.request import ExportRequest

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


def build_export(
    request: ExportRequest,
    stmt: Select,
    deid: Deidentifier,
    folder: Path,
    tz: str = "Asia/Shanghai",
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write ``request``'s export of the submissions ``stmt`` selects into ``folder``;
    return the file to hand over (a ZIP when the format makes several files).

    ``progress(n)`` is called with the submissions done after each batch. Raises
    ``ExportError`` for an unknown format or a table too big for the format.
    """
    form = request.form
    if request.fmt not in FORMATS or request.fmt == "csv":
        raise ExportError(f"未知的导出格式：{request.fmt}")
    versions = list(reversed(form.versions))
    tables = build_tables(versions, deid)  # with household_id when the form has entities
    language = request.label_language
    languages = form.current.schema.get("languages") or [None]  # None: labels without one
    marks = form_marks(form)  # the codebook shows them, identifying export or not
    stem = re.sub(r"[^\w-]", "_", form.form_id)
    batches = table_batches(tables, versions, stmt, deid, tz, progress)
    data = as_rows(batches)
    if request.fmt == "codebook":
        return write_codebook_xlsx(
            folder / f"{stem}_codebook.xlsx", form.form_id, form.title, tables, languages, marks
        )
    if request.fmt == "codebook-html":
        return write_codebook_html(
            folder / f"{stem}_codebook.html", form.form_id, form.title, tables, languages, marks
        )
    if request.fmt == "xlsx":
        return write_xlsx(
            folder / f"{stem}.xlsx",
            form.form_id,
            tables,
            data,
            labels=request.labels,
            language=language,
        )
    out = folder / "files"
    out.mkdir()
    if request.fmt == "csv-long":
        files = write_csv(out, form.form_id, tables, data, bom=request.bom)
    elif request.fmt in ("sav", "dta"):
        files = write_stats(out, form.form_id, tables, batches, request.fmt, language)
    else:
        files = write_r(out, form.form_id, tables, data, language)
    files.append(
        write_codebook_html(
            out / f"{stem}_codebook.html", form.form_id, form.title, tables, languages, marks
        )
    )
    archive = folder / f"{stem}_{request.fmt}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f.name)
    return archive
