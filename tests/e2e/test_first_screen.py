"""A form opened again shows its first screen at once, before ODK's form engine is ready
(issue 12, warm open): the phone keeps the blank form's first screen from an earlier open
and paints it while the engine starts. What a mediator types or ticks there is not lost:
it goes into the real form when the engine is ready, with the skip logic that follows, the
draft and the record sent. The copy is never stale: a new form version waits for its own.
A draft reopens the same way, on its first screen as last saved.

The engine is held back in these stories by making WebAssembly wait (the engine compiles
its XPath parser as WebAssembly when it starts), which the app cannot tell from a slow
phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.e2e.steps import count, fill, finalize, open_form, publish_and_open, question, snap, tick
from tests.helpers import xlsform

pytestmark = pytest.mark.e2e


def home_visit(version: str, name_label: str = "老人姓名") -> bytes:
    return xlsform(
        [
            ["type", "name", "label", "relevant"],
            ["text", "elder", name_label, ""],
            ["integer", "age", "年龄", ""],
            ["note", "care_note", "请同时填写老年人关爱表", "${age} >= 60"],
            ["select_one yn", "alone", "是否独居", ""],
            ["select_multiple need", "needs", "需要的帮助", ""],
            ["text", "alone_why", "独居原因", "${alone} = 'yes'"],
            ["begin_repeat", "visitors", "探访人", ""],
            ["text", "visitor", "探访人姓名", ""],
            ["end_repeat", "", "", ""],
        ],
        choices=[
            ["list_name", "name", "label"],
            ["yn", "yes", "是"],
            ["yn", "no", "否"],
            ["need", "meal", "送餐"],
            ["need", "doctor", "就医"],
            ["need", "chat", "陪伴"],
        ],
        settings=[["form_id", "version", "form_title"], ["home_visit", version, "老人探访"]],
    )


# Installed in every page: when the page's sessionStorage says so, WebAssembly (and with it
# the form engine) waits until the test calls window.__releaseEngine().
HOLD_ENGINE = """(() => {
  if (sessionStorage.getItem('hold-engine') !== '1') return;
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  window.__releaseEngine = () => { sessionStorage.removeItem('hold-engine'); release(); };
  for (const name of ['instantiateStreaming', 'instantiate', 'compileStreaming', 'compile']) {
    const real = WebAssembly[name];
    if (real) WebAssembly[name] = async (...args) => { await held; return real.apply(WebAssembly, args); };
  }
})()"""

# Installed in every page: when sessionStorage says so, opening IndexedDB answers only
# when the test calls window.__releaseStorage() (a phone whose storage is slow to answer).
HOLD_STORAGE = """(() => {
  if (sessionStorage.getItem('hold-storage') !== '1') return;
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  window.__releaseStorage = () => { sessionStorage.removeItem('hold-storage'); release(); };
  const realOpen = indexedDB.open.bind(indexedDB);
  indexedDB.open = (...args) => {
    const req = realOpen(...args);
    for (const type of ['success', 'upgradeneeded']) {
      req.addEventListener(type, (e) => {
        if (window.__storageReleased) return;
        e.stopImmediatePropagation();
        held.then(() => { window.__storageReleased = true; req.dispatchEvent(new Event(type)); });
      }, { capture: true, once: true });
    }
    return req;
  };
})()"""

KEPT = """(key) => new Promise((resolve) => {
  const req = indexedDB.open('fieldapp');
  req.onerror = () => resolve(null);
  req.onsuccess = () => {
    const get = req.result.transaction('meta').objectStore('meta').get(key);
    get.onsuccess = () => { resolve(get.result ? get.result.version : null); req.result.close(); };
    get.onerror = () => { resolve(null); req.result.close(); };
  };
})"""


# Types `text` into the focused box as soon as the real form has replaced the copy.
TYPE_AT_SWAP = """(text) => {
  const watch = new MutationObserver(() => {
    if (!document.getElementById('finalize-btn')) return;
    watch.disconnect();
    document.execCommand('insertText', false, text);
  });
  watch.observe(document.body, { childList: true, subtree: true });
}"""


def first_screen_kept(page: Page, username: str, version: str) -> None:
    """Wait until the phone keeps the blank first screen of this version (idle time)."""
    page.wait_for_function(
        f"async () => (await ({KEPT})('snapshot:{username}:home_visit')) === '{version}'"
    )


def reopen_with_engine_held(page: Page) -> None:
    """The phone opens the form again (a reload of its address), the engine slow to start."""
    page.evaluate("() => sessionStorage.setItem('hold-engine', '1')")
    page.goto("/app#/new/home_visit")
    page.reload()


def release_engine(page: Page) -> None:
    page.evaluate("() => window.__releaseEngine()")


def send_the_only_one(app, page: Page) -> dict:
    """完成并发送 the open questionnaire; once the server has it, its answers (the only
    submission of the story)."""
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        return sub.data


@pytest.fixture
def visit_phone(online_phone, world, publish, tmp_path):
    phone, page = online_phone
    phone.add_init_script(HOLD_ENGINE)
    phone.add_init_script(HOLD_STORAGE)
    publish_and_open(page, publish, tmp_path / "home_visit.xlsx", home_visit("1"), "老人探访")
    first_screen_kept(page, world.mediator, "1")
    return page


def test_answers_typed_before_the_engine_is_ready_are_kept(app, visit_phone):
    page = visit_phone
    reopen_with_engine_held(page)

    # The first screen is there at once, answerable; what needs the engine waits.
    form = page.locator("#fieldapp-form.provisional")
    expect(form).to_be_visible()
    expect(page.locator("#finalize-btn")).to_have_count(0)
    expect(form.get_by_role("button", name="添加一项")).to_be_disabled()
    expect(page.locator("#save-state")).to_have_text("正在准备…")
    form.get_by_label("老人姓名", exact=True).fill("王秀英")
    form.get_by_label("年龄", exact=True).fill("67")
    tick(form, "alone", "是")
    tick(form, "needs", "送餐", "陪伴")
    form.get_by_label("探访人姓名", exact=True).fill("李")
    # No skip logic yet: the note for those over 60 waits for the engine.
    expect(question(page, "care_note")).to_be_hidden()
    snap(page, "first-screen-kept-copy")

    release_engine(page)
    expect(page.locator("#fieldapp-form.provisional")).to_have_count(0)
    expect(page.locator("#finalize-btn")).to_be_visible()
    # Everything typed is in the real form, and what it makes appear appears.
    expect(page.get_by_label("老人姓名", exact=True)).to_have_value("王秀英")
    expect(page.get_by_label("年龄", exact=True)).to_have_value("67")
    expect(question(page, "care_note")).to_be_visible()
    expect(question(page, "alone").get_by_label("是", exact=True)).to_be_checked()
    needs = question(page, "needs")
    expect(needs.get_by_label("送餐", exact=True)).to_be_checked()
    expect(needs.get_by_label("就医", exact=True)).not_to_be_checked()
    expect(needs.get_by_label("陪伴", exact=True)).to_be_checked()
    expect(question(page, "alone_why")).to_be_visible()
    # The box being typed in keeps the caret: typing goes on where it was.
    visitor = page.get_by_label("探访人姓名", exact=True)
    expect(visitor).to_be_focused()
    page.keyboard.type("大姐")
    expect(visitor).to_have_value("李大姐")
    visitor.blur()

    # Saved as a draft like any answer, and sent as typed.
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.reload()
    expect(page.get_by_label("年龄", exact=True)).to_have_value("67")
    data = send_the_only_one(app, page)
    assert data["elder"] == "王秀英"
    assert data["age"] == "67"
    assert data["alone"] == "yes"
    assert data["needs"] == "meal chat"
    assert data["visitors"] == [{"visitor": "李大姐"}]


def test_the_real_form_waits_for_a_word_being_composed(visit_phone):
    """A mediator typing Chinese with a pinyin keyboard is not interrupted mid-word."""
    page = visit_phone
    reopen_with_engine_held(page)
    box = page.locator("#fieldapp-form.provisional").get_by_label("老人姓名", exact=True)
    box.focus()
    box.dispatch_event("compositionstart")
    release_engine(page)
    page.wait_for_timeout(6000)  # a slow word: the real form still waits
    expect(page.locator("#fieldapp-form.provisional")).to_be_visible()
    box.fill("张桂兰")
    box.dispatch_event("compositionend")
    expect(page.locator("#fieldapp-form.provisional")).to_have_count(0)
    expect(page.get_by_label("老人姓名", exact=True)).to_have_value("张桂兰")
    expect(page.get_by_label("老人姓名", exact=True)).to_be_focused()


def test_a_new_form_version_never_shows_the_old_first_screen(
    visit_phone, world, publish, tmp_path
):
    page = visit_phone
    path = tmp_path / "home_visit_v2.xlsx"
    path.write_bytes(home_visit("2", name_label="被探访老人姓名"))
    publish(path)
    page.goto("/app")
    page.locator("#sync-now").click()
    expect(page.locator("a.form-link", has_text="老人探访")).to_be_visible()
    page.wait_for_timeout(500)

    # Version 2 has no kept first screen yet: nothing is shown before the engine.
    reopen_with_engine_held(page)
    page.wait_for_timeout(1000)
    expect(page.locator("#fieldapp-form.provisional")).to_have_count(0)
    expect(page.get_by_text("老人姓名", exact=True)).to_have_count(0)
    release_engine(page)
    expect(page.get_by_label("被探访老人姓名", exact=True)).to_be_visible()
    first_screen_kept(page, world.mediator, "2")

    reopen_with_engine_held(page)
    form = page.locator("#fieldapp-form.provisional")
    expect(form.get_by_label("被探访老人姓名", exact=True)).to_be_visible()
    release_engine(page)
    expect(page.locator("#finalize-btn")).to_be_visible()


def test_the_first_screen_shows_before_the_phone_storage_answers(app, visit_phone):
    """A reload of the form's address paints its kept first screen in the app's first
    moment, before the phone's storage (IndexedDB) has answered: it is mirrored, with the
    name of the person last using the phone, in the page's small synchronous storage. Once
    the storage answers, the copy is checked and the form goes on as before."""
    page = visit_phone
    page.evaluate("() => sessionStorage.setItem('hold-storage', '1')")
    page.reload()
    form = page.locator("#fieldapp-form.provisional")
    expect(form.get_by_label("老人姓名", exact=True)).to_be_visible()
    form.get_by_label("老人姓名", exact=True).fill("赵桂兰")
    page.evaluate("() => window.__releaseStorage()")
    expect(page.locator("#finalize-btn")).to_be_visible()
    expect(page.get_by_label("老人姓名", exact=True)).to_have_value("赵桂兰")
    assert send_the_only_one(app, page)["elder"] == "赵桂兰"


def test_a_mirrored_first_screen_that_no_longer_fits_is_taken_away(visit_phone, world):
    """A mirrored copy that does not fit the form as the phone holds it (here: another
    version's, as after an update fetched in the background) is taken away as soon as
    that is known, before anyone could type in it, and forgotten; the real form follows."""
    page = visit_phone
    key = f"fieldapp:first-screen:{world.mediator}:home_visit"
    page.evaluate(
        """(key) => { const kept = JSON.parse(localStorage.getItem(key));
        kept.version = '0'; kept.html = kept.html.replace('老人姓名', '旧版本的问题');
        localStorage.setItem(key, JSON.stringify(kept)); }""",
        key,
    )
    reopen_with_engine_held(page)
    page.wait_for_function("(key) => localStorage.getItem(key) === null", arg=key)  # checked
    expect(page.locator("#fieldapp-form.provisional")).to_have_count(0)
    expect(page.get_by_text("旧版本的问题")).to_have_count(0)
    expect(page.get_by_text("正在打开问卷…")).to_be_visible()  # the engine is still held
    release_engine(page)
    expect(page.get_by_label("老人姓名", exact=True)).to_be_visible()
    expect(page.locator("#finalize-btn")).to_be_visible()


def test_household_after_household_each_questionnaire_starts_blank(app, visit_phone):
    """The next questionnaire of the same form in the same session reuses the form as
    read by the engine (issue 12): each starts blank and is sent with its own answers."""
    page = visit_phone
    for elder, age in (("赵玉兰", "72"), ("钱淑珍", "45")):
        expect(page.get_by_label("老人姓名", exact=True)).to_have_value("")
        expect(page.get_by_label("年龄", exact=True)).to_have_value("")
        expect(question(page, "care_note")).to_be_hidden()
        fill(page, "老人姓名", elder)
        fill(page, "年龄", age)
        if int(age) >= 60:
            expect(question(page, "care_note")).to_be_visible()
        tick(page, "alone", "否")
        finalize(page)
        open_form(page, "老人探访")
    expect(count(page, "sent")).to_have_text("2", timeout=30_000)
    with app.app_context():
        sent = {s.data["elder"]: s.data for s in db.session.scalars(select(Submission)).all()}
    assert sent["赵玉兰"]["age"] == "72" and sent["钱淑珍"]["age"] == "45"
    assert sent["赵玉兰"]["meta"]["instanceID"] != sent["钱淑珍"]["meta"]["instanceID"]


def test_a_draft_reopens_on_its_last_saved_screen(app, visit_phone):
    """Reopening a draft shows its first screen as last saved, answers and all, while the
    engine restores it; a change made there is kept too."""
    page = visit_phone
    fill(page, "老人姓名", "孙桂芝")
    fill(page, "年龄", "58")
    tick(page, "needs", "就医")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    expect(page).to_have_url(re.compile(r"#/draft/"))

    page.evaluate("() => sessionStorage.setItem('hold-engine', '1')")
    page.reload()
    form = page.locator("#fieldapp-form.provisional")
    expect(form.get_by_label("老人姓名", exact=True)).to_have_value("孙桂芝")
    expect(form.get_by_label("就医", exact=True)).to_be_checked()
    age = form.get_by_label("年龄", exact=True)
    age.fill("61")
    age.blur()
    release_engine(page)

    expect(page.locator("#finalize-btn")).to_be_visible()
    expect(page.get_by_label("年龄", exact=True)).to_have_value("61")
    expect(question(page, "care_note")).to_be_visible()
    expect(page.get_by_label("就医", exact=True)).to_be_checked()
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.reload()
    expect(page.get_by_label("年龄", exact=True)).to_have_value("61")
    data = send_the_only_one(app, page)
    assert (data["elder"], data["age"], data["needs"]) == ("孙桂芝", "61", "doctor")


def test_typing_on_through_the_swap_loses_no_key(visit_phone):
    """Keys typed the moment the real form takes the copy's place land after what was
    typed in the copy, while the copy's ticks are still being put in."""
    page = visit_phone
    reopen_with_engine_held(page)
    form = page.locator("#fieldapp-form.provisional")
    tick(form, "needs", "送餐", "就医", "陪伴")
    tick(form, "alone", "是")
    box = form.get_by_label("探访人姓名", exact=True)  # below the ticked questions
    box.click()
    page.keyboard.type("李")
    # The next keys come the moment the real form is in place (before its next task).
    page.evaluate(TYPE_AT_SWAP, "大姐")
    release_engine(page)
    expect(page.locator("#finalize-btn")).to_be_visible()
    name = page.get_by_label("探访人姓名", exact=True)
    expect(name).to_have_value("李大姐")
    expect(question(page, "needs").locator("input:checked")).to_have_count(3)
    expect(question(page, "alone_why")).to_be_visible()
    page.wait_for_timeout(500)
    expect(name).to_have_value("李大姐")


def test_a_tap_held_while_the_engine_gets_ready_still_ticks(visit_phone):
    page = visit_phone
    reopen_with_engine_held(page)
    choice = question(page.locator("#fieldapp-form.provisional"), "alone").locator(
        "label.choice", has_text="是"
    )
    area = choice.bounding_box()
    page.mouse.move(area["x"] + 20, area["y"] + area["height"] / 2)
    page.mouse.down()
    release_engine(page)
    page.wait_for_timeout(1500)  # the real form is ready; the finger is still down
    page.mouse.up()
    expect(page.locator("#finalize-btn")).to_be_visible()
    expect(question(page, "alone").get_by_label("是", exact=True)).to_be_checked()
    expect(question(page, "alone_why")).to_be_visible()


def test_leaving_the_first_screen_keeps_what_was_typed_in_a_draft(visit_phone):
    """← 返回 tapped before the engine is ready: what was typed there becomes a draft."""
    page = visit_phone
    reopen_with_engine_held(page)
    page.locator("#fieldapp-form.provisional").get_by_label("老人姓名", exact=True).fill("周凤英")
    page.get_by_role("link", name="← 返回").click()
    expect(page.locator("a.form-link").first).to_be_visible()
    release_engine(page)
    expect(count(page, "drafts")).to_have_text("1")
    expect(page).not_to_have_url(re.compile(r"#/draft/"))
    page.locator(".draft-item button.resume").click()
    expect(page.get_by_label("老人姓名", exact=True)).to_have_value("周凤英")
