"""Run one export to a file for a user: shared by background jobs (and usable by a CLI)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from flask import Flask

from fieldapp.auth.models import User
from fieldapp.exports.bundle import ExportOptions, build_export
from fieldapp.exports.csv_export import deidentifier, export_csv
from fieldapp.exports.filters import SubmissionFilter
from fieldapp.submissions.services import scoped_submissions
from fieldapp.surveys.models import Form


def job_params(fmt: str, options: ExportOptions, flt: SubmissionFilter, identifying: bool) -> dict:
    """The JSON a job keeps of an export request."""
    return {
        "format": fmt,
        "labels": options.labels,
        "language": options.language,
        "bom": options.bom,
        "identifying": identifying,
        "filters": flt.as_args(),
    }


def run_export(
    app: Flask,
    user: User,
    form: Form,
    params: dict,
    folder: Path,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write the export ``params`` describe, in ``user``'s scope, into ``folder``."""
    raw = params.get("filters") or {}
    flt = SubmissionFilter(
        date.fromisoformat(raw["from"]) if raw.get("from") else None,
        date.fromisoformat(raw["to"]) if raw.get("to") else None,
        raw.get("area"),
        raw.get("version"),
        raw.get("submitter"),
    )
    tz = app.config["TIMEZONE"]
    stmt = flt.apply(scoped_submissions(user, form), user, tz)
    options = ExportOptions(
        fmt=params["format"],
        labels=params.get("labels", False),
        language=params.get("language"),
        bom=params.get("bom", True),
    )
    identifying = bool(params.get("identifying"))
    if options.fmt == "csv":
        path = folder / f"{form.form_id}.csv"
        with path.open("wb") as fh:
            for chunk in export_csv(
                form.id,
                stmt,
                labels=options.labels,
                language=options.language or form.current.schema.get("default_language"),
                bom=options.bom,
                tz=tz,
                identifying=identifying,
                instance_path=app.config["INSTANCE_PATH"],
                progress=progress,
            ):
                fh.write(chunk)
        return path
    deid = deidentifier(form, identifying, app.config["INSTANCE_PATH"])
    return build_export(form, stmt, options, deid, folder, tz, progress)
