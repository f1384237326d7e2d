"""Correcting a sent record (issue 12): a mediator fetches what she sent, corrects it and
sends it again as an edit (``meta/deprecatedID``); supervisors and admins do the same for
their area. Who may, and for how long, is ``EDIT_DAYS`` (``fieldapp.scope``); the
receiver asks the same again; every fetch and every edit is on the audit log; the
export shows the corrected version and the first stays as history."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.helpers import (
    SCREENING,
    api_token,
    post_submission,
    screening_answers,
    submission_xml,
)

VERSION = "2026120201"


def _sent(app, client, who: str, **changes) -> str:
    """``who`` sends a screening record; its instance ID."""
    xml, iid = submission_xml("family_screening", VERSION, screening_answers(**changes))
    assert post_submission(client, xml, token=api_token(app, who)).status_code == 201
    return iid


def _corrected(old: str, head: str) -> tuple[bytes, str]:
    """What the phone sends after correcting ``old``: a new instance ID, ``old`` as
    ``deprecatedID``, the household head's name changed."""
    xml, new = submission_xml(
        "family_screening", VERSION, screening_answers(**{"household_info.household_head": head})
    )
    edit = f"</instanceID><deprecatedID>{old}</deprecatedID>".encode()
    return xml.replace(b"</instanceID>", edit), new


def _fetch(app, client, who: str, iid: str):
    auth = {"Authorization": f"Bearer {api_token(app, who)}"}
    return client.get(f"/api/v1/submissions/{iid}/correction", headers=auth)


def _message(resp) -> str:
    return resp.get_json()["error"]["message"]


def _age(app, iid: str, days: int) -> None:
    """Make ``iid`` look as if it had arrived ``days`` days ago."""
    with app.app_context():
        when = datetime.now(UTC) - timedelta(days=days)
        db.session.execute(
            update(Submission).where(Submission.instance_id == iid).values(received_at=when)
        )
        db.session.commit()


