"""The yearly figures (issue 11), as the federation uses them: two years of screenings,
visits, referrals, legal-education activities and court sittings in two districts, sent
through the bundled questionnaires as phones send them; the figures page, its XLSX and
the command line give the counts computed here independently from what was sent; a
district supervisor sees their district only; a household visited from two villages is
counted once; targets and their progress; the condition language; definitions edited by
the city admin, validated and audited."""

from __future__ import annotations

import io
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import event, func, select

from fieldapp.audit.models import AuditEvent
from fieldapp.auth.models import User
from fieldapp.cases.models import Entity, EntityVersion
from fieldapp.cases.services import assign
from fieldapp.cases.services import close as close_case
from fieldapp.extensions import db
from fieldapp.figures.compute import FiguresError, compute
from fieldapp.figures.condition import ConditionError, parse
from fieldapp.figures.definitions import load_defaults, read_defaults, save
from fieldapp.figures.models import FigureDefinition, FigureTarget
from fieldapp.submissions.models import Submission
from tests.helpers import BUNDLED_FORMS, csrf_token, screening_answers, switch_user
from tests.helpers_cases import entity_submission

VERSION = "2026120201"
YEAR, PREV = 2026, 2025
TZ = ZoneInfo("Asia/Shanghai")
VILLAGE = {  # mediator → (village code, district code)
    "mediator": "339901001001",
    "mediator2": "339901001002",
    "mediator3": "339902001001",
}
FORMS = ("family_screening", "mediation_visit", "referral", "outreach_activity", "court_work")


@pytest.fixture
def bundled(publish):
    for name in FORMS:
        publish(BUNDLED_FORMS / f"{name}.xlsx")


# -- the generated year ----------------------------------------------------------------


@dataclass
class Household:
    uuid: str
    who: str
    day: date
    conflict: bool
    risk: str
    version: int = 1


@dataclass
class Visit:
    hh: Household
    who: str
    day: date
    outcome: str
    measures: list[str]
    status: str
    new_risk: str | None
    refused: bool = False


@dataclass
class Data:
    """What was sent, kept to count the figures independently."""

    screenings: list[Household] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    referrals: list[dict] = field(default_factory=list)
    activities: list[dict] = field(default_factory=list)
    sittings: list[dict] = field(default_factory=list)
    days: dict[str, date] = field(default_factory=dict)  # instance id → its day
    shared: Household | None = None  # visited from two villages


def _day(rng: random.Random) -> date:
    return date(rng.choice((PREV, YEAR)), rng.choice((2, 5, 6, 8, 11)), rng.randint(1, 28))


def _stamp(day: date) -> str:
    return f"{day.isoformat()}T10:00:00.000+08:00"


def _visit_xml(v: Visit, hh: Household) -> tuple[bytes, str]:
    status = {"case_status": v.status, "risk_changed": "yes" if v.new_risk else "no"}
    if v.new_risk:
        status["risk_level"] = v.new_risk
    answers = {
        "start": _stamp(v.day),
        "visit": {
            "household": hh.uuid,
            "visit_date": v.day.isoformat(),
            "visit_type": "home_visit",
        },
        "dispute": {"dispute_type": "marital"},
        "work": {
            "measures": " ".join(v.measures),
            "work_details": "走访",
            "outcome": v.outcome,
            "needs_followup": "no",
            "next_visit_plan": "",
        },
        "status": status,
    }
    entity = {"dataset": "households", "id": hh.uuid, "update": "1", "baseVersion": hh.version}
    xml, iid = entity_submission("mediation_visit", answers, entity, version=VERSION)
    return xml, iid


