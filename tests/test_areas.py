"""The area tree (行政区划, issue 9): an admin imports a city from a file (CLI and
browser), browses it one level at a time with counts, adds, renames, moves, deactivates
and deletes areas; a bad file is refused whole; nobody reaches outside their subtree."""

from __future__ import annotations

import io
import time

import pytest
from sqlalchemy import func, select

from fieldapp.areas.models import Area
from fieldapp.audit.models import AuditEvent
from fieldapp.cli import main
from fieldapp.extensions import db
from tests.helpers import SCREENING, csrf_token, login, screening_answers, switch_user, xlsx
from tests.helpers_areas import CITY_CODE, city_rows, write_city
from tests.helpers_spreadsheets import xlsx_bomb

# -- fixtures ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def world_areas_restored(app):
    """After each test the world's areas are as the demo made them (names, places,
    active), and the areas a test added under them go with the cleanup."""
    yield
    from fieldapp.demo.loader import AREAS

    with app.app_context():
        db.session.rollback()
        by_code = {a.code: a for a in db.session.scalars(select(Area))}
        world = {code for code, *_ in AREAS}
        if not world <= set(by_code):  # a test without the world
            return
        for area in by_code.values():
            if area.code not in world and area.code.startswith("3399"):
                area.code = f"x{area.code}"  # no longer "3399%": the cleanup deletes it
        for code, name, level, parent in AREAS:
            area = by_code[code]
            area.name, area.level, area.active = name, level, True
            area.parent = by_code[parent] if parent else None
            area.path = (by_code[parent].path if parent else "/") + code + "/"
        db.session.commit()


@pytest.fixture
def cli_db(app, database_url, monkeypatch):
    """Point the ``fieldapp`` command at the test database (the one ``world`` is in)."""
    monkeypatch.setenv("FIELDAPP_DATABASE_URL", database_url)
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.instance_path)
    monkeypatch.setenv("FIELDAPP_SECRET_KEY", "test-only-secret")


def area(app, code: str) -> Area | None:
    """The area ``code`` as stored now (detached, read in its own context)."""
    with app.app_context():
        found = db.session.scalar(select(Area).where(Area.code == code))
        if found is not None:
            db.session.expunge(found)
        return found


def area_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Area))


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        for e in found:
            db.session.expunge(e)
        return found


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    return "\n".join(",".join(str(c) for c in r) for r in rows).encode(encoding)


def upload(client, data: bytes, name: str):
    """Choose a file on the import page and press 检查文件 (the preview)."""
    return client.post(
        "/admin/areas/import",
        data={
            "file": (io.BytesIO(data), name),
            "csrf_token": csrf_token(client, "/admin/areas/import"),
        },
        content_type="multipart/form-data",
    )


def confirm(client, preview_html: str):
    """Press 确认导入 on a preview page."""
    import re

    fields = dict(
        re.findall(r'name="(token|digest|csrf_token)" type="hidden" value="([^"]+)"', preview_html)
    )
    return client.post("/admin/areas/import/confirm", data=fields)


