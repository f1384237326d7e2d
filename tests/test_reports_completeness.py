"""The zero-report system (issue 11, "Reporting periods and zero reports").

南湖区 (a district of ten villages in two towns, and a deactivated eleventh) files a
monthly screening report through 2025. Its supervisor defines the report on the page;
each village's mediator sends the screening each month, or a zero report when nothing
was found, with known exceptions: months missed, zero reports, zero reports later
corrected by a real one, late reports (one only half an hour late in Shanghai), an edit
that moves a screening to another month, and submissions that must not count (a town
worker's, a deactivated village's, another district's). The figures on the page, in the
XLSX and from the CLI are compared with values counted here from the plan itself."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select, update

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.helpers import (
    BUNDLED_FORMS,
    PASSWORD,
    api_token,
    csrf_token,
    submission_xml,
    switch_user,
    xlsform,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR = 2025
TOWNS = {"NH1": "东湖镇", "NH2": "西湖镇"}
VILLAGES = [f"{t}0{i}" for t in TOWNS for i in range(1, 6)]  # NH101 … NH205: ten villages
MONTHS = range(1, 13)

# The plan: (village index, month) → what the village files. Everything else: one
# screening, received the day after the month ends (on time).
MISSING = {(2, 3), (5, 7), (9, 12), (0, 6), (7, 7)}
MOVED_AWAY = {(5, 3)}  # its screening is edited to say February: March is then missing
ZERO = {(1, 2), (3, 5), (4, 4), (7, 9), (8, 8), (4, 11)}
CORRECTED = {(3, 8), (6, 10)}  # a zero report, then a real screening in the same month
LATE = {(2, 5), (8, 1), (4, 11), (6, 10)}  # first submission after the deadline
ON_TIME_EDGE = {(8, 2)}  # received at 23:59 on the deadline day (Shanghai): on time
MANY = {(0, 1)}  # three screenings in one month: still one unit that reported
DEADLINE_DAYS = 5

SCREENING = xlsform(
    [
        ["type", "name", "label"],
        ["start", "start", ""],
        ["end", "end", ""],
        ["integer", "found", "本月排查发现问题家庭数"],
    ],
    settings=[["form_id", "version", "form_title"], ["nh_screening", "1", "南湖月度排查"]],
)


def expected_status(v: int, m: int) -> tuple[str, bool]:
    """What the plan says village ``v`` filed for month ``m``: (status, late)."""
    if (v, m) in MISSING or (v, m) in MOVED_AWAY:
        return "missing", False
    kind = "corrected" if (v, m) in CORRECTED else "zero" if (v, m) in ZERO else "reported"
    return kind, (v, m) in LATE


def expected_month(villages: list[int], m: int) -> dict:
    """Counted from the plan: units expected, filed, on time, by status."""
    statuses = [expected_status(v, m) for v in villages]
    out = {s: sum(1 for st, _late in statuses if st == s) for s in ("reported", "zero")}
    out |= {s: sum(1 for st, _late in statuses if st == s) for s in ("corrected", "missing")}
    out["expected"] = len(villages)
    out["filed"] = len(villages) - out["missing"]
    out["on_time"] = sum(1 for st, late in statuses if st != "missing" and not late)
    return out


def _deadline(m: int) -> date:
    end = date(YEAR + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
    return end + timedelta(days=DEADLINE_DAYS)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as UTC (as stored)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def nanhu(app, world):
    """南湖区 under the world's city: two towns of five villages each, a deactivated
    sixth village in 西湖镇, a mediator per village (with a phone), a town worker and the
    district supervisor ``nh_sup``."""
    from fieldapp.areas.services import create_area, get_area
    from fieldapp.auth.services import create_user

    with app.app_context():
        district = create_area("NH", "南湖区", "district", get_area("3399"))
        sup = create_user("nh_sup", PASSWORD, "supervisor", district, "南湖督导")
        towns = {code: create_area(code, name, "town", district) for code, name in TOWNS.items()}
        made = dict(password_hash=sup.password_hash)
        for i, code in enumerate([*VILLAGES, "NH206"]):
            village = create_area(code, f"村{code}", "village", towns[code[:3]])
            create_user(
                f"m_{code}",
                None,
                "mediator",
                village,
                f"调解员{i}",
                phone=f"1390000{i:04d}",
                **made,
            )
        create_user("nh_town", None, "mediator", towns["NH1"], "镇干部", **made)
        db.session.commit()
    return district


def _send(app, who: str, form_id: str, answers: dict, deprecated: str | None = None) -> str:
    from fieldapp.auth.services import get_user
    from fieldapp.submissions.services import receive_submission
    from fieldapp.surveys.services import get_form

    with app.app_context():
        schema = get_form(form_id).current.schema
        xml, iid = submission_xml(form_id, schema["version"], answers, root=schema["root"])
        if deprecated:
            xml = xml.replace(
                b"</instanceID>", f"</instanceID><deprecatedID>{deprecated}</deprecatedID>".encode()
            )
        receive_submission(get_user(who), xml)
        db.session.commit()
    return iid


def _received(app, iid: str, moment: datetime) -> None:
    with app.app_context():
        db.session.execute(
            update(Submission).where(Submission.instance_id == iid).values(received_at=moment)
        )
        db.session.commit()


def screening(app, who: str, filled: date, received: datetime) -> str:
    start = f"{filled.isoformat()}T09:00:00.000+08:00"
    iid = _send(app, who, "nh_screening", {"start": start, "end": start, "found": "0"})
    _received(app, iid, received)
    return iid


def zero_report(app, who: str, for_day: date, received: datetime) -> str:
    # Filled in days after the month it reports for: report_date decides the period.
    start = f"{(for_day + timedelta(days=12)).isoformat()}T08:00:00.000+08:00"
    answers = {"start": start, "end": start, "report_date": for_day.isoformat(), "remarks": ""}
    iid = _send(app, who, "zero_report", answers)
    _received(app, iid, received)
    return iid


@pytest.fixture
def year_of_reports(app, client, nanhu, publish, tmp_path):
    """The forms published to the city, the report defined by ``nh_sup`` on the page,
    and 2025 filed as planned. Returns the report's id."""
    (tmp_path / "nh_screening.xlsx").write_bytes(SCREENING)
    publish(tmp_path / "nh_screening.xlsx")
    publish(BUNDLED_FORMS / "zero_report.xlsx")
    switch_user(client, "nh_sup")
    resp = client.post(
        "/reports/new",
        data={
            "csrf_token": csrf_token(client, "/reports/new"),
            "name": "南湖问题家庭排查月报",
            "form": "nh_screening",
            "period": "monthly",
            "level": "village",
            "deadline_days": str(DEADLINE_DAYS),
            "area": "NH",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    report_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    for v, code in enumerate(VILLAGES):
        who = f"m_{code}"
        for m in MONTHS:
            mid, deadline = date(YEAR, m, 15), _deadline(m)
            due = _at(deadline - timedelta(days=DEADLINE_DAYS - 1), 10)  # the day after the month
            late = _at(deadline + timedelta(days=3), 10)
            if (v, m) in MISSING:
                continue
            if (v, m) in MOVED_AWAY:
                # Corrected within the days a mediator has (issue 12), then both dated.
                start = f"{mid.isoformat()}T09:00:00.000+08:00"
                iid = _send(app, who, "nh_screening", {"start": start, "end": start, "found": "0"})
                edited = _send(
                    app,
                    who,
                    "nh_screening",
                    {"start": f"{YEAR}-02-27T09:00:00.000+08:00", "end": "", "found": "1"},
                    deprecated=iid,
                )
                _received(app, iid, due)
                _received(app, edited, due)
                continue
            if (v, m) in ZERO or (v, m) in CORRECTED:
                zero_report(app, who, date(YEAR, m, 20), late if (v, m) in LATE else due)
                if (v, m) in CORRECTED:
                    screening(app, who, date(YEAR, m, 25), late + timedelta(days=2))
                continue
            if (v, m) == (8, 1):  # 16:30 UTC on the deadline: 00:30 the next day in Shanghai
                received = datetime(YEAR, 2, 5, 16, 30, tzinfo=UTC)
            elif (v, m) in ON_TIME_EDGE:
                received = _at(deadline, 23, 59)
            else:
                received = late if (v, m) in LATE else due
            for _n in range(3 if (v, m) in MANY else 1):
                screening(app, who, mid, received)
    # What must not count: a town worker (above the unit level), the deactivated
    # village, another district, and a screening filled in 2024.
    screening(app, "nh_town", date(YEAR, 7, 10), _at(date(YEAR, 7, 11), 9))
    screening(app, "m_NH206", date(YEAR, 7, 10), _at(date(YEAR, 7, 11), 9))
    screening(app, "mediator3", date(YEAR, 7, 10), _at(date(YEAR, 7, 11), 9))
    screening(app, "m_NH101", date(YEAR - 1, 12, 31), _at(date(YEAR, 1, 1), 9))
    with app.app_context():
        from fieldapp.areas.models import Area

        db.session.execute(update(Area).where(Area.code == "NH206").values(active=False))
        db.session.commit()
    return report_id


def _compute(app, report_id: int, area: str = "NH", day: date | None = None):
    from fieldapp.areas.services import get_area
    from fieldapp.reports.completeness import compute
    from fieldapp.reports.models import ReportDefinition
    from fieldapp.scope import OPERATOR

    definition = db.session.get(ReportDefinition, report_id)
    day = day or date(YEAR + 1, 12, 1)
    return compute(OPERATOR, definition, get_area(area), date(YEAR, 1, 1), date(YEAR, 12, 31), day)


def test_a_year_of_monthly_reports_matches_the_plan(app, year_of_reports):
    with app.app_context():
        result = _compute(app, year_of_reports)
        assert [p.key for p in result.periods] == [f"{YEAR}-{m:02d}" for m in MONTHS]
        assert [r.place.code for r in result.rows] == ["NH1", "NH2"]
        assert [u.place.code for u in result.units] == VILLAGES  # not the deactivated NH206
        for m in MONTHS:
            t = result.total.tallies[m - 1]
            want = expected_month(list(range(10)), m)
            got = {k: getattr(t, k) for k in want}
            assert got == want, f"month {m}"
            assert t.completeness == want["filed"] / 10 and t.timeliness == want["on_time"] / 10
            for town, villages in (("NH1", range(5)), ("NH2", range(5, 10))):
                row = next(r for r in result.rows if r.place.code == town)
                want = expected_month(list(villages), m)
                assert {k: getattr(row.tallies[m - 1], k) for k in want} == want
        for v, unit in enumerate(result.units):
            for m in MONTHS:
                cell = unit.cells[m - 1]
                assert (cell.status, cell.late) == expected_status(v, m), (unit.place.code, m)
        # No report and a zero report are different things everywhere.
        assert (
            result.units[1].cells[1].status == "zero"
            and result.units[2].cells[2].status == "missing"
        )
        assert result.units[0].cells[0].real == 3  # three screenings, one unit reported
        # December is the latest past period: 村NH205 is chased, with its mediator's phone.
        assert result.latest == 11
        assert [(p.code, [(c.name, c.phone) for c in cs]) for p, cs in result.chase] == [
            ("NH205", [("调解员9", "13900000009")])
        ]


def test_before_the_deadline_nothing_yet_is_pending_not_missing(app, year_of_reports):
    with app.app_context():
        # On 10 December 2025, December's deadline (5 January) is still ahead.
        result = _compute(app, year_of_reports, day=date(YEAR, 12, 10))
        assert result.units[9].cells[11].status == "pending"
        assert result.units[9].cells[10].status == "reported"
        assert result.latest == 10  # November: its deadline has passed
        assert result.total.tallies[11].pending == 1 and result.total.tallies[11].missing == 0
        # The deadline day itself is still on time: pending, not missing.
        assert (
            _compute(app, year_of_reports, day=_deadline(12)).units[9].cells[11].status == "pending"
        )
        assert (
            _compute(app, year_of_reports, day=_deadline(12) + timedelta(days=1))
            .units[9]
            .cells[11]
            .status
            == "missing"
        )


def _page_cells(html: str) -> dict:
    cells = {}
    for attrs in re.findall(r"<td (data-area=[^>]*)>", html):
        values = dict(re.findall(r'data-([a-z]+)="([^"]*)"', attrs))
        cells[(values.pop("area"), values.pop("period"))] = values
    return cells


def test_page_xlsx_and_cli_give_the_same_numbers(
    app, client, year_of_reports, runner, monkeypatch, tmp_path
):
    from fieldapp.cli import main

    query = f"from={YEAR}-01-01&to={YEAR}-12-31"
    page = client.get(f"/reports/{year_of_reports}?{query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    cells = _page_cells(html)
    for m in MONTHS:
        key = f"{YEAR}-{m:02d}"
        for area, villages in (("NH", range(10)), ("NH1", range(5)), ("NH2", range(5, 10))):
            want = expected_month(list(villages), m)
            got = cells[(area, key)]
            assert int(got["expected"]) == want["expected"] and int(got["filed"]) == want["filed"]
            assert int(got["ontime"]) == want["on_time"] and int(got["zero"]) == want["zero"]
    assert "南湖区" in html and "村NH205" in html and "13900000009" in html  # who to chase
    # Down to the villages of 东湖镇: each one's status in words.
    town = client.get(f"/reports/{year_of_reports}?{query}&area=NH1").get_data(as_text=True)
    cells = _page_cells(town)
    for v in range(5):
        for m in MONTHS:
            status, late = expected_status(v, m)
            got = cells[(VILLAGES[v], f"{YEAR}-{m:02d}")]
            assert (got["status"], got["late"]) == (status, "1" if late else "0")
    for word in ("已报告", "零报告", "已更正", "未报告", "迟报"):
        assert word in town
    assert "村NH201" not in town and "村NH105" in town

    xlsx = client.get(f"/reports/{year_of_reports}/completeness.xlsx?{query}")
    assert xlsx.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    summary = list(wb["汇总"].iter_rows(values_only=True))
    header = summary[0]
    rows = [dict(zip(header, r, strict=True)) for r in summary[1:]]
    for r in rows:
        m = int(r["开始"][5:7])
        villages = {"NH": range(10), "NH1": range(5), "NH2": range(5, 10)}[r["区划代码"]]
        want = expected_month(list(villages), m)
        assert (r["应报单位"], r["未报告"], r["零报告"], r["已更正"], r["按时"]) == (
            want["expected"],
            want["missing"],
            want["zero"],
            want["corrected"],
            want["on_time"],
        )
        assert r["完整率（%）"] == round(want["filed"] / want["expected"] * 100, 1)
    assert len(rows) == 36
    units = list(wb["各单位"].iter_rows(values_only=True))
    assert len(units) == 1 + 10 * 12
    assert ("零报告" in {u[6] for u in units}) and any(u[6] == "已报告（迟报）" for u in units)
    chase = list(wb["未报告单位"].iter_rows(values_only=True))
    assert chase[1][1:] == ("NH205", "村NH205", "调解员9", "13900000009")

    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    args = ["completeness", "--report", "南湖问题家庭排查月报", "--from", f"{YEAR}-01-01"]
    args += ["--to", f"{YEAR}-12-31", "--area", "NH"]
    out = runner.invoke(main, [*args, "--format", "json", "-o", "-"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    by_key = {(r["area_code"], r["start"][:7]): r for r in data["summary"]}
    for r in rows:
        j = by_key[(r["区划代码"], r["开始"][:7])]
        assert (
            j["expected"],
            j["missing"],
            j["zero"],
            j["corrected"],
            j["on_time"],
            j["late"],
        ) == (
            r["应报单位"],
            r["未报告"],
            r["零报告"],
            r["已更正"],
            r["按时"],
            r["迟报"],
        )
        assert j["completeness"] == r["完整率（%）"] and j["timeliness"] == r["及时率（%）"]
    assert data["missing"]["units"][0]["contacts"] == [{"name": "调解员9", "phone": "13900000009"}]
    csv_out = runner.invoke(main, [*args, "--format", "csv"])
    assert csv_out.exit_code == 0
    lines = csv_out.output.lstrip("\ufeff").splitlines()
    assert len(lines) == 37 and lines[0].startswith("区划代码,区划,周期")
    target = tmp_path / "nh.xlsx"
    assert runner.invoke(main, [*args, "--format", "xlsx", "-o", str(target)]).exit_code == 0
    cli_rows = list(openpyxl.load_workbook(target)["汇总"].iter_rows(values_only=True))
    assert cli_rows == summary


def test_a_supervisor_sees_their_subtree_only(app, client, year_of_reports):
    # 东城区's supervisor: 南湖区's report does not exist for them.
    switch_user(client, "supervisor")
    assert client.get(f"/reports/{year_of_reports}").status_code == 404
    assert client.get(f"/reports/{year_of_reports}/completeness.xlsx").status_code == 404
    assert client.get(f"/reports/{year_of_reports}/edit").status_code == 404
    assert "南湖" not in client.get("/reports/").get_data(as_text=True)
    # 南湖区's supervisor asking for an area of another district: as if it did not exist.
    switch_user(client, "nh_sup")
    for code in ("339901", "339902001001", "NOPE"):
        resp = client.get(f"/reports/{year_of_reports}?area={code}")
        assert resp.status_code == 404 and "找不到区划" in resp.get_data(as_text=True)
    # A city-wide report defined by the admin is seen by 南湖区 for 南湖区 only.
    switch_user(client, "admin")
    resp = client.post(
        "/reports/new",
        data={
            "csrf_token": csrf_token(client, "/reports/new"),
            "name": "全市月报",
            "form": "nh_screening",
            "period": "monthly",
            "level": "town",
            "deadline_days": "3",
            "area": "3399",
        },
    )
    city_report = int(resp.headers["Location"].rsplit("/", 1)[1])
    switch_user(client, "nh_sup")
    html = client.get(f"/reports/{city_report}?from={YEAR}-01-01&to={YEAR}-12-31").get_data(
        as_text=True
    )
    assert "东湖镇" in html and "西湖镇" in html and "东城区" not in html and "新华街道" not in html
    assert client.get(f"/reports/{city_report}/edit").status_code == 403  # not theirs to change
    # A researcher reads the figures but not the mediators' phones; a mediator nothing.
    switch_user(client, "researcher")
    html = client.get(f"/reports/{year_of_reports}?from={YEAR}-01-01&to={YEAR}-12-31").get_data(
        as_text=True
    )
    assert "调解员9" in html and "13900000009" not in html
    switch_user(client, "m_NH101")
    assert client.get("/reports/").status_code == 403
    assert client.get(f"/reports/{year_of_reports}").status_code == 403


def test_defining_a_report_is_checked(app, client, nanhu, publish, tmp_path):
    (tmp_path / "nh_screening.xlsx").write_bytes(SCREENING)
    publish(tmp_path / "nh_screening.xlsx")
    publish(BUNDLED_FORMS / "zero_report.xlsx")
    from tests.helpers import SCREENING as FAMILY

    publish(FAMILY, area_code="339902")  # another district's form
    switch_user(client, "nh_sup")
    good = {
        "name": "月报",
        "form": "nh_screening",
        "period": "monthly",
        "level": "village",
        "deadline_days": "5",
        "area": "NH",
    }
    cases = [
        ({"name": "  "}, "请填写报告名称"),
        ({"form": "family_screening"}, "请选择一份您可以查看的问卷"),
        ({"form": "zero_report"}, "零报告问卷本身不能作为报告问卷"),
        ({"period": "daily"}, "请选择报告周期"),
        ({"level": "district"}, "请选择报告单位"),
        ({"deadline_days": "abc"}, "截止天数应为 0 到 90 之间的整数"),
        ({"deadline_days": "365"}, "截止天数应为 0 到 90 之间的整数"),
        ({"area": "339901"}, "请选择您管辖范围内的区划"),
        ({"area": "NH101", "level": "town"}, "低于报告单位"),
    ]
    for change, message in cases:
        token = csrf_token(client, "/reports/new")
        resp = client.post("/reports/new", data={**good, **change, "csrf_token": token})
        assert resp.status_code == 400 and message in resp.get_data(as_text=True), change
    assert client.post("/reports/new", data=good).status_code == 400  # no CSRF token
    token = csrf_token(client, "/reports/new")
    resp = client.post("/reports/new", data={**good, "csrf_token": token})
    assert resp.status_code == 302
    report_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    # Deactivate it: still listed and readable, marked as such.
    edit = client.get(f"/reports/{report_id}/edit").get_data(as_text=True)
    assert 'value="月报"' in edit
    token = csrf_token(client, f"/reports/{report_id}/edit")
    resp = client.post(
        f"/reports/{report_id}/edit", data={**good, "name": "月报（旧）", "csrf_token": token}
    )
    assert resp.status_code == 302
    listing = client.get("/reports/").get_data(as_text=True)
    assert "月报（旧）" in listing and "已停用" in listing
    with app.app_context():
        from fieldapp.audit.models import AuditEvent

        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object == f"report:{report_id}")
            .order_by(AuditEvent.id)
        )
        assert list(actions) == ["report_define", "report_update"]


def test_bad_requests_get_clear_chinese_answers(app, client, year_of_reports, runner, monkeypatch):
    from fieldapp.cli import main

    url = f"/reports/{year_of_reports}"
    cases = [
        ("from=2025-13-01", "不是有效日期"),
        ("to=yesterday", "不是有效日期"),
        ("from=2025-12-01&to=2025-01-01", "晚于结束日期"),
        ("from=2005-01-01&to=2025-12-31", "日期范围太长"),
        ("area=NH101&from=2025-01-01", None),  # a village: fine, its own statuses
    ]
    for query, message in cases:
        for path in (url, f"{url}/completeness.xlsx"):
            resp = client.get(f"{path}?{query}")
            if message is None:
                assert resp.status_code == 200, query
            else:
                assert resp.status_code == 400 and message in resp.get_data(as_text=True), query
    assert client.get(f"{url}?area=NOPE").status_code == 404
    assert client.get("/reports/999999").status_code == 404
    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    for args, message in (
        (["--report", "没有这个报告"], "没有编号或名称"),
        (["--report", str(year_of_reports), "--from", "2025-02-30"], "不是有效日期"),
        (["--report", str(year_of_reports), "--from", "2000-01-01"], "日期范围太长"),
        (["--report", str(year_of_reports), "--area", "NOPE"], "没有代码为 NOPE 的区划"),
        (["--report", str(year_of_reports), "--area", "339901"], "不在报告"),
    ):
        out = runner.invoke(main, ["completeness", *args])
        assert out.exit_code == 1 and message in out.output, (args, out.output)


def test_the_phone_learns_which_reports_its_unit_files(app, client, year_of_reports):
    from fieldapp.clock import today
    from fieldapp.reports.periods import period_of

    client = app.test_client()  # no session: the phone's Bearer token only
    token = api_token(app, "m_NH203")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    (report,) = me["reports"]
    with app.app_context():
        day = today()
    current = period_of("monthly", day)
    previous = current.previous()
    assert report["id"] == year_of_reports and report["form_id"] == "nh_screening"
    assert report["unit"] == {"code": "NH203", "name": "村NH203"}
    assert report["zero_form_id"] == "zero_report"
    assert report["current"]["start"] == current.start.isoformat()
    assert report["previous"]["end"] == previous.end.isoformat()
    assert report["previous"]["deadline"] == (previous.end + timedelta(days=5)).isoformat()
    assert report["previous"]["report_date"] == previous.end.isoformat()
    assert report["current"]["status"] == "pending"
    # A zero report for the previous period, as the phone would send it.
    zero_report(app, "m_NH203", previous.end, datetime.now(UTC))
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["reports"][0]["previous"]["status"] == "zero"
    # A town worker and the district's supervisor file no village report.
    for who in ("nh_town", "nh_sup"):
        token = api_token(app, who)
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
        assert me["reports"] == []
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "reports" in doc["components"]["schemas"]["Me"]["properties"]


def test_completeness_takes_a_fixed_number_of_queries(app, year_of_reports):
    """The statements do not grow with the number of submissions: a year with twice
    the screenings costs the same."""
    from sqlalchemy import event

    def count() -> int:
        n = [0]

        def tick(*_a, **_k):
            n[0] += 1

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", tick)
            try:
                _compute(app, year_of_reports)
            finally:
                event.remove(db.engine, "before_cursor_execute", tick)
        return n[0]

    before = count()
    for v, code in enumerate(VILLAGES):
        for m in MONTHS:
            if (v, m) != (9, 12):  # still one unit to chase, as before
                screening(app, f"m_{code}", date(YEAR, m, 3), _at(date(YEAR, m, 4), 9))
    # The report and the asked area (also the report's); the subtree's areas; the
    # grouped submissions; the contacts of the units to chase.
    assert count() == before == 5


def test_periods_weeks_months_quarters(app):
    from fieldapp.reports.periods import period_label, period_of, periods_between

    with app.test_request_context():
        # ISO weeks run Monday to Sunday; 2026 has 53 and its last runs into 2027.
        weeks = periods_between("weekly", date(2026, 12, 30), date(2027, 1, 5))
        assert [(w.start, w.end) for w in weeks] == [
            (date(2026, 12, 28), date(2027, 1, 3)),
            (date(2027, 1, 4), date(2027, 1, 10)),
        ]
        assert [period_label(w) for w in weeks] == ["2026年第53周", "2027年第1周"]
        assert [w.key for w in weeks] == ["2026-W53", "2027-W01"]
        november = period_of("monthly", date(2026, 11, 30))
        assert (november.start, november.end, period_label(november)) == (
            date(2026, 11, 1),
            date(2026, 11, 30),
            "2026年11月",
        )
        assert november.deadline(5) == date(2026, 12, 5)
        assert period_of("monthly", date(2028, 2, 10)).end == date(2028, 2, 29)
        q4 = period_of("quarterly", date(2026, 11, 2))
        assert (q4.start, q4.end, period_label(q4), q4.key) == (
            date(2026, 10, 1),
            date(2026, 12, 31),
            "2026年第4季度",
            "2026-Q4",
        )
        assert q4.deadline(10) == date(2027, 1, 10) and q4.next().start == date(2027, 1, 1)
        assert q4.previous() == period_of("quarterly", date(2026, 7, 1))
        assert len(periods_between("monthly", date(2026, 1, 31), date(2026, 12, 1))) == 12
        with pytest.raises(ValueError):
            periods_between("monthly", date(2026, 2, 1), date(2026, 1, 1))
