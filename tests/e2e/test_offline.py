"""A mediator in a village with no signal: she fills in questionnaires offline, her phone
restarts, and when the network comes back each questionnaire reaches the server once —
even when the server dies in the middle of the sync, her login expires, or a new version
of the form is published while she is still filling in the old one."""

from __future__ import annotations

import socket
import struct
import threading
import zlib
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from werkzeug.serving import make_server

from fieldapp.areas.services import get_area
from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from fieldapp.surveys.services import get_form
from tests.e2e.steps import (
    count,
    fill,
    fill_screening,
    finalize,
    log_in,
    member,
    open_form,
    ready_offline,
    snap,
    tick,
)
from tests.helpers import (
    SCREENING,
    api_token,
    post_submission,
    screening_answers,
    submission_xml,
    xlsform,
)

pytestmark = pytest.mark.e2e

VISIT_FORM = xlsform(
    [
        ["type", "name", "label", "required"],
        ["text", "head_name", "户主姓名", "yes"],
        ["begin_repeat", "members", "家庭成员", ""],
        ["text", "m_name", "成员姓名", ""],
        ["integer", "m_age", "成员年龄", ""],
        ["end_repeat", "", "", ""],
        ["image", "house_photo", "住房照片", ""],
        ["geopoint", "location", "位置", ""],
    ],
    settings=[["form_id", "version", "form_title"], ["home_visit", "1", "入户走访"]],
)


def png(width: int = 64, height: int = 48) -> bytes:
    """A small valid PNG, as a phone camera would hand over a picture."""
    row = b"\x00" + b"\xc0\x40\x40" * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def stored(app) -> list[Submission]:
    with app.app_context():
        subs = db.session.scalars(select(Submission).order_by(Submission.id)).all()
        for s in subs:  # load what the assertions read before the session closes
            _ = [a.filename for a in s.attachments], s.form.form_id, s.form_version.version
        return subs


def fill_visit_with_photo(page: Page) -> None:
    open_form(page, "入户走访")
    fill(page, "户主姓名", "陈芳")
    fill(page.locator(".repeat-instance").nth(0), "成员姓名", "陈小明")
    fill(page.locator(".repeat-instance").nth(0), "成员年龄", "9")
    page.get_by_role("button", name="添加一项").click()
    fill(page.locator(".repeat-instance").nth(1), "成员姓名", "陈奶奶")
    fill(page.locator(".repeat-instance").nth(1), "成员年龄", "81")
    photo = page.locator('.q[data-name="house_photo"] input[type=file]')
    photo.set_input_files({"name": "IMG_0001.png", "mimeType": "image/png", "buffer": png()})
    expect(page.locator('.q[data-name="house_photo"] img.photo-thumb')).to_be_visible()
    page.get_by_role("button", name="获取位置").click()
    expect(page.locator('.q[data-name="location"]')).to_contain_text("精度")
    expect(page.locator("#save-state")).to_contain_text("已保存")


def test_three_questionnaires_filled_offline_arrive_once_after_a_restart(
    app, world, publish, phone_profile, live_server, tmp_path
):
    publish(SCREENING)
    visit = tmp_path / "home_visit.xlsx"
    visit.write_bytes(VISIT_FORM)
    publish(visit)

    phone = phone_profile(live_server)
    page = phone.new_page()
    log_in(page, world.mediator, world.password)
    ready_offline(page)
    expect(page.locator("a.form-link")).to_have_count(2)

    phone.set_offline(True)  # no signal from here on
    page.reload()
    expect(page.locator("a.form-link")).to_have_count(2)  # the app opens without network
    fill_screening(page, "王秀英")
    finalize(page)
    fill_visit_with_photo(page)
    finalize(page)
    fill_screening(page, "刘桂兰")
    finalize(page)
    expect(count(page, "waiting")).to_have_text("3")
    expect(count(page, "sent")).to_have_text("0")  # waiting never looks like sent
    page.reload()
    expect(count(page, "waiting")).to_have_text("3")
    snap(page, "offline-0-three-waiting")
    assert stored(app) == []

    phone.close()  # the phone is switched off and on again, still without signal
    phone = phone_profile(live_server)
    phone.set_offline(True)
    page = phone.new_page()
    page.goto("/app")
    expect(count(page, "waiting")).to_have_text("3")

    phone.set_offline(False)  # signal again: the outbox empties by itself
    expect(count(page, "sent")).to_have_text("3", timeout=30_000)
    expect(count(page, "waiting")).to_have_text("0")
    snap(page, "offline-1-all-sent")

    subs = stored(app)
    assert len(subs) == 3
    heads = sorted(
        s.data.get("household_info", {}).get("household_head") or s.data["head_name"] for s in subs
    )
    assert heads == ["刘桂兰", "王秀英", "陈芳"]
    [visit_sub] = [s for s in subs if s.form.form_id == "home_visit"]
    assert [(m["m_name"], m["m_age"]) for m in visit_sub.data["members"]] == [
        ("陈小明", "9"),
        ("陈奶奶", "81"),
    ]
    photo_name = visit_sub.data["house_photo"]
    assert [a.filename for a in visit_sub.attachments] == [photo_name]
    assert visit_sub.data["location"].startswith("30.2741 120.1551")


