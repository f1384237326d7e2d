"""Guessing passwords locks the account guessed at, and the address guessed from, for a
while; other people keep logging in; a manager lifts a lock (issue 14). Every story runs
with the counts in the database and again in Redis (``FIELDAPP_TEST_REDIS_URL``, default
redis://127.0.0.1:6379/15, keys under a prefix of this run's own, removed after; skipped
when no Redis answers)."""

from __future__ import annotations

import base64
import os
import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from fieldapp import create_app
from fieldapp.auth import throttle
from fieldapp.extensions import db
from tests.helpers import csrf_token, login

ACCOUNT_LOCKED = "此账号已暂时锁定"
ADDRESS_LOCKED = "此网络的登录失败次数过多"
REDIS_URL = os.environ.get("FIELDAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(params=["database", "redis"], autouse=True)
def store(request, app):
    """The config of the login store the story runs on (also given to other apps and the
    CLI); the session's app uses it during the test."""
    if request.param == "database":
        config = {"LOGIN_STORE": "database"}
    else:
        redis = pytest.importorskip("redis")
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        try:
            client.ping()
        except redis.ConnectionError:
            pytest.skip(f"no Redis at {REDIS_URL}")
        prefix = f"fieldapp-test-{secrets.token_hex(4)}:"
        config = {"LOGIN_STORE": REDIS_URL, "LOGIN_STORE_PREFIX": prefix}
    saved = {key: app.config.get(key) for key in config}
    app.config.update(config)
    yield config
    app.config.update(saved)
    if request.param == "redis":
        keys = list(client.scan_iter(match=f"{config['LOGIN_STORE_PREFIX']}*"))
        if keys:
            client.delete(*keys)
        client.close()


def _login_from(client, username: str, password: str, address: str | None = None):
    """The login form sent through a proxy that says the client is ``address``."""
    headers = {"X-Forwarded-For": address} if address else {}
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers=headers,
    )


def _message(resp) -> str:
    """The error the login page shows, its minutes and time replaced by #."""
    html = resp.get_data(as_text=True)
    found = re.search(r"登录失败次数过多[^<]*", html)
    return re.sub(r"\d+", "#", found.group(0)) if found else ""


def _audit(app, action: str) -> list[str]:
    from fieldapp.audit.models import AuditEvent

    with app.app_context():
        return list(
            db.session.scalars(select(AuditEvent.object).where(AuditEvent.action == action))
        )


def test_five_wrong_passwords_lock_the_account_until_an_admin_lifts_it(app, client, world):
    codes = [login(client, world.mediator, f"guess-{n}").status_code for n in range(5)]
    assert codes == [200, 200, 200, 200, 429]  # the fifth failure locks

    resp = login(client, world.mediator)  # even the right password, while locked
    assert resp.status_code == 429
    html = resp.get_data(as_text=True)
    assert ACCOUNT_LOCKED in html and "分钟后" in html
    assert client.get("/").status_code == 302  # not logged in
    assert _audit(app, "login_locked") == [f"user:{world.mediator}"]

    # A username nobody has gets the same words at the same count: no hint it is unknown.
    other = app.test_client()
    for n in range(4):
        assert login(other, "no-such-user", f"guess-{n}").status_code == 200
    assert _message(login(other, "no-such-user", "guess-4")) == _message(resp)

    # Her colleague at the same office (same address) is not locked out.
    assert login(app.test_client(), world.mediator2).status_code == 302

    # The admin sees the lock on her page and lifts it.
    admin = app.test_client()
    login(admin, world.admin)
    page = admin.get(f"/admin/users/user/{world.mediator}").get_data(as_text=True)
    assert 'id="login-locked"' in page and 'id="unlock"' in page
    token = csrf_token(admin, f"/admin/users/user/{world.mediator}")
    resp = admin.post(f"/admin/users/user/{world.mediator}/unlock", data={"csrf_token": token})
    assert resp.status_code == 302
    assert 'id="unlock"' not in admin.get(f"/admin/users/user/{world.mediator}").get_data(
        as_text=True
    )
    assert _audit(app, "login_unlock") == [f"user:{world.mediator}"]
    assert login(client, world.mediator).status_code == 302


def test_only_failures_count_and_a_good_login_starts_the_count_again(app, world):
    for _round in range(3):  # 4 typos, then her password: never 5 failures in a row
        phone = app.test_client()
        for n in range(4):
            assert login(phone, world.mediator, f"typo-{n}").status_code == 200
        assert login(phone, world.mediator).status_code == 302
    # Six good logins in a row (one per device) count for nothing either.
    assert [login(app.test_client(), world.mediator).status_code for _ in range(6)] == [302] * 6


def test_the_lock_ends_by_itself_after_its_minutes(app, client, world, store, monkeypatch):
    for n in range(5):
        login(client, world.mediator, f"guess-{n}")
    login(app.test_client(), "ghost", "guess")  # a name nobody has, tried once
    assert login(client, world.mediator).status_code == 429
    later = datetime.now(UTC) + timedelta(minutes=16)
    monkeypatch.setattr(throttle, "_now", lambda: later)  # as if 15 minutes had gone by
    assert login(client, world.mediator).status_code == 302

    # The next failure anywhere starts its counts afresh.
    login(app.test_client(), "someone-else", "guess")
    with app.app_context():
        counts = {
            (kind, who): throttle.failures(kind, who)
            for kind, who in [("account", "someone-else"), ("address", "127.0.0.1")]
            + [("account", "ghost"), ("account", world.mediator)]
        }
    assert counts == {
        ("account", "someone-else"): 1,
        ("address", "127.0.0.1"): 1,
        ("account", "ghost"): 0,
        ("account", world.mediator): 0,
    }
    if store["LOGIN_STORE"] == "database":  # and drops the rows that are over
        from fieldapp.auth.models import LoginFailure

        with app.app_context():
            rows = db.session.execute(
                select(LoginFailure.kind, LoginFailure.subject, LoginFailure.failures)
            )
            assert set(rows) == {("account", "someone-else", 1), ("address", "127.0.0.1", 1)}


