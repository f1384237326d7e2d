"""The bundled questionnaires (questionnaires/): a researcher edits the .xlsx, the .md beside
it is its text for review; pyxform reads both alike, and every questionnaire keeps the
conventions that questionnaires/README.md states."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from pyxform.xls2json_backends import md_to_dict, xlsx_to_dict
from pyxform.xls2xform import convert
from sqlalchemy import select

from tests.helpers import BUNDLED_FORMS

SCRIPT = BUNDLED_FORMS.parent / "scripts" / "questionnaires.py"
FORMS = sorted(p for p in BUNDLED_FORMS.glob("*.xlsx") if not p.name.startswith("~$"))
ZH, EN = "中文 (zh)", "English (en)"
TEXT_COLUMNS = ("label", "hint", "guidance_hint", "constraint_message", "required_message")
# rows that carry no label: calculations, ends of groups, metadata pyxform fills in itself
NO_LABEL = {
    "calculate",
    "start",
    "end",
    "today",
    "deviceid",
    "phonenumber",
    "username",
    "email",
    "audit",
    "simserial",
    "subscriberid",
    "start-geopoint",
}
ENDS = {"end_group", "end group", "end_repeat", "end repeat"}
NOT_FOR_RESPONDENTS = ("问题家庭",)  # worker-facing titles only
ASCII_SNAKE = re.compile(r"[a-z][a-z0-9_]*")
ASCII_CODE = re.compile(r"[A-Za-z0-9_]+")

each_form = pytest.mark.parametrize("path", FORMS, ids=lambda p: p.stem)


def _script(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True
    )


def _sheets(path: Path) -> dict:
    return xlsx_to_dict(str(path))


def test_the_bundled_questionnaires_are_here():
    assert {p.stem for p in FORMS} >= {
        "family_screening",
        "left_behind_child",
        "left_behind_elderly",
        "left_behind_women",
        "mediation_visit",
        "referral",
        "zero_report",
        "outreach_activity",
        "court_work",
    }


def test_every_text_is_current_with_its_workbook():
    result = _script("--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_the_check_names_a_missing_stale_or_orphaned_text(tmp_path):
    xlsx = tmp_path / "mediation_visit.xlsx"
    shutil.copy(BUNDLED_FORMS / "mediation_visit.xlsx", xlsx)
    (tmp_path / "README.md").write_text("# not a questionnaire\n")

    result = _script("--check", tmp_path)
    assert result.returncode == 1 and "mediation_visit.md is missing" in result.stdout
    assert _script(tmp_path).returncode == 0
    assert _script("--check", tmp_path).returncode == 0
    assert xlsx.with_suffix(".md").read_text() == (BUNDLED_FORMS / "mediation_visit.md").read_text()

    wb = openpyxl.load_workbook(xlsx)  # a researcher changes a label in Excel
    wb["survey"]["C4"] = "走访基本信息"
    wb.save(xlsx)
    result = _script("--check", tmp_path)
    assert result.returncode == 1 and "mediation_visit.md differs" in result.stdout
    assert _script(tmp_path).returncode == 0
    assert "| 走访基本信息 |" in xlsx.with_suffix(".md").read_text()

    xlsx.unlink()  # the questionnaire is withdrawn; its text must go too, the README stays
    result = _script("--check", tmp_path)
    assert result.returncode == 1 and "mediation_visit.md: its .xlsx is gone" in result.stdout
    assert _script(tmp_path).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]


def test_a_line_break_in_a_cell_is_refused_with_its_place(tmp_path):
    xlsx = tmp_path / "mediation_visit.xlsx"
    wb = openpyxl.load_workbook(BUNDLED_FORMS / "mediation_visit.xlsx")
    wb["survey"]["C4"] = "走访\n信息"
    wb.save(xlsx)
    result = _script(tmp_path)
    assert result.returncode == 1
    assert "mediation_visit.xlsx, sheet survey, row 4, column label::中文 (zh)" in result.stderr
    assert not xlsx.with_suffix(".md").exists()


@each_form
def test_pyxform_reads_the_text_as_the_workbook(path):
    """Same rows (fieldapp::identifier included), same XForm, same warnings.

    Both are converted from their files, which share the stem pyxform may name the form by,
    so nothing needs normalising."""
    md = path.with_suffix(".md")
    book, text = _sheets(path), md_to_dict(md.read_text("utf-8"))
    for sheet in ("survey", "choices", "settings"):
        assert text.get(sheet, []) == [row for row in book.get(sheet, []) if row], sheet
    from_xlsx, from_md = [], []
    assert (
        convert(xlsform=str(md), warnings=from_md).xform
        == convert(xlsform=str(path), warnings=from_xlsx).xform
    )
    assert from_md == from_xlsx


def test_the_demo_publishes_every_questionnaire_here_but_excel_lock_files(
    app, world, tmp_path, monkeypatch
):
    from fieldapp.demo import loader
    from fieldapp.extensions import db
    from fieldapp.models import Form

    assert loader.QUESTIONNAIRES == BUNDLED_FORMS
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    shutil.copy(BUNDLED_FORMS / "mediation_visit.xlsx", folder)
    (folder / "~$mediation_visit.xlsx").write_bytes(b"Excel keeps this while the file is open")
    monkeypatch.setattr(loader, "QUESTIONNAIRES", folder)
    with app.app_context():
        loader.load_demo(tmp_path / "instance")
        assert db.session.scalars(select(Form.form_id)).all() == ["mediation_visit"]


# -- the conventions of questionnaires/README.md -------------------------------------------


@each_form
def test_settings_name_the_file_version_and_chinese_first(path):
    settings = _sheets(path)["settings"]
    assert len(settings) == 1
    (settings,) = settings
    assert settings["form_id"] == path.stem
    assert settings.get("form_title")
    assert re.fullmatch(r"[0-9]{10}", settings.get("version", "")), "version like 2026112901"
    assert settings.get("default_language") == ZH


@each_form
def test_every_label_hint_and_message_in_chinese_then_english(path):
    book = _sheets(path)
    for sheet in ("survey", "choices"):
        header = list(book.get(f"{sheet}_header", [{}])[0])
        for column in header:
            base, _, lang = column.partition("::")
            if base in TEXT_COLUMNS:
                assert lang in (ZH, EN), f"{sheet} column {column}: write ::{ZH} and ::{EN}"
        for base in TEXT_COLUMNS:
            zh, en = f"{base}::{ZH}", f"{base}::{EN}"
            if zh in header or en in header:
                assert zh in header and en in header, f"{sheet}: {base} in both languages"
                assert header.index(zh) < header.index(en), f"{sheet}: {zh} before {en}"
        for row in book.get(sheet, []):
            for base in TEXT_COLUMNS:
                assert (f"{base}::{ZH}" in row) == (f"{base}::{EN}" in row), (sheet, base, row)
            if sheet == "choices" or row.get("type", "").strip() not in NO_LABEL | ENDS:
                assert f"label::{ZH}" in row, f"{sheet}: {row.get('name')} has no label"


@each_form
def test_names_are_ascii_snake_case_and_codes_ascii(path):
    book = _sheets(path)
    for row in book["survey"]:
        if row.get("type", "").strip() not in ENDS:
            assert "name" in row, row
        if "name" in row:
            assert ASCII_SNAKE.fullmatch(row["name"]), row
    for row in book.get("choices", []):
        assert ASCII_SNAKE.fullmatch(row["list_name"]), row
        assert ASCII_CODE.fullmatch(row["name"]), row


@each_form
def test_every_required_question_says_why_in_both_languages(path):
    for row in _sheets(path)["survey"]:
        if row.get("required", "no").strip().lower() not in ("no", "false", "false()"):
            assert f"required_message::{ZH}" in row and f"required_message::{EN}" in row, row


@each_form
def test_start_and_end_are_recorded(path):
    types = {row.get("type") for row in _sheets(path)["survey"]}
    assert {"start", "end"} <= types


@each_form
def test_identifier_marks_are_pseudonym_or_remove(path):
    marks = {row.get("fieldapp::identifier") for row in _sheets(path)["survey"]}
    assert marks <= {None, "pseudonym", "remove"}, marks


@each_form
def test_no_worker_words_in_what_a_family_hears(path):
    book = _sheets(path)
    for sheet in ("survey", "choices"):
        for row in book.get(sheet, []):
            for column, value in row.items():
                if column.partition("::")[0] in TEXT_COLUMNS:
                    assert not any(w in value for w in NOT_FOR_RESPONDENTS), (sheet, value)


# -- households (ODK Entities): the contract the server and the phone rely on --------------

XF = {
    "xf": "http://www.w3.org/2002/xforms",
    "h": "http://www.w3.org/1999/xhtml",
    "entities": "http://www.opendatakit.org/xforms/entities",
}
SAVETO = f"{{{XF['entities']}}}saveto"
HOUSEHOLDS_CSV = "jr://file-csv/households.csv"
RISK_LEVELS = {"low", "medium", "high", "serious"}
CASE_STATUSES = {"open", "following", "paired", "closed"}


def _xform(stem: str):
    """The XForm pyxform writes for questionnaires/<stem>.xlsx, parsed."""
    xml = convert(xlsform=str(BUNDLED_FORMS / f"{stem}.xlsx")).xform
    return etree.fromstring(xml.encode())


def _binds(xform) -> dict[str, dict]:
    return {b.get("nodeset"): dict(b.attrib) for b in xform.iterfind(".//xf:bind", XF)}


def _saved(xform) -> dict[str, str]:
    """Entity property name -> the path of the field saved to it."""
    return {b[SAVETO]: path for path, b in _binds(xform).items() if SAVETO in b}


def _choices(xform, list_name: str) -> set[str]:
    return set(
        xform.xpath(
            f"//xf:instance[@id='{list_name}']/xf:root/xf:item/xf:name/text()", namespaces=XF
        )
    )


def _entity(xform):
    (entity,) = xform.iterfind(".//xf:instance/xf:data/xf:meta/xf:entity", XF)
    return entity


def test_the_screening_registers_a_household_for_a_family_with_a_conflict():
    xform = _xform("family_screening")
    entity, binds = _entity(xform), _binds(xform)
    assert entity.get("dataset") == "households" and entity.get("create") is not None
    assert "has_conflict  = 'yes'" in binds["/data/meta/entity/@create"]["calculate"]
    label = binds["/data/meta/entity/label"]["calculate"]
    assert "household_head" in label and "village" in label
    assert _saved(xform) == {
        "village": "/data/household_info/village",
        "member_count": "/data/household/member_count",
        "minor_count": "/data/household/minor_count",
        "risk_level": "/data/risk/risk_level",
        "next_visit_date": "/data/risk/next_visit_date",
        "case_status": "/data/risk/case_status",
    }
    assert binds["/data/risk/case_status"]["calculate"] == "'open'"
    assert _choices(xform, "risk_level") == RISK_LEVELS
    names = {row.get("name") for row in _sheets(BUNDLED_FORMS / "family_screening.xlsx")["survey"]}
    assert not names & {"assigned_person", "next_followup_date"}  # the server assigns


@pytest.mark.parametrize(
    "stem, household, saved",
    [
        (
            "mediation_visit",
            "/data/visit/household",
            {
                "last_visit_date": "/data/visit/visit_date",
                "last_outcome": "/data/work/outcome",
                "next_visit_date": "/data/work/next_visit_plan",
                "case_status": "/data/status/case_status",
                "risk_level": "/data/status/risk_level",
            },
        ),
        (
            "referral",
            "/data/referral_info/household",
            {
                "last_referral": "/data/referral_info/referral_type",
                "last_referral_outcome": "/data/result/outcome",
            },
        ),
    ],
)
def test_a_visit_or_referral_updates_the_household_picked_from_the_attached_list(
    stem, household, saved
):
    xform = _xform(stem)
    entity, binds = _entity(xform), _binds(xform)
    assert entity.get("dataset") == "households" and entity.get("create") is None
    assert binds["/data/meta/entity/@id"]["calculate"].strip() == household
    assert binds["/data/meta/entity/@update"]["calculate"].strip() == f"{household}  != ''"
    # offline entities (spec 2024.1.0): the phone sends the version it saw
    assert {"baseVersion", "trunkVersion", "branchId"} <= set(entity.attrib)
    (instance,) = xform.iterfind(".//xf:instance[@id='households']", XF)
    assert instance.get("src") == HOUSEHOLDS_CSV
    (select,) = xform.iterfind(f".//h:body//xf:select1[@ref='{household}']", XF)
    assert select.find("xf:itemset", XF).get("nodeset") == "instance('households')/root/item"
    assert binds[household]["required"] == "true()"
    first = xform.find(f".//h:body/xf:group[@ref='{household.rsplit('/', 1)[0]}']", XF)
    assert first.find("./xf:select1", XF) is select  # the first question of its group
    assert _saved(xform) == saved


def test_the_visit_offers_the_agreed_codes_for_the_household_state():
    xform = _xform("mediation_visit")
    assert _choices(xform, "case_status") == {"following", "paired"} < CASE_STATUSES
    assert _choices(xform, "risk_level") == RISK_LEVELS
    assert _choices(xform, "outcome") == {"success", "partial", "failed", "referred"}
    referral = _xform("referral")
    assert _choices(referral, "referral_type") == {
        "complaint_station",
        "shelter",
        "injury_assessment",
        "legal_aid",
        "court_mediation",
    }
    assert _choices(referral, "referral_outcome") == {"pending", "accepted", "resolved", "declined"}


@pytest.mark.parametrize("stem", ["mediation_visit", "referral"])
def test_an_update_leaves_a_property_alone_only_where_meant(stem):
    """A field that is not relevant is left out of the submission, and a property left out
    keeps its old value (ODK Central's rule); one sent blank is cleared. So only the risk
    level, reassessed on purpose, may be left out; "no further visit" clears the date."""
    binds = _binds(_xform(stem))
    conditional = {b[SAVETO] for b in binds.values() if SAVETO in b and b.get("relevant")}
    assert conditional <= {"risk_level"}
    if stem == "mediation_visit":
        plan = binds["/data/work/next_visit_plan"]["calculate"]
        assert "needs_followup  = 'yes'" in plan and "/data/work/next_visit_date" in plan


# -- the reports and figures of issue 11: forms the server counts by these names ------------


def _fields(xform) -> dict[str, str]:
    """Question name -> XForm type of each field at the top of the form (meta left out)."""
    (data,) = xform.iterfind(".//xf:instance/xf:data", XF)
    binds = _binds(xform)
    return {
        etree.QName(child).localname: binds.get(f"/data/{etree.QName(child).localname}", {}).get(
            "type", ""
        )
        for child in data
        if etree.QName(child).localname != "meta"
    }


@pytest.mark.parametrize(
    "stem, fields",
    [
        (
            "zero_report",
            {
                "start": "dateTime",
                "end": "dateTime",
                "report_date": "date",
                "zero_note": "string",
                "remarks": "string",
            },
        ),
        (
            "outreach_activity",
            {
                "start": "dateTime",
                "end": "dateTime",
                "activity_date": "date",
                "activity_kind": "string",
                "other_kind": "string",
                "place": "string",
                "participants": "int",
                "organiser": "string",
                "notes": "string",
            },
        ),
        (
            "court_work",
            {
                "start": "dateTime",
                "end": "dateTime",
                "sitting_date": "date",
                "work_kind": "string",
                "court": "string",
                "cases_count": "int",
                "mediated_success": "int",
                "notes": "string",
            },
        ),
    ],
)
def test_the_report_and_work_logs_keep_the_names_the_figures_count_by(stem, fields):
    """Flat forms (no groups): each answer at /data/<name>, in this order."""
    xform = _xform(stem)
    assert list(_fields(xform).items()) == list(fields.items())
    binds = _binds(xform)
    for name, type_ in fields.items():
        if type_ == "date" and name not in ("start", "end"):
            assert binds[f"/data/{name}"]["required"] == "true()"
            assert binds[f"/data/{name}"]["constraint"] == ". <= today()"


def test_a_zero_report_is_one_tap_dated_today_and_carries_no_identifiers():
    xform = _xform("zero_report")
    (default,) = xform.iterfind(".//xf:model/xf:setvalue", XF)
    assert default.attrib == {
        "ref": "/data/report_date",
        "event": "odk-instance-first-load",
        "value": "today()",
    }
    required = {p for p, b in _binds(xform).items() if b.get("required") == "true()"}
    assert required == {"/data/report_date"}  # defaulted: nothing else to fill in
    rows = _sheets(BUNDLED_FORMS / "zero_report.xlsx")["survey"]
    assert not any(row.get("fieldapp::identifier") for row in rows)


def test_the_outreach_and_court_logs_offer_the_agreed_codes():
    outreach, court = _xform("outreach_activity"), _xform("court_work")
    assert _choices(outreach, "activity_kind") == {
        "lecture",
        "mock_court",
        "quiz",
        "media",
        "hotline",
        "other",
    }
    assert _choices(court, "work_kind") == {"court_mediation", "assessor"}
    other = _binds(outreach)["/data/other_kind"]
    assert "activity_kind  = 'other'" in other["relevant"] and other["required"] == "true()"
    participants = _binds(outreach)["/data/participants"]["constraint"]
    assert participants == ". >= 0 and . <= 100000"
    settled = _binds(court)["/data/mediated_success"]
    assert "work_kind  = 'court_mediation'" in settled["relevant"]
    assert "/data/cases_count" in settled["constraint"]
    assert _binds(court)["/data/cases_count"]["constraint"] == ". >= 0 and . <= 500"
