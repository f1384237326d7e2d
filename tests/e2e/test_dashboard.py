"""A city researcher opens a form's dashboard on a phone: the charts are drawn at 360 px
wide with legible Chinese, and the filters narrow them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.steps import log_in, snap
from tests.helpers import SCREENING, screening_answers

pytestmark = pytest.mark.e2e

SELECT_QUESTIONS = 6  # relation, member_sex, has_conflict, conflict_types, risk_level, referral

# How many pixels of a canvas are painted (a blank canvas has none).
PAINTED = """c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
  return n;
}"""


def _wait_for_charts(page: Page, total: int) -> None:
    expect(page.locator("#dashboard")).to_have_attribute("data-ready", "true")
    expect(page.locator("#dash-status")).to_have_text(f"共 {total} 份提交")


def test_researcher_reads_the_dashboard_on_a_phone(world, submit, phone):
    changes = {
        world.mediator: {},
        world.mediator2: {"risk.risk_level": "low", "situation.conflict_types": "gambling"},
        world.mediator3: {"risk.risk_level": "serious", "risk.referral": "police shelter"},
    }
    submit(SCREENING, [screening_answers(**c) for c in changes.values()], by=list(changes))
    log_in(phone, world.researcher, world.password)
    phone.goto("/data/family_screening")
    phone.locator("#open-dashboard").click()
    _wait_for_charts(phone, 3)

    canvases = phone.locator("#dashboard canvas")
    expect(canvases).to_have_count(2 + SELECT_QUESTIONS)
    for i in range(canvases.count()):
        canvas = canvases.nth(i)
        box = canvas.bounding_box()
        assert box and 250 < box["width"] <= 360 and box["height"] >= 100, box
        assert canvas.evaluate(PAINTED) > 500, f"canvas {i} is blank"
    # the page never scrolls sideways on the phone
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360

    risk = phone.locator('.select-card[data-name="risk/risk_level"]')
    expect(risk.locator("h3")).to_have_text("风险等级")
    expect(risk).to_contain_text("3 人回答")
    age = phone.locator('#numbers tbody[data-name="household/household_members/member_age"]')
    expect(age.locator("th")).to_have_text("年龄（周岁）（重复组）")
    expect(age.locator("td")).to_have_text(["6", "28", "28", "15", "41"])
    snap(phone, "dashboard-phone-researcher")

    # narrowed to 东城区: its town, two households
    phone.locator("details.filters summary").click()
    phone.locator("#dashboard-filters select[name=area]").select_option("339901")
    phone.get_by_role("button", name="应用筛选").click()
    _wait_for_charts(phone, 2)
    expect(phone.locator("#chart-area h2")).to_contain_text("东城区 下属各区划")
    snap(phone, "dashboard-phone-filtered")


def test_a_bad_date_shows_the_message_and_no_charts(world, publish, phone):
    publish(SCREENING)
    log_in(phone, world.researcher, world.password)
    phone.goto("/data/family_screening/dashboard?from=2026-02-30")
    expect(phone.locator("#filter-error")).to_have_text(
        "日期 2026-02-30 格式不正确，应为 2026-01-31"
    )
    expect(phone.locator("#dashboard")).to_have_count(0)


def test_no_submissions_says_so(world, publish, phone):
    publish(SCREENING)
    log_in(phone, world.supervisor, world.password)
    phone.goto("/data/family_screening/dashboard")
    expect(phone.locator("#dash-status")).to_have_text("没有符合筛选条件的提交。")
    expect(phone.locator("#dashboard canvas")).to_have_count(2)  # the two sections stay hidden
    expect(phone.locator("#chart-time")).to_be_hidden()
