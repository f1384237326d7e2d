"""Choice questions in a section that is not shown yet behave as ODK's engine makes them
behave, although the phone no longer builds their choice lists until they are shown
(issue 12, engine patch hunk 11: a 200-question form opens faster): calculations see them
blank until the section opens, then with their default answer; the list is whole and
filtered (`choice_filter`) when it opens; a section never opened sends nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.e2e.steps import count, finalize, publish_and_open, question, tick
from tests.helpers import xlsform

pytestmark = pytest.mark.e2e

DISPUTE_FORM = xlsform(
    [
        ["type", "name", "label", "relevant", "default", "calculation", "choice_filter"],
        ["select_one yn", "conflict", "是否存在家庭矛盾", "", "", "", ""],
        ["begin_group", "handling", "矛盾处理", "${conflict} = 'yes'", "", "", ""],
        ["select_one way", "way", "处理方式", "", "mediation", "", ""],
        ["select_one town", "town", "所在乡镇", "", "", "", ""],
        ["select_one village", "village", "所在村", "", "", "", "town = ${town}"],
        ["end_group", "", "", "", "", "", ""],
        ["begin_group", "followup", "回访安排", "${conflict} = 'later'", "", "", ""],
        ["select_one way", "followup_way", "回访方式", "", "referral", "", ""],
        ["end_group", "", "", "", "", "", ""],
        ["calculate", "way_name", "", "", "", "jr:choice-name(${way}, '${way}')", ""],
        ["note", "summary", "处理方式：${way_name}（${way}）", "", "", "", ""],
    ],
    choices=[
        ["list_name", "name", "label", "town"],
        ["yn", "yes", "是", ""],
        ["yn", "no", "否", ""],
        ["yn", "later", "以后再说", ""],
        ["way", "mediation", "调解", ""],
        ["way", "referral", "转介", ""],
        ["town", "east", "东镇", ""],
        ["town", "west", "西镇", ""],
        ["village", "e1", "东一村", "east"],
        ["village", "e2", "东二村", "east"],
        ["village", "w1", "西一村", "west"],
    ],
    settings=[["form_id", "version", "form_title"], ["dispute_check", "1", "矛盾排查"]],
)


def test_choices_in_a_section_not_shown_yet_behave_as_odk(app, publish, online_phone, tmp_path):
    phone, page = online_phone
    publish_and_open(page, publish, tmp_path / "dispute_check.xlsx", DISPUTE_FORM, "矛盾排查")

    # Before the section opens, its questions count as blank (as in ODK's engine).
    summary = question(page, "summary")
    expect(summary).to_contain_text("处理方式：（）")
    expect(question(page, "way")).to_have_count(0)

    # The section opens: the whole list, the default chosen and named in the summary; a
    # new choice reaches the summary too.
    tick(page, "conflict", "是")
    way = question(page, "way")
    expect(way.locator("label.choice")).to_have_count(2)
    expect(way.get_by_label("调解", exact=True)).to_be_checked()
    expect(summary).to_contain_text("处理方式：调解（mediation）")
    tick(page, "way", "转介")
    expect(summary).to_contain_text("处理方式：转介（referral）")

    # The village list is filtered by the town chosen.
    expect(question(page, "village").locator("label.choice")).to_have_count(0)
    tick(page, "town", "东镇")
    village = question(page, "village")
    expect(village.locator("label.choice")).to_have_text(["东一村", "东二村"])
    tick(page, "village", "东二村")

    # The phone restarts: the draft reopens with every choice as it was.
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.reload()
    village = question(page, "village")
    expect(village.get_by_label("东二村", exact=True)).to_be_checked()
    expect(village.locator("label.choice")).to_have_text(["东一村", "东二村"])
    expect(question(page, "way").get_by_label("转介", exact=True)).to_be_checked()
    expect(summary).to_contain_text("处理方式：转介（referral）")

    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        data = sub.data
    assert data["handling"] == {"way": "referral", "town": "east", "village": "e2"}
    assert data["way_name"] == "转介"
    # The follow-up section was never shown: neither it nor its default is sent.
    assert "followup" not in data
