"""The household pages (issue 10): each person sees the households of their scope, a
researcher without names; a supervisor reads one household's whole history (audited),
reassigns it, closes it with a reason, reopens it and resolves a conflict between two
offline visits; nobody else may change a household and bad input never makes a 500."""

from __future__ import annotations

import re
import uuid as uuidlib
from datetime import date, timedelta
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import event, insert, select

from fieldapp import clock
from fieldapp.cases.models import HARD, Entity
from fieldapp.extensions import db
from tests.helpers import PASSWORD, csrf_token, switch_user, xlsform
from tests.helpers_cases import REGISTER, VISIT, registration, visit

TODAY = date.today()  # each test: the federation's day (below), as the pages count it


@pytest.fixture(autouse=True)
def _federation_day(app):
    """``TODAY`` is today in config ``TIMEZONE`` (``fieldapp.clock.today``), not the
    machine's: from 16:00 UTC on, Shanghai is a day ahead and "overdue 5 days" was 4."""
    global TODAY
    with app.app_context():
        TODAY = clock.today()


def day(offset: int) -> str:
    """An ISO date ``offset`` days from today."""
    return (TODAY + timedelta(days=offset)).isoformat()


# A registration form like the bundled screening: a household_members repeat whose names
# are marked as identifying (fieldapp::identifier), the household labelled by its head.
REGISTER_MEMBERS = xlsform(
    [
        ["type", "name", "label", "save_to", "fieldapp::identifier"],
        ["text", "head", "户主", "", "pseudonym"],
        ["text", "village", "村/社区", "village", ""],
        ["begin_repeat", "household_members", "家庭成员", "", ""],
        ["text", "member_name", "成员姓名", "", "pseudonym"],
        ["select_one relation", "relation", "与户主关系", "", ""],
        ["select_one sex", "member_sex", "性别", "", ""],
        ["integer", "member_age", "年龄（周岁）", "", ""],
        ["end_repeat", "household_members", "", "", ""],
        ["select_one risk", "risk_level", "风险", "risk_level", ""],
    ],
    choices=[
        ["list_name", "name", "label"],
        ["relation", "head", "户主本人"],
        ["relation", "child", "子女"],
        ["sex", "female", "女"],
        ["sex", "male", "男"],
        ["risk", "high", "高"],
        ["risk", "serious", "重大隐患"],
    ],
    settings=[["form_id", "version"], ["hh_members", "1"]],
    entities=[
        ["dataset", "label"],
        ["households", "concat(${head}, '家（', ${village}, '）')"],
    ],
)


# A referral and its outcome, saved on the household as the bundled referral form does.
REFERRAL = xlsform(
    [
        ["type", "name", "label", "save_to"],
        ["select_one_from_file households.csv", "household", "家庭", ""],
        ["select_one referral", "referral_type", "转介去向", "last_referral"],
        ["select_one outcome", "outcome", "结果", "last_referral_outcome"],
    ],
    choices=[
        ["list_name", "name", "label"],
        ["referral", "shelter", "庇护中心"],
        ["referral", "legal_aid", "妇女法律维权岗"],
        ["outcome", "pending", "已转介待反馈"],
        ["outcome", "accepted", "已受理"],
    ],
    settings=[["form_id", "version"], ["hh_referral", "1"]],
    entities=[["dataset", "entity_id", "update_if"], ["households", "${household}", "true()"]],
)


def referral(hh_id: str, base: int, kind: str, outcome: str):
    """A referral of household ``hh_id`` made from version ``base`` (xml, instance ID)."""
    from tests.helpers_cases import entity_submission

    return entity_submission(
        "hh_referral",
        {"household": hh_id, "referral_type": kind, "outcome": outcome},
        {"dataset": "households", "id": hh_id, "update": "1", "baseVersion": base},
    )


@pytest.fixture
def case_forms(publish, tmp_path):
    """The registration, visit and referral forms, published to the city."""
    for name, data in (
        ("hh_register.xlsx", REGISTER),
        ("hh_visit.xlsx", VISIT),
        ("hh_members.xlsx", REGISTER_MEMBERS),
        ("hh_referral.xlsx", REFERRAL),
    ):
        (tmp_path / name).write_bytes(data)
        publish(tmp_path / name)


