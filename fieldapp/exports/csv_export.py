"""CSV export: one row per submission, streamed in batches with bounded memory."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import Select

from fieldapp.exports.identify import Deidentifier, pseudonym_key, with_derived
from fieldapp.exports.source import answers_only, flat_rows
from fieldapp.exports.table import Layout, merge_questions, repeat_counts
from fieldapp.extensions import db
from fieldapp.surveys.models import Form

BOM = "\ufeff"
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(cell: str) -> str:
    """Make a text cell inert in spreadsheets (OWASP "CSV injection").

    Text starting with ``= + - @`` (or tab/CR) would run as a formula in Excel; it gets a
    leading apostrophe. Numbers such as ``-5`` are left as they are.
    """
    if cell and cell.startswith(_FORMULA_START) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def build_layout(
    form: Form,
    stmt: Select,
    labels: bool = False,
    language: str | None = None,
    deid: Deidentifier | None = None,
) -> Layout:
    """Column layout for ``form`` over the submissions ``stmt`` selects (one data pass)."""
    questions = merge_questions(v.schema for v in reversed(form.versions))
    counts = repeat_counts(answers_only(stmt), questions)
    return Layout(questions, counts, labels=labels, language=language, deid=deid)


def deidentifier(form: Form, identifying: bool, instance_path: str) -> Deidentifier:
    """Nothing changes when ``identifying``; else every version's identifier marks apply."""
    if identifying:
        return Deidentifier(None)
    marks: dict[str, str] = {}
    for v in form.versions:
        marks.update(v.schema.get("identifiers") or {})
    marks = with_derived(marks, [q for v in form.versions for q in v.schema["questions"]])
    return Deidentifier(marks, pseudonym_key(instance_path))


def export_csv(
    form_pk: int,
    stmt: Select,
    labels: bool = False,
    language: str | None = None,
    bom: bool = True,
    tz: str = "Asia/Shanghai",
    identifying: bool = False,
    instance_path: str = "instance",
) -> Iterator[str]:
    """Yield the CSV text of the submissions ``stmt`` selects, header first.

    The form is loaded by primary key when iteration starts, so the generator can be
    streamed after the view's session has closed. ``bom`` prefixes UTF-8's byte order
    mark so Excel shows Chinese; ``labels`` writes choice labels instead of codes; ``tz``
    is the zone of ``received_at``. Unless ``identifying``, the form's identifier marks
    apply (``exports.identify``) with the pseudonym key kept in ``instance_path``.
    """
    form = db.session.get(Form, form_pk)
    deid = deidentifier(form, identifying, instance_path)
    layout = build_layout(form, stmt, labels, language, deid)
    zone = ZoneInfo(tz)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(layout.header)
    yield (BOM if bom else "") + buf.getvalue()
    utc = ZoneInfo("UTC")
    for iid, version, username, code, name, received, data in flat_rows(stmt):
        if received.tzinfo is None:
            received = received.replace(tzinfo=utc)
        meta = [
            iid,
            version,
            username,
            code,
            name,
            received.astimezone(zone).isoformat(timespec="seconds"),
        ]
        buf.seek(0)
        buf.truncate()
        writer.writerow([excel_safe(c) for c in layout.row(meta, data)])
        yield buf.getvalue()