class KillableServer:
    """The app on a port of its own; it can die right after storing a submission."""

    def __init__(self, app):
        self.app = app
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.kill_after_next_submission = False
        self.killed = threading.Event()
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wsgi(self, environ, start_response):
        if (
            self.kill_after_next_submission
            and environ["REQUEST_METHOD"] == "POST"
            and environ["PATH_INFO"] == "/submission"
        ):
            self.kill_after_next_submission = False
            b"".join(self.app(environ, lambda *args, **kwargs: None))  # stored, committed
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)  # the answer never leaves
            self.stopping = threading.Thread(target=self._die)
            self.stopping.start()
            return []
        return self.app(environ, start_response)

    def _die(self) -> None:
        self.stop()
        self.killed.set()

    def start(self) -> None:
        if getattr(self, "stopping", None):
            self.stopping.join()
        self.server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def killable(app):
    server = KillableServer(app)
    yield server
    if server.server.socket.fileno() != -1:
        server.stop()


def test_a_server_killed_in_the_middle_of_a_sync_still_gets_each_questionnaire_once(
    app, world, publish, phone_profile, killable
):
    publish(SCREENING)
    phone = phone_profile(killable.url)
    page = phone.new_page()
    log_in(page, world.mediator, world.password)
    ready_offline(page)
    phone.set_offline(True)
    fill_screening(page, "赵兰")
    finalize(page)
    expect(count(page, "waiting")).to_have_text("1")

    killable.kill_after_next_submission = True
    phone.set_offline(False)
    assert killable.killed.wait(30), "the phone never tried to send"
    assert len(stored(app)) == 1  # stored, but the phone never heard so
    expect(count(page, "sent")).to_have_text("0")
    expect(count(page, "waiting")).to_have_text("1")

    killable.start()  # the server is back
    page.locator("#sync-now").click()
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    assert len(stored(app)) == 1


def test_an_expired_login_in_the_app_loses_nothing(app, world, online_phone):
    phone, page = online_phone
    fill_screening(page, "孙丽")
    phone.clear_cookies()  # the session expired on the server
    fill(page, "备注", "丈夫外出务工")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    finalize(page)
    expect(page.locator("#login-needed")).to_be_visible(timeout=30_000)
    expect(count(page, "waiting")).to_have_text("1")

    page.locator("#login-needed a").click()
    page.locator("#username").fill(world.mediator)
    page.locator("#password").fill(world.password)
    page.get_by_role("button", name="登录").click()
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    [sub] = stored(app)
    assert sub.data["household_info"]["household_head"] == "孙丽"
    assert sub.data["remarks"] == "丈夫外出务工"


def test_a_draft_of_an_old_version_is_finished_on_its_own_version(
    app, tmp_path, publish, online_phone
):
    phone, page = online_phone
    open_form(page, "问题家庭排查")
    fill(page, "户主姓名", "周敏")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    draft_url = page.url

    wb = openpyxl.load_workbook(SCREENING)  # the researcher publishes version 2
    settings = wb["settings"]
    header = [c.value for c in settings[1]]
    settings.cell(row=2, column=header.index("version") + 1, value="2026120101")
    new_version = Path(tmp_path / "family_screening.xlsx")
    wb.save(new_version)
    publish(new_version)

    page.goto("/app")
    page.locator("#sync-now").click()
    expect(page.locator('a.form-link[data-form-id="family_screening"]')).to_have_attribute(
        "data-version", "2026120101"
    )
    page.goto(draft_url)
    expect(page.get_by_label("户主姓名", exact=True)).to_have_value("周敏")
    page.locator("#finalize-btn").click()  # not finished yet: told how much is left
    expect(page.locator("#submit-error")).to_contain_text("题需要修改")
    fill(page, "排查日期", "2026-11-20")
    fill(page, "镇/街道", "新华街道")
    fill(page, "村/社区", "和平社区")
    fill(page, "家庭住址", "和平社区5栋")
    fill(member(page, 1), "成员姓名", "周敏")
    fill(member(page, 1), "年龄（周岁）", "39")
    tick(page, "has_conflict", "否")
    tick(page, "risk_level", "低")
    tick(page, "referral", "无需转介")
    expect(page.locator("#submit-error")).to_be_hidden()  # the count went down to none
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    [sub] = stored(app)
    assert sub.form_version.version == "2026120201"
    assert sub.data["household_info"]["household_head"] == "周敏"


def test_the_same_draft_in_two_tabs_becomes_one_submission(app, online_phone):
    phone, first = online_phone
    fill_screening(first, "吴霞")
    second = phone.new_page()  # the worker opens the same draft in another tab
    second.goto(first.url)
    expect(second.locator("#finalize-btn")).to_be_visible()  # the draft open, not its first screen
    expect(second.get_by_label("户主姓名", exact=True)).to_have_value("吴霞")

    finalize(first)
    expect(count(first, "sent")).to_have_text("1", timeout=30_000)
    second.locator("#finalize-btn").click()
    expect(second.locator("body")).to_contain_text("另一个窗口")
    assert len(stored(app)) == 1