@pytest.fixture
def register(send, world):
    """A mediator registers household ``head`` (risk, next visit due); returns its id."""

    def _register(head: str, who: str = world.mediator, risk="high", due=None) -> str:
        xml, _, hh_id = registration(head, risk=risk, due=due or day(10))
        send(xml, who)
        return hh_id

    return _register


@pytest.fixture
def person(app, world):
    """Add a user (``role`` at ``area_code``, password ``world.password``)."""
    from fieldapp.areas.services import get_area
    from fieldapp.auth.services import create_user

    def _person(username: str, role: str, area_code: str) -> str:
        with app.app_context():
            create_user(username, PASSWORD, role, get_area(area_code), username)
            db.session.commit()
        return username

    return _person


def members_registration(head: str, members: list[dict], hh_id: str | None = None):
    """A registration with household members (xml, household id)."""
    hh_id = hh_id or str(uuidlib.uuid4())
    rows = "".join(
        "<household_members>"
        + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in m.items())
        + "</household_members>"
        for m in members
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><data id="hh_members" version="1">'
        f"<head>{escape(head)}</head><village>和平社区</village>{rows}"
        "<risk_level>serious</risk_level>"
        f'<meta><entity dataset="households" id="{hh_id}" create="1">'
        f"<label>{escape(head)}家（和平社区）</label></entity>"
        f"<instanceID>uuid:{uuidlib.uuid4()}</instanceID></meta></data>"
    )
    return xml.encode("utf-8"), hh_id


def html(client, url: str, status: int = 200) -> str:
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code)
    return resp.get_data(as_text=True)


def listed(client, url: str = "/cases/") -> list[str]:
    """The household ids on the list page, in order."""
    return re.findall(r'data-uuid="([^"]+)"', html(client, url))


def act(client, hh_id: str, action: str, **data):
    """POST a household action with the page's CSRF token."""
    token = csrf_token(client, f"/cases/{hh_id}")
    return client.post(f"/cases/{hh_id}/{action}", data={"csrf_token": token, **data})


def queries_of(app, client, url: str) -> int:
    """How many SQL statements GET ``url`` runs (asserting it answers 200)."""
    with app.app_context():
        engine = db.engine
    count = [0]

    def tick(*_a, **_k):
        count[0] += 1

    event.listen(engine, "before_cursor_execute", tick)
    try:
        html(client, url)
    finally:
        event.remove(engine, "before_cursor_execute", tick)
    return count[0]


def household(app, hh_id: str) -> Entity:
    with app.app_context():
        entity = db.session.scalar(select(Entity).where(Entity.uuid == hh_id))
        db.session.expunge_all()
        return entity


def test_each_person_sees_the_households_of_their_scope(
    client, world, case_forms, register, person
):
    wang = register("王芳")  # 和平社区, followed by mediator
    li = register("李娟", who=world.mediator2)  # 光明社区, same town
    zhao = register("赵敏", who=world.mediator3)  # 柳树村, 西山县

    switch_user(client, world.supervisor)  # 东城区
    page = html(client, "/cases/")
    assert "王芳家" in page and "李娟家" in page and "赵敏家" not in page
    assert sorted(listed(client)) == sorted([wang, li])
    assert re.search(r'id="figures-total">2<', page)
    assert "王芳家" in html(client, f"/cases/{wang}")
    html(client, f"/cases/{zhao}", 404)

    switch_user(client, world.mediator)
    page = html(client, "/cases/")
    assert "我的家庭" in page and listed(client) == [wang]
    html(client, f"/cases/{li}", 404)  # a colleague's household of the same town
    switch_user(client, world.mediator2)
    assert listed(client) == [li]
    html(client, f"/cases/{wang}", 404)
    switch_user(client, world.mediator3)
    assert listed(client) == [zhao]
    html(client, f"/cases/{wang}", 404)

    person("sup_xishan", "supervisor", "339902")  # another district's supervisor
    switch_user(client, "sup_xishan")
    assert listed(client) == [zhao]
    html(client, f"/cases/{wang}", 404)

    switch_user(client, world.admin)
    assert sorted(listed(client)) == sorted([wang, li, zhao])
    assert "赵敏家" in html(client, "/cases/")


