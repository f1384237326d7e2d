"""Reading an area file (XLSX or CSV) into rows: code, name, parent code.

The first row holds the headers, in English ``code,name,parent`` or Chinese
``代码,名称,上级代码`` (the parent column may be left out); other columns are ignored.
CSV files may be UTF-8 (with or without BOM) or GB18030/GBK, as Excel saves them on a
Chinese Windows. Row numbers are the spreadsheet's (the header is row 1).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass

from flask_babel import gettext as _

from fieldapp.spreadsheet_files import (
    NotXlsxError,
    SpreadsheetFileError,
    capped_rows,
    check_xlsx,
)

MAX_BYTES = 5 * 1024 * 1024  # a whole city's villages take ~100 KB
MAX_ROWS = 50_000
MAX_SHEET_ROWS = 100_000  # rows the sheet may have, blank ones included (read no further)
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024  # 50,000 villages unzip to ~10 MB
HEADERS = {
    "code": "code",
    "代码": "code",
    "区划代码": "code",
    "name": "name",
    "名称": "name",
    "区划名称": "name",
    "parent": "parent",
    "上级代码": "parent",
    "parent code": "parent",
    "parent_code": "parent",
}


@dataclass(frozen=True)
class FileRow:
    """One data row: its spreadsheet row number and the three cells as text."""

    row: int
    code: str
    name: str
    parent: str


@dataclass(frozen=True)
class Problem:
    """Why a file (``row`` None) or one of its rows cannot be imported."""

    row: int | None
    message: str

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        return _("第 %(row)s 行：%(message)s", row=self.row, message=self.message)


class AreaFileError(ValueError):
    """The file is refused whole; ``problems`` say where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _text(value) -> str:
    """A cell as text: Excel numbers without ``.0`` (codes typed as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _xlsx_rows(data: bytes):
    import openpyxl

    unreadable = _("文件无法读取：不是有效的 .xlsx 文件")
    try:
        check_xlsx(data, max_unzipped=MAX_UNZIPPED_BYTES, max_rows=MAX_SHEET_ROWS, what="区划表")
    except NotXlsxError as exc:
        raise AreaFileError([Problem(None, unreadable)]) from exc
    except SpreadsheetFileError as exc:
        raise AreaFileError([Problem(None, str(exc))]) from exc
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise AreaFileError([Problem(None, unreadable)]) from exc
    try:
        sheet = wb.worksheets[0]
        for values in capped_rows(sheet.iter_rows(values_only=True), MAX_SHEET_ROWS):
            yield [_text(v) for v in values]
    except SpreadsheetFileError as exc:
        raise AreaFileError([Problem(None, str(exc))]) from exc
    finally:
        wb.close()


def _csv_rows(data: bytes):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # gb18030 decodes nearly anything; kept for the reader's peace of mind
        raise AreaFileError([Problem(None, _("文件无法读取：请保存为 UTF-8 编码的 CSV"))])
    if "\x00" in text:
        raise AreaFileError([Problem(None, _("文件无法读取：不是文本格式的 CSV"))])
    try:
        for values in capped_rows(csv.reader(io.StringIO(text, newline="")), MAX_SHEET_ROWS):
            yield [v.strip() for v in values]
    except csv.Error as exc:
        raise AreaFileError([Problem(None, _("CSV 格式有误：%(e)s", e=str(exc)))]) from exc
    except SpreadsheetFileError as exc:
        raise AreaFileError([Problem(None, str(exc))]) from exc


def read_area_file(data: bytes, filename: str, max_bytes: int = MAX_BYTES) -> list[FileRow]:
    """The data rows of an area file (blank rows skipped). Raises ``AreaFileError`` for
    a file too big, of another kind, unreadable, without the headers, or without rows."""
    if len(data) > max_bytes:
        raise AreaFileError(
            [
                Problem(
                    None,
                    _(
                        "文件太大（%(size)s MB），上限 %(max)s MB；请分成几个文件导入",
                        size=f"{len(data) / 1048576:.1f}",
                        max=f"{max_bytes / 1048576:.0f}",
                    ),
                )
            ]
        )
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        return _data_rows(_xlsx_rows(data))
    elif name.endswith(".csv") or name.endswith(".txt"):
        return _data_rows(_csv_rows(data), csv_file=True)
    else:
        raise AreaFileError(
            [Problem(None, _("只能导入 .xlsx 或 .csv 文件（.xls 请另存为 .xlsx）"))]
        )


def _data_rows(rows, csv_file: bool = False) -> list[FileRow]:
    """The data rows; in a CSV a row with a filled cell beyond the header's is refused
    (an unquoted comma in a name would shift the columns after it)."""
    columns: dict[str, int] | None = None
    width = 0
    out: list[FileRow] = []
    wide: list[Problem] = []
    for number, values in enumerate(rows, start=1):
        if not any(values):
            continue
        if columns is None:
            columns = _columns(number, values)
            width = len(values)
            continue
        if csv_file and any(values[width:]):
            wide.append(
                Problem(
                    None,
                    _(
                        "第 %(row)s 行的列数比表头多：名称中可能有未加引号的逗号",
                        row=number,
                    ),
                )
            )
            continue
        if len(out) >= MAX_ROWS:
            raise AreaFileError(
                [Problem(None, _("行数太多（超过 %(n)s 行）；请分成几个文件导入", n=MAX_ROWS))]
            )

        out.append(
            FileRow(number, *(_cell(values, columns, k) for k in ("code", "name", "parent")))
        )
    if wide:
        raise AreaFileError(wide)
    if columns is None or not out:
        raise AreaFileError(
            [Problem(None, _("文件里没有区划：第一行是表头，从第二行起每行一个区划"))]
        )
    return out


def _cell(values: list[str], columns: dict[str, int], key: str) -> str:
    i = columns.get(key)
    return values[i] if i is not None and i < len(values) else ""


def _columns(number: int, values: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for i, value in enumerate(values):
        key = HEADERS.get(" ".join(value.lower().split()))
        if key and key not in columns:
            columns[key] = i
    if "code" not in columns or "name" not in columns:
        raise AreaFileError(
            [
                Problem(
                    number,
                    _(
                        "表头应为 代码,名称,上级代码 或 code,name,parent（上级代码可省略），"
                        "这里是：%(found)s",
                        found="，".join(v for v in values if v)[:200],
                    ),
                )
            ]
        )
    return columns
