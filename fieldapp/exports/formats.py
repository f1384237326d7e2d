"""Writers for analysis formats: XLSX, long CSV, SPSS ``.sav``, Stata ``.dta`` and R.

Every writer takes the tables of ``dataset.long`` and an iterator of (table key, row)
and writes into a folder; ``exports.bundle`` zips the folder when there is more than one
file. XLSX and CSV stream row by row (openpyxl's write-only mode), so their memory does
not grow with the number of submissions; SPSS and Stata go through pyreadstat, which
needs each table in memory (held as compact Polars columns).

Value codes for SPSS and Stata (which label numbers, not text): a select_one whose
choice names are all whole numbers keeps them; otherwise choices are numbered 1, 2, … in
choice-list order. Split select_multiple columns are 0/1. The codebook lists every code.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import polars as pl

from fieldapp.dataset.formula import excel_safe, quoted_format, write_text
from fieldapp.dataset.long import MAIN, Table, Variable, long_dtype
from fieldapp.dataset.wide import label_of
from fieldapp.exports.names import spss_names, stata_names


class ExportError(ValueError):
    """An export that cannot be made as asked; ``str()`` is the message for the user."""


TEXT_KINDS = {"text", "select_one", "select_multiple", "barcode", "instance_id"}


def var_label(var: Variable, language: str | None) -> str:
    """The variable's label in ``language`` (meta columns: their Chinese label)."""
    return label_of(var.labels, language) or var.name


def value_codes(var: Variable) -> dict[str, int] | None:
    """Choice name → number for a select_one column (``None`` for other columns)."""
    if var.kind != "select_one" or not var.choices:
        return None
    names = [c["name"] for c in var.choices]
    if all(re.fullmatch(r"-?\d{1,9}", n) for n in names):
        return {n: int(n) for n in names}
    return {n: i for i, n in enumerate(names, start=1)}


def value_labels(var: Variable, language: str | None) -> dict[int, str] | None:
    """Number → choice label for SPSS/Stata value labels (0/1 for split columns)."""
    if var.kind == "choice":
        return {0: "未选", 1: "选中"}
    codes = value_codes(var)
    if codes is None:
        return None
    return {codes[c["name"]]: label_of(c["labels"], language) or c["name"] for c in var.choices}


def file_stem(form_id: str, table: Table) -> str:
    """File (or sheet) stem of a table: the form id, plus the repeat's name."""
    safe = re.sub(r"[^\w-]", "_", form_id)
    return safe if table.key == MAIN else f"{safe}__{table.title}"


def stat_names(tables: list[Table], kind: str) -> dict[str, dict[str, str]]:
    """Per table: export name → SPSS (``kind="sav"``) or Stata (``"dta"``) name."""
    maker = spss_names if kind == "sav" else stata_names
    return {
        t.key: maker(
            [v.name for v in t.variables],
            {
                v.name: v.name.rsplit("/", 1)[-1]
                if not v.choice
                else f"{v.question['name']}_{v.choice['name']}"
                for v in t.variables
            },
        )
        for t in tables
    }


def write_csv(
    folder: Path,
    form_id: str,
    tables: list[Table],
    rows: Iterable,
    bom: bool = True,
    guard: bool = True,
) -> list[Path]:
    """One CSV per table (codes; dates ISO 8601), UTF-8 with BOM unless ``bom=False``;
    ``guard`` puts ``'`` before text a spreadsheet would run as a formula (for Excel;
    R and other analysis tools want the text as it is)."""
    files, writers = {}, {}
    try:
        for t in tables:
            path = folder / f"{file_stem(form_id, t)}.csv"
            fh = path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="")
            files[t.key] = (path, fh)
            writers[t.key] = csv.writer(fh, lineterminator="\r\n")
            writers[t.key].writerow([v.name for v in t.variables])
        for key, row in rows:
            writers[key].writerow(["" if c is None else _text(c, guard) for c in row])
    finally:
        for _, fh in files.values():
            fh.close()
    return [p for p, _ in files.values()]


def _text(value, guard: bool = True) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return excel_safe(value) if guard else value
    return str(value)


XLSX_MAX_ROWS = 1_048_576  # rows per worksheet, header included (Excel's limit)
XLSX_MAX_CHARS = 32_767  # characters per cell (Excel's limit)