def _events(app, action: str) -> list[tuple[str, str, dict]]:
    from fieldapp.auth.models import User

    with app.app_context():
        rows = db.session.execute(
            select(User.username, AuditEvent.object, AuditEvent.detail)
            .join(User, AuditEvent.user_id == User.id)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
        return [tuple(r) for r in rows]


def _export(app, runner, tmp_path, monkeypatch) -> list[dict]:
    from fieldapp.cli import main

    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    out = tmp_path / "out.csv"
    result = runner.invoke(main, ["export", "family_screening", "--identifying", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))


def test_a_mediator_corrects_her_record_and_the_export_shows_the_correction(
    app, client, world, publish, runner, tmp_path, monkeypatch
):
    publish(SCREENING)
    first = _sent(app, client, world.mediator)

    # The phone fetches it to reopen it: the instance as sent, its form version.
    resp = _fetch(app, client, world.mediator, first)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["instance_id"] == first and "<household_head>李梅</household_head>" in body["xml"]
    assert body["form"]["form_id"] == "family_screening" and body["form"]["version"] == VERSION
    assert body["form"]["xform_url"].endswith(
        f"/forms/family_screening/versions/{VERSION}/form.xml"
    )
    assert body["attachments"] == [] and body["versions"] == 1
    until = datetime.fromisoformat(body["correct_until"])
    assert timedelta(days=29) < until - datetime.now(UTC) <= timedelta(days=30)

    # She corrects the household head's name and sends it as an edit.
    edited, second = _corrected(first, "李梅（更正）")
    resp = post_submission(client, edited, token=api_token(app, world.mediator))
    assert resp.status_code == 201 and "已保存修改" in resp.get_data(as_text=True)

    # The export shows the corrected version only; the first is kept as history.
    rows = _export(app, runner, tmp_path, monkeypatch)
    assert [r["household_info/household_head"] for r in rows] == ["李梅（更正）"]
    with app.app_context():
        subs = {s.instance_id: s for s in db.session.scalars(select(Submission))}
        assert (
            not subs[first].current and "<household_head>李梅</household_head>" in subs[first].xml
        )
        assert subs[second].current and subs[second].deprecated_id == first
        assert subs[second].submitter.username == world.mediator

    # The correction knows its history; the first version is no longer to be corrected.
    again = _fetch(app, client, world.mediator, second).get_json()
    assert again["versions"] == 2 and again["correct_until"] == body["correct_until"]
    resp = _fetch(app, client, world.mediator, first)
    assert resp.status_code == 409 and second in _message(resp) and "最新版本" in _message(resp)

    # Both the fetches and the edit are on the audit log, with what the edit replaced.
    assert _events(app, "open_correction") == [
        (world.mediator, f"submission:{first}", {}),
        (world.mediator, f"submission:{second}", {}),
    ]
    assert _events(app, "edit_submission") == [
        (world.mediator, f"submission:{second}", {"replaces": first})
    ]


def test_who_may_fetch_a_record_to_correct_it(app, client, world, publish):
    """Her own for a mediator; their area's for a supervisor and an admin; a colleague or
    another district sees nothing there (one answer, as for no record); a researcher
    reads data but corrects none."""
    publish(SCREENING)
    iid = _sent(app, client, world.mediator)
    for who in (world.mediator2, world.mediator3):
        resp = _fetch(app, client, who, iid)
        assert resp.status_code == 404 and _message(resp) == "找不到该提交，或您无权查看"
    missing = _fetch(app, client, world.mediator, "uuid:00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and _message(missing) == "找不到该提交，或您无权查看"
    resp = _fetch(app, client, world.researcher, iid)
    assert resp.status_code == 403 and "角色不能修改" in _message(resp)
    for who in (world.supervisor, world.admin):
        resp = _fetch(app, client, who, iid)
        assert resp.status_code == 200 and resp.get_json()["correct_until"] is None
    # Nobody logged in: asked to log in.
    assert client.get(f"/api/v1/submissions/{iid}/correction").status_code == 401


def test_a_researchers_edit_is_refused_on_arrival_too(app, client, world, publish):
    publish(SCREENING)
    iid = _sent(app, client, world.mediator)
    edited, _ = _corrected(iid, "改")
    resp = post_submission(client, edited, token=api_token(app, world.researcher))
    assert resp.status_code == 403 and "角色不能修改" in resp.get_data(as_text=True)


def test_a_mediators_time_to_correct_runs_out_and_a_supervisors_does_not(
    app, client, world, publish
):
    publish(SCREENING)
    iid = _sent(app, client, world.mediator)
    _age(app, iid, 31)
    resp = _fetch(app, client, world.mediator, iid)
    assert resp.status_code == 403 and "30 天内" in _message(resp) and "联系督导" in _message(resp)
    # A phone that fetched it in time but sends late is refused on arrival, nothing stored.
    edited, new = _corrected(iid, "李梅（晚了）")
    resp = post_submission(client, edited, token=api_token(app, world.mediator))
    assert resp.status_code == 403 and "30 天内" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Submission).where(Submission.instance_id == new)) is None
        assert db.session.scalar(select(Submission.current).where(Submission.instance_id == iid))
    # Her supervisor has no limit: the same edit, sent by them, is stored.
    assert _fetch(app, client, world.supervisor, iid).status_code == 200
    resp = post_submission(client, edited, token=api_token(app, world.supervisor))
    assert resp.status_code == 201
    assert _events(app, "edit_submission") == [
        (world.supervisor, f"submission:{new}", {"replaces": iid})
    ]


def test_the_time_counts_from_the_first_version_sent(app, client, world, publish):
    """Correcting a record does not give it another 30 days."""
    publish(SCREENING)
    first = _sent(app, client, world.mediator)
    edited, second = _corrected(first, "李梅（更正）")
    assert post_submission(client, edited, token=api_token(app, world.mediator)).status_code == 201
    assert _fetch(app, client, world.mediator, second).status_code == 200
    _age(app, first, 31)
    resp = _fetch(app, client, world.mediator, second)
    assert resp.status_code == 403 and "30 天内" in _message(resp)


