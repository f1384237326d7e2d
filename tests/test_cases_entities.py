"""Households the ODK Entities way (issue 10): a registration creates a household, visits
update it, offline phones' updates are kept and their conflicts flagged, and each person's
households.csv holds their own households only, with an ETag."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from fieldapp.cases.models import APPLIED, HARD, HELD, REFUSED, SKIPPED, SOFT, Entity, EntityOp
from fieldapp.extensions import db
from tests.helpers import api_token
from tests.helpers_cases import registration, visit


def household(app, hh_id: str) -> Entity:
    with app.app_context():
        entity = db.session.scalar(select(Entity).where(Entity.uuid == hh_id))
        db.session.expunge_all()
        return entity


def ops(app, hh_id: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(
            select(EntityOp).where(EntityOp.entity_uuid == hh_id).order_by(EntityOp.id)
        )
        return [(op.action, op.state) for op in rows]


def phone_list(app, client, who: str, etag: str | None = None):
    """``who``'s households.csv as the visit form's media: (response, rows)."""
    token = api_token(app, who)
    headers = {"Authorization": f"Bearer {token}"}
    if etag:
        headers["If-None-Match"] = etag
    resp = client.get("/forms/hh_visit/versions/1/media/households.csv", headers=headers)
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True)))) if resp.data else []
    return resp, rows


def test_a_registration_creates_a_household_assigned_to_the_mediator(
    app, client, world, case_forms, send
):
    xml, _, hh = registration("王芳", risk="serious", due="2026-12-10")
    send(xml)
    entity = household(app, hh)
    assert entity.label == "王芳家"
    assert entity.version == 1
    assert entity.risk == "serious" and entity.status == "open"
    assert str(entity.next_visit_due) == "2026-12-10"
    with app.app_context():
        assert db.session.get(Entity, entity.id).assigned_to.username == world.mediator

    resp, rows = phone_list(app, client, world.mediator)
    assert resp.status_code == 200 and resp.headers["ETag"]
    assert [(r["name"], r["label"], r["__version"], r["risk_level"]) for r in rows] == [
        (hh, "王芳家", "1", "serious")
    ]
    # Another mediator of the same town, and one of another district: not on their phones.
    assert phone_list(app, client, world.mediator2)[1] == []
    assert phone_list(app, client, world.mediator3)[1] == []
    # The district supervisor sees the households of the district.
    assert [r["name"] for r in phone_list(app, client, world.supervisor)[1]] == [hh]


def test_an_unchanged_list_is_not_downloaded_again(app, client, world, case_forms, send):
    xml, _, hh = registration("李娟")
    send(xml)
    first, _rows = phone_list(app, client, world.mediator)
    again, rows = phone_list(app, client, world.mediator, etag=first.headers["ETag"])
    assert again.status_code == 304 and rows == []
    xml, _ = visit(hh, base=1)
    send(xml)
    changed, rows = phone_list(app, client, world.mediator, etag=first.headers["ETag"])
    assert changed.status_code == 200 and rows[0]["__version"] == "2"
    assert changed.headers["ETag"] != first.headers["ETag"]


def test_the_manifest_names_the_list_with_the_hash_of_the_callers_list(
    app, client, world, case_forms, send
):
    token = api_token(app, world.mediator)
    headers = {"Authorization": f"Bearer {token}", "X-OpenRosa-Version": "1.0"}
    forms = client.get("/formList", headers=headers).get_data(as_text=True)
    assert "/forms/hh_visit/versions/1/manifest" in forms
    before = client.get("/forms/hh_visit/versions/1/manifest", headers=headers)
    assert "<filename>households.csv</filename>" in before.get_data(as_text=True)
    send(registration("赵敏")[0])
    after = client.get("/forms/hh_visit/versions/1/manifest", headers=headers)
    assert before.get_data() != after.get_data()
    me = client.get("/api/v1/me", headers=headers).get_json()
    visit_form = next(f for f in me["forms"] if f["form_id"] == "hh_visit")
    (media,) = visit_form["media"]
    assert media["entity_list"] == "households" and media["filename"] == "households.csv"
    assert visit_form["entities"]["dataset"] == "households"
    assert visit_form["entities"]["update"] is True


def test_two_offline_visits_from_one_version_are_both_kept_and_flagged(
    app, world, case_forms, send
):
    xml, _, hh = registration("陈静")
    send(xml)
    # Two mediators (the registering one, and the town's supervisor on her phone) visit
    # with the list they had: version 1.
    send(visit(hh, base=1, visit_date="2026-12-03", due="2026-12-17")[0])
    send(visit(hh, base=1, visit_date="2026-12-04", due="2026-12-18")[0], who=world.supervisor)
    entity = household(app, hh)
    assert entity.version == 3
    assert entity.conflict == HARD  # both set the visit dates
    assert entity.data["last_visit_date"] == "2026-12-04"  # the later arrival wins
    assert ops(app, hh) == [("create", APPLIED), ("update", APPLIED), ("update", APPLIED)]


def test_parallel_updates_of_different_properties_are_a_soft_conflict(app, world, case_forms, send):
    from tests.helpers_cases import entity_submission

    xml, _, hh = registration("周红")
    send(xml)
    send(visit(hh, base=1)[0])
    only_status, _ = entity_submission(
        "hh_visit",
        {"household": hh, "case_status": "paired"},
        {"dataset": "households", "id": hh, "update": "1", "baseVersion": "1"},
    )
    send(only_status)
    entity = household(app, hh)
    # The visit set the status too: still a shared property. A label-only update would
    # be soft; here the status overlaps.
    assert entity.conflict == HARD and entity.status == "paired"

    xml2, _, hh2 = registration("吴丽")
    send(xml2)
    dates_only, _ = entity_submission(
        "hh_visit",
        {"household": hh2, "visit_date": "2026-12-05"},
        {"dataset": "households", "id": hh2, "update": "1", "baseVersion": "1"},
    )
    status_only, _ = entity_submission(
        "hh_visit",
        {"household": hh2, "case_status": "paired"},
        {"dataset": "households", "id": hh2, "update": "1", "baseVersion": "1"},
    )
    send(dates_only)
    send(status_only)
    assert household(app, hh2).conflict == SOFT


def test_an_offline_branch_arriving_out_of_order_waits_and_is_no_conflict(
    app, world, case_forms, send
):
    xml, _, hh = registration("郑洁")
    send(xml)
    branch = "6f0e3c1e-branch-a"
    first, _ = visit(hh, base=1, trunk=1, branch=branch, visit_date="2026-12-03")
    second, _ = visit(hh, base=2, trunk=1, branch=branch, visit_date="2026-12-09")
    send(second)  # the phone's later visit arrives first
    assert household(app, hh).version == 1
    assert ops(app, hh)[-1] == ("update", HELD)
    send(first)
    entity = household(app, hh)
    assert entity.version == 3 and entity.conflict is None
    assert entity.data["last_visit_date"] == "2026-12-09"


def test_a_household_registered_and_visited_offline_arrives_in_any_order(
    app, world, case_forms, send
):
    xml, _, hh = registration("孙梅")
    update, _ = visit(hh, base=1, trunk="", branch="branch-new-hh", visit_date="2026-12-06")
    send(update)
    assert ops(app, hh) == [("update", HELD)]
    send(xml)
    entity = household(app, hh)
    assert entity.version == 2 and entity.conflict is None
    assert entity.data["last_visit_date"] == "2026-12-06"


def test_a_held_update_is_forced_after_centrals_timeout(app, world, case_forms, send):
    from fieldapp.auth.models import utcnow
    from fieldapp.cases.process import HOLD, force_held

    xml, _, hh = registration("钱芳")
    update, _ = visit(hh, base=1, trunk="", branch="lost-create")
    send(update)
    with app.app_context():
        assert force_held() == 0  # not yet
        assert force_held(now=utcnow() + HOLD + timedelta(minutes=1)) == 1
        db.session.commit()
    entity = household(app, hh)
    assert entity is not None and entity.version == 1
    assert entity.data["case_status"] == "following"


def test_a_registration_sent_again_or_reused_makes_no_second_household(
    app, world, case_forms, send
):
    xml, _, hh = registration("冯雪")
    send(xml)
    send(xml)  # a re-send: the same submission, nothing new
    other, _, _ = registration("冯雪", hh_id=hh)  # another submission naming the same id
    send(other)
    assert ops(app, hh) == [("create", APPLIED), ("create", SKIPPED)]
    assert household(app, hh).version == 1


def test_a_visit_from_outside_the_households_area_is_kept_but_changes_nothing(
    app, world, case_forms, send
):
    xml, _, hh = registration("褚萍")
    send(xml)
    send(visit(hh, base=1, status="paired")[0], who=world.mediator3)  # another district
    assert ops(app, hh)[-1] == ("update", REFUSED)
    assert household(app, hh).status == "open"


def test_reassigning_moves_the_household_between_phones(app, client, world, case_forms, send):
    from fieldapp.auth.models import User
    from fieldapp.cases.services import assign

    xml, _, hh = registration("蒋琳")
    send(xml)
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        entity = db.session.scalar(select(Entity).where(Entity.uuid == hh))
        assign(users[world.supervisor], entity, users[world.mediator2])
        db.session.commit()
    assert phone_list(app, client, world.mediator)[1] == []
    assert [r["name"] for r in phone_list(app, client, world.mediator2)[1]] == [hh]
    # The mediator it was taken from still had it offline: their visit is kept and,
    # made from the version before the reassignment, flagged for the supervisor.
    send(visit(hh, base=1)[0])
    entity = household(app, hh)
    assert entity.version == 3 and entity.conflict == SOFT


def test_an_edited_visit_does_not_change_the_household_twice(app, world, case_forms, send):
    """As in Central: editing a submission (meta/deprecatedID) keeps the edit as the
    current version of the visit, and the household keeps what the original did."""
    xml, _, hh = registration("韩雪")
    send(xml)
    original, iid = visit(hh, base=1, visit_date="2026-12-03")
    send(original)
    edited = original.replace(b"2026-12-03", b"2026-12-04").replace(
        b"</instanceID>", b"</instanceID><deprecatedID>" + iid.encode() + b"</deprecatedID>"
    )
    edited = edited.replace(iid.encode() + b"</instanceID>", b"uuid:edit-1</instanceID>")
    send(edited)
    assert ops(app, hh)[-1] == ("update", SKIPPED)
    entity = household(app, hh)
    assert entity.version == 2 and entity.data["last_visit_date"] == "2026-12-03"


def test_two_updates_that_agree_are_only_a_parallel_update(app, world, case_forms, send):
    """Central's rule: a hard conflict needs a property changed since the base *and* set
    to another value; two phones that set the same value only made parallel updates."""
    from tests.helpers_cases import entity_submission

    xml, _, hh = registration("秦岚")
    send(xml)
    for _who in (world.mediator, world.supervisor):
        same, _ = entity_submission(
            "hh_visit",
            {"household": hh, "case_status": "paired"},
            {"dataset": "households", "id": hh, "update": "1", "baseVersion": "1"},
        )
        send(same, who=_who)
    assert household(app, hh).conflict == SOFT


@pytest.mark.parametrize(
    ("entity", "why"),
    [
        ({"dataset": "households", "id": "../../etc", "create": "1"}, "bad_id"),
        ({"dataset": "households", "id": "HH", "update": "1", "baseVersion": "99999"}, "bad_base"),
        ({"dataset": "households", "id": "HH", "update": "1", "baseVersion": "abc"}, "bad_base"),
        ({"dataset": "households", "id": "HH", "update": "1", "baseVersion": "-1"}, "bad_base"),
    ],
)
def test_a_hostile_entity_block_is_kept_and_refused_with_its_reason(
    app, world, case_forms, send, entity, why
):
    """The submission is stored (nothing a phone sends is lost); its entity block is
    refused with a reason the household page shows, and no household changes."""
    from fieldapp.cases.process import op_message
    from tests.helpers_cases import entity_submission

    xml, _, hh = registration("卫红")
    send(xml)
    entity = {**entity, "id": hh if entity["id"] == "HH" else entity["id"]}
    bad, _ = entity_submission("hh_visit", {"household": hh, "case_status": "paired"}, entity)
    send(bad)
    with app.app_context():
        op = db.session.scalar(select(EntityOp).order_by(EntityOp.id.desc()).limit(1))
        assert (op.state, op.message) == (REFUSED, why) and op_message(op.message)
    assert household(app, hh).version == 1