@pytest.fixture
def year_of_data(app, world, bundled, send, submit) -> Data:
    """Two years of work in both districts, sent as phones send it; entity times set to
    the days the work was done (the server stamps them when they arrive)."""
    rng = random.Random(11)
    data = Data()
    people = list(VILLAGE)
    # Screenings: a household registered when there is a conflict.
    for n in range(30):
        who = people[n % 3]
        hh = Household(
            f"00000000-0000-4000-8000-{n:012d}",
            who,
            _day(rng),
            rng.random() < 0.7,
            rng.choice(("low", "medium", "high", "serious")),
        )
        answers = screening_answers(
            **{
                "start": _stamp(hh.day),
                "household_info.screening_date": hh.day.isoformat(),
                "situation.has_conflict": "yes" if hh.conflict else "no",
                "risk.risk_level": hh.risk,
            }
        )
        entity = {"dataset": "households", "id": hh.uuid, "create": "1" if hh.conflict else "0"}
        xml, iid = entity_submission(
            "family_screening", answers, entity, label=f"户{n}", version=VERSION
        )
        send(xml, who)
        data.screenings.append(hh)
        data.days[iid] = hh.day
    registered = [h for h in data.screenings if h.conflict]
    # Visits by each household's own mediator.
    for hh in registered:
        for _ in range(rng.randint(0, 3)):
            v = Visit(
                hh,
                hh.who,
                _day(rng),
                rng.choice(("success", "partial", "failed", "referred")),
                rng.sample(
                    ["listened", "mediated", "explained_law", "referred"], rng.randint(1, 2)
                ),
                rng.choice(("following", "paired")),
                rng.choice((None, None, "high", "serious", "low")),
            )
            xml, iid = _visit_xml(v, hh)
            send(xml, v.who)
            hh.version += 1
            data.visits.append(v)
            data.days[iid] = v.day
    # One household of 和平社区 handed to 光明社区's mediator: both visit it in YEAR; a
    # mediator of another district sends a visit that may not change it (refused).
    shared = next(h for h in registered if h.who == "mediator")
    data.shared = shared
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        entity = db.session.scalar(select(Entity).where(Entity.uuid == shared.uuid))
        assign(users["supervisor"], entity, users["mediator2"])
        db.session.commit()
    shared.version += 1
    for who, day, refused in (
        ("mediator", date(YEAR, 3, 3), False),
        ("mediator2", date(YEAR, 9, 9), False),
        ("mediator3", date(YEAR, 4, 4), True),
    ):
        v = Visit(shared, who, day, "success", ["mediated"], "paired", None, refused)
        xml, iid = _visit_xml(v, shared)
        send(xml, who)
        if not refused:
            shared.version += 1
        data.visits.append(v)
        data.days[iid] = day
    # Referrals.
    for hh in rng.sample(registered, 8):
        kind = rng.choice(
            ("complaint_station", "shelter", "injury_assessment", "legal_aid", "court_mediation")
        )
        ref = {
            "hh": hh,
            "who": hh.who,
            "day": _day(rng),
            "type": kind,
            "outcome": rng.choice(("pending", "accepted", "resolved", "declined")),
            "sheltered": rng.randint(1, 4) if kind == "shelter" else None,
        }
        result = {"outcome": ref["outcome"]}
        if ref["sheltered"] is not None:
            result["sheltered_count"] = str(ref["sheltered"])
        answers = {
            "start": _stamp(ref["day"]),
            "referral_info": {
                "household": hh.uuid,
                "referral_type": kind,
                "referral_date": ref["day"].isoformat(),
                "reason": "需要帮助",
            },
            "result": result,
        }
        entity = {"dataset": "households", "id": hh.uuid, "update": "1", "baseVersion": hh.version}
        xml, iid = entity_submission("referral", answers, entity, version=VERSION)
        send(xml, hh.who)
        hh.version += 1
        data.referrals.append(ref)
        data.days[iid] = ref["day"]
    # Legal education and court sittings (plain forms).
    for n in range(10):
        act = {
            "who": people[n % 3],
            "day": _day(rng),
            "kind": rng.choice(("lecture", "mock_court", "quiz", "media", "lecture")),
            "participants": rng.randint(10, 300),
        }
        submit(
            "outreach_activity",
            [
                {
                    "start": _stamp(act["day"]),
                    "activity_date": act["day"].isoformat(),
                    "activity_kind": act["kind"],
                    "place": "活动室",
                    "participants": str(act["participants"]),
                }
            ],
            by=act["who"],
        )
        data.activities.append(act)
    for n in range(8):
        kind = rng.choice(("court_mediation", "assessor"))
        cases = rng.randint(1, 6)
        sit = {
            "who": people[n % 3],
            "day": _day(rng),
            "kind": kind,
            "cases": cases,
            "settled": rng.randint(0, cases) if kind == "court_mediation" else None,
        }
        answers = {
            "start": _stamp(sit["day"]),
            "sitting_date": sit["day"].isoformat(),
            "work_kind": kind,
            "court": "区人民法院",
            "cases_count": str(cases),
        }
        if sit["settled"] is not None:
            answers["mediated_success"] = str(sit["settled"])
        submit("court_work", [answers], by=sit["who"])
        data.sittings.append(sit)
    _stamp_entities(app, data)
    return data


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), TZ).astimezone(UTC)


def _stamp_entities(app, data: Data) -> None:
    """Households registered, and their versions made, on the days the work was done."""
    with app.app_context():
        days = {
            sid: data.days[iid]
            for sid, iid in db.session.execute(select(Submission.id, Submission.instance_id))
            if iid in data.days
        }
        for ver in db.session.scalars(select(EntityVersion)):
            day = days.get(ver.submission_id, date(YEAR, 5, 1))  # the reassignment
            ver.created_at = _noon(day)
        for hh in data.screenings:
            if hh.conflict:
                entity = db.session.scalar(select(Entity).where(Entity.uuid == hh.uuid))
                entity.created_at = _noon(hh.day)
        db.session.commit()


# -- the figures, counted here -----------------------------------------------------------