def test_server_pages_are_never_served_stale_from_the_cache(online_phone):
    """Pages with a CSRF token are not cached: offline they give way to the app."""
    phone, page = online_phone
    page.goto("/surveys/family_screening/fill")  # online: the server's page
    expect(page.locator('meta[name="csrf-token"]')).to_have_count(1)
    phone.set_offline(True)
    page.goto("/surveys/family_screening/fill")
    expect(page.locator('meta[name="csrf-token"]')).to_have_count(0)
    expect(page.get_by_role("link", name="打开离线填写")).to_be_visible()


def test_the_app_starts_from_its_kept_shell_without_waiting_for_the_network(app, online_phone):
    """With poor signal, opening the installed app does not wait for the server: the
    shell (no user data) comes from the phone's cache; the server is not asked for it."""
    phone, page = online_phone
    asked: list[str] = []
    wsgi = app.wsgi_app

    def recording(environ, start_response):
        asked.append(environ["PATH_INFO"])
        return wsgi(environ, start_response)

    app.wsgi_app = recording
    try:
        page.goto("/app")
        expect(page.locator("a.form-link").first).to_be_visible()
        page.reload()
        expect(page.locator("a.form-link").first).to_be_visible()
    finally:
        app.wsgi_app = wsgi
    assert "/app" not in asked


def test_logging_out_with_unsent_work_warns_and_keeps_it(world, online_phone):
    phone, page = online_phone
    open_form(page, "问题家庭排查")
    fill(page, "户主姓名", "郑红")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.goto("/app")
    page.locator("#logout-btn").click()
    expect(page.locator("body")).to_contain_text("还有 1 份未发送的问卷")
    page.get_by_role("button", name="退出（保留在本机）").click()
    expect(page.locator("#username")).to_be_visible()

    log_in(page, world.mediator2, world.password)  # a colleague on the same phone
    expect(count(page, "drafts")).to_have_text("0")
    expect(page.locator(".draft-item")).to_have_count(0)
    page.locator("#logout-btn").click()
    expect(page.locator("#username")).to_be_visible()

    log_in(page, world.mediator, world.password)
    expect(count(page, "drafts")).to_have_text("1")
    expect(page.locator(".draft-item")).to_contain_text("问题家庭排查")


def test_an_app_update_waits_for_the_worker_and_keeps_the_drafts(app, online_phone):
    phone, page = online_phone
    open_form(page, "问题家庭排查")
    fill(page, "户主姓名", "冯洁")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.goto("/app")

    app.config["RELEASE"] = "e2e-update"  # a new version of the app is deployed
    try:
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
        expect(page.locator("#update-ready")).to_be_visible(timeout=30_000)
        expect(count(page, "drafts")).to_have_text("1")  # nothing happens until she taps
        page.locator("#update-ready").click()
        page.wait_for_function(
            "() => navigator.serviceWorker.controller"
            " && navigator.serviceWorker.controller.scriptURL.endsWith('/sw.js')"
        )
        expect(page.locator("#update-ready")).to_be_hidden()
        expect(count(page, "drafts")).to_have_text("1")
        expect(page.locator(".draft-item")).to_contain_text("问题家庭排查")
    finally:
        app.config["RELEASE"] = ""


def test_refusals_and_conflicts_stay_on_the_phone_with_the_reason(app, world, online_phone):
    phone, page = online_phone
    phone.set_offline(True)
    fill_screening(page, "韩梅")
    finalize(page)
    iid = page.locator(".outbox-item").first.get_attribute("data-instance-id")
    fill_screening(page, "曹丽")
    finalize(page)
    ids = [el.get_attribute("data-instance-id") for el in page.locator(".outbox-item").all()]
    [refused] = [i for i in ids if i != iid]

    # Meanwhile the server got other content under the first questionnaire's instance ID…
    other, _ = submission_xml(
        "family_screening", "2026120201", screening_answers(), instance_id=iid
    )
    client = app.test_client()
    assert post_submission(client, other, token=api_token(app, world.mediator)).status_code == 201

    # …and the form was moved to another district, so she may no longer send to it.
    with app.app_context():
        get_form("family_screening").area = get_area("339902")
        db.session.commit()
    phone.set_offline(False)
    item = page.locator(f'.outbox-item[data-instance-id="{iid}"]')
    expect(item).to_have_attribute("data-status", "conflict", timeout=30_000)
    expect(item).to_contain_text("内容不同")  # the server's own words, kept on the phone
    item = page.locator(f'.outbox-item[data-instance-id="{refused}"]')
    expect(item).to_have_attribute("data-status", "attention", timeout=30_000)
    expect(item).to_contain_text("无权")  # the same words as for a form that is not there
    expect(count(page, "attention")).to_have_text("2")
    expect(count(page, "sent")).to_have_text("0")
    page.reload()  # still there after the app restarts
    expect(count(page, "attention")).to_have_text("2")
