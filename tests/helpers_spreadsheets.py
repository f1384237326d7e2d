"""Hostile .xlsx files for the import tests (made once per test run)."""

from __future__ import annotations

import functools
import io
import re
import zipfile

BOMB_ROWS = 1_000_000


@functools.cache
def xlsx_bomb(lying: bool = False) -> bytes:
    """An .xlsx of a header and a million one-cell rows, under 5 MB zipped and ~50 MB
    unzipped (XlsxWriter's constant_memory mode writes it row by row). ``lying``: its
    without the ``<dimension>`` that declares its size."""
    import xlsxwriter

    raw = io.BytesIO()
    book = xlsxwriter.Workbook(raw, {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["code", "name", "parent"])
    for row in range(1, BOMB_ROWS):
        sheet.write_number(row, 0, 1)
    book.close()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst,
    ):
        for info in src.infolist():
            part = src.read(info)
            if lying and info.filename == "xl/worksheets/sheet1.xml":
                part = re.sub(rb"<dimension [^>]*/>", b"", part, count=1)
            dst.writestr(info.filename, part)
    return out.getvalue()
