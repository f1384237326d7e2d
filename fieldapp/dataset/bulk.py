"""Flatten many submissions at once with Polars instead of cell by cell in Python.

The wide CSV export (``exports.csv_export``) reads the answers' JSON text straight from
the database in batches, decodes each batch with Polars' NDJSON reader against a schema
built from the form's questions, and builds every column of ``table.Layout`` as a
Polars expression: the same cells ``Layout.row`` gives one submission at a time (the
data table and the submission page still use that), about ten times faster.

Per-value rules that need Python (pseudonyms, coarse GPS, choice labels) run once per
distinct value of a column, not once per cell.

When the form's versions disagree on a path's shape (a question in one version is a
group or repeat in another) no single schema fits: ``answer_schema`` raises
``NotColumnar`` and the caller uses ``Layout.row``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import polars as pl

from fieldapp.dataset.formula import excel_safe, excel_safe_column, may_be_formula
from fieldapp.dataset.wide import Layout, Question


class NotColumnar(ValueError):
    """The form's versions give one path two shapes; flatten row by row instead."""


def answer_schema(questions: Iterable[Question]) -> dict[str, pl.DataType]:
    """Polars schema of the answers JSON for ``questions``: top-level name → type.

    Groups are structs, repeats lists of structs, answers strings (the shape
    ``submissions.parse.project`` stores). Raises ``NotColumnar`` when two questions
    need one path to be both an answer and a group, or a group and a repeat.
    """
    tree: dict = {}
    for q in questions:
        node = tree
        for i, part in enumerate(q.parts[:-1]):
            kind = "repeat" if i in q.repeats else "group"
            child = node.setdefault(part, {"kind": kind, "children": {}})
            if child["kind"] != kind:
                raise NotColumnar(q.name)
            node = child["children"]
        leaf = node.setdefault(q.parts[-1], {"kind": "answer"})
        if leaf["kind"] != "answer":
            raise NotColumnar(q.name)

    def dtype(node: dict) -> pl.DataType:
        if node["kind"] == "answer":
            return pl.String()
        inner = pl.Struct({name: dtype(child) for name, child in node["children"].items()})
        return pl.List(inner) if node["kind"] == "repeat" else inner

    return {name: dtype(node) for name, node in tree.items()}


