"""A researcher publishes questionnaires as XLSForm; broken files are refused with
pyxform's message (sheet and row) and nothing already published changes."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from fieldapp.extensions import db
from fieldapp.surveys.models import FormVersion
from tests.helpers import BUNDLED_FORMS, SHARED_FORMS, csrf_token, login, xlsform

GOOD = xlsform(
    [["type", "name", "label"], ["integer", "age", "年龄"]],
    settings=[["form_id", "version"], ["tiny", "1"]],
)
BROKEN = {
    "bad_reference.xlsx": (
        xlsform(
            [
                ["type", "name", "label", "relevant"],
                ["text", "a", "A", ""],
                ["text", "b", "B", "${zzz} = 1"],
            ],
            settings=[["form_id", "version"], ["tiny", "2"]],
        ),
        ["工作表“survey”第 3 行“relevant”列（内容：${zzz} = 1）", "zzz"],
    ),
    "unknown_type.xlsx": (
        xlsform(
            [["type", "name", "label"], ["text", "a", "A"], ["foo_bar", "b", "B"]],
            settings=[["form_id", "version"], ["tiny", "2"]],
        ),
        ["工作表“survey”第 3 行“type”列（内容：foo_bar）"],
    ),
    "unclosed_group.xlsx": (
        xlsform(
            [["type", "name", "label"], ["begin_group", "g", "G"], ["text", "b", "B"]],
            settings=[["form_id", "version"], ["tiny", "2"]],
        ),
        ["工作表“survey”第 2 行“type”列（内容：begin_group）"],
    ),
    "missing_choices.xlsx": (
        xlsform(
            [["type", "name", "label"], ["select_one yn", "a", "A"]],
            settings=[["form_id", "version"], ["tiny", "2"]],
        ),
        ["工作表“survey”第 2 行“type”列（内容：select_one yn）", "choices"],
    ),
    "unknown_list.xlsx": (
        xlsform(
            [
                ["type", "name", "label"],
                ["select_one yn", "a", "A"],
                ["select_one colors", "c", "C"],
            ],
            choices=[["list_name", "name", "label"], ["yn", "y", "是"]],
            settings=[["form_id", "version"], ["tiny", "2"]],
        ),
        ["工作表“survey”第 3 行“type”列（内容：select_one colors）"],
    ),
    "duplicate_name.xlsx": (
        xlsform(
            [["type", "name", "label"], ["text", "a", "A"], ["integer", "a", "B"]],
            settings=[["form_id", "version"], ["tiny", "2"]],
        ),
        ["工作表“survey”第 3 行“name”列（内容：a）"],
    ),
    "duplicate_choice.xlsx": (
        xlsform(
            [["type", "name", "label"], ["select_one yn", "a", "A"]],
            choices=[["list_name", "name", "label"], ["yn", "y", "是"], ["yn", "y", "否"]],
            settings=[["form_id", "version"], ["tiny", "2"]],
        ),
        ["工作表“choices”第 3 行“name”列（内容：y）"],
    ),
    "choice_with_space.xlsx": (  # pyxform says only "See [a b] in [kinds]"
        xlsform(
            [["type", "name", "label"], ["select_multiple kinds", "k", "K"]],
            choices=[
                ["list_name", "name", "label"],
                ["kinds", "ok", "好"],
                ["kinds", "a b", "甲乙"],
            ],
            settings=[["form_id", "version"], ["tiny", "2"]],
        ),
        ["工作表“choices”第 3 行“name”列（内容：a b）"],
    ),
    "translated_label_missing.xlsx": (
        xlsform(
            [["type", "name", "label::中文 (zh)"], ["text", "a", "A"], ["text", "b", ""]],
            settings=[["form_id", "version"], ["tiny", "2"]],
        ),
        ["工作表“survey”第 3 行"],
    ),
    "no_questions.xlsx": (
        xlsform([["type", "name", "label"]], settings=[["form_id", "version"], ["tiny", "2"]]),
        ["没有任何题目"],
    ),
    "not_a_spreadsheet.xlsx": (b"PK\x03\x04 this is not really a zip", ["不是有效的 .xlsx"]),
}


def upload(client, data: bytes, name: str = "tiny.xlsx", area: str = "3399"):
    """Upload an XLSForm through the web page, as a logged-in user."""
    return client.post(
        "/surveys/upload",
        data={
            "csrf_token": csrf_token(client, "/surveys/upload"),
            "area": area,
            "xlsform": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


def _versions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(FormVersion.id)))


@pytest.mark.parametrize("path", sorted(SHARED_FORMS.glob("*.xlsx")), ids=lambda p: p.name)
def test_every_real_form_from_others_imports(app, publish, path):
    form_id, version = publish(path)
    with app.app_context():
        fv = db.session.scalar(select(FormVersion).where(FormVersion.version == version))
        assert fv.form.form_id == form_id
        assert fv.xform.startswith("<?xml") and fv.schema["questions"]


@pytest.mark.parametrize("path", sorted(BUNDLED_FORMS.glob("*.xlsx")), ids=lambda p: p.name)
def test_bundled_questionnaires_have_chinese_and_english(app, publish, path):
    form_id, version = publish(path)
    with app.app_context():
        fv = db.session.scalar(select(FormVersion).where(FormVersion.version == version))
        assert fv.schema["languages"] == ["中文 (zh)", "English (en)"]
        assert fv.schema["default_language"] == "中文 (zh)"


def test_bundled_questionnaires_exercise_the_xlsform_features_we_promise(app, publish):
    types, binds = set(), set()
    with app.app_context():
        for path in BUNDLED_FORMS.glob("*.xlsx"):
            from fieldapp.surveys.services import convert_xlsform

            _, schema, warnings = convert_xlsform(path.read_bytes(), path.name)
            assert warnings == []
            for q in schema["questions"]:
                types.add(q["type"])
                binds.update(
                    k for k in ("relevant", "constraint", "calculate", "choice_filter") if q[k]
                )
                binds.update(["required"] if q["required"] else [])
    assert {
        "group",
        "repeat",
        "select_one",
        "select_multiple",
        "date",
        "integer",
        "decimal",
        "note",
        "calculate",
        "text",
    } <= types
    assert {"relevant", "constraint", "calculate", "choice_filter", "required"} <= binds


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_xlsform_is_refused_on_the_cli_with_sheet_and_row(
    app, world, runner, tmp_path, name, monkeypatch
):
    from fieldapp.cli import main

    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    good = tmp_path / "tiny.xlsx"
    good.write_bytes(GOOD)
    assert runner.invoke(main, ["forms", "import", str(good)]).exit_code == 0
    data, words = BROKEN[name]
    path = tmp_path / name
    path.write_bytes(data)
    result = runner.invoke(main, ["forms", "import", str(path)])
    assert result.exit_code == 1
    for word in words:
        assert word in result.output
    assert _versions(app) == 1


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_xlsform_is_refused_in_the_web_ui_and_nothing_changes(app, client, world, name):
    login(client, world.admin)
    ok = upload(client, GOOD, "tiny.xlsx")
    assert ok.status_code == 302
    data, words = BROKEN[name]
    resp = upload(client, data, name)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "未发布，已有问卷未受影响" in body
    for word in words:
        assert word in body
    assert _versions(app) == 1


def test_a_new_version_is_kept_beside_the_old_and_a_changed_same_version_is_refused(
    app, client, world
):
    login(client, world.admin)

    assert upload(client, GOOD).status_code == 302
    assert upload(client, GOOD).status_code == 302  # the same file again: nothing new
    changed = xlsform(
        [["type", "name", "label"], ["integer", "age", "年龄（岁）"]],
        settings=[["form_id", "version"], ["tiny", "1"]],
    )
    resp = upload(client, changed)
    assert resp.status_code == 400 and "version" in resp.get_data(as_text=True)
    v2 = xlsform(
        [["type", "name", "label"], ["integer", "age", "年龄（岁）"]],
        settings=[["form_id", "version"], ["tiny", "2"]],
    )
    assert upload(client, v2).status_code == 302
    with app.app_context():
        assert [
            v.version for v in db.session.scalars(select(FormVersion).order_by(FormVersion.id))
        ] == ["1", "2"]


def test_only_admins_and_researchers_publish_and_only_within_their_area(app, client, world):
    login(client, world.mediator)
    assert client.get("/surveys/upload").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/?online")})
    login(client, world.supervisor)
    assert client.get("/surveys/upload").status_code == 403


def test_an_oversized_xlsform_is_refused(app, client, world):
    app.config["MAX_XLSFORM_BYTES"] = 1000
    try:
        login(client, world.admin)
        resp = upload(client, GOOD, "tiny.xlsx")
        assert resp.status_code == 400 and "文件过大" in resp.get_data(as_text=True)
    finally:
        app.config["MAX_XLSFORM_BYTES"] = 10 * 1024 * 1024


def test_the_real_forms_from_others_are_there_to_test_on():
    """Guard: the forms in ../shared/forms must be found, or the tests above test nothing."""
    assert len(list(SHARED_FORMS.glob("*.xlsx"))) >= 7


@pytest.mark.parametrize("form_id", ["a/b", "../../x", "what?", "x" * 101, "upload"])
def test_form_ids_that_cannot_be_used_are_refused(app, client, world, form_id):
    login(client, world.admin)
    bad = xlsform(
        [["type", "name", "label"], ["integer", "age", "年龄"]],
        settings=[["form_id", "version"], [form_id, "1"]],
    )
    resp = upload(client, bad)
    assert resp.status_code == 400 and "form_id" in resp.get_data(as_text=True)
    assert _versions(app) == 0


def test_a_chinese_form_id_works(app, client, world):
    login(client, world.admin)
    ok = xlsform(
        [["type", "name", "label"], ["integer", "age", "年龄"]],
        settings=[["form_id", "version"], ["留守儿童调查", "1"]],
    )
    assert upload(client, ok).status_code == 302
    assert client.get("/surveys/留守儿童调查/fill").status_code == 200


def test_a_new_version_published_to_another_area_moves_the_form_and_says_so(app, client, world):
    login(client, world.admin)
    assert upload(client, GOOD).status_code == 302
    v2 = xlsform(
        [["type", "name", "label"], ["integer", "age", "年龄（岁）"]],
        settings=[["form_id", "version"], ["tiny", "2"]],
    )
    page = client.post(
        "/surveys/upload",
        data={
            "csrf_token": csrf_token(client, "/surveys/upload"),
            "area": "339901",
            "xlsform": (io.BytesIO(v2), "tiny.xlsx"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "发布区划已由 示例市 改为 东城区" in page
    from fieldapp.audit.models import AuditEvent
    from fieldapp.surveys.services import get_form

    with app.app_context():
        assert get_form("tiny").area.code == "339901"
        moves = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "form_move"))
        assert [(e.object, e.detail["from"], e.detail["to"]) for e in moves] == [
            ("form:tiny", "3399", "339901")
        ]


def test_an_xlsform_with_a_huge_sheet_is_refused_before_converting(app, client, world, monkeypatch):
    """A sheet of more rows than a form needs (here 10,001 choices; a 1,000,000-row
    sheet once held a worker until it was killed) is refused before pyxform sees it,
    with advice, and nothing changes."""
    from fieldapp.surveys import services
    from fieldapp.surveys.services import MAX_SHEET_ROWS

    login(client, world.admin)
    assert upload(client, GOOD, "tiny.xlsx").status_code == 302
    choices = [["list_name", "name", "label"]]
    choices += [["v", f"v{i}", f"村{i}"] for i in range(MAX_SHEET_ROWS)]
    huge = xlsform(
        [["type", "name", "label"], ["select_one v", "village", "村"]],
        choices=choices,
        settings=[["form_id", "version"], ["tiny", "2"]],
    )
    converted = []
    monkeypatch.setattr(services, "convert", lambda **kw: converted.append(kw))
    resp = upload(client, huge, "tiny.xlsx")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "超过 10,000 行" in body and "select_one_from_file" in body
    assert converted == []  # pyxform never saw it
    assert _versions(app) == 1
