"""A researcher opens the exports in Excel, SPSS, Stata and R and finds exactly what was
submitted: Chinese intact, leading zeros kept, labels attached, repeats as their own
tables, two form versions together, and no direct identifier."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from fieldapp.exports.names import spss_names, stata_names
from tests.helpers import (
    BUNDLED_FORMS,
    SCREENING,
    SHARED_FORMS,
    api_token,
    export,
    post_submission,
    screening_answers,
    submission_xml,
    switch_user,
    xlsform,
)

LONG_GROUP = "a_group_with_a_rather_long_descriptive_name"
VISITS_V1 = xlsform(
    [
        ["type", "name", "label::中文 (zh)", "label::English (en)", "fieldapp::identifier"],
        ["text", "client_name", "当事人姓名", "Client name", "pseudonym"],
        ["text", "id_code", "档案编号", "File number", ""],
        ["select_one yn", "agreed", "是否达成协议", "Agreement reached", ""],
        ["select_multiple issue", "issues", "纠纷类型", "Issues", ""],
        ["integer", "hours", "用时（小时）", "Hours", ""],
        ["decimal", "cost", "费用", "Cost", ""],
        ["date", "visit_date", "走访日期", "Visit date", ""],
        ["geopoint", "where", "位置", "Location", ""],
        ["begin_group", LONG_GROUP, "组一", "Group one", ""],
        ["text", "note_text", "备注一", "Note one", ""],
        ["end_group", "", "", "", ""],
        ["begin_group", LONG_GROUP + "_b", "组二", "Group two", ""],
        ["text", "note_text_b", "备注二", "Note two", ""],
        ["end_group", "", "", "", ""],
        ["begin_repeat", "parties", "当事人", "Parties", ""],
        ["text", "party_role", "角色", "Role", ""],
        ["integer", "party_age", "年龄", "Age", ""],
        ["select_multiple issue", "party_issues", "涉及问题", "Issues", ""],
        ["end_repeat", "", "", "", ""],
    ],
    choices=[
        ["list_name", "name", "label::中文 (zh)", "label::English (en)"],
        ["yn", "yes", "是", "Yes"],
        ["yn", "no", "否", "No"],
        ["issue", "money", "经济", "Money"],
        ["issue", "care", "赡养", "Care"],
        ["issue", "dv", "家暴", "Violence"],
    ],
    settings=[
        ["form_id", "version", "form_title", "default_language"],
        ["visits", "1", "走访记录", "中文 (zh)"],
    ],
)


def _v2(data: bytes) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    survey = wb["survey"]
    survey.cell(row=6, column=3, value="用时（小时，四舍五入）")  # hours relabelled
    survey.append(["text", "follow_up", "后续安排", "Follow-up", ""])
    wb["settings"].cell(row=2, column=2, value="2")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


V1_ANSWERS = {
    "client_name": "王小红",
    "id_code": "007123",
    "agreed": "yes",
    "issues": "money dv",
    "hours": "3",
    "cost": "12.5",
    "visit_date": "2026-11-02",
    "where": "30.27411 120.15512 8 5",
    LONG_GROUP: {"note_text": "第一次走访"},
    LONG_GROUP + "_b": {"note_text_b": ""},
    "parties": [
        {"party_role": "妻子", "party_age": "34", "party_issues": "dv"},
        {"party_role": "丈夫", "party_age": "36", "party_issues": ""},
    ],
}
V2_ANSWERS = {
    **V1_ANSWERS,
    "client_name": "李四",
    "id_code": "000456",
    "agreed": "no",
    "issues": "",
    "parties": [{"party_role": "母亲", "party_age": "70", "party_issues": "care"}],
    "follow_up": "下周回访",
}


@pytest.fixture
def visits(submit, tmp_path):
    """Two versions of a visit form, one submission on each, from the 和平社区 mediator."""
    v1, v2 = tmp_path / "visits.xlsx", tmp_path / "visits_v2.xlsx"
    v1.write_bytes(VISITS_V1)
    v2.write_bytes(_v2(VISITS_V1))
    submit(v1, [V1_ANSWERS])
    submit(v2, [V2_ANSWERS])
    return "visits"


def download(client, world, form_id, query, who="researcher") -> tuple[bytes, str]:
    switch_user(client, getattr(world, who))
    resp = export(client, f"/data/{form_id}/export?{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.data, resp.headers["Content-Disposition"]


def unzip(data: bytes, tmp_path) -> dict[str, object]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(tmp_path)
        return {n: tmp_path / n for n in zf.namelist()}


def test_xlsx_keeps_text_as_text_dates_as_dates_and_repeats_as_sheets(client, world, visits):
    data, _ = download(client, world, visits, "format=xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["main", "parties"]
    main = list(wb["main"].values)
    header, rows = main[0], main[1:]
    row = dict(zip(header, rows[0], strict=True))
    assert row["id_code"] == "007123"  # leading zeros kept
    assert row["visit_date"].date().isoformat() == "2026-11-02"
    assert row["cost"] == 12.5 and row["hours"] == 3
    assert (row["issues/money"], row["issues/care"], row["issues/dv"]) == (1, 0, 1)
    second = dict(zip(header, rows[1], strict=True))
    assert (second["issues/money"], second["issues/dv"]) == (None, None)  # unanswered
    assert [r[:2] for r in rows] and [r[1] for r in rows] == ["1", "2"]  # form_version
    assert second["follow_up"] == "下周回访" and row["follow_up"] is None
    parties = list(wb["parties"].values)
    phead = parties[0]
    prow = [dict(zip(phead, r, strict=True)) for r in parties[1:]]
    assert [(p["parties/party_role"], p["parties/party_age"], p["_index"]) for p in prow] == [
        ("妻子", 34, 1),
        ("丈夫", 36, 2),
        ("母亲", 70, 1),
    ]
    assert prow[0]["_parent_key"] == row["instance_id"]
    assert (prow[0]["parties/party_issues/dv"], prow[1]["parties/party_issues/dv"]) == (1, None)


def test_spss_has_labels_value_labels_and_legal_unique_names(client, world, visits, tmp_path):
    data, _ = download(client, world, visits, "format=sav")
    files = unzip(data, tmp_path)
    df, meta = pyreadstat.read_sav(str(files["visits.sav"]))
    assert list(df["id_code"]) == ["007123", "000456"]
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["agreed"] == "是否达成协议"
    assert labels["hours"] == "用时（小时，四舍五入）"  # the newest label wins
    assert meta.variable_value_labels["agreed"] == {1: "是", 2: "否"}
    assert list(df["agreed"]) == [1, 2]
    assert len(set(n.lower() for n in meta.column_names)) == len(meta.column_names)
    assert all(len(n.encode()) <= 64 for n in meta.column_names)
    assert "visits_codebook.html" in files and "visits__parties.sav" in files
    parties, _ = pyreadstat.read_sav(str(files["visits__parties.sav"]))
    assert list(parties["parties_party_age"]) == [34, 36, 70]


def test_stata_names_fit_32_characters_and_never_collide(client, world, visits, tmp_path):
    data, _ = download(client, world, visits, "format=dta")
    files = unzip(data, tmp_path)
    df, meta = pyreadstat.read_dta(str(files["visits.dta"]))
    assert all(len(n) <= 32 and n.replace("_", "a").isalnum() for n in meta.column_names)
    assert len(set(n.lower() for n in meta.column_names)) == len(meta.column_names)
    notes = [n for n in meta.column_names if n.startswith("note_text")]
    assert len(notes) == 2  # two long group paths, two distinct names
    assert meta.variable_value_labels["agreed"] == {1: "是", 2: "否"}
    assert list(df["id_code"]) == ["007123", "000456"]
    codebook = files["visits_codebook.html"].read_text(encoding="utf-8")
    for name in meta.column_names:
        assert f"<td>{name}</td>" in codebook  # the mapping is in the codebook


def test_r_export_reads_back_with_its_script_inputs(client, world, visits, tmp_path):
    data, _ = download(client, world, visits, "format=r")
    files = unzip(data, tmp_path)
    script = files["visits.R"].read_text(encoding="utf-8")
    assert 'factor(visits[["agreed"]], levels = c("yes", "no"), labels = c("是", "否"))' in script
    assert 'attr(visits[["id_code"]], "label") <- "档案编号"' in script
    main = pd.read_csv(files["visits.csv"], dtype=str, keep_default_na=False)
    assert list(main["id_code"]) == ["007123", "000456"]
    parties = pd.read_csv(files["visits__parties.csv"], dtype=str, keep_default_na=False)
    assert list(parties["parties/party_role"]) == ["妻子", "丈夫", "母亲"]


def test_long_csv_and_codebook(client, world, visits, tmp_path):
    data, _ = download(client, world, visits, "format=csv-long")
    files = unzip(data, tmp_path)
    main = pd.read_csv(files["visits.csv"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(main["issues"]) == ["money dv", ""]
    assert list(main["issues/care"]) == ["0", ""]
    book, _ = download(client, world, visits, "format=codebook")
    ws = openpyxl.load_workbook(io.BytesIO(book))["codebook"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    head = [c.value for c in ws[2]]
    hours = dict(zip(head, rows["hours"], strict=True))
    assert hours["版本 versions"] == "2, 1"
    assert hours["标签 label (English (en))"] == "Hours"
    agreed = dict(zip(head, rows["agreed"], strict=True))
    assert agreed["选项 choices (code = label)"] == "yes = 是; no = 否"
    assert agreed["SPSS/Stata 数值"] == "1 = yes; 2 = no"
    follow = dict(zip(head, rows["follow_up"], strict=True))
    assert follow["版本 versions"] == "2"
    assert dict(zip(head, rows["client_name"], strict=True))["身份信息 identifier"] == "pseudonym"


@pytest.mark.parametrize("fmt", ["xlsx", "sav", "dta", "r", "csv-long", "codebook"])
def test_no_identifying_value_in_any_researcher_file(client, world, visits, tmp_path, fmt):
    data, _ = download(client, world, visits, f"format={fmt}")
    blobs = [data]
    if data[:2] == b"PK" and fmt != "xlsx" and fmt != "codebook":
        blobs = [p.read_bytes() for p in unzip(data, tmp_path).values()]
    elif fmt in ("xlsx", "codebook"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            blobs = [zf.read(n) for n in zf.namelist()]
    for blob in blobs:
        for secret in ("王小红", "李四", "120.15512", "30.27411"):
            assert secret.encode() not in blob, (fmt, secret)


def test_identifying_export_for_an_allowed_role(client, world, visits):
    data, _ = download(client, world, visits, "format=xlsx&identifying=1", who="admin")
    rows = list(openpyxl.load_workbook(io.BytesIO(data))["main"].values)
    assert "王小红" in rows[1]
    switch_user(client, world.researcher)
    assert client.get("/data/visits/export?format=xlsx&identifying=1").status_code == 403


@pytest.mark.parametrize("path", sorted(SHARED_FORMS.glob("*.xlsx")), ids=lambda p: p.name)
def test_every_real_form_exports_in_every_format(client, world, publish, submit, path):
    form_id, _ = publish(path)
    submit(form_id, [{}])  # an empty questionnaire still exports
    for fmt in ("xlsx", "sav", "dta", "r", "csv-long", "codebook", "codebook-html"):
        download(client, world, form_id, f"format={fmt}")


def test_screening_exports_read_back_equal_to_what_was_sent(client, world, submit, tmp_path):
    [iid] = submit(SCREENING, [screening_answers()])
    for fmt, reader in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        data, _ = download(client, world, "family_screening", f"format={fmt}")
        files = unzip(data, tmp_path / fmt)
        df, meta = reader(str(files[f"family_screening.{fmt}"]))
        assert df["instance_id"][0] == iid
        members, _ = reader(str(files[f"family_screening__household_members.{fmt}"]))
        assert sorted(members.filter(like="member_age").iloc[:, 0]) == [15, 41]


def test_names_never_collide_after_shortening():
    long = [f"group_{'x' * 70}/{name}" for name in ("answer", "answer_2", "Answer")]
    long += ["with", "all", "9lives", "名字"]
    for maker, limit in ((spss_names, 64), (stata_names, 32)):
        names = maker(long)
        assert len({n.lower() for n in names.values()}) == len(long)
        assert all(len(n.encode()) <= limit for n in names.values())
        assert names["with"].lower() != "with"


def test_a_record_name_built_from_an_identifier_never_reaches_a_researcher(
    app, client, world, publish, tmp_path
):
    publish(BUNDLED_FORMS / "mediation_visit.xlsx")
    answers = {"visit": {"household": "张秀英-和平路12号", "visit_date": "2026-01-02"}}
    xml, _ = submission_xml("mediation_visit", "2026120201", {})
    xml = xml.replace(
        b"</instanceID>",
        "</instanceID><instanceName>张秀英-和平路12号 2026-01-02</instanceName>".encode(),
    )
    token = api_token(app, world.mediator)
    assert post_submission(client, xml, token=token).status_code == 201, answers
    for fmt in ("xlsx", "sav", "dta", "csv-long"):
        data, _ = download(client, world, "mediation_visit", f"format={fmt}")
        blobs = [data]
        if data[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                blobs = [zf.read(n) for n in zf.namelist()]
        assert not any("张秀英".encode() in b for b in blobs), fmt
    table = client.get("/data/mediation_visit").get_data(as_text=True)
    assert "张秀英" not in table
    api = client.get("/api/v1/forms/mediation_visit/submissions").get_data(as_text=True)
    assert "张秀英" not in api and "\\u5f20" not in api


def test_chinese_question_names_stay_readable_in_spss_and_stata(client, world, submit, tmp_path):
    form = tmp_path / "zh.xlsx"
    form.write_bytes(
        xlsform(
            [["type", "name", "label"], ["text", "姓名", "姓名"], ["integer", "年龄", "年龄"]],
            settings=[["form_id", "version"], ["zh_names", "1"]],
        )
    )
    submit(form, [{"姓名": "甲", "年龄": "30"}])
    for fmt, reader in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        files = unzip(download(client, world, "zh_names", f"format={fmt}")[0], tmp_path / fmt)
        _, meta = reader(str(files[f"zh_names.{fmt}"]))
        assert {"年龄"} <= set(meta.column_names), fmt


def test_text_longer_than_an_excel_cell_is_cut_at_excels_limit(client, world, submit):
    submit(SCREENING, [screening_answers(remarks="长" * 40000)])
    data, _ = download(client, world, "family_screening", "format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data))["main"]
    header = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=header.index("remarks") + 1).value == "长" * 32767


def test_a_question_that_changes_type_between_versions_loses_no_answer(
    client, world, submit, tmp_path
):
    """select_multiple → select_one stays split into choices (the old list's "blue"
    included), integer → decimal stays numeric, integer → text becomes text."""

    def version(n: str, fav: str, num: str, code: str, colours: list[str]) -> object:
        path = tmp_path / f"prefs{n}.xlsx"
        path.write_bytes(
            xlsform(
                [
                    ["type", "name", "label"],
                    [f"{fav} colours", "fav", "喜欢的颜色"],
                    [num, "num", "数量"],
                    [code, "code", "编号"],
                ],
                choices=[["list_name", "name", "label"]]
                + [["colours", c, c.upper()] for c in colours],
                settings=[["form_id", "version"], ["prefs", n]],
            )
        )
        return path

    for n, spec, answers in [
        (
            "1",
            ("select_multiple", "integer", "integer", ["red", "blue", "green"]),
            {"fav": "red blue", "num": "3", "code": "7"},
        ),
        (
            "2",
            ("select_one", "decimal", "text", ["red", "green"]),
            {"fav": "green", "num": "2.5", "code": "A7"},
        ),
    ]:
        submit(version(n, *spec), [answers])

    switch_user(client, world.researcher)
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/data/prefs/export.csv?bom=0").get_data(as_text=True))
        )
    )
    assert [(r["fav/red"], r["fav/blue"], r["fav/green"]) for r in rows] == [
        ("1", "1", "0"),
        ("0", "0", "1"),
    ]
    data, _ = download(client, world, "prefs", "format=sav")
    files = unzip(data, tmp_path / "sav")
    df, meta = pyreadstat.read_sav(str(files["prefs.sav"]))
    assert list(df["num"]) == [3.0, 2.5] and list(df["code"]) == ["7", "A7"]
    assert list(df["fav_blue"]) == [1, 0] and list(df["fav"]) == ["red blue", "green"]


def test_text_longer_than_spss_allows_is_cut_to_a_valid_file(client, world, submit, tmp_path):
    """SPSS strings hold 32,767 bytes: longer remarks are cut there (on a character
    boundary), not written as a width SPSS cannot read."""
    remarks = "长" * 20000  # 60,000 bytes of UTF-8
    submit(SCREENING, [screening_answers(remarks=remarks)])
    data, _ = download(client, world, "family_screening", "format=sav")
    files = unzip(data, tmp_path / "sav")
    df, meta = pyreadstat.read_sav(str(files["family_screening.sav"]))
    assert df["remarks"][0] == "长" * (32767 // 3)
    assert len(df.columns) == len(meta.column_names) and "remarks" in meta.column_names
    assert not [c for c in df.columns if c.upper().startswith("REMAR") and c != "remarks"]
    data, _ = download(client, world, "family_screening", "format=dta")
    df, _ = pyreadstat.read_dta(str(unzip(data, tmp_path / "dta")["family_screening.dta"]))
    assert df["remarks"][0] == remarks  # Stata's strL holds it all


def test_the_codebook_of_a_form_without_languages_and_of_an_identifying_export(
    app, client, world, visits, publish, tmp_path
):
    """Plain "label" columns give one label column with the labels in it; an admin's
    identifying codebook still says which questions identify people."""
    path = tmp_path / "plain.xlsx"
    path.write_bytes(
        xlsform(
            [["type", "name", "label"], ["integer", "age", "年龄"]],
            settings=[["form_id", "version"], ["plain", "1"]],
        )
    )
    publish(path)
    book, _ = download(client, world, "plain", "format=codebook")
    ws = openpyxl.load_workbook(io.BytesIO(book))["codebook"]
    head = [c.value for c in ws[2]]
    rows = {
        r[1]: dict(zip(head, r, strict=True)) for r in ws.iter_rows(min_row=3, values_only=True)
    }
    assert "标签 label" in head and rows["age"]["标签 label"] == "年龄"
    book, _ = download(client, world, visits, "format=codebook&identifying=1", who="admin")
    ws = openpyxl.load_workbook(io.BytesIO(book))["codebook"]
    head = [c.value for c in ws[2]]
    rows = {
        r[1]: dict(zip(head, r, strict=True)) for r in ws.iter_rows(min_row=3, values_only=True)
    }
    assert rows["client_name"]["身份信息 identifier"] == "pseudonym"


def test_r_gets_text_as_sent_while_csv_for_excel_is_guarded(client, world, submit, tmp_path):
    submit(SCREENING, [screening_answers(remarks="=1+1")])
    r_files = unzip(download(client, world, "family_screening", "format=r")[0], tmp_path / "r")
    long_files = unzip(download(client, world, "family_screening", "format=csv-long")[0], tmp_path)
    for files, want in ((r_files, "=1+1"), (long_files, "'=1+1")):
        main = pd.read_csv(files["family_screening.csv"], dtype=str, keep_default_na=False)
        assert main["remarks"][0].lstrip("\ufeff") == want
