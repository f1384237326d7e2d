"""A village mediator fills the household screening form on a cheap phone; a researcher in
the city finds the household in the data page and downloads it as a clean CSV."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.e2e.steps import (
    DESKTOP,
    count,
    csv_rows,
    download,
    fill,
    finalize,
    log_in,
    member,
    open_form,
    open_server_form,
    question,
    snap,
    tick,
)
from tests.helpers import SCREENING, SHARED_FORMS

pytestmark = pytest.mark.e2e

SCREENING_TITLE = "问题家庭排查"
HEAD = "王秀英"


def today() -> str:
    """Today's date where the workers are (the phone's clock is on Beijing time)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def fill_household(page: Page) -> None:
    fill(page, "排查日期", today())
    fill(page, "镇/街道", "新华街道")
    fill(page, "村/社区", "和平社区")
    fill(page, "户主姓名", HEAD)
    fill(page, "家庭住址", "和平社区5栋302室")


def fill_members(page: Page) -> None:
    first = member(page, 1)
    fill(first, "成员姓名", "李小红")
    age = fill(first, "年龄（周岁）", "150")
    expect(question(first, "member_age").locator(".constraint-msg")).to_have_text(
        re.compile("年龄应在0到120岁之间")
    )
    snap(page, "mediator-2-age-constraint")
    age.fill("15")
    age.blur()
    expect(question(first, "member_age").locator(".constraint-msg")).to_be_hidden()

    page.get_by_role("button", name="添加一项").click()
    second = member(page, 2)
    fill(second, "成员姓名", HEAD)
    fill(second, "年龄（周岁）", "41")
    expect(question(page, "member_summary")).to_contain_text("家庭成员 2 人，其中未成年人 1 人")


def fill_situation_and_risk(page: Page) -> None:
    conflict_types = question(page, "conflict_types")
    expect(conflict_types).to_be_hidden()  # nothing answered yet: skip logic hides it
    tick(page, "has_conflict", "否")
    expect(conflict_types).to_be_hidden()
    tick(page, "has_conflict", "是")
    expect(conflict_types).to_be_visible()
    tick(page, "conflict_types", "家庭矛盾", "家庭暴力")
    tick(page, "risk_level", "中")
    tick(page, "referral", "妇女法律维权岗")


def test_mediator_screens_a_household_and_researcher_exports_it(
    app, world, publish, phone, open_page, live_server, tmp_path
):
    publish(SCREENING)

    log_in(phone, world.mediator, world.password)
    expect(phone.get_by_role("link", name=re.compile(SCREENING_TITLE))).to_be_visible()
    snap(phone, "mediator-0-home")
    open_form(phone, SCREENING_TITLE)
    snap(phone, "mediator-1-blank-form")
    fill_household(phone)
    fill_members(phone)
    fill_situation_and_risk(phone)
    snap(phone, "mediator-3-filled-form")
    finalize(phone)
    expect(count(phone, "sent")).to_have_text("1")  # the app sent it by itself
    expect(count(phone, "waiting")).to_have_text("0")
    snap(phone, "mediator-4-home-after-submit")

    with app.app_context():
        subs = db.session.scalars(select(Submission)).all()
        assert len(subs) == 1
        data = subs[0].data
        assert subs[0].submitter.username == world.mediator
    assert data["household_info"]["household_head"] == HEAD
    assert data["start"] and data["end"] and data["end"] >= data["start"]  # ODK metadata
    assert data["household_info"]["screening_date"] == today()
    members = data["household"]["household_members"]
    assert [(m["member_name"], m["member_age"]) for m in members] == [
        ("李小红", "15"),
        (HEAD, "41"),
    ]
    assert data["household"]["minor_count"] == "1"
    assert data["situation"]["has_conflict"] == "yes"
    assert data["situation"]["conflict_types"] == "family_conflict dv"
    assert data["risk"]["risk_level"] == "medium"
    assert data["risk"]["referral"] == "legal_aid"

    researcher_downloads_the_csv(open_page(DESKTOP, "researcher"), world, tmp_path)


def researcher_downloads_the_csv(page: Page, world, tmp_path) -> None:
    log_in(page, world.researcher, world.password)
    page.goto("/data/family_screening")
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("P-")  # researchers see pseudonyms, never names
    expect(rows.first).not_to_contain_text(HEAD)
    snap(page, "researcher-0-data-table")

    raw = download(page, page.locator("#download-csv"), tmp_path)
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM to show Chinese"
    [row] = csv_rows(raw)
    assert row["household_info/household_head"].startswith("P-")
    assert HEAD not in raw.decode("utf-8-sig")
    assert row["household/household_members[1]/member_age"] == "15"
    assert row["household/household_members[2]/member_age"] == "41"
    assert row["situation/conflict_types"] == "family_conflict dv"
    assert (
        row["situation/conflict_types/family_conflict"],
        row["situation/conflict_types/dv"],
        row["situation/conflict_types/gambling"],
    ) == ("1", "1", "0")
    assert row["submitted_by"] == world.mediator

    page.locator("select[name=values]").select_option("labels")
    page.get_by_role("button", name="刷新").click()
    expect(page).to_have_url(re.compile(r"values=labels"))
    [row] = csv_rows(download(page, page.locator("#download-csv"), tmp_path))
    assert row["situation/conflict_types"] == "家庭矛盾; 家庭暴力"
    assert row["situation/has_conflict"] == "是"
    assert row["risk/risk_level"] == "中"
    assert row["situation/conflict_types/dv"] == "1"


