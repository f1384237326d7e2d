"""The phone's 待办 and the server's agree (issue 13, "the phone's list and the server's
reminders agree on a generated month"). A mediator of 和平社区 follows 60 households
registered with next visit days spread over two months (some closed), and her unit
files a monthly report (October filed with a zero report, November and December not).
For every day of a month that crosses the month's end and November's deadline, the
phone's pure function (static/js/app/todo.js ``todoItems``, run by node on the rows of
her households.csv and /me's ``reports``) gives the same households and report periods
as ``fieldapp.reminders.todo.todo_for``, both with a download of that day and with one
three days old (the phone offline: new periods and passed deadlines by its own date).
Newly assigned households are compared apart (the last test): the phone's rule (first
seen in a downloaded list, not registered on it, until opened) is stated differently from
the server's (versions giving them to her), and the two agree when the phone downloads
its list every day and nothing is opened, from the day after its first download."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from fieldapp.auth.services import get_user
from fieldapp.cases.households import DATASET
from fieldapp.cases.lists import list_csv
from fieldapp.cases.models import Dataset, Entity
from fieldapp.extensions import db
from fieldapp.reminders.todo import todo_for
from fieldapp.reports.phone import reports_for
from tests.helpers import BUNDLED_FORMS, SCREENING, api_token, post_submission, submission_xml
from tests.helpers_cases import REGISTER, VISIT, registration, screening_report

ROOT = Path(__file__).resolve().parents[1]
START = date(2026, 11, 20)  # to 2026-12-19: a new month, November's deadline (Dec 5)
DAYS = 30

# Runs todo.js on [{ csv, reports, today }] from stdin; prints the items of each.
NODE = """
import { parseCSV } from '%(root)s/static/js/app/entities.js';
import { todoItems } from '%(root)s/static/js/app/todo.js';
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map(({ csv, reports, today }) => todoItems({
    rows: parseCSV(csv).rows, reports: { reports, fetchedAt: 0 }, today,
  }).map(({ rows, which, ...item }) => item));
  process.stdout.write(JSON.stringify(out));
});
"""


def run_phone(script: str, data) -> list:
    """Run the phone's own module code (``script``, an ES module reading JSON on stdin
    and writing JSON) in Node.js with ``data``; its answer."""
    node = shutil.which("node")
    assert node, "Node.js is needed (README)"
    run = subprocess.run(
        [node, "--input-type=module", "-e", script % {"root": ROOT.as_posix()}],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def comparable(items: list[dict]) -> list:
    out = []
    for i in items:
        if i["kind"] == "report":
            out.append(("report", i["report_id"], i["period"], i["status"], i["deadline"]))
        elif i["kind"] != "assigned":
            out.append((i["kind"], tuple(sorted(i["households"]))))
    return sorted(out, key=str)


@pytest.fixture
def month(app, client, world, publish, tmp_path):
    """The households and the report; returns the report's id."""
    for name, form in (("hh_register", REGISTER), ("hh_visit", VISIT)):
        (tmp_path / f"{name}.xlsx").write_bytes(form)
        publish(tmp_path / f"{name}.xlsx")
    publish(SCREENING)
    _zero, zero_version = publish(BUNDLED_FORMS / "zero_report.xlsx")
    report_id = screening_report(app, world)
    token = api_token(app, world.mediator)
    rand = random.Random(13)
    ids = []
    for n in range(60):
        due = "" if rand.random() < 0.1 else (START + timedelta(days=rand.randint(-10, 45)))
        xml, _iid, hh = registration(f"户{n:02d}", due=str(due) if due else "")
        assert post_submission(client, xml, token=token).status_code == 201
        ids.append(hh)
    with app.app_context():
        closed = rand.sample(ids, 6)
        db.session.execute(update(Entity).where(Entity.uuid.in_(closed)).values(status="closed"))
        db.session.commit()
    # October: a zero report (its report_date decides the period).
    xml, _iid = submission_xml(
        "zero_report",
        zero_version,
        {"start": "2026-11-02T08:00:00.000+08:00", "report_date": "2026-10-31", "remarks": ""},
    )
    assert post_submission(client, xml, token=token).status_code == 201
    return report_id


def test_the_phone_and_the_server_give_the_same_todo_every_day_of_a_month(app, world, month):
    cases, wanted = [], []
    with app.app_context():
        user = get_user(world.mediator)
        ds = db.session.scalar(select(Dataset).where(Dataset.name == DATASET))
        csv = list_csv(user, ds).decode("utf-8")
        for n in range(DAYS):
            day = START + timedelta(days=n)
            served = todo_for(user, day).as_json()
            assert served["day"] == day.isoformat()
            for downloaded in (day, day - timedelta(days=3)):
                reports = json.loads(json.dumps(reports_for(user, downloaded), default=str))
                cases.append({"csv": csv, "reports": reports, "today": day.isoformat()})
                wanted.append((day, downloaded, served["items"]))
    phone = run_phone(NODE, cases)
    kinds = set()
    for (day, downloaded, served), items in zip(wanted, phone, strict=True):
        assert comparable(items) == comparable(served), f"{day} (downloaded {downloaded})"
        kinds.update(i["kind"] for i in served)
        statuses = {i["status"] for i in served if i["kind"] == "report"}
        kinds.update(f"report-{s}" for s in statuses)
    # October's zero report counts on both sides; November goes missing after Dec 5.
    first = [(i["period"], i["status"]) for i in wanted[0][2] if i["kind"] == "report"]
    assert first == [("2026-11", "pending")]
    last = sorted((i["period"], i["status"]) for i in wanted[-1][2] if i["kind"] == "report")
    assert last == [("2026-11", "missing"), ("2026-12", "pending")]
    # The month had every kind in it, and both report statuses.
    assert {"overdue", "due_today", "due_tomorrow", "report-pending", "report-missing"} <= kinds


