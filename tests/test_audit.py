"""The audit log: admins read the events of their subtree (filtered, a page at a time,
as Excel), nobody else reads it, sign-ins are recorded, and the database keeps the log
append-only."""

from __future__ import annotations

import importlib.util
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from fieldapp.audit.models import AuditEvent
from fieldapp.audit.services import purge_audit_log_for_tests, record
from fieldapp.dataset.formula import excel_safe, excel_safe_column
from fieldapp.extensions import db
from tests.helpers import PASSWORD, csrf_token, login, switch_user

ROOT = Path(__file__).resolve().parents[1]
DISTRICT_ADMIN = "dongcheng_admin"  # admin of 东城区 (339901), made by the fixture below


@pytest.fixture(autouse=True)
def _purge_log(app):
    """Empty the log after each test through the one sanctioned way (the append-only
    triggers refuse the suite's plain DELETE)."""
    yield
    with app.app_context():
        db.session.rollback()
        purge_audit_log_for_tests(db.session.connection())
        db.session.commit()


@pytest.fixture
def district_admin(app, world) -> str:
    """An admin whose home area is 东城区; returns the username."""
    from fieldapp.areas.services import get_area
    from fieldapp.auth.services import create_user

    with app.app_context():
        create_user(DISTRICT_ADMIN, PASSWORD, "admin", get_area("339901"), "东城区管理员")
        db.session.commit()
    return DISTRICT_ADMIN


def _user_id(app, username: str) -> int:
    from fieldapp.auth.services import get_user

    with app.app_context():
        return get_user(username).id


def _event(app, username: str | None, action: str, obj: str, at: datetime | None = None, **kw):
    """Add an event as ``username`` (``None``: the command line), at ``at`` (default
    now); return its id."""
    with app.app_context():
        user_id = _user_id(app, username) if username else None
        if at is None:
            event = record(user_id, action, obj, **kw)
        else:  # back-dated at the insert: an event is never updated
            event = AuditEvent(user_id=user_id, action=action, object=obj, detail=kw, at=at)
            db.session.add(event)
            db.session.flush()
        db.session.commit()
        return event.id


def _shown(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-event-id="(\d+)"', html)]


def _events(app, **where) -> list[AuditEvent]:
    with app.app_context():
        stmt = select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)
        events = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return events


# -- who reads what ------------------------------------------------------------------


def test_an_admin_reads_the_events_of_their_subtree_only(app, client, world, district_admin):
    ours = _event(app, world.supervisor, "view_table", "form:family_screening")  # 东城区
    theirs = _event(app, world.mediator3, "view_submission", "submission:uuid:1")  # 西山县
    cli = _event(app, None, "export", "form:family_screening", via="cli")

    login(client, district_admin)
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert ours in _shown(html) and theirs not in _shown(html) and cli not in _shown(html)
    assert "查看数据表" in html and "东城区督导（supervisor）" in html
    # Naming a user of another district is refused like an unknown name.
    resp = client.get("/admin/audit/", query_string={"user": world.mediator3})
    assert resp.status_code == 400
    assert "您的范围内没有用户 mediator3" in resp.get_data(as_text=True)

    switch_user(client, world.admin)  # the city: everyone, and events with no user
    shown = _shown(client.get("/admin/audit/").get_data(as_text=True))
    assert {ours, theirs, cli} <= set(shown)


@pytest.mark.parametrize("username", ["supervisor", "researcher", "mediator"])
def test_no_one_but_admins_opens_the_log(client, world, username):
    login(client, username)
    assert client.get("/admin/audit/").status_code == 403
    assert client.get("/admin/audit/export.xlsx").status_code == 403
    assert "/admin/audit" not in client.get("/?online").get_data(as_text=True)


def test_the_log_is_behind_a_login(client, world):
    resp = client.get("/admin/audit/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_the_app_offers_no_way_to_change_or_delete_an_event(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin/audit"):
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule


def test_admins_find_the_log_in_the_top_bar(client, world):
    login(client, world.admin)
    assert 'href="/admin/audit/"' in client.get("/?online").get_data(as_text=True)


# -- what is recorded ----------------------------------------------------------------


def test_sign_ins_failed_sign_ins_and_logouts_are_recorded(app, client, world):
    login(client, world.mediator, "not-the-password")
    login(client, "nobody-of-that-name", "secret-guess-1")
    login(client, world.mediator)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/?online")})

    mediator = _user_id(app, world.mediator)
    failed = _events(app, action="login_failed")
    assert [(e.user_id, e.object, e.detail) for e in failed] == [
        (mediator, "user:mediator", {"username": "mediator"}),
        (None, "user:nobody-of-that-name", {"username": "nobody-of-that-name"}),
    ]
    assert [(e.user_id, e.object) for e in _events(app, action="login")] == [
        (mediator, "user:mediator")
    ]
    assert [e.user_id for e in _events(app, action="logout")] == [mediator]
    everything = repr([(e.object, e.detail) for e in _events(app)])
    assert "not-the-password" not in everything and "secret-guess-1" not in everything
    assert all(e.remote_addr == "127.0.0.1" for e in _events(app))


