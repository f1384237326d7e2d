"""Spreadsheet formula guard (OWASP "CSV injection"): text that Excel or LibreOffice
would run as a formula gets a leading apostrophe; numbers such as ``-5`` stay as they are.
One rule, for single cells and for Polars columns.

Risky text starts with ``= + - @``, or with a tab, carriage return (OWASP's list) or
line feed; also when blanks (space, line break, ideographic space U+3000) come first,
which a spreadsheet may strip before it reads the cell, and with the full-width
``＝ ＋ － ＠`` that a Chinese input method types and some spreadsheets read as their ASCII forms.

``excel_safe`` guards CSV (text only: the apostrophe is the one mark Excel honours);
``write_text`` guards every XLSX cell of text we write, with openpyxl or XlsxWriter."""

from __future__ import annotations

import re

import polars as pl

# Written with escapes that Python's re and Polars' (Rust) regex read alike; \uff1d,
# \uff0b, \uff0d, \uff20 are ＝ ＋ － ＠, \u3000 the ideographic space.
_RISKY = r"^([\t\r\n]|[ \t\r\n\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20])"
_RISKY_RE = re.compile(_RISKY)
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_NUMBER_RE = re.compile(_NUMBER)

# Answers checked on receipt to be numbers, dates or times never start like a formula
# (submissions.parse.check_value).
_SAFE_DATA_TYPES = {"int", "decimal", "date", "dateTime", "time"}


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet might read ``text`` as a formula (the rule above),
    numbers included."""
    return bool(_RISKY_RE.match(text))


def excel_safe(cell: str) -> str:
    """``cell`` made inert: a leading ``'`` when it looks like a formula
    (``looks_like_formula``) and is not a number."""
    if cell and _RISKY_RE.match(cell) and not _NUMBER_RE.fullmatch(cell):
        return "'" + cell
    return cell


def excel_safe_column(column: pl.Expr) -> pl.Expr:
    """``excel_safe`` for every value of a text column (nulls stay null)."""
    risky = column.str.contains(_RISKY) & ~column.str.contains(f"^{_NUMBER}$")
    return pl.when(risky).then(pl.lit("'") + column).otherwise(column)


def write_text(ws, row: int, col: int, text: str, fmt=None, quoted=None) -> None:
    """Write ``text`` at (``row``, ``col``), counted from 0, of an XLSX worksheet as a text
    cell that shows exactly as typed and never runs as a formula.

    ``ws`` is an openpyxl or an XlsxWriter worksheet. The cell is a string cell (openpyxl
    would otherwise store text that starts with ``=`` as a live formula), and text that
    ``looks_like_formula`` gets the cell style's quote prefix (``quotePrefix``): Excel and
    LibreOffice show the text without any mark, and keep it text when someone edits the
    cell and presses Enter. OWASP's leading ``'`` is for CSV; in an XLSX it would show as
    part of the text. XlsxWriter formats are per workbook, so its callers pass ``fmt`` and
    the same format with ``quote_prefix`` as ``quoted`` (``quoted_format`` makes one).
    Numbers are not text: write them as numbers."""
    risky = looks_like_formula(text)
    if hasattr(ws, "write_string"):  # XlsxWriter
        if risky and quoted is None:
            raise TypeError("write_text on an XlsxWriter sheet needs quoted=quoted_format(wb)")
        ws.write_string(row, col, text, quoted if risky else fmt)
        return
    cell = ws.cell(row=row + 1, column=col + 1)
    cell.value = text
    cell.data_type = "s"
    if risky:
        cell.quotePrefix = True


def quoted_format(wb, props: dict | None = None):
    """An XlsxWriter format of ``props`` with the quote prefix, for ``write_text``."""
    return wb.add_format({**(props or {}), "quote_prefix": True})


def may_be_formula(q: dict) -> bool:
    """False when every answer question ``q`` can have is known to be formula-safe:
    checked numbers, dates and times, and static choices whose names are safe."""
    if q.get("data_type") in _SAFE_DATA_TYPES:
        return False
    names = [c["name"] for c in q.get("choices") or []]
    if q["type"] == "select_one" and q.get("choices_static"):
        return any(excel_safe(n) != n for n in names)
    if q["type"] == "select_multiple" and q.get("choices_static"):  # "-1 1" is no number
        return any(looks_like_formula(n) for n in names)
    return True