def test_a_researcher_sees_households_without_names(client, world, case_forms, register, send):
    wang = register("王芳")
    xml, zhou = members_registration(
        "周红",
        [
            {"member_name": "周红", "relation": "head", "member_sex": "female", "member_age": "41"},
            {"member_name": "周小明", "relation": "child", "member_sex": "male", "member_age": "9"},
        ],
    )
    send(xml)

    switch_user(client, world.researcher)
    page = html(client, "/cases/")
    assert "王芳" not in page and "周红" not in page
    assert f"家庭 {wang[:8]}" in page and f"家庭 {zhou[:8]}" in page
    # A search by name finds nothing (it would tell who is on the list); by id it does.
    assert listed(client, "/cases/?q=王芳") == []
    assert listed(client, f"/cases/?q={wang[:8]}") == [wang]
    detail = html(client, f"/cases/{zhou}")
    assert "周红" not in detail and "周小明" not in detail
    assert f"家庭 {zhou[:8]}" in detail
    assert "子女" in detail and "男" in detail and ">9<" in detail  # members without names
    assert "成员姓名不向您的角色显示" in detail
    assert "处理冲突" not in detail and 'id="actions"' not in detail  # no actions

    switch_user(client, world.supervisor)
    detail = html(client, f"/cases/{zhou}")
    assert "周红家（和平社区）" in detail and "周小明" in detail and "子女" in detail
    assert listed(client, "/cases/?q=王芳") == [wang]
    switch_user(client, world.mediator)  # it is hers to visit: she sees the names
    assert "周小明" in html(client, f"/cases/{zhou}")


def test_the_list_puts_overdue_visits_first_and_counts_them(client, world, case_forms, register):
    later = register("孙梅", risk="low", due=day(30))
    soon = register("钱芳", risk="high", due=day(3))
    late = register("郑洁", risk="high", due=day(-5))
    serious_late = register("冯雪", risk="serious", due=day(-5))

    switch_user(client, world.supervisor)
    assert listed(client) == [serious_late, late, soon, later]
    page = html(client, "/cases/")
    assert re.search(r'id="tile-overdue">\s*<b>2</b>', page)
    assert re.search(r'id="tile-due-soon">\s*<b>1</b>', page)
    assert "已逾期 5 天" in page
    assert listed(client, "/cases/?overdue=1") == [serious_late, late]
    assert listed(client, "/cases/?due_soon=1") == [soon]
    assert listed(client, "/cases/?risk=serious") == [serious_late]
    assert listed(client, "/cases/?area=339901001001") == [serious_late, late, soon, later]
    assert listed(client, "/cases/?area=339901001002") == []
    assert listed(client, f"/cases/?assigned={world.mediator}&q=孙") == [later]


def test_the_supervisor_reassigns_a_household_between_mediators(
    app, client, world, case_forms, register
):
    wang = register("王芳")
    switch_user(client, world.supervisor)
    page = html(client, f"/cases/{wang}")
    assert 'value="mediator2"' in page and 'value="mediator3"' not in page  # nearby only

    resp = act(client, wang, "assign", user=world.mediator2)
    assert resp.status_code == 302 and resp.headers["Location"].startswith(f"/cases/{wang}")
    page = html(client, f"/cases/{wang}")
    assert "已重新分配" in page and "分配给 光明社区调解员" in page
    assert household(app, wang).version == 2

    switch_user(client, world.mediator)
    assert listed(client) == []
    html(client, f"/cases/{wang}", 404)
    switch_user(client, world.mediator2)
    assert listed(client) == [wang]
    assert "王芳家" in html(client, f"/cases/{wang}")  # hers now: she sees who it is

    # Out of reach, unknown, or the same person: refused with a message, nothing changes.
    switch_user(client, world.supervisor)
    for user, message in (
        (world.mediator3, "不能把这户家庭分配给"),
        ("nobody-by-this-name", "找不到用户"),
        (world.mediator2, "没有改动"),
    ):
        resp = act(client, wang, "assign", user=user)
        assert resp.status_code == 302
        assert message in html(client, f"/cases/{wang}")
    entity = household(app, wang)
    assert entity.version == 2
    with app.app_context():
        assert db.session.get(Entity, entity.id).assigned_to.username == world.mediator2