def test_an_admin_sees_failed_sign_ins_in_chinese(app, client, world, district_admin):
    login(client, world.mediator, "wrong-guess-1")
    login(client, district_admin)
    html = client.get("/admin/audit/", query_string={"action": "login_failed"}).get_data(
        as_text=True
    )
    assert "登录失败" in html and "和平社区调解员（mediator）" in html and "127.0.0.1" in html


# -- filters and pages ---------------------------------------------------------------


def test_filters_by_user_action_and_local_days(app, client, world):
    # 16:30 UTC on 1 January is 00:30 on 2 January in Shanghai.
    late = _event(
        app, world.mediator, "view_submission", "s:1", datetime(2026, 1, 1, 16, 30, tzinfo=UTC)
    )
    early = _event(
        app, world.mediator, "view_table", "f:1", datetime(2026, 1, 1, 15, 30, tzinfo=UTC)
    )
    other = _event(
        app, world.supervisor, "view_submission", "s:2", datetime(2026, 1, 2, 3, tzinfo=UTC)
    )
    login(client, world.admin)

    def shown(**args):
        resp = client.get("/admin/audit/", query_string=args)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return set(_shown(resp.get_data(as_text=True)))

    assert shown(**{"from": "2026-01-02", "to": "2026-01-02"}) >= {late, other}
    assert early not in shown(**{"from": "2026-01-02", "to": "2026-01-02"})
    assert early in shown(to="2026-01-01") and late not in shown(to="2026-01-01")
    assert shown(user="mediator", **{"from": "2026-01-01"}) == {late, early}
    assert shown(user="mediator", action="view_submission") == {late}
    html = client.get("/admin/audit/", query_string={"user": "mediator"}).get_data(as_text=True)
    assert "2026-01-02 00:30:00" in html  # shown in FIELDAPP_TIMEZONE (Asia/Shanghai)


@pytest.mark.parametrize(
    "args, message",
    [
        ({"from": "2026-13-01"}, "日期 2026-13-01 无效"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "开始日期晚于结束日期"),
        ({"user": "no-such-user"}, "您的范围内没有用户 no-such-user"),
    ],
)
def test_bad_filters_get_a_message_and_keep_the_form(client, world, args, message):
    login(client, world.admin)
    for url in ("/admin/audit/", "/admin/audit/export.xlsx"):
        resp = client.get(url, query_string=args)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400 and message in html
        assert 'id="audit-filters"' in html


def test_unknown_actions_are_shown_as_recorded(app, client, world):
    _event(app, world.admin, "reticulate_splines", "thing:1")
    login(client, world.admin)
    html = client.get("/admin/audit/", query_string={"action": "reticulate_splines"}).get_data(
        as_text=True
    )
    assert "reticulate_splines" in html and "没有符合条件的记录" not in html


def test_the_log_is_read_a_page_at_a_time(app, client, world):
    with app.app_context():
        user_id = _user_id(app, world.mediator)
        for i in range(120):
            record(user_id, "view_submission", f"submission:{i}")
        db.session.commit()
        ids = list(db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc())))
    login(client, world.admin)

    def follow(html: str, link: str) -> str:
        url = re.search(rf'href="([^"]+)" id="{link}"', html).group(1).replace("&amp;", "&")
        assert "action=view_submission" in url  # the filter is kept
        return client.get(url).get_data(as_text=True)

    first = client.get("/admin/audit/?action=view_submission").get_data(as_text=True)
    assert _shown(first) == ids[:50] and 'id="newer"' not in first
    second = follow(first, "older")
    assert _shown(second) == ids[50:100]
    third = follow(second, "older")
    assert _shown(third) == ids[100:] and 'id="older"' not in third
    assert _shown(follow(third, "newer")) == ids[50:100]
    assert _shown(follow(second, "newer")) == ids[:50]


# -- the Excel export ----------------------------------------------------------------