def expected(data: Data, area: str) -> dict[str, dict[str, float]]:
    """Every default figure for ``area`` (a code: its subtree), counted from what was
    sent: {key: {"value", "mid_year", "previous"}}."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def put(key, day: date, amount: float = 1):
        if day.year == YEAR:
            out[key]["value"] += amount
            if day.month <= 6:
                out[key]["mid_year"] += amount
        elif day.year == PREV:
            out[key]["previous"] += amount

    def inside(who: str) -> bool:
        return VILLAGE[who].startswith(area)

    sets: dict[tuple[str, str], set] = defaultdict(set)

    def distinct(key, day: date, hh: Household):
        if not inside(hh.who):
            return
        if day.year == YEAR:
            sets[(key, "value")].add(hh.uuid)
            if day.month <= 6:
                sets[(key, "mid_year")].add(hh.uuid)
        elif day.year == PREV:
            sets[(key, "previous")].add(hh.uuid)

    for hh in data.screenings:
        if inside(hh.who):
            put("households_screened", hh.day)
            if hh.conflict:
                put("problem_families", hh.day)
                put("households_registered", hh.day)
        if hh.conflict:
            if hh.risk == "high":
                distinct("high_risk_households", hh.day, hh)
            if hh.risk == "serious":
                distinct("serious_hazard_households", hh.day, hh)
    for v in data.visits:
        if inside(v.who):
            put("visits", v.day)
            if "mediated" in v.measures or v.outcome in ("success", "partial", "failed"):
                put("disputes_mediated", v.day)
            if v.outcome == "success":
                put("disputes_mediated_success", v.day)
        if v.refused:
            continue
        distinct("households_visited", v.day, v.hh)
        if v.status == "paired":
            distinct("households_paired", v.day, v.hh)
        if v.new_risk == "high":
            distinct("high_risk_households", v.day, v.hh)
        if v.new_risk == "serious":
            distinct("serious_hazard_households", v.day, v.hh)
    for r in data.referrals:
        if inside(r["who"]):
            put("referrals", r["day"])
            put(f"referrals_{r['type']}", r["day"])
            put(f"referrals_{r['outcome']}", r["day"])
            if r["type"] == "shelter":
                put("people_sheltered", r["day"], r["sheltered"])
    for a in data.activities:
        if inside(a["who"]):
            put("outreach_sessions", a["day"])
            put("outreach_people_reached", a["day"], a["participants"])
            if a["kind"] == "lecture":
                put("outreach_lectures", a["day"])
            if a["kind"] == "mock_court":
                put("outreach_mock_courts", a["day"])
    for s in data.sittings:
        if inside(s["who"]):
            put("court_cases_sat", s["day"], s["cases"])
            if s["kind"] == "court_mediation":
                put("court_mediation_sittings", s["day"])
                put("court_cases_settled", s["day"], s["settled"])
            else:
                put("assessor_sittings", s["day"])
    for (key, attr), found in sets.items():
        out[key][attr] = len(found)
    return {k: dict(v) for k, v in out.items()}


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _area(code: str):
    from fieldapp.areas.services import get_area

    return get_area(code)


def _numbers(figs) -> dict[str, dict[str, float]]:
    return {
        f.key: {"value": f.value, "mid_year": f.mid_year, "previous": f.previous}
        for f in figs.figures
    }


def _same(got: dict, want: dict) -> None:
    for key, numbers in got.items():
        for attr in ("value", "mid_year", "previous"):
            assert numbers[attr] == want.get(key, {}).get(attr, 0), (key, attr)


# -- the stories -------------------------------------------------------------------------


def test_every_figure_matches_what_was_sent(app, year_of_data):
    keys = {f["key"] for f in read_defaults()}
    with app.app_context():
        admin = _user("admin")
        for code in ("3399", "339901", "339902", "339901001", "339901001002"):
            figs = compute(admin, YEAR, _area(code))
            got = _numbers(figs)
            assert set(got) == keys and not [f.problem for f in figs.figures if f.problem]
            _same(got, expected(year_of_data, code))
        # The district table: each child's numbers are those of the child itself.
        city = compute(admin, YEAR, _area("3399"))
        assert [a.code for a in city.children] == ["339901", "339902"]
        for child in city.children:
            want = expected(year_of_data, child.code)
            for f in city.figures:
                assert f.child(child.id).value == want.get(f.key, {}).get("value", 0), f.key
    # The data is not trivial: both years, both halves, every group has numbers.
    city_numbers = expected(year_of_data, "3399")
    for key in ("visits", "households_paired", "referrals", "outreach_people_reached"):
        assert city_numbers[key]["value"] and city_numbers[key]["previous"], key
    assert 0 < city_numbers["visits"]["mid_year"] < city_numbers["visits"]["value"]


def _screening_xml(hh: Household) -> tuple[bytes, str]:
    answers = screening_answers(
        **{
            "start": _stamp(hh.day),
            "household_info.screening_date": hh.day.isoformat(),
            "situation.has_conflict": "yes",
            "risk.risk_level": hh.risk,
        }
    )
    entity = {"dataset": "households", "id": hh.uuid, "create": "1"}
    return entity_submission("family_screening", answers, entity, label="新户", version=VERSION)


def _delta(before: dict, after: dict) -> dict[str, float]:
    """Each figure's change of ``value`` (only those that changed)."""
    keys = set(before) | set(after)
    changed = {k: after[k]["value"] - before[k]["value"] for k in keys}
    return {k: v for k, v in changed.items() if v}


