"""ODK Collect against fieldapp, end to end over real HTTP: a supervisor connects a
mediator's phone on the phone page, Collect configures itself from the QR code's
settings, lists, downloads the form with its media and sends with photos (also split
over several POSTs) through ``/key/<token>/``; the same with the user's password over
HTTPS; an edit with ``deprecatedID`` replaces the original. Then what is refused: dead
keys, Basic over plain HTTP, forms that are not open, tokens used where they do not
belong. The client is ``tests/collect_client.py`` (speaks as Collect's source does)."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import ssl
import subprocess
import threading
import uuid
from html import unescape

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.collect_client import CollectClient, CollectError, collect_date, settings_from_qr
from tests.helpers import (
    PASSWORD,
    SCREENING,
    SHARED_FORMS,
    api_token,
    login,
    screening_answers,
    submission_xml,
    switch_user,
)

UCL = SHARED_FORMS / "UCL_Biomass_Plot_Form.xlsx"
UCL_MEDIA = [  # the CSVs the form names (jr://file-csv/…), made up for the test
    (name, f"name,label\n{name[:-4]}_1,一号\n{name[:-4]}_2,二号\n".encode())
    for name in (
        "UCL_districts.csv",
        "UCL_regions.csv",
        "UCL_villages.csv",
        "ULC_Biomass_Plots.csv",
        "species_names.csv",
    )
]
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 100  # ~25 KB "JPEG"


# -- servers -----------------------------------------------------------------------


def _serve(app, ssl_context=None):
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def http_url(app):
    """The test app on plain HTTP at a free port."""
    server, thread = _serve(app)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="module")
def https(app, tmp_path_factory):
    """The test app on HTTPS with a self-signed certificate for 127.0.0.1 made here;
    yields (base URL, an SSL context that trusts it, as a phone told to)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    server, thread = _serve(app, server_ctx)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    yield f"https://127.0.0.1:{server.server_port}", client_ctx
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


# -- the world ---------------------------------------------------------------------


@pytest.fixture
def ucl(app, world):
    """The UCL biomass form published city-wide with its five CSVs; (form_id, version)."""
    from fieldapp.areas.services import get_area
    from fieldapp.surveys.services import import_xlsform

    with app.app_context():
        result = import_xlsform(UCL.read_bytes(), UCL.name, get_area("3399"), media=UCL_MEDIA)
        db.session.commit()
        return result.form_version.form.form_id, result.form_version.version


def instance(form_id: str, version: str, trees: list[str], instance_id: str | None = None):
    """A UCL instance as Collect saves it: the plot photo and one photo per tree."""
    iid = instance_id or f"uuid:{uuid.uuid4()}"
    stems = "".join(
        f"<trees><stems><tree_photo>{photo}</tree_photo></stems></trees>" for photo in trees
    )
    xml = (
        f'<?xml version="1.0"?><data xmlns:jr="http://openrosa.org/javarosa" id="{form_id}" '
        f'version="{version}"><location><center_image>plot.jpg</center_image></location>'
        f"{stems}<meta><instanceID>{iid}</instanceID></meta></data>"
    )
    return xml.encode(), iid


def _stored(app, instance_id: str) -> dict:
    """What the server keeps of a submission: current, test, who sent it."""
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.instance_id == instance_id))
        return {
            "current": sub.current,
            "test": sub.test,
            "submitter": sub.submitter.username if sub.submitter else None,
        }


def _attachments(app, instance_id: str) -> dict[str, bytes]:
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.instance_id == instance_id))
        return {a.filename: a.data for a in sub.attachments}


def connect_phone(client, base_url: str, manager: str, username: str, name="王芳的手机"):
    """A manager connects ``username``'s ODK Collect on the phone page; returns the QR
    code's text (checked to be what the page draws) and the page."""
    from fieldapp.phones.services import collect_project_name
    from fieldapp.surveys.drafts import collect_settings_payload, qr_svg

    client = client.application.test_client()  # its own cookies, all on ``base_url``
    login_page = client.get("/login", base_url=base_url).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', login_page).group(1)
    client.post(
        "/login",
        data={"username": manager, "password": PASSWORD, "csrf_token": csrf},
        base_url=base_url,
    )
    page = client.get(f"/admin/phones/{username}", base_url=base_url)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    made = client.post(
        f"/admin/phones/{username}/collect",
        data={"name": name, "csrf_token": csrf},
        base_url=base_url,
    )
    assert made.status_code == 201, made.text
    url = unescape(re.search(r'id="collect-url">([^<]+)<', made.text).group(1))
    assert url.startswith(f"{base_url}/key/")
    from fieldapp.auth.services import get_user

    with client.application.app_context():
        payload = collect_settings_payload(url, collect_project_name(get_user(username)))
        assert str(qr_svg(payload, "ODK Collect 设置二维码")) in made.text  # the QR draws it
    return payload, client


