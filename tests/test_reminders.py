"""Reminders (issue 13), on a fixed clock: Wednesday 2 December 2026, 10:00 in Shanghai.

和平社区's mediator follows six households she registered (two overdue, one due today,
one tomorrow, one later, one closed) and one her supervisor took from her colleague in
光明社区 and gave her yesterday. The city's monthly screening report is due on 5
December for November: her village has filed nothing (October it did); 光明社区 filed
November but not October. What the server says she has to do, what her phone is sent,
and when, is checked against that plan; a push service on loopback receives the pushes
and decrypts them as a phone would."""

from __future__ import annotations

import json
import os
import stat
import threading
import time as clock
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from fieldapp.extensions import db
from fieldapp.reminders.models import PushSubscription, ReminderDelivery
from tests.helpers import api_token, submission_xml, xlsform
from tests.helpers_cases import registration
from tests.helpers_push import Device, start_push_service, vapid_claims

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 2)
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
HEADS = {  # household head → next visit day
    "甲秀英": "2026-11-28",
    "乙桂兰": "2026-12-01",
    "丙玉梅": "2026-12-02",
    "丁春花": "2026-12-03",
    "戊凤英": "2026-12-10",
    "己淑珍": "2026-11-30",  # closed
}
REPORT_FORM = xlsform(
    [["type", "name", "label"], ["start", "start", ""], ["integer", "found", "发现数"]],
    settings=[["form_id", "version", "form_title"], ["rm_screening", "1", "月度排查"]],
)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """A Shanghai wall-clock time on ``day`` as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def plan(app, world, case_forms, send, publish, tmp_path):
    """The households and the report of the module's story; returns {head: uuid}."""
    from fieldapp.auth.services import get_user
    from fieldapp.cases.models import Entity, EntityVersion
    from fieldapp.cases.services import assign, close
    from fieldapp.reports.services import save_definition
    from fieldapp.scope import OPERATOR
    from fieldapp.submissions.services import receive_submission
    from fieldapp.surveys.services import get_form

    ids = {}
    for head, due in HEADS.items():
        xml, _iid, ids[head] = registration(head, due=due)
        send(xml)
    xml, _iid, ids["庚美玲"] = registration("庚美玲", due="2026-12-01")
    send(xml, who=world.mediator2)
    xml, _iid, ids["辛小燕"] = registration("辛小燕", due="2026-12-02")
    send(xml, who=world.mediator2)
    (tmp_path / "rm.xlsx").write_bytes(REPORT_FORM)
    publish(tmp_path / "rm.xlsx")
    with app.app_context():
        sup = get_user(world.supervisor)
        entity = lambda head: db.session.scalar(select(Entity).where(Entity.uuid == ids[head]))  # noqa: E731
        close(sup, entity("己淑珍"), "已调解成功")
        version = assign(sup, entity("庚美玲"), get_user(world.mediator))
        db.session.execute(
            update(EntityVersion)
            .where(EntityVersion.id == version.id)
            .values(created_at=NOW - timedelta(days=1))
        )
        save_definition(
            OPERATOR,
            None,
            name="月度排查报告",
            form_id="rm_screening",
            period="monthly",
            level="village",
            deadline_days=5,
            area_code="3399",
        )
        schema = get_form("rm_screening").current.schema
        for who, start in ((world.mediator, "2026-10-15"), (world.mediator2, "2026-11-20")):
            answers = {"start": f"{start}T09:00:00.000+08:00", "found": "0"}
            xml, _iid = submission_xml(
                "rm_screening", schema["version"], answers, root=schema["root"]
            )
            receive_submission(get_user(who), xml)
        db.session.commit()
    return ids


@pytest.fixture
def push_service():
    service = start_push_service()
    yield service
    service.server.shutdown()
    service.server.server_close()


def bearer(app, who: str) -> dict:
    return {"Authorization": f"Bearer {api_token(app, who)}"}