# Carries the phone's "seen" state (todo.js noteSeen, as todostate.js loadTodo does) through
# [{ today, csv, local }] in order: a look at the list with the day's own registrations
# on top (local rows, before the sync), then at the day's download. Prints each day's
# `assigned` households (sorted).
NODE_SEEN = """
import { parseCSV } from '%(root)s/static/js/app/entities.js';
import { noteSeen, todoItems } from '%(root)s/static/js/app/todo.js';
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  let seen = null;
  let before = [];
  const out = JSON.parse(input).map(({ today, csv, local }) => {
    if (local.length) {
      const mine = local.map((name) => ({ name, label: name, __local: 'created' }));
      ({ seen } = noteSeen(seen, [...before, ...mine], today));
    }
    const rows = parseCSV(csv).rows;
    ({ seen } = noteSeen(seen, rows, today));
    before = rows;
    const item = todoItems({ rows, seen, today }).find((i) => i.kind === 'assigned');
    return item ? [...item.households].sort() : [];
  });
  process.stdout.write(JSON.stringify(out));
});
"""


def test_the_phone_and_the_server_agree_on_newly_assigned_households(
    app, client, world, month, send
):
    """A month in which the supervisor gives 和平社区's mediator households on various
    days (some from 光明社区's mediator, one of hers taken away and given back, one
    closed and reopened, one given and taken away again) and she registers one herself.
    Her phone downloads her list every day (the first download, on START, seeds: nothing
    is new on a fresh phone, and nothing was given to her in the 7 days before) and she
    taps nothing: from the day after the first download on, the households the phone
    shows as 新分配 (todo.js noteSeen carried from day to day) are those of
    ``todo_for(...).assigned`` on every day."""
    from fieldapp.cases.models import EntityVersion
    from fieldapp.cases.services import assign, close, reopen
    from fieldapp.reminders.todo import day_start

    others = []
    for n in range(10):
        xml, _iid, hh = registration(f"光{n:02d}", due=str(START + timedelta(days=n * 4)))
        send(xml, who=world.mediator2)
        others.append(hh)
    with app.app_context():
        theirs = db.session.scalars(
            select(Entity.uuid).where(Entity.label.like("户%"), Entity.status != "closed")
        ).all()
    mine_back, mine_reopened = sorted(theirs)[:2]
    # day (from START) -> [(what, household)]; nothing in the 7 days up to START but -12.
    plan = {
        -12: [("give", others[0])],
        -10: [("close", mine_reopened)],
        1: [("give", others[1]), ("give", others[2])],
        3: [("give", others[3])],
        5: [("take", mine_back)],
        8: [("give", others[4]), ("give", others[5])],
        9: [("give", mine_back)],
        10: [("take", others[5])],
        12: [("give", others[6])],
        13: [("take", others[6])],
        14: [("reopen", mine_reopened)],
        16: [("give", others[6])],
        18: [("register", None)],
        20: [("give", others[7])],
        25: [("give", others[8])],
        29: [("give", others[9])],
    }
    days, served = [], []
    with app.app_context():
        sup = get_user(world.supervisor)
        user = get_user(world.mediator)
        other = get_user(world.mediator2)
        ds = db.session.scalar(select(Dataset).where(Dataset.name == DATASET))
        entity = lambda u: db.session.scalar(select(Entity).where(Entity.uuid == u))  # noqa: E731
        for n in sorted(set(plan) | set(range(DAYS))):
            day = START + timedelta(days=n)
            local = []
            for what, hh in plan.get(n, []):
                if what == "register":
                    xml, _iid, hh = registration("自登记", due=str(day + timedelta(days=3)))
                    send(xml)
                    local.append(hh)
                    continue
                if what == "give":
                    version = assign(sup, entity(hh), user)
                elif what == "take":
                    version = assign(sup, entity(hh), other)
                elif what == "close":
                    version = close(sup, entity(hh), "已调解成功")
                else:
                    version = reopen(sup, entity(hh), "又起纠纷")
                at = day_start(day) + timedelta(hours=10)  # 10:00 there; she syncs later
                db.session.execute(
                    update(EntityVersion)
                    .where(EntityVersion.id == version.id)
                    .values(created_at=at)
                )
            db.session.commit()
            if n < 0:
                continue
            csv = list_csv(user, ds).decode("utf-8")
            days.append({"today": day.isoformat(), "csv": csv, "local": local})
            served.append(sorted(todo_for(user, day).assigned))
    phone = run_phone(NODE_SEEN, days)
    assert phone[0] == []  # the first download: nothing is new on a fresh phone
    for d, s, p in list(zip(days, served, phone, strict=True))[1:]:
        assert p == s, d["today"]
    # The month had households given, taken back, given again and reopened on both sides.
    shown = set().union(*map(set, served))
    assert set(others[1:]) | {mine_back, mine_reopened} <= shown
    assert others[0] not in shown and local_registered(days) not in shown
    assert served[5] == sorted(others[1:4])  # day 5: given on days 1 and 3
    assert others[5] not in served[10] and others[6] not in served[13]


def local_registered(days: list[dict]) -> str:
    """The one household registered on the phone in ``days``."""
    (hh,) = [h for d in days for h in d["local"]]
    return hh