def write_xlsx(
    path: Path,
    form_id: str,
    tables: list[Table],
    rows: Iterable,
    labels: bool = False,
    language: str | None = None,
) -> Path:
    """A workbook with one sheet per table; text stays text (leading zeros kept, never a
    formula: ``write_text``), dates are real dates. ``labels`` writes choice labels
    instead of codes.

    Written with XlsxWriter in constant-memory mode: each row goes to disk as it comes.
    Raises ``ExportError`` when a table has more rows than a worksheet holds (Excel:
    1,048,576); text longer than Excel's 32,767 characters per cell is cut there.
    """
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    formats = {
        datetime: wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        date: wb.add_format({"num_format": "yyyy-mm-dd"}),
    }
    quoted = quoted_format(wb)
    sheets, used = {}, set()
    for t in tables:
        title = re.sub(r"[\[\]:*?/\\]", "_", t.title)[:31]
        while title.lower() in used:
            title = title[:28] + f"_{len(used)}"
        used.add(title.lower())
        ws = wb.add_worksheet(title)
        for col, var in enumerate(t.variables):
            write_text(ws, 0, col, var.name, quoted=quoted)
        sheets[t.key] = [ws, t, 1]
    names = {
        t.key: [_choice_names(v, language) if labels else None for v in t.variables] for t in tables
    }
    try:
        for key, row in rows:
            sheet = sheets[key]
            ws, t, r = sheet
            if r >= XLSX_MAX_ROWS:
                raise ExportError(
                    f"表 {t.title} 超过 Excel 每张工作表 {XLSX_MAX_ROWS} 行的上限，"
                    "请改用 CSV、SPSS 或 Stata 格式，或用筛选条件分批导出"
                )
            for col, (value, var, lab) in enumerate(zip(row, t.variables, names[key], strict=True)):
                if value is None:
                    continue
                if lab and isinstance(value, str):
                    value = (
                        "; ".join(lab.get(v, v) for v in value.split())
                        if var.kind == "select_multiple"
                        else lab.get(value, value)
                    )
                if isinstance(value, str):
                    write_text(ws, r, col, value[:XLSX_MAX_CHARS], quoted=quoted)
                elif isinstance(value, datetime):
                    ws.write_datetime(r, col, value, formats[datetime])
                elif isinstance(value, date):
                    ws.write_datetime(r, col, value, formats[date])
                else:
                    ws.write_number(r, col, value)
            sheet[2] = r + 1
    finally:
        wb.close()
    return path


def _choice_names(var: Variable, language: str | None) -> dict[str, str] | None:
    if var.kind not in ("select_one", "select_multiple") or not var.choices:
        return None
    return {c["name"]: label_of(c["labels"], language) or c["name"] for c in var.choices}


# Label limits in bytes of UTF-8 (readstat's, after the formats): a Chinese character
# takes three.
LABEL_BYTES = {"sav": 256, "dta": 80}
VALUE_LABEL_BYTES = {"sav": 120, "dta": 32000}


