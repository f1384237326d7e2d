"""A mediator follows her households on a phone with no signal (issue 10): she registers a
household in the screening form, it is at once in 我的家庭, she logs a visit for it from
there with the household already chosen, and when the network comes back both reach the
server once (one household, version 2, no conflict) and the phone shows the server's
list. A household the supervisor gives to a colleague leaves her phone on the next sync."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from fieldapp.auth.models import User
from fieldapp.cases.models import APPLIED, Entity, EntityOp, EntityVersion
from fieldapp.cases.services import assign
from fieldapp.extensions import db
from tests.e2e.steps import (
    ARTIFACTS,
    count,
    fill,
    fill_household,
    finalize,
    log_in,
    question,
    ready_offline,
    snap,
    tick,
)
from tests.helpers import BUNDLED_FORMS, SCREENING, api_token, post_submission
from tests.helpers_cases import REGISTER, registration

pytestmark = pytest.mark.e2e

VISIT = BUNDLED_FORMS / "mediation_visit.xlsx"
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def household(page: Page, hh_id: str):
    return page.locator(f'li.household[data-id="{hh_id}"]')


def register_in_screening(page: Page, head: str) -> None:
    """From 我的家庭, 登记新家庭 → the screening form, a household with a serious hazard."""
    page.locator("#register-household").click()
    page.locator(".modal button", has_text="问题家庭排查").click()  # two forms register
    expect(page.locator("#finalize-btn")).to_be_visible()
    fill_household(page, head, day(-10))
    tick(page, "has_conflict", "是")
    tick(page, "conflict_types", "家庭暴力")
    tick(page, "risk_level", "重大隐患")
    tick(page, "referral", "妇女法律维权岗")
    fill(page, "计划下次走访日期", day(-2))  # already overdue: first and red in the list
    expect(page.locator("#save-state")).to_contain_text("已保存")


def fill_visit(page: Page) -> None:
    fill(page, "走访日期", day(0))
    tick(page, "visit_type", "上门走访")
    tick(page, "participants", "调解员/网格员")
    tick(page, "dispute_type", "家庭暴力")
    tick(page, "party_role", "申请人/求助人")
    tick(page, "measures", "倾听、安抚情绪")
    fill(page, "工作过程简述", "上门了解情况，双方情绪稳定")
    tick(page, "outcome", "部分达成")
    tick(page, "needs_followup", "是")
    fill(page, "下次走访日期", day(14))
    tick(page, "case_status", "结对帮扶")
    tick(page, "risk_changed", "否")
    expect(page.locator("#save-state")).to_contain_text("已保存")


def seed_households(app, client, who: str) -> dict[str, str]:
    """Households the server has for ``who`` already: head -> id."""
    token = api_token(app, who)
    ids = {}
    seeds = (("赵敏", "high", day(3)), ("钱芳", "low", day(40)), ("孙丽", "serious", ""))
    for head, risk, due in seeds:
        xml, _iid, hh = registration(head, risk=risk, due=due)
        assert post_submission(client, xml, token=token).status_code == 201
        ids[head] = hh
    return ids


def test_a_household_registered_and_visited_offline_arrives_once(
    app, client, world, publish, phone_profile, live_server, tmp_path
):
    publish(SCREENING)
    publish(VISIT)
    (tmp_path / "hh_register.xlsx").write_bytes(REGISTER)
    publish(tmp_path / "hh_register.xlsx")
    seeded = seed_households(app, client, world.mediator)

    phone = phone_profile(live_server)
    page = phone.new_page()
    log_in(page, world.mediator, world.password)
    ready_offline(page)
    entry = page.locator("#households-entry")
    expect(entry).to_contain_text("我的家庭 3 户")  # the list is on the phone
    expect(entry).to_contain_text("7 天内走访 1 户")

    phone.set_offline(True)  # no signal from here on
    page.reload()
    entry.click()
    expect(page.locator("li.household")).to_have_count(3)
    expect(page.locator("#households-updated")).to_contain_text("家庭列表更新：")
    register_in_screening(page, "王秀英")
    finalize(page)
    expect(count(page, "waiting")).to_have_text("1")

    # At once, before anything is sent: on the home screen and in 我的家庭, overdue first.
    expect(entry).to_contain_text("我的家庭 4 户")
    expect(entry).to_contain_text("逾期 1 户")
    expect(page.locator(".notice")).to_contain_text("已放入发送箱")
    snap(page, "households-0-home")
    entry.click()
    first = page.locator("li.household").first
    expect(first).to_contain_text("王秀英家（和平社区）")
    expect(first).to_contain_text("重大隐患")
    expect(first).to_contain_text("待跟进")
    expect(first).to_contain_text("已逾期 2 天")
    expect(first).to_contain_text("本机新登记，尚未发送")
    expect(first).to_have_class("household due-overdue")
    hh = first.get_attribute("data-id")
    assert hh and hh not in seeded.values()
    expect(page.locator("#households-due li")).to_have_count(2)  # overdue, then due in 3 days
    expect(page.locator("#households-due li").nth(1)).to_contain_text("赵敏家")
    snap(page, "households-1-my-households-offline")

    # Search filters on the phone as one types.
    page.locator("#household-search").fill("钱")
    expect(page.locator("li.household:visible")).to_have_count(1)
    expect(page.locator("li.household:visible")).to_contain_text("钱芳家")
    page.locator("#household-search").fill("")
    expect(page.locator("li.household:visible")).to_have_count(4)

    # 记录走访: the visit form with this household chosen (and only it shown).
    first.get_by_role("button", name="记录走访").click()
    expect(page.locator("#finalize-btn")).to_be_visible()
    chosen = question(page, "household")
    expect(chosen.locator(f'input[value="{hh}"]')).to_be_checked()
    expect(chosen.locator("label.choice:visible")).to_have_count(1)
    expect(chosen.locator("label.choice:visible")).to_contain_text("王秀英家（和平社区）")
    # The screen as the mediator sees it (not the whole long form).
    page.screenshot(path=str(ARTIFACTS / "households-2-visit-prefilled.png"))
    # 更换 shows the others, with a filter box.
    chosen.get_by_role("button", name="更换").click()
    expect(chosen.locator("label.choice:visible")).to_have_count(4)
    chosen.locator("input[type=search]").fill("王秀英")
    expect(chosen.locator("label.choice:visible")).to_have_count(1)
    chosen.locator("label.choice:visible").click()
    expect(chosen.locator(f'input[value="{hh}"]')).to_be_checked()

    fill_visit(page)
    finalize(page)
    expect(count(page, "waiting")).to_have_text("2")
    entry.click()
    row = household(page, hh)
    expect(row).to_contain_text("结对帮扶")
    next_visit = TODAY + timedelta(days=14)
    year = f"{next_visit.year}年" if next_visit.year != TODAY.year else ""
    expect(row).to_contain_text(f"下次走访 {year}{next_visit.month}月{next_visit.day}日")
    expect(row).to_have_attribute("data-version", "2")
    assert page.locator("#households-due").locator(f'li[data-id="{hh}"]').count() == 0

    phone.set_offline(False)  # signal again: both go, once each, in order
    expect(count(page, "sent")).to_have_text("2", timeout=30_000)
    expect(count(page, "waiting")).to_have_text("0")
    # The phone now shows the server's list: version 2, nothing of its own on top.
    expect(row.locator(".household-local")).to_have_count(0, timeout=15_000)
    expect(row).to_have_attribute("data-version", "2")
    expect(page.locator("#households-updated")).to_contain_text("家庭列表更新：刚刚")
    snap(page, "households-3-after-sync")

    with app.app_context():
        entity = db.session.scalar(select(Entity).where(Entity.uuid == hh))
        assert entity.version == 2 and entity.conflict is None
        assert entity.label == "王秀英家（和平社区）"
        assert entity.status == "paired" and str(entity.next_visit_due) == day(14)
        assert entity.assigned_to.username == world.mediator
        versions = select(func.count()).where(EntityVersion.entity_id == entity.id)
        assert db.session.scalar(versions) == 2
        ops = db.session.scalars(select(EntityOp).where(EntityOp.entity_uuid == hh)).all()
        assert sorted((op.action, op.state) for op in ops) == [
            ("create", APPLIED),
            ("update", APPLIED),
        ]

        # The supervisor gives 钱芳家 to a colleague: it leaves this phone on the next sync.
        users = {u.username: u for u in db.session.scalars(select(User))}
        moved = db.session.scalar(select(Entity).where(Entity.uuid == seeded["钱芳"]))
        assign(users[world.supervisor], moved, users[world.mediator2])
        db.session.commit()
    page.locator("#sync-now").click()
    expect(household(page, seeded["钱芳"])).to_have_count(0, timeout=15_000)
    expect(page.locator("li.household")).to_have_count(3)
    page.goto("/app#/")
    expect(entry).to_contain_text("我的家庭 3 户")


V1_DATABASE = """async (owner) => {
  // IndexedDB as the app before households made it (db.js version 1), with work in it.
  const db = await new Promise((resolve, reject) => {
    const req = indexedDB.open('fieldapp', 1);
    req.onupgradeneeded = () => {
      const d = req.result;
      const forms = d.createObjectStore('forms', { keyPath: ['owner', 'form_id', 'version'] });
      forms.createIndex('owner', 'owner');
      d.createObjectStore('drafts', { keyPath: 'id' }).createIndex('owner', 'owner');
      d.createObjectStore('outbox', { keyPath: 'id' }).createIndex('owner', 'owner');
      d.createObjectStore('meta');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const tx = db.transaction(['drafts', 'outbox'], 'readwrite');
  const now = Date.now();
  tx.objectStore('drafts').put({ id: 'uuid:old-draft', owner, form_id: 'family_screening',
    version: '1', title: '旧草稿', summary: '', xml: '<data/>', files: {},
    progress: { answered: 1, total: 10 }, created: now, updated: now });
  tx.objectStore('outbox').put({ id: 'uuid:old-item', owner, form_id: 'family_screening',
    version: '1', title: '旧问卷', summary: '', xml: '<data/>', files: {}, status: 'attention',
    attempts: 1, nextAttemptAt: 0, lastError: '服务器拒收', filesSent: [], created: now,
    sentAt: null });
  await new Promise((resolve) => { tx.oncomplete = resolve; });
  db.close();
}"""


def test_the_app_update_keeps_the_phones_drafts_and_outbox(world, publish, phone):
    publish(SCREENING)
    phone.goto("/login")  # same origin, no app code yet: the phone as the old app left it
    phone.evaluate(V1_DATABASE, world.mediator)
    log_in(phone, world.mediator, world.password)
    expect(phone.locator(".draft-item")).to_contain_text("旧草稿")
    expect(count(phone, "drafts")).to_have_text("1")
    expect(count(phone, "attention")).to_have_text("1")
    expect(phone.locator(".outbox-item")).to_contain_text("服务器拒收")
    stores = phone.evaluate(
        """() => new Promise((resolve) => {
          const r = indexedDB.open('fieldapp');
          r.onsuccess = () => {
            resolve([r.result.version, [...r.result.objectStoreNames]]);
            r.result.close();
          };
        })"""
    )
    assert stores == [2, ["drafts", "entityLists", "forms", "meta", "outbox"]]