# -- the whole path ----------------------------------------------------------------


def test_collect_scans_the_code_then_lists_downloads_sends_splits_and_edits(
    app, client, world, ucl, http_url
):
    form_id, version = ucl
    payload, _ = connect_phone(client, http_url, world.supervisor, world.mediator)
    settings = settings_from_qr(payload)
    assert settings["admin"] == {} and settings["project"]["name"] == "平安家庭 · 和平社区调解员"
    collect = CollectClient.from_qr(payload)
    assert collect.server_url.startswith(f"{http_url}/key/") and collect.username is None

    listed = {item.form_id: item for item in collect.form_list()}
    item = listed[form_id]
    assert item.manifest_url.startswith(collect.server_url + "/forms/")
    assert item.download_url.startswith(collect.server_url + "/forms/")
    xform, media = collect.download(item)
    assert b"<h:html" in xform and media == dict(UCL_MEDIA)

    # Sent with its photos and a file the XML does not name (Collect sends the folder).
    xml, iid = instance(form_id, version, ["tree1.jpg"])
    sent = collect.submit(xml, {"plot.jpg": PHOTO, "tree1.jpg": PHOTO[::-1], "notes.txt": b"stray"})
    assert sent.head.status == 204 and len(sent.posts) == 1
    assert sent.posts[0][2].status == 201 and sent.posts[0][2].message == "已成功提交"
    assert _attachments(app, iid) == {"plot.jpg": PHOTO, "tree1.jpg": PHOTO[::-1]}
    assert _stored(app, iid)["submitter"] == world.mediator

    # A server that takes little per request: Collect splits, *isIncomplete* on all but last.
    app.config["MAX_CONTENT_LENGTH"] = 60_000
    try:
        photos = {f"tree{n}.jpg": PHOTO + bytes([n]) for n in range(1, 5)}
        xml, split_id = instance(form_id, version, sorted(photos))
        sent = collect.submit(xml, {"plot.jpg": PHOTO, **photos})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 50 * 1024 * 1024
    assert len(sent.posts) >= 3
    assert [incomplete for _, incomplete, _ in sent.posts] == [True] * (len(sent.posts) - 1) + [
        False
    ]
    assert all(reply.status == 201 for _, _, reply in sent.posts)
    assert _attachments(app, split_id) == {"plot.jpg": PHOTO, **photos}

    # An edit replaces the original; the plot photo it does not send again carries over.
    edited, new_id = instance(form_id, version, ["tree9.jpg"])
    edited = edited.replace(
        b"</instanceID>", f"</instanceID><deprecatedID>{iid}</deprecatedID>".encode()
    )
    sent = collect.submit(edited, {"tree9.jpg": b"new tree"})
    assert sent.posts[-1][2].message == "已保存修改"
    assert _attachments(app, new_id) == {"plot.jpg": PHOTO, "tree9.jpg": b"new tree"}
    assert not _stored(app, iid)["current"] and _stored(app, new_id)["current"]
    token = api_token(app, world.mediator)
    listed = client.get(
        f"/api/v1/forms/{form_id}/submissions", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert {r["instance_id"] for r in listed["results"]} == {new_id, split_id}

    # Every request carried Collect's headers and never asked for a password.
    assert all(status != 401 for _, _, status in collect.log)


def test_collect_with_the_users_password_over_https(app, world, ucl, https):
    base, trust = https
    form_id, version = ucl
    collect = CollectClient(base, world.mediator, world.password, ssl_context=trust)
    item = next(i for i in collect.form_list() if i.form_id == form_id)
    assert item.download_url.startswith(f"{base}/forms/")
    _, media = collect.download(item)
    assert len(media) == 5
    # One 401 with a Basic challenge, answered; the credentials are then sent up front.
    assert [s for _, _, s in collect.log].count(401) == 1
    app.config["MAX_CONTENT_LENGTH"] = 60_000
    try:
        xml, iid = instance(form_id, version, ["a.jpg", "b.jpg"])
        sent = collect.submit(xml, {"plot.jpg": PHOTO, "a.jpg": PHOTO, "b.jpg": PHOTO[:-1]})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 50 * 1024 * 1024
    assert len(sent.posts) >= 2 and sent.posts[-1][2].status == 201
    assert set(_attachments(app, iid)) == {"plot.jpg", "a.jpg", "b.jpg"}
    assert [s for _, _, s in collect.log].count(401) == 1

    wrong = CollectClient(base, world.mediator, "not-the-password", ssl_context=trust)
    with pytest.raises(CollectError) as refused:
        wrong.form_list()
    assert refused.value.status == 401


def test_over_plain_http_no_password_is_asked_for_or_taken(client, world, http_url):
    collect = CollectClient(http_url, world.mediator, world.password)
    with pytest.raises(CollectError) as refused:
        collect.form_list()
    assert refused.value.status == 401
    basic = base64.b64encode(f"{world.mediator}:{world.password}".encode()).decode()
    reply = collect._send("GET", f"{http_url}/formList", None, None, f"Basic {basic}")
    assert reply.status == 401 and "HTTPS" in reply.message
    assert reply.headers["www-authenticate"].startswith("Bearer")


def test_https_challenge_is_basic_for_collect_but_never_for_a_browser(app, client, world):
    https = {"wsgi.url_scheme": "https"}
    resp = client.get("/formList", environ_overrides=https)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Basic ")
    browser = client.get("/formList", environ_overrides=https, headers={"Sec-Fetch-Mode": "cors"})
    assert browser.headers["WWW-Authenticate"].startswith("Bearer")
    basic = base64.b64encode(f"{world.mediator}:{world.password}".encode()).decode()
    ok = client.get(
        "/formList", environ_overrides=https, headers={"Authorization": f"Basic {basic}"}
    )
    assert ok.status_code == 200
    for junk in ("!!!", base64.b64encode(b"\xff\xfe:x").decode(), base64.b64encode(b"nocolon")):
        bad = client.get(
            "/formList", environ_overrides=https, headers={"Authorization": f"Basic {junk}"}
        )
        assert bad.status_code == 401


def test_behind_a_tls_proxy_forwarded_proto_counts_only_when_configured(
    app, world, database_url, tmp_path
):
    from fieldapp import create_app

    basic = base64.b64encode(f"{world.mediator}:{world.password}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}", "X-Forwarded-Proto": "https"}
    assert app.test_client().get("/formList", headers=headers).status_code == 401  # not trusted
    behind = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-only-secret",
            "WORKER_THREAD": False,
            "PROXY_FIX": 1,
        }
    )
    assert behind.test_client().get("/formList", headers=headers).status_code == 200


