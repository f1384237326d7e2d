"""Reminders on the phone (issue 13). A mediator's 待办 is computed on her phone from what
it holds, so it is right with no signal: households overdue, due today and tomorrow (her
own unsent visit counts at once), the report periods of her unit with nothing filed, and a
household the supervisor has just given her (new since the first download, until she opens
it). A push delivered to the real service worker through the DevTools protocol shows a
notification with counts only, and a tap on it takes the open app to 待办. 提醒设置 says
what this browser can do, and a push service that cannot be reached ends in a message.

Screenshots at 360×740: test-artifacts/reminders-*.png."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from fieldapp.auth.models import User
from fieldapp.auth.services import get_user
from fieldapp.cases.models import Entity
from fieldapp.cases.services import assign
from fieldapp.extensions import db
from tests.e2e.steps import ARTIFACTS, fill, log_in, ready_offline, tick
from tests.helpers import SCREENING, api_token, post_submission
from tests.helpers_cases import REGISTER, VISIT, registration, screening_report

pytestmark = pytest.mark.e2e

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def screen(page: Page, name: str) -> None:
    """The 360×740 screen as the person sees it, and the whole page, for humans."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)


def seed(app, client, who: str, plan) -> dict[str, str]:
    """Households registered by ``who`` on the server: head -> id."""
    token = api_token(app, who)
    ids = {}
    for head, due in plan:
        xml, _iid, hh = registration(head, risk="high", due=due)
        assert post_submission(client, xml, token=token).status_code == 201
        ids[head] = hh
    return ids


def todo_section(page: Page, kind: str):
    return page.locator(f"#todo-{kind}")