def subscribe(app, client, who: str, device: Device) -> int:
    resp = client.post(
        "/api/v1/push/subscriptions", json=device.to_json(), headers=bearer(app, who)
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def send_at(app, now: datetime, **kwargs):
    from fieldapp.reminders.sender import send_due

    return send_due(app, now, **kwargs)


def pushes(service, device: Device) -> list[dict]:
    path = device.endpoint.split(service.origin, 1)[1]
    return [device.decrypt(r.body) for r in service.to(path)]


# -- the to-do list ------------------------------------------------------------------


def test_the_todo_list_is_the_plan(app, client, world, plan):
    resp = client.get("/api/v1/reminders/todo?day=2026-12-02", headers=bearer(app, world.mediator))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["day"] == "2026-12-02"
    items = {i["kind"]: i for i in body["items"] if i["kind"] != "report"}
    overdue = items["overdue"]["households"]  # by next visit day, then id
    assert overdue == [plan["甲秀英"], *sorted([plan["乙桂兰"], plan["庚美玲"]])]
    assert items["overdue"]["count"] == 3  # the closed one is not due
    assert items["due_today"]["households"] == [plan["丙玉梅"]]
    assert items["due_tomorrow"]["households"] == [plan["丁春花"]]
    assert items["assigned"] == {"kind": "assigned", "count": 1, "households": [plan["庚美玲"]]}
    reports = [i for i in body["items"] if i["kind"] == "report"]
    assert [(r["period"], r["status"], r["deadline"]) for r in reports] == [
        ("2026-11", "pending", "2026-12-05"),
        ("2026-12", "pending", "2027-01-05"),
    ]
    assert {r["name"] for r in reports} == {"月度排查报告"}
    # Her colleague: her own household due today, and November filed.
    resp = client.get("/api/v1/reminders/todo?day=2026-12-02", headers=bearer(app, world.mediator2))
    kinds = {i["kind"]: i for i in resp.get_json()["items"]}
    assert kinds["due_today"]["households"] == [plan["辛小燕"]]
    assert "overdue" not in kinds and "assigned" not in kinds
    assert [
        (i["period"], i["status"]) for i in resp.get_json()["items"] if i["kind"] == "report"
    ] == [("2026-12", "pending")]
    # A week later the assignment is no longer new.
    resp = client.get("/api/v1/reminders/todo?day=2026-12-08", headers=bearer(app, world.mediator))
    assert "assigned" not in {i["kind"] for i in resp.get_json()["items"]}
    bad = client.get("/api/v1/reminders/todo?day=12/02", headers=bearer(app, world.mediator))
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_json()["error"]["message"]


# -- what is pushed ------------------------------------------------------------------


def test_one_daily_summary_per_kind_counts_only(app, client, world, plan, push_service):
    phone = Device.new(f"{push_service.origin}/push/phone")
    subscribe(app, client, world.mediator, phone)
    summary = send_at(app, NOW)
    got = pushes(push_service, phone)
    assert summary.sent == 3 and len(got) == 3
    by_kind = {p["kind"]: p for p in got}
    assert by_kind["visits"] == {
        "kind": "visits",
        "title": "平安家庭",
        "body": "您有1户今日待走访，1户明日待走访，3户已逾期",
        "url": "/app#/todo",
        "tag": "visits-2026-12-02",
    }
    assert by_kind["report"]["body"] == "有1份报告3天内截止，尚未上报（可报零报告）"
    assert by_kind["assigned"]["body"] == "新分配给您1户家庭，请查看待办"
    assert "digest" not in by_kind  # a mediator gets no digest
    text = json.dumps(got, ensure_ascii=False)
    for secret in [*HEADS, "庚美玲", "和平社区", "光明社区", "mediator", "调解员", "月度排查"]:
        assert secret not in text
    # Later the same day: nothing again, even when the list changes.
    assert send_at(app, NOW + timedelta(hours=3)).sent == 0
    # The next day: the next summary (tomorrow's reminders).
    assert send_at(app, at(9, day=DAY + timedelta(days=1))).sent >= 1
    assert [p["tag"] for p in pushes(push_service, phone)][-1].endswith("2026-12-03")


def test_quiet_hours_hold_reminders_until_they_end(app, client, world, plan, push_service):
    phone = Device.new(f"{push_service.origin}/push/quiet")
    subscribe(app, client, world.mediator, phone)
    headers = bearer(app, world.mediator)
    resp = client.put(
        "/api/v1/reminders/preferences",
        json={"quiet_start": "20:00", "quiet_end": "10:30"},
        headers=headers,
    )
    assert resp.get_json() == {
        "kinds": {"visits": True, "report": True, "assigned": True, "digest": True},
        "quiet_start": "20:00",
        "quiet_end": "10:30",
        "devices": 1,
    }
    summary = send_at(app, NOW)  # 10:00: still quiet
    assert summary.quiet == 1 and summary.sent == 0
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ReminderDelivery)) == 0
    assert send_at(app, at(10, 30)).sent == 3  # quiet hours end at 10:30
    assert send_at(app, at(22, 0)).sent == 0