def _tallies_agree_with_the_facts() -> None:
    """The tallies the page reads are exactly the facts added up (none left over)."""
    from fieldapp.figures.models import FigureFact, FigureHousehold, FigureTally

    distinct = {
        d.id
        for d in db.session.scalars(select(FigureDefinition))
        if d.aggregate == "distinct_households"
    }
    tallies, households = defaultdict(lambda: [0.0, 0]), defaultdict(int)
    for f in db.session.scalars(select(FigureFact)):
        if f.definition_id in distinct:
            households[
                (f.definition_id, f.entity_id, f.day.year * 2 + (f.day.month > 6), f.area_id)
            ] += 1
        else:
            tally = tallies[(f.definition_id, f.day.replace(day=1), f.area_id)]
            tally[0] += f.amount
            tally[1] += 1
    stored = {
        (t.definition_id, t.month, t.area_id): [t.amount, t.facts]
        for t in db.session.scalars(select(FigureTally))
    }
    assert stored == {k: v for k, v in tallies.items()}
    stored = {
        (h.definition_id, h.entity_id, h.half, h.area_id): h.facts
        for h in db.session.scalars(select(FigureHousehold))
    }
    assert stored == dict(households)


def test_the_figures_follow_the_work_that_arrives_after_they_were_read(app, year_of_data, send):
    """The figures add up facts kept per submission and household version; what arrives
    after they were read (a household and its visit, an edit of that visit, a visit held
    until its household is registered, a case closed) is taken in when they are read
    again, and an edited definition is built again from every row."""
    city = "3399"

    def numbers():
        with app.app_context():
            return _numbers(compute(_user("admin"), YEAR, _area(city)))

    before = numbers()
    _same(before, expected(year_of_data, city))
    day = date(YEAR, 10, 10)
    hh = Household("00000000-0000-4000-8000-00000000aaaa", "mediator", day, True, "low")
    send(_screening_xml(hh)[0], "mediator")
    visit = Visit(hh, "mediator", day, "failed", ["listened"], "following", None)
    xml, visit_id = _visit_xml(visit, hh)
    send(xml, "mediator")
    hh.version += 1
    after = numbers()
    assert _delta(before, after) == {
        "households_screened": 1,
        "problem_families": 1,
        "households_registered": 1,
        "visits": 1,
        "disputes_mediated": 1,
        "households_visited": 1,
    }
    # The mediator corrects the visit (an edit: meta/deprecatedID): a success after all.
    visit.outcome = "success"
    xml, _iid = _visit_xml(visit, hh)
    xml = xml.replace(b"<meta>", f"<meta><deprecatedID>{visit_id}</deprecatedID>".encode())
    send(xml, "mediator")
    edited = numbers()
    assert _delta(after, edited) == {"disputes_mediated_success": 1}
    # A visit sent offline before its household was registered is held: no household
    # counted until the registration arrives and the visit is applied.
    late = Household("00000000-0000-4000-8000-00000000bbbb", "mediator2", day, True, "low")
    early = Visit(late, "mediator2", day, "partial", ["mediated"], "paired", None)
    send(_visit_xml(early, late)[0], "mediator2")
    held = numbers()
    assert _delta(edited, held) == {"visits": 1, "disputes_mediated": 1}
    send(_screening_xml(late)[0], "mediator2")
    registered = numbers()
    assert _delta(held, registered) == {
        "households_screened": 1,
        "problem_families": 1,
        "households_registered": 1,
        "households_visited": 1,
        "households_paired": 1,
    }
    # An admin adds a figure on the households' current state, then edits "visits".
    with app.app_context():
        admin = _user("admin")
        closed = FigureDefinition(key="closed_cases")
        values = {"label": "结案户数", "group": "测试", "source": "households"}
        values |= {"condition": "case_status = 'closed'", "aggregate": "count"}
        values |= {"date_field": "", "position": 999, "active": True}
        assert save(admin.id, closed, values, new=True) == []
        visits = db.session.scalar(select(FigureDefinition).where(FigureDefinition.key == "visits"))
        assert save(admin.id, visits, {"condition": "outcome = 'success'"}) == []
        db.session.commit()
    edited_defs = numbers()
    assert edited_defs["closed_cases"]["value"] == 0
    assert edited_defs["visits"]["value"] == edited_defs["disputes_mediated_success"]["value"]
    with app.app_context():
        entity = db.session.scalar(select(Entity).where(Entity.uuid == late.uuid))
        close_case(_user("supervisor"), entity, "已解决")
        db.session.commit()
    assert _delta(edited_defs, numbers()) == {"closed_cases": 1}
    with app.app_context():
        _tallies_agree_with_the_facts()


