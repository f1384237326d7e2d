"""A big CSV export is flattened many submissions at a time (Polars), and the researcher
gets exactly the cells the one-at-a-time path gives: same columns, same quoting, same
pseudonyms, same formula guard."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fieldapp.dataset import bulk
from fieldapp.exports.request import ExportRequest
from fieldapp.exports.services import stream_csv
from fieldapp.extensions import db
from fieldapp.scope import OPERATOR
from fieldapp.submissions.models import Submission
from fieldapp.surveys.services import get_form
from tests.helpers import (
    ALL_FORMS,
    SCREENING,
    fill_every_question,
    form_schema,
    screening_answers,
    xlsform,
)

TRICKY = [
    {},
    {
        "household_info.household_head": '=HYPERLINK("http://x","点我")',
        "household_info.phone": "0012345678",
        "household_info.address": "和平社区, 3栋\n“12”号",
        "situation.conflict_types": "",
        "situation.has_conflict": "no",
        "risk.referral": "none",
        "remarks": "-5",
    },
    {
        "household.household_members": [],
        "household.member_count": "0",
        "household.minor_count": "0",
        "remarks": "+86 138",
        "risk.next_visit_date": "",
    },
    {"remarks": '@SUM(A1) 与 "引号"', "situation.conflict_types": "dv"},
]


@pytest.fixture
def screened(submit):
    """The screening form with four submissions that stress quoting and blanks."""
    submit(SCREENING, [screening_answers(**changes) for changes in TRICKY])


def _export(app, form_id: str, row_by_row: bool, monkeypatch, **options) -> bytes:
    with app.app_context(), monkeypatch.context() as m:
        if row_by_row:

            def refuse(_questions):
                raise bulk.NotColumnar("test")

            m.setattr(bulk, "answer_schema", refuse)
        if "tz" in options:
            m.setitem(app.config, "TIMEZONE", options["tz"])
        request = ExportRequest.make(
            OPERATOR,
            get_form(form_id),
            values="labels" if options.get("labels") else "codes",
            language=options.get("language"),
            bom=options.get("bom", True),
            identifying=options.get("identifying", False),
        )
        return b"".join(stream_csv(request))


@pytest.mark.parametrize(
    "options",
    [
        {"identifying": True},
        {"identifying": False},
        {"identifying": True, "labels": True, "language": "English (en)"},
        {"identifying": False, "labels": True, "bom": False, "tz": "UTC"},
    ],
    ids=["codes", "deidentified", "labels-en", "deidentified-labels-utc"],
)
def test_bulk_csv_is_byte_for_byte_the_row_by_row_csv(app, screened, monkeypatch, options):
    fast = _export(app, "family_screening", False, monkeypatch, **options)
    slow = _export(app, "family_screening", True, monkeypatch, **options)
    assert fast.count(b"\r\n") == 5  # header and four submissions
    assert fast == slow


def test_bulk_csv_guards_formulas_and_keeps_leading_zeros(app, screened, monkeypatch):
    text = _export(app, "family_screening", False, monkeypatch, identifying=True).decode()
    assert "'=HYPERLINK" in text and ",0012345678," in text
    assert ",-5\r\n" in text or ",-5," in text  # a number, not a formula
    assert "'+86 138" in text and "'@SUM(A1)" in text


def test_versions_that_turn_a_question_into_a_group_still_export(
    app, publish, submit, tmp_path, monkeypatch
):
    """No single schema fits "place" as text in v1 and a group in v2: the export goes
    row by row and loses nothing."""
    v1 = tmp_path / "v1.xlsx"
    v1.write_bytes(
        xlsform(
            [["type", "name", "label"], ["text", "place", "地点"]],
            settings=[["form_id", "version"], ["moves", "1"]],
        )
    )
    v2 = tmp_path / "v2.xlsx"
    v2.write_bytes(
        xlsform(
            [
                ["type", "name", "label"],
                ["begin_group", "place", "地点"],
                ["text", "town", "镇"],
                ["end_group", "", ""],
            ],
            settings=[["form_id", "version"], ["moves", "2"]],
        )
    )
    publish(v1)
    publish(v2)
    submit("moves", [{"place": "青石镇"}], version="1")
    submit("moves", [{"place": {"town": "白沙镇"}}], version="2")
    text = _export(app, "moves", False, monkeypatch, identifying=True, bom=False).decode()
    header, first, second = text.splitlines()[:3]
    assert header.endswith("place/town,place")  # the newest version's order first
    assert first.endswith(",青石镇") and second.endswith(",白沙镇,")


def test_each_submission_keeps_its_repeat_counts(app, screened):
    with app.app_context():
        counts = db.session.scalars(select(Submission.repeat_counts).order_by(Submission.id)).all()
    assert counts == [
        {"household/household_members": 2},
        {"household/household_members": 2},
        {},
        {"household/household_members": 2},
    ]


def test_upgrading_counts_the_repeats_of_submissions_already_stored(tmp_path):
    import json
    import sqlite3

    from fieldapp.migrate import upgrade

    path = tmp_path / "old.sqlite3"
    upgrade(f"sqlite:///{path}", "0002")
    with sqlite3.connect(path) as con:  # a submission stored before 0003 (no FKs checked)
        con.execute(
            "INSERT INTO submissions (instance_id, form_pk, form_version_id, submitter_id,"
            " area_id, xml, xml_sha256, data, received_at) VALUES (?,1,1,1,1,'<d/>','0',?,?)",
            (
                "uuid:old",
                json.dumps({"trees": [{"stems": [{}, {}, {}]}, {"stems": [{}]}], "g": {"x": "1"}}),
                "2026-01-01 00:00:00.000000",
            ),
        )
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as con:
        (stored,) = con.execute("SELECT repeat_counts FROM submissions").fetchone()
    assert json.loads(stored) == {"trees": 2, "trees/stems": 3}


@pytest.mark.parametrize("identifying", [True, False], ids=["identifying", "deidentified"])
def test_answers_that_look_like_formulas_are_guarded_the_same_in_bulk(
    app, submit, tmp_path, monkeypatch, identifying
):
    """Southern-hemisphere GPS starts with "-" (guarded), -5 is a number (not guarded),
    choice names that are negative numbers stay as they are."""
    path = tmp_path / "guards.xlsx"
    path.write_bytes(
        xlsform(
            [
                ["type", "name", "label"],
                ["text", "note_text", "备注"],
                ["integer", "count", "数量"],
                ["geopoint", "spot", "位置"],
                ["select_one signs", "sign", "符号"],
                ["select_multiple signs", "signs", "符号们"],
            ],
            choices=[["list_name", "name", "label"], ["signs", "-1", "负"], ["signs", "1", "正"]],
            settings=[["form_id", "version"], ["guards", "1"]],
        )
    )
    submit(
        path,
        [
            {"note_text": "-abc", "count": "-5", "spot": "-33.92 18.42 0 5", "sign": "-1"},
            {"note_text": "=1+1", "count": "+7", "spot": "", "sign": "1", "signs": "-1 1"},
            {"note_text": "", "count": "", "spot": "30.27 120.15 0 5", "sign": "", "signs": ""},
        ],
    )
    options = {"identifying": identifying, "bom": False}
    fast = _export(app, "guards", False, monkeypatch, **options)
    slow = _export(app, "guards", True, monkeypatch, **options)
    assert fast.decode().splitlines() == slow.decode().splitlines()
    text = fast.decode()
    assert "'-abc" in text and "'=1+1" in text and ",-5," in text and ",+7," in text
    assert ("'-33.92 18.42 0 5" if identifying else "'-33.92 18.42") in text


def _by_table(pairs) -> dict[str, list]:
    """(table key, row) pairs as each table's rows, in order."""
    out: dict[str, list] = {}
    for key, row in pairs:
        out.setdefault(key, []).append(row)
    return out