def test_the_supervisor_closes_a_case_with_a_reason_and_reopens_it(
    app, client, world, case_forms, register
):
    wang = register("王芳")
    switch_user(client, world.supervisor)
    resp = act(client, wang, "close", reason="   ")
    assert resp.status_code == 302
    assert "请填写结案原因" in html(client, f"/cases/{wang}")
    assert household(app, wang).status == "open" and household(app, wang).version == 1
    act(client, wang, "close", reason="x" * 501)
    assert household(app, wang).status == "open"

    act(client, wang, "close", reason="家庭矛盾已化解，双方签订调解协议")
    entity = household(app, wang)
    assert entity.status == "closed" and entity.closed_reason.startswith("家庭矛盾已化解")
    page = html(client, f"/cases/{wang}")
    assert "已结案" in page and "家庭矛盾已化解" in page and 'id="reopen-form"' in page
    assert listed(client) == []  # the list leaves closed cases out unless asked
    assert listed(client, "/cases/?status=closed") == [wang]
    assert listed(client, "/cases/?status=all") == [wang]
    switch_user(client, world.mediator)
    assert listed(client) == []

    switch_user(client, world.supervisor)
    act(client, wang, "reopen", note="又有新情况")
    assert household(app, wang).status == "following"
    assert "重新打开" in html(client, f"/cases/{wang}")


def test_two_offline_visits_in_conflict_are_shown_and_resolved(
    app, client, world, case_forms, register, send
):
    from fieldapp.audit.models import AuditEvent

    wang = register("王芳")
    send(visit(wang, base=1, visit_date=day(-2), due=day(12))[0])
    send(visit(wang, base=1, visit_date=day(-1), due=day(14))[0], who=world.supervisor)
    assert household(app, wang).conflict == HARD

    switch_user(client, world.supervisor)
    assert listed(client, "/cases/?conflict=1") == [wang]
    assert re.search(r'id="tile-conflicts">\s*<b>1</b>', html(client, "/cases/"))
    page = html(client, f"/cases/{wang}")
    history = page.split('id="history"')[1]
    assert history.count("走访更新") == 2 and "登记" in history
    assert day(-2) in history and day(-1) in history  # both visits are kept
    assert "冲突：" in history and "最近走访日期" in history
    assert 'name="keep-last_visit_date"' in page
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "view_household")
        ).all()
        assert [e.object for e in events] == [f"entity:{wang}"]

    # A value nobody sent is refused; then the supervisor keeps the first visit's dates.
    act(client, wang, "resolve", **{"keep-last_visit_date": "1999-01-01"})
    assert household(app, wang).conflict == HARD
    resp = act(
        client,
        wang,
        "resolve",
        **{
            "keep-last_visit_date": day(-2),
            "keep-next_visit_date": day(12),
            "keep-case_status": "following",
            "note": "核实后以调解员记录为准",
        },
    )
    assert resp.status_code == 302
    entity = household(app, wang)
    assert entity.conflict is None and entity.version == 4
    assert entity.data["last_visit_date"] == day(-2)
    assert str(entity.next_visit_due) == day(12)
    page = html(client, f"/cases/{wang}")
    assert "冲突已处理" in page and "核实后以调解员记录为准" in page and 'id="conflict"' not in page
    resp = act(client, wang, "resolve")  # nothing left to resolve
    assert "没有待处理的冲突" in html(client, f"/cases/{wang}")


def test_the_household_page_sums_up_visits_and_referrals_in_chinese(
    app, client, world, case_forms, register, send
):
    wang = register("王芳", risk="serious")
    send(visit(wang, base=1, visit_date=day(-3), due=day(11), status="paired")[0])
    send(referral(wang, 2, "shelter", "pending")[0])
    send(referral(wang, 3, "legal_aid", "accepted")[0])
    send(referral(wang, 4, "shelter", "accepted")[0])

    switch_user(client, world.supervisor)
    page = html(client, f"/cases/{wang}")
    current = page.split('id="properties"')[1].split("</section>")[0]
    assert "风险等级" in current and "重大隐患" in current and "结对帮扶" in current
    assert "最近转介" in current and "庇护中心" in current
    referrals = page.split('id="referrals"')[1].split("</section>")[0]
    rows = dict(re.findall(r"<tr><td>(.+?)</td><td>(.+?)</td></tr>", referrals))
    assert rows["庇护中心"].startswith("已受理")  # the latest of its two referrals
    assert rows["妇女法律维权岗（法律援助）"].startswith("已受理")
    assert "无转介记录" in rows["伤情鉴定中心"]
    history = page.split('id="history"')[1]
    assert history.count("走访更新") == 4 and "登记" in history
    assert "/data/submission/uuid:" in history  # each version links to its submission


