"""People log in with their own password, in Chinese by default; guessing is slowed."""

from __future__ import annotations

from fieldapp import create_app
from tests.helpers import csrf_token, login


def test_a_mediator_logs_in_and_lands_in_the_offline_app(client, world):
    resp = login(client, world.mediator)
    assert resp.status_code == 302
    assert client.get("/").headers["Location"] == "/app"
    assert 'rel="manifest"' in client.get("/app").get_data(as_text=True)
    home = client.get("/?online").get_data(as_text=True)
    assert "问卷" in home and "和平社区" in home and 'lang="zh-CN"' in home


def test_a_wrong_password_is_refused_with_a_message(client, world):
    resp = login(client, world.mediator, "not-the-password")
    assert resp.status_code == 200
    assert "用户名或密码不正确" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still not logged in


def test_login_is_rate_limited(app, client, world):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [login(client, world.mediator, "wrong-guess").status_code for _ in range(4)]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    assert codes[:3] == [200, 200, 200]
    assert codes[3] == 429


def test_login_without_csrf_token_is_refused(client, world):
    resp = client.post(
        "/login",
        data={"username": world.mediator, "password": world.password},
        follow_redirects=True,
    )
    assert "登录页面已过期" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_logout_needs_a_post_with_csrf(client, world):
    login(client, world.mediator)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token: refused
    assert client.get("/?online").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/?online")})
    assert client.get("/").status_code == 302


def test_an_expired_session_goes_back_to_login_and_then_to_the_page(client, world):
    resp = client.get("/data/")
    assert resp.status_code == 302 and "/login?next=/data/" in resp.headers["Location"]
    token = csrf_token(client)
    resp = client.post(
        "/login?next=/data/",
        data={"username": world.researcher, "password": world.password, "csrf_token": token},
    )
    assert resp.headers["Location"] == "/data/"


def test_the_next_parameter_cannot_send_people_to_another_site(client, world):
    token = csrf_token(client)
    resp = client.post(
        "/login?next=//evil.example/",
        data={"username": world.mediator, "password": world.password, "csrf_token": token},
    )
    assert resp.headers["Location"] == "/"


def test_english_is_one_click_away(client, world):
    login(client, world.mediator)
    client.get("/lang/en?next=/")
    page = client.get("/?online").get_data(as_text=True)
    assert 'lang="en"' in page and "Questionnaires" in page
    client.get("/lang/zh")
    assert "问卷" in client.get("/?online").get_data(as_text=True)


def test_the_secret_key_is_generated_once_and_kept_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("FIELDAPP_SECRET_KEY", raising=False)
    app1 = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://"})
    app2 = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://"})
    assert app1.secret_key == app2.secret_key and len(app1.secret_key) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_errors_are_in_chinese_and_never_a_traceback(client, world):
    login(client, world.mediator)
    resp = client.get("/surveys/nope/fill")
    assert resp.status_code == 404
    assert "找不到问卷" in resp.get_data(as_text=True)
    resp = client.get("/api/v1/forms/nope")
    assert resp.status_code == 404 and resp.json["error"]["status"] == 404


def test_a_cookie_copied_before_logout_no_longer_logs_anyone_in(app, client, world):
    """On a shared phone, logging out ends the login on the server: the old session
    cookie (kept by a browser, a proxy or someone copying it) opens nothing."""
    login(client, world.researcher)
    assert client.get("/data/").status_code == 200
    copied = client.get_cookie("session").value
    client.post("/logout", data={"csrf_token": csrf_token(client, "/data/")})
    client.set_cookie("session", copied)
    assert client.get("/data/").status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_a_login_ends_after_its_hours_on_the_server_too(app, client, world, monkeypatch):
    login(client, world.researcher)
    assert client.get("/data/").status_code == 200
    monkeypatch.setitem(app.config, "SESSION_HOURS", 0)
    assert client.get("/data/").status_code == 302


def test_a_secure_cookie_setting_of_0_means_off(tmp_path, monkeypatch):
    """FIELDAPP_SESSION_COOKIE_SECURE=0 once made a cookie marked Secure (the text "0"
    counted as on), so logging in over plain HTTP silently failed."""
    config = {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://", "SECRET_KEY": "x"}
    for value, expected in (("0", False), ("no", False), ("1", True), ("true", True)):
        monkeypatch.setenv("FIELDAPP_SESSION_COOKIE_SECURE", value)
        assert create_app(config).config["SESSION_COOKIE_SECURE"] is expected
