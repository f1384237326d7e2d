"""A phone shared by two mediators (issue 14, "phone data after logout"): what was sent
leaves the phone once the server has it (a receipt stays: form, when, the day it counts
for), and logging out takes the person's forms, household lists, form media and the forms'
kept first screens with it;
unsent work stays, for that person only, and can still be finished."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import count, fill, fill_screening, finalize, log_in, open_form

pytestmark = pytest.mark.e2e

READ_STORES = """async () => {
  const db = await new Promise((ok, no) => {
    const r = indexedDB.open('fieldapp'); r.onsuccess = () => ok(r.result); r.onerror = no;
  });
  const all = (name) => new Promise((ok) => {
    const r = db.transaction(name).objectStore(name).getAll(); r.onsuccess = () => ok(r.result);
  });
  const keys = (name) => new Promise((ok) => {
    const r = db.transaction(name).objectStore(name).getAllKeys(); r.onsuccess = () => ok(r.result);
  });
  const out = { outbox: await all('outbox'), drafts: await all('drafts'),
                forms: await all('forms'), lists: await all('entityLists'),
                meta: await keys('meta'), caches: await caches.keys(),
                local: Object.keys(localStorage) };
  db.close();
  return out;
}"""


def test_a_shared_phone_keeps_receipts_and_unsent_work_only(world, online_phone):
    phone, page = online_phone
    fill_screening(page, "冯丽")
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    # The sync that sent it then reads the household lists again and keeps a receipt.
    page.wait_for_function(
        f"async () => ({READ_STORES})().then((s) => s.outbox.length === 1 && s.outbox[0].receipt)"
    )
    stores = page.evaluate(READ_STORES)
    [sent] = stores["outbox"]
    assert sent["status"] == "sent" and sent["xml"] == "" and sent["files"] == {}
    assert sent["receipt"] and sent["day"]  # what the report card needs, no answers
    # ...another questionnaire is left unfinished, then she logs out and keeps it.
    open_form(page, "问题家庭排查")
    fill(page, "户主姓名", "韩梅")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    # The blank form's first screen is kept on the phone for the next open (issue 12).
    page.wait_for_function(
        f"async () => ({READ_STORES})().then((s) => s.meta.includes('snapshot:{world.mediator}:family_screening'))"
    )
    # ...and mirrored, with her name, for a quick start on the next reload of the form.
    local = page.evaluate(READ_STORES)["local"]
    assert f"fieldapp:first-screen:{world.mediator}:family_screening" in local
    assert "fieldapp:owner" in local
    page.goto("/app")
    page.locator("#logout-btn").click()
    page.get_by_role("button", name="退出（保留在本机）").click()
    expect(page.locator("#username")).to_be_visible()
    stores = page.evaluate(READ_STORES)
    assert [d["owner"] for d in stores["drafts"]] == [world.mediator]
    [receipt] = stores["outbox"]
    assert receipt["summary"] == "" and receipt["xml"] == ""
    # Only the form version her draft needs is kept; no lists, no form media.
    assert [(f["owner"], f["form_id"]) for f in stores["forms"]] == [
        (world.mediator, "family_screening")
    ]
    assert stores["lists"] == []
    assert "fieldapp-media-v1" not in stores["caches"]
    assert not [k for k in stores["meta"] if k.startswith("snapshot:")]
    assert not [k for k in stores["local"] if k.startswith(("fieldapp:first-screen:", "fieldapp:owner"))]

    log_in(page, world.mediator2, world.password)  # a colleague on the same phone
    expect(count(page, "drafts")).to_have_text("0")
    expect(count(page, "sent")).to_have_text("0")
    page.locator("#logout-btn").click()
    expect(page.locator("#username")).to_be_visible()

    log_in(page, world.mediator, world.password)
    expect(count(page, "drafts")).to_have_text("1")
    page.locator(".draft-item button.resume").click()
    expect(page.get_by_label("户主姓名", exact=True)).to_have_value("韩梅")
