"""Two-factor sign-in (issue 14): a person turns it on at 我的账号 and then signs in with
password and code (or a recovery code, once); wrong codes count as failed logins; a role
that must have it is sent to set it up before anything else; a manager resets it for a
lost phone; mediators who do not use it log in as before."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from fieldapp.extensions import db
from tests.helpers import csrf_token, login, switch_user


@pytest.fixture(autouse=True)
def _restored(world_users_restored):
    """Every test here changes world users' second factor: put them back after."""


def _post(client, path: str, data: dict, page: str):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


def _audit(app, action: str) -> list[dict]:
    from fieldapp.audit.models import AuditEvent

    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [{"user_id": e.user_id, "object": e.object, **e.detail} for e in rows]


def _turn_on(client) -> tuple[pyotp.TOTP, list[str], str]:
    """On the two-factor page: read the secret, confirm with the current code; the
    authenticator, the recovery codes and the code confirmed with."""
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "<svg" in page  # the QR code, inline
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1)
    totp = pyotp.TOTP(secret.replace(" ", ""))
    wrong = _post(client, "/account/two-factor/confirm", {"code": "000000"}, "/account/two-factor")
    assert wrong.status_code == 400 and "验证码不正确" in wrong.get_data(as_text=True)
    used = totp.now()
    resp = _post(client, "/account/two-factor/confirm", {"code": used}, "/account/two-factor")
    assert resp.status_code == 200
    codes = re.findall(
        r'<code class="recovery-code">([a-z0-9-]+)</code>', resp.get_data(as_text=True)
    )
    assert len(codes) == 10 and len(set(codes)) == 10
    return totp, codes, used


def _code(client, code: str):
    return _post(client, "/login/code", {"code": code}, "/login/code")


def _next_code(totp: pyotp.TOTP) -> str:
    return totp.at(time.time() + totp.interval)  # the next step: not the one used before


def test_a_mediator_turns_it_on_and_signs_in_with_a_code_or_a_recovery_code_once(
    app, client, world
):
    login(client, world.mediator)
    assert "未开启" in client.get("/account").get_data(as_text=True)
    totp, codes, used = _turn_on(client)
    assert [e["object"] for e in _audit(app, "totp_enable")] == [f"user:{world.mediator}"]
    with app.app_context():
        from fieldapp.auth.models import RecoveryCode

        stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
        assert len(stored) == 10 and not set(codes) & set(stored)  # kept hashed

    # The password alone is not enough: a second step asks for the code.
    resp = switch_user(client, world.mediator)
    assert resp.status_code == 302 and resp.headers["Location"] == "/login/code"
    assert client.get("/api/v1/me").status_code in (401, 302)  # not logged in yet
    assert _code(client, used).status_code == 400  # the code confirmed with: taken
    assert _code(client, "123456").status_code == 400
    resp = _code(client, _next_code(totp))
    assert resp.status_code == 302
    assert client.get("/api/v1/me").status_code == 200
    assert [e["second_factor"] for e in _audit(app, "login") if "second_factor" in e] == ["totp"]

    # A lost phone: a recovery code signs in, once.
    switch_user(client, world.mediator)
    resp = _code(client, codes[0].upper())  # typed as it comes, case and all
    assert resp.status_code == 302
    assert _audit(app, "totp_recovery_used")[0]["left"] == 9
    switch_user(client, world.mediator)
    assert _code(client, codes[0]).status_code == 400
    assert _code(client, codes[1]).status_code == 302

    # Turning it off asks for the password again; then the password alone is enough.
    page = "/account/two-factor"
    _post(client, "/account/two-factor/off", {"password": "wrong-one-here"}, page)
    assert "已开启" in client.get(page).get_data(as_text=True)
    _post(client, "/account/two-factor/off", {"password": world.password}, page)
    assert len(_audit(app, "totp_disable")) == 1
    assert switch_user(client, world.mediator).headers["Location"] != "/login/code"


