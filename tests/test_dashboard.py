"""A researcher opens a form's dashboard: counts over time and by area, the distribution of
every select question and numeric summaries, filtered like exports and limited to what
the viewer may see; only counts leave the server."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from fieldapp.audit.models import AuditEvent
from fieldapp.dashboard.stats import MAX_DISTINCT, NumericSummary, time_series
from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from fieldapp.surveys.models import FormVersion
from tests.helpers import (
    ALL_FORMS,
    SCREENING,
    fill_every_question,
    form_schema,
    login,
    screening_answers,
)

URL = "/data/family_screening/dashboard"


def _member(relation: str, sex: str, age: str) -> dict:
    minor = "1" if int(age) < 18 else "0"
    return {
        "member_name": f"成员{age}",
        "relation": relation,
        "member_sex": sex,
        "member_age": age,
        "is_minor": minor,
    }


@pytest.fixture
def households(app, world, submit):
    """Three households from three villages, received on three local days (Beijing time):

    - 和平社区 (mediator), 2026-11-20: members head ♀ 41 and child ♀ 15; conflict
      "family_conflict dv"; risk high; referral "legal_aid shelter"
    - 光明社区 (mediator2), 2026-11-21 23:30: head ♂ 70; no conflict; risk low; no referral
    - 柳树村 (mediator3, 西山县), 2026-11-22 01:00: head ♀ 30 and child ♂ 8; conflict
      "dv gambling"; risk medium; referral "police"
    """
    sent = [
        (world.mediator, screening_answers(), datetime(2026, 11, 20, 1, 0, tzinfo=UTC)),
        (
            world.mediator2,
            screening_answers(
                **{
                    "household.household_members": [_member("head", "male", "70")],
                    "situation.has_conflict": "no",
                    "situation.conflict_types": "",
                    "risk.risk_level": "low",
                    "risk.referral": "none",
                }
            ),
            datetime(2026, 11, 21, 15, 30, tzinfo=UTC),
        ),
        (
            world.mediator3,
            screening_answers(
                **{
                    "household.household_members": [
                        _member("head", "female", "30"),
                        _member("child", "male", "8"),
                    ],
                    "situation.conflict_types": "dv gambling",
                    "risk.risk_level": "medium",
                    "risk.referral": "police",
                }
            ),
            datetime(2026, 11, 21, 17, 0, tzinfo=UTC),
        ),
    ]
    ids = submit(SCREENING, [answers for _, answers, _ in sent], by=[who for who, _, _ in sent])
    with app.app_context():
        for iid, (_, _, received) in zip(ids, sent, strict=True):
            db.session.execute(
                update(Submission).where(Submission.instance_id == iid).values(received_at=received)
            )
        db.session.commit()
    return world


def _summary(client, who: str, query: str = "", status: int = 200) -> dict:
    login(client, who)
    resp = client.get(f"{URL}.json{query}")
    assert resp.status_code == status, resp.data
    return resp.get_json()


def _choices(summary: dict, name: str) -> tuple[int, dict[str, int]]:
    q = next(q for q in summary["selects"] if q["name"] == name)
    return q["answered"], {c["code"]: c["count"] for c in q["choices"]}


def _numbers(summary: dict, name: str) -> dict:
    return next(q for q in summary["numbers"] if q["name"] == name)


def test_researcher_sees_counts_of_every_choice_and_member_ages(client, households):
    s = _summary(client, households.researcher)
    assert s["total"] == 3
    assert _choices(s, "situation/has_conflict") == (3, {"yes": 2, "no": 1})
    # select_multiple: each chosen choice counts; every choice of the list is listed
    answered, conflicts = _choices(s, "situation/conflict_types")
    assert answered == 2
    assert conflicts == {
        "family_conflict": 1,
        "dv": 2,
        "gambling": 1,
        "drugs": 0,
        "marital": 0,
        "elder_support": 0,
        "other": 0,
    }
    assert _choices(s, "risk/referral")[1]["legal_aid"] == 1
    assert _choices(s, "risk/referral")[1]["none"] == 1
    # inside the repeat: once per household member
    assert _choices(s, "household/household_members/relation") == (
        5,
        {
            "head": 3,
            "spouse": 0,
            "child": 2,
            "child_in_law": 0,
            "grandchild": 0,
            "parent": 0,
            "parent_in_law": 0,
            "sibling": 0,
            "other_relative": 0,
            "non_relative": 0,
        },
    )
    assert _choices(s, "household/household_members/member_sex")[1] == {"female": 3, "male": 2}
    age = _numbers(s, "household/household_members/member_age")
    assert age == {
        "name": "household/household_members/member_age",
        "label": "年龄（周岁）",
        "type": "integer",
        "in_repeat": True,
        "n": 5,
        "mean": pytest.approx(32.8),
        "median": 30,
        "min": 8,
        "max": 70,
        "approximate": False,
    }
    assert [q["name"] for q in s["numbers"]] == ["household/household_members/member_age"]


def test_labels_are_in_the_forms_default_language_or_the_one_asked_for(client, households):
    s = _summary(client, households.researcher)
    q = next(q for q in s["selects"] if q["name"] == "risk/risk_level")
    assert q["label"] == "风险等级"
    assert [(c["label"], c["count"]) for c in q["choices"]] == [
        ("低", 1),
        ("中", 1),
        ("高", 1),
        ("重大隐患", 0),
    ]
    s = _summary(client, households.researcher, "?lang=English (en)")
    q = next(q for q in s["selects"] if q["name"] == "risk/risk_level")
    assert q["label"] == "Risk level"
    assert [c["label"] for c in q["choices"]][0] == "Low"


def test_by_area_counts_each_submission_to_the_child_area_it_lies_under(client, households):
    s = _summary(client, households.researcher)
    assert s["by_area"]["name"] == "示例市"
    assert [(a["name"], a["count"]) for a in s["by_area"]["areas"]] == [
        ("东城区", 2),
        ("西山县", 1),
    ]
    # narrowed to a district: its towns
    s = _summary(client, households.researcher, "?area=339901")
    assert s["total"] == 2
    assert [(a["name"], a["count"]) for a in s["by_area"]["areas"]] == [("新华街道", 2)]


def test_over_time_counts_per_local_day_and_per_week_for_a_long_range(client, households):
    s = _summary(client, households.researcher)
    # 15:30 and 17:00 UTC on the 21st are the 21st and the 22nd in Beijing
    assert s["over_time"] == {
        "unit": "day",
        "labels": ["2026-11-20", "2026-11-21", "2026-11-22"],
        "counts": [1, 1, 1],
    }
    s = _summary(client, households.researcher, "?from=2026-11-18&to=2026-11-23")
    assert s["over_time"]["labels"][0] == "2026-11-18"
    assert s["over_time"]["counts"] == [0, 0, 1, 1, 1, 0]
    s = _summary(client, households.researcher, "?from=2026-09-01&to=2026-12-31")
    weeks = s["over_time"]
    assert weeks["unit"] == "week"
    assert weeks["labels"][0] == "2026-08-31"  # the Monday of the week of Sept 1st
    per_week = dict(zip(weeks["labels"], weeks["counts"], strict=True))
    assert per_week["2026-11-16"] == 3  # Fri 20th, Sat 21st, Sun 22nd
    assert sum(weeks["counts"]) == 3


@pytest.mark.parametrize(
    ("query", "total"),
    [
        ("?from=2026-11-21&to=2026-11-21", 1),
        ("?from=2026-11-21", 2),
        ("?to=2026-11-20", 1),
        ("?area=339901001002", 1),
        ("?submitter=mediator3", 1),
        ("?version=2026120201", 3),
        ("?version=1999", 0),
    ],
)
def test_filters_narrow_the_aggregates(client, households, query, total):
    s = _summary(client, households.researcher, query)
    assert s["total"] == total
    assert sum(s["over_time"]["counts"]) == total
    assert sum(a["count"] for a in s["by_area"]["areas"]) == total


def test_filtered_member_ages_follow_the_filter(client, households):
    s = _summary(client, households.researcher, "?submitter=mediator3")
    age = _numbers(s, "household/household_members/member_age")
    assert (age["n"], age["mean"], age["median"], age["min"], age["max"]) == (2, 19, 19, 8, 30)
    assert _choices(s, "situation/has_conflict") == (1, {"yes": 1, "no": 0})


def test_supervisor_counts_only_their_district(client, households):
    s = _summary(client, households.supervisor)
    assert s["total"] == 2  # not the 柳树村 household in 西山县
    assert _choices(s, "situation/conflict_types")[1]["gambling"] == 0
    age = _numbers(s, "household/household_members/member_age")
    assert (age["n"], age["median"], age["min"], age["max"]) == (3, 41, 15, 70)
    assert s["by_area"]["name"] == "东城区"
    assert [(a["name"], a["count"]) for a in s["by_area"]["areas"]] == [("新华街道", 2)]
    # naming an area outside the district is refused, not silently empty
    err = _summary(client, households.supervisor, "?area=339902001001", status=400)
    assert "不在您的范围内" in err["error"]["message"]


@pytest.mark.parametrize("who", ["mediator", "mediator3"])
def test_mediators_may_not_open_the_dashboard(client, households, who):
    login(client, getattr(households, who))
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}.json").status_code == 403


def test_a_form_outside_the_viewers_scope_is_not_found(client, world, publish):
    publish(SCREENING, area_code="339902")  # 西山县 only
    login(client, world.supervisor)
    assert client.get(URL).status_code == 404
    resp = client.get(f"{URL}.json")
    assert resp.status_code == 404
    assert "找不到问卷" in resp.get_json()["error"]["message"]
    assert client.get("/data/no_such_form/dashboard").status_code == 404


def test_a_bad_date_is_refused_with_a_message_in_chinese(client, households):
    err = _summary(client, households.researcher, "?from=2026-13-01", status=400)
    assert err["error"]["message"] == "日期 2026-13-01 格式不正确，应为 2026-01-31"
    err = _summary(client, households.researcher, "?from=2026-11-30&to=2026-11-01", status=400)
    assert err["error"]["message"] == "开始日期晚于结束日期"
    page = client.get(f"{URL}?to=31/01/2026")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "日期 31/01/2026 格式不正确" in html
    assert 'value="31/01/2026"' in html  # kept in the box to correct it


def test_only_counts_leave_the_server_and_the_read_is_audited(app, client, households):
    login(client, households.researcher)
    resp = client.get(f"{URL}.json?area=339901")
    text = resp.get_data(as_text=True)
    for identifying in ("李梅", "13812345678", "和平社区3栋12号", "王芳", "uuid:", "mediator"):
        assert identifying not in text
    assert resp.headers["Cache-Control"] == "no-store"
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "view_dashboard")
        ).all()
    assert len(events) == 1
    assert events[0].object == "form:family_screening"
    assert events[0].detail == {"filters": {"area": "339901"}, "rows": 2}


def test_questions_marked_as_identifying_are_left_out(app, client, households):
    with app.app_context():
        fv = db.session.scalars(select(FormVersion)).one()
        marks = {
            **(fv.schema.get("identifiers") or {}),
            "member_age": "remove",
            "relation": "remove",
        }
        fv.schema = {**fv.schema, "identifiers": marks}
        db.session.commit()
    s = _summary(client, households.researcher)
    assert s["numbers"] == []
    names = [q["name"] for q in s["selects"]]
    assert "household/household_members/relation" not in names
    assert "household/household_members/member_sex" in names


def test_the_page_offers_filters_within_the_viewers_subtree(client, households):
    login(client, households.supervisor)
    html = client.get(f"{URL}?version=2026120201&form_id=x&page=2").get_data(as_text=True)
    assert 'id="dashboard"' in html and "build/dashboard.js" in html
    assert "新华街道" in html and "光明社区" in html
    assert "西山县" not in html and "柳树村" not in html
    assert 'value="2026120201" selected' in html
    # the submitters in scope, not those of other districts
    assert 'value="mediator2"' in html and 'value="mediator3"' not in html
    # the charts fetch the aggregates for the same filters
    assert 'data-src="/data/family_screening/dashboard.json?version=2026120201"' in html


def test_the_data_table_links_to_the_dashboard(client, households):
    login(client, households.researcher)
    html = client.get("/data/family_screening").get_data(as_text=True)
    assert 'href="/data/family_screening/dashboard"' in html


def test_no_submissions_gives_empty_charts(client, world, publish):
    publish(SCREENING)
    s = _summary(client, world.researcher)
    assert s["total"] == 0
    assert s["over_time"]["labels"] == []
    assert _numbers(s, "household/household_members/member_age")["median"] is None
    assert [(a["name"], a["count"]) for a in s["by_area"]["areas"]] == [
        ("东城区", 0),
        ("西山县", 0),
    ]


def test_numeric_summary_median_and_bounded_memory():
    s = NumericSummary()
    for x in (4, 1, 3, 2):
        s.add(x)
    assert s.result()["median"] == 2.5
    s = NumericSummary()
    for i in range(MAX_DISTINCT * 3):
        s.add(1000 + i / 7)
    assert len(s.counts) <= MAX_DISTINCT
    r = s.result()
    assert r["approximate"] is True and r["n"] == MAX_DISTINCT * 3
    assert r["min"] == 1000 and r["median"] == pytest.approx(
        1000 + MAX_DISTINCT * 1.5 / 7, rel=1e-3
    )


def test_time_series_per_month_for_years_of_data():
    days = Counter({date(2024, 1, 5): 2, date(2026, 3, 9): 1})
    series = time_series(days, None, None)
    assert series["unit"] == "month"
    assert series["labels"][0] == "2024-01" and series["labels"][-1] == "2026-03"
    assert sum(series["counts"]) == 3
    # an absurd range asked for is cut to the data
    assert len(time_series(days, date(1, 1, 1), date(9999, 12, 31))["labels"]) == 27


@pytest.mark.parametrize("path", ALL_FORMS, ids=lambda p: p.name)
def test_bulk_aggregates_equal_the_row_by_row_ones(app, publish, submit, monkeypatch, path):
    """Every real form (repeats nested in repeats too) gets the same counts and summaries
    whether its batches are decoded in bulk or answer by answer."""
    from fieldapp.areas.services import get_area
    from fieldapp.dashboard.services import summarize
    from fieldapp.dataset import bulk
    from fieldapp.surveys.services import get_form

    form_id, _ = publish(path)
    answers, _ = fill_every_question(form_schema(app, form_id))
    submit(form_id, [answers, answers])

    def aggregates():
        with app.app_context():
            form = get_form(form_id)
            stmt = select(Submission).where(Submission.form_pk == form.id)
            return summarize(form, stmt, None, area=get_area("3399"))

    fast = aggregates()
    with monkeypatch.context() as m:

        def refuse(_questions):
            raise bulk.NotColumnar("test")

        m.setattr(bulk, "answer_schema", refuse)
        slow = aggregates()
    assert fast["total"] == 2 and fast == slow
    # Two forms have nothing to count: one select_one_external only, and the zero report.
    assert (
        fast["selects"]
        or fast["numbers"]
        or path.name in ("case_insensitivity.xlsx", "zero_report.xlsx")
    )