def test_todo_is_computed_on_the_phone_and_right_offline(
    app, client, world, publish, phone_profile, live_server, tmp_path
):
    publish(SCREENING)
    (tmp_path / "hh_register.xlsx").write_bytes(REGISTER)
    publish(tmp_path / "hh_register.xlsx")
    (tmp_path / "hh_visit.xlsx").write_bytes(VISIT)
    publish(tmp_path / "hh_visit.xlsx")
    screening_report(app, world)
    mine = seed(
        app,
        client,
        world.mediator,
        [
            ("赵敏", day(-3)),
            ("钱芳", day(-1)),
            ("孙丽", day(0)),
            ("李娟", day(1)),
            ("周红", day(20)),
        ],
    )
    given = seed(app, client, world.mediator2, [("吴霞", day(5))])

    phone = phone_profile(live_server)
    page = phone.new_page()
    log_in(page, world.mediator, world.password)
    ready_offline(page)
    entry = page.locator("#todo-entry")
    # 2 overdue + 1 today + the report's periods with nothing filed (current, previous).
    expect(entry).to_have_attribute("data-count", "5")
    expect(entry).to_contain_text("待办 5 项")
    expect(entry).to_contain_text("逾期 2 户")
    expect(entry).to_contain_text("今天 1 户")
    expect(entry).to_contain_text("报告 2 期")
    expect(entry).not_to_contain_text("新分配")  # the first download seeds silently

    # The supervisor gives her 吴霞家 (registered by a colleague): new on the next download.
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        moved = db.session.scalar(select(Entity).where(Entity.uuid == given["吴霞"]))
        assign(users[world.supervisor], moved, users[world.mediator])
        db.session.commit()
    page.locator("#sync-now").click()
    expect(entry).to_contain_text("新分配 1 户", timeout=20_000)
    expect(entry).to_have_attribute("data-count", "6")
    screen(page, "reminders-0-home")

    # No signal from here on: the list comes from the phone alone.
    phone.set_offline(True)
    page.reload()
    expect(entry).to_have_attribute("data-count", "6")
    entry.click()
    expect(page.locator("#todo-total")).to_have_text("今天有 6 项待办")
    expect(todo_section(page, "overdue")).to_have_attribute("data-count", "2")
    overdue = todo_section(page, "overdue").locator("li")
    expect(overdue.nth(0)).to_have_attribute("data-id", mine["赵敏"])  # longest overdue first
    expect(overdue.nth(0)).to_contain_text("已逾期 3 天")
    expect(overdue.nth(1)).to_have_attribute("data-id", mine["钱芳"])
    expect(todo_section(page, "due_today")).to_have_attribute("data-count", "1")
    expect(todo_section(page, "due_today")).to_contain_text("孙丽家")
    expect(todo_section(page, "due_tomorrow")).to_contain_text("李娟家")
    expect(todo_section(page, "report").locator("li")).to_have_count(2)
    expect(todo_section(page, "report")).to_contain_text("月度问题家庭排查")
    expect(todo_section(page, "assigned")).to_contain_text("吴霞家")
    assert page.locator("#todo").get_by_text("周红家").count() == 0  # due in 20 days
    screen(page, "reminders-1-todo-offline")

    # A report item leads to its card on the home screen.
    todo_section(page, "report").locator("a").first.click()
    expect(page.locator(".report-card.report-focus")).to_be_visible()
    page.go_back()

    # Her own visit, not yet sent, takes 赵敏家 off the list at once.
    todo_section(page, "overdue").locator("li").first.get_by_role("button", name="记录走访").click()
    expect(page.locator("#finalize-btn")).to_be_visible()
    chosen = page.locator('.q[data-name="household"]')
    expect(chosen.locator(f'input[value="{mine["赵敏"]}"]')).to_be_checked()
    fill(page, "走访日期", day(0))
    fill(page, "下次走访", day(14))
    tick(page, "case_status", "跟进中")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.locator("#finalize-btn").click()
    expect(page.locator("#status-bar")).to_be_visible()
    expect(entry).to_have_attribute("data-count", "5")
    entry.click()
    expect(todo_section(page, "overdue")).to_have_attribute("data-count", "1")

    # 知道了 on a newly assigned household: no longer 新分配.
    todo_section(page, "assigned").get_by_role("button", name="知道了").click()
    expect(todo_section(page, "assigned")).to_have_count(0)
    expect(page.locator("#todo-total")).to_have_text("今天有 4 项待办")

    # Back online: the server's list of the same day agrees with the phone's.
    phone.set_offline(False)
    expect(page.locator('#status-bar [data-count="sent"]')).to_have_text("1", timeout=30_000)
    token = api_token(app, world.mediator)
    served = client.get(
        "/api/v1/reminders/todo", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert served["day"] == day(0)
    phone_items = page.evaluate(
        """() => {
          const items = [];
          for (const kind of ['overdue', 'due_today', 'due_tomorrow', 'assigned']) {
            const lis = [...document.querySelectorAll(`#todo-${kind} li`)];
            if (lis.length) items.push({ kind, households: lis.map((li) => li.dataset.id) });
          }
          for (const li of document.querySelectorAll('#todo-report li')) {
            items.push({ kind: 'report', report_id: Number(li.dataset.report),
              period: li.dataset.period, status: li.dataset.status });
          }
          return items;
        }"""
    )
    assert comparable(phone_items, skip_assigned=True) == comparable(
        served["items"], skip_assigned=True
    )
    kinds = [i["kind"] for i in served["items"]]
    assert kinds.count("report") == 2 and "overdue" in kinds and "due_tomorrow" in kinds
    # The server counts 吴霞家 as assigned (given by the supervisor); the phone did too
    # until she tapped 知道了.
    assigned = [i for i in served["items"] if i["kind"] == "assigned"]
    assert assigned and assigned[0]["households"] == [given["吴霞"]]


def comparable(items: list[dict], skip_assigned: bool = False) -> list:
    """Items as sets to compare: household ids sorted, reports by id and period.
    ``skip_assigned``: the phone's "seen" rule (opened = done) has no server twin."""
    out = []
    for i in items:
        if i["kind"] == "report":
            out.append(("report", i["report_id"], i["period"], i["status"]))
        elif not (skip_assigned and i["kind"] == "assigned"):
            out.append((i["kind"], tuple(sorted(i["households"]))))
    return sorted(out, key=str)


# ---- push through the DevTools protocol ----------------------------------------


def registration_id(cdp, scope_url: str) -> str:
    """The service worker registration id the DevTools protocol knows for ``scope_url``."""
    found: list[str] = []

    def on_update(params) -> None:
        for r in params["registrations"]:
            if r["scopeURL"] == scope_url and not r.get("isDeleted"):
                found.append(r["registrationId"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", on_update)
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not found and time.monotonic() < deadline:
        cdp.send("Runtime.evaluate", {"expression": "1"})  # let events arrive
        time.sleep(0.1)
    assert found, "no service worker registration seen"
    return found[-1]


NOTIFICATIONS = """async () => {
  const reg = await navigator.serviceWorker.ready;
  return (await reg.getNotifications())
    .map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
}"""


def wait_notifications(page: Page, n: int) -> list[dict]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        shown = page.evaluate(NOTIFICATIONS)
        if len(shown) >= n:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"expected {n} notifications, saw {page.evaluate(NOTIFICATIONS)}")


def service_worker(context: BrowserContext):
    deadline = time.monotonic() + 10
    while not context.service_workers and time.monotonic() < deadline:
        time.sleep(0.1)
    assert context.service_workers, "no service worker"
    return context.service_workers[0]


def test_a_push_reaches_the_service_worker_and_a_tap_opens_the_todo_list(
    app, client, world, publish, online_phone, live_server, tmp_path
):
    context, page = online_phone
    for name, form in (("hh_register", REGISTER), ("hh_visit", VISIT)):
        (tmp_path / f"{name}.xlsx").write_bytes(form)
        publish(tmp_path / f"{name}.xlsx")
    context.grant_permissions(["notifications"], origin=live_server)
    seed(app, client, world.mediator, [("赵敏", day(-2)), ("孙丽", day(0))])
    page.locator("#sync-now").click()
    expect(page.locator("#todo-entry")).to_have_attribute("data-count", "2", timeout=20_000)

    # Periodic background sync (Chromium fires it only for installed apps: dispatched here
    # in the service worker): one local reminder a day, counts only, never in quiet hours.
    token = api_token(app, world.mediator)
    quiet = {"kinds": {"visits": True, "report": True, "assigned": True, "digest": True}}
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    inside = {  # quiet hours around now, then none (start = end)
        "quiet_start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "quiet_end": (now + timedelta(hours=1)).strftime("%H:%M"),
    }
    auth = {"Authorization": f"Bearer {token}"}
    assert (
        client.put(
            "/api/v1/reminders/preferences", json={**quiet, **inside}, headers=auth
        ).status_code
        == 200
    )
    sw = service_worker(context)
    periodic = """async () => {
      const e = new ExtendableEvent('periodicsync');
      Object.defineProperty(e, 'tag', { value: 'todo-refresh' });
      try { self.dispatchEvent(e); } catch (err) { /* a synthetic event's waitUntil */ }
    }"""
    sw.evaluate(periodic)
    page.wait_for_timeout(2000)
    assert page.evaluate(NOTIFICATIONS) == []  # quiet hours
    none = {"quiet_start": "00:00", "quiet_end": "00:00"}
    assert (
        client.put(
            "/api/v1/reminders/preferences", json={**quiet, **none}, headers=auth
        ).status_code
        == 200
    )
    sw.evaluate(periodic)
    shown = wait_notifications(page, 1)
    assert [(n["title"], n["body"], n["tag"], n["data"]) for n in shown] == [
        ("平安家庭", "您有1户今日待走访，1户已逾期", f"todo-{day(0)}", {"url": "/app#/todo"})
    ]
    page.wait_for_timeout(500)
    sw.evaluate(periodic)  # the same day again: nothing more
    page.wait_for_timeout(1500)
    assert len(page.evaluate(NOTIFICATIONS)) == 1
    page.evaluate(
        """async () => {
          for (const n of await (await navigator.serviceWorker.ready).getNotifications()) n.close();
        }"""
    )

    cdp = context.new_cdp_session(page)
    reg = registration_id(cdp, f"{live_server}/")
    payload = {
        "kind": "visits",
        "title": "平安家庭",
        "body": "您有1户今日待走访，1户已逾期",
        "url": "/app#/todo",
        "tag": f"visits-{day(0)}",
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server, "registrationId": reg, "data": json.dumps(payload)},
    )
    shown = wait_notifications(page, 1)
    assert shown == [
        {
            "title": "平安家庭",
            "body": "您有1户今日待走访，1户已逾期",
            "tag": f"visits-{day(0)}",
            "data": {"url": "/app#/todo"},
        }
    ]
    for name in ("赵敏", "孙丽", world.mediator, "和平社区"):
        assert name not in json.dumps(shown, ensure_ascii=False)

    # A payload that is not JSON: a generic line, nothing else.
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server, "registrationId": reg, "data": "not json"},
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        shown = page.evaluate(NOTIFICATIONS)
        if any(n["tag"] == "todo" for n in shown):
            break
        time.sleep(0.2)
    generic = [n for n in shown if n["tag"] == "todo"]
    assert generic and generic[0]["body"] == "您有新的待办"
    assert generic[0]["data"] == {"url": "/app#/todo"}

    # A tap (dispatched in the service worker, as the browser does): the open app goes to 待办.
    page.goto("/app#/")
    expect(page.locator("#todo-entry")).to_be_visible()
    sw.evaluate(
        """async (tag) => {
          const [n] = await self.registration.getNotifications({ tag });
          try {
            self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n }));
          } catch (err) { /* waitUntil on a synthetic event: the handler's work still runs */ }
        }""",
        f"visits-{day(0)}",
    )
    expect(page).to_have_url(f"{live_server}/app#/todo")
    expect(page.locator("#todo-total")).to_be_visible()
    expect(page.locator("#todo-overdue")).to_contain_text("赵敏家")  # in the app, names are fine
    # The tapped notification is closed; a URL of another site would open 待办 instead.
    shown = page.evaluate(NOTIFICATIONS)
    assert all(n["tag"] != f"visits-{day(0)}" for n in shown)
    page.goto("/app#/")
    expect(page.locator("#todo-entry")).to_be_visible()
    sw.evaluate(
        """async () => {
          await self.registration.showNotification('x',
            { tag: 'evil', data: { url: 'https://evil.example/' } });
          const [n] = await self.registration.getNotifications({ tag: 'evil' });
          try {
            self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n }));
          } catch (err) { /* as above */ }
        }"""
    )
    expect(page).to_have_url(f"{live_server}/app#/todo")