def decode(texts: Sequence[str], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The answers JSON of a batch of submissions as one frame, a row each.

    ``texts`` are JSON objects (one per submission, no raw newlines: JSON escapes them);
    fields outside ``schema`` are ignored, missing ones are null. Raises ``NotColumnar``
    when a value does not fit the schema.
    """
    if not schema:  # a form of notes only: rows with no answers
        return pl.DataFrame({"\0": pl.Series([None] * len(texts), dtype=pl.String)})
    blob = "\n".join(texts).encode()
    try:
        frame = pl.read_ndjson(io.BytesIO(blob), schema=schema)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise NotColumnar(str(exc)) from exc
    if frame.height != len(texts):
        raise NotColumnar("row count")
    return frame


def decoder(questions: Iterable[Question]) -> Callable[[Sequence[str]], pl.DataFrame | None]:
    """A function decoding a batch's answers JSON (``decode``) for ``questions``, giving
    ``None`` when the batch must go row by row: versions that disagree on a path's shape
    (no schema at all) or a batch whose values do not fit it."""
    try:
        schema = answer_schema(questions)
    except NotColumnar:
        return lambda _texts: None

    def decoded(texts: Sequence[str]) -> pl.DataFrame | None:
        try:
            return decode(texts, schema)
        except NotColumnar:
            return None

    return decoded


def path_expr(steps: tuple) -> pl.Expr:
    """Expression following ``steps`` (dict keys, list indexes) into a decoded frame."""
    expr = pl.col(steps[0])
    for step in steps[1:]:
        if isinstance(step, int):
            expr = expr.list.get(step, null_on_oob=True)
        else:
            expr = expr.struct.field(step)
    return expr


def parse_received(value) -> datetime:
    """``received_at`` as the driver gave it (SQLite: text in UTC) as a datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def received_series(values: list, tz: str) -> pl.Series:
    """``received_at`` values (datetimes, naive meaning UTC as SQLite keeps them, or
    their text) as a UTC-aware Polars column converted to zone ``tz``."""
    series = pl.Series("received_at", values)
    if series.dtype == pl.String:
        series = series.str.to_datetime(time_unit="us", time_zone="UTC")
    elif series.dtype.time_zone is None:  # type: ignore[union-attr]
        series = series.dt.replace_time_zone("UTC")
    return series.dt.convert_time_zone(tz)


def received_column(values: list, tz: str) -> pl.Series:
    """``received_at`` as ISO 8601 text in zone ``tz`` (seconds, ``+08:00``), as
    ``datetime.isoformat(timespec="seconds")`` writes it."""
    return received_series(values, tz).dt.to_string("%Y-%m-%dT%H:%M:%S%:z")


def layout_frame(layout: Layout, answers: pl.DataFrame, meta: dict[str, pl.Series]) -> pl.DataFrame:
    """The CSV cells of one batch: ``layout.header`` columns, formula-safe text, nulls
    for blank cells. ``meta`` holds the meta columns in ``layout.header``'s order.

    Cells are those of ``Layout.row``: the answer at each access path, de-identified,
    select_multiple split into 1/0 (null when unanswered), choice labels when asked.
    """
    deid = layout.deid
    columns = [  # (question, split choices, access steps) per question column
        (q, split, steps) for q, split, paths in layout.plan for steps in paths
    ]
    paths = [
        path_expr(steps) if steps[0] in answers.columns else pl.lit(None, pl.String)
        for _, _, steps in columns
    ]
    # Rules that need Python run once per distinct value: find which values occur.
    needs_python = {
        i
        for i, (q, _, _) in enumerate(columns)
        if deid.changes(q.q) or (layout.labels and q.q.get("choices"))
    }
    seen = answers.select(paths[i].alias(str(i)) for i in needs_python) if needs_python else None

    answers = answers.hstack([series.alias(f"\0{name}") for name, series in meta.items()])
    # Meta text is guarded too: instance IDs come from phones.
    exprs = [excel_safe_column(pl.col(f"\0{name}")) for name in meta]
    for i, (q, split, _) in enumerate(columns):
        raw = value = shown = paths[i]
        distinct = [v for v in seen[str(i)].unique().to_list() if v] if i in needs_python else []
        if distinct and deid.changes(q.q):
            value = raw.replace(distinct, [deid.value(q.q, v) for v in distinct])
        if distinct and layout.labels and q.q.get("choices"):
            cells = [layout.display(q, deid.value(q.q, v) or "") for v in distinct]
            shown = raw.replace(distinct, [excel_safe(c) for c in cells])
        elif distinct and deid.changes(q.q):
            shown = raw.replace(distinct, [excel_safe(deid.value(q.q, v) or "") for v in distinct])
        elif may_be_formula(q.q):
            shown = excel_safe_column(raw)
        exprs.append(shown)
        if split:
            tokens = value.str.extract_all(r"\S+")
            blank = value.is_null() | (value == "")
            for c in split:
                chosen = tokens.list.contains(pl.lit(c["name"]))
                exprs.append(
                    pl.when(blank).then(None).when(chosen).then(pl.lit("1")).otherwise(pl.lit("0"))
                )
    # Blank cells written as nothing (Polars would quote "").
    return answers.select(
        pl.when(e == "").then(None).otherwise(e).alias(h)
        for e, h in zip(exprs, layout.header, strict=True)
    )


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """``frame`` as CSV rows (no header), CRLF line ends as RFC 4180 and Excel expect."""
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, line_terminator="\r\n")
    return buf.getvalue()


def meta_columns(
    rows: list, tz: str, local_datetimes: bool = False, household: str | None = None
) -> dict[str, pl.Series]:
    """The six meta columns of a batch of ``(instance_id, version, username, area_code,
    area_name, received_at, …)`` rows; ``received_at`` as ISO text, or with
    ``local_datetimes`` as naive datetimes of zone ``tz`` (``dataset.rows``' values).
    ``household`` names a seventh, after ``instance_id``: the rows' eighth value
    (``source.raw_batches(entities=True)``)."""
    cols = list(zip(*rows, strict=False)) if rows else [[]] * 8
    names = ["instance_id", "form_version", "submitted_by", "area_code", "area_name"]
    meta = {name: pl.Series(name, cols[i], dtype=pl.String) for i, name in enumerate(names)}
    if household:
        meta = {
            "instance_id": meta.pop("instance_id"),
            household: pl.Series(household, cols[7], dtype=pl.String),
            **meta,
        }
    if local_datetimes:
        meta["received_at"] = received_series(list(cols[5]), tz).dt.replace_time_zone(None)
    else:
        meta["received_at"] = received_column(list(cols[5]), tz)
    return meta