def _cut(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` UTF-8 bytes, on a character boundary."""
    data = text.encode()
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def rows_frame(table: Table, rows: list[list]) -> pl.DataFrame:
    """Rows of ``dataset.rows`` as a typed frame (a value that does not fit is null)."""
    schema = {v.name: long_dtype(v) for v in table.variables}
    return pl.DataFrame(rows, schema=schema, orient="row", strict=False)


def _stat_frame(table: Table, names: dict[str, str], frame: pl.DataFrame) -> pl.DataFrame:
    """A long-table frame as SPSS/Stata columns: numbers (select_one codes, 0/1 splits,
    integers, decimals) as doubles, dates and date-times as such, the rest as text."""
    out = []
    for var in table.variables:
        col = pl.col(var.name)
        codes = value_codes(var)
        dt = (var.question or {}).get("data_type")
        if codes is not None:
            col = col.cast(pl.String).replace_strict(
                list(codes), list(codes.values()), default=None, return_dtype=pl.Float64
            )
        elif var.kind in ("choice", "integer", "decimal") or var.name == "_index":
            col = col.cast(pl.Float64, strict=False)
        elif var.kind in ("datetime", "start", "end") or dt == "dateTime":
            col = col.cast(pl.Datetime("us"), strict=False)
        elif dt == "date":
            col = col.cast(pl.Date, strict=False)
        else:
            col = col.cast(pl.String).fill_null("")
        out.append(col.alias(names[var.name]))
    return frame.select(out)


SAV_MAX_STRING_BYTES = 32_767  # the longest SPSS string variable (Stata's strL has room)


def cut_text(frame: pl.DataFrame, limit: int) -> pl.DataFrame:
    """``frame`` with every text longer than ``limit`` UTF-8 bytes cut there, on a
    character boundary (only the few long values go through Python)."""
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        column = frame[name]
        long = column.str.len_bytes() > limit
        if long.any():
            where = long.arg_true()
            cut = [_cut(v, limit) for v in column.gather(where).to_list()]
            frame = frame.with_columns(column.scatter(where, cut))
    return frame


def _compact(frame: pl.DataFrame) -> pl.DataFrame:
    """A copy of ``frame`` in buffers of its own. Text columns cut from a decoded batch
    are views into the whole batch's string buffers: kept as they are, every batch's
    decoded answers would stay in memory until the file is written."""
    buf = io.BytesIO()
    frame.write_ipc(buf)
    buf.seek(0)
    return pl.read_ipc(buf)


def _stat_frames(tables: list[Table], items: Iterable, names: dict) -> dict[str, pl.DataFrame]:
    """Each table as one Polars frame from ``long_bulk.table_batches``' items (frames,
    or rows of a batch that went row by row): the data lives as compact Arrow columns,
    not Python objects, until the writer takes it."""
    by_key = {t.key: t for t in tables}
    pending: dict[str, list] = {t.key: [] for t in tables}
    parts: dict[str, list[pl.DataFrame]] = {t.key: [] for t in tables}

    def flush(key: str) -> None:
        if pending[key]:
            frame = rows_frame(by_key[key], pending[key])
            parts[key].append(_stat_frame(by_key[key], names[key], frame))
            pending[key] = []

    for key, item in items:
        if isinstance(item, pl.DataFrame):
            flush(key)
            parts[key].append(_compact(_stat_frame(by_key[key], names[key], item)))
        else:
            pending[key].append(item)
            if len(pending[key]) >= 5000:
                flush(key)
    for t in tables:
        flush(t.key)
        if not parts[t.key]:
            parts[t.key].append(_stat_frame(t, names[t.key], rows_frame(t, [])))
    return {key: pl.concat(frames, rechunk=False) for key, frames in parts.items()}


def write_stats(
    folder: Path,
    form_id: str,
    tables: list[Table],
    rows: Iterable,
    kind: str,
    language: str | None = None,
) -> list[Path]:
    """SPSS (``kind="sav"``) or Stata (``"dta"``, format 119, Unicode) files, one per
    table, with variable labels, value labels and legal unique names. ``rows`` are
    ``long_bulk.table_batches`` items: (table key, frame) or (table key, row).

    pyreadstat writes a whole table at once (the formats put the row count and string
    widths before the data), so each table is held in memory, as Polars columns."""
    import pyreadstat

    names = stat_names(tables, kind)
    frames = _stat_frames(tables, rows, names)
    paths = []
    for t in tables:
        labels, vlabels = {}, {}
        for var in t.variables:
            name = names[t.key][var.name]
            labels[name] = _cut(var_label(var, language), LABEL_BYTES[kind])
            vl = value_labels(var, language)
            if vl:
                vlabels[name] = {k: _cut(v, VALUE_LABEL_BYTES[kind]) for k, v in vl.items()}
        frame = frames.pop(t.key)
        if kind == "sav":
            frame = cut_text(frame, SAV_MAX_STRING_BYTES)
        path = folder / f"{file_stem(form_id, t)}.{kind}"
        if kind == "sav":
            pyreadstat.write_sav(frame, path, column_labels=labels, variable_value_labels=vlabels)
        else:
            pyreadstat.write_dta(
                frame, path, column_labels=labels, variable_value_labels=vlabels, version=15
            )
        del frame
        paths.append(path)
    return paths


def _r(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_r(
    folder: Path, form_id: str, tables: list[Table], rows: Iterable, language: str | None = None
) -> list[Path]:
    """CSV files (codes) plus an R script that reads them with the right types, turns
    select_one columns into labelled factors and sets each column's ``label`` attribute."""
    csvs = write_csv(folder, form_id, tables, rows, bom=False, guard=False)
    lines = [
        f"# {form_id}: data exported by fieldapp. In R: setwd() to this folder, then",
        f'#   source("{form_id}.R", encoding = "UTF-8")',
        'read_fieldapp <- function(file) read.csv(file, fileEncoding = "UTF-8",',
        '  colClasses = "character", na.strings = "", check.names = FALSE)',
        "",
    ]
    for t, path in zip(tables, csvs, strict=True):
        obj = re.sub(r"\W", "_", file_stem(form_id, t))
        lines.append(f"{obj} <- read_fieldapp({_r(path.name)})")
        for var in t.variables:
            col = f"{obj}[[{_r(var.name)}]]"
            dt = (var.question or {}).get("data_type")
            if var.kind in ("integer", "decimal", "choice") or var.name == "_index":
                lines.append(f"{col} <- as.numeric({col})")
            elif dt == "date":
                lines.append(f"{col} <- as.Date({col})")
            elif dt == "dateTime" or var.name == "received_at":
                lines.append(f'{col} <- as.POSIXct({col}, tz = "Asia/Shanghai")')
            if var.kind == "select_one" and var.choices:
                levels = ", ".join(_r(c["name"]) for c in var.choices)
                labs = ", ".join(
                    _r(label_of(c["labels"], language) or c["name"]) for c in var.choices
                )
                lines.append(f"{col} <- factor({col}, levels = c({levels}), labels = c({labs}))")
            lines.append(f'attr({col}, "label") <- {_r(var_label(var, language))}')
        lines.append("")
    script = folder / f"{file_stem(form_id, tables[0])}.R"
    script.write_text("\n".join(lines), encoding="utf-8")
    return [*csvs, script]
