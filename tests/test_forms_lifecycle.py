"""A form's life: drafted and tested on a phone, published (test data discarded), closed,
archived; the media it names listed present or missing, added later without a new
version so phones fetch them; all of it by those who may publish it, in their area only."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fieldapp.audit.models import AuditEvent
from fieldapp.extensions import db
from fieldapp.submissions.models import Submission, SubmissionAttachment
from fieldapp.surveys.models import Form, FormVersion
from tests.helpers import SCREENING, SHARED_FORMS, csrf_token, login, switch_user, xlsform

UCL = SHARED_FORMS / "UCL_Biomass_Plot_Form.xlsx"
SPEC = SHARED_FORMS / "xlsform_spec_test.xlsx"
RAMOP = SHARED_FORMS / "ramOP.xlsx"
UCL_CSVS = [
    "UCL_districts.csv",
    "UCL_regions.csv",
    "UCL_villages.csv",
    "ULC_Biomass_Plots.csv",
    "species_names.csv",
]
TINY = xlsform(
    [["type", "name", "label"], ["integer", "age", "年龄"]],
    settings=[["form_id", "version", "form_title"], ["tiny", "1", "小问卷"]],
)
TINY2 = xlsform(
    [["type", "name", "label"], ["integer", "age", "年龄（岁）"]],
    settings=[["form_id", "version", "form_title"], ["tiny", "2", "小问卷"]],
)
# One of everything that names a file (XLSForm spec: media, external selects, pulldata,
# csv-external; ODK Collect: the search() appearance).
EVERY_MEDIA = xlsform(
    [
        ["type", "name", "label", "calculation", "appearance", "media::image"],
        ["select_one_from_file fruits.csv", "fruit", "水果", "", "", ""],
        ["select_multiple_from_file veg.xml", "veg", "蔬菜", "", "", ""],
        ["select_one_from_file places.geojson", "place", "地点", "", "", ""],
        ["calculate", "price", "", "pulldata('prices', 'price', 'name', ${fruit})", "", ""],
        ["csv-external", "households", "", "", "", ""],
        ["select_one yn", "lookup", "查找", "", "search('villages')", ""],
        ["note", "logo", "标志", "", "", "logo.png"],
    ],
    choices=[["list_name", "name", "label", "media::audio"], ["yn", "1", "是", "yes.mp3"]],
    settings=[["form_id", "version"], ["every_media", "1"]],
)


@pytest.fixture
def people(app, world):
    """Publishers of one district each: 东城区 admin and researcher, 西山县 researcher."""
    from fieldapp.areas.services import get_area
    from fieldapp.auth.services import create_user

    with app.app_context():
        for username, role, code in [
            ("dc_admin", "admin", "339901"),
            ("dc_researcher", "researcher", "339901"),
            ("xs_researcher", "researcher", "339902"),
        ]:
            create_user(username, world.password, role, get_area(code), username)
        db.session.commit()
    return world


def _upload(client, data: bytes, name: str, area="3399", draft=False, media=()):
    fields = {
        "csrf_token": csrf_token(client, "/surveys/upload"),
        "area": area,
        "xlsform": (io.BytesIO(data), name),
        "media": [(io.BytesIO(content), fname) for fname, content in media],
    }
    if draft:
        fields["draft"] = "y"
    return client.post("/surveys/upload", data=fields, content_type="multipart/form-data")


def _post(client, url: str, data: dict | None = None, files=()):
    fields = {"csrf_token": csrf_token(client, "/surveys/"), **(data or {})}
    if files:
        fields["files"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(url, data=fields, content_type="multipart/form-data")


def _form(app, form_id: str) -> dict:
    with app.app_context():
        form = db.session.scalar(select(Form).where(Form.form_id == form_id))
        return {
            "state": form.state,
            "token": form.draft_token,
            "versions": [v.version for v in form.versions],
            "media": {m.filename: m.md5 for m in form.current.media},
        }


def _audit(app, action: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [{"user_id": e.user_id, "object": e.object, **e.detail} for e in rows]


def _cli(app, runner, monkeypatch, *args):
    from fieldapp.cli import main

    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    return runner.invoke(main, ["forms", *map(str, args)])


def _media_rows(page: str) -> dict[str, str]:
    """The form page's media table: {file name: the row's text}."""
    return dict(re.findall(r'<tr data-media="([^"]+)">(.*?)</tr>', page, re.S))


def _submission(app, form_id: str, test: bool, with_file: bool = False) -> int:
    """A stored submission (as the receipt stores one), test data or real."""
    from fieldapp.auth.services import get_user

    with app.app_context():
        form = db.session.scalar(select(Form).where(Form.form_id == form_id))
        user = get_user("mediator")
        n = db.session.scalar(select(func.count(Submission.id))) or 0
        sub = Submission(
            instance_id=f"uuid:lifecycle-{n}-{test}",
            form_pk=form.id,
            form_version_id=form.current.id,
            submitter_id=user.id,
            area_id=user.area_id,
            xml="<data/>",
            xml_sha256=hashlib.sha256(str(n).encode()).hexdigest(),
            data={},
            test=test,
        )
        if with_file:
            sub.attachments.append(
                SubmissionAttachment(
                    filename="photo.jpg", content_type="image/jpeg", sha256="0" * 64, data=b"x"
                )
            )
        db.session.add(sub)
        db.session.commit()
        return sub.id


# -- media the form names ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (UCL, UCL_CSVS),
        (RAMOP, ["form_logo.png"]),
        (
            SPEC,
            [
                "a.jpg",
                "audio_test.wav",
                "b.jpg",
                "chinese_audio.wav",
                "img_test.jpg",
                "img_test_2.jpg",
                "test.mov",
            ],
        ),
        (SHARED_FORMS / "choice_filter_test.xlsx", []),
        (SCREENING, []),
    ],
    ids=lambda v: v.name if isinstance(v, Path) else None,
)
def test_the_media_a_real_form_names_are_found_at_publish(app, publish, path, expected):
    form_id, _ = publish(path)
    with app.app_context():
        fv = db.session.scalar(select(Form).where(Form.form_id == form_id)).current
        assert fv.schema["media"] == expected


def test_every_kind_of_media_reference_is_found():
    from fieldapp.surveys.media import referenced_media
    from fieldapp.surveys.services import convert_xlsform

    xform, schema, _ = convert_xlsform(EVERY_MEDIA, "every_media.xlsx")
    assert referenced_media(xform) == schema["media"]
    assert schema["media"] == [
        "fruits.csv",
        "households.csv",
        "logo.png",
        "places.geojson",
        "prices.csv",
        "veg.xml",
        "villages.csv",
        "yes.mp3",
    ]


def test_a_form_without_a_version_keeps_its_identifier_marks_and_media_list():
    """Stamping a time-stamp version re-reads the XForm; the marks and media survive."""
    from fieldapp.surveys.services import convert_xlsform

    data = xlsform(
        [
            ["type", "name", "label", "fieldapp::identifier", "media::image"],
            ["text", "head_name", "户主姓名", "pseudonym", "logo.png"],
        ],
        settings=[["form_id"], ["no_version"]],
    )
    _, schema, notes = convert_xlsform(data, "no_version.xlsx")
    assert schema["version"] and "自动设为" in notes[-1]
    assert schema["identifiers"] == {"head_name": "pseudonym"}
    assert schema["media"] == ["logo.png"]


def test_publishing_with_missing_media_warns_in_the_browser_and_the_page_lists_them(
    app, client, world
):
    login(client, world.researcher)
    given = [("UCL_regions.csv", b"name,label\nr1,Region 1\n")]
    resp = _upload(client, UCL.read_bytes(), UCL.name, media=given)
    assert resp.status_code == 302 and resp.location.endswith("/surveys/UCL_Biomass_Plot_Form")
    page = client.get(resp.location).get_data(as_text=True)
    assert "缺少 4 个附件" in page  # the flash and the media card both say so
    assert page.count("UCL_villages.csv") >= 2
    rows = _media_rows(page)
    assert sorted(rows) == UCL_CSVS
    assert [n for n, row in rows.items() if "已上传" in row] == ["UCL_regions.csv"]
    assert len([n for n, row in rows.items() if "缺少" in row]) == 4
    assert _form(app, "UCL_Biomass_Plot_Form")["state"] == "open"  # warned, not refused
    [event] = _audit(app, "form_publish")
    assert event["draft"] is False and event["via"] == "web"
    assert sorted(event["missing_media"]) == [n for n in UCL_CSVS if n != "UCL_regions.csv"]


def test_added_media_reach_collect_and_the_phone_app_without_a_new_version(
    app, client, world, publish
):
    from tests.helpers import api_token

    form_id, version = publish(RAMOP)
    token = api_token(app, world.mediator)
    phone = {"Authorization": f"Bearer {token}", "X-OpenRosa-Version": "1.0"}
    listed = client.get("/formList", headers=phone).get_data(as_text=True)
    assert "<manifestUrl>" not in listed  # nothing to fetch yet

    login(client, world.admin)
    logo = b"\x89PNG\r\n\x1a\n logo"
    resp = _post(client, f"/surveys/{form_id}/media", files=[("form_logo.png", logo)])
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert "附件已存入版本" in page and "已上传" in _media_rows(page)["form_logo.png"]
    assert _form(app, form_id)["versions"] == [version]

    listed = client.get("/formList", headers=phone).get_data(as_text=True)
    manifest_url = re.search(r"<manifestUrl>([^<]+)</manifestUrl>", listed).group(1)
    manifest = client.get(manifest_url, headers=phone).get_data(as_text=True)
    assert f"<hash>md5:{hashlib.md5(logo).hexdigest()}</hash>" in manifest  # Collect compares
    me = client.get("/api/v1/me", headers=phone).get_json()
    [form] = [f for f in me["forms"] if f["form_id"] == form_id]
    assert form["version"] == version
    assert form["media"][0]["hash"] == f"md5:{hashlib.md5(logo).hexdigest()}"
    assert client.get(form["media"][0]["url"], headers=phone).data == logo

    # A present file may be replaced: a new hash in the manifest, the same version.
    new_logo = logo + b" v2"
    resp = _post(client, f"/surveys/{form_id}/media", files=[("form_logo.png", new_logo)])
    assert resp.status_code == 302
    manifest = client.get(manifest_url, headers=phone).get_data(as_text=True)
    assert hashlib.md5(new_logo).hexdigest() in manifest
    events = _audit(app, "form_media_add")
    assert [(e["added"], e["replaced"], e["version"]) for e in events] == [
        (["form_logo.png"], [], version),
        ([], ["form_logo.png"], version),
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("logo.png", b"")], "是空文件"),
        ([("../logo.png", b"x")], "附件文件名不可用"),
        ([], "请选择要上传的附件"),
    ],
)
def test_unusable_media_is_refused_with_a_reason_and_nothing_stored(
    app, client, world, publish, files, message
):
    form_id, _ = publish(RAMOP)
    login(client, world.admin)
    resp = _post(client, f"/surveys/{form_id}/media", files=files)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert _form(app, form_id)["media"] == {}


def test_reimporting_an_unchanged_form_with_media_stores_them_on_that_version(
    app, world, runner, monkeypatch, tmp_path
):
    first = _cli(app, runner, monkeypatch, "import", UCL)
    assert first.exit_code == 0 and "警告" in first.output and "缺少 5 个附件" in first.output
    files = []
    for name in UCL_CSVS:
        (tmp_path / name).write_text("name,label\na,A\n", encoding="utf-8")
        files += ["--media", tmp_path / name]
    again = _cli(app, runner, monkeypatch, "import", UCL, *files)
    assert again.exit_code == 0, again.output
    assert "已存在" in again.output and "警告" not in again.output
    form = _form(app, "UCL_Biomass_Plot_Form")
    assert len(form["versions"]) == 1 and sorted(form["media"]) == UCL_CSVS
    [event] = _audit(app, "form_media_add")
    assert event["user_id"] is None and event["via"] == "cli"
    assert sorted(event["added"]) == UCL_CSVS


def test_the_cli_lists_forms_changes_their_state_and_adds_media(
    app, world, runner, monkeypatch, tmp_path
):
    path = tmp_path / "tiny.xlsx"
    path.write_bytes(TINY)
    drafted = _cli(app, runner, monkeypatch, "import", path, "--draft")
    assert drafted.exit_code == 0 and "已存为草稿" in drafted.output
    assert _form(app, "tiny")["state"] == "draft"
    assert "tiny\t草稿\t1" in _cli(app, runner, monkeypatch, "list").output

    opened = _cli(app, runner, monkeypatch, "state", "tiny", "open")
    assert opened.exit_code == 0 and "草稿 → 开放" in opened.output
    closed = _cli(app, runner, monkeypatch, "state", "tiny", "closed")
    assert closed.exit_code == 0
    archived = _cli(app, runner, monkeypatch, "state", "tiny", "archived")
    assert archived.exit_code == 0
    assert "tiny" not in _cli(app, runner, monkeypatch, "list").output
    assert "已归档" in _cli(app, runner, monkeypatch, "list", "--archived").output
    refused = _cli(app, runner, monkeypatch, "state", "tiny", "open")
    assert refused.exit_code == 1 and "不能从“已归档”改为“开放”" in refused.output
    assert _form(app, "tiny")["state"] == "archived"

    extra = tmp_path / "notes.csv"
    extra.write_text("a,b\n", encoding="utf-8")
    added = _cli(app, runner, monkeypatch, "media", "tiny", extra)
    assert added.exit_code == 0 and "新增 1 个" in added.output
    assert _cli(app, runner, monkeypatch, "media", "nope", extra).exit_code == 1

    moves = [(e["from"], e["to"], e["user_id"], e["via"]) for e in _audit(app, "form_state")]
    assert moves == [
        ("draft", "open", None, "cli"),
        ("open", "closed", None, "cli"),
        ("closed", "archived", None, "cli"),
    ]
    [publish] = _audit(app, "form_publish")
    assert publish["draft"] is True and publish["version"] == "1" and publish["user_id"] is None


# -- drafts -------------------------------------------------------------------------


def test_a_draft_is_tested_through_its_own_link_then_published_without_its_test_data(
    app, client, world
):
    login(client, world.researcher)
    resp = _upload(client, TINY, "tiny.xlsx", draft=True)
    assert resp.status_code == 302
    form = _form(app, "tiny")
    assert form["state"] == "draft" and len(form["token"]) >= 40

    page = client.get("/surveys/tiny").get_data(as_text=True)
    assert "已存为草稿" in page
    assert f"http://localhost/test/{form['token']}/fill" in page
    assert page.count("<svg") == 2  # the web link and ODK Collect's settings
    # The Collect code carries base64(zlib(JSON)) with the draft's test server URL.
    from fieldapp.surveys.drafts import collect_settings_payload

    payload = collect_settings_payload(f"http://localhost/test/{form['token']}", "测试：小问卷")
    settings = json.loads(zlib.decompress(base64.b64decode(payload)))
    assert settings["general"]["server_url"] == f"http://localhost/test/{form['token']}"
    assert settings["project"]["name"] == "测试：小问卷"

    test_ids = [_submission(app, "tiny", test=True, with_file=True) for _ in range(2)]
    page = client.get("/surveys/tiny").get_data(as_text=True)
    assert "已收到的 2 份测试提交将被删除" in page

    resp = _post(client, "/surveys/tiny/state", {"state": "open"})
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert "删除了 2 份测试提交" in page and "/test/" not in page
    assert _form(app, "tiny")["state"] == "open" and _form(app, "tiny")["token"] is None
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 0
        assert db.session.scalar(select(func.count(SubmissionAttachment.id))) == 0
        assert db.session.get(Submission, test_ids[0]) is None
    [event] = _audit(app, "form_state")
    assert event["from"] == "draft" and event["to"] == "open" and event["discarded_test"] == 2


def test_a_drafts_new_version_stays_a_draft_and_an_open_forms_new_version_is_published(
    app, client, world
):
    login(client, world.admin)
    assert _upload(client, TINY, "tiny.xlsx", draft=True).status_code == 302
    page = client.get(_upload(client, TINY2, "tiny.xlsx").location).get_data(as_text=True)
    assert "问卷仍是草稿" in page
    assert _form(app, "tiny") | {"token": None} == {
        "state": "draft",
        "token": None,
        "versions": ["1", "2"],
        "media": {},
    }
    assert _post(client, "/surveys/tiny/state", {"state": "open"}).status_code == 302
    v3 = xlsform(
        [["type", "name", "label"], ["integer", "age", "年龄（周岁）"]],
        settings=[["form_id", "version"], ["tiny", "3"]],
    )
    refused = _upload(client, v3, "tiny.xlsx", draft=True)
    assert refused.status_code == 400 and "不能再存为草稿" in refused.get_data(as_text=True)
    assert _form(app, "tiny")["versions"] == ["1", "2"]
    assert _upload(client, v3, "tiny.xlsx").status_code == 302
    assert _form(app, "tiny")["state"] == "open"  # published directly, as before states


def test_a_draft_given_up_is_archived_without_its_test_data(
    app, world, runner, monkeypatch, tmp_path
):
    path = tmp_path / "tiny.xlsx"
    path.write_bytes(TINY)
    assert _cli(app, runner, monkeypatch, "import", path, "--draft").exit_code == 0
    _submission(app, "tiny", test=True, with_file=True)
    result = _cli(app, runner, monkeypatch, "state", "tiny", "archived")
    assert result.exit_code == 0 and "删除测试提交 1 份" in result.output
    assert _form(app, "tiny")["state"] == "archived" and _form(app, "tiny")["token"] is None
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 0


def test_state_moves_and_refusals_in_the_browser(app, client, world):
    login(client, world.admin)
    _upload(client, TINY, "tiny.xlsx")
    real = _submission(app, "tiny", test=False)
    for to, label in [("closed", "已关闭"), ("open", "开放"), ("archived", "已归档")]:
        resp = _post(client, "/surveys/tiny/state", {"state": to})
        assert resp.status_code == 302, to
        assert label in client.get(resp.location).get_data(as_text=True)
    refusals = [("open", "不能从“已归档”改为“开放”"), ("draft", "改为“草稿”"), ("gone", "未知")]
    for bad, message in refusals:
        resp = _post(client, "/surveys/tiny/state", {"state": bad})
        assert resp.status_code == 400 and message in resp.get_data(as_text=True)
        assert _form(app, "tiny")["state"] == "archived"
    with app.app_context():
        assert db.session.get(Submission, real) is not None  # archived: data kept
    assert _post(client, "/surveys/tiny/state", {"state": "closed"}).status_code == 302
    assert client.post("/surveys/tiny/state", data={"state": "open"}).status_code == 400  # CSRF


def test_archived_forms_leave_the_lists_unless_asked_for(app, client, world, publish):
    publish(SCREENING)
    login(client, world.admin)
    _upload(client, TINY, "tiny.xlsx")
    _post(client, "/surveys/tiny/state", {"state": "archived"})
    for url in ("/data/", "/surveys/"):
        listed = client.get(url).get_data(as_text=True)
        assert 'data-form-id="family_screening"' in listed
        assert 'data-form-id="tiny"' not in listed and "显示已归档（1）" in listed
        every = client.get(url + "?archived=1").get_data(as_text=True)
        assert 'data-form-id="tiny"' in every and "已归档" in every
    home = client.get("/?online").get_data(as_text=True)
    assert "/surveys/tiny/fill" not in home


def test_the_versions_table_shows_who_when_and_how_many(app, client, world, submit):
    login(client, world.researcher)
    _upload(client, SCREENING.read_bytes(), SCREENING.name)
    from tests.helpers import screening_answers

    submit("family_screening", [screening_answers(), screening_answers()])
    page = client.get("/surveys/family_screening").get_data(as_text=True)
    row = page.split('data-version="', 1)[1].split("</li>", 1)[0]
    assert (
        "市妇联研究员" in row
        and "提交 2 份" in row
        and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)
    )


# -- who may -------------------------------------------------------------------------


def test_publishers_manage_the_forms_of_their_own_district_only(app, client, people, publish):
    publish(SCREENING, area_code="339902")  # 西山县
    login(client, "dc_admin")  # 东城区
    assert client.get("/surveys/family_screening").status_code == 404
    assert 'data-form-id="family_screening"' not in client.get("/surveys/").get_data(as_text=True)
    for url, data in [
        ("/surveys/family_screening/state", {"state": "closed"}),
        ("/surveys/family_screening/media", {}),
    ]:
        assert _post(client, url, data, files=[("x.csv", b"a")]).status_code == 404
    assert _form(app, "family_screening")["state"] == "open"
    assert _form(app, "family_screening")["media"] == {}
    # Nor may they publish a new version of it, or anything to 西山县.
    resp = _upload(client, SCREENING.read_bytes(), SCREENING.name, area="339901")
    assert resp.status_code == 400 and "无权" in resp.get_data(as_text=True)

    switch_user(client, "xs_researcher")
    assert client.get("/surveys/family_screening").status_code == 200
    assert _post(client, "/surveys/family_screening/state", {"state": "closed"}).status_code == 302


def test_a_form_published_above_a_district_is_not_its_publishers_to_change(
    app, client, people, publish
):
    publish(SCREENING)  # to the city
    login(client, "dc_researcher")
    assert client.get("/surveys/family_screening").status_code == 404
    assert _post(client, "/surveys/family_screening/state", {"state": "closed"}).status_code == 404


@pytest.mark.parametrize("username", ["supervisor", "mediator"])
def test_people_who_do_not_publish_cannot_open_the_form_pages(
    app, client, world, publish, username
):
    publish(SCREENING)
    login(client, username)
    for url in ("/surveys/", "/surveys/family_screening"):
        assert client.get(url).status_code == 403
    assert _post(client, "/surveys/family_screening/state", {"state": "closed"}).status_code == 403
    assert _form(app, "family_screening")["state"] == "open"


def test_a_draft_is_not_offered_to_the_field(app, client, world):
    from tests.helpers import api_token

    login(client, world.admin)
    _upload(client, TINY, "tiny.xlsx", draft=True)
    token = api_token(app, world.mediator)
    phone = {"Authorization": f"Bearer {token}", "X-OpenRosa-Version": "1.0"}
    assert "tiny" not in client.get("/formList", headers=phone).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(FormVersion.id))) == 1


def test_a_phone_tests_the_draft_through_its_link_and_publishing_ends_the_test(app, world):
    """The whole path over the test link's OpenRosa routes (as ODK Collect set up by the
    draft's QR code speaks them): list, download, submit; then publish."""
    from tests.helpers import submission_xml

    admin, phone = app.test_client(), app.test_client()
    login(admin, world.admin)
    _upload(admin, TINY, "tiny.xlsx", draft=True)
    base = f"/test/{_form(app, 'tiny')['token']}"
    headers = {"X-OpenRosa-Version": "1.0"}
    listed = phone.get(f"{base}/formList", headers=headers).get_data(as_text=True)
    assert "<formID>tiny</formID>" in listed
    xml, _ = submission_xml("tiny", "1", {"age": "30"})
    sent = phone.post(
        f"{base}/submission",
        data={"xml_submission_file": (io.BytesIO(xml), "submission.xml", "text/xml")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert sent.status_code == 201, sent.get_data(as_text=True)
    page = admin.get("/surveys/tiny").get_data(as_text=True)
    assert "已收到测试提交 1 份" in page
    assert 'data-version="1"' in page and "提交 0 份" in page  # test data is not data

    assert _post(admin, "/surveys/tiny/state", {"state": "open"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 0
    assert phone.get(f"{base}/formList", headers=headers).status_code in (401, 403, 404)