@pytest.mark.parametrize("path", ALL_FORMS, ids=lambda p: p.name)
@pytest.mark.parametrize("identifying", [True, False], ids=["identifying", "deidentified"])
def test_bulk_analysis_tables_hold_exactly_the_row_by_row_values(
    app, publish, submit, path, identifying
):
    """XLSX, SPSS, Stata, R and long CSV read the same values whichever way a batch went;
    every real form (nested repeats included) goes in bulk."""
    import polars as pl

    from fieldapp.dataset.identify import deidentifier
    from fieldapp.dataset.long import build_tables
    from fieldapp.dataset.long_bulk import _rows_of, as_rows, table_batches
    from fieldapp.dataset.source import raw_batches

    form_id, _ = publish(path)
    answers, _ = fill_every_question(form_schema(app, form_id))
    submit(form_id, [answers, answers])  # two submissions
    with app.app_context():
        form = get_form(form_id)
        versions = list(reversed(form.versions))
        deid = deidentifier(form, identifying, app.config["INSTANCE_PATH"])
        tables = build_tables(versions, deid)
        stmt = select(Submission).where(Submission.form_pk == form.id)
        items = list(table_batches(tables, versions, stmt, deid, "Asia/Shanghai"))
        assert items and all(isinstance(item, pl.DataFrame) for _, item in items)
        fast = _by_table(as_rows(items))
        slow = _by_table(
            pair for b in raw_batches(stmt) for pair in _rows_of(tables, b, deid, "Asia/Shanghai")
        )
    assert fast == slow


def test_a_submission_stored_without_repeat_counts_still_gets_all_its_columns(
    app, screened, monkeypatch
):
    from sqlalchemy import update

    with app.app_context():
        db.session.execute(update(Submission).values(repeat_counts=None))
        db.session.commit()
    header = _export(app, "family_screening", False, monkeypatch, identifying=True)
    assert b"household/household_members[2]/member_age" in header.split(b"\r\n")[0]
