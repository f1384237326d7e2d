"""The analysis tables of ``dataset.long`` built many submissions at a time with
Polars: the same values ``dataset.rows`` gives one submission at a time (that stays the
reference, and the fallback), as typed columns.

A batch of submissions becomes one frame per table: the main table, and for every
repeat its instances exploded to rows with ``_key``, ``_parent_key`` and ``_index``.
Answers are typed as ``dataset.typed`` types them (integers, decimals, dates, local
date-times; blanks null). When a value does not convert (or the versions disagree on a
path's shape) the batch raises ``bulk.NotColumnar`` and goes row by row instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import polars as pl
from sqlalchemy import Select

from fieldapp.dataset import bulk
from fieldapp.dataset.identify import Deidentifier
from fieldapp.dataset.long import MAIN, Table, Variable, household_of, long_dtype, rows
from fieldapp.dataset.source import SubmissionRow, raw_batches
from fieldapp.dataset.wide import merge_questions

_TZ_SUFFIX = r"(Z|[+-]\d{2}:?\d{2})$"


def _typed(var: Variable, value: pl.Expr) -> pl.Expr:
    """``dataset.typed`` as an expression: blank → null, then the column's type
    (``dataset.long_dtype``)."""
    value = pl.when(value == "").then(None).otherwise(value)
    dtype = long_dtype(var)
    if dtype == pl.Date:
        return value.str.to_date("%Y-%m-%d", strict=True)
    if dtype == pl.Datetime:  # local wall time as the phone recorded it
        wall = value.str.replace(_TZ_SUFFIX, "")
        return wall.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=True)
    return value.cast(dtype, strict=True)


def _explode(frame: pl.DataFrame, path: list[str], level: int) -> pl.DataFrame:
    """Rows of ``frame`` × the repeat instances at ``path`` below its node column, with
    the instance's number in ``\\0i{level}``; rows without instances drop out."""
    steps = ("\0node", *path) if level else tuple(path)
    index = f"\0i{level}"
    items = bulk.path_expr(steps)
    return (
        frame.with_columns(
            items.alias("\0node"),
            pl.int_ranges(1, items.list.len() + 1, dtype=pl.Int64).alias(index),
        )
        .explode("\0node", index)
        .filter(pl.col(index).is_not_null())
    )


def table_frames(
    tables: list[Table], answers: pl.DataFrame, meta: dict[str, pl.Series], deid: Deidentifier
) -> dict[str, pl.DataFrame]:
    """One batch as a frame per table, columns as ``Table.variables``.

    ``answers`` is ``bulk.decode``'s frame; ``meta`` the main table's meta columns in
    its order (``bulk.meta_columns``, with ``received_at`` a local naive datetime).
    Raises ``bulk.NotColumnar`` when a value does not convert to its type.
    """
    base = answers.hstack([s.alias(f"\0{name}") for name, s in meta.items()])
    out = {}
    for t in tables:
        if t.key == MAIN:
            frame, prefix = base, ()
            head = [pl.col(f"\0{name}").alias(name) for name in meta]
        else:
            frame, own = base, pl.col("\0instance_id")
            for level, path in enumerate(t.chain):
                frame = _explode(frame, path, level)
                parent = own
                own = (
                    parent
                    + pl.lit("/" + "/".join(path) + "[")
                    + pl.col(f"\0i{level}").cast(pl.String)
                    + pl.lit("]")
                )
                frame = frame.with_columns(own.alias("\0own"), parent.alias("\0parent"))
                own = pl.col("\0own")
            prefix = ("\0node",)
            last = f"\0i{len(t.chain) - 1}"
            head = [
                pl.col("\0own").alias("_key"),
                pl.col("\0parent").alias("_parent_key"),
                pl.col(last).alias("_index"),
                pl.col("\0instance_id").alias("instance_id"),
            ]
        variables = t.variables[len(head) :]
        raw = [bulk.path_expr((*prefix, *var.rel)) for var in variables]
        changing = [i for i, var in enumerate(variables) if deid.changes(var.question or {})]
        seen = frame.select(raw[i].alias(str(i)) for i in changing) if changing else None
        exprs = list(head)
        for i, var in enumerate(variables):
            value = raw[i]
            if seen is not None and i in changing:
                distinct = [v for v in seen[str(i)].unique().to_list() if v]
                if distinct:
                    value = value.replace(distinct, [deid.value(var.question, v) for v in distinct])
            if var.choice is not None:
                chosen = value.str.extract_all(r"\S+").list.contains(pl.lit(var.choice["name"]))
                blank = value.is_null() | (value == "")
                exprs.append(pl.when(blank).then(None).otherwise(chosen.cast(pl.Int64)))
            else:
                exprs.append(_typed(var, value))
        try:
            out[t.key] = frame.select(
                e.alias(v.name) for e, v in zip(exprs, t.variables, strict=True)
            )
        except pl.exceptions.PolarsError as exc:
            raise bulk.NotColumnar(str(exc)) from exc
    return out


def table_batches(
    tables: list[Table],
    versions: list,
    stmt: Select,
    deid: Deidentifier,
    tz: str,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 2000,
) -> Iterator[tuple[str, pl.DataFrame | list]]:
    """The submissions ``stmt`` selects as (table key, frame) per table per batch; a batch
    that cannot go in bulk comes as (table key, row) pairs from ``dataset.rows``.
    ``progress`` gets the number of submissions done after each batch. Batches are
    smaller than the wide CSV's: SPSS and Stata keep every table in memory, and a
    smaller batch leaves less behind in the allocator."""
    decode = bulk.decoder(merge_questions(v.schema for v in versions))
    household = household_of(next(t for t in tables if t.key == MAIN))
    done = 0
    for batch in raw_batches(stmt, batch_size, entities=bool(household)):
        meta = bulk.meta_columns(batch, tz, local_datetimes=True, household=household)
        answers = decode([row[6] for row in batch])
        frames = None
        if answers is not None:
            try:
                frames = table_frames(tables, answers, meta, deid)
            except bulk.NotColumnar:  # a value that does not convert to its type
                frames = None
        if frames is not None:
            yield from frames.items()
        else:
            yield from _rows_of(tables, batch, deid, tz)
        done += len(batch)
        if progress:
            progress(done)


def _rows_of(tables: list[Table], batch: list, deid: Deidentifier, tz: str):
    """A batch through ``dataset.rows`` (the one-at-a-time path)."""
    subs = [
        SubmissionRow(
            *row[:5],
            bulk.parse_received(row[5]),
            json.loads(row[6]) or {},
            row[7] if len(row) > 7 else None,
        )
        for row in batch
    ]
    yield from rows(tables, subs, deid, tz)


def as_rows(items) -> Iterator[tuple[str, list]]:
    """``table_batches``' output as (table key, row) pairs for the row writers."""
    for key, item in items:
        if isinstance(item, pl.DataFrame):
            for row in item.iter_rows():
                yield key, list(row)
        else:
            yield key, item
