"""A mediator corrects a record she already sent (issue 12): from her sent list, online,
she taps 修改; the record comes back from the server into the fill view, she changes an
answer and sends it again. The server keeps the correction as the current version and
the first as its history; offline, the phone says a network is needed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.e2e.steps import count, fill, fill_screening, finalize, log_in, snap
from tests.helpers import (
    SCREENING,
    api_token,
    post_submission,
    screening_answers,
    submission_xml,
)

pytestmark = pytest.mark.e2e


def _stored(app) -> list[tuple[str, str | None, bool, str, str]]:
    """(instance ID, deprecated ID, current, household head, submitter) of each version."""
    with app.app_context():
        subs = db.session.scalars(select(Submission).order_by(Submission.id))
        return [
            (
                s.instance_id,
                s.deprecated_id,
                s.current,
                s.data["household_info"]["household_head"],
                s.submitter.username,
            )
            for s in subs
        ]


def test_a_mediator_reopens_a_sent_record_corrects_it_and_sends_it_again(app, world, online_phone):
    phone, page = online_phone
    fill_screening(page, "王芳")
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    [(first, _, _, _, _)] = _stored(app)

    sent = page.locator(f'.outbox-item[data-instance-id="{first}"]')
    sent.get_by_role("button", name="修改").click()
    # The record as sent, in the fill view, marked as a correction.
    expect(page.locator("#finalize-btn")).to_be_visible()
    expect(page.locator(".correction-notice")).to_contain_text("修改一份已发送的问卷")
    head = page.get_by_label("户主姓名", exact=True)
    expect(head).to_have_value("王芳")
    fill(page, "户主姓名", "王芳芳")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    snap(page, "correct-1-reopened")
    finalize(page)
    expect(count(page, "sent")).to_have_text("2", timeout=30_000)
    snap(page, "correct-2-sent-again")

    versions = _stored(app)
    assert len(versions) == 2
    old, new = versions
    assert old == (first, None, False, "王芳", world.mediator)  # the first stays as history
    assert new[1:] == (first, True, "王芳芳", world.mediator)  # the correction is current
    assert new[0] != first

    # The first is corrected already: only the correction offers 修改 now.
    expect(sent.get_by_role("button", name="修改")).to_have_count(0)
    corrected = page.locator(f'.outbox-item[data-instance-id="{new[0]}"]')
    expect(corrected).to_contain_text("（修改）")

    # Without a network the phone cannot fetch it, and says so.
    phone.set_offline(True)
    corrected.get_by_role("button", name="修改").click()
    expect(corrected.locator(".item-note")).to_have_text("需要联网才能修改已发送的问卷。")
    expect(page.locator("#finalize-btn")).to_have_count(0)


def test_a_record_corrected_elsewhere_is_refused_with_the_current_one_named(
    app, world, online_phone
):
    """Her supervisor corrected it on the server meanwhile: the phone's 修改 brings the
    server's answer back to the home screen, nothing is opened."""
    phone, page = online_phone
    fill_screening(page, "赵敏")
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    [(first, _, _, _, _)] = _stored(app)
    with app.app_context():
        xml = db.session.scalar(select(Submission.xml).where(Submission.instance_id == first))
    newer = "uuid:5b7c2a52-7c33-4a51-9d2b-4f4a0c1e2d3f"
    edited = xml.replace(
        f"<instanceID>{first}</instanceID>",
        f"<instanceID>{newer}</instanceID><deprecatedID>{first}</deprecatedID>",
    ).replace("赵敏", "赵敏（督导更正）")
    token = api_token(app, world.supervisor)
    assert post_submission(app.test_client(), edited.encode(), token=token).status_code == 201

    page.locator(f'.outbox-item[data-instance-id="{first}"]').get_by_role(
        "button", name="修改"
    ).click()
    expect(page.locator(".notice")).to_contain_text(newer)
    expect(page.locator(".notice")).to_contain_text("最新版本")
    expect(page.locator("#finalize-btn")).to_have_count(0)


def test_a_supervisor_corrects_a_mediators_record_from_its_data_page(
    app, world, publish, phone_profile, live_server
):
    """Supervisors correct the records of their area: from the record's page in the
    browser, 在手机应用中修改 opens it in the app; the record stays the mediator's."""
    publish(SCREENING)
    xml, first = submission_xml("family_screening", "2026120201", screening_answers())
    token = api_token(app, world.mediator)
    assert post_submission(app.test_client(), xml, token=token).status_code == 201

    phone = phone_profile(live_server)
    page = phone.new_page()
    log_in(page, world.supervisor, world.password)
    page.goto(f"/data/submission/{first}")
    page.get_by_role("link", name="在手机应用中修改").click()
    expect(page.locator(".correction-notice")).to_be_visible(timeout=30_000)
    expect(page.get_by_label("户主姓名", exact=True)).to_have_value("李梅")
    fill(page, "户主姓名", "李梅（督导更正）")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.locator("#finalize-btn").click()
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)

    old, new = _stored(app)
    assert old == (first, None, False, "李梅", world.mediator)
    assert new[1:] == (first, True, "李梅（督导更正）", world.mediator)
