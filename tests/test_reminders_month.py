"""A generated month of reminders (issue 13): 和平社区's mediator follows 24 households
with next visits spread over late November and December (some visited, which moves
the day; some closed), and files a weekly report some weeks. For each day of December
the server's to-do list and what her phone is pushed at 09:00 are compared with what is
counted here from the plan alone (dates, weeks, deadlines)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from fieldapp.extensions import db
from tests.helpers import api_token, submission_xml, xlsform
from tests.helpers_cases import registration, visit
from tests.helpers_push import Device, start_push_service

SHANGHAI = ZoneInfo("Asia/Shanghai")
DECEMBER = [date(2026, 12, 1) + timedelta(days=i) for i in range(31)]
DEADLINE_DAYS = 2  # a week's report is due on the Tuesday after it
FILED_WEEKS = {date(2026, 11, 23), date(2026, 12, 7), date(2026, 12, 21)}  # their Mondays
WEEKLY = xlsform(
    [["type", "name", "label"], ["start", "start", ""], ["integer", "found", "发现数"]],
    settings=[["form_id", "version", "form_title"], ["rm_weekly", "1", "每周排查"]],
)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@pytest.fixture
def month(app, world, case_forms, send, publish, tmp_path):
    """The households ({uuid: next visit day, or None when closed}) and the report."""
    from fieldapp.auth.services import get_user
    from fieldapp.cases.models import Entity
    from fieldapp.cases.services import close
    from fieldapp.reports.services import save_definition
    from fieldapp.scope import OPERATOR
    from fieldapp.submissions.services import receive_submission
    from fieldapp.surveys.services import get_form

    rng = random.Random(13)
    due: dict[str, date | None] = {}
    for i in range(24):
        day = date(2026, 11, 25) + timedelta(days=rng.randrange(37))
        xml, _iid, hh = registration(f"户{i:02d}", due=day.isoformat())
        send(xml)
        due[hh] = day
    ids = list(due)
    for hh in ids[:4]:  # visited: the next visit moves
        due[hh] = due[hh] + timedelta(days=rng.randrange(3, 20))
        send(visit(hh, base=1, visit_date="2026-11-30", due=due[hh].isoformat())[0])
    (tmp_path / "weekly.xlsx").write_bytes(WEEKLY)
    publish(tmp_path / "weekly.xlsx")
    with app.app_context():
        sup = get_user(world.supervisor)
        for hh in ids[4:7]:
            close(sup, db.session.scalar(select(Entity).where(Entity.uuid == hh)), "已结案")
            due[hh] = None
        save_definition(
            OPERATOR,
            None,
            name="每周排查报告",
            form_id="rm_weekly",
            period="weekly",
            level="village",
            deadline_days=DEADLINE_DAYS,
            area_code="3399",
        )
        schema = get_form("rm_weekly").current.schema
        for week in FILED_WEEKS:
            answers = {"start": f"{week + timedelta(days=2)}T09:00:00.000+08:00", "found": "0"}
            xml, _iid = submission_xml("rm_weekly", "1", answers, root=schema["root"])
            receive_submission(get_user(world.mediator), xml)
        db.session.commit()
    return due


def expected_visits(due: dict, day: date) -> tuple[set, set, set]:
    open_ = {hh: d for hh, d in due.items() if d is not None}
    return (
        {hh for hh, d in open_.items() if d < day},
        {hh for hh, d in open_.items() if d == day},
        {hh for hh, d in open_.items() if d == day + timedelta(days=1)},
    )


def expected_reports(day: date) -> list[tuple[str, str, date]]:
    """(week key, status, deadline) of the unfiled weeks among the previous and the
    current one, previous first."""
    out = []
    for start in (monday(day) - timedelta(days=7), monday(day)):
        if start in FILED_WEEKS:
            continue
        deadline = start + timedelta(days=6 + DEADLINE_DAYS)
        year, week, _ = start.isocalendar()
        out.append((f"{year}-W{week:02d}", "pending" if day <= deadline else "missing", deadline))
    return out


def test_a_month_of_todo_lists_and_pushes_agree_with_the_plan(app, client, world, month):
    from fieldapp.reminders.sender import send_due

    service = start_push_service()
    try:
        headers = {"Authorization": f"Bearer {api_token(app, world.mediator)}"}
        phone = Device.new(f"{service.origin}/push/month")
        assert (
            client.post(
                "/api/v1/push/subscriptions", json=phone.to_json(), headers=headers
            ).status_code
            == 201
        )
        pushed_days = {"visits": 0, "report": 0}
        for day in DECEMBER:
            body = client.get(f"/api/v1/reminders/todo?day={day}", headers=headers).get_json()
            items = {i["kind"]: i for i in body["items"] if i["kind"] != "report"}
            got = tuple(
                set(items[k]["households"]) if k in items else set()
                for k in ("overdue", "due_today", "due_tomorrow")
            )
            want = expected_visits(month, day)
            assert got == want, day
            assert all(items[k]["count"] == len(items[k]["households"]) for k in items)
            assert "assigned" not in items  # her own registrations are not "assigned"
            reports = [
                (i["period"], i["status"], date.fromisoformat(i["deadline"]))
                for i in body["items"]
                if i["kind"] == "report"
            ]
            assert reports == expected_reports(day), day

            before = len(service.received)
            moment = datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI).astimezone(UTC)
            send_due(app, moment)
            send_due(app, moment + timedelta(hours=4))  # again the same day: nothing new
            payloads = [phone.decrypt(r.body) for r in service.received[before:]]
            kinds = sorted(p["kind"] for p in payloads)
            assert len(kinds) == len(set(kinds)), day  # at most one per kind a day
            parts = [
                f"{len(want[1])}户今日待走访" if want[1] else "",
                f"{len(want[2])}户明日待走访" if want[2] else "",
                f"{len(want[0])}户已逾期" if want[0] else "",
            ]
            visits = [p for p in payloads if p["kind"] == "visits"]
            if any(want):
                assert visits[0]["body"] == "您有" + "，".join(p for p in parts if p), day
                assert visits[0]["tag"] == f"visits-{day}"
                pushed_days["visits"] += 1
            else:
                assert visits == [], day
            soon = [
                r for r in expected_reports(day) if r[1] == "pending" and (r[2] - day).days <= 3
            ]
            assert ("report" in kinds) == bool(soon), day
            pushed_days["report"] += "report" in kinds
        assert pushed_days["visits"] >= 25 and 0 < pushed_days["report"] < 31
    finally:
        service.server.shutdown()
        service.server.server_close()