def test_a_manager_lifts_a_lock_from_the_command_line(
    app, client, world, runner, monkeypatch, store
):
    from fieldapp.cli import main

    for n in range(5):
        login(client, world.mediator, f"guess-{n}")
    for key, value in store.items():
        monkeypatch.setenv(f"FIELDAPP_{key}", value)
    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    result = runner.invoke(main, ["users", "unlock", world.mediator])
    assert result.exit_code == 0, result.output
    assert "已解除" in result.output
    assert login(client, world.mediator).status_code == 302
    again = runner.invoke(main, ["users", "unlock", world.mediator])
    assert "没有被锁定" in again.output


def test_a_supervisor_may_not_unlock_someone_beyond_their_reach(app, client, world):
    for n in range(5):
        login(app.test_client(), world.mediator3, f"guess-{n}")  # 柳树村, the other district
    login(client, world.supervisor)  # 东城区
    token = csrf_token(client, "/?online")
    resp = client.post(f"/admin/users/user/{world.mediator3}/unlock", data={"csrf_token": token})
    assert resp.status_code in (403, 404)
    assert login(app.test_client(), world.mediator3).status_code == 429


@pytest.fixture
def behind_proxy(database_url, tmp_path, store):
    """The app as deployed behind one trusted reverse proxy (``PROXY_FIX`` 1), with a
    small address limit so that the story stays short."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-only-secret",
            "WORKER_THREAD": False,
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "LOGIN_FAILURES_PER_ADDRESS": 3,
            "PROXY_FIX": 1,
            **store,
        }
    )


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_one_locked(app, world, behind_proxy):
    guesser = behind_proxy.test_client()
    for name in ("ann", "bob"):
        assert _login_from(guesser, name, "guess", "203.0.113.7").status_code == 200
    resp = _login_from(guesser, "cat", "guess", "203.0.113.7")
    assert resp.status_code == 429 and ADDRESS_LOCKED in resp.get_data(as_text=True)
    # The right password from the locked address waits; another address logs in.
    resp = _login_from(behind_proxy.test_client(), world.mediator, world.password, "203.0.113.7")
    assert resp.status_code == 429
    resp = _login_from(behind_proxy.test_client(), world.mediator, world.password, "198.51.100.2")
    assert resp.status_code == 302
    assert _audit(app, "login_locked") == ["address:203.0.113.7"]


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(app, world):
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = 3
    try:
        for name in ("ann", "bob", "cat"):  # each claims another address: all one to us
            _login_from(app.test_client(), name, "guess", f"203.0.113.{len(name) + ord(name[0])}")
        resp = _login_from(app.test_client(), world.mediator, world.password, "198.51.100.2")
    finally:
        app.config["LOGIN_FAILURES_PER_ADDRESS"] = 20
    assert resp.status_code == 429 and ADDRESS_LOCKED in resp.get_data(as_text=True)
    assert _audit(app, "login_locked") == ["address:127.0.0.1"]


def test_odk_collect_passwords_count_against_the_same_lock(app, client, world):
    """HTTP Basic (ODK Collect over HTTPS) is a login too: its failures lock the account
    for the login page as well, and the lock refuses it with the same words."""
    https = {"wsgi.url_scheme": "https"}

    def basic(password: str) -> int:
        raw = base64.b64encode(f"{world.mediator}:{password}".encode()).decode()
        headers = {"Authorization": f"Basic {raw}"}
        return client.get("/formList", environ_overrides=https, headers=headers)

    assert [basic(f"guess-{n}").status_code for n in range(4)] == [401] * 4
    resp = basic("guess-4")
    assert resp.status_code == 429 and ACCOUNT_LOCKED in resp.get_data(as_text=True)
    assert basic(world.password).status_code == 429
    assert login(app.test_client(), world.mediator).status_code == 429


def test_two_app_hosts_count_the_same_failures(app, world, behind_proxy):
    """Another app host on the same store (database or Redis) sees this one's count
    and its lock; unlocking on either lifts it for both."""
    for n in range(3):
        assert login(app.test_client(), world.mediator, f"guess-{n}").status_code == 200
    for n in range(2):  # the other host, through its proxy: the 5th failure locks
        resp = _login_from(behind_proxy.test_client(), world.mediator, f"g{n}", f"198.51.100.{n}")
    assert resp.status_code == 429 and ACCOUNT_LOCKED in resp.get_data(as_text=True)
    assert login(app.test_client(), world.mediator).status_code == 429
    with behind_proxy.app_context():
        assert throttle.clear_account(world.mediator) is True
        db.session.commit()
    assert login(app.test_client(), world.mediator).status_code == 302


def test_a_login_store_that_is_neither_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match="FIELDAPP_LOGIN_STORE"):
        create_app({"LOGIN_STORE": "memcached://127.0.0.1", "INSTANCE_PATH": str(tmp_path)})