def test_reminder_settings_say_what_the_phone_can_do(world, online_phone, live_server):
    context, page = online_phone
    page.goto("/app#/reminders")
    verdict = page.locator("#reminder-verdict")
    expect(verdict).to_be_visible()
    # 127.0.0.1 is a secure context: Chromium has service worker, notifications and push;
    # headless Chromium refuses notifications until the test allows them.
    caps = page.locator("#reminder-caps")
    expect(caps).to_contain_text("安全连接（https）： 是")
    expect(caps).to_contain_text("推送： 支持")
    expect(caps).to_contain_text("权限已拒绝")
    expect(verdict).to_have_attribute("data-push", "no")
    expect(verdict).to_contain_text("提醒会显示在“待办”里")
    expect(page.locator("#push-toggle")).to_be_disabled()
    screen(page, "reminders-2-settings-denied")

    context.grant_permissions(["notifications"], origin=live_server)
    page.reload()
    expect(caps).to_contain_text("权限已允许")
    expect(verdict).to_have_attribute("data-push", "maybe")
    expect(verdict).to_contain_text("还没有开启")
    screen(page, "reminders-3-settings")

    # Before the browser asks: why, in Chinese; 暂不开启 changes nothing.
    page.locator("#push-toggle").click()
    modal = page.locator(".modal")
    expect(modal).to_contain_text("通知里只有数字，不会显示姓名或地址")
    screen(page, "reminders-4-before-permission")
    modal.get_by_role("button", name="暂不开启").click()
    expect(page.locator("#push-msg")).to_be_hidden()

    # Allowed, but headless Chromium has no push service to reach: a clear message, in time.
    page.locator("#push-toggle").click()
    modal.get_by_role("button", name="继续").click()
    msg = page.locator("#push-msg.msg-error")
    expect(msg).to_be_visible(timeout=40_000)
    screen(page, "reminders-5-push-failed")
    expect(page.locator("#push-toggle")).to_be_enabled()
    expect(page.locator("#push-toggle")).to_have_text("开启推送提醒")


