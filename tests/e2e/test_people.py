"""People on phones: a supervisor resets a mediator's password from her own phone and the
mediator chooses a new one in the phone app; a deactivated mediator's phone is refused
while her work stays; an admin imports users from Excel and prints their passwords."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.e2e.steps import (
    count,
    fill_screening,
    finalize,
    log_in,
    ready_offline,
    snap,
)
from tests.helpers import xlsx

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("world_users_restored")]


def choose_password(page: Page, current: str, new: str) -> None:
    expect(page.locator("#change-password")).to_be_visible()
    page.locator("#current").fill(current)
    page.locator("#new").fill(new)
    page.locator("#repeat").fill(new)
    page.get_by_role("button", name="保存新密码").click()


def test_a_supervisor_resets_a_password_and_the_mediator_chooses_her_own(
    world, phone, online_phone
):
    _context, app_page = online_phone
    log_in(phone, world.supervisor, world.password)  # the supervisor, on her own phone
    phone.get_by_role("link", name="人员").click()
    expect(phone.locator("#users")).to_contain_text("和平社区调解员")
    expect(phone.locator("#users")).not_to_contain_text("柳树村调解员")  # other district
    snap(phone, "people-list-supervisor-360")
    phone.locator("a.person", has_text="和平社区调解员").click()
    snap(phone, "people-detail-360")
    phone.locator("#reset-password").click()
    otp = phone.locator("#otp").inner_text().strip()
    snap(phone, "people-one-time-password-360")
    phone.goto("/admin/users/new")
    expect(phone.locator("#role option")).to_have_count(1)  # a supervisor makes mediators
    snap(phone, "people-new-360")
    phone.goto("/account")
    snap(phone, "account-360")

    # on the mediator's phone the old login has ended: the app asks her to log in
    app_page.reload()
    expect(app_page.locator("#login-needed")).to_be_visible(timeout=30_000)
    app_page.locator("#login-needed a").click()
    app_page.locator("#username").fill(world.mediator)
    app_page.locator("#password").fill(otp)
    app_page.get_by_role("button", name="登录").click()
    expect(app_page.locator("#change-password h1")).to_have_text("请设置您自己的新密码")
    snap(app_page, "change-password-forced-360")
    choose_password(app_page, otp, "mine-and-only-mine")
    expect(app_page).to_have_url(re.compile(r"/app"))
    ready_offline(app_page)
    expect(app_page.locator("#login-needed")).to_be_hidden()


def test_the_phone_app_sends_a_one_time_password_to_the_change_page(app, world, online_phone):
    from fieldapp.auth.services import get_user
    from fieldapp.people.services import reset_password
    from fieldapp.scope import OPERATOR

    context, page = online_phone
    with app.app_context():
        otp = reset_password(OPERATOR, get_user(world.mediator))
        db.session.commit()
    login = context.new_page()  # she logs in elsewhere, then opens the installed app
    login.goto("/login")
    login.locator("#username").fill(world.mediator)
    login.locator("#password").fill(otp)
    login.get_by_role("button", name="登录").click()
    expect(login.locator("#change-password")).to_be_visible()
    login.close()
    page.goto("/app")
    box = page.locator("#login-needed")
    expect(box).to_contain_text("请先修改密码", timeout=30_000)
    snap(page, "app-password-change-needed-360")
    box.get_by_role("link", name="修改密码").click()
    choose_password(page, otp, "another-own-one")
    expect(page).to_have_url(re.compile(r"/app"))
    expect(page.locator("#login-needed")).to_be_hidden(timeout=30_000)


def test_a_deactivated_mediators_phone_is_refused_and_her_work_stays(
    app, world, open_page, online_phone
):
    context, page = online_phone
    fill_screening(page, "周梅")  # sent while she is still active
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    context.set_offline(True)
    fill_screening(page, "吴霞")  # filled in the village, no signal
    finalize(page)
    expect(count(page, "waiting")).to_have_text("1")

    office = open_page(name="admin")
    log_in(office, world.admin, world.password)
    office.goto("/admin/users/user/mediator")
    office.locator("#deactivate").click()
    expect(office.locator(".flash")).to_contain_text("已停用")
    snap(office, "people-deactivated-360")

    context.set_offline(False)
    expect(page.locator("#login-needed")).to_be_visible(timeout=30_000)
    expect(count(page, "waiting")).to_have_text("1")  # kept on the phone, not dropped
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 1  # her data stays
    page.locator("#login-needed a").click()
    page.locator("#username").fill(world.mediator)
    page.locator("#password").fill(world.password)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".flash-error")).to_contain_text("此账号已停用")
    snap(page, "login-deactivated-360")


def test_an_admin_imports_users_and_prints_their_passwords(world, phone, tmp_path):
    log_in(phone, world.admin, world.password)
    phone.goto("/admin/users/?role=mediator")
    snap(phone, "people-list-admin-filtered-360")
    phone.goto("/admin/users/import")
    snap(phone, "people-import-360")
    header = ["用户名", "姓名", "角色", "区划代码", "手机"]
    bad = tmp_path / "名单.xlsx"
    bad.write_bytes(
        xlsx(
            [
                header,
                ["zhang", "张静", "调解员", "339901001001", "13800001111"],
                ["zhang", "张静二", "调解员", "339901001002", ""],
                ["mediator", "重名", "调解员", "339901001002", "1380000"],
                ["gao", "高", "厨师", "000", ""],
            ]
        )
    )
    phone.locator("#file").set_input_files(str(bad))
    phone.get_by_role("button", name="检查名单").click()
    expect(phone.locator("#import-problems")).to_contain_text("3 行有问题")
    snap(phone, "people-import-problems-360")

    good = tmp_path / "名单2.xlsx"
    rows = [header] + [
        [f"cun{i:02}", f"村调解员{i:02}", "调解员", "339902001001", f"139000011{i:02}"]
        for i in range(12)
    ]
    good.write_bytes(xlsx(rows))
    phone.locator("#file").set_input_files(str(good))
    phone.get_by_role("button", name="检查名单").click()
    expect(phone.locator("#import-ok")).to_contain_text("共 12 行")
    phone.get_by_role("button", name="确认导入 12 个用户").click()
    expect(phone.locator("#slips .slip")).to_have_count(12, timeout=60_000)
    snap(phone, "people-import-sheet-360")
    secrets = phone.locator("#slips .secret").all_inner_texts()
    assert len(set(secrets)) == 12 and all(re.fullmatch(r"[a-z2-9]{10}", s) for s in secrets)

    phone.emulate_media(media="print")  # the sheet as printed on A4 (794 px wide at 96 dpi)
    phone.set_viewport_size({"width": 794, "height": 1123})
    expect(phone.locator("#print")).to_be_hidden()
    snap(phone, "people-import-sheet-print-a4")
    assert phone.pdf(format="A4").startswith(b"%PDF")

    phone.emulate_media(media="screen")
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.reload()  # shown once
    expect(phone.locator("body")).to_contain_text("找不到该导入")
