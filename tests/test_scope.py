"""Everyone sees the data of their own area and below, no more; a mediator sees only
their own submissions — by page, API and export alike."""

from __future__ import annotations

import pytest

from fieldapp.extensions import db
from tests.helpers import SCREENING, api_token, csrf_token, login, screening_answers


@pytest.fixture
def three_villages(world, submit):
    """One submission from each demo village: 和平社区, 光明社区 (东城区), 柳树村 (西山县)."""
    who = [world.mediator, world.mediator2, world.mediator3]
    ids = submit(SCREENING, [screening_answers(remarks=f"户主-{w}") for w in who], by=who)
    return dict(zip(who, ids, strict=True))


def _as(client, username):
    client.post("/logout", data={"csrf_token": csrf_token(client, "/login")})
    login(client, username)
    return client


def _api_heads(client) -> set[str]:
    resp = client.get("/api/v1/forms/family_screening/submissions")
    assert resp.status_code == 200
    return {r["data"]["remarks"] for r in resp.json["results"]}


def _csv_heads(client) -> set[str]:
    resp = client.get("/data/family_screening/export.csv")
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    return {h for h in ("户主-mediator", "户主-mediator2", "户主-mediator3") if f"{h}\r\n" in text}


EXPECTED = {
    "admin": {"户主-mediator", "户主-mediator2", "户主-mediator3"},
    "researcher": {"户主-mediator", "户主-mediator2", "户主-mediator3"},
    "supervisor": {"户主-mediator", "户主-mediator2"},  # 东城区 only
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_viewing_role_sees_exactly_its_area(client, world, three_villages, role):
    _as(client, getattr(world, role))
    assert _api_heads(client) == EXPECTED[role]
    assert _csv_heads(client) == EXPECTED[role]
    table = client.get("/data/family_screening").get_data(as_text=True)
    for head in ("户主-mediator", "户主-mediator2", "户主-mediator3"):
        assert (f">{head}<" in table) == (head in EXPECTED[role])
    hidden = {"admin": None, "researcher": None, "supervisor": world.mediator3}[role]
    if hidden:
        assert client.get(f"/data/submission/{three_villages[hidden]}").status_code == 404


def test_a_mediator_sees_only_their_own_submissions(client, world, three_villages):
    _as(client, world.mediator)
    assert _api_heads(client) == {"户主-mediator"}
    # the data pages and exports are not for mediators at all
    assert client.get("/data/").status_code == 403
    assert client.get("/data/family_screening").status_code == 403
    assert client.get("/data/family_screening/export.csv").status_code == 403
    other = three_villages[world.mediator2]
    assert client.get(f"/data/submission/{other}").status_code == 403


def test_a_mediator_of_another_village_cannot_read_it_by_token_either(
    app, client, world, three_villages
):
    token = api_token(app, world.mediator2)
    resp = client.get(
        "/api/v1/forms/family_screening/submissions", headers={"Authorization": f"Bearer {token}"}
    )
    assert [r["data"]["remarks"] for r in resp.json["results"]] == ["户主-mediator2"]


def test_forms_of_another_district_are_invisible(app, client, world, publish):
    publish(SCREENING, area_code="339902")  # 西山县
    _as(client, world.supervisor)  # 东城区
    assert client.get("/api/v1/forms").json["forms"] == []
    assert client.get("/api/v1/forms/family_screening").status_code == 404
    assert client.get("/data/family_screening").status_code == 404
    assert client.get("/surveys/family_screening/fill").status_code == 404


def test_reading_identifying_data_leaves_an_audit_trail(app, client, world, three_villages):
    from sqlalchemy import select

    from fieldapp.audit.models import AuditEvent
    from fieldapp.auth.models import User

    _as(client, world.researcher)
    client.get("/data/family_screening/export.csv")
    client.get(f"/data/submission/{three_villages[world.mediator]}")
    client.get("/api/v1/forms/family_screening/submissions")
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.action, AuditEvent.object, User.username).join(
                User, AuditEvent.user_id == User.id
            )
        ).all()
    assert ("export", "form:family_screening", "researcher") in events
    assert (
        "view_submission",
        f"submission:{three_villages[world.mediator]}",
        "researcher",
    ) in events
    assert ("api_submissions", "form:family_screening", "researcher") in events
