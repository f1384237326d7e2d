"""Scripts read forms and submissions through a JSON API described by OpenAPI."""

from __future__ import annotations

from tests.helpers import SCREENING, api_token, screening_answers


def test_the_openapi_document_lists_every_endpoint(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/me",
        "/forms",
        "/forms/{form_id}",
        "/forms/{form_id}/submissions",
        "/datasets/{name}/entities",
        "/datasets/{name}/entities/{uuid}",
        "/submissions/{instance_id}/correction",
        "/submissions/{instance_id}/correction/attachments/{filename}",
        "/push/key",
        "/push/subscriptions",
        "/reminders/preferences",
        "/reminders/todo",
    }


def test_the_api_needs_a_valid_token_and_answers_json(client, world):
    resp = client.get("/api/v1/forms")
    assert resp.status_code == 401 and resp.json["error"]["status"] == 401
    resp = client.get("/api/v1/forms", headers={"Authorization": "Bearer nonsense"})
    assert resp.status_code == 401


def test_forms_and_their_schema(app, client, world, publish):
    publish(SCREENING)
    auth = {"Authorization": f"Bearer {api_token(app, world.researcher)}"}
    forms = client.get("/api/v1/forms", headers=auth).json["forms"]
    assert [(f["form_id"], f["version"]) for f in forms] == [("family_screening", "2026120201")]
    form = client.get("/api/v1/forms/family_screening", headers=auth).json
    names = {q["name"]: q for q in form["schema"]["questions"]}
    assert names["member_age"]["type"] == "integer"
    assert names["member_age"]["repeat"] == "/data/household/household_members"
    assert names["member_age"]["constraint_message"]["中文 (zh)"] == "年龄应在0到120岁之间"
    assert [c["name"] for c in names["has_conflict"]["choices"]] == ["yes", "no"]


def test_submissions_are_paginated(app, client, world, submit):
    submit(SCREENING, [screening_answers(remarks=f"第{n}户") for n in range(5)])
    auth = {"Authorization": f"Bearer {api_token(app, world.supervisor)}"}
    page1 = client.get("/api/v1/forms/family_screening/submissions?per_page=2", headers=auth).json
    assert page1["count"] == 5 and len(page1["results"]) == 2 and page1["next"]
    seen = [r["data"]["remarks"] for r in page1["results"]]
    page3 = client.get(
        "/api/v1/forms/family_screening/submissions?per_page=2&page=3", headers=auth
    ).json
    assert page3["next"] is None and len(page3["results"]) == 1
    assert seen == ["第4户", "第3户"]  # newest first
    # Times carry their offset (the configured zone, as the data table shows them).
    assert page1["results"][0]["received_at"].endswith("+08:00")


def test_out_of_range_paging_is_refused_as_the_schema_says(app, client, world, publish):
    """The OpenAPI document declares page ≥ 1 and 1 ≤ per_page ≤ 500: anything else is a
    400 that says what is allowed, never a silently different page; a page past the
    data is an empty page."""
    publish(SCREENING)
    auth = {"Authorization": f"Bearer {api_token(app, world.researcher)}"}
    url = "/api/v1/forms/family_screening/submissions"
    for query in (
        "page=-1",
        "page=0",
        "page=abc",
        "per_page=abc",
        "per_page=0",
        "per_page=100000",
        "page=99999999999999999999",
        "page=9223372036854775807",
    ):
        resp = client.get(f"{url}?{query}", headers=auth)
        assert resp.status_code == 400, query
        assert "之间的整数" in resp.json["error"]["message"], query
    resp = client.get(f"{url}?page=7&per_page=500", headers=auth)
    assert resp.status_code == 200 and resp.json["results"] == []
    doc = client.get("/api/v1/openapi.json").json
    paged = doc["paths"]["/forms/{form_id}/submissions"]["get"]["parameters"]
    schemas = {p["name"]: p["schema"] for p in paged if p["in"] == "query"}
    assert schemas["page"]["minimum"] == 1 and schemas["per_page"]["maximum"] == 500


def test_a_method_an_address_does_not_take_is_405_with_allow(app, client, world):
    auth = {"Authorization": f"Bearer {api_token(app, world.researcher)}"}
    resp = client.delete("/api/v1/forms", headers=auth)
    assert resp.status_code == 405
    assert "GET" in resp.headers["Allow"]
    assert resp.json["error"]["status"] == 405


def test_me_tells_the_phone_who_it_is_and_what_to_fill(app, client, world, publish):
    publish(SCREENING)
    publish(SCREENING.with_name("mediation_visit.xlsx"), area_code="339902")  # not theirs
    auth = {"Authorization": f"Bearer {api_token(app, world.mediator)}"}
    me = client.get("/api/v1/me", headers=auth).json
    assert me["username"] == "mediator" and me["area"]["name"] == "和平社区"
    assert [(f["form_id"], f["version"]) for f in me["forms"]] == [
        ("family_screening", "2026120201")
    ]
    assert client.get(me["forms"][0]["xform_url"], headers=auth).status_code == 200
    assert me["forms"][0]["hash"].startswith("md5:")


def test_researchers_read_de_identified_data_through_the_api(app, client, world, submit):
    submit(SCREENING, [screening_answers()])
    url = "/api/v1/forms/family_screening/submissions"
    research = client.get(
        url, headers={"Authorization": f"Bearer {api_token(app, world.researcher)}"}
    )
    data = research.json["results"][0]["data"]
    assert "phone" not in data["household_info"] and "address" not in data["household_info"]
    assert data["household_info"]["household_head"].startswith("P-")
    assert data["household"]["household_members"][1]["member_age"] == "15"
    admin = client.get(url, headers={"Authorization": f"Bearer {api_token(app, world.admin)}"})
    assert admin.json["results"][0]["data"]["household_info"]["household_head"] == "李梅"