def test_the_worker_keeps_the_facts_so_that_a_read_has_nothing_left_to_do(app, year_of_data, send):
    """The background worker's kind ``figure-facts`` takes in what arrived (in batches);
    the figures read afterwards take nothing in and give the same numbers."""
    from fieldapp.figures import facts
    from fieldapp.worker import kinds

    with app.app_context():
        kind = next(k for k in kinds() if k.name == "figure-facts")
        monkey = facts.WORKER_BATCH
        facts.WORKER_BATCH = 7  # several turns
        try:
            turns = 1
            while kind.run(app, "test"):
                turns += 1
        finally:
            facts.WORKER_BATCH = monkey
        assert turns > 3
        assert not db.session.scalar(
            select(func.count()).select_from(Submission).where(Submission.in_figures.is_(False))
        )
        statements = []
        listen = lambda *a: statements.append(a[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            got = _numbers(compute(_user("admin"), YEAR, _area("3399")))
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        assert not [s for s in statements if s.lstrip().upper().startswith("INSERT")]
        _same(got, expected(year_of_data, "3399"))
        _tallies_agree_with_the_facts()


def test_a_household_visited_from_two_villages_is_counted_once(app, year_of_data):
    shared = year_of_data.shared
    with app.app_context():
        town = _area("339901001")
        figs = compute(_user("admin"), YEAR, town)
        visited = next(f for f in figs.figures if f.key == "households_visited")
        visits = next(f for f in figs.figures if f.key == "visits")
        home, other = _area("339901001001"), _area("339901001002")
        # Two visits made from two villages, one household: in its own village only.
        mine = [v for v in year_of_data.visits if v.hh is shared and not v.refused]
        assert {v.who for v in mine} == {"mediator", "mediator2"}
        assert visited.value == visited.child(home.id).value + visited.child(other.id).value
        want = expected(year_of_data, "339901001")["households_visited"]["value"]
        assert visited.value == want
        assert (
            visits.child(other.id).value
            == expected(year_of_data, "339901001002")["visits"]["value"]
        )
        in_other = expected(year_of_data, "339901001002")["households_visited"]["value"]
        assert visited.child(other.id).value == in_other  # the shared one is not there
        # The visit from another district changed nothing: no household counted there.
        west = compute(_user("admin"), YEAR, _area("339902"))
        assert (
            next(f for f in west.figures if f.key == "households_visited").value
            == (expected(year_of_data, "339902")["households_visited"]["value"])
        )


def test_a_district_supervisor_sees_only_their_district(app, client, world, year_of_data):
    switch_user(client, world.supervisor)
    page = client.get(f"/figures/?year={YEAR}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "东城区" in html and "年度数据" in html
    want = expected(year_of_data, "339901")
    shown = _page_values(html)
    assert shown == {k: want.get(k, {}).get("value", 0) for k in shown}
    assert client.get(f"/figures/?year={YEAR}&area=339902").status_code == 404
    assert client.get(f"/figures/?year={YEAR}&area=3399").status_code == 404
    assert client.get(f"/figures/export.xlsx?year={YEAR}&area=339902").status_code == 404
    with app.app_context():
        with pytest.raises(FiguresError):
            compute(_user("supervisor"), YEAR, _area("3399"))
    # The city admin sees the sum of the two districts (a household has one district).
    switch_user(client, world.admin)
    city = _page_values(client.get(f"/figures/?year={YEAR}&area=3399").get_data(as_text=True))
    east, west = expected(year_of_data, "339901"), expected(year_of_data, "339902")
    for key, value in city.items():
        assert value == east.get(key, {}).get("value", 0) + west.get(key, {}).get("value", 0), key
    # Mediators have no figures page, nor the link to it.
    switch_user(client, world.mediator)
    assert client.get("/figures/").status_code == 403
    assert "年度数据" not in client.get("/cases/").get_data(as_text=True)


def _page_values(html: str) -> dict[str, float]:
    """Each figure's value on the figures page (``data-value`` of its row)."""
    rows = re.findall(r'<tr id="fig-([a-z0-9_]+)".*?data-value="([0-9.]+)"', html, re.S)
    return {key: float(value) for key, value in rows}


def test_bad_year_and_area_get_a_message(client, world, year_of_data):
    switch_user(client, world.admin)
    resp = client.get("/figures/?year=二〇二六")
    assert resp.status_code == 400 and "年份应为" in resp.get_data(as_text=True)
    resp = client.get("/figures/?year=1800")
    assert resp.status_code == 400
    assert client.get("/figures/?area=nope").status_code == 404


def test_targets_and_progress(app, client, world, year_of_data):
    switch_user(client, world.admin)
    with app.app_context():
        east, west = _area("339901"), _area("339902")
        east_id, west_id = east.id, west.id
    page = client.get(f"/figures/targets?year={YEAR}")
    assert page.status_code == 200 and "西山县" in page.get_data(as_text=True)
    token = csrf_token(client, f"/figures/targets?year={YEAR}")
    # A bad number refuses the whole table and says where.
    resp = client.post(
        f"/figures/targets?year={YEAR}",
        data={
            "csrf_token": token,
            f"t-{east_id}-visits": "40",
            f"t-{west_id}-visits": "四十",
        },
    )
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "西山县" in body and "不是数字" in body and 'aria-invalid="true"' in body
    assert (
        client.post(
            f"/figures/targets?year={YEAR}", data={"csrf_token": token, f"t-{east_id}-visits": "-3"}
        ).status_code
        == 400
    )
    with app.app_context():
        assert db.session.scalar(select(FigureTarget)) is None
    resp = client.post(
        f"/figures/targets?year={YEAR}",
        data={
            "csrf_token": token,
            f"t-{east_id}-visits": "40",
            f"t-{east_id}-households_paired": "１,０",  # typed with a Chinese input method
            f"t-{west_id}-visits": "",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        saved = {
            (t.area_id, t.figure_key): t.value for t in db.session.scalars(select(FigureTarget))
        }
        assert saved == {(east_id, "visits"): 40, (east_id, "households_paired"): 10}
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "figure_targets_update")
        )
        assert event is not None and event.detail["year"] == YEAR
    # The figures page shows the district's progress: mid-year against half the target.
    want = expected(year_of_data, "339901")["visits"]
    html = client.get(f"/figures/?year={YEAR}&area=3399").get_data(as_text=True)
    block = html.split('data-district="339901"')[1].split("</table>")[0]
    row = block.split('data-key="visits"')[1].split("</tr>")[0]
    assert f"{want['mid_year'] / 20 * 100:.1f}%" in row
    assert f"{want['value'] / 40 * 100:.1f}%" in row
    assert ">20<" in row and ">40<" in row  # half the target and the target, both shown
    assert 'data-district="339902"' not in html  # no targets there
    # The district's own page shows its progress too; the supervisor may not set targets.
    switch_user(client, world.supervisor)
    assert 'data-district="339901"' in client.get(f"/figures/?year={YEAR}").get_data(as_text=True)
    assert client.get(f"/figures/targets?year={YEAR}").status_code == 403


def test_cli_page_and_xlsx_give_the_same_numbers(
    app, client, world, runner, monkeypatch, tmp_path, year_of_data
):
    from fieldapp.cli import main

    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.instance_path)
    result = runner.invoke(main, ["figures", str(YEAR), "--area", "339901", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    cli = {f["key"]: f["value"] for f in doc["figures"]}
    switch_user(client, world.admin)
    page = _page_values(client.get(f"/figures/?year={YEAR}&area=339901").get_data(as_text=True))
    assert page == cli
    resp = client.get(f"/figures/export.xlsx?year={YEAR}&area=339901")
    assert resp.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).worksheets[0]
    head = [c.value for c in sheet[1]]
    xlsx = {
        row[head.index("编号")]: row[head.index("本年")]
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert xlsx == cli
    want = expected(year_of_data, "339901")
    assert cli == {k: want.get(k, {}).get("value", 0) for k in cli}
    # CSV to a file and XLSX to standard output.
    out = tmp_path / "f.csv"
    result = runner.invoke(main, ["figures", str(YEAR), "--area", "339901", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    assert text.startswith("组别,编号,指标") and "visits" in text
    result = runner.invoke(main, ["figures", str(YEAR), "--format", "xlsx", "-o", "-"])
    assert result.exit_code == 0 and result.stdout_bytes[:2] == b"PK"
    result = runner.invoke(main, ["figures", "20x6"])
    assert result.exit_code != 0 and "年份应为" in result.output
    result = runner.invoke(main, ["figures", str(YEAR), "--area", "0000"])
    assert result.exit_code == 1 and "没有区划 0000" in result.output
    with app.app_context():
        via = [
            e.detail.get("via")
            for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "figures_export")
            )
        ]
        assert "cli" in via and "web" in via


def test_xlsx_text_is_never_a_formula(app, client, world, year_of_data):
    label = '=HYPERLINK("http://x")'
    with app.app_context():
        load_defaults()
        defn = db.session.scalar(select(FigureDefinition).where(FigureDefinition.key == "visits"))
        defn.label = label
        db.session.commit()
    switch_user(client, world.admin)
    resp = client.get(f"/figures/export.xlsx?year={YEAR}")
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    cells = [c for row in wb.worksheets[0].iter_rows() for c in row if c.value == label]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)


# -- the condition language and the definitions ---------------------------------------


@pytest.mark.parametrize(
    ("text", "answers", "holds"),
    [
        ("", {}, True),
        ("has_conflict = 'yes'", {"has_conflict": ["yes"]}, True),
        ("has_conflict != 'yes'", {}, True),
        ("outcome in ('success', 'partial')", {"outcome": ["partial"]}, True),
        ("outcome not in ('success', 'partial')", {"outcome": ["failed"]}, True),
        ("selected(measures, 'mediated')", {"measures": ["listened mediated"]}, True),
        ("selected(measures, 'mediated')", {"measures": ["listened"]}, False),
        ("participants >= 50 and participants < 100", {"participants": ["50"]}, True),
        ("participants > 50", {"participants": ["many"]}, False),
        ("member_age < 18", {"member_age": ["41", "15"]}, True),  # a repeat: any instance
        ("not (a = 'x' or b = 'y') and c = 3", {"c": ["3.0"]}, True),
        ("visit_date >= '2026-07-01'", {"visit_date": ["2026-09-09"]}, True),
        ("（risk_level ＝ ‘high’） OR risk_level = 'serious'", {"risk_level": ["high"]}, True),
        ("note = 'it''s'", {"note": ["it's"]}, True),
    ],
)
def test_conditions_that_parse(app, text, answers, holds):
    with app.test_request_context():
        assert parse(text).holds(lambda name: answers.get(name, [])) is holds


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("has_conflict = yes", 16, "带引号"),
        ("has_conflict = 'yes", 16, "引号"),
        ("(a = 'x'", 9, "右括号"),
        ("a = 'x' b = 'y'", 9, "and / or"),
        ("a = 'x' and", 12, "题目名称"),
        ("a ; 'x'", 3, "无法识别"),
        ("selected(a)", 11, "逗号"),
        ("a >", 4, "结尾"),
        ("import os", 8, "比较符号"),
    ],
)
def test_conditions_that_do_not_parse_say_where(app, text, position, words):
    with app.test_request_context():
        with pytest.raises(ConditionError) as caught:
            parse(text)
        assert caught.value.position == position
        assert words in str(caught.value) and f"第 {position} 个字符" in str(caught.value)


def test_the_city_admin_edits_definitions(app, client, world, year_of_data):
    switch_user(client, world.admin)
    listing = client.get("/figures/definitions")
    assert listing.status_code == 200 and "households_paired" in listing.get_data(as_text=True)
    url = "/figures/definitions/visits"
    token = csrf_token(client, url)
    form = {
        "csrf_token": token,
        "label": "走访次数（上门）",
        "group": "走访调解",
        "source": "mediation_visit",
        "condition": "visit_type = 'home_visit' and",
        "aggregate": "count",
        "date_field": "visit_date",
        "position": "60",
        "active": "y",
    }
    resp = client.post(url, data=form)
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "走访次数（上门）" in body and "visits" in body and "第 30 个字符" in body
    resp = client.post(url, data={**form, "condition": "visit_kind = 'home_visit'"})
    assert resp.status_code == 400 and "没有 visit_kind" in resp.get_data(as_text=True)
    form["condition"] = "visit_type = 'home_visit'"
    resp = client.post(url, data={**form, "aggregate": "sum:"})
    assert resp.status_code == 400 and "汇总方式" in resp.get_data(as_text=True)
    resp = client.post(url, data={**form, "aggregate": "sum:hours"})
    assert resp.status_code == 400 and "没有 hours" in resp.get_data(as_text=True)
    resp = client.post(url, data={**form, "date_field": "member_age"})
    assert resp.status_code == 400 and "没有 member_age" in resp.get_data(as_text=True)
    resp = client.post(url, data={**form, "position": "first"})
    assert resp.status_code == 400 and "排序应为整数" in resp.get_data(as_text=True)
    resp = client.post(url, data={**form, "condition": "visit_type = 'home_visit'"})
    assert resp.status_code == 302
    with app.app_context():
        defn = db.session.scalar(select(FigureDefinition).where(FigureDefinition.key == "visits"))
        assert defn.label == "走访次数（上门）" and defn.condition == "visit_type = 'home_visit'"
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "figure_definition_update")
        )
        assert event.object == "figure:visits" and "condition" in event.detail["changed"]
    html = client.get(f"/figures/?year={YEAR}").get_data(as_text=True)
    assert "走访次数（上门）" in html
    # A new figure, from data: quizzes held.
    token = csrf_token(client, "/figures/definitions/new")
    resp = client.post(
        "/figures/definitions/new",
        data={
            **form,
            "csrf_token": token,
            "key": "outreach_quizzes",
            "label": "家庭法律知识竞赛场次",
            "group": "法制宣传",
            "source": "outreach_activity",
            "condition": "activity_kind = 'quiz'",
            "date_field": "activity_date",
            "position": "245",
        },
    )
    assert resp.status_code == 302
    quizzes = sum(
        1 for a in year_of_data.activities if a["kind"] == "quiz" and a["day"].year == YEAR
    )
    assert (
        _page_values(client.get(f"/figures/?year={YEAR}").get_data(as_text=True))[
            "outreach_quizzes"
        ]
        == quizzes
    )
    # Deactivated: no longer computed nor shown.
    token = csrf_token(client, "/figures/definitions/outreach_quizzes")
    resp = client.post(
        "/figures/definitions/outreach_quizzes",
        data={
            **form,
            "csrf_token": token,
            "source": "outreach_activity",
            "condition": "",
            "date_field": "activity_date",
            "active": "",
        },
    )
    assert resp.status_code == 302
    assert "outreach_quizzes" not in _page_values(
        client.get(f"/figures/?year={YEAR}").get_data(as_text=True)
    )
    # Others may not edit definitions.
    switch_user(client, world.supervisor)
    assert client.get("/figures/definitions").status_code == 403


