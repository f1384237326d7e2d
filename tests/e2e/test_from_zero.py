"""A federation set up from nothing (issue 9's proof): the real command line makes a new
database, imports a generated city of 2,158 areas and the first admin; then, in the
browser, the admin imports 200 people from Excel, a district supervisor resets a
mediator's password, the mediator starts the phone app with it and must choose her own,
a form that needs a CSV is drafted, tried on a phone, published with the CSV missing
(warned), the CSV added and later replaced (the phone's copy follows), the mediator
sends a household, leaves the federation, and her phone's next sync is refused while her
data stays on the server and her unsent work on the phone.

The story runs against a server of its own (its SQLite database in a temp folder, made by
``fieldapp init`` in a subprocess), never the session's test database. It needs no
PostgreSQL and is skipped in the suite's PostgreSQL pass.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import select
from werkzeug.serving import make_server

from fieldapp import create_app
from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.e2e.steps import (
    DESKTOP,
    PHONE,
    count,
    fill,
    finalize,
    log_in,
    open_form,
    question,
    snap,
    tick,
)
from tests.helpers import xlsform
from tests.helpers_areas import CITY_CODE, DISTRICTS, city_rows, write_city

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        bool(os.environ.get("FIELDAPP_TEST_DATABASE_URL")),
        reason="the story makes its own SQLite database; the SQLite pass runs it",
    ),
]

FIELDAPP = Path(sys.executable).with_name("fieldapp")  # .venv/bin/fieldapp
ADMIN, ADMIN_PASSWORD = "lj_admin", "first-admin-of-linjiang"
SUPERVISOR, SUPERVISOR_NAME = "du01", "周静"  # 江城区 339701
SUPERVISOR_PASSWORD = "zhou-jing-own-pass"
MEDIATOR, MEDIATOR_NAME = "tj001", "王芳"  # the first village of 江城区
MEDIATOR_PASSWORD = "wang-fang-own-pass"

FORM_ID, FORM_TITLE = "home_visit_log", "入户走访登记"
VISIT_FORM = xlsform(
    [
        ["type", "name", "label", "required"],
        ["text", "head_name", "户主姓名", "yes"],
        ["select_one_from_file villages.csv", "village", "所在村/社区", ""],
        ["integer", "members", "家庭人数", ""],
    ],
    settings=[["form_id", "version", "form_title"], [FORM_ID, "2026120101", FORM_TITLE]],
)
NEW_COMMUNITY = ("339701001901", "滨江新社区")  # in the second CSV only

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = "芳娟敏静丽艳霞燕红梅兰英华玲萍秀桂凤洁琳慧颖婷雪琴"


@dataclass
class Federation:
    """The new federation's server: its URL and app (for a last look at the database)."""

    url: str
    app: Flask