def test_wrong_codes_count_as_failed_logins_and_lock_the_account(app, client, world):
    login(client, world.mediator)
    _turn_on(client)
    switch_user(client, world.mediator)
    statuses = [_code(client, f"00000{n}").status_code for n in range(5)]
    assert statuses == [400, 400, 400, 400, 429]  # the fifth failure locks
    assert len(_audit(app, "totp_failed")) == 6  # the set-up's wrong code, then five
    assert [e["object"] for e in _audit(app, "login_locked")] == [f"user:{world.mediator}"]
    resp = login(client, world.mediator)  # locked: not even the password is checked
    assert resp.status_code == 429
    assert client.get("/login/code").status_code == 302  # the attempt ended


def test_a_required_role_sets_it_up_before_anything_else(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "TOTP_REQUIRED_ROLES", "admin,supervisor,researcher")
    resp = login(client, world.supervisor)
    assert resp.headers["Location"].startswith("/account/two-factor")
    resp = client.get("/data/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/account/two-factor")
    me = client.get("/api/v1/me")
    assert me.status_code == 403 and me.json["error"]["code"] == "totp_setup_required"
    assert "必须" in client.get("/account/two-factor").get_data(as_text=True)
    _turn_on(client)
    assert client.get("/data/").status_code == 200
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "不能关闭" in page and "two-factor-off" not in page

    # Mediators are not asked: their phone app login works as before.
    phone = app.test_client()
    resp = login(phone, world.mediator)
    assert resp.status_code == 302 and not resp.headers["Location"].startswith("/account/two")
    assert phone.get("/api/v1/me").status_code == 200


def test_a_manager_resets_a_lost_second_factor_and_it_is_audited(app, client, world):
    login(client, world.mediator)
    _turn_on(client)
    supervisor = app.test_client()
    login(supervisor, world.supervisor)
    path = f"/admin/users/user/{world.mediator}/reset-two-factor"
    page = supervisor.get(f"/admin/users/user/{world.mediator}").get_data(as_text=True)
    assert "重置两步验证" in page
    resp = _post(supervisor, path, {}, f"/admin/users/user/{world.mediator}")
    assert resp.status_code == 302
    [event] = _audit(app, "totp_reset")
    assert event["object"] == f"user:{world.mediator}" and event["was_on"]
    assert client.get("/api/v1/me").status_code != 200  # her browser logins ended
    resp = switch_user(client, world.mediator)  # the password alone again
    assert resp.status_code == 302 and resp.headers["Location"] != "/login/code"

    # Who manages whom is scope.may_manage_user: not the other district's admin-less
    # mediator for a mediator, and nobody resets their own.
    other = app.test_client()
    login(other, world.mediator2)
    assert _post(other, path, {}, "/account").status_code in (403, 404)
    admin = app.test_client()
    login(admin, world.admin)
    own = f"/admin/users/user/{world.admin}/reset-two-factor"
    assert _post(admin, own, {}, "/account").status_code in (403, 404)


def test_odk_collect_cannot_skip_the_second_factor_with_the_password(app, client, world):
    import base64

    login(client, world.mediator)
    _turn_on(client)
    basic = base64.b64encode(f"{world.mediator}:{world.password}".encode()).decode()
    resp = app.test_client().get(
        "/formList",
        environ_overrides={"wsgi.url_scheme": "https"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert resp.status_code == 403 and "两步验证" in resp.get_data(as_text=True)


def test_the_operator_resets_the_only_admins_lost_second_factor(app, world, runner, monkeypatch):
    from fieldapp.cli import main

    login(client := app.test_client(), world.admin)
    _turn_on(client)
    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    result = runner.invoke(main, ["users", "reset-two-factor", world.admin])
    assert result.exit_code == 0 and "已重置" in result.output
    assert _audit(app, "totp_reset")[0]["via"] == "cli"
    assert login(app.test_client(), world.admin).headers["Location"] != "/login/code"
