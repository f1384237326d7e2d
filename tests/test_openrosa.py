"""A phone sends questionnaires through the OpenRosa API; the server keeps each one once,
refuses bad ones with a message, and changes nothing when it refuses."""

from __future__ import annotations

from sqlalchemy import func, select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.helpers import (
    SCREENING,
    SHARED_FORMS,
    api_token,
    csrf_token,
    login,
    post_submission,
    screening_answers,
    submission_xml,
    switch_user,
)


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Submission.id)))


def test_head_submission_tells_the_phone_how_much_it_may_send(app, client, world):
    login(client, world.mediator)
    resp = client.open("/submission", method="HEAD")
    assert resp.status_code == 204
    assert resp.headers["X-OpenRosa-Version"] == "1.0"
    assert int(resp.headers["X-OpenRosa-Accept-Content-Length"]) > 1_000_000


def test_without_login_the_openrosa_api_asks_for_credentials(client, world):
    assert client.open("/submission", method="HEAD").status_code == 401
    assert client.get("/formList").status_code == 401
    resp = post_submission(client, b"<data/>")
    assert resp.status_code == 401
    assert "WWW-Authenticate" in resp.headers


def test_form_list_shows_only_forms_the_caller_may_fill(app, client, world, publish):
    publish(SCREENING)  # city-wide
    publish(SCREENING.with_name("mediation_visit.xlsx"), area_code="339902")  # 西山县 only
    login(client, world.mediator)  # 和平社区, 东城区
    body = client.get("/formList").get_data(as_text=True)
    assert "<formID>family_screening</formID>" in body
    assert "mediation_visit" not in body
    assert "<hash>md5:" in body and "<downloadUrl>" in body
    xform = client.get("/forms/family_screening/versions/2026120201/form.xml")
    assert xform.status_code == 200 and b"<h:html" in xform.data
    assert client.get("/forms/mediation_visit/form.xml").status_code == 404


def test_a_submission_is_stored_once_and_a_resend_is_harmless(app, client, world, publish):
    publish(SCREENING)
    token = api_token(app, world.mediator)
    xml, iid = submission_xml("family_screening", "2026120201", screening_answers())
    first = post_submission(client, xml, token=token)
    assert first.status_code == 201, first.data
    again = post_submission(client, xml, token=token)
    assert again.status_code == 201
    assert again.headers.get("X-Fieldapp-Duplicate") == "1"
    assert _count(app) == 1
    with app.app_context():
        sub = db.session.scalar(select(Submission))
        assert sub.instance_id == iid
        assert sub.xml.encode() == xml  # kept verbatim
        assert sub.data["household"]["household_members"][1]["member_age"] == "15"
        assert sub.submitter.username == world.mediator


def test_same_instance_id_with_other_content_is_a_conflict(app, client, world, publish):
    publish(SCREENING)
    token = api_token(app, world.mediator)
    xml, iid = submission_xml("family_screening", "2026120201", screening_answers())
    assert post_submission(client, xml, token=token).status_code == 201
    changed, _ = submission_xml(
        "family_screening",
        "2026120201",
        screening_answers(**{"household_info.household_head": "王"}),
        instance_id=iid,
    )
    resp = post_submission(client, changed, token=token)
    assert resp.status_code == 409
    assert "内容不同" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Submission.xml)).encode() == xml


def test_browser_session_submissions_need_the_csrf_token(app, client, world, publish):
    publish(SCREENING)
    login(client, world.mediator)
    xml, _ = submission_xml("family_screening", "2026120201", screening_answers())
    assert post_submission(client, xml).status_code == 400
    assert _count(app) == 0
    assert post_submission(client, xml, csrf=csrf_token(client, "/?online")).status_code == 201


def _refused(app, client, world, xml, status, words):
    token = api_token(app, world.mediator)
    resp = post_submission(client, xml, token=token)
    body = resp.get_data(as_text=True)
    assert resp.status_code == status, body
    assert 'nature="error"' in body and words in body
    assert _count(app) == 0


def test_xml_that_is_not_well_formed_is_refused(app, client, world, publish):
    publish(SCREENING)
    _refused(app, client, world, b"<data id='family_screening'><oops></data>", 400, "XML")


