"""A guard for uploaded .xlsx files, checked before openpyxl reads them.

An .xlsx is a zip of XML: a 700 KB upload may unzip to a sheet of a million rows, which
openpyxl would parse for half a minute. ``check_xlsx`` looks at the zip only (its
directory; each worksheet's declared dimension and its rows, counted while unzipping
without parsing) and refuses a file that is not a zip, that unzips too large, or whose
sheets declare or hold more rows than allowed. ``capped_rows``
then stops reading after the allowed number of rows, for a file that lies about its
size. Used by the people and area imports and the questionnaire upload.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator

from flask_babel import gettext as _

MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_ENTRIES = 1000  # a workbook has a few dozen parts
HEAD_BYTES = 16 * 1024  # <dimension> comes right after <sheetPr> at the top of a sheet
CHUNK_BYTES = 1024 * 1024
_ROW = re.compile(rb"<(?:\w+:)?row[\s/>]")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]*\d*:?[A-Z]*(\d+)\"")


class SpreadsheetFileError(ValueError):
    """The file is refused before it is read (the message says why, in Chinese)."""


class NotXlsxError(SpreadsheetFileError):
    """The file is not a zip at all (callers say so in their own words)."""


def check_xlsx(
    data: bytes,
    *,
    max_unzipped: int = MAX_UNZIPPED_BYTES,
    max_rows: int | None = None,
    what: str = "名单",
    trust_dimension: bool = True,
) -> None:
    """Refuse an .xlsx that is not a zip (``NotXlsxError``), that unzips to more than
    ``max_unzipped`` bytes, or a worksheet of which declares more than ``max_rows`` rows
    (``SpreadsheetFileError``). ``what`` names what the file should be (名单, 问卷).
    ``trust_dimension`` False: count the rows stored, whatever the sheet's declared
    dimension (Excel and LibreOffice often declare all 1,048,576 rows of a sheet that
    holds a hundred; real XLSForms do)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES or sum(i.file_size for i in infos) > max_unzipped:
                raise SpreadsheetFileError(_("文件解压后过大，不像是一份%(what)s", what=what))
            if max_rows is None:
                return
            for info in infos:
                name = info.filename
                if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                    continue
                with zf.open(info) as part:
                    head = part.read(HEAD_BYTES)
                    found = _DIMENSION.search(head)
                    if trust_dimension and found and int(found.group(1)) > max_rows:
                        raise SpreadsheetFileError(too_many_rows(max_rows))
                    if _count_rows(head, part, max_rows) > max_rows:
                        raise SpreadsheetFileError(too_many_rows(max_rows))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise NotXlsxError(_("文件不是有效的 .xlsx 表格")) from exc
    except (OSError, ValueError) as exc:
        if isinstance(exc, SpreadsheetFileError):
            raise
        raise NotXlsxError(_("文件不是有效的 .xlsx 表格")) from exc


def _count_rows(head: bytes, part, max_rows: int) -> int:
    """The ``<row>`` elements of a worksheet, counted while unzipping it a chunk at a time
    (no XML parsing: openpyxl parses a whole sheet that declares no dimension before it
    yields a row); stops past ``max_rows``."""
    count, tail, chunk = 0, b"", head
    while chunk:
        buf = tail + chunk
        cut = buf.rfind(b"<")  # a tag cut by the chunk's end waits for the next chunk
        if cut < 0:
            cut = len(buf)
        count += len(_ROW.findall(buf, 0, cut))
        if count > max_rows:
            break
        tail = buf[cut:]
        chunk = part.read(CHUNK_BYTES)
    return count + len(_ROW.findall(tail))


def too_many_rows(max_rows: int) -> str:
    return _("行数过多（最多 %(n)s 行）", n=max_rows)


def capped_rows(rows: Iterable, max_rows: int) -> Iterator:
    """``rows`` one by one; ``SpreadsheetFileError`` at row ``max_rows + 1`` (blank rows
    count: the cap bounds the work, whatever the sheet declares)."""
    for number, row in enumerate(rows, start=1):
        if number > max_rows:
            raise SpreadsheetFileError(too_many_rows(max_rows))
        yield row
