"""Running a households export (issue 10): the ``count``, ``audit`` and ``write`` that
the web view, the background job and the command line call, as ``exports.services``
does for a form's export.

Every format of ``exports.bundle.FORMATS``, through the same writers: ``xlsx`` (sheets
``main`` and ``versions``), ``csv`` (the households table only, one row per household),
``csv-long``, ``sav``, ``dta`` and ``r`` (ZIPs with both tables and the codebook),
``codebook`` and ``codebook-html``. Tables and de-identification:
``exports.household_tables``.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app

from fieldapp.audit.services import record
from fieldapp.cases.export_rows import counts, household_rows, version_rows
from fieldapp.dataset.identify import pseudonym_key
from fieldapp.dataset.long import MAIN
from fieldapp.exports.codebook import write_codebook_html, write_codebook_xlsx
from fieldapp.exports.formats import ExportError, write_csv, write_r, write_stats, write_xlsx
from fieldapp.exports.household_request import HouseholdExportRequest
from fieldapp.exports.household_tables import build_tables, household_row, version_row

TITLE = "家庭"


def count(request: HouseholdExportRequest) -> int:
    """How many rows ``request`` writes: households plus their versions."""
    households, versions = counts(request.person, request.dataset)
    return households + versions


def audit(request: HouseholdExportRequest, rows: int | None = None, **details) -> None:
    """Write the export to the audit log (``dataset:<name>``, flushed with the request's
    transaction), with whether it identified."""
    record(
        request.person.id,
        "export",
        f"dataset:{request.dataset.name}",
        **request.audit_details(),
        **({"rows": rows} if rows is not None else {}),
        **details,
    )


def _rows(request, tables, deid, tz: str, progress) -> Iterator[tuple[str, list]]:
    zone = ZoneInfo(tz)
    main, history = tables
    done = 0
    for r in household_rows(request.person, request.dataset):
        yield main.key, household_row(main, r, deid, zone)
        done += 1
        if progress and done % 500 == 0:
            progress(done)
    if request.fmt != "csv":
        for r in version_rows(request.person, request.dataset):
            yield history.key, version_row(history, r, deid, zone)
            done += 1
            if progress and done % 500 == 0:
                progress(done)
    if progress:
        progress(done)


def write(
    request: HouseholdExportRequest, folder: Path, progress: Callable[[int], None] | None = None
) -> Path:
    """Write ``request``'s file into ``folder``; return it (a ZIP when the format makes
    several files). ``progress(n)`` is called with the rows written so far. Raises
    ``ExportError`` when the data does not fit the format (XLSX rows)."""
    config = current_app.config
    props = request.properties
    key = b"" if request.identifying else pseudonym_key(config["INSTANCE_PATH"])
    deid = props.deidentifier(request.identifying, key)
    tables = build_tables(props, deid)
    name = request.dataset.name
    stem = re.sub(r"[^\w-]", "_", name)
    language = request.label_language
    languages = props.languages or [None]
    marks = props.deidentifier(False, b"").marks  # the codebook shows them in any case
    if request.fmt == "codebook":
        path = folder / f"{stem}_codebook.xlsx"
        return write_codebook_xlsx(path, name, TITLE, tables, languages, marks)
    if request.fmt == "codebook-html":
        path = folder / f"{stem}_codebook.html"
        return write_codebook_html(path, name, TITLE, tables, languages, marks)
    rows = _rows(request, tables, deid, config["TIMEZONE"], progress)
    if request.fmt == "xlsx":
        path = folder / f"{stem}.xlsx"
        return write_xlsx(path, name, tables, rows, labels=request.labels, language=language)
    if request.fmt == "csv":
        (path,) = write_csv(folder, name, [t for t in tables if t.key == MAIN], rows, request.bom)
        return path
    out = folder / "files"
    out.mkdir()
    if request.fmt == "csv-long":
        files = write_csv(out, name, tables, rows, bom=request.bom)
    elif request.fmt in ("sav", "dta"):
        files = write_stats(out, name, tables, rows, request.fmt, language)
    elif request.fmt == "r":
        files = write_r(out, name, tables, rows, language)
    else:
        raise ExportError(f"未知的导出格式：{request.fmt}")
    files.append(
        write_codebook_html(out / f"{stem}_codebook.html", name, TITLE, tables, languages, marks)
    )
    archive = folder / f"{stem}_{request.fmt}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f.name)
    return archive
