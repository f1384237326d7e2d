"""A household roster's totals follow every member added and removed (issue 12, engine
patch hunk 12: a path such as /data/members/m_age takes the children of that name from an
index kept per children list, instead of testing every child): counts, sums and a
question shown by a member's answer are right live, after a removal, after a reopen, and
in the record sent."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.e2e.steps import count, fill, finalize, publish_and_open, question
from tests.helpers import xlsform

pytestmark = pytest.mark.e2e

TOTALS_FORM = xlsform(
    [
        ["type", "name", "label", "calculation", "relevant"],
        ["text", "head", "户主姓名", "", ""],
        ["begin_repeat", "members", "家庭成员", "", ""],
        ["text", "m_name", "成员姓名", "", ""],
        ["integer", "m_age", "年龄", "", ""],
        ["end_repeat", "", "", "", ""],
        ["calculate", "n_members", "", "count(${members})", ""],
        ["calculate", "total_age", "", "sum(${m_age})", ""],
        ["calculate", "n_minors", "", "count(/data/members[m_age < 18])", ""],
        [
            "note",
            "totals",
            "共 ${n_members} 人，年龄合计 ${total_age}，未成年 ${n_minors} 人",
            "",
            "",
        ],
        ["text", "guardian", "未成年人的监护人", "", "${n_minors} > 0"],
    ],
    settings=[["form_id", "version", "form_title"], ["household_totals", "1", "家庭人口统计"]],
)

MEMBERS = 'section.repeat[data-name="members"] fieldset.repeat-instance'


def test_roster_totals_follow_members_added_and_removed(app, publish, online_phone, tmp_path):
    phone, page = online_phone
    publish_and_open(page, publish, tmp_path / "household_totals.xlsx", TOTALS_FORM, "家庭人口统计")
    members = page.locator(MEMBERS)
    totals = question(page, "totals")
    fill(page, "户主姓名", "王芳")

    add = page.locator('section.repeat[data-name="members"] .repeat-add')
    for name, age in (("王芳", "40"), ("王小明", "12"), ("王奶奶", "70")):
        if members.count() == 0 or members.last.get_by_label("成员姓名", exact=True).input_value():
            add.click()
        last = members.last
        fill(last, "成员姓名", name)
        fill(last, "年龄", age)
    expect(members).to_have_count(3)
    expect(totals).to_contain_text("共 3 人，年龄合计 122，未成年 1 人")
    expect(question(page, "guardian")).to_be_visible()

    # The child leaves the household: totals and the guardian question follow.
    page.once("dialog", lambda dialog: dialog.accept())  # 确定删除这一项吗？
    members.nth(1).locator(".repeat-remove").click()
    expect(members).to_have_count(2)
    expect(totals).to_contain_text("共 2 人，年龄合计 110，未成年 0 人")
    expect(question(page, "guardian")).to_be_hidden()

    # A baby is born: a member added after the removal counts too.
    add.click()
    fill(members.last, "成员姓名", "王宝宝")
    fill(members.last, "年龄", "0")
    expect(totals).to_contain_text("共 3 人，年龄合计 110，未成年 1 人")

    # Reopened, the same totals; then sent.
    expect(page.locator("#save-state")).to_have_text("已保存", timeout=30_000)
    page.reload()
    expect(question(page, "totals")).to_contain_text("共 3 人，年龄合计 110，未成年 1 人")
    fill(page, "未成年人的监护人", "王芳")
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        data = sub.data
    assert [m["m_name"] for m in data["members"]] == ["王芳", "王奶奶", "王宝宝"]
    assert (data["n_members"], data["total_age"], data["n_minors"]) == ("3", "110", "1")
    assert data["guardian"] == "王芳"
