"""Running an export request: the one ``write`` and ``stream_csv`` that the web view,
the background job and the CLI all call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from flask import current_app

from fieldapp.audit.services import record
from fieldapp.dataset.identify import deidentifier
from fieldapp.exports.bundle import build_export
from fieldapp.exports.csv_export import export_csv
from fieldapp.exports.request import ExportRequest
from fieldapp.submissions.services import count_stmt


def count(request: ExportRequest) -> int:
    """How many submissions ``request`` exports."""
    return count_stmt(request.statement())


def audit(request: ExportRequest, rows: int | None = None, **details) -> None:
    """Write the export to the audit log (flushed with the request's transaction)."""
    record(
        request.person.id,
        "export",
        f"form:{request.form.form_id}",
        **request.audit_details(),
        **({"rows": rows} if rows is not None else {}),
        **details,
    )


def stream_csv(
    request: ExportRequest, progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The wide CSV of ``request`` as UTF-8 chunks, header first
    (``exports.csv_export.export_csv``: everything it needs is read at the call, so the
    chunks can be sent after the view's transaction has ended)."""
    return export_csv(request, progress)


def write(
    request: ExportRequest, folder: Path, progress: Callable[[int], None] | None = None
) -> Path:
    """Write ``request``'s file into ``folder``; return it (a ZIP when the format makes
    several files). ``progress(n)`` is called with the submissions done so far. Raises
    ``exports.formats.ExportError`` when the data does not fit the format (XLSX rows)."""
    if request.fmt == "csv":
        path = folder / f"{request.form.form_id}.csv"
        with path.open("wb") as fh:
            for chunk in stream_csv(request, progress):
                fh.write(chunk)
        return path
    config = current_app.config
    deid = deidentifier(request.form, request.identifying, config["INSTANCE_PATH"])
    return build_export(request, request.statement(), deid, folder, config["TIMEZONE"], progress)