def test_kinds_switched_off_are_not_sent(app, client, world, plan, push_service):
    phone = Device.new(f"{push_service.origin}/push/kinds")
    subscribe(app, client, world.mediator, phone)
    resp = client.put(
        "/api/v1/reminders/preferences",
        json={"kinds": {"report": False, "assigned": False}},
        headers=bearer(app, world.mediator),
    )
    assert resp.status_code == 200
    assert resp.get_json()["kinds"] == {
        "visits": True,
        "report": False,
        "assigned": False,
        "digest": True,
    }
    send_at(app, NOW)
    assert [p["kind"] for p in pushes(push_service, phone)] == ["visits"]


def test_the_supervisor_gets_a_digest_of_the_subtree(app, client, world, plan, push_service):
    phone = Device.new(f"{push_service.origin}/push/sup")
    subscribe(app, client, world.supervisor, phone)
    send_at(app, NOW)
    got = {p["kind"]: p for p in pushes(push_service, phone)}
    # 东城区: 甲, 乙 and 庚 overdue (己 closed); October: 光明社区 filed nothing.
    assert got["digest"]["body"] == "辖区内3户走访已逾期，1个单位上期未上报"
    assert got["digest"]["url"] == "/cases/"
    assert got["digest"]["tag"] == "digest-2026-12-02"


def test_running_twice_or_at_once_sends_each_reminder_once(app, client, world, plan, push_service):
    phones = [Device.new(f"{push_service.origin}/push/twice{i}") for i in range(2)]
    for phone in phones:
        subscribe(app, client, world.mediator, phone)
    barrier = threading.Barrier(3)
    results = []

    def run():
        barrier.wait()
        results.append(send_at(app, NOW))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.sent for r in results) == 6  # 3 kinds × 2 devices, whoever sent them
    assert send_at(app, NOW + timedelta(minutes=5)).sent == 0
    for phone in phones:
        assert sorted(p["kind"] for p in pushes(push_service, phone)) == [
            "assigned",
            "report",
            "visits",
        ]


def test_a_push_not_started_within_its_lease_is_left_to_the_next_run(
    app, client, world, plan, push_service, monkeypatch
):
    """Red team: outcomes are written when the whole batch ends; a batch longer than the
    lease (hundreds of pushes timing out) let another run claim pushes already sent and
    send them again. A push is not started once the lease would run out first."""
    from fieldapp.reminders import sender

    phone = Device.new(f"{push_service.origin}/push/late")
    subscribe(app, client, world.mediator, phone)
    monkeypatch.setattr(sender, "SEND_WITHIN", -1.0)  # this run's time is up at once
    assert send_at(app, NOW).sent == 0
    assert pushes(push_service, phone) == []
    monkeypatch.undo()
    assert send_at(app, NOW + timedelta(minutes=5)).sent == 0  # the lease still holds
    assert send_at(app, NOW + timedelta(minutes=11)).sent == 3  # then claimed again, once
    assert send_at(app, NOW + timedelta(minutes=30)).sent == 0
    assert len(pushes(push_service, phone)) == 3


def test_a_late_outcome_never_overwrites_a_newer_claim(
    app, client, world, plan, push_service, monkeypatch
):
    """A run whose outcomes are written after its lease ran out (a hung lookup) finds the
    delivery claimed again by another run: it writes nothing over that claim."""
    from fieldapp.reminders import sender

    phone = Device.new(f"{push_service.origin}/push/slow")
    subscribe(app, client, world.mediator, phone)
    real_record = sender._record

    def record_after_another_claim(outcomes, now, summary):
        db.session.execute(  # meanwhile another run claimed every one again
            update(ReminderDelivery).values(attempts=ReminderDelivery.attempts + 1)
        )
        real_record(outcomes, now, summary)

    monkeypatch.setattr(sender, "_record", record_after_another_claim)
    send_at(app, NOW)
    with app.app_context():
        rows = db.session.scalars(select(ReminderDelivery)).all()
        assert len(rows) == 3
        assert {(d.state, d.attempts, d.sent_at) for d in rows} == {("pending", 2, None)}