def post(client, path: str, **data):
    """A form on an area page, with the page's CSRF token."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/admin/areas/")})


# -- the command line, from an empty database ----------------------------------------


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """The ``fieldapp`` command on an empty instance folder of its own."""
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("FIELDAPP_DATABASE_URL", raising=False)
    return tmp_path


def test_operator_sets_up_a_city_of_2000_villages_from_the_command_line(fresh, runner):
    """`fieldapp init`, a dry run that saves nothing, the import (fast), a listing, the
    first admin, then a re-import that renames two villages and adds one."""
    assert runner.invoke(main, ["init"]).exit_code == 0
    rows = city_rows()
    villages = [r for r in rows if not r[0].endswith("000")]
    assert len(rows) > 2100 and len(villages) == 2000
    path = write_city(fresh / "临江市.xlsx", rows)

    dry = runner.invoke(main, ["areas", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"试运行（未保存）：新增 {len(rows)} 个，改名 0 个，不变 0 个" in dry.output
    assert "还没有区划" in runner.invoke(main, ["areas", "list"]).output

    started = time.perf_counter()
    done = runner.invoke(main, ["areas", "import", str(path)])
    seconds = time.perf_counter() - started
    assert done.exit_code == 0, done.output
    assert f"已导入 临江市.xlsx：新增 {len(rows)} 个" in done.output
    assert seconds < 15, f"importing {len(rows)} areas took {seconds:.1f} s"

    listing = runner.invoke(main, ["areas", "list", CITY_CODE, "--depth", "1"]).output
    assert listing.splitlines()[0].startswith("3397  临江市  市")
    assert len(listing.splitlines()) == 12 and "  339781  清源市  县/市/区" in listing
    made = runner.invoke(
        main,
        ["users", "create", "cityadmin", "--role", "admin", "--area", "339700000000"],
        input="first-admin-pw\nfirst-admin-pw\n",
    )
    assert made.exit_code == 0, made.output

    # A year later: two villages renamed, one new, parents left out (12-digit codes).
    changed = [[c, n] for c, n, _p in rows]
    changed[-1][1], changed[-2][1] = "新名村", "改名社区"
    changed.append([villages[-1][0][:9] + "299", "新建村"])
    write_city(fresh / "again.csv", [(*r, "") for r in changed], parents=False, headers="en")
    again = runner.invoke(main, ["areas", "import", str(fresh / "again.csv"), "--dry-run"])
    assert f"试运行（未保存）：新增 1 个，改名 2 个，不变 {len(rows) - 2} 个" in again.output
    assert (
        f"改名  第 {len(rows) + 1} 行  {villages[-1][0]}  {villages[-1][1]} → 新名村"
        in again.output
    )
    again = runner.invoke(main, ["areas", "import", str(fresh / "again.csv")])
    assert "新增 1 个，改名 2 个" in again.output
    village = runner.invoke(main, ["areas", "list", villages[-1][0]]).output
    assert village.startswith(f"{villages[-1][0]}  新名村  村/社区")

    from fieldapp import create_app

    with create_app().app_context():
        logged = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "areas_import").order_by(AuditEvent.id)
        ).all()
        assert [(e.user_id, e.detail["via"], e.detail["added"]) for e in logged] == [
            (None, "cli", len(rows)),
            (None, "cli", 1),
        ]
        assert logged[1].detail["renames"][0][1:] in (
            [villages[-1][1], "新名村"],
            [villages[-2][1], "改名社区"],
        )


def test_a_bad_file_is_refused_whole_from_the_command_line(cli_db, world, runner, tmp_path, app):
    before = area_count(app)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        csv_bytes(
            [
                ["代码", "名称", "上级代码"],
                ["339902002", "白云镇", "339902"],  # fine, but the file is refused
                ["339902002001", "", ""],
                ["339902009001", "远村", ""],
            ]
        )
    )
    result = runner.invoke(main, ["areas", "import", str(bad)])
    assert result.exit_code == 1
    assert "未导入，区划没有任何改动" in result.output
    assert "第 3 行：名称为空" in result.output
    assert "第 4 行：由代码推断的上级 339902009 不存在" in result.output
    assert area_count(app) == before and area(app, "339902002") is None


# -- codes: short and 12-digit forms ---------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("3399", "3399"),
        ("339900000000", "3399"),
        ("339901000000", "339901"),
        ("339901001000", "339901001"),
        ("339901001001", "339901001001"),
        (" 339901 ", "339901"),
        ("A-12", "A-12"),
    ],
)
def test_a_12_digit_code_names_the_same_area_as_its_short_form(app, world, typed, stored):
    from fieldapp.areas.codes import normalise
    from fieldapp.areas.services import get_area

    with app.test_request_context():
        assert normalise(typed) == stored
        if stored.isdigit():
            assert get_area(typed).code == stored


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("330000000000", "是省级代码；本系统的区划从市开始"),
        ("339900", "末段全为 0，即 3399；请写作 3399 或 12 位的 339900000000"),
        ("330100001000", "不是有效的统计用区划代码"),
        ("33/01", "只能由字母、数字和连字符组成"),
        ("a_b", "只能由字母、数字和连字符组成"),  # "_" would be a LIKE wildcard in paths
    ],
)
def test_codes_that_cannot_name_an_area_are_explained(app, typed, reason):
    from fieldapp.areas.codes import CodeError, normalise

    with app.test_request_context(), pytest.raises(CodeError, match=reason):
        normalise(typed)


# -- importing in the browser ------------------------------------------------------


def test_admin_previews_then_confirms_an_import_in_the_browser(client, world, app):
    """A preview saves nothing; the confirmation applies exactly what it showed."""
    login(client, world.admin)
    page = client.get("/admin/areas/import")
    assert page.status_code == 200 and "代码、名称、上级代码" in page.get_data(as_text=True)
    data = xlsx(
        [
            ["代码", "名称", "上级代码"],
            ["339901001002", "光明新社区", None],  # 12-digit form of an existing village
            [339902002000, "白云镇", None],  # a number in Excel; parent inferred
            ["339902002001", "白云村", "339902002000"],
            ["339902001001", "柳树村", ""],  # unchanged
        ]
    )
    before = area_count(app)
    preview = upload(client, data, "西山县.xlsx")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html
    assert 'id="n-added">2<' in html and 'id="n-renamed">1<' in html
    assert 'id="n-unchanged">1<' in html and "光明社区" in html and "光明新社区" in html
    assert area_count(app) == before and area(app, "339901001002").name == "光明社区"

    done = confirm(client, html)
    assert done.status_code == 302
    assert "已导入 西山县.xlsx：新增 2 个，改名 1 个，不变 1 个" in client.get(
        done.location
    ).get_data(as_text=True)
    assert area(app, "339901001002").name == "光明新社区"
    village = area(app, "339902002001")
    assert (village.level, village.path) == ("village", "/3399/339902/339902002/339902002001/")
    (event,) = events(app, "areas_import")
    assert event.object == "file:西山县.xlsx" and event.detail["added"] == 2
    assert event.detail["renames"] == [["339901001002", "光明社区", "光明新社区"]]
    assert confirm(client, html).status_code == 302  # the kept file is gone: start again


def test_a_confirmation_after_the_tree_changed_shows_the_new_preview(client, world, app):
    login(client, world.admin)
    data = csv_bytes([["code", "name"], ["339901001001", "和平东社区"]])
    html = upload(client, data, "a.csv").get_data(as_text=True)
    post(client, "/admin/areas/tree/339901001001/rename", name="和平东社区")  # meanwhile
    again = confirm(client, html)
    assert again.status_code == 409
    assert "区划在预览之后有了变化" in again.get_data(as_text=True)
    assert 'id="n-unchanged">1<' in again.get_data(as_text=True)
    assert len(events(app, "areas_import")) == 0


BAD_FILES = [
    pytest.param(
        [["代码", "名称", "上级代码"], ["339902002", "白云镇", "339902"], ["X1", "某村", "9999"]],
        "第 3 行：上级代码 9999 不存在",
        id="unknown-parent",
    ),
    pytest.param(
        [["code", "name", "parent"], ["339902002", "白云镇", ""], ["339902002000", "白云镇", ""]],
        "第 3 行：代码 339902002 重复（第 2 行已有）",
        id="duplicate-code",
    ),
    pytest.param(
        [["code", "name", "parent"], ["A1", "甲", "B1"], ["B1", "乙", "A1"]],
        "第 2 行：上级关系成环：A1 → B1 → A1",
        id="cycle",
    ),
    pytest.param(
        [["code", "name", "parent"], ["339902001009", "远村", "339902"]],
        "第 2 行：级别不对：339902001009 是村/社区代码，应放在镇/街道之下，不能放在县/市/区之下",
        id="bad-nesting",
    ),
    pytest.param(
        [["code", "name", "parent"], ["V1", "小组", "339902001001"]],
        "第 2 行：村/社区之下不能再有下级区划",
        id="below-a-village",
    ),
    pytest.param(
        [["code", "name", "parent"], ["339902002", "  ", "339902"]],
        "第 2 行：名称为空",
        id="empty-name",
    ),
    pytest.param(
        [["code", "name", "parent"], ["330000000000", "某省", ""]],
        "第 2 行：330000000000 是省级代码",
        id="province",
    ),
    pytest.param(
        [["区划", "名字"], ["339902002", "白云镇"]],
        "第 1 行：表头应为 代码,名称,上级代码 或 code,name,parent",
        id="headers",
    ),
    pytest.param(
        [["code", "name", "parent"], ["339901001009", "东城新村", ""]],  # 东城区, not his
        "第 2 行：由代码推断的上级 339901001 不存在（文件和系统里都没有），或不在您的管辖范围内",
        id="outside-scope",
    ),
    pytest.param(
        [["code", "name", "parent"], ["3398", "邻市", ""]],
        "第 2 行：新增顶级区划 3398 只能由服务器管理员用命令行导入",
        id="new-root",
    ),
    pytest.param(  # a 东城区 village code under 西山县's town
        [["code", "name", "parent"], ["339901001009", "错位村", "339902001"]],
        "第 2 行：代码 339901001009 是 339901001 下的统计用区划代码，不能放在 339902001 之下",
        id="parent-contradicts-code",
    ),
]


@pytest.mark.parametrize(("rows", "reason"), BAD_FILES)
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_with_a_bad_row_is_refused_whole(client, world, app, rows, reason, kind):
    """The admin of 西山县 uploads a file with one bad row: nothing changes, and the page
    says which row and why, in Chinese."""
    from fieldapp.areas.services import get_area
    from fieldapp.auth.services import create_user

    with app.app_context():
        create_user("xsadmin", world.password, "admin", get_area("339902"), "西山县管理员")
        db.session.commit()
    login(client, "xsadmin")
    before = area_count(app)
    data = csv_bytes(rows) if kind == "csv" else xlsx(rows)
    resp = upload(client, data, f"bad.{kind}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "文件未导入，区划没有任何改动" in html and reason in html
    assert area_count(app) == before


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"PK\x03\x04 not really a workbook", "areas.xlsx", "文件无法读取：不是有效的 .xlsx 文件"),
        (b"\x00\x01\x02binary", "areas.csv", "文件无法读取：不是文本格式的 CSV"),
        (b"code,name\n", "areas.csv", "文件里没有区划"),
        (b"whatever", "areas.xls", "只能导入 .xlsx 或 .csv 文件（.xls 请另存为 .xlsx）"),
        ("代码,名称\n339902002,白云镇\n".encode("gb18030") * 400, "big.csv", "文件太大"),
    ],
)
def test_a_broken_or_too_big_file_is_refused(client, world, app, monkeypatch, data, name, reason):
    monkeypatch.setitem(app.config, "MAX_AREA_FILE_BYTES", 4096)
    login(client, world.admin)
    resp = upload(client, data, name)
    assert resp.status_code == 400 and reason in resp.get_data(as_text=True)


def test_a_gbk_csv_from_excel_is_read(client, world, app):
    """Excel on a Chinese Windows saves CSV as GBK: it is read as such."""
    login(client, world.admin)
    data = csv_bytes([["代码", "名称", "上级代码"], ["339902002", "白云镇", "339902"]], "gbk")
    html = upload(client, data, "gbk.csv").get_data(as_text=True)
    assert 'id="n-added">1<' in html and "白云镇" in html


# -- browsing the tree -------------------------------------------------------------


def test_admin_browses_the_tree_one_level_at_a_time_with_counts(client, world, app, submit):
    submit(SCREENING, [screening_answers(), screening_answers()], by=world.mediator)
    submit("family_screening", [screening_answers()], by=world.mediator3)
    login(client, world.admin)
    html = client.get("/admin/areas/").get_data(as_text=True)
    assert "示例市" in html and "下级县/市/区（2 个）" in html
    assert "用户 6 · 提交 3 · 下级 2" in html  # the city: everyone, everything
    children = html.split('id="children"')[1]
    assert "东城区" in children and "用户 3 · 提交 2 · 下级 1" in children
    assert "西山县" in children and "用户 1 · 提交 1 · 下级 1" in children
    assert "新华街道" not in html  # collapsed: towns are one click further

    town = client.get("/admin/areas/tree/339901001").get_data(as_text=True)
    assert "示例市</a> › <a" in town and "东城区" in town  # the way back up
    assert "和平社区" in town and "光明社区" in town and "柳树村" not in town
    assert 'placeholder="如 339901001003"' in town  # the next free village code

    found = client.get("/admin/areas/search?q=光明").get_data(as_text=True)
    assert "找到 1 个" in found and "示例市 › 东城区 › 新华街道" in found
    by_code = client.get("/admin/areas/search?q=339902001001").get_data(as_text=True)
    assert "柳树村" in by_code
    by_long_code = client.get("/admin/areas/search?q=339902000000").get_data(as_text=True)
    assert "西山县" in by_long_code and "青石镇" in by_long_code  # code prefix: its subtree
    assert "没有找到“%”" in client.get("/admin/areas/search?q=%25").get_data(as_text=True)


def test_the_area_pages_speak_english_when_asked(client, world):
    login(client, world.admin)
    client.get("/lang/en")
    html = client.get("/admin/areas/tree/339901001").get_data(as_text=True)
    assert "Import areas" in html and "Find by name or code" in html
    assert "town/subdistrict · Code 339901001" in html and "Add a village/community" in html


def test_the_tree_of_a_city_of_2000_villages_stays_light(client, world, app):
    """A whole city: each page shows one level; search answers at most 50."""
    from fieldapp.areas.importer import import_areas
    from fieldapp.areas.services import get_area
    from fieldapp.auth.services import create_user
    from fieldapp.scope import OPERATOR

    data = write_city_bytes()
    with app.app_context():
        import_areas(OPERATOR, data, "city.csv")
        create_user("cityadmin", world.password, "admin", get_area(CITY_CODE), "临江市管理员")
        db.session.commit()
    login(client, "cityadmin")
    started = time.perf_counter()
    page = client.get("/admin/areas/")
    seconds = time.perf_counter() - started
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "下级县/市/区（11 个）" in html
    assert html.count('href="/admin/areas/tree/') == 11 and len(html) < 40_000
    assert "用户 1 · 提交 0 · 下级 11" in html and seconds < 3
    district = client.get("/admin/areas/tree/339701").get_data(as_text=True)
    assert 12 <= district.count('href="/admin/areas/tree/3397010') <= 16
    many = client.get("/admin/areas/search?q=村").get_data(as_text=True)
    assert "只显示前 50 个" in many and many.count('class="where"') == 50
    assert "示例市" not in many  # nothing of the other city


def write_city_bytes() -> bytes:
    rows = city_rows()
    return csv_bytes([["代码", "名称", "上级代码"], *[list(r) for r in rows]])


# -- changing the tree ----------------------------------------------------------------


def test_admin_adds_renames_moves_deactivates_and_deletes_areas(client, world, app):
    login(client, world.admin)
    made = post(client, "/admin/areas/tree/339902/add", code="339902002000", name=" 白云镇 ")
    assert made.status_code == 302
    assert "已新增 白云镇（339902002）" in client.get(made.location).get_data(as_text=True)
    post(client, "/admin/areas/tree/339902002/add", code="339902002001", name="白云村")
    post(client, "/admin/areas/tree/339902002/add", code="339902002002", name="白云二村")
    assert area(app, "339902002001").path == "/3399/339902/339902002/339902002001/"

    assert post(client, "/admin/areas/tree/339902002001/rename", name="白云一村").status_code == 302
    assert area(app, "339902002001").name == "白云一村"

    # A town moves to the other district with its villages.
    moved = post(client, "/admin/areas/tree/339902002/move", parent="339901")
    assert "已把 白云镇 移到 东城区（共 3 个区划）" in client.get(moved.location).get_data(
        as_text=True
    )
    assert area(app, "339902002001").path == "/3399/339901/339902002/339902002001/"
    assert area(app, "339902002").parent_id == area(app, "339901").id
    wrong = post(client, "/admin/areas/tree/339902002001/move", parent="339901")
    assert wrong.status_code == 400 and "请从列表中选择新的上级" in wrong.get_data(as_text=True)

    # Deactivated with its villages: nothing new goes in; reactivated the same way.
    post(client, "/admin/areas/tree/339902002/deactivate")
    assert not area(app, "339902002").active and not area(app, "339902002002").active
    refused = post(client, "/admin/areas/tree/339902002/add", code="339902002003", name="新村")
    assert refused.status_code == 400
    assert "白云镇 已停用，不能在其下新增区划" in refused.get_data(as_text=True)
    assert "已停用" in client.get("/admin/areas/tree/339901").get_data(as_text=True)
    post(client, "/admin/areas/tree/339902002/reactivate")
    assert area(app, "339902002002").active

    # Only an empty leaf can be deleted; an area with people or areas below cannot.
    page = client.get("/admin/areas/tree/339902002002").get_data(as_text=True)
    assert "删除 白云二村" in page
    assert post(client, "/admin/areas/tree/339902002002/delete").status_code == 302
    assert area(app, "339902002002") is None
    assert "删除 柳树村" not in client.get("/admin/areas/tree/339902001001").get_data(as_text=True)
    kept = post(client, "/admin/areas/tree/339902001001/delete")
    assert (
        kept.status_code == 400
        and "柳树村 已有用户、问卷或数据，不能删除；可以停用" in kept.get_data(as_text=True)
    )
    kept = post(client, "/admin/areas/tree/339902002/delete")
    assert "白云镇 下面还有区划，不能删除；可以停用" in kept.get_data(as_text=True)

    with app.app_context():
        log = db.session.execute(
            select(AuditEvent.action, AuditEvent.object).order_by(AuditEvent.id)
        ).all()
        admin_id = db.session.scalar(
            select(AuditEvent.user_id).where(AuditEvent.action == "area_move")
        )
    actions = [a for a, _o in log if a.startswith("area")]
    assert actions == [
        "area_create",
        "area_create",
        "area_create",
        "area_rename",
        "area_move",
        "area_deactivate",
        "area_reactivate",
        "area_delete",
    ]
    assert ("area_move", "area:339902002") in log and admin_id is not None


@pytest.mark.parametrize(
    ("path", "data", "status", "reason"),
    [
        (
            "/admin/areas/tree/339901001/add",
            {"code": "339901001003", "name": ""},
            400,
            "请填写代码和名称",
        ),
        (
            "/admin/areas/tree/339901001/add",
            {"code": "339901001001", "name": "重名"},
            400,
            "区划代码 339901001001 已存在",
        ),
        ("/admin/areas/tree/339901001/add", {"code": "339901002", "name": "错级"}, 400, "级别不对"),
        (
            "/admin/areas/tree/339901001/add",
            {"code": "a b", "name": "空格"},
            400,
            "只能由字母、数字和连字符组成",
        ),
        (
            "/admin/areas/tree/339901001001/add",
            {"code": "G1", "name": "小组"},
            400,
            "之下不能再有下级区划",
        ),
        (
            "/admin/areas/tree/339901/rename",
            {"name": "长" * 101},
            400,
            "请填写新名称（最多 100 个字）",
        ),
        ("/admin/areas/tree/339901/move", {"parent": "339902"}, 400, "请从列表中选择新的上级"),
        (  # a 西山县 village code under 东城区's town
            "/admin/areas/tree/339901001/add",
            {"code": "339902001009", "name": "错位村"},
            400,
            "代码 339902001009 是 339902001 下的统计用区划代码，不能放在 339901001 之下",
        ),
    ],
)
def test_bad_input_on_an_area_page_gets_a_message(client, world, app, path, data, status, reason):
    login(client, world.admin)
    before = area_count(app)
    resp = post(client, path, **data)
    assert resp.status_code == status and reason in resp.get_data(as_text=True)
    assert area_count(app) == before and area(app, "339901").name == "东城区"


def test_a_form_without_its_csrf_token_is_refused(client, world, app):
    login(client, world.admin)
    resp = client.post("/admin/areas/tree/339901/rename", data={"name": "改了"})
    assert resp.status_code == 400 and area(app, "339901").name == "东城区"


# -- who may do what -------------------------------------------------------------------


def test_supervisor_adds_and_renames_villages_of_her_district_only(client, world, app):
    """The supervisor of 东城区 sets up a new village for its mediators; she sees and
    changes nothing of 西山县, and does not restructure her own district."""
    login(client, world.supervisor)
    home = client.get("/admin/areas/").get_data(as_text=True)
    assert "东城区" in home and "西山县" not in home and "示例市" not in home
    assert "导入区划" not in home and "移动" not in home
    assert 'href="/admin/areas/"' in home  # the nav link

    town = client.get("/admin/areas/tree/339901001").get_data(as_text=True)
    assert "新增村/社区" in town and "改名" not in town and "停用" not in town
    assert (
        post(
            client, "/admin/areas/tree/339901001/add", code="339901001003", name="幸福社区"
        ).status_code
        == 302
    )
    assert (
        post(client, "/admin/areas/tree/339901001003/rename", name="幸福里社区").status_code == 302
    )
    assert area(app, "339901001003").name == "幸福里社区"

    for path, data in [
        ("/admin/areas/tree/339901/add", {"code": "339901002", "name": "新街道"}),  # a town
        ("/admin/areas/tree/339901001/rename", {"name": "新华路街道"}),  # not a village
    ]:
        resp = post(client, path, **data)
        assert resp.status_code == 403 and "您无权" in resp.get_data(as_text=True)
    for path, data in [
        ("/admin/areas/tree/339901001003/move", {"parent": "339901001"}),
        ("/admin/areas/tree/339901001003/deactivate", {}),
        ("/admin/areas/tree/339901001003/delete", {}),
    ]:
        assert post(client, path, **data).status_code == 403
    assert client.get("/admin/areas/import").status_code == 403

    # 西山县 is not hers: as if it did not exist.
    for path in (
        "/admin/areas/tree/339902",
        "/admin/areas/tree/339902001001",
        "/admin/areas/tree/3399",
    ):
        assert client.get(path).status_code == 404
    for path, data in [
        ("/admin/areas/tree/339902001/add", {"code": "339902001002", "name": "越界村"}),
        ("/admin/areas/tree/339902001001/rename", {"name": "越界"}),
    ]:
        assert post(client, path, **data).status_code == 404
    assert "没有找到" in client.get("/admin/areas/search?q=柳树").get_data(as_text=True)
    assert "西山县" not in client.get("/admin/areas/search?q=3399").get_data(as_text=True)
    assert area(app, "339902001001").name == "柳树村" and area(app, "339902001002") is None


def test_admin_of_one_district_manages_only_below_her_home(client, world, app):
    """An admin of 西山县: her district's areas are hers to restructure, but 西山县 itself
    keeps its place and stays active, and nothing leaves or enters her subtree."""
    from fieldapp.areas.services import get_area
    from fieldapp.auth.services import create_user

    with app.app_context():
        create_user("xsadmin", world.password, "admin", get_area("339902"), "西山县管理员")
        db.session.commit()
    login(client, "xsadmin")
    home = client.get("/admin/areas/").get_data(as_text=True)
    assert "西山县" in home and "东城区" not in home and "停用 西山县" not in home
    assert post(client, "/admin/areas/tree/339902/rename", name="西山区").status_code == 302
    assert post(client, "/admin/areas/tree/339902/deactivate").status_code == 403
    assert post(client, "/admin/areas/tree/339902/delete").status_code == 403
    assert post(client, "/admin/areas/tree/339902/move", parent="3399").status_code in (400, 403)
    assert area(app, "339902").active and area(app, "339902").parent_id == area(app, "3399").id

    post(client, "/admin/areas/tree/339902/add", code="339902002", name="白云镇")
    moved = post(client, "/admin/areas/tree/339902001001/move", parent="339902002")
    assert moved.status_code == 302
    assert area(app, "339902001001").path == "/3399/339902/339902002/339902001001/"
    # 东城区 is out of reach: no page, no target, no change.
    assert client.get("/admin/areas/tree/339901").status_code == 404
    assert post(client, "/admin/areas/tree/339902002/move", parent="339901").status_code in (
        400,
        404,
    )
    assert post(client, "/admin/areas/tree/339901001001/rename", name="越界").status_code == 404
    assert post(client, "/admin/areas/tree/339901/deactivate").status_code == 404
    assert area(app, "339902002").parent_id == area(app, "339902").id
    assert area(app, "339901001001").name == "和平社区" and area(app, "339901").active


@pytest.mark.parametrize("username", ["researcher", "mediator"])
def test_researchers_and_mediators_have_no_area_pages(client, world, username):
    login(client, username)
    assert 'href="/admin/areas/"' not in client.get("/?online").get_data(as_text=True)
    for path in ("/admin/areas/", "/admin/areas/tree/339901001001", "/admin/areas/import"):
        assert client.get(path).status_code == 403
    assert post(client, "/admin/areas/tree/339901001001/rename", name="x").status_code == 403


def test_logged_out_visitors_are_sent_to_the_login_page(client, world):
    resp = client.get("/admin/areas/tree/339901")
    assert resp.status_code == 302 and "/login" in resp.location
    switch_user(client, world.admin)
    assert client.get("/admin/areas/tree/339901").status_code == 200


# -- hostile and sloppy files ------------------------------------------------------------


def test_a_million_row_xlsx_is_refused_fast_by_the_area_import(client, world, app):
    """A 5 MB .xlsx that unzips to a million rows: refused before openpyxl reads it."""
    login(client, world.admin)
    before = area_count(app)
    data = xlsx_bomb()
    started = time.monotonic()
    resp = upload(client, data, "bomb.xlsx")
    assert time.monotonic() - started < 5
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "文件解压后过大，不像是一份区划表" in html or "行数过多（最多 100000 行）" in html
    assert area_count(app) == before


def test_an_xlsx_that_lies_about_its_size_is_read_no_further_than_the_cap(client, world, app):
    login(client, world.admin)
    before = area_count(app)
    data = xlsx_bomb(lying=True)
    started = time.monotonic()
    resp = upload(client, data, "lie.xlsx")
    assert time.monotonic() - started < 5
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "文件解压后过大" in html or "行数过多（最多 100000 行）" in html
    assert area_count(app) == before


def test_the_shared_guard_counts_declared_and_read_rows(app):
    from fieldapp.spreadsheet_files import SpreadsheetFileError, capped_rows, check_xlsx

    small = xlsx([["code", "name"], *[[f"c{i}", "x"] for i in range(20)]])
    with app.test_request_context():
        check_xlsx(small, max_rows=21)
        with pytest.raises(SpreadsheetFileError, match="行数过多（最多 10 行）"):
            check_xlsx(small, max_rows=10)
        with pytest.raises(SpreadsheetFileError, match="文件解压后过大，不像是一份名单"):
            check_xlsx(small, max_unzipped=100)
        with pytest.raises(SpreadsheetFileError, match="行数过多（最多 3 行）"):
            list(capped_rows(iter(range(10)), 3))
        with pytest.raises(SpreadsheetFileError, match="行数过多（最多 10 行）"):
            check_xlsx(xlsx_bomb(lying=True), max_rows=10)  # counted, not declared


def test_a_csv_row_with_more_cells_than_the_header_is_refused(client, world, app):
    """An unquoted comma in a name shifts the parent: the row is named, nothing saved."""
    login(client, world.admin)
    before = area_count(app)
    data = "代码,名称,上级代码\n339902002,白云镇,339902\n339902002001,白云,一村,339902002\n"
    resp = upload(client, data.encode(), "comma.csv")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "第 3 行的列数比表头多：名称中可能有未加引号的逗号" in html
    assert area_count(app) == before and area(app, "339902002") is None


def test_full_width_digits_in_a_code_are_read_as_digits(client, world, app):
    login(client, world.admin)
    made = post(
        client, "/admin/areas/tree/339902/add", code="３３９９０２００２０００", name="白云镇"
    )
    assert made.status_code == 302
    assert area(app, "339902002").name == "白云镇"
    rows = [
        ["代码", "名称", "上级代码"],
        ["３３９９０２００２００１", "白云村", "３３９９０２００２"],
    ]
    preview = upload(client, csv_bytes(rows), "fullwidth.csv")
    assert preview.status_code == 200, preview.get_data(as_text=True)[-2000:]
    assert confirm(client, preview.get_data(as_text=True)).status_code == 302
    assert area(app, "339902002001").path == "/3399/339902/339902002/339902002001/"
