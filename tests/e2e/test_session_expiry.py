"""A mediator's login expires while she fills in a form; she logs in again in another tab
and sends the same page: nothing she typed is lost, and it is stored once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.e2e.steps import fill, log_in, member, open_server_form, tick
from tests.helpers import SCREENING

pytestmark = pytest.mark.e2e


def test_an_expired_login_mid_form_loses_nothing(app, world, publish, phone):
    publish(SCREENING)
    log_in(phone, world.mediator, world.password)
    open_server_form(phone, "family_screening")
    fill(phone, "排查日期", "2026-11-20")
    fill(phone, "镇/街道", "新华街道")
    fill(phone, "村/社区", "和平社区")
    fill(phone, "户主姓名", "赵兰")
    fill(phone, "家庭住址", "柳树村1组")
    fill(member(phone, 1), "成员姓名", "赵兰")
    fill(member(phone, 1), "年龄（周岁）", "52")
    tick(phone, "has_conflict", "否")
    tick(phone, "risk_level", "低")
    tick(phone, "referral", "无需转介")

    phone.context.clear_cookies()  # the session expired on the server's side
    phone.locator("#submit-btn").click()
    expect(phone.locator("#submit-error")).to_contain_text("登录已过期")
    expect(phone.get_by_label("户主姓名", exact=True)).to_have_value("赵兰")

    other_tab = phone.context.new_page()  # she logs in again in a new tab
    log_in(other_tab, world.mediator, world.password)
    other_tab.close()

    phone.locator("#submit-btn").click()  # this page's CSRF token is stale now
    expect(phone).to_have_url("/app")  # sent; the mediator's home is the phone app
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 1
        stored = db.session.scalar(select(Submission))
        assert stored.data["household_info"]["household_head"] == "赵兰"
