"""Where an XLSForm refusal points: pyxform's message completed with the sheet, row,
column and value of the cell at fault, so that the author can go straight to it.

pyxform names these in several shapes, and some not at all:
``[row : 3] On the 'survey' sheet, the 'name' value 'a' is invalid`` (all but the value
for most columns), ``[row : 2] On the 'survey' sheet: Unknown question type 'txt'`` (no
column), ``[row : 2] Unmatched 'begin_group'`` (no sheet), ``There should be a choices
sheet in this xlsform`` (nothing: the select whose list is missing), ``See [a b] in
[colors]`` (a choice name and its list, nothing else). ``locate`` reads the
workbook to fill in what the message leaves out; the message itself is kept whole.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

_ROW = re.compile(r"\[row\s*:\s*(\d+)\]", re.I)
_SHEET = re.compile(r"On the '([^']+)' sheet", re.I)
_COLUMN = re.compile(r"the '([^']+)' value", re.I)
_QUOTED = re.compile(r"'([^']+)'")
_SELECT = re.compile(r"^\s*(select_one|select_multiple|rank)\s+(\S+)", re.I)
_IN_LIST = re.compile(r"\[([^\]]+)\] in \[([^\]]+)\]")  # "See [a b] in [colors]"
_LIST_NAME = re.compile(r"List name not in choices sheet: (\S+)", re.I)


@dataclass
class Place:
    """A cell of the workbook: sheet name, row (1-based, as Excel shows it), column
    header and the value there (each None when unknown)."""

    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def describe(self) -> str:
        """In Chinese: 工作表“survey”第 3 行“name”列（内容：a）; "" when nothing is known."""
        parts = []
        if self.sheet:
            parts.append(f"工作表“{self.sheet}”")
        if self.row:
            parts.append(f"第 {self.row} 行")
        if self.column:
            parts.append(f"“{self.column}”列")
        text = "".join(parts)
        if self.value not in (None, ""):
            text += f"（内容：{str(self.value)[:200]}）"
        return text


def locate(message: str, data: bytes) -> str:
    """``message`` (pyxform's) led by where it points in the XLSForm ``data``:
    "工作表“survey”第 2 行“type”列（内容：txt）：<message>". Best effort: a workbook
    that cannot be read leaves the message as it is."""
    try:
        place = find(message, _sheets(data))
    except Exception:  # noqa: BLE001 - locating must never hide the refusal itself
        return message
    where = place.describe()
    return f"{where}：{message}" if where else message


def find(message: str, sheets: dict[str, list[list]]) -> Place:
    """The ``Place`` ``message`` points to in ``sheets`` (sheet name, lower case → rows
    of cell values, the header first)."""
    place = Place()
    m = _SHEET.search(message)
    place.sheet = m.group(1).lower() if m else None
    m = _ROW.search(message)
    place.row = int(m.group(1)) if m else None
    m = _COLUMN.search(message)
    place.column = m.group(1) if m else None
    quoted = [q for q in _QUOTED.findall(message) if q.lower() not in {place.sheet, place.column}]
    quoted += _LIST_NAME.findall(message)
    if place.row and not place.sheet:
        place.sheet = "survey"
    in_list = _IN_LIST.search(message)
    if place.row is None and in_list:
        _choice(place, sheets, *in_list.groups())
    if place.row is None:
        _search(place, sheets, quoted, message)
    rows = sheets.get(place.sheet or "", [])
    if not place.row or place.row > len(rows):
        return place
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    cells = rows[place.row - 1]
    if place.column is None:
        words = [set(str(c).split()) if c is not None else set() for c in cells]
        for test in (lambda i: str(cells[i]).strip() in quoted, lambda i: words[i] & set(quoted)):
            found = [
                i for i in range(min(len(cells), len(header))) if cells[i] is not None and test(i)
            ]
            if found:
                place.column = header[found[0]]
                break
    if place.column is not None:
        i = _column_index(header, place.column)
        if i is not None and i < len(cells):
            place.column = header[i]
            place.value = None if cells[i] is None else str(cells[i]).strip()
    return place


def _column_index(header: list[str], name: str) -> int | None:
    lowered = [h.lower() for h in header]
    name = name.lower()
    if name in lowered:
        return lowered.index(name)
    return next((i for i, h in enumerate(lowered) if h.startswith(name + "::")), None)


def _choice(place: Place, sheets: dict, name: str, list_name: str) -> None:
    """The row of choice ``name`` of list ``list_name`` on the choices sheet."""
    rows = sheets.get("choices", [])
    if not rows:
        return
    header = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    if "list_name" not in header or "name" not in header:
        return
    li, ni = header.index("list_name"), header.index("name")
    for n, row in enumerate(rows[1:], start=2):
        cells = [str(c).strip() if c is not None else "" for c in row]
        if len(cells) > max(li, ni) and cells[li] == list_name and cells[ni] == name:
            place.sheet, place.row, place.column = "choices", n, "name"
            return


def _search(place: Place, sheets: dict, quoted: list[str], message: str) -> None:
    """No row in the message: the select whose choice list is missing, else the first
    cell holding one of the quoted values (survey sheet first)."""
    survey = sheets.get("survey", [])
    if "choices" in message.lower() and survey:
        header = [str(h).strip().lower() if h is not None else "" for h in survey[0]]
        lists = {str(r[0]).strip() for r in sheets.get("choices", [])[1:] if r and r[0]}
        if "type" in header:
            t = header.index("type")
            for n, row in enumerate(survey[1:], start=2):
                m = _SELECT.match(str(row[t] or "")) if t < len(row) else None
                if m and m.group(2) not in lists:
                    place.sheet, place.row, place.column = "survey", n, "type"
                    return
    for name in ("survey", "choices", "settings", "entities"):
        for n, row in enumerate(sheets.get(name, []), start=1):
            if any(c is not None and str(c).strip() in quoted for c in row):
                place.sheet, place.row = name, n
                return


def _sheets(data: bytes) -> dict[str, list[list]]:
    """Every sheet's rows (values), by lower-case sheet name; .xlsx only (an .xls file,
    or anything unreadable, gives none)."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return {
            name.lower(): [list(r) for r in wb[name].iter_rows(values_only=True)]
            for name in wb.sheetnames
        }
    finally:
        wb.close()
