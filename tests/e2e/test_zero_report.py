"""The zero-report system on the phone (issue 11): 和平社区's mediator, with no signal,
taps 本期无新增（零报告） on the home screen's 本期报告 card and confirms; the zero report
waits in the outbox and the card reads 零报告 · 待发送 at once. Back online it reaches the
server once (a re-send of the same item is a duplicate), and the district supervisor's
completeness page shows 和平社区 as 零报告 and 光明社区, which sent nothing, as 未到截止
in the current period and 未报告 once a period's deadline has passed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from fieldapp.extensions import db
from fieldapp.reports.periods import period_of
from fieldapp.submissions.models import Submission
from fieldapp.surveys.models import Form
from tests.e2e.steps import ARTIFACTS, count, log_in, ready_offline, snap
from tests.helpers import BUNDLED_FORMS, SCREENING
from tests.helpers_cases import screening_report

pytestmark = pytest.mark.e2e

ZERO = BUNDLED_FORMS / "zero_report.xlsx"
HEPING, GUANGMING, XINHUA = "339901001001", "339901001002", "339901001"
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
CURRENT = period_of("monthly", TODAY)
PREVIOUS = CURRENT.previous()
EARLIER = PREVIOUS.previous()  # its deadline (5 days after it ended) has surely passed


def screen(page: Page, name: str) -> None:
    """What the person sees (the 360×740 screen, not the whole page), for humans."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def resend_as_if_unconfirmed(page: Page, instance_id: str, xml: str) -> None:
    """Put the sent item back to 'waiting' with the XML it had, as when the phone never got
    the server's answer (a confirmed item keeps only a receipt on the phone)."""
    page.evaluate(
        """([id, xml]) => new Promise((resolve, reject) => {
          const open = indexedDB.open('fieldapp');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const tx = open.result.transaction('outbox', 'readwrite');
            const store = tx.objectStore('outbox');
            const get = store.get(id);
            get.onsuccess = () => store.put({
              ...get.result, xml, receipt: false, status: 'waiting', nextAttemptAt: 0,
            });
            tx.oncomplete = () => { open.result.close(); resolve(); };
            tx.onerror = () => reject(tx.error);
          };
        })""",
        [instance_id, xml],
    )


def cell(page: Page, area: str, period) -> object:
    return page.locator(f'#completeness td[data-area="{area}"][data-period="{period.key}"]')


