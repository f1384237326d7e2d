"""People: admins manage the users of their subtree, supervisors the mediators of theirs;
nobody reaches beyond; one-time passwords are changed at the first login; deactivated
people are locked out at once while their data stays; users come in bulk from XLSX."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select, update

from fieldapp.extensions import db
from tests.helpers import (
    PASSWORD,
    SCREENING,
    api_token,
    csrf_token,
    login,
    post_submission,
    screening_answers,
    submission_xml,
    switch_user,
    xlsx,
)


@pytest.fixture
def person(app, world):
    """Add a user (``role`` at ``area_code``, password ``world.password``); return the
    username."""
    from fieldapp.areas.services import get_area
    from fieldapp.auth.services import create_user

    def _person(username: str, role: str, area_code: str) -> str:
        with app.app_context():
            create_user(username, PASSWORD, role, get_area(area_code), username)
            db.session.commit()
        return username

    return _person


pytestmark = pytest.mark.usefixtures("world_users_restored")


def _user(app, username: str):
    from fieldapp.auth.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is not None:
            db.session.expunge(user)
        return user


def _audit(app, action: str) -> list[dict]:
    from fieldapp.audit.models import AuditEvent

    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [{"user_id": e.user_id, "object": e.object, **e.detail} for e in rows]


def _post(client, path: str, data: dict | None = None, page: str | None = None):
    """POST a form as the browser does, with the CSRF token of ``page`` (default ``path``)."""
    token = csrf_token(client, page or path)
    return client.post(path, data={**(data or {}), "csrf_token": token})


def _create(client, **fields):
    data = {"username": "", "display_name": "", "phone": "", "role": "mediator", "area": ""}
    return _post(client, "/admin/users/new", {**data, **fields})


def _otp(html: str) -> str:
    return re.search(r'<span class="otp" id="otp">([^<]+)</span>', html).group(1)


def _change_password(client, current: str, new: str, next_: str = ""):
    path = "/account/password" + (f"?next={next_}" if next_ else "")
    return _post(client, path, {"current": current, "new": new, "repeat": new})


# -- creating people ----------------------------------------------------------------


def test_an_admin_creates_a_mediator_who_chooses_a_password_at_first_login(app, client, world):
    login(client, world.admin)
    resp = _create(
        client,
        username="wangfang",
        display_name="王芳",
        phone="138 1234 5678",
        role="mediator",
        area="339902001001",
    )
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "只显示这一次" in page
    password = _otp(page)
    created = _user(app, "wangfang")
    assert created.phone == "13812345678" and created.must_change_password
    assert password not in created.password_hash
    [event] = _audit(app, "user_create")
    assert event["object"] == "user:wangfang" and event["area"] == "339902001001"
    assert password not in str(event)

    # 王芳 logs in with the one-time password: every page sends her to the change page
    resp = switch_user(client, "wangfang", password)
    assert resp.headers["Location"].startswith("/account/password?next=")
    resp = client.get("/data/")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/account/password?next=/data/")
    assert "请设置您自己的新密码" in client.get("/account/password").get_data(as_text=True)
    # …and the phone app's API says what to do instead of failing silently
    me = client.get("/api/v1/me")
    assert me.status_code == 403
    assert me.json["error"]["code"] == "password_change_required"
    assert me.json["error"]["change_password_url"] == "/account/password"
    assert "请先修改密码" in me.json["error"]["message"]
    assert client.get("/app").status_code == 200  # the app shell itself holds no data

    refused = _change_password(client, password, "wangfang")
    assert refused.status_code == 400 and "不能与用户名相同" in refused.get_data(as_text=True)
    resp = _change_password(client, password, "my-own-secret-1", next_="/app")
    assert resp.status_code == 302 and resp.headers["Location"] == "/app"
    assert client.get("/api/v1/me").status_code == 200
    assert not _user(app, "wangfang").must_change_password
    [change] = _audit(app, "password_change")
    assert change["object"] == "user:wangfang" and change["forced"] is True
    assert "my-own-secret-1" not in str(change) and password not in str(change)


def test_a_bearer_token_waits_too_until_the_password_is_changed(app, client, world):
    token = api_token(app, world.mediator)
    with app.app_context():
        from fieldapp.auth.services import get_user
        from fieldapp.people.services import reset_password
        from fieldapp.scope import OPERATOR

        reset_password(OPERATOR, get_user(world.mediator))
        db.session.commit()
    resp = client.get("/api/v1/forms", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 403 and resp.json["error"]["code"] == "password_change_required"


def test_people_are_created_only_within_reach(app, client, world, person):
    person("dc_admin", "admin", "339901")  # an admin of 东城区
    login(client, "dc_admin")
    form = client.get("/admin/users/new").get_data(as_text=True)
    assert 'value="339901"' in form and 'value="3399"' not in form  # no city in the list
    assert 'value="339902' not in form
    for area in ("3399", "339902", "339902001001"):  # the city, the other district
        resp = _create(client, username="x1", display_name="某人", role="mediator", area=area)
        assert resp.status_code == 400 and "不是有效的选择" in resp.get_data(as_text=True)
    assert _user(app, "x1") is None
    ok = _create(client, username="dc_sup", display_name="督导二", role="supervisor", area="339901")
    assert ok.status_code == 200 and _user(app, "dc_sup").role == "supervisor"

    switch_user(client, world.supervisor)  # 东城区's supervisor: mediators only
    form = client.get("/admin/users/new").get_data(as_text=True)
    assert re.findall(
        r'<option value="(\w+)"', form.split('name="role"')[1].split("</select>")[0]
    ) == ["mediator"]
    for role in ("supervisor", "admin", "researcher"):
        resp = _create(client, username="x2", display_name="某人", role=role, area="339901001001")
        assert resp.status_code == 400 and _user(app, "x2") is None
    resp = _create(client, username="x3", display_name="某人", role="mediator", area="339902001001")
    assert _user(app, "x3") is None
    resp = _create(client, username="x4", display_name="某人", role="mediator", area="339901001002")
    assert resp.status_code == 200 and _user(app, "x4").area.code == "339901001002"


def test_a_new_person_with_form_errors_gets_the_page_again_with_400(app, client, world):
    login(client, world.admin)
    resp = _create(client, username="noname", display_name="", area="339901001001")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请填写姓名" in page
    assert 'value="noname"' in page  # what was typed is kept
    resp = _create(client, username="", display_name="无名", area="339901001001")
    assert resp.status_code == 400 and "请填写用户名" in resp.get_data(as_text=True)
    assert _user(app, "noname") is None and _audit(app, "user_create") == []


def test_an_edit_with_form_errors_gets_the_page_again_with_400(app, client, world):
    login(client, world.admin)
    before = _user(app, world.mediator)
    edit = {"display_name": "", "phone": "139", "role": "mediator", "area": "339901001001"}
    resp = _post(client, f"/admin/users/user/{world.mediator}/edit", edit)
    assert resp.status_code == 400 and "请填写姓名" in resp.get_data(as_text=True)
    after = _user(app, world.mediator)
    assert (after.display_name, after.phone) == (before.display_name, before.phone)
    assert _audit(app, "user_update") == []


def test_the_service_refuses_a_grant_beyond_reach_whoever_calls_it(app, world):
    from fieldapp.areas.services import get_area
    from fieldapp.auth.services import UserError, get_user
    from fieldapp.people.services import create_person, update_person

    with app.app_context():
        supervisor = get_user(world.supervisor)
        with pytest.raises(UserError):
            create_person(supervisor, "y1", "某人", "mediator", get_area("339902001001"))
        with pytest.raises(UserError):
            create_person(supervisor, "y2", "某人", "supervisor", get_area("339901001001"))
        with pytest.raises(UserError):  # a mediator of another district is out of reach
            update_person(
                supervisor,
                get_user(world.mediator3),
                "改名",
                None,
                "mediator",
                get_area("339901001001"),
            )
        with pytest.raises(UserError):  # and moving one's own mediator out of the subtree
            update_person(
                supervisor,
                get_user(world.mediator),
                "和平",
                None,
                "mediator",
                get_area("339902001001"),
            )
        db.session.rollback()


# -- seeing and changing people -----------------------------------------------------


def test_a_supervisor_sees_and_touches_only_the_mediators_of_their_district(app, client, world):
    login(client, world.supervisor)
    page = client.get("/admin/users/").get_data(as_text=True)
    for name in (world.mediator, world.mediator2):
        assert f'/admin/users/user/{name}"' in page
    for name in (world.mediator3, world.admin, world.researcher, world.supervisor):
        assert f'/admin/users/user/{name}"' not in page
    for name in (world.mediator3, world.admin, world.researcher):
        assert client.get(f"/admin/users/user/{name}").status_code == 404
        assert client.get(f"/admin/users/user/{name}/edit").status_code == 404
        for action in ("deactivate", "reset-password"):
            resp = _post(client, f"/admin/users/user/{name}/{action}", page="/admin/users/")
            assert resp.status_code == 404
        assert _user(app, name).active and not _user(app, name).must_change_password
    assert _audit(app, "user_deactivate") == [] and _audit(app, "password_reset") == []

    resp = _post(
        client,
        f"/admin/users/user/{world.mediator2}/edit",
        {
            "display_name": "光明社区 李娟",
            "phone": "13900001111",
            "role": "mediator",
            "area": "339901001001",
        },
    )
    assert resp.status_code == 302
    moved = _user(app, world.mediator2)
    assert moved.display_name == "光明社区 李娟" and moved.area.code == "339901001001"
    [event] = _audit(app, "user_update")
    assert event["changes"]["area"] == ["339901001002", "339901001001"]


def test_a_district_admin_neither_sees_nor_edits_the_other_district(app, client, world, person):
    person("xs_admin", "admin", "339902")  # an admin of 西山县
    login(client, "xs_admin")
    page = client.get("/admin/users/").get_data(as_text=True)
    assert f'/admin/users/user/{world.mediator3}"' in page
    for name in (world.mediator, world.supervisor, world.admin):
        assert f'/admin/users/user/{name}"' not in page
        assert client.get(f"/admin/users/user/{name}").status_code == 404
    edit = {"display_name": "柳树村", "phone": "", "role": "admin", "area": "3399"}
    resp = _post(client, f"/admin/users/user/{world.mediator3}/edit", edit)
    assert resp.status_code == 400 and "不是有效的选择" in resp.get_data(as_text=True)
    assert _user(app, world.mediator3).role == "mediator"
    # the filters show only what is within reach; a foreign area in the URL narrows nothing
    assert 'value="339901' not in page
    foreign = client.get("/admin/users/?area=339901001001").get_data(as_text=True)
    assert f'/admin/users/user/{world.mediator}"' not in foreign


def test_the_list_filters_by_role_area_state_and_text(app, client, world, person):
    person("old_hand", "mediator", "339902001001")
    login(client, world.admin)
    _post(client, "/admin/users/user/old_hand/deactivate", page="/admin/users/user/old_hand")

    def names(query: str) -> set[str]:
        page = client.get(f"/admin/users/?{query}").get_data(as_text=True)
        return set(re.findall(r'/admin/users/user/([\w.-]+)"', page))

    assert names("role=mediator") == {"mediator", "mediator2", "mediator3", "old_hand"}
    assert names("area=339902") == {"mediator3", "old_hand"}
    assert names("active=0") == {"old_hand"}
    assert names("active=1&area=339902") == {"mediator3"}
    assert names("q=光明") == {"mediator2"}
    assert "已停用" in client.get("/admin/users/?active=0").get_data(as_text=True)
    assert client.get("/admin/users/?role=nonsense&area=nowhere").status_code == 200


def test_nobody_manages_themselves_on_the_people_pages(client, world):
    login(client, world.admin)
    assert "您自己的账号" in client.get("/admin/users/user/admin").get_data(as_text=True)
    assert client.get("/admin/users/user/admin/edit").status_code == 403
    resp = _post(client, "/admin/users/user/admin/deactivate", page="/admin/users/")
    assert resp.status_code == 403


def test_researchers_and_mediators_have_no_people_pages(app, world):
    for who in (world.researcher, world.mediator):
        client = app.test_client()
        login(client, who)
        assert client.get("/admin/users/").status_code == 403
        assert client.get("/admin/users/import").status_code == 403
        assert "/admin/users/" not in client.get("/?online").get_data(as_text=True)
    client = app.test_client()
    login(client, world.supervisor)
    assert "/admin/users/" in client.get("/?online").get_data(as_text=True)


# -- deactivating and passwords -----------------------------------------------------


def test_a_deactivated_mediator_is_locked_out_at_once_and_their_data_stays(app, world, submit):
    from fieldapp.submissions.models import Submission

    phone = app.test_client()  # the mediator's phone: logged in, with a token too
    login(phone, world.mediator)
    token = api_token(app, world.mediator)
    [sent] = submit(SCREENING, [screening_answers()], by=world.mediator)
    admin = app.test_client()
    login(admin, world.admin)
    resp = _post(admin, "/admin/users/user/mediator/deactivate", page="/admin/users/user/mediator")
    assert resp.status_code == 302

    # The phone app is told why (not "login expired": it keeps the work, names whom to ask).
    me = phone.get("/api/v1/me")
    assert me.status_code == 403 and me.json["error"]["code"] == "account_deactivated"
    assert "已停用" in me.json["error"]["message"]
    assert phone.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    xml, _iid = submission_xml("family_screening", "x", {"a": "1"})
    assert post_submission(phone, xml, token=token).status_code == 401
    assert post_submission(phone, xml, csrf="anything").status_code in (401, 400)
    refused = login(app.test_client(), world.mediator)
    assert "此账号已停用" in refused.get_data(as_text=True)
    wrong = login(app.test_client(), world.mediator, "not-the-password")
    assert "用户名或密码不正确" in wrong.get_data(as_text=True)  # no hint to a guesser
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Submission).where(Submission.instance_id == sent)
            )
            == 1
        )
    [event] = _audit(app, "user_deactivate")
    assert event["object"] == "user:mediator" and event["tokens_revoked"] >= 1

    _post(admin, "/admin/users/user/mediator/reactivate", page="/admin/users/user/mediator")
    assert login(app.test_client(), world.mediator).status_code == 302
    assert phone.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert len(_audit(app, "user_reactivate")) == 1


def test_a_supervisor_resets_a_password_and_the_mediator_must_change_it(app, world):
    phone = app.test_client()
    login(phone, world.mediator)
    office = app.test_client()
    login(office, world.supervisor)
    resp = _post(office, "/admin/users/user/mediator/reset-password", page="/admin/users/")
    assert resp.status_code == 200
    password = _otp(resp.get_data(as_text=True))
    assert phone.get("/api/v1/me").status_code == 401  # the old login has ended
    assert "用户名或密码不正确" in login(app.test_client(), world.mediator).get_data(as_text=True)
    login(phone, world.mediator, password)
    assert phone.get("/api/v1/me").status_code == 403
    assert _change_password(phone, "wrong-one", "brand-new-pw").status_code == 400
    assert _change_password(phone, password, "brand-new-pw").status_code == 302
    assert phone.get("/api/v1/me").status_code == 200
    [event] = _audit(app, "password_reset")
    assert event["object"] == "user:mediator" and password not in str(event)


def test_everyone_changes_their_own_password_and_language(app, client, world):
    login(client, world.researcher)
    page = client.get("/account").get_data(as_text=True)
    assert "我的账号" in page and "市妇联研究员" in page
    _post(client, "/account/language", {"language": "en"}, page="/account")
    assert 'lang="en"' in client.get("/account").get_data(as_text=True)
    assert _user(app, world.researcher).language == "en"
    switch_user(client, world.researcher)  # a later login, another day: still English
    assert 'lang="en"' in client.get("/account").get_data(as_text=True)
    resp = _change_password(client, world.password, "short")
    assert resp.status_code == 400
    assert _change_password(client, world.password, "a-longer-one-9").status_code == 302
    assert login(app.test_client(), world.researcher, "a-longer-one-9").status_code == 302


# -- bulk import --------------------------------------------------------------------


def _upload(client, data: bytes, name: str = "users.xlsx"):
    token = csrf_token(client, "/admin/users/import")
    return client.post(
        "/admin/users/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _run_import(client, page: str) -> str:
    """Confirm a previewed import and drive its steps; return the sheet."""
    confirm = re.search(r'action="(/admin/users/import/[^"]+/confirm)"', page).group(1)
    resp = _post(client, confirm, page="/admin/users/")
    progress = resp.headers["Location"]
    for _ in range(100):
        resp = _post(client, progress + "/step", page=progress)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        if resp.headers["Location"].endswith("/sheet"):
            return client.get(resp.headers["Location"]).get_data(as_text=True)
    raise AssertionError("the import never finished")


def test_a_file_with_problems_is_refused_whole_with_every_row_named(app, client, world):
    login(client, world.supervisor)
    resp = _upload(
        client,
        xlsx(
            [
                ["用户名", "姓名", "角色", "区划代码", "手机"],
                ["zhao", "赵敏", "调解员", 339901001001, 13812345678],  # fine
                ["zhao", "赵敏二", "调解员", "339901001002", ""],  # twice in the file
                ["mediator2", "重名", "调解员", "339901001002", ""],  # taken
                ["qian", "钱", "督导", "339901001001", ""],  # beyond a supervisor's reach
                ["sun", "孙", "调解员", "339902001001", ""],  # another district
                ["li", "李", "调解员", "999999", ""],  # no such area
                ["zhou", "周", "厨师", "339901001001", ""],  # no such role
                ["wu", "吴", "调解员", "339901001001", "12345"],  # not a mobile number
                ["bad name", "", "调解员", "339901001001", ""],
            ]
        ),
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "未导入，没有创建任何用户" in page and "8 行有问题" in page
    for text in (
        "在文件中重复（第 2 行已有）",
        "用户名 mediator2 已存在",
        "您不能设置角色“督导”",
        "没有代码为“339902001001”的区划，或不在您的管理范围内",
        "没有代码为“999999”的区划",
        "未知角色“厨师”",
        "11 位大陆手机号码",
        "用户名只能用",
        "姓名不能为空",
    ):
        assert text in page, text
    assert "确认导入" not in page
    from fieldapp.people.models import UserImport

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserImport)) == 0
    assert _user(app, "zhao") is None


def test_broken_empty_and_oversized_files_get_a_plain_answer(client, world):
    login(client, world.admin)
    cases = [
        (b"this is no spreadsheet", "无法读取该文件"),
        (xlsx([["username", "name"], ["a", "b"]]), "缺少：role、area_code"),
        (xlsx([["username", "name", "role", "area code"]]), "文件中没有用户"),
        (b"PK" + b"\0" * (6 * 1024 * 1024), "文件太大"),
    ]
    for data, message in cases:
        resp = _upload(client, data)
        assert resp.status_code == 400 and message in resp.get_data(as_text=True), message
    resp = client.post("/admin/users/import", data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 400 and "请选择文件" in resp.get_data(as_text=True)


def test_a_good_file_becomes_users_and_a_sheet_printed_once(app, client, world, monkeypatch):
    from fieldapp.people import importer

    monkeypatch.setattr(importer, "STEP_SECONDS", 0.0)  # one batch per step: several steps
    login(client, world.admin)
    rows = [["username", "name", "role", "area code", "phone"]]
    rows += [[f"m{i:02}", f"调解员{i}", "mediator", "339902001001", ""] for i in range(9)]
    rows += [["ds1", "西山督导", "supervisor", "339902", "+86 139 0000 1111"]]
    resp = _upload(client, xlsx(rows))
    assert resp.status_code == 200
    preview = resp.get_data(as_text=True)
    assert "全部没有问题" in preview and "确认导入 10 个用户" in preview
    assert _user(app, "m00") is None  # nothing before the confirmation

    sheet = _run_import(client, preview)
    passwords = dict(
        re.findall(
            r"<td>([\w.-]+)</td></tr>\s*<tr><td>一次性密码</td><td class=\"secret\">(\w+)<", sheet
        )
    )
    assert len(passwords) == 10 and "css/import_sheet.css" in sheet
    assert "size: A4" in client.get("/static/css/import_sheet.css").get_data(as_text=True)
    assert _user(app, "ds1").phone == "13900001111" and _user(app, "ds1").role == "supervisor"
    assert all(_user(app, f"m{i:02}").must_change_password for i in range(9))
    # the sheet is shown once: the staged rows and the key are gone
    from fieldapp.people.models import UserImport

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserImport)) == 0
    [event] = _audit(app, "users_import")
    assert event["count"] == 10 and not any(p in str(event) for p in passwords.values())
    assert len(_audit(app, "user_create")) == 10

    mobile = app.test_client()
    login(mobile, "m03", passwords["m03"])
    assert mobile.get("/api/v1/me").status_code == 403  # first the new password
    _change_password(mobile, passwords["m03"], "mine-now-123")
    assert mobile.get("/api/v1/me").json["username"] == "m03"


def test_the_sheet_cannot_be_opened_twice_nor_by_someone_else(app, client, world, person):
    person("admin2", "admin", "3399")
    login(client, world.admin)
    data = xlsx([["用户名", "姓名", "角色", "区划代码"], ["lin", "林", "调解员", "339901001001"]])
    preview = _upload(client, data).get_data(as_text=True)
    confirm = re.search(r'action="(/admin/users/import/[^"]+/confirm)"', preview).group(1)
    progress = _post(client, confirm, page="/admin/users/").headers["Location"]
    other = app.test_client()
    login(other, "admin2")
    assert other.get(progress).status_code == 404
    assert _post(other, progress + "/step", page="/admin/users/").status_code == 404
    done = _post(client, progress + "/step", page=progress)
    sheet_url = done.headers["Location"]
    assert other.get(sheet_url).status_code == 404
    assert "lin" in client.get(sheet_url).get_data(as_text=True)
    assert client.get(sheet_url).status_code == 404  # shown once


def test_a_username_taken_while_importing_stops_the_whole_import(app, client, world, person):
    login(client, world.admin)
    data = xlsx(
        [
            ["用户名", "姓名", "角色", "区划代码"],
            ["he", "何", "调解员", "339901001001"],
            ["lv", "吕", "调解员", "339901001001"],
        ]
    )
    preview = _upload(client, data).get_data(as_text=True)
    confirm = re.search(r'action="(/admin/users/import/[^"]+/confirm)"', preview).group(1)
    progress = _post(client, confirm, page="/admin/users/").headers["Location"]
    person("lv", "mediator", "339902001001")  # someone else was quicker
    resp = _post(client, progress + "/step", page=progress)
    assert resp.status_code == 409
    assert "用户名 lv 已存在" in resp.get_data(as_text=True)
    assert _user(app, "he") is None


def test_an_import_interrupted_by_a_new_login_creates_nobody(app, client, world):
    login(client, world.admin)
    data = xlsx([["用户名", "姓名", "角色", "区划代码"], ["gu", "顾", "调解员", "339901001001"]])
    preview = _upload(client, data).get_data(as_text=True)
    confirm = re.search(r'action="(/admin/users/import/[^"]+/confirm)"', preview).group(1)
    progress = _post(client, confirm, page="/admin/users/").headers["Location"]
    switch_user(client, world.admin)  # a new session: the key of the passwords is gone
    resp = client.get(progress, follow_redirects=True)
    assert "导入已中断" in resp.get_data(as_text=True)
    assert _user(app, "gu") is None


def test_the_template_downloads_with_the_chinese_columns(client, world):
    login(client, world.supervisor)
    resp = client.get("/admin/users/import/template.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == ("用户名", "姓名", "角色", "区划代码", "手机")
    assert rows[1][2] == "调解员" and rows[1][3] == "339901"


# -- the command line ---------------------------------------------------------------


def _cli(app, runner, monkeypatch, *args):
    from fieldapp.cli import main

    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    return runner.invoke(main, ["users", *map(str, args)])


def test_the_operator_lists_deactivates_reactivates_and_resets_from_the_cli(
    app, world, runner, monkeypatch, tmp_path
):
    listed = _cli(app, runner, monkeypatch, "list", "--area", "339902")
    assert listed.exit_code == 0 and listed.output.startswith("mediator3\t柳树村调解员\tmediator")
    assert _cli(app, runner, monkeypatch, "deactivate", "mediator3").exit_code == 0
    assert "已停用" in _cli(app, runner, monkeypatch, "list", "--state", "inactive").output
    assert login(app.test_client(), "mediator3").status_code == 200  # refused
    assert _cli(app, runner, monkeypatch, "reactivate", "mediator3").exit_code == 0
    reset = _cli(app, runner, monkeypatch, "reset-password", "mediator3")
    password = reset.stdout.strip().splitlines()[-1]
    assert login(app.test_client(), "mediator3", password).status_code == 302
    assert [e["via"] for e in _audit(app, "password_reset")] == ["cli"]
    missing = _cli(app, runner, monkeypatch, "deactivate", "nobody")
    assert missing.exit_code == 1 and "没有用户 nobody" in missing.output

    file = tmp_path / "users.xlsx"
    file.write_bytes(xlsx([["用户名", "姓名", "角色", "区划代码"], ["cli1", "甲", "督导", "3399"]]))
    imported = _cli(app, runner, monkeypatch, "import", file)
    assert imported.exit_code == 0, imported.output
    username, name, otp = imported.stdout.strip().splitlines()[-1].split("\t")
    assert (username, name) == ("cli1", "甲")
    assert login(app.test_client(), "cli1", otp).status_code == 302
    file.write_bytes(xlsx([["用户名", "姓名", "角色", "区划代码"], ["cli1", "甲", "督导", "3399"]]))
    again = _cli(app, runner, monkeypatch, "import", file)
    assert again.exit_code == 1 and "已存在" in again.output


# -- hostile and sloppy files, codes as people write them ----------------------------


def test_a_million_row_xlsx_is_refused_fast_and_creates_nobody(app, client, world):
    """A 5 MB .xlsx that unzips to a million rows: refused before openpyxl reads it."""
    import time

    from fieldapp.people.models import UserImport
    from tests.helpers_spreadsheets import xlsx_bomb

    data = xlsx_bomb()
    login(client, world.admin)
    started = time.monotonic()
    resp = _upload(client, data, "bomb.xlsx")
    assert time.monotonic() - started < 5
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "文件解压后过大，不像是一份名单" in page or "行数过多（最多 5000 行）" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserImport)) == 0


def test_a_users_file_without_a_declared_size_is_read_no_further_than_the_cap(app, monkeypatch):
    from fieldapp.people import importer
    from tests.helpers_spreadsheets import xlsx_bomb

    data = xlsx_bomb(lying=True)
    monkeypatch.setattr(importer, "MAX_UNZIPPED_BYTES", 10**9)  # let it past the zip check
    with app.test_request_context(), pytest.raises(importer.ImportFileError, match="行数过多"):
        importer.read_xlsx(data)


def test_area_codes_may_be_12_digits_or_full_width_in_the_users_file(app, client, world):
    from fieldapp.people.models import UserImport

    login(client, world.admin)
    resp = _upload(
        client,
        xlsx(
            [
                ["用户名", "姓名", "角色", "区划代码"],
                ["dsup", "区督导", "督导", "339901000000"],
                ["tsup", "街道督导", "督导", "339901001000"],
                ["vmed", "村调解员", "调解员", "３３９９０１００１００１"],
            ]
        ),
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200, page[-3000:]
    assert "确认导入 3 个用户" in page
    with app.app_context():
        staged = db.session.scalars(select(UserImport)).one().rows
    assert [r["area_code"] for r in staged] == ["339901", "339901001", "339901001001"]


def test_deactivated_areas_are_not_offered_for_new_users_or_forms(app, client, world, person):
    from fieldapp.areas.models import Area

    def set_active(active: bool) -> None:
        with app.app_context():
            db.session.execute(update(Area).where(Area.code.like("339902%")).values(active=active))
            db.session.commit()

    person("m_xs", "mediator", "339902001001")
    set_active(False)
    try:
        login(client, world.admin)
        form = client.get("/admin/users/new").get_data(as_text=True)
        assert 'value="339901"' in form and 'value="339902' not in form
        edit = client.get("/admin/users/user/m_xs/edit").get_data(as_text=True)
        assert 'value="339902001001"' in edit  # the area the user has stays choosable
        assert 'value="339902"' not in edit
        upload = client.get("/surveys/upload").get_data(as_text=True)
        assert 'value="339901"' in upload and 'value="339902' not in upload
        listing = client.get("/admin/users/").get_data(as_text=True)
        assert 'value="339902"' in listing  # finding people still reaches them
    finally:
        set_active(True)