# -- through the command, to a push service that fails some ---------------------------


def test_fieldapp_reminders_send_to_a_push_service(app, client, world, plan, push_service, runner):
    from fieldapp.cli import main

    ok = Device.new(f"{push_service.origin}/push/ok")
    gone = Device.new(f"{push_service.origin}/push/gone")
    broken = Device.new(f"{push_service.origin}/push/broken")
    push_service.answers = {"/push/gone": [410], "/push/broken": [500, 500, 500, 500, 201]}
    ids = {d.endpoint: subscribe(app, client, world.mediator, d) for d in (ok, gone, broken)}
    public_key = client.get("/api/v1/push/key", headers=bearer(app, world.mediator))
    public_key = public_key.get_json()["public_key"]

    result = invoke(runner, main, ["reminders", "send", "--dry-run"], app)
    assert "将发送 9 条提醒" in result.output
    assert push_service.received == []
    result = invoke(runner, main, ["reminders", "send"], app)
    assert result.exit_code == 0, result.output
    assert "已发送 3 条，失败待重试 3 条，已失效的订阅 1 个" in result.output

    before = clock.time()
    for r in push_service.to("/push/ok"):
        assert r.headers["ttl"] == "43200"
        assert r.headers["content-encoding"] == "aes128gcm"
        payload = ok.decrypt(r.body)
        assert (
            r.headers["urgency"]
            == {"visits": "normal", "report": "high", "assigned": "normal"}[payload["kind"]]
        )
        claims = vapid_claims(r.headers["authorization"], public_key)
        assert claims["aud"] == push_service.origin
        assert claims["sub"] == "mailto:admin@fieldapp.invalid"
        assert before < claims["exp"] <= before + 24 * 3600
    with app.app_context():
        assert db.session.get(PushSubscription, ids[gone.endpoint]) is None
        assert db.session.get(PushSubscription, ids[broken.endpoint]).failures == 3
        failed = db.session.scalars(
            select(ReminderDelivery).where(ReminderDelivery.state == "failed")
        ).all()
        assert len(failed) == 3 and all("500" in d.last_error for d in failed)
    # The sender tries again once the back-off has passed; the service recovered.
    assert send_at(app, NOW + timedelta(minutes=1)).sent == 0  # too early
    later = send_at(app, NOW + timedelta(minutes=6))
    assert later.sent == 2 and later.failed == 1  # the service fails once more
    assert send_at(app, NOW + timedelta(minutes=15)).sent == 0  # back-off doubled: 10 min
    assert send_at(app, NOW + timedelta(minutes=17)).sent == 1
    assert sorted(p["kind"] for p in pushes(push_service, broken)) == [
        "assigned",
        "report",
        "visits",
    ]
    assert len(push_service.to("/push/ok")) == 3  # nothing twice
    with app.app_context():
        assert db.session.get(PushSubscription, ids[broken.endpoint]).failures == 0


def invoke(runner, main, args, app):
    """Run ``fieldapp`` at ``NOW`` with the test app (the command builds its own app)."""
    from unittest import mock

    from fieldapp.reminders import cli, sender

    with (
        mock.patch.object(cli, "create_app", lambda: app),
        mock.patch.object(sender, "current_time", lambda: NOW),
    ):
        return runner.invoke(main, args, catch_exceptions=False)


# -- subscriptions and keys ----------------------------------------------------------


