"""Someone probes /submission with instance IDs they should know nothing about: the
answer never tells whether an ID exists unless they may use the form."""

from __future__ import annotations

import uuid

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
    assert answers[taken][0] == 403 and "其他账号" not in answers[taken][1]
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

