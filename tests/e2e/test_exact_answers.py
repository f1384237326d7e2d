"""Every answer is exact (issue 12): a number typed wrongly is never sent as a shorter
number that happened to parse, the draft keeps what was typed and its error across a
reopen, and finalize is blocked only by questions a person can see, each marked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.e2e.steps import count, fill, finalize, question
from tests.helpers import xlsform

pytestmark = pytest.mark.e2e

PAYMENT_FORM = xlsform(
    [
        ["type", "name", "label", "required", "calculation"],
        ["decimal", "amount", "救助金额（元）", "yes", ""],
        ["calculate", "doubled", "", "", "${amount} * 2"],
        # A required calculate that is blank for small amounts: ODK Collect never asks
        # anyone to fix a calculation, and neither do we.
        ["calculate", "big_case", "", "yes", "if(${amount} > 100, 'big', '')"],
        ["text", "remark", "备注", "", ""],
    ],
    settings=[["form_id", "version", "form_title"], ["relief_payment", "1", "救助发放登记"]],
)


def test_a_mistyped_number_is_kept_with_its_error_and_never_sent_short(
    app, publish, online_phone, tmp_path
):
    phone, page = online_phone
    path = tmp_path / "relief_payment.xlsx"
    path.write_bytes(PAYMENT_FORM)
    publish(path)
    page.goto("/app")
    page.locator("#sync-now").click()
    link = page.locator("a.form-link", has_text="救助发放登记")
    expect(link).to_be_visible()
    link.click()
    expect(page.locator("#finalize-btn")).to_be_visible()

    # "1.2.3": while typing, "1.2" parsed; the question must not keep it.
    fill(page, "救助金额（元）", "1.2.3")
    amount = question(page, "amount")
    expect(amount.locator(".constraint-msg")).to_contain_text("请填写数字")
    expect(page.locator("#save-state")).to_contain_text("已保存")

    # The phone restarts: the draft reopens with the same text and the same error.
    page.reload()
    box = page.get_by_label("救助金额（元）", exact=True)
    expect(box).to_have_value("1.2.3")
    expect(amount.locator(".constraint-msg")).to_contain_text("请填写数字")

    # Finalize is blocked, and the one problem is pointed to.
    page.locator("#finalize-btn").click()
    expect(page.locator("#submit-error")).to_have_text("还有 1 题需要修改")
    expect(page.locator(".q.q-invalid")).to_have_count(1)
    expect(amount).to_have_class("q q-decimal q-invalid")

    # Fixed: the required calculate (blank for 12.5) does not hold anything up.
    fill(page, "救助金额（元）", "12.5")
    expect(amount.locator(".constraint-msg")).to_be_hidden()
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        assert sub.data["amount"] == "12.5"
        assert sub.data["doubled"] == "25"
        assert sub.data.get("big_case", "") == ""
