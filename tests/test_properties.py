"""Property-based tests (hypothesis, issue 14): whatever bytes a phone or an attacker
sends as a submission, and whatever a workbook holds, the parser and the XLSForm
importer either accept it or refuse it with their own error (a message a person can act
on); nothing else escapes (no 500). Accepted answers come back exactly as sent."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.submissions.parse import SubmissionError, project, read_envelope
from fieldapp.surveys.services import XLSFormError, convert_xlsform

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as XML 1.0 may carry it (no control characters but tab, LF, CR; no surrogates).
XML_TEXT = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="".join(chr(c) for c in range(32) if c not in (9, 10, 13))
        + "\ufffe\uffff",
    ),
    max_size=60,
)
SCHEMA = {
    "root": "data",
    "questions": [
        {"path": "/data/name", "name": "name", "type": "text", "data_type": "string"},
        {"path": "/data/note", "name": "note", "type": "text", "data_type": "string"},
        {"path": "/data/meta", "name": "meta", "type": "group"},
        {
            "path": "/data/meta/instanceID",
            "name": "instanceID",
            "type": "text",
            "data_type": "string",
        },
    ],
}


@FAST
@given(st.binary(max_size=400))
def test_any_bytes_are_read_or_refused_with_a_reason(raw):
    try:
        envelope = read_envelope(raw)
    except SubmissionError as exc:
        assert str(exc) and exc.status == 400
        return
    assert envelope.form_id and envelope.instance_id


@FAST
@given(st.text(max_size=200).map(lambda t: f'<?xml version="1.0"?><data id="f">{t}</data>'))
def test_any_text_inside_a_submission_is_read_or_refused_with_a_reason(xml):
    try:
        envelope = read_envelope(xml.encode("utf-8", "surrogatepass"))
        project(envelope, SCHEMA)
    except SubmissionError as exc:
        assert str(exc)


@FAST
@given(
    name=XML_TEXT,
    note=XML_TEXT,
    encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]),
)
def test_answers_come_back_exactly_as_sent_in_any_declared_encoding(name, note, encoding):
    xml = (
        f'<?xml version="1.0" encoding="{encoding}"?><data id="f">'
        f"<name>{escape(name)}</name><note>{escape(note)}</note>"
        "<meta><instanceID>uuid:6f1c1a38-7d9b-4a45-8c43-1f2a3b4c5d6e</instanceID></meta></data>"
    )
    envelope = read_envelope(xml.encode(encoding))
    data, files = project(envelope, SCHEMA)
    # XML normalises line ends (CR LF and lone CR become LF) in element text.
    same = lambda t: t.replace("\r\n", "\n").replace("\r", "\n")  # noqa: E731
    assert data["name"] == same(name) and data["note"] == same(note)
    assert files == []


TYPES = st.sampled_from(
    [
        "text",
        "integer",
        "decimal",
        "date",
        "select_one yn",
        "select_multiple yn",
        "note",
        "calculate",
        "begin_group",
        "end_group",
        "begin_repeat",
        "end_repeat",
        "txt",
        "",
        "select_one missing",
        "geopoint",
        "image",
    ]
)
CELL = st.one_of(st.none(), XML_TEXT.map(lambda t: t[:12]), st.integers(-5, 5))


def _workbook(rows: list[list], choices: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    survey = wb.active
    survey.title = "survey"
    survey.append(["type", "name", "label", "relevant", "calculation"])
    for row in rows:
        survey.append(row)
    sheet = wb.create_sheet("choices")
    sheet.append(["list_name", "name", "label"])
    for row in choices:
        sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(TYPES, CELL, CELL, CELL, CELL).map(list), max_size=8),
    choices=st.lists(
        st.tuples(st.sampled_from(["yn", "other", ""]), CELL, CELL).map(list), max_size=4
    ),
)
def test_any_workbook_is_published_or_refused_with_a_reason(rows, choices):
    try:
        xform, schema, _notes = convert_xlsform(_workbook(rows, choices), "random.xlsx")
    except XLSFormError as exc:
        assert str(exc)
        return
    assert "<h:html" in xform and schema["form_id"]
