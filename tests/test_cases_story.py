"""The households story of issue 10 with the bundled questionnaires, as the field lives
it: a mediator's screening registers a household; the supervisor hands it over to a
colleague while she is offline; both log a visit offline; both visits arrive and are
kept; the conflict is flagged; the supervisor resolves it and hands the household back;
each phone's list follows; nobody outside the area sees the household through the list,
the API or the exports."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from fieldapp.auth.models import User
from fieldapp.cases.models import HARD, Entity, EntityVersion
from fieldapp.cases.services import assign, resolve
from fieldapp.extensions import db
from tests.helpers import BUNDLED_FORMS, api_token, screening_answers
from tests.helpers_cases import entity_submission

VERSION = "2026120201"


@pytest.fixture
def bundled(publish):
    for name in ("family_screening", "mediation_visit", "referral"):
        publish(BUNDLED_FORMS / f"{name}.xlsx")


def phone_list(app, client, who: str) -> list[dict]:
    """The households.csv ``who``'s phone downloads with the visit form."""
    auth = {"Authorization": f"Bearer {api_token(app, who)}"}
    resp = client.get(
        f"/forms/mediation_visit/versions/{VERSION}/media/households.csv", headers=auth
    )
    assert resp.status_code == 200
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def visit_xml(hh: str, base: int, trunk: int, branch: str, day: str, outcome: str):
    answers = {
        "start": f"{day}T09:00:00.000+08:00",
        "end": f"{day}T09:40:00.000+08:00",
        "visit": {"household": hh, "visit_date": day, "visit_type": "home_visit"},
        "work": {
            "outcome": outcome,
            "needs_followup": "yes",
            "next_visit_date": "2026-12-20",
            "next_visit_plan": "2026-12-20",
        },
        "status": {"case_status": "following", "risk_changed": "no"},
    }
    entity = {
        "dataset": "households",
        "id": hh,
        "update": "1",
        "baseVersion": base,
        "trunkVersion": trunk,
        "branchId": branch,
    }
    return entity_submission("mediation_visit", answers, entity, version=VERSION)[0]


def test_a_household_followed_by_two_mediators_offline(app, client, world, bundled, send):
    # 1. The mediator's screening finds a problem family: a household, hers to follow.
    hh = "0b7c8f0e-5d1e-4c55-9a7e-7f3d2a9c1e01"
    screening = screening_answers()
    xml, _ = entity_submission(
        "family_screening",
        screening,
        {"dataset": "households", "id": hh, "create": "1"},
        label="李梅家（和平社区）",
        version=VERSION,
    )
    send(xml, world.mediator)
    assert [r["label"] for r in phone_list(app, client, world.mediator)] == ["李梅家（和平社区）"]
    assert phone_list(app, client, world.mediator2) == []

    # 2. The supervisor hands it to a colleague; the mediator, offline, still holds v1.
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        entity = db.session.scalar(select(Entity).where(Entity.uuid == hh))
        assign(users[world.supervisor], entity, users[world.mediator2])
        db.session.commit()
    (row,) = phone_list(app, client, world.mediator2)
    assert row["name"] == hh and row["__version"] == "2"

    # 3. Both visit offline, each from the list they had; both visits arrive.
    send(visit_xml(hh, 2, 2, "branch-m2", "2026-12-05", "partial"), world.mediator2)
    send(visit_xml(hh, 1, 1, "branch-m1", "2026-12-04", "success"), world.mediator)
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        entity = db.session.scalar(select(Entity).where(Entity.uuid == hh))
        kinds = db.session.scalars(
            select(EntityVersion.kind)
            .where(EntityVersion.entity_id == entity.id)
            .order_by(EntityVersion.version)
        ).all()
        assert kinds == ["create", "assign", "update", "update"]  # both visits kept
        assert entity.conflict == HARD
        assert entity.data["last_outcome"] == "success"  # the later arrival wins…
        assert entity.status == "following" and str(entity.next_visit_due) == "2026-12-20"

        # 4. …until the supervisor resolves it, keeping mediator2's outcome, and hands
        # the household back to the mediator.
        resolve(users[world.supervisor], entity, {"last_outcome": "partial"}, "以二次走访为准")
        assign(users[world.supervisor], entity, users[world.mediator])
        db.session.commit()
        assert entity.conflict is None and entity.data["last_outcome"] == "partial"

    # 5. On the next sync the lists follow: back on the mediator's phone, off mediator2's.
    assert [r["name"] for r in phone_list(app, client, world.mediator)] == [hh]
    assert phone_list(app, client, world.mediator2) == []


def test_no_household_leaks_outside_its_area(app, client, world, bundled, send):
    hh = "5f0c1d2e-0000-4000-8000-00000000aa01"
    xml, _ = entity_submission(
        "family_screening",
        screening_answers(),
        {"dataset": "households", "id": hh, "create": "1"},
        label="李梅家（和平社区）",
        version=VERSION,
    )
    send(xml, world.mediator)

    def api(who: str, path: str):
        auth = {"Authorization": f"Bearer {api_token(app, who)}"}
        return client.get(f"/api/v1/datasets/households/entities{path}", headers=auth)

    # A mediator of another district: not on the phone's list, not in the API.
    assert phone_list(app, client, world.mediator3) == []
    assert api(world.mediator3, "").json["results"] == []
    assert api(world.mediator3, f"/{hh}").status_code == 404
    # The mediator it is assigned to sees it whole; the district supervisor too.
    mine = api(world.mediator, f"/{hh}").json
    assert mine["label"] == "李梅家（和平社区）" and [v["kind"] for v in mine["versions"]] == [
        "create"
    ]
    assert api(world.supervisor, "").json["count"] == 1
    # A researcher counts it but does not learn who it is.
    (seen,) = api(world.researcher, "").json["results"]
    assert seen["label"] is None and seen["label_hidden"] is True
    assert "李梅" not in api(world.researcher, f"/{hh}").get_data(as_text=True)
    # The households export of the supervisor of another district would be empty: the
    # only other-district user is a mediator, whose export is refused outright.
    resp = client.get(
        "/data/family_screening/households/export?format=csv",
        headers={"Authorization": f"Bearer {api_token(app, world.mediator3)}"},
    )
    assert resp.status_code in (403, 404)