def test_a_zero_report_filed_offline_arrives_once_and_counts(
    app, world, publish, phone_profile, live_server, open_page
):
    publish(SCREENING)
    publish(ZERO)
    report_id = screening_report(app, world)

    phone = phone_profile(live_server)
    page = phone.new_page()
    log_in(page, world.mediator, world.password)
    ready_offline(page)
    card = page.locator(f'section.report-card[data-report="{report_id}"]')
    expect(card).to_contain_text("本期报告")
    expect(card).to_contain_text("月度问题家庭排查")
    current = card.locator(f'.report-period[data-period="{CURRENT.key}"]')
    previous = card.locator(f'.report-period[data-period="{PREVIOUS.key}"]')
    expect(current).to_have_attribute("data-status", "pending")
    month = f"{CURRENT.start.year}年{CURRENT.start.month}月"
    expect(current.locator(".period-label")).to_have_text(month)
    expect(current.locator(".st")).to_have_text("未到截止")
    expect(current.get_by_role("button", name="本期无新增（零报告）")).to_be_visible()
    # The previous month: nothing filed either, so it may still be filed (late or not).
    expect(previous.get_by_role("button", name="上期无新增（零报告）")).to_be_visible()
    screen(page, "zero-report-0-home")

    phone.set_offline(True)  # no signal from here on
    page.reload()
    expect(current).to_have_attribute("data-status", "pending")
    current.get_by_role("button", name="本期无新增（零报告）").click()
    dialog = page.locator(".modal")
    expect(dialog).to_contain_text("本期本单位（和平社区）已排查、无新增重点关注家庭")
    screen(page, "zero-report-1-confirm")
    dialog.get_by_role("button", name="确认：本期无新增").click()

    # At once, offline: in the outbox, waiting, and the card says what it will be.
    expect(count(page, "waiting")).to_have_text("1")
    expect(current).to_have_attribute("data-status", "zero")
    expect(current).to_have_attribute("data-queued", "1")
    expect(current.locator(".st")).to_have_text("零报告")
    expect(current.locator(".badge-waiting")).to_have_text("待发送")
    expect(current.locator("button.zero-report")).to_have_count(0)  # no second tap
    expect(previous.locator("button.zero-report")).to_have_count(1)  # another period
    expect(page.locator(".notice")).to_contain_text("零报告已放入发送箱")
    item = page.locator("li.outbox-item")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-status", "waiting")
    expect(item).to_contain_text("零报告")
    expect(item).to_contain_text(f"{month} · 和平社区 · 本期无新增")
    instance_id = item.get_attribute("data-instance-id")
    assert instance_id and instance_id.startswith("uuid:")
    screen(page, "zero-report-2-queued-offline")

    phone.set_offline(False)  # signal again: it goes, once
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    expect(count(page, "waiting")).to_have_text("0")
    expect(current).to_have_attribute("data-queued", "0")
    expect(current).to_have_attribute("data-status", "zero")
    expect(current.locator("button.zero-report")).to_have_count(0)
    screen(page, "zero-report-3-sent")

    def stored() -> list[tuple]:
        """(instance id, filled on, XML, area code) of every zero report on the server."""
        with app.app_context():
            stmt = select(Submission).join(Form).where(Form.form_id == "zero_report")
            return [
                (s.instance_id, s.filled_on, s.xml, s.area.code) for s in db.session.scalars(stmt)
            ]

    ((iid, filled_on, xml, area),) = stored()
    assert (iid, area) == (instance_id, HEPING)
    assert filled_on == TODAY  # report_date: the day /me named for the current period
    assert f"<report_date>{TODAY.isoformat()}</report_date>" in xml

    # A re-send (the phone never heard the answer): the server says duplicate, keeps one.
    resend_as_if_unconfirmed(page, instance_id, xml)
    with page.expect_response(
        lambda r: r.url.endswith("/submission") and r.request.method == "POST"
    ) as answer:
        page.locator("#sync-now").click()
    assert answer.value.status == 201
    assert answer.value.headers.get("x-fieldapp-duplicate") == "1"
    expect(page.locator(f'li.outbox-item[data-instance-id="{instance_id}"]')).to_have_attribute(
        "data-status", "sent"
    )
    with app.app_context():
        same = select(func.count()).where(Submission.instance_id == instance_id)
        assert db.session.scalar(same) == 1
    assert len(stored()) == 1

    # The district supervisor: 东城区 → 新华街道, each village per month.
    boss = open_page(name="supervisor")
    log_in(boss, world.supervisor, world.password)
    boss.goto(f"/reports/{report_id}")
    boss.locator("#completeness td.place a", has_text="新华街道").click()
    expect(boss.locator("#trail")).to_contain_text("新华街道")
    expect(cell(boss, HEPING, CURRENT)).to_have_attribute("data-status", "zero")
    expect(cell(boss, HEPING, CURRENT)).to_have_text("零报告")
    expect(cell(boss, GUANGMING, CURRENT)).to_have_attribute("data-status", "pending")
    expect(cell(boss, GUANGMING, CURRENT)).to_have_text("未到截止")
    # The month before: nothing from either; 未报告 once its deadline has passed.
    before = "missing" if TODAY > PREVIOUS.deadline(5) else "pending"
    for village in (HEPING, GUANGMING):
        expect(cell(boss, village, PREVIOUS)).to_have_attribute("data-status", before)
        expect(cell(boss, village, EARLIER)).to_have_attribute("data-status", "missing")
    expect(cell(boss, GUANGMING, EARLIER)).to_have_text("未报告")
    snap(boss, "zero-report-4-supervisor")  # the whole page: the table is below the fold


def test_without_the_zero_report_form_the_card_says_so(app, world, publish, phone):
    """The zero report is not published to the unit: the card says so, no button."""
    publish(SCREENING)
    publish(ZERO, area_code="339902")  # the other district only
    report_id = screening_report(app, world)
    log_in(phone, world.mediator, world.password)
    card = phone.locator(f'section.report-card[data-report="{report_id}"]')
    current = card.locator(f'.report-period[data-period="{CURRENT.key}"]')
    expect(current.locator(".st")).to_have_text("未到截止")
    expect(current.locator(".zero-missing")).to_have_text(
        "零报告问卷没有发布到您所在的区域，本机不能报零报告。请联系督导。"
    )
    expect(card.locator("button.zero-report")).to_have_count(0)


def test_the_previous_period_is_filed_for_its_last_day(app, world, publish, phone):
    """上期无新增: the zero report names the previous period's last day, so it counts there
    (late once that period's deadline has passed); this period is still to be filed."""
    publish(SCREENING)
    publish(ZERO)
    report_id = screening_report(app, world)
    log_in(phone, world.mediator, world.password)
    card = phone.locator(f'section.report-card[data-report="{report_id}"]')
    previous = card.locator(f'.report-period[data-period="{PREVIOUS.key}"]')
    previous.get_by_role("button", name="上期无新增（零报告）").click()
    dialog = phone.locator(".modal")
    expect(dialog).to_contain_text("上期本单位（和平社区）已排查、无新增重点关注家庭")
    dialog.get_by_role("button", name="确认：上期无新增").click()
    expect(count(phone, "sent")).to_have_text("1", timeout=30_000)
    expect(previous).to_have_attribute("data-status", "zero")
    late = TODAY > PREVIOUS.deadline(5)
    expect(previous.locator(".st-late")).to_have_count(1 if late else 0)
    current = card.locator(f'.report-period[data-period="{CURRENT.key}"]')
    expect(current.get_by_role("button", name="本期无新增（零报告）")).to_be_visible()
    with app.app_context():
        stmt = select(Submission.filled_on).join(Form).where(Form.form_id == "zero_report")
        assert list(db.session.scalars(stmt)) == [PREVIOUS.end]
