"""The phone's 待办 and the server's agree (issue 13, "the phone's list and the server's
reminders agree on a generated month"). A mediator of 和平社区 follows 60 households
registered with next visit days spread over two months (some closed), and her unit
files a monthly report (October filed with a zero report, November and December not).
For every day of a month that crosses the month's end and November's deadline, the
phone's pure function (static/js/app/todo.js ``todoItems``, run by node on the rows of
her households.csv and /me's ``reports``) gives the same households and report periods
as ``fieldapp.reminders.todo.todo_for``, both with a download of that day and with one
three days old (the phone offline: new periods and passed deadlines by its own date).
Newly assigned households are left out: the phone's rule (first seen on this phone,
until opened) has no server twin by design."""

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
    node = shutil.which("node")
    assert node, "Node.js is needed (README)"
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
    run = subprocess.run(
        [node, "--input-type=module", "-e", NODE % {"root": ROOT.as_posix()}],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    phone = json.loads(run.stdout)
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