def test_a_password_login_fails_too_often_and_is_slowed(app, client, world):
    https = {"wsgi.url_scheme": "https"}
    wrong = base64.b64encode(f"{world.mediator}:wrong-password".encode()).decode()
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [
            client.get(
                "/formList", environ_overrides=https, headers={"Authorization": f"Basic {wrong}"}
            ).status_code
            for _ in range(5)
        ]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    assert codes == [401, 401, 401, 429, 429]


# -- keys: revoked, deactivated, used where they do not belong -----------------------


def _collect_key(app, username: str) -> tuple[str, int]:
    from fieldapp.auth.services import get_user
    from fieldapp.phones.services import create_collect_token
    from fieldapp.scope import OPERATOR

    with app.app_context():
        secret, token = create_collect_token(OPERATOR, get_user(username), "test phone")
        db.session.commit()
        return secret, token.id


def test_a_key_works_only_under_key_and_ends_when_revoked_or_the_user_leaves(
    app, client, world, publish
):
    from fieldapp.auth.models import User
    from fieldapp.phones.services import revoke_collect_token
    from fieldapp.scope import OPERATOR

    publish(SCREENING)
    key, token_id = _collect_key(app, world.mediator)
    assert client.get(f"/key/{key}/formList").status_code == 200
    # Not a Bearer token, not for pages; an API token is no key.
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/forms", headers=bearer).status_code == 401
    assert client.get("/formList", headers=bearer).status_code == 401
    assert client.get(f"/key/{api_token(app, world.mediator)}/formList").status_code == 403
    assert client.get(f"/key/{key}/api/v1/forms").status_code == 404
    # Scoped like its user: a form of another district is not there.
    publish(SCREENING.with_name("mediation_visit.xlsx"), area_code="339902")
    assert "mediation_visit" not in client.get(f"/key/{key}/formList").text
    assert client.get(f"/key/{key}/forms/mediation_visit/form.xml").status_code == 404
    xml, _ = submission_xml("family_screening", "2026120201", screening_answers())

    with app.app_context():
        revoke_collect_token(OPERATOR, db.session.get(User, _user_id(world.mediator)), token_id)
        db.session.commit()
    for resp in (
        client.get(f"/key/{key}/formList"),
        client.open(f"/key/{key}/submission", method="HEAD"),
        client.post(
            f"/key/{key}/submission", data={"xml_submission_file": (io.BytesIO(xml), "a.xml")}
        ),
    ):
        assert resp.status_code == 403
    assert "二维码" in client.get(f"/key/{key}/formList").text

    key2, _ = _collect_key(app, world.mediator)
    with app.app_context():
        db.session.get(User, _user_id(world.mediator)).active = False
        db.session.commit()
    try:
        assert client.get(f"/key/{key2}/formList").status_code == 403
    finally:
        with app.app_context():
            db.session.get(User, _user_id(world.mediator)).active = True
            db.session.commit()