def test_the_history_costs_the_same_queries_however_long_it_is(
    app, client, world, case_forms, register, send
):
    short, long_ = register("王芳"), register("李娟")
    send(visit(short, base=1, visit_date=day(-1), due=day(5))[0])
    for n in range(12):
        send(visit(long_, base=n + 1, visit_date=day(-20 + n), due=day(n + 1))[0])
    switch_user(client, world.supervisor)
    for hh_id in (short, long_):
        html(client, f"/cases/{hh_id}")  # warm
    assert queries_of(app, client, f"/cases/{short}") == queries_of(app, client, f"/cases/{long_}")


def test_a_soft_conflict_is_marked_resolved(app, client, world, case_forms, register, send):
    wang = register("王芳")
    switch_user(client, world.supervisor)
    act(client, wang, "assign", user=world.mediator2)
    # The mediator it was taken from visited offline before she knew: kept and flagged.
    send(visit(wang, base=1, visit_date=day(-1))[0])
    assert household(app, wang).conflict == "soft"
    page = html(client, f"/cases/{wang}")
    assert "并行更新" in page and "标记为已处理" in page and "keep-" not in page
    act(client, wang, "resolve", note="已核实")
    entity = household(app, wang)
    assert entity.conflict is None and entity.data["last_visit_date"] == day(-1)


@pytest.mark.parametrize("username", ["mediator", "researcher"])
def test_only_case_managers_may_change_a_household(
    app, client, world, case_forms, register, username
):
    wang = register("王芳")
    switch_user(client, username)
    html(client, f"/cases/{wang}")
    for action, data in (
        ("assign", {"user": "mediator2"}),
        ("close", {"reason": "x"}),
        ("reopen", {}),
        ("resolve", {}),
    ):
        token = csrf_token(client, "/cases/")
        resp = client.post(f"/cases/{wang}/{action}", data={"csrf_token": token, **data})
        assert resp.status_code == 403, action
    assert household(app, wang).version == 1


def test_bad_input_gets_a_message_not_an_error(app, client, world, case_forms, register):
    wang = register("王芳")
    switch_user(client, world.supervisor)
    assert "找不到该家庭" in html(client, "/cases/no-such-household", 404)
    html(client, "/cases/" + "x" * 500, 404)
    page = html(client, "/cases/?risk=extreme&status=gone&area=999999&assigned=ghost&page=abc")
    assert "已忽略" in page and "风险等级" in page and "负责人" in page
    assert listed(client, "/cases/?risk=extreme") == [wang]
    for page_no in ("-3", "0", "99999999999999999999999", "1e9"):
        assert listed(client, f"/cases/?page={page_no}") == [wang]
    # An area out of scope (西山县) is ignored and named, not used to show its households.
    assert listed(client, "/cases/?area=339902") == [wang]
    assert "以下筛选条件无效，已忽略：区划" in html(client, "/cases/?area=339902")
    assert listed(client, "/cases/?q=%25") == []  # LIKE wildcards are plain text
    resp = client.post(f"/cases/{wang}/close", data={"reason": "没有令牌"})
    assert resp.status_code == 400  # no CSRF token
    resp = act(client, "no-such-household", "close", reason="x")
    assert resp.status_code == 404
    assert household(app, wang).status == "open"


def test_the_list_costs_the_same_queries_for_few_and_many_households(
    app, client, world, case_forms, register
):
    """The page's query count does not grow with the households it shows or counts."""
    register("王芳")
    with app.app_context():
        template = db.session.scalar(select(Entity))
        rows = [
            {
                "uuid": str(uuidlib.uuid4()),
                "dataset_id": template.dataset_id,
                "label": f"户{i}家",
                "data": {"risk_level": "high"},
                "area_id": template.area_id,
                "assigned_to_id": template.assigned_to_id,
                "risk": ("low", "high", "serious")[i % 3],
                "status": "following",
                "next_visit_due": TODAY + timedelta(days=i % 40 - 20),
            }
            for i in range(120)
        ]

    def queries(who: str) -> int:
        switch_user(client, who)
        return queries_of(app, client, "/cases/")

    few = {who: queries(who) for who in (world.supervisor, world.mediator)}
    with app.app_context():
        db.session.execute(insert(Entity), rows)
        db.session.commit()
    many = {who: queries(who) for who in (world.supervisor, world.mediator)}
    assert many == few
    assert len(listed(client)) == 50  # a page
