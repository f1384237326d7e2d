"""Demo households (issue 10): a few screenings that registered households and one visit,
sent through the same door as a phone's submissions (``receive_submission``), so the
demo's 我的家庭, the supervisor's household list and a household's history have
something to show. Names and places are invented."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import select

from fieldapp import clock
from fieldapp.auth.models import User
from fieldapp.cases.models import Entity
from fieldapp.extensions import db
from fieldapp.submissions.services import receive_submission
from fieldapp.surveys.models import Form

NS = uuid.UUID("5b0d7c1e-9a4f-4c3b-8f2e-1d6a0c9e7b31")  # demo ids are derived from it

# (mediator, head, village, risk, days until the next visit, members (name, relation, sex, age))
HOUSEHOLDS = [
    (
        "mediator",
        "李梅",
        "和平社区",
        "serious",
        -3,
        [
            ("李梅", "head", "female", 41),
            ("张强", "spouse", "male", 44),
            ("张小雨", "child", "female", 15),
        ],
    ),
    (
        "mediator",
        "王秀英",
        "和平社区",
        "high",
        0,
        [("王秀英", "head", "female", 67), ("刘建国", "child", "male", 39)],
    ),
    ("mediator", "赵丽", "和平社区", "medium", 5, [("赵丽", "head", "female", 35)]),
    (
        "mediator",
        "孙芳",
        "和平社区",
        "low",
        20,
        [("孙芳", "head", "female", 29), ("周明", "spouse", "male", 31)],
    ),
    ("mediator2", "陈红", "光明社区", "high", 2, [("陈红", "head", "female", 52)]),
    (
        "mediator3",
        "吴霞",
        "柳树村",
        "serious",
        -1,
        [("吴霞", "head", "female", 38), ("郑小军", "child", "male", 10)],
    ),
]


def _el(name: str, value) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def _screening(fv, hid: str, head: str, village: str, risk: str, due: date, members, iid: str):
    today = clock.today()
    people = "".join(
        "<household_members>"
        + _el("member_name", n)
        + _el("relation", r)
        + _el("member_sex", s)
        + _el("member_age", a)
        + _el("is_minor", int(a < 18))
        + "</household_members>"
        for n, r, s, a in members
    )
    minors = sum(1 for *_, a in members if a < 18)
    label = f"{head}家（{village}）"
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><data id="family_screening" '
        f"version={quoteattr(fv.version)}>"
        + _el("start", f"{today - timedelta(days=30)}T09:00:00.000+08:00")
        + _el("end", f"{today - timedelta(days=30)}T09:25:00.000+08:00")
        + "<household_info>"
        + _el("screening_date", today - timedelta(days=30))
        + _el("town", "新华街道" if village != "柳树村" else "青石镇")
        + _el("village", village)
        + _el("household_head", head)
        + _el("address", f"{village}3组")
        + "</household_info>"
        + f"<household>{people}"
        + _el("member_count", len(members))
        + _el("minor_count", minors)
        + "</household>"
        + "<situation>"
        + _el("has_conflict", "yes")
        + _el("conflict_types", "family_conflict")
        + "</situation><risk>"
        + _el("risk_level", risk)
        + _el("referral", "none")
        + _el("next_visit_date", due)
        + _el("case_status", "open")
        + "</risk>"
        + f'<meta><entity dataset="households" create="1" id="{hid}">{_el("label", label)}'
        f"</entity><instanceID>{iid}</instanceID></meta></data>"
    )
    return xml.encode("utf-8")


def _visit(fv, hid: str, base: int, iid: str) -> bytes:
    day = clock.today() - timedelta(days=10)
    nxt = clock.today() + timedelta(days=20)
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><data id="mediation_visit" '
        f"version={quoteattr(fv.version)}>"
        + _el("start", f"{day}T15:00:00.000+08:00")
        + _el("end", f"{day}T15:50:00.000+08:00")
        + "<visit>"
        + _el("household", hid)
        + _el("visit_date", day)
        + _el("visit_type", "home_visit")
        + _el("participants", "mediator federation")
        + "</visit><dispute>"
        + _el("dispute_type", "marital")
        + "</dispute><work>"
        + _el("measures", "listened explained_law")
        + _el("work_details", "双方情绪平稳，约定下次回访。")
        + _el("outcome", "partial")
        + _el("needs_followup", "yes")
        + _el("next_visit_date", nxt)
        + _el("next_visit_plan", nxt)
        + "</work><status>"
        + _el("case_status", "following")
        + _el("risk_changed", "no")
        + "</status>"
        + f'<meta><entity dataset="households" id="{hid}" update="1" baseVersion="{base}" '
        f'trunkVersion="{base}" branchId=""/><instanceID>{iid}</instanceID></meta></data>'
    )
    return xml.encode("utf-8")


def load_households() -> int:
    """Register the demo households (and one visit) unless any household exists; returns
    how many were registered. Needs the demo users and the bundled forms."""
    if db.session.scalar(select(Entity.id).limit(1)) is not None:
        return 0
    forms = {f.form_id: f for f in db.session.scalars(select(Form))}
    if "family_screening" not in forms or "mediation_visit" not in forms:
        return 0
    screening, visit = forms["family_screening"].current, forms["mediation_visit"].current
    users = {u.username: u for u in db.session.scalars(select(User))}
    made = 0
    for n, (who, head, village, risk, days, members) in enumerate(HOUSEHOLDS):
        if who not in users:
            continue
        hid = str(uuid.uuid5(NS, f"household-{n}"))
        iid = f"uuid:{uuid.uuid5(NS, f'screening-{n}')}"
        due = clock.today() + timedelta(days=days)
        xml = _screening(screening, hid, head, village, risk, due, members, iid)
        receive_submission(users[who], xml)
        made += 1
        if n == 1:
            receive_submission(
                users[who], _visit(visit, hid, 1, f"uuid:{uuid.uuid5(NS, 'visit-1')}")
            )
    return made
