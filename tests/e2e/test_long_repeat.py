"""A draft with 150 household members reopens fast (issue 12): the members on screen are
drawn, the others are their header ("家庭成员 第 n 项") at a drawn one's height until
scrolled to; nothing is lost: finalize points to a problem in a member not drawn yet
(drawing it and scrolling to it), and every member is sent."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.e2e.steps import ARTIFACTS, count, finalize, publish_and_open
from tests.helpers import xlsform

pytestmark = pytest.mark.e2e

ROSTER_FORM = xlsform(
    [
        ["type", "name", "label", "required", "default", "relevant"],
        ["text", "head", "户主姓名", "", "", ""],
        ["begin_repeat", "members", "家庭成员", "", "", ""],
        ["text", "m_name", "成员姓名", "yes", "某成员", ""],
        ["integer", "m_age", "年龄", "", "30", ""],
        # Shown by an answer outside the member: the skip rule must hold for members not
        # drawn yet too (their answer is cleared when the question is skipped).
        ["text", "m_note", "备注", "", "", "${head} != '无'"],
        ["end_repeat", "", "", "", "", ""],
    ],
    settings=[["form_id", "version", "form_title"], ["roster_long", "1", "家庭成员登记"]],
)

MEMBERS = 'section.repeat[data-name="members"] fieldset.repeat-instance'


def _view(page, name: str) -> None:
    """What the person sees (360×740), for humans: test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _drawn(member):
    return member.locator('.q[data-name="m_name"] input')


def test_a_150_member_draft_reopens_drawing_what_is_on_screen(app, publish, online_phone, tmp_path):
    phone, page = online_phone
    publish_and_open(page, publish, tmp_path / "roster_long.xlsx", ROSTER_FORM, "家庭成员登记")
    page.get_by_label("户主姓名", exact=True).fill("张三")
    # 149 more members at once (each with the defaults): more than a few at once are
    # drawn lazily, as on reopening.
    page.evaluate(
        """() => {
          const b = document.querySelector('section.repeat[data-name="members"] .repeat-add');
          for (let i = 0; i < 149; i++) b.click();
        }"""
    )
    members = page.locator(MEMBERS)
    expect(members).to_have_count(150, timeout=60_000)
    # Member 137: a note, then its name cleared (a required question left blank).
    far = members.nth(136)
    far.scroll_into_view_if_needed()
    far.get_by_label("备注", exact=True).fill("借住")
    far.get_by_label("成员姓名", exact=True).fill("")
    expect(far.get_by_label("成员姓名", exact=True)).to_have_value("")
    expect(page.locator("#save-state")).to_have_text("已保存", timeout=30_000)
    assert page.evaluate("() => location.hash").startswith("#/draft/")

    # Reopen (the phone restarts): the first screen is drawn, far members are not.
    page.reload()
    expect(page.locator("#finalize-btn")).to_be_visible()
    expect(members).to_have_count(150)
    expect(_drawn(members.nth(0))).to_have_value("某成员")
    expect(members.nth(120).locator(".q")).to_have_count(0)
    expect(members.nth(136).locator(".q")).to_have_count(0)
    expect(members.nth(120).locator("legend")).to_have_text("家庭成员 第 121 项")
    assert page.locator(f"{MEMBERS} .q").count() < 150  # not 150 members' questions
    _view(page, "long-repeat-reopened")

    # Scrolled to, a far member is drawn from the engine's state.
    members.nth(99).scroll_into_view_if_needed()
    expect(_drawn(members.nth(99))).to_have_value("某成员")
    expect(members.nth(99).get_by_label("年龄", exact=True)).to_have_value("30")
    _view(page, "long-repeat-scrolled")

    # An answer outside the members skips 备注 everywhere: member 137's (not drawn) is
    # cleared as a drawn one's would be, and stays empty when shown again.
    page.evaluate("() => scrollTo(0, 0)")
    head = page.get_by_label("户主姓名", exact=True)
    head.fill("无")
    head.blur()
    expect(members.nth(0).locator('.q[data-name="m_note"]')).to_be_hidden()
    head.fill("张三")
    head.blur()
    expect(members.nth(0).get_by_label("备注", exact=True)).to_be_visible()
    expect(members.nth(136).locator(".q")).to_have_count(0)

    # Finalize: member 137's blank name blocks it, and is drawn and pointed to.
    page.locator("#finalize-btn").click()
    expect(page.locator("#submit-error")).to_have_text("还有 1 题需要修改")
    name137 = members.nth(136).get_by_label("成员姓名", exact=True)
    expect(name137).to_be_in_viewport()
    expect(name137).to_be_focused()
    expect(members.nth(136).locator('.q[data-name="m_name"] .constraint-msg')).to_have_text(
        "此题必答"
    )
    expect(members.nth(136).get_by_label("备注", exact=True)).to_have_value("")
    _view(page, "long-repeat-problem")
    name137.fill("李四")
    name137.blur()
    expect(page.locator("#submit-error")).to_be_hidden()
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=60_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        rows = sub.data["members"]
        assert len(rows) == 150
        assert rows[136]["m_name"] == "李四"
        assert rows[136].get("m_note", "") == ""
        assert all(r["m_name"] == "某成员" for i, r in enumerate(rows) if i != 136)
        assert all(r["m_age"] == "30" for r in rows)