def test_defaults_load_once_and_keep_an_admins_edits(app, runner, monkeypatch):
    from fieldapp.cli import main

    shipped = read_defaults()
    with app.app_context():
        assert load_defaults() == (len(shipped), 0)
        defn = db.session.scalar(select(FigureDefinition).where(FigureDefinition.key == "visits"))
        defn.label = "改过的名称"
        db.session.commit()
    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.instance_path)
    result = runner.invoke(main, ["figures", "load-defaults"])
    assert result.exit_code == 0 and "新增 0 个指标" in result.output
    with app.app_context():
        assert (
            db.session.scalar(
                select(FigureDefinition.label).where(FigureDefinition.key == "visits")
            )
            == "改过的名称"
        )
    result = runner.invoke(main, ["figures", "load-defaults", "--replace"])
    assert result.exit_code == 0 and f"覆盖 {len(shipped)} 个指标" in result.output
    with app.app_context():
        assert (
            db.session.scalar(
                select(FigureDefinition.label).where(FigureDefinition.key == "visits")
            )
            == "走访次数"
        )


def test_two_workers_loading_the_defaults_at_once_both_go_on(app):
    """A new instance's first start: two background workers find no definition and load
    the shipped ones at the same moment. The one whose insert comes second meets the
    other's rows; it goes on with them instead of failing."""
    from fieldapp.figures.definitions import all_definitions

    from sqlalchemy.orm import Session

    columns = [c.key for c in FigureDefinition.__table__.columns if c.key != "id"]
    first = []

    def the_other_worker_commits_first(session, flush_context, instances):
        mine = [obj for obj in session.new if isinstance(obj, FigureDefinition)]
        if mine and not first:
            first.append(len(mine))
            with Session(db.engine) as other:
                other.add_all(
                    FigureDefinition(
                        **{k: getattr(o, k) for k in columns if getattr(o, k) is not None}
                    )
                    for o in mine
                )
                other.commit()

    with app.app_context():
        event.listen(db.session, "before_flush", the_other_worker_commits_first)
        try:
            keys = [d.key for d in all_definitions()]
        finally:
            event.remove(db.session, "before_flush", the_other_worker_commits_first)
        assert first == [len(read_defaults())]
        assert sorted(keys) == sorted(f["key"] for f in read_defaults())
        assert db.session.scalar(select(func.count()).select_from(FigureDefinition)) == len(keys)