def test_entity_expansion_attacks_are_refused(app, client, world, publish):
    publish(SCREENING)
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><data id="family_screening" '
        b'version="2026120201"><remarks>&lol2;</remarks><meta><instanceID>uuid:x'
        b"</instanceID></meta></data>"
    )
    _refused(app, client, world, bomb, 400, "XML")


def test_unknown_form_and_unknown_version_are_refused(app, client, world, publish):
    publish(SCREENING)
    xml, _ = submission_xml("no_such_form", "1", {"a": "1"})
    _refused(app, client, world, xml, 404, "no_such_form")
    xml, _ = submission_xml("family_screening", "1999", screening_answers())
    _refused(app, client, world, xml, 404, "1999")


def test_a_form_the_caller_may_not_use_is_refused(app, client, world, publish):
    publish(SCREENING, area_code="339902")  # 西山县; the mediator is in 东城区
    xml, _ = submission_xml("family_screening", "2026120201", screening_answers())
    # as a form id that names no form: nothing tells her it exists out of her reach
    _refused(app, client, world, xml, 404, "没有编号为 family_screening 的问卷")


def test_an_element_the_form_does_not_have_is_refused(app, client, world, publish):
    publish(SCREENING)
    answers = screening_answers()
    answers["household_info"]["favourite_colour"] = "red"
    xml, _ = submission_xml("family_screening", "2026120201", answers)
    _refused(app, client, world, xml, 400, "favourite_colour")


def test_values_that_do_not_parse_as_their_type_are_refused(app, client, world, publish):
    publish(SCREENING)
    cases = {
        "household_info.screening_date": "2026-13-45",
        "situation.has_conflict": "maybe",  # not in the static choice list
        "situation.conflict_types": "dv hacking",  # one choice not in the list
    }
    for path, value in cases.items():
        xml, _ = submission_xml(
            "family_screening", "2026120201", screening_answers(**{path: value})
        )
        _refused(app, client, world, xml, 400, value.split()[-1])
    answers = screening_answers()
    answers["household"]["household_members"][0]["member_age"] = "forty"
    xml, _ = submission_xml("family_screening", "2026120201", answers)
    _refused(app, client, world, xml, 400, "forty")


def test_a_group_that_is_not_a_repeat_may_not_appear_twice(app, client, world, publish):
    publish(SCREENING)
    xml, _ = submission_xml("family_screening", "2026120201", screening_answers())
    doubled = xml.replace(b"<remarks></remarks>", b"<remarks>a</remarks><remarks>b</remarks>")
    _refused(app, client, world, doubled, 400, "remarks")


def test_missing_instance_id_is_refused(app, client, world, publish):
    publish(SCREENING)
    xml = b'<data id="family_screening" version="2026120201"><remarks/></data>'
    _refused(app, client, world, xml, 400, "instanceID")


def test_a_huge_upload_is_refused_with_413(app, client, world, publish):
    publish(SCREENING)
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    try:
        xml, _ = submission_xml(
            "family_screening", "2026120201", screening_answers(remarks="很" * 20_000)
        )
        _refused(app, client, world, xml, 413, "")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 50 * 1024 * 1024


def test_attachments_are_kept_and_resent_parts_are_not_duplicated(app, client, world, publish):
    """A cut connection re-sends the same XML with the rest of the files: nothing doubles."""
    form_id, version = publish(SHARED_FORMS / "UCL_Biomass_Plot_Form.xlsx")
    token = api_token(app, world.mediator)
    answers = {"location": {"center_image": "plot.jpg"}}
    xml, iid = submission_xml(form_id, version, answers)
    assert post_submission(client, xml, token=token).status_code == 201
    resp = post_submission(client, xml, files={"plot.jpg": b"\xff\xd8jpeg"}, token=token)
    assert resp.status_code == 201
    assert (
        post_submission(client, xml, files={"plot.jpg": b"\xff\xd8jpeg"}, token=token).status_code
        == 201
    )
    assert (
        post_submission(client, xml, files={"plot.jpg": b"other"}, token=token).status_code == 409
    )
    # Collect sends every file of the instance folder: one the XML does not name is
    # ignored, not stored and not a refusal.
    assert post_submission(client, xml, files={"evil.sh": b"x"}, token=token).status_code == 201
    with app.app_context():
        sub = db.session.scalar(select(Submission))
        assert [a.filename for a in sub.attachments] == ["plot.jpg"]
        assert sub.attachments[0].data == b"\xff\xd8jpeg"