def _user_id(username: str) -> int:
    from fieldapp.auth.services import get_user

    return get_user(username).id


def test_collects_date_and_user_agent_are_as_collect_sends_them():
    assert re.fullmatch(
        r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT", collect_date()
    )


# -- form states -------------------------------------------------------------------


def _set_state(app, form_id: str, state: str, draft_token: str | None = None) -> None:
    from fieldapp.surveys.models import Form

    with app.app_context():
        form = db.session.scalar(select(Form).where(Form.form_id == form_id))
        form.state, form.draft_token = state, draft_token
        db.session.commit()


def test_only_open_forms_are_listed_and_closed_ones_still_take_what_phones_hold(
    app, client, world, publish
):
    publish(SCREENING)
    key, _ = _collect_key(app, world.mediator)
    collect_url = f"/key/{key}"

    def send():
        xml, iid = submission_xml("family_screening", "2026120201", screening_answers())
        return client.post(
            f"{collect_url}/submission",
            data={"xml_submission_file": (io.BytesIO(xml), "i.xml")},
            content_type="multipart/form-data",
        )

    assert "family_screening" in client.get(f"{collect_url}/formList").text
    _set_state(app, "family_screening", "closed")
    assert "family_screening" not in client.get(f"{collect_url}/formList").text
    assert send().status_code == 201  # a draft filled before it closed
    _set_state(app, "family_screening", "archived")
    refused = send()
    assert refused.status_code == 403 and "已归档" in refused.text
    _set_state(app, "family_screening", "draft", "tok-" + uuid.uuid4().hex)
    refused = send()
    assert refused.status_code == 403 and "草稿" in refused.text
    assert "family_screening" not in client.get(f"{collect_url}/formList").text


# -- draft test mode ---------------------------------------------------------------


def test_a_drafts_test_link_serves_only_that_draft_and_keeps_its_data_apart(
    app, client, world, ucl, publish, http_url
):
    form_id, version = ucl
    publish(SCREENING)  # open, for the field: not on the test link
    token = "draft-" + uuid.uuid4().hex
    _set_state(app, form_id, "draft", token)

    collect = CollectClient(f"{http_url}/test/{token}")
    assert [i.form_id for i in collect.form_list()] == [form_id]
    item = collect.form_list()[0]
    assert item.manifest_url.startswith(f"{http_url}/test/{token}/")
    _, media = collect.download(item)
    assert len(media) == 5
    xml, iid = instance(form_id, version, ["t.jpg"])
    sent = collect.submit(xml, {"plot.jpg": PHOTO, "t.jpg": PHOTO})
    assert "测试" in sent.posts[-1][2].message
    assert _stored(app, iid) == {"current": True, "test": True, "submitter": None}
    other, _ = submission_xml("family_screening", "2026120201", screening_answers())
    with pytest.raises(CollectError) as refused:
        collect.submit(other)
    assert refused.value.status == 404  # as no such form: the link shows no other form
    assert client.get(f"/test/{token}/forms/family_screening/form.xml").status_code == 404

    # Nobody's data: not in the API, not sendable to the draft without its link.
    admin = api_token(app, world.admin)
    body = client.get(
        f"/api/v1/forms/{form_id}/submissions", headers={"Authorization": f"Bearer {admin}"}
    ).get_json()
    assert body["count"] == 0
    xml, _ = instance(form_id, version, [])
    refused = client.post(
        "/submission",
        data={"xml_submission_file": (io.BytesIO(xml), "i.xml")},
        headers={"Authorization": f"Bearer {api_token(app, world.mediator)}"},
    )
    assert refused.status_code == 403 and "草稿" in refused.text

    page = client.get(f"/test/{token}/fill")
    assert page.status_code == 200 and "测试模式" in page.text
    assert f'data-xform-url="/test/{token}/forms/{form_id}/versions/' in page.text
    assert f'data-submit-url="/test/{token}/submission"' in page.text
    assert client.get("/test/no-such-draft/fill").status_code == 404
    assert client.get("/test/no-such-draft/formList").status_code == 404
    _set_state(app, form_id, "open", None)  # published: the link is dead
    assert client.get(f"/test/{token}/formList").status_code == 404