# ---- turning push on and off, with the browser's push service stubbed ------------
#
# Headless Chromium reaches no push service (the test above), so PushManager's subscribe
# and getSubscription are replaced by a stub that hands out a subscription with real
# P-256 keys; everything else (permission, the server's VAPID key, POST, DELETE, the
# preferences, logout) is the real thing.

STUB_PUSH = """
(() => {
  const KEY = 'stub-push';
  const make = (json) => ({
    endpoint: json.endpoint, expirationTime: null, toJSON: () => json,
    unsubscribe: async () => { sessionStorage.removeItem(KEY); return true; },
  });
  PushManager.prototype.subscribe = async function subscribe(options) {
    const key = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)))
      .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
    const json = { ...window.__stubSubscription, usedKey: key };
    sessionStorage.setItem(KEY, JSON.stringify(json));
    return make(json);
  };
  PushManager.prototype.getSubscription = async function getSubscription() {
    const saved = sessionStorage.getItem(KEY);
    return saved ? make(JSON.parse(saved)) : null;
  };
})();
"""


def stub_subscription() -> dict:
    """A subscription as a browser makes one: an https endpoint and real keys."""
    import base64
    import os

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    point = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {
        "endpoint": f"https://push.example.test/send/{b64(os.urandom(12))}",
        "expirationTime": None,
        "keys": {"p256dh": b64(raw), "auth": b64(os.urandom(16))},
    }