def test_the_export_is_a_guarded_workbook_and_is_itself_recorded(app, client, world):
    _event(app, world.mediator, "view_submission", '=HYPERLINK("http://x","点我")', note="@x")
    _event(
        app,
        world.supervisor,
        "export",
        "form:family_screening",
        datetime(2026, 1, 1, 16, 30, tzinfo=UTC),
    )
    _event(app, world.supervisor, "mystery_action", "\uff1dcmd")
    login(client, world.admin)
    resp = client.get("/admin/audit/export.xlsx", query_string={"user": "supervisor"})
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=audit-log-")
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "编号",
        "时间（Asia/Shanghai）",
        "用户名",
        "姓名",
        "操作",
        "操作代码",
        "对象",
        "详情",
        "来源地址",
    )
    assert [r[4:7] for r in rows[1:]] == [
        ("导出数据", "export", "form:family_screening"),  # oldest first
        ("mystery_action", "mystery_action", "\uff1dcmd"),
    ]
    assert rows[1][1] == datetime(2026, 1, 2, 0, 30) and rows[1][2:4] == (
        "supervisor",
        "东城区督导",
    )

    # Text as recorded (no visible apostrophe), kept text by Excel's quote prefix even
    # when someone edits the cell; harmless text gets no prefix.
    everyone = client.get("/admin/audit/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(everyone.data)).active
    guarded = next(r for r in sheet.iter_rows() if r[5].value == "view_submission")
    assert guarded[6].value == '=HYPERLINK("http://x","点我")' and guarded[6].data_type == "s"
    assert guarded[6].quotePrefix and guarded[7].value == "note=@x"
    assert not guarded[5].quotePrefix

    exports = _events(app, action="audit_export")
    assert [(e.user_id, e.detail) for e in exports] == [
        (_user_id(app, world.admin), {"rows": 2, "filters": {"user": "supervisor"}}),
        (_user_id(app, world.admin), {"rows": 5, "filters": {}}),  # + login, 1st export
    ]


# -- append-only in the database -----------------------------------------------------


def _append_only_migration():
    path = next((ROOT / "migrations" / "versions").glob("*_audit_append_only.py"))
    spec = importlib.util.spec_from_file_location("audit_append_only", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _has_triggers(conn) -> bool:
    if conn.dialect.name == "postgresql":
        sql = "SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_events_append_only'"
    else:
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
        sql += " AND tbl_name = 'audit_events'"
    return bool(conn.execute(text(sql)).scalar())


def test_the_database_refuses_to_change_or_delete_events(app, world):
    """UPDATE and DELETE (and TRUNCATE) fail at the database; only the explicit purge
    deletes, and the log stays guarded after it. All in one transaction, rolled back."""
    with app.app_context():
        db.session.rollback()
        conn = db.session.connection()
        if conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:
            conn.exec_driver_sql("BEGIN")  # pysqlite would run the DDL below outside one
        if not _has_triggers(conn):  # the migration's switch is off: put them on here
            _append_only_migration().create_triggers(conn)
        record(None, "test", "append-only")
        table = AuditEvent.__table__
        refused = [update(table).values(action="changed"), delete(table)]
        if conn.dialect.name == "postgresql":
            refused.append(text("TRUNCATE audit_events"))
        for stmt in refused:
            with pytest.raises(DBAPIError, match="append-only"), conn.begin_nested():
                conn.execute(stmt)
        if conn.dialect.name == "postgresql":  # the purge setting lets DELETE through only
            with pytest.raises(DBAPIError, match="append-only"), conn.begin_nested():
                conn.execute(text("SET LOCAL fieldapp.audit_purge = 'on'"))
                conn.execute(update(table).values(action="changed"))

        assert purge_audit_log_for_tests(conn) == 1
        assert conn.execute(select(func.count()).select_from(table)).scalar() == 0
        assert _has_triggers(conn)
        record(None, "test", "after the purge")
        with pytest.raises(DBAPIError, match="append-only"), conn.begin_nested():
            conn.execute(delete(table))
        db.session.rollback()


# -- the formula guard (fieldapp.dataset.formula) -------------------------------------


@pytest.mark.parametrize(
    "cell, guarded",
    [
        ("=1+1", True),
        ("@SUM(A1)", True),
        ("-abc", True),
        ("\tx", True),
        ("\rx", True),
        (" =1+1", True),  # blanks a spreadsheet may strip first
        ("\n=1+1", True),
        ("\u3000=1+1", True),
        (" \t@x", True),
        ("\uff1d1+1", True),  # full-width ＝ ＋ － ＠
        ("\uff0b1", True),
        ("\uff0dx", True),
        ("\uff20x", True),
        ("-5", False),  # numbers stay numbers
        ("+7", False),
        ("-1.5e3", False),
        ("a=b", False),
        ("\nhello", True),  # a line feed first, like a tab or CR (issue 14)
        ("张三", False),
        ("", False),
    ],
)
def test_the_formula_guard_catches_blanks_and_full_width_signs(cell, guarded):
    import polars as pl

    want = "'" + cell if guarded else cell
    assert excel_safe(cell) == want
    column = pl.DataFrame({"c": [cell]}).select(excel_safe_column(pl.col("c")))
    assert column.to_series().to_list() == [want]  # the Polars rule is the same rule
