"""Spreadsheet formula guard (OWASP "CSV injection"): text that Excel or LibreOffice
would run as a formula gets a leading apostrophe; numbers such as ``-5`` stay as they are.
One rule, for single cells and for Polars columns."""

from __future__ import annotations

import re

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_NUMBER_RE = re.compile(_NUMBER)

# Answers checked on receipt to be numbers, dates or times never start like a formula
# (submissions.parse.check_value).
_SAFE_DATA_TYPES = {"int", "decimal", "date", "dateTime", "time"}


def excel_safe(cell: str) -> str:
    """``cell`` made inert: a leading ``'`` when it starts with ``= + - @`` (or tab/CR)
    and is not a number."""
    if cell and cell.startswith(FORMULA_START) and not _NUMBER_RE.fullmatch(cell):
        return "'" + cell
    return cell


def excel_safe_column(column: pl.Expr) -> pl.Expr:
    """``excel_safe`` for every value of a text column (nulls stay null)."""
    start = "^[" + re.escape("".join(FORMULA_START)) + "]"
    risky = column.str.contains(start) & ~column.str.contains(f"^{_NUMBER}$")
    return pl.when(risky).then(pl.lit("'") + column).otherwise(column)


def may_be_formula(q: dict) -> bool:
    """False when every answer question ``q`` can have is known to be formula-safe:
    checked numbers, dates and times, and static choices whose names are safe."""
    if q.get("data_type") in _SAFE_DATA_TYPES:
        return False
    names = [c["name"] for c in q.get("choices") or []]
    if q["type"] == "select_one" and q.get("choices_static"):
        return any(excel_safe(n) != n for n in names)
    if q["type"] == "select_multiple" and q.get("choices_static"):  # "-1 1" is no number
        return any(n.startswith(FORMULA_START) for n in names)
    return True
