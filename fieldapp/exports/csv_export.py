"""CSV export: one row per submission, streamed in batches with bounded memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import Select

from fieldapp.cases.export_rows import form_dataset
from fieldapp.dataset import bulk
from fieldapp.dataset.formula import excel_safe
from fieldapp.dataset.identify import deidentifier
from fieldapp.dataset.source import raw_batches
from fieldapp.dataset.wide import Layout, build_layout
from fieldapp.extensions import db
from fieldapp.surveys.models import Form

if TYPE_CHECKING:
    from fieldapp.exports.request import ExportRequest

BOM = "\ufeff"


def export_csv(
    request: ExportRequest, progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The UTF-8 CSV of ``request`` (``exports.request.ExportRequest``): the header, then
    one chunk per batch of up to 5,000 submissions (memory stays bounded by the batch).

    What the stream needs is read now (the form's key, the statement, the settings), so
    the chunks can be sent after the view's transaction has ended. ``request.bom``
    prefixes UTF-8's byte order mark so Excel shows Chinese; ``request.labels`` writes
    choice labels instead of codes; ``received_at`` is shown in config ``TIMEZONE``.
    Unless ``request.identifying``, the form's identifier marks apply
    (``dataset.identify``) with the pseudonym key kept in the instance folder.
    ``progress`` is called with the number of submissions written so far. A form that
    creates or updates entities gets the ``household_id`` column (``dataset.wide``),
    read with the rows (``source.raw_batches(entities=True)``).

    Batches are flattened by ``dataset.bulk`` (Polars); a batch whose answers do not
    fit one schema (versions that changed a question into a group) goes row by row
    through ``Layout.row``, which gives the same cells.
    """
    config = current_app.config
    return _chunks(
        request.form.id,
        request.statement(),
        request,
        request.label_language,
        config["TIMEZONE"],
        config["INSTANCE_PATH"],
        progress,
    )


def _chunks(
    form_pk: int,
    stmt: Select,
    request: ExportRequest,
    language: str | None,
    tz: str,
    instance_path: str,
    progress: Callable[[int], None] | None,
) -> Iterator[bytes]:
    labels, bom, identifying = request.labels, request.bom, request.identifying
    form = db.session.get(Form, form_pk)
    deid = deidentifier(form, identifying, instance_path)
    household = form_dataset(form) is not None
    layout = build_layout(form, stmt, labels, language, deid, household=household)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(layout.header)
    yield ((BOM if bom else "") + buf.getvalue()).encode()
    decode = bulk.decoder(layout.questions)

    def flatten(batch: list) -> tuple[bytes, int]:
        meta = bulk.meta_columns(batch, tz, household=layout.household)
        answers = decode([row[6] for row in batch])
        if answers is None:
            return _rows_csv(layout, batch, meta), len(batch)
        return bulk.csv_bytes(bulk.layout_frame(layout, answers, meta)), len(batch)

    # Flatten one batch (Polars, off the GIL) while the next is read from the database.
    done = 0
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for batch in raw_batches(stmt, entities=household):
            future = pool.submit(flatten, batch)
            if pending is not None:
                chunk, n = pending.result()
                done += n
                yield chunk
                if progress:
                    progress(done)
            pending = future
        if pending is not None:
            chunk, n = pending.result()
            yield chunk
            if progress:
                progress(done + n)


def _rows_csv(layout: Layout, batch: list[tuple], meta: dict) -> bytes:
    """A batch as CSV rows through ``Layout.row`` (the one-at-a-time path)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    metas = zip(*(series.to_list() for series in meta.values()), strict=True)
    for row, cells in zip(batch, metas, strict=True):
        data = json.loads(row[6]) if isinstance(row[6], str) else row[6]
        writer.writerow([excel_safe(c) for c in layout.row(list(cells), data or {})])
    return buf.getvalue().encode()