# -- the phone page ----------------------------------------------------------------


def test_the_phone_page_is_for_those_who_may_manage_the_user(app, client, world):
    login(client, world.supervisor)  # 东城区
    assert client.get(f"/admin/phones/{world.mediator}").status_code == 200
    assert client.get(f"/admin/phones/{world.mediator3}").status_code == 404  # 西山县
    assert client.get(f"/admin/phones/{world.admin}").status_code == 404
    assert client.get("/admin/phones/nobody").status_code == 404
    switch_user(client, world.mediator)
    assert client.get(f"/admin/phones/{world.mediator}").status_code == 200  # one's own
    assert client.get(f"/admin/phones/{world.mediator2}").status_code == 404
    page = client.get(f"/admin/phones/{world.mediator}").text
    assert "<svg" in page and "/login" in page  # the phone app's QR code


def test_a_token_is_shown_once_listed_and_revoked_on_the_page(app, client, world):
    payload, client = connect_phone(client, "http://localhost", world.supervisor, world.mediator)
    key = settings_from_qr(payload)["general"]["server_url"].rsplit("/", 1)[1]
    assert client.get(f"/key/{key}/formList").status_code == 200
    page = client.get(f"/admin/phones/{world.mediator}").text
    assert key not in page and "王芳的手机" in page
    token_id = re.search(r"/collect/(\d+)/revoke", page).group(1)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    done = client.post(
        f"/admin/phones/{world.mediator}/collect/{token_id}/revoke",
        data={"csrf_token": csrf},
        follow_redirects=True,
    )
    assert "已撤销" in done.text
    assert client.get(f"/key/{key}/formList").status_code == 403
    empty = client.post(
        f"/admin/phones/{world.mediator}/collect", data={"name": " ", "csrf_token": csrf}
    )
    assert empty.status_code == 400 and "手机的名称" in empty.text
    switch_user(client, world.mediator2)  # a colleague cannot revoke it
    other = client.post(
        f"/admin/phones/{world.mediator}/collect/{token_id}/revoke", data={"csrf_token": csrf}
    )
    assert other.status_code in (400, 404)


def test_the_cli_makes_a_collect_key_with_its_url_and_code(app, runner, world, monkeypatch):
    from fieldapp import cli

    monkeypatch.setattr(cli, "_app", lambda: app)
    out = runner.invoke(
        cli.main,
        ["tokens", "create", world.mediator, "--collect", "--server", "https://f.example.cn"],
    )
    assert out.exit_code == 0, out.output
    secret, url = out.output.splitlines()[:2]
    assert url == f"https://f.example.cn/key/{secret}"
    assert app.test_client().get(f"/key/{secret}/formList").status_code == 200
    listed = runner.invoke(cli.main, ["tokens", "list", world.mediator])
    token_id = listed.output.split("\t", 1)[0]
    assert runner.invoke(cli.main, ["tokens", "revoke", world.mediator, token_id]).exit_code == 0
    assert app.test_client().get(f"/key/{secret}/formList").status_code == 403
    assert hashlib.sha256(secret.encode()).hexdigest() not in out.output


def test_hostile_input_on_the_key_routes_is_never_a_500(app, client, world, publish):
    publish(SCREENING)
    key, _ = _collect_key(app, world.mediator)
    for body in (b"", b"<", b"\xff\xfe", b"<data id='x'/>", b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>"):
        resp = client.post(
            f"/key/{key}/submission",
            data={"xml_submission_file": (io.BytesIO(body), "x.xml"), "*isIncomplete*": "yes"},
        )
        assert 400 <= resp.status_code < 500
    assert client.post(f"/key/{key}/submission", data={}).status_code == 400
    assert client.get(f"/key/{'x' * 5000}/formList").status_code == 403
    assert client.get("/key/%00/formList").status_code in (400, 403, 404)  # NUL: refused first
    with app.app_context():
        assert db.session.scalar(select(Submission.id)) is None