def test_form_media_are_listed_in_the_manifest_and_downloadable(app, client, world):
    from fieldapp.areas.services import get_area
    from fieldapp.surveys.services import import_xlsform

    with app.app_context():
        import_xlsform(
            SCREENING.read_bytes(),
            SCREENING.name,
            get_area("3399"),
            media=[("households.csv", b"name,label\nh1,\xe6\x9d\x8e\n")],
        )
        db.session.commit()
    login(client, world.mediator)
    listing = client.get("/formList").get_data(as_text=True)
    assert "<manifestUrl>" in listing
    manifest = client.get("/forms/family_screening/versions/2026120201/manifest")
    text = manifest.get_data(as_text=True)
    assert "<filename>households.csv</filename>" in text and "<hash>md5:" in text
    media = client.get("/forms/family_screening/versions/2026120201/media/households.csv")
    assert media.status_code == 200 and "李".encode() in media.data
    missing = client.get("/forms/family_screening/versions/2026120201/media/nope.png")
    assert missing.status_code == 404


def test_xml_in_another_encoding_is_refused_not_crashed(app, client, world, publish):
    publish(SCREENING)
    xml, _ = submission_xml("family_screening", "2026120201", screening_answers())
    latin = xml.replace(b'encoding="UTF-8"', b'encoding="GB18030"').replace(
        "李梅".encode(), "李梅".encode("gb18030")
    )
    _refused(app, client, world, latin, 400, "UTF-8")