def test_edit_days_are_set_by_role(app, client, world, publish, monkeypatch):
    """``FIELDAPP_EDIT_DAYS``: a supervisor limited to 7 days, mediators not correcting."""
    monkeypatch.setitem(app.config, "EDIT_DAYS", "supervisor:7,admin:*")
    publish(SCREENING)
    iid = _sent(app, client, world.mediator)
    assert _fetch(app, client, world.mediator, iid).status_code == 403
    body = _fetch(app, client, world.supervisor, iid).get_json()
    assert timedelta(days=6) < datetime.fromisoformat(body["correct_until"]) - datetime.now(UTC)
    me = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {api_token(app, world.mediator)}"}
    )
    assert me.get_json()["corrections"] == {"allowed": False, "days": None}
    _age(app, iid, 8)
    assert _fetch(app, client, world.supervisor, iid).status_code == 403
    assert _fetch(app, client, world.admin, iid).status_code == 200


def test_a_wrong_edit_days_setting_is_named(app):
    from fieldapp.scope import edit_days_by_role

    with app.app_context():
        app.config["EDIT_DAYS"], saved = "mediator:thirty", app.config["EDIT_DAYS"]
        try:
            with pytest.raises(ValueError, match="mediator:thirty"):
                edit_days_by_role()
        finally:
            app.config["EDIT_DAYS"] = saved


def test_the_phone_is_told_who_corrects_for_how_long(app, client, world):
    def corrections(who):
        auth = {"Authorization": f"Bearer {api_token(app, who)}"}
        return client.get("/api/v1/me", headers=auth).get_json()["corrections"]

    assert corrections(world.mediator) == {"allowed": True, "days": 30}
    assert corrections(world.supervisor) == {"allowed": True, "days": None}
    assert corrections(world.researcher) == {"allowed": False, "days": None}


def test_a_photo_comes_with_the_record_and_stays_with_the_correction(
    app, client, world, publish, tmp_path
):
    from tests.helpers import xlsform

    path = tmp_path / "photo_visit.xlsx"
    path.write_bytes(
        xlsform(
            [["type", "name", "label"], ["text", "note_text", "说明"], ["image", "photo", "照片"]],
            settings=[["form_id", "version"], ["photo_visit", "1"]],
        )
    )
    publish(path)
    token = api_token(app, world.mediator)
    xml, iid = submission_xml("photo_visit", "1", {"note_text": "门口", "photo": "a.jpg"})
    assert post_submission(client, xml, {"a.jpg": b"JPEG"}, token=token).status_code == 201
    body = _fetch(app, client, world.mediator, iid).get_json()
    [att] = body["attachments"]
    assert att["filename"] == "a.jpg"
    photo = client.get(att["url"], headers={"Authorization": f"Bearer {token}"})
    assert photo.status_code == 200 and photo.data == b"JPEG"
    # A colleague gets neither the record nor its photo.
    other = {"Authorization": f"Bearer {api_token(app, world.mediator2)}"}
    assert client.get(att["url"], headers=other).status_code == 404
    # The correction names the same photo without sending it again: carried over.
    fixed, new = submission_xml("photo_visit", "1", {"note_text": "后门", "photo": "a.jpg"})
    fixed = fixed.replace(
        b"</instanceID>", f"</instanceID><deprecatedID>{iid}</deprecatedID>".encode()
    )
    assert post_submission(client, fixed, token=token).status_code == 201
    body = _fetch(app, client, world.mediator, new).get_json()
    assert [a["filename"] for a in body["attachments"]] == ["a.jpg"]


def test_the_data_page_offers_the_correction_to_those_who_may(app, client, world, publish):
    """A supervisor corrects their area's records in the phone app, from the record's page."""
    from tests.helpers import switch_user

    publish(SCREENING)
    iid = _sent(app, client, world.mediator)
    link = f"/app#/correct/{iid.replace(':', '%3A')}"
    switch_user(client, world.supervisor)
    page = client.get(f"/data/submission/{iid}").get_data(as_text=True)
    assert link in page and "在手机应用中修改" in page
    switch_user(client, world.researcher)
    page = client.get(f"/data/submission/{iid}").get_data(as_text=True)
    assert "household_head" in page and "在手机应用中修改" not in page
