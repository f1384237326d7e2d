"""Only credentials that hold spare a request the CSRF check: an ``Authorization``
header that authenticates nobody does not turn it off for a logged-in browser (issue 14)."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.helpers import (
    SCREENING,
    api_token,
    login,
    post_submission,
    screening_answers,
    submission_xml,
)


def _stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Submission.id)))


def _post_with_header(client, xml: bytes, authorization: str):
    """A form POST another site could make with the browser's cookie, plus a header."""
    data = {"xml_submission_file": (io.BytesIO(xml), "submission.xml", "text/xml")}
    return client.post(
        "/submission",
        data=data,
        headers={"Authorization": authorization, "X-OpenRosa-Version": "1.0"},
        content_type="multipart/form-data",
    )


def test_a_bogus_authorization_header_does_not_switch_off_csrf(app, client, world, publish):
    publish(SCREENING)
    login(client, world.mediator)  # the browser holds her session cookie
    xml, _ = submission_xml("family_screening", "2026120201", screening_answers())

    for header in ("Bearer not-a-real-token", "Bearer ", "Basic bWVkaWF0b3I6d3Jvbmc="):
        resp = _post_with_header(client, xml, header)
        assert resp.status_code == 400, header
        assert "安全令牌已失效" in resp.get_data(as_text=True)
        assert resp.headers["X-Fieldapp-CSRF"] == "invalid"
    assert _stored(app) == 0


def test_a_real_token_still_sends_without_csrf(app, client, world, publish):
    publish(SCREENING)
    token = api_token(app, world.mediator)
    xml, _ = submission_xml("family_screening", "2026120201", screening_answers())
    script = app.test_client()  # no cookie: the token alone
    assert post_submission(script, xml, token=token).status_code == 201

    # A browser that is logged in and sends a valid token: the token authenticated it.
    login(client, world.mediator)
    xml, _ = submission_xml("family_screening", "2026120201", screening_answers())
    assert post_submission(client, xml, token=token).status_code == 201
    assert _stored(app) == 2


def test_a_revoked_token_with_a_session_needs_csrf_again(app, client, world, publish):
    from fieldapp.auth.services import get_user, revoke_tokens

    publish(SCREENING)
    token = api_token(app, world.mediator)
    with app.app_context():
        revoke_tokens(get_user(world.mediator))
        db.session.commit()
    login(client, world.mediator)
    xml, _ = submission_xml("family_screening", "2026120201", screening_answers())
    assert post_submission(client, xml, token=token).status_code == 400
    assert post_submission(app.test_client(), xml, token=token).status_code == 401
    assert _stored(app) == 0