def test_the_same_questionnaire_sent_twice_at_once_is_stored_once(app, world, publish):
    """Two tabs, or a retry racing the first send: both get success, one row exists."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    publish(SCREENING)
    tokens = [api_token(app, world.mediator) for _ in range(6)]  # as from six devices
    xml, _ = submission_xml("family_screening", "2026120201", screening_answers())

    def send(n):
        return post_submission(app.test_client(), xml, token=tokens[n % 6]).status_code

    def slow_flush(session, *args):  # widen the window between "is it there?" and INSERT
        time.sleep(0.05)

    event.listen(Session, "before_flush", slow_flush)
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = list(pool.map(send, range(12)))
    finally:
        event.remove(Session, "before_flush", slow_flush)
    assert codes == [201] * 12
    assert _count(app) == 1


def _edit_of(old: str, **changes) -> tuple[bytes, str]:
    """An edit of submission ``old`` (a new instance ID naming it as ``deprecatedID``)."""
    xml, new = submission_xml("family_screening", "2026120201", screening_answers(**changes))
    return xml.replace(
        b"</instanceID>", f"</instanceID><deprecatedID>{old}</deprecatedID>".encode()
    ), new


def test_an_edit_replaces_the_submission_it_names_and_keeps_it_as_history(
    app, client, world, publish
):
    publish(SCREENING)
    token = api_token(app, world.mediator)
    xml, old = submission_xml("family_screening", "2026120201", screening_answers())
    assert post_submission(client, xml, token=token).status_code == 201
    edited, new = _edit_of(old, **{"household_info.household_head": "李梅（改）"})
    resp = post_submission(client, edited, token=token)
    assert resp.status_code == 201 and "已保存修改" in resp.get_data(as_text=True)
    with app.app_context():
        rows = {s.instance_id: s for s in db.session.scalars(select(Submission))}
        assert rows[new].deprecated_id == old and rows[new].current
        assert not rows[old].current  # kept, out of tables, exports and the API
    body = client.get(
        "/api/v1/forms/family_screening/submissions", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert [r["instance_id"] for r in body["results"]] == [new]
    assert body["results"][0]["data"]["household_info"]["household_head"] == "李梅（改）"
    # The same edit again is a harmless re-send; an edit of the old version is refused.
    assert post_submission(client, edited, token=token).headers.get("X-Fieldapp-Duplicate") == "1"
    stale, _ = _edit_of(old)
    resp = post_submission(client, stale, token=token)
    assert resp.status_code == 409 and "旧版本" in resp.get_data(as_text=True)
    assert _count(app) == 2


def test_an_edit_of_what_one_may_not_see_or_of_nothing_is_refused(app, client, world, publish):
    """Central lets anyone who may submit edit; we also ask that they may see it."""
    publish(SCREENING)
    xml, old = submission_xml("family_screening", "2026120201", screening_answers())
    assert post_submission(client, xml, token=api_token(app, world.mediator)).status_code == 201
    edited, _ = _edit_of(old)
    resp = post_submission(client, edited, token=api_token(app, world.mediator2))  # a colleague
    # One answer for "not yours to edit" and "not there": an edit does not tell whether
    # an ID one may not see exists.
    refused = resp.get_data(as_text=True)
    assert resp.status_code == 404 and "无权修改" in refused and "不在服务器上" in refused
    resp = post_submission(client, edited, token=api_token(app, world.mediator3))  # other district
    assert resp.status_code == 404
    missing = "uuid:00000000-0000-0000-0000-000000000000"
    nowhere, _ = _edit_of(missing)
    resp = post_submission(client, nowhere, token=api_token(app, world.mediator2))
    assert resp.status_code == 404
    assert resp.get_data(as_text=True).replace(missing, "ID") == refused.replace(old, "ID")
    assert _count(app) == 1
    # The supervisor of the district sees it, may fill the form: may edit.
    supervisor = api_token(app, world.supervisor)
    assert post_submission(client, edited, token=supervisor).status_code == 201
    # The household stays the mediator's: they still see it (edited) as their own, and
    # the supervisor's re-send of the edit is a harmless duplicate.
    mine = client.get(
        "/api/v1/forms/family_screening/submissions",
        headers={"Authorization": f"Bearer {api_token(app, world.mediator)}"},
    ).get_json()
    assert [r["deprecated_id"] for r in mine["results"]] == [old]
    assert mine["results"][0]["submitted_by"] == world.mediator
    again = post_submission(client, edited, token=supervisor)
    assert again.status_code == 201 and again.headers.get("X-Fieldapp-Duplicate") == "1"


def test_another_accounts_instance_id_is_a_conflict_that_says_so(app, client, world, publish):
    publish(SCREENING)
    xml, _ = submission_xml("family_screening", "2026120201", screening_answers())
    assert post_submission(client, xml, token=api_token(app, world.mediator)).status_code == 201
    resp = post_submission(client, xml, token=api_token(app, world.mediator2))
    assert resp.status_code == 409 and "其他账号" in resp.get_data(as_text=True)


def test_absurd_sizes_are_refused_with_a_message(app, client, world, publish):
    publish(SCREENING)
    answers = screening_answers()
    answers["household"]["household_members"] = answers["household"]["household_members"] * 251
    xml, _ = submission_xml("family_screening", "2026120201", answers)
    _refused(app, client, world, xml, 400, "超过 500 项")

    form_id, version = publish(SHARED_FORMS / "UCL_Biomass_Plot_Form.xlsx")
    long_name = "x" * 300 + ".jpg"
    xml, _ = submission_xml(form_id, version, {"location": {"center_image": long_name}})
    resp = post_submission(
        client, xml, files={long_name: b"jpeg"}, token=api_token(app, world.mediator)
    )
    assert resp.status_code == 400 and "文件名过长" in resp.get_data(as_text=True)


def test_attachments_are_downloaded_only_in_scope_and_audited(app, client, world, publish):
    from fieldapp.audit.models import AuditEvent

    form_id, version = publish(SHARED_FORMS / "UCL_Biomass_Plot_Form.xlsx")
    xml, iid = submission_xml(form_id, version, {"location": {"center_image": "plot.jpg"}})
    post_submission(
        client, xml, files={"plot.jpg": b"\xff\xd8jpeg"}, token=api_token(app, world.mediator3)
    )  # 柳树村, 西山县
    url = f"/data/submission/{iid}/attachments/plot.jpg"
    login(client, world.supervisor)  # 东城区: not theirs
    assert client.get(url).status_code == 404
    switch_user(client, world.researcher)  # a photo identifies: not for researchers
    assert "attachments/plot.jpg" not in client.get(f"/data/submission/{iid}").get_data(
        as_text=True
    )
    assert client.get(url).status_code == 403
    switch_user(client, world.admin)
    assert "attachments/plot.jpg" in client.get(f"/data/submission/{iid}").get_data(as_text=True)
    resp = client.get(url)
    assert resp.status_code == 200 and resp.data == b"\xff\xd8jpeg"
    assert resp.headers["Content-Security-Policy"] == "sandbox"
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(AuditEvent.id)).where(AuditEvent.action == "download_attachment")
            )
            == 1
        )