def test_subscriptions_belong_to_their_device_and_user(app, client, world, push_service):
    phone = Device.new(f"{push_service.origin}/push/shared")
    first = subscribe(app, client, world.mediator, phone)
    resp = client.post(
        "/api/v1/push/subscriptions", json=phone.to_json(), headers=bearer(app, world.mediator2)
    )
    assert resp.status_code == 200 and resp.get_json()["id"] == first  # moved to mediator2
    prefs = client.get("/api/v1/reminders/preferences", headers=bearer(app, world.mediator))
    assert prefs.get_json()["devices"] == 0
    gone = client.delete(
        "/api/v1/push/subscriptions",
        json={"endpoint": phone.endpoint},
        headers=bearer(app, world.mediator),
    )
    assert gone.status_code == 204
    with app.app_context():
        assert db.session.get(PushSubscription, first) is not None  # not hers to delete
    client.delete(
        "/api/v1/push/subscriptions",
        json={"endpoint": phone.endpoint},
        headers=bearer(app, world.mediator2),
    )
    with app.app_context():
        assert db.session.get(PushSubscription, first) is None


def test_an_endpoint_offered_with_other_keys_is_refused(app, client, world, push_service):
    """One who knows a phone's endpoint but not its keys cannot take it over (the owner's
    phone could no longer decrypt its reminders)."""
    phone = Device.new(f"{push_service.origin}/push/taken")
    first = subscribe(app, client, world.mediator, phone)
    thief = Device.new(phone.endpoint)  # same endpoint, other keys
    resp = client.post(
        "/api/v1/push/subscriptions", json=thief.to_json(), headers=bearer(app, world.mediator2)
    )
    assert resp.status_code == 400 and "另一个账号" in resp.get_json()["error"]["message"]
    with app.app_context():
        sub = db.session.get(PushSubscription, first)
        assert sub.auth == phone.to_json()["keys"]["auth"]
    prefs = client.get("/api/v1/reminders/preferences", headers=bearer(app, world.mediator))
    assert prefs.get_json()["devices"] == 1  # still hers