def test_form_language_and_page_language_switch(world, publish, phone):
    publish(SCREENING)
    log_in(phone, world.mediator, world.password)
    open_server_form(phone, "family_screening")  # the online page, with the site's header
    expect(phone.get_by_label("排查日期", exact=True)).to_be_visible()

    phone.locator("#form-lang").select_option(label="English (en)")
    expect(phone.get_by_label("Screening date", exact=True)).to_be_visible()
    expect(phone.get_by_label("排查日期", exact=True)).to_have_count(0)
    # The choices follow too (a list's options are read again when the language changes).
    expect(phone.get_by_label("Spouse", exact=True).first).to_be_visible()
    expect(phone.get_by_label("配偶", exact=True)).to_have_count(0)
    snap(phone, "lang-0-form-in-english")

    phone.get_by_role("link", name="English", exact=True).click()
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(phone.get_by_role("link", name="中文", exact=True)).to_be_visible()
    expect(phone.get_by_role("button", name="Log out")).to_be_visible()
    expect(phone).to_have_url(re.compile(r"/surveys/family_screening/fill"))
    expect(phone.locator("#submit-btn")).to_have_text("Submit")
    expect(phone.get_by_label("Screening date", exact=True)).to_be_visible()
    expect(phone.locator("#form-lang")).to_have_value("English (en)")
    snap(phone, "lang-1-page-in-english")

    phone.get_by_role("link", name="中文", exact=True).click()
    expect(phone.locator("#submit-btn")).to_have_text("提交")
    expect(phone.get_by_label("排查日期", exact=True)).to_be_visible()


def test_a_draft_reopens_in_the_form_language_it_was_left_in(online_phone):
    """A mediator switches the questionnaire to another of its languages (a Tibetan or an
    English column) and leaves it as a draft: it reopens in that language, not the page's.
    (Found by a tester: it went back to Chinese.) A language switch alone in a form not
    yet answered saves no draft."""
    phone, page = online_phone
    open_form(page, SCREENING_TITLE)
    page.locator("#form-lang").select_option(label="English (en)")
    expect(page.get_by_label("Screening date", exact=True)).to_be_visible()
    page.wait_for_timeout(2_000)  # the autosave's debounce and idle wait, at most 1.8 s
    expect(count(page, "drafts")).to_have_text("0")
    fill(page, "Town / subdistrict", "城关镇")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.reload()
    expect(page.locator("#finalize-btn")).to_be_visible()
    expect(page.get_by_label("Town / subdistrict", exact=True)).to_have_value("城关镇")
    expect(page.locator("#form-lang")).to_have_value("English (en)")
    page.locator("#form-lang").select_option(label="中文 (zh)")  # and back: saved too
    expect(page.get_by_label("排查日期", exact=True)).to_be_visible()
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.reload()
    expect(page.locator("#finalize-btn")).to_be_visible()
    expect(page.locator("#form-lang")).to_have_value("中文 (zh)")


def test_every_shared_form_publishes_and_renders(world, publish, phone):
    log_in(phone, world.admin, world.password)
    problems = []
    for path in sorted(SHARED_FORMS.glob("*.xlsx")):
        try:
            form_id, _ = publish(path)
        except Exception as exc:  # report every form, not just the first bad one
            problems.append(f"{path.name}: does not publish: {type(exc).__name__}: {exc}")
            continue
        phone.goto(f"/surveys/{form_id}/fill")
        try:
            expect(phone.locator("#fieldapp-form .q:not([hidden])").first).to_be_visible()
        except AssertionError:
            error = phone.locator(".form-status-error")
            problems.append(
                f"{path.name}: no question shown"
                + (f": {error.inner_text()}" if error.count() else "")
            )
        unsupported = phone.locator(".unsupported-type").all_inner_texts()
        if unsupported:
            print(f"{path.name}: {unsupported}")
        snap(phone, f"shared-{path.stem}")
    assert not problems, "\n".join(problems)


def test_mediators_of_another_village_cannot_see_the_submission(
    world, publish, phone, open_page, live_server
):
    publish(SCREENING)
    log_in(phone, world.mediator, world.password)
    open_form(phone, SCREENING_TITLE)
    fill_household(phone)
    fill(member(phone, 1), "成员姓名", HEAD)
    fill(member(phone, 1), "年龄（周岁）", "41")
    tick(phone, "has_conflict", "否")
    tick(phone, "risk_level", "低")
    tick(phone, "referral", "无需转介")
    finalize(phone)
    expect(count(phone, "sent")).to_have_text("1")
    api = "/api/v1/forms/family_screening/submissions"
    assert phone.request.get(api).json()["count"] == 1  # she sees her own

    neighbour = open_page(name="mediator2")
    log_in(neighbour, world.mediator2, world.password)
    for path in (
        "/data/",
        "/data/family_screening",
        "/data/family_screening/export.csv?values=codes",
    ):
        assert neighbour.request.get(path).status == 403, path
    response = neighbour.goto("/data/family_screening")
    assert response.status == 403
    expect(neighbour.get_by_text(HEAD)).to_have_count(0)
    body = neighbour.request.get(api).json()
    assert body["count"] == 0 and body["results"] == []
