"""Identifier marks read from an XLSForm when it is published (fieldapp's own column
``fieldapp::identifier`` on the survey sheet; pyxform ignores it). What the marks do to
exported values is ``fieldapp.dataset.identify``."""

from __future__ import annotations

import io
import warnings

PSEUDONYM = "pseudonym"
REMOVE = "remove"
KINDS = {
    "pseudonym": PSEUDONYM,
    "name": PSEUDONYM,
    "remove": REMOVE,
    "yes": REMOVE,
    "true": REMOVE,
    "1": REMOVE,
}


def identifier_marks(xlsform: bytes, filename: str = "form.xlsx") -> dict[str, str]:
    """Question name → ``pseudonym`` or ``remove``, from the ``fieldapp::identifier``
    column of the survey sheet of an .xlsx or .xls file (``{}`` when there is none).

    Read with pyxform's own sheet readers, so a column is seen exactly as pyxform sees
    the rest of the form (values trimmed, header case kept; we compare it lower-cased).
    """
    from pyxform.xls2json_backends import xls_to_dict, xlsx_to_dict

    reader = xls_to_dict if filename.lower().endswith(".xls") else xlsx_to_dict
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sheets = reader(io.BytesIO(xlsform))
    except Exception:  # noqa: BLE001 - damaged: pyxform already judged the file
        return {}
    survey = next((rows for name, rows in sheets.items() if name.strip().lower() == "survey"), None)
    marks = {}
    for row in survey or []:
        cells = {str(k).strip().lower(): v for k, v in row.items()}
        name, mark = cells.get("name"), cells.get("fieldapp::identifier")
        kind = KINDS.get(str(mark).strip().lower()) if name and mark is not None else None
        if kind:
            marks[str(name).strip()] = kind
    return marks