@pytest.mark.parametrize(
    "change, words",
    [
        ({"endpoint": "http://push.example.com/x"}, "https"),
        ({"endpoint": "https://10.0.0.5/x"}, "https"),
        ({"endpoint": "https://intranet/x"}, "https"),
        ({"keys": {"p256dh": "abc", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "p256dh"),
        ({"keys": None}, "keys"),
    ],
)
def test_a_bad_subscription_is_refused_in_chinese(app, client, world, change, words):
    body = {**Device.new("https://push.example.com/send/1").to_json(), **change}
    resp = client.post("/api/v1/push/subscriptions", json=body, headers=bearer(app, world.mediator))
    assert resp.status_code == 400
    assert words in resp.get_json()["error"]["message"]


def test_bad_preferences_are_refused_in_chinese(app, client, world):
    headers = bearer(app, world.mediator)
    for body, words in (
        ({"quiet_start": "25:00"}, "免打扰"),
        ({"kinds": {"visits": "yes"}}, "true 或 false"),
        ({"kinds": {"gossip": True}}, "没有这种提醒"),
        ([1, 2], "JSON 对象"),
    ):
        resp = client.put("/api/v1/reminders/preferences", json=body, headers=headers)
        assert resp.status_code == 400 and words in resp.get_json()["error"]["message"]
    resp = client.put("/api/v1/reminders/preferences", data="x", headers=headers)
    assert resp.status_code == 400


def test_a_session_must_send_the_csrf_token(app, client, world):
    from tests.helpers import csrf_token, login

    login(client, world.mediator)
    body = Device.new("https://push.example.com/send/2").to_json()
    assert client.post("/api/v1/push/subscriptions", json=body).status_code == 400
    # An Authorization header that authenticates nobody spares nothing (issue 14), on
    # every write of this API; a valid token does.
    for header in ("Bearer not-a-real-token", "Bearer ", "Basic bWVkaWF0b3I6d3Jvbmc="):
        bogus = {"Authorization": header}
        for method, url, sent in (
            (client.post, "/api/v1/push/subscriptions", body),
            (client.delete, "/api/v1/push/subscriptions", body),
            (client.put, "/api/v1/reminders/preferences", {}),
        ):
            resp = method(url, json=sent, headers=bogus)
            assert resp.status_code == 400, (header, url)
            assert "安全令牌" in resp.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(PushSubscription.id)) is None
    token = csrf_token(client, "/account")
    resp = client.post("/api/v1/push/subscriptions", json=body, headers={"X-CSRFToken": token})
    assert resp.status_code == 201
    other = Device.new("https://push.example.com/send/3").to_json()
    resp = client.post(
        "/api/v1/push/subscriptions", json=other, headers=bearer(app, world.mediator)
    )
    assert resp.status_code == 201


def test_the_vapid_key_is_made_once_and_kept_private(app, client, world):
    first = client.get("/api/v1/push/key", headers=bearer(app, world.mediator)).get_json()
    path = os.path.join(app.instance_path, "vapid_private.pem")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = client.get("/api/v1/push/key", headers=bearer(app, world.mediator)).get_json()
    assert first == again and len(first["public_key"]) == 87
    assert client.get("/api/v1/push/key").status_code == 401


def test_no_answer_is_retried_and_a_bad_key_or_setting_deletes_nothing_else(
    app, client, world, plan, push_service
):
    import socket

    from fieldapp.reminders.sender import send_due

    with socket.socket() as s:  # a port nobody listens on: the connection is refused
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    dead = Device.new(f"http://127.0.0.1:{closed}/push/dead")
    ok = Device.new(f"{push_service.origin}/push/fine")
    bad_key = Device.new(f"{push_service.origin}/push/badkey")
    body = bad_key.to_json()
    body["keys"]["p256dh"] = "B" + "A" * 86  # 65 bytes, 0x04 first, not a point on P-256
    ids = {d.endpoint: subscribe(app, client, world.mediator, d) for d in (dead, ok)}
    resp = client.post("/api/v1/push/subscriptions", json=body, headers=bearer(app, world.mediator))
    assert resp.status_code == 201
    bad_id = resp.get_json()["id"]

    app.config["VAPID_SUBJECT"] = "not a contact"
    try:
        assert send_at(app, NOW).sent == 0  # logged; nothing claimed, nothing deleted
    finally:
        app.config["VAPID_SUBJECT"] = "mailto:admin@fieldapp.invalid"
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ReminderDelivery)) == 0
        assert db.session.get(PushSubscription, bad_id) is not None

    summary = send_due(app, NOW)
    assert (summary.sent, summary.failed, summary.gone) == (3, 3, 1)
    assert len(pushes(push_service, ok)) == 3
    with app.app_context():
        assert db.session.get(PushSubscription, bad_id) is None
        kept = db.session.get(PushSubscription, ids[dead.endpoint])
        assert kept.failures == 3
        errors = db.session.scalars(
            select(ReminderDelivery.last_error).where(ReminderDelivery.state == "failed")
        ).all()
        assert len(errors) == 3 and all("Connection" in e for e in errors)


def test_control_characters_reach_no_database(app, client, world):
    """PostgreSQL refuses NUL in text: it is dropped from a device label, and an
    endpoint holding one is none of the caller's."""
    headers = bearer(app, world.mediator)
    body = Device.new("https://push.example.com/send/3").to_json("手机\x00一")
    resp = client.post("/api/v1/push/subscriptions", json=body, headers=headers)
    assert resp.status_code == 201
    with app.app_context():
        assert db.session.get(PushSubscription, resp.get_json()["id"]).device == "手机一"
    resp = client.delete("/api/v1/push/subscriptions", json={"endpoint": "x\x00"}, headers=headers)
    assert resp.status_code == 204


def test_the_background_worker_sends_them_every_five_minutes(
    app, client, world, plan, push_service, monkeypatch
):
    from fieldapp import worker
    from fieldapp.reminders import sender

    kind = next(k for k in worker.kinds() if k.name == "reminders")
    assert kind.every == 300
    phone = Device.new(f"{push_service.origin}/push/worker")
    subscribe(app, client, world.mediator, phone)
    monkeypatch.setattr(sender, "current_time", lambda: NOW)
    monkeypatch.setattr(worker, "kinds", lambda: [kind])
    last_run: dict[str, float] = {}
    assert worker.turn(app, last_run) is False  # scheduled: nothing waits in a queue
    assert sorted(p["kind"] for p in pushes(push_service, phone)) == [
        "assigned",
        "report",
        "visits",
    ]
    worker.turn(app, last_run)  # within five minutes: not run again
    assert len(push_service.received) == 3
