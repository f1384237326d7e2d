"""Someone probes /submission with instance IDs they should know nothing about: the
answer never tells whether an ID exists unless they may use the form, hostile IDs are
refused before anything is stored, and the XML is read in the encoding it declares."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from fieldapp.surveys.models import ARCHIVED, Form
from tests.helpers import SCREENING, api_token, post_submission, screening_answers, submission_xml

FORM, VERSION = "family_screening", "2026120201"


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Submission.id)))


def test_an_outsider_cannot_tell_a_taken_id_from_a_fresh_one(app, client, world, publish):
    publish(SCREENING, area_code="339901")  # 东城区 only
    xml, taken = submission_xml(FORM, VERSION, screening_answers())
    assert post_submission(client, xml, token=api_token(app, world.mediator)).status_code == 201

    outsider = api_token(app, world.mediator3)  # 柳树村, 西山县: may not use the form
    fresh = f"uuid:{uuid.uuid4()}"
    answers = {}
    for iid in (taken, fresh):
        probe, _ = submission_xml(FORM, VERSION, screening_answers(), instance_id=iid)
        resp = post_submission(client, probe, token=outsider)
        answers[iid] = (resp.status_code, resp.get_data(as_text=True).replace(iid, "ID"))
    assert answers[taken] == answers[fresh]
    assert answers[taken][0] == 404 and "其他账号" not in answers[taken][1]  # as no form
    # Not even the very XML the mediator sent tells the outsider it is there.
    again = post_submission(client, xml, token=outsider)
    assert (again.status_code, again.get_data(as_text=True).replace(taken, "ID")) == answers[fresh]
    assert _count(app) == 1


def test_a_colleague_who_may_use_the_form_hears_the_id_is_taken(app, client, world, publish):
    publish(SCREENING, area_code="339901")
    xml, _ = submission_xml(FORM, VERSION, screening_answers())
    assert post_submission(client, xml, token=api_token(app, world.mediator)).status_code == 201
    resp = post_submission(client, xml, token=api_token(app, world.mediator2))
    assert resp.status_code == 409 and "其他账号" in resp.get_data(as_text=True)
    assert _count(app) == 1


def test_the_senders_own_resend_is_a_duplicate_after_the_form_is_archived(
    app, client, world, publish
):
    """A phone that lost the reply sends again after the form was archived: it hears
    the submission is safe (and drops it), as before."""
    publish(SCREENING)
    token = api_token(app, world.mediator)
    xml, _ = submission_xml(FORM, VERSION, screening_answers())
    assert post_submission(client, xml, token=token).status_code == 201
    with app.app_context():
        db.session.scalar(select(Form).where(Form.form_id == FORM)).state = ARCHIVED
        db.session.commit()
    again = post_submission(client, xml, token=token)
    assert again.status_code == 201 and again.headers.get("X-Fieldapp-Duplicate") == "1"
    fresh, _ = submission_xml(FORM, VERSION, screening_answers())
    assert post_submission(client, fresh, token=token).status_code == 403
    assert _count(app) == 1


def _screening(instance_id: str | None = None, **changes) -> tuple[bytes, str]:
    return submission_xml(FORM, VERSION, screening_answers(**changes), instance_id=instance_id)


@pytest.mark.parametrize(
    "hostile",
    [
        "uuid:../../etc/passwd",
        "uuid:a/b",
        "uuid:a\\b",
        "..",
        ".hidden",
        "uuid:\u202eabc",  # right-to-left override: shows reversed in a list
        "uuid:\u200babc",  # zero-width space
        "uuid:abc def",
        "uuid:李梅",
        "uuid:" + "a" * 96,
    ],
)
def test_a_hostile_instance_id_is_refused_and_nothing_is_stored(
    app, client, world, publish, hostile
):
    publish(SCREENING)
    xml, _ = _screening(hostile)
    resp = post_submission(client, xml, token=api_token(app, world.mediator))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "meta/instanceID 格式不正确" in body
    assert _count(app) == 0


def test_a_hostile_deprecated_id_is_refused_too(app, client, world, publish):
    publish(SCREENING)
    xml, _ = _screening()
    edit = xml.replace(b"</instanceID>", b"</instanceID><deprecatedID>uuid:../x</deprecatedID>")
    resp = post_submission(client, edit, token=api_token(app, world.mediator))
    assert resp.status_code == 400 and "meta/deprecatedID 格式不正确" in resp.get_data(as_text=True)
    assert _count(app) == 0


@pytest.mark.parametrize(
    "iid", [f"uuid:{uuid.uuid4()}", "uuid:lifecycle-1-x", "collect:AbC_9.1", "x" * 100]
)
def test_ids_phones_make_are_accepted(app, client, world, publish, iid):
    publish(SCREENING)
    xml, _ = _screening(iid)
    assert post_submission(client, xml, token=api_token(app, world.mediator)).status_code == 201


@pytest.mark.parametrize("encoding", ["GBK", "gb18030", "GB2312", "UTF-16"])
def test_an_old_phone_sends_chinese_in_the_encoding_it_declares(
    app, client, world, publish, encoding
):
    publish(SCREENING)
    utf8, iid = _screening(**{"household_info.household_head": "李梅（户主）"})
    text = utf8.decode("utf-8").replace('encoding="UTF-8"', f'encoding="{encoding}"')
    token = api_token(app, world.mediator)
    resp = post_submission(client, text.encode(encoding), token=token)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.instance_id == iid))
        assert sub.data["household_info"]["household_head"] == "李梅（户主）"
        assert sub.xml == text.replace(f'encoding="{encoding}"', 'encoding="UTF-8"')
    again = post_submission(client, text.encode(encoding), token=token)  # a re-send
    assert again.headers.get("X-Fieldapp-Duplicate") == "1"


@pytest.mark.parametrize(
    ("declared", "body", "words"),
    [
        ("UTF-8", "GB18030", "不是它声明的 UTF-8 编码"),  # GB18030 bytes sent as UTF-8
        (None, "GB18030", "不是它声明的 utf-8 编码"),  # no declaration: XML's default
        ("GB2312", "GB18030", "不是它声明的 GB2312 编码"),  # 𠀀 has no GB2312 code
        ("x-klingon", "UTF-8", "编码 x-klingon 不受支持"),
        ("rot13", "UTF-8", "编码 rot13 不受支持"),  # a codec, but not for text
    ],
)
def test_an_encoding_we_cannot_read_is_refused_not_misread(
    app, client, world, publish, declared, body, words
):
    publish(SCREENING)
    utf8, _ = _screening(**{"household_info.household_head": "李梅𠀀"})
    text = utf8.decode("utf-8")
    text = (
        text.replace('encoding="UTF-8"', f'encoding="{declared}"')
        if declared
        else text.replace(' encoding="UTF-8"', "")
    )
    resp = post_submission(client, text.encode(body), token=api_token(app, world.mediator))
    assert resp.status_code == 400 and words in resp.get_data(as_text=True)
    assert _count(app) == 0