def subscriptions_of(app, username: str) -> list[str]:
    from fieldapp.reminders.models import PushSubscription

    with app.app_context():
        user = get_user(username)
        rows = db.session.scalars(
            select(PushSubscription).where(PushSubscription.user_id == user.id)
        )
        return [s.endpoint for s in rows]


META_KEYS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('fieldapp');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const req = open.result.transaction('meta').objectStore('meta').getAllKeys();
    req.onsuccess = () => { open.result.close(); resolve(req.result.map(String)); };
    req.onerror = () => reject(req.error);
  };
})"""


def test_push_on_off_preferences_and_logout(
    app, client, world, publish, online_phone, live_server, tmp_path
):
    context, page = online_phone
    for name, form in (("hh_register", REGISTER), ("hh_visit", VISIT)):
        (tmp_path / f"{name}.xlsx").write_bytes(form)
        publish(tmp_path / f"{name}.xlsx")
    sub = stub_subscription()
    context.grant_permissions(["notifications"], origin=live_server)
    context.add_init_script(f"window.__stubSubscription = {json.dumps(sub)};\n{STUB_PUSH}")
    page.goto("/app#/reminders")
    page.reload()  # the stub in place (a hash change loads no page)
    toggle = page.locator("#push-toggle")
    expect(toggle).to_have_text("开启推送提醒")
    toggle.click()
    page.locator(".modal").get_by_role("button", name="继续").click()
    expect(page.locator("#push-msg.msg-ok")).to_contain_text("推送提醒已开启")
    expect(toggle).to_have_text("关闭推送提醒")
    expect(page.locator("#reminder-verdict")).to_have_attribute("data-push", "yes")
    expect(page.locator("#reminder-caps")).to_contain_text("本机已开启")
    assert subscriptions_of(app, world.mediator) == [sub["endpoint"]]
    # It subscribed with the server's VAPID key.
    token = api_token(app, world.mediator)
    key = client.get("/api/v1/push/key", headers={"Authorization": f"Bearer {token}"})
    used = page.evaluate("JSON.parse(sessionStorage.getItem('stub-push')).usedKey")
    assert used == key.get_json()["public_key"]
    screen(page, "reminders-6-push-on")

    # Off: unsubscribed here, deleted on the server.
    toggle.click()
    expect(page.locator("#push-msg.msg-ok")).to_contain_text("已关闭推送提醒")
    expect(toggle).to_have_text("开启推送提醒")
    assert subscriptions_of(app, world.mediator) == []

    # Kinds and quiet hours, kept by the server.
    page.reload()
    expect(page.locator("#kind-assigned")).to_be_checked()
    page.locator("#kind-assigned").uncheck()
    page.locator("#quiet-start").fill("22:30")
    page.locator("#quiet-end").fill("07:00")
    page.locator("#prefs-save").click()
    expect(page.locator("#prefs-msg.msg-ok")).to_have_text("已保存。")
    prefs = client.get(
        "/api/v1/reminders/preferences", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert prefs["kinds"]["assigned"] is False and prefs["kinds"]["visits"] is True
    assert (prefs["quiet_start"], prefs["quiet_end"]) == ("22:30", "07:00")
    assert page.locator("#kind-digest").count() == 0  # a mediator gets no supervisors' digest

    # On again, then logout: the shared phone keeps nothing of hers for the next person.
    toggle.click()
    page.locator(".modal").get_by_role("button", name="继续").click()
    expect(page.locator("#push-msg.msg-ok")).to_contain_text("推送提醒已开启")
    assert subscriptions_of(app, world.mediator) == [sub["endpoint"]]
    page.goto("/app#/todo")
    expect(page.locator("#todo-total")).to_be_visible()
    keys = page.evaluate(META_KEYS)
    assert f"todoSeen:{world.mediator}" in keys and f"reminderPrefs:{world.mediator}" in keys
    page.locator("#logout-btn").click()
    expect(page.locator("#username")).to_be_visible()
    assert subscriptions_of(app, world.mediator) == []
    assert page.evaluate("sessionStorage.getItem('stub-push')") is None
    keys = page.evaluate(META_KEYS)
    assert not [
        k
        for k in keys
        if k.endswith(f":{world.mediator}")
        and k.split(":")[0] in ("todoSeen", "reminderPrefs", "todoNotified")
    ]