def test_every_shipped_definition_is_valid_for_the_bundled_forms(app, bundled):
    from fieldapp.figures.definitions import validate

    with app.app_context():
        load_defaults()
        for defn in db.session.scalars(select(FigureDefinition)):
            assert validate(defn) == [], defn.key


def test_a_form_not_yet_published_gives_zero_and_says_why(app, world, publish):
    publish(BUNDLED_FORMS / "family_screening.xlsx")
    with app.app_context():
        figs = compute(_user("admin"), YEAR, _area("3399"))
        court = next(f for f in figs.figures if f.key == "court_cases_sat")
        assert court.value == 0 and "court_work" in court.problem


def test_query_count_does_not_grow_with_the_data(app, world, year_of_data, send):
    def statements() -> int:
        count = [0]

        def tick(*_a, **_k):
            count[0] += 1

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", tick)
            try:
                compute(_user("admin"), YEAR, _area("3399"))
            finally:
                event.remove(db.engine, "before_cursor_execute", tick)
        return count[0]

    def screenings(first: int, n: int) -> None:  # more households screened by everyone
        for i in range(first, first + n):
            hh = f"11111111-0000-4000-8000-{i:012d}"
            answers = screening_answers(
                **{"household_info.screening_date": f"{YEAR}-03-0{i % 9 + 1}"}
            )
            xml, _ = entity_submission(
                "family_screening",
                answers,
                {"dataset": "households", "id": hh, "create": "1"},
                label="新户",
                version=VERSION,
            )
            send(xml, list(VILLAGE)[i % 3])

    statements()  # the first use loads the shipped definitions and builds the facts
    before = statements()
    screenings(0, 1)
    taking_in_one = statements()  # what arrived is taken in first
    screenings(1, 15)
    assert statements() == taking_in_one  # whatever the number of rows taken in
    assert statements() == before <= 20