@pytest.fixture(scope="module")
def federation(tmp_path_factory) -> Iterator[Federation]:
    """A new install: ``fieldapp init`` (no demo), the generated city imported and the
    first admin created on the command line; then that database served on a free port."""
    folder = tmp_path_factory.mktemp("from-zero")
    instance = folder / "instance"
    url = f"sqlite:///{instance / 'fieldapp.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDAPP_")}
    env.update(FIELDAPP_INSTANCE_PATH=str(instance), FIELDAPP_DATABASE_URL=url)

    def cli(*args: str) -> str:
        done = subprocess.run(
            [str(FIELDAPP), *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"fieldapp {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    assert "数据库已就绪" in cli("init")
    city = write_city(folder / "临江市区划.xlsx")
    assert f"新增 {len(city_rows())} 个" in cli("areas", "import", str(city))
    cli(
        "users",
        "create",
        ADMIN,
        "--role",
        "admin",
        "--area",
        CITY_CODE,
        "--name",
        "市妇联信息科",
        "--password",
        ADMIN_PASSWORD,
    )

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(instance)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="from-zero", daemon=True)
    thread.start()
    try:
        yield Federation(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def live_server(federation) -> str:
    """``open_page`` and ``phone`` open pages on the new federation's server."""
    return federation.url


@pytest.fixture
def handset(phone_profile, federation, request) -> Iterator[Page]:
    """The mediator's phone: the app's page in a profile on disk (IndexedDB, service
    worker). A JavaScript error on it fails the test; a failed test screenshots it."""
    context = phone_profile(federation.url)
    page = context.pages[0] if context.pages else context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    yield page
    report = getattr(request.node, "rep_call", None)
    if (report is None or report.failed or errors) and not page.is_closed():
        try:
            snap(page, f"FAILED-{request.node.name}-handset")
        except Exception as exc:  # a screenshot must not hide the real failure
            print(f"screenshot of the handset failed: {exc}")
    if errors:
        pytest.fail("JavaScript errors on the phone:\n" + "\n".join(errors))


# -- the people's file ------------------------------------------------------------------


@dataclass
class Person:
    username: str
    name: str
    role: str  # as written in the file
    area: str
    phone: str


def people_file() -> list[Person]:
    """11 district supervisors and 189 mediators spread over the city's villages."""
    villages = [code for code, _name, _parent in city_rows() if not code.endswith("000")]
    step = len(villages) // 189
    people = [
        Person(f"du{group}", f"{name}督导", "督导", f"{CITY_CODE}{group}", f"1370000{i:04}")
        for i, (group, name) in enumerate(DISTRICTS)
    ]
    people[0].name = SUPERVISOR_NAME
    for i, code in enumerate(villages[::step][:189], start=1):
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[i * 7 % len(GIVEN)] + GIVEN[i % len(GIVEN)]
        role = "网格员" if i % 10 == 0 else "调解员"  # both words mean mediator
        phone = "" if i % 9 == 0 else f"1390000{i:04}"
        people.append(Person(f"tj{i:03}", name, role, code, phone))
    people[11].name = MEDIATOR_NAME
    return people


def write_people(path: Path, people: list[Person]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["用户名", "姓名", "角色", "区划代码", "手机"])
    for p in people:
        sheet.append([p.username, p.name, p.role, p.area, p.phone])
    for cell in sheet["D"][1:] + sheet["E"][1:]:
        cell.number_format = "@"  # codes and phone numbers as text, as people keep them
    book.save(path)
    return path


def villages_csv(extra: tuple[str, str] | None = None) -> bytes:
    """The choices of the village question: the villages of the mediator's town."""
    rows = [(code, name) for code, name, parent in city_rows() if parent == "339701001000"][:4]
    rows += [extra] if extra else []
    return ("name,label\n" + "".join(f"{c},{n}\n" for c, n in rows)).encode()


def village_labels(csv: bytes) -> list[str]:
    return [line.split(",")[1] for line in csv.decode().splitlines()[1:]]


# -- small steps ------------------------------------------------------------------------


def choose_password(page: Page, current: str, new: str) -> None:
    """On the forced change page: the one-time password, then one's own, twice."""
    expect(page.locator("#change-password h1")).to_have_text("请设置您自己的新密码")
    page.locator("#current").fill(current)
    page.locator("#new").fill(new)
    page.locator("#repeat").fill(new)
    page.get_by_role("button", name="保存新密码").click()


# The text of a form file in the phone app's Cache Storage, or null.
READ_CACHED = """async (name) => {
    const cache = await caches.open('fieldapp-media-v1');
    const key = (await cache.keys()).find((req) => req.url.endsWith('/' + name));
    return key ? (await cache.match(key)).text() : null;
}"""


def look_at_progress(browser: Browser, admin: Page, url: str) -> None:
    """The import's progress page as the admin's phone shows it (same login, no
    JavaScript: the page does not move on by itself), between two steps."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    try:
        context.add_cookies(admin.context.cookies())
        page = context.new_page()
        page.goto(url)
        done = page.locator("#import-progress")
        expect(done).to_have_attribute("value", re.compile(r"^([1-9]\d?|1\d\d)$"))  # 1–199
        expect(page.get_by_role("button", name="继续")).to_be_visible()
        snap(page, "zero-02-import-progress-360")
    finally:
        context.close()


def cached_media(page: Page, filename: str) -> str | None:
    """The text of a form file in the phone app's Cache Storage (None when absent)."""
    return page.evaluate(READ_CACHED, filename)


def wait_for_cached(page: Page, filename: str, text: str) -> None:
    """Wait until the phone's cached copy of ``filename`` holds ``text``. (A predicate
    that returns a promise counts as true at once: each poll starts a read and looks at
    what the previous one found.)"""
    try:
        page.wait_for_function(
            f"""([name, text]) => {{
                ({READ_CACHED})(name).then((got) => {{ window.__fieldappCached = got; }});
                return window.__fieldappCached === text;
            }}""",
            arg=[filename, text],
            polling=100,
            timeout=30_000,
        )
    except PlaywrightTimeoutError:
        assert cached_media(page, filename) == text  # shows what the phone has
        raise


def sync_now(page: Page) -> None:
    """Tap 立即同步 (the caller waits for what the sync should bring)."""
    page.locator("#sync-now").click()


def choices(page: Page, name: str) -> list[str]:
    return [t.strip() for t in question(page, name).locator("label.choice").all_inner_texts()]


def add_media(admin: Page, name: str, content: bytes) -> None:
    """On the form's page: upload a file into the current version."""
    admin.locator("#media-files").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    admin.get_by_role("button", name="上传附件").click()


# -- the story --------------------------------------------------------------------------


def test_a_federation_from_zero_to_its_first_household(
    federation, browser, open_page, handset, tmp_path
):
    people = people_file()
    mediators_of_district = sum(
        1 for p in people if p.role != "督导" and p.area.startswith(f"{CITY_CODE}01")
    )

    # The city's IT admin, at her desk, logs in with the password set on the command line.
    admin = open_page(DESKTOP, "admin")
    log_in(admin, ADMIN, ADMIN_PASSWORD)
    admin.get_by_role("link", name="人员").click()
    expect(admin.locator("#user-count")).to_have_text("共 1 人")

    # 200 people from Excel: preview, confirm, the passwords hashed step by step, the sheet.
    admin.locator("#import-users").click()
    admin.locator("#file").set_input_files(str(write_people(tmp_path / "临江市人员.xlsx", people)))
    admin.get_by_role("button", name="检查名单").click()
    expect(admin.locator("#import-ok")).to_contain_text("共 200 行，全部没有问题")
    expect(admin.locator("#import-rows > li")).to_have_count(200)
    snap(admin, "zero-01-import-preview")
    # The progress page asks for the next step by itself (a form POST, always pending), so
    # its steps are counted as they answer, and a look at it is taken without JavaScript.
    steps: list[int] = []
    admin.on("response", lambda r: r.url.endswith("/step") and steps.append(r.status))
    with admin.expect_response(lambda r: r.url.endswith("/step")) as first_step:
        admin.get_by_role("button", name="确认导入 200 个用户").click()
    look_at_progress(browser, admin, first_step.value.url.removesuffix("/step"))
    expect(admin.locator("#slips .slip")).to_have_count(200, timeout=180_000)
    snap(admin, "zero-03-import-sheet")
    sheet = dict(
        admin.eval_on_selector_all(
            "#slips .slip",
            """slips => slips.map((s) => [
                s.querySelector('tr td + td').textContent.trim(),
                s.querySelector('.secret').textContent.trim()])""",
        )
    )
    assert len(steps) >= 2 and set(steps) == {302}  # hashed in steps, not in one request
    assert set(sheet) == {p.username for p in people}
    assert len(set(sheet.values())) == 200
    assert all(re.fullmatch(r"[a-z2-9]{10}", s) for s in sheet.values())
    admin.goto("/admin/users/?role=mediator")
    expect(admin.locator("#user-count")).to_have_text("共 189 人")

    # The supervisor of 江城区 logs in on her phone with her slip; her own password first.
    supervisor = open_page(PHONE, "supervisor")
    log_in(supervisor, SUPERVISOR, sheet[SUPERVISOR])
    snap(supervisor, "zero-04-supervisor-must-change-password-360")
    choose_password(supervisor, sheet[SUPERVISOR], SUPERVISOR_PASSWORD)
    expect(supervisor.locator(".flash")).to_contain_text("密码已修改")
    supervisor.get_by_role("link", name="人员").click()
    expect(supervisor.locator("#user-count")).to_have_text(f"共 {mediators_of_district} 人")
    supervisor.locator("#user-filter summary").click()
    supervisor.locator("#user-filter input[name=q]").fill(MEDIATOR_NAME)
    supervisor.locator("#user-filter button[type=submit]").click()
    supervisor.locator("a.person", has_text=MEDIATOR).click()
    supervisor.locator("#reset-password").click()  # 王芳 lost her slip
    otp = supervisor.locator("#otp").inner_text().strip()
    assert re.fullmatch(r"[a-z2-9]{10}", otp) and otp != sheet[MEDIATOR]
    snap(supervisor, "zero-05-supervisor-reset-password-360")

    # 王芳 opens the phone app; the lost slip no longer works, the new password does, once.
    handset.goto("/app")
    handset.get_by_role("link", name="登录").click()
    handset.locator("#username").fill(MEDIATOR)
    handset.locator("#password").fill(sheet[MEDIATOR])
    handset.get_by_role("button", name="登录").click()
    expect(handset.locator(".flash-error")).to_contain_text("用户名或密码不正确")
    handset.locator("#password").fill(otp)
    handset.get_by_role("button", name="登录").click()
    expect(handset.locator("#change-password h1")).to_have_text("请设置您自己的新密码")
    snap(handset, "zero-06-mediator-must-change-password-360")
    handset.goto("/app")  # nothing else before her own password: the app says so too
    expect(handset.locator("#login-needed")).to_contain_text("请先修改密码", timeout=30_000)
    handset.locator("#login-needed").get_by_role("link", name="修改密码").click()
    choose_password(handset, otp, MEDIATOR_PASSWORD)
    expect(handset).to_have_url(re.compile(r"/app"))
    handset.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller")
    expect(handset.locator("#login-needed")).to_be_hidden(timeout=30_000)
    expect(handset.locator(".app-user")).to_contain_text(MEDIATOR_NAME)
    expect(handset.locator("a.form-link")).to_have_count(0)  # nothing published yet
    snap(handset, "zero-07-mediator-app-empty-360")

    # The admin uploads a form that needs villages.csv, as a draft, without the CSV.
    form_file = tmp_path / "入户走访登记.xlsx"
    form_file.write_bytes(VISIT_FORM)
    admin.goto("/surveys/upload")
    admin.locator("#xlsform").set_input_files(str(form_file))
    admin.locator("#area").select_option(CITY_CODE)
    admin.locator("#draft").check()
    admin.get_by_role("button", name="上传", exact=True).click()
    expect(admin).to_have_url(re.compile(rf"/surveys/{FORM_ID}$"))
    expect(admin.locator(".flash-info")).to_contain_text("已存为草稿")
    expect(admin.locator(".flash-warning").first).to_contain_text("villages.csv")
    expect(admin.locator("#missing-media")).to_contain_text("villages.csv")
    expect(admin.locator('tr[data-media="villages.csv"]')).to_contain_text("缺少")
    snap(admin, "zero-08-form-draft")
    test_link = admin.locator("#test-fill-link").get_attribute("href")

    # Tried on a phone through the draft's link (no login): a test submission.
    tester = open_page(PHONE, "tester")
    tester.goto(test_link)
    expect(tester.locator(".flash-warning")).to_contain_text("测试模式")
    expect(tester.locator("#submit-btn")).to_be_visible()
    fill(tester, "户主姓名", "测试户")
    expect(question(tester, "village")).to_be_visible()
    assert choices(tester, "village") == []  # the CSV is missing: no villages to choose
    snap(tester, "zero-09-draft-test-fill-360")
    tester.locator("#submit-btn").click()
    expect(tester.locator(".flash-warning")).to_contain_text("测试提交已收到")
    admin.reload()
    expect(admin.locator("#draft-test")).to_contain_text("已收到测试提交 1 份")

    # Published: the test data goes, the missing CSV is still warned about.
    admin.locator('button[data-state="open"]').click()
    expect(admin.locator(".flash-info")).to_contain_text("删除了 1 份测试提交")
    expect(admin.locator("#state-text")).to_contain_text("开放")
    expect(admin.locator("#missing-media")).to_contain_text("villages.csv")
    expect(admin.locator("#draft-test")).to_have_count(0)
    snap(admin, "zero-10-form-published-csv-missing")
    admin.set_viewport_size(PHONE)
    snap(admin, "zero-10b-form-published-csv-missing-360")
    admin.set_viewport_size(DESKTOP)
    assert tester.goto(test_link).status == 404  # the test link is dead

    # The phone picks the form up at its next sync; the CSV is not there yet.
    sync_now(handset)
    expect(handset.locator(f'a.form-link[data-form-id="{FORM_ID}"]')).to_have_text(FORM_TITLE)
    assert cached_media(handset, "villages.csv") is None

    # The CSV added on the form page, same version; the phone caches it at its next sync.
    first_csv = villages_csv()
    add_media(admin, "villages.csv", first_csv)
    expect(admin.locator(".flash-info")).to_contain_text("新增 1 个")
    expect(admin.locator("#missing-media")).to_have_count(0)
    expect(admin.locator('tr[data-media="villages.csv"]')).to_contain_text("已上传")
    sync_now(handset)
    wait_for_cached(handset, "villages.csv", first_csv.decode())
    open_form(handset, FORM_TITLE)
    expect(question(handset, "village").locator("label.choice")).to_have_count(4)
    assert choices(handset, "village") == village_labels(first_csv)
    handset.locator(".back-link").click()

    # The CSV replaced with a new village; the phone's copy changes at the next sync.
    second_csv = villages_csv(NEW_COMMUNITY)
    add_media(admin, "villages.csv", second_csv)
    expect(admin.locator(".flash-info")).to_contain_text("替换 1 个")
    sync_now(handset)
    wait_for_cached(handset, "villages.csv", second_csv.decode())

    # 王芳 visits a household of the new community and sends it.
    open_form(handset, FORM_TITLE)
    expect(question(handset, "village").locator("label.choice")).to_have_count(5)
    fill(handset, "户主姓名", "陈秀兰")
    tick(handset, "village", NEW_COMMUNITY[1])
    fill(handset, "家庭人数", "4")
    expect(handset.locator("#save-state")).to_contain_text("已保存")
    snap(handset, "zero-11-mediator-fills-360")
    finalize(handset)
    expect(count(handset, "sent")).to_have_text("1", timeout=30_000)

    # In a village without signal she finishes another one (it waits in the outbox) and
    # starts a third (a draft).
    handset.context.set_offline(True)
    open_form(handset, FORM_TITLE)
    fill(handset, "户主姓名", "李桂英")
    tick(handset, "village", village_labels(first_csv)[0])
    expect(handset.locator("#save-state")).to_contain_text("已保存")
    finalize(handset)
    expect(count(handset, "waiting")).to_have_text("1")
    open_form(handset, FORM_TITLE)  # and starts a third
    fill(handset, "户主姓名", "赵玉兰")
    expect(handset.locator("#save-state")).to_contain_text("已保存")
    handset.locator(".back-link").click()
    expect(count(handset, "drafts")).to_have_text("1")
    snap(handset, "zero-12-mediator-one-waiting-360")

    # She leaves the federation: her supervisor deactivates her account.
    supervisor.goto(f"/admin/users/user/{MEDIATOR}")
    supervisor.locator("#deactivate").click()
    expect(supervisor.locator(".flash")).to_contain_text("已停用")
    snap(supervisor, "zero-13-supervisor-deactivated-360")

    # Her phone's next sync is refused; nothing on it is lost.
    handset.context.set_offline(False)
    expect(handset.locator("#login-needed")).to_be_visible(timeout=30_000)
    expect(count(handset, "waiting")).to_have_text("1")
    expect(count(handset, "drafts")).to_have_text("1")
    snap(handset, "zero-14-mediator-refused-360")
    handset.locator("#login-needed a").click()
    handset.locator("#username").fill(MEDIATOR)
    handset.locator("#password").fill(MEDIATOR_PASSWORD)
    handset.get_by_role("button", name="登录").click()
    expect(handset.locator(".flash-error")).to_contain_text("此账号已停用")

    # Her household stays in the data, for her supervisor and the admin; the test one is gone.
    supervisor.goto(f"/data/{FORM_ID}")
    expect(supervisor.locator("table.data tbody tr")).to_have_count(1)
    expect(supervisor.locator("table.data")).to_contain_text("陈秀兰")
    snap(supervisor, "zero-15-supervisor-data-360")
    admin.goto(f"/data/{FORM_ID}")
    expect(admin.locator("table.data")).to_contain_text("陈秀兰")
    admin.goto(f"/admin/users/user/{MEDIATOR}")
    expect(admin.locator("h1")).to_contain_text("已停用")
    with federation.app.app_context():
        stored = db.session.scalars(select(Submission)).all()
        assert [(s.test, s.data["head_name"], s.data["village"]) for s in stored] == [
            (False, "陈秀兰", NEW_COMMUNITY[0])
        ]

    # Back in the app her unsent work is still there, and the app tells her why it cannot
    # go out: her account was deactivated (not "login expired, sent after the next login").
    handset.goto("/app")
    expect(count(handset, "waiting")).to_have_text("1")
    expect(count(handset, "drafts")).to_have_text("1")
    expect(handset.locator("#login-needed")).to_contain_text("已停用")


def test_the_users_file_may_name_areas_by_their_12_digit_codes(open_page, tmp_path):
    """The area file carried 12-digit statistical codes; the people file may too."""
    admin = open_page(DESKTOP, "admin")
    log_in(admin, ADMIN, ADMIN_PASSWORD)
    admin.goto("/admin/users/import")
    district = Person("du_jc2", "江城区督导二", "督导", f"{CITY_CODE}01000000", "")
    town = Person("du_town", "街道督导", "督导", f"{CITY_CODE}01001000", "")
    admin.locator("#file").set_input_files(str(write_people(tmp_path / "p.xlsx", [district, town])))
    admin.get_by_role("button", name="检查名单").click()
    expect(admin.locator("#import-ok")).to_contain_text("共 2 行，全部没有问题")
