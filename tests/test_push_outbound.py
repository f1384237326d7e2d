"""The server POSTs pushes to URLs its users give (issue 13's subscriptions): it must not
be made to reach this machine or a private network (SSRF). Found by the red team of
2026-12-02: ``https://127.1/``, ``https://10.1/`` and ``https://0x7f.0.0.1/`` were
stored (the resolver reads them as 127.0.0.1 and 10.0.0.1), a DNS name resolving to a
private address was never checked, and a push service's redirect was followed; and
``"21:00\\n"`` passed as quiet hours (a varchar(5) on PostgreSQL: a 500)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from fieldapp.reminders.outbound import allowed_address, push_session
from tests.helpers import api_token
from tests.helpers_push import Device


def bearer(app, who: str) -> dict:
    return {"Authorization": f"Bearer {api_token(app, who)}"}


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.1/push",
        "https://10.1/push",
        "https://0x7f.0.0.1/push",
        "https://0177.0.0.1/push",
        "https://192.168.1/push",
        "https://localhost./push",
        "https://127.0.0.1./push",
        "https://[::ffff:10.0.0.1]/push",
        # a public host, but not its https port: the server would knock on its SSH, Redis…
        "https://push.example.com:22/push",
        "https://push.example.com:6379/push",
        "https://push.example.com:8443/push",
    ],
)
def test_loopback_private_and_other_port_endpoints_are_refused(app, client, world, endpoint):
    app.config["TESTING"] = False  # check_endpoint lets loopback through while testing
    try:
        body = Device.new(endpoint).to_json()
        resp = client.post(
            "/api/v1/push/subscriptions", json=body, headers=bearer(app, world.mediator)
        )
    finally:
        app.config["TESTING"] = True
    assert resp.status_code == 400, endpoint
    assert "https" in resp.get_json()["error"]["message"]


@pytest.mark.parametrize("host", ["fcm.googleapis.com", "updates.push.services.mozilla.com:443"])
def test_a_push_service_name_is_still_accepted(app, client, world, host):
    app.config["TESTING"] = False
    try:
        body = Device.new(f"https://{host}/fcm/send/abc:1").to_json()
        resp = client.post(
            "/api/v1/push/subscriptions", json=body, headers=bearer(app, world.mediator)
        )
    finally:
        app.config["TESTING"] = True
    assert resp.status_code == 201


def test_allowed_addresses():
    assert allowed_address("142.250.72.10") and allowed_address("2001:4860:4860::8888")
    for private in ("127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1"):
        assert not allowed_address(private), private
    assert allowed_address("127.0.0.1", loopback=True)


@pytest.fixture
def http_server():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/redirect":
                self.send_response(307)
                self.send_header("Location", "/inside")
            else:
                self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_the_push_session_connects_to_no_private_address(http_server):
    """A name (here an address) that leads to this machine: refused on the connected
    socket, before anything is sent; allowed only for the tests' loopback service."""
    origin, hits = http_server
    with push_session() as session, pytest.raises(requests.ConnectionError):
        session.post(f"{origin}/push", data=b"x", timeout=5)
    assert hits == []
    with push_session(loopback=True) as session:
        assert session.post(f"{origin}/push", data=b"x", timeout=5).status_code == 201
    assert hits == ["/push"]


def test_the_push_session_follows_no_redirect(http_server):
    origin, hits = http_server
    with push_session(loopback=True) as session, pytest.raises(requests.TooManyRedirects):
        session.post(f"{origin}/redirect", data=b"x", timeout=5)
    assert hits == ["/redirect"]


def test_quiet_hours_with_a_trailing_newline_are_refused(app, client, world):
    resp = client.put(
        "/api/v1/reminders/preferences",
        json={"quiet_start": "21:00\n"},
        headers=bearer(app, world.mediator),
    )
    assert resp.status_code == 400


def test_reminders_send_without_a_database_says_so(tmp_path, monkeypatch):
    """A cron line without the server's FIELDAPP_* environment looked at the checkout's
    instance folder: a traceback, exit 0, and an empty SQLite file made there."""
    from click.testing import CliRunner

    from fieldapp.reminders.cli import reminders

    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("FIELDAPP_DATABASE_URL", raising=False)
    result = CliRunner().invoke(reminders, ["send"])
    assert result.exit_code == 1
    assert "fieldapp init" in result.output
    assert not (tmp_path / "instance" / "fieldapp.sqlite3").exists()


def test_deeply_nested_or_huge_json_is_refused_not_a_500(app, client, world):
    headers = {**bearer(app, world.mediator), "Content-Type": "application/json"}
    deep = "[" * 20_000 + "]" * 20_000  # 40 KB, deeper than the parser goes
    for path in ("/api/v1/reminders/preferences", "/api/v1/push/subscriptions"):
        method = client.put if path.endswith("preferences") else client.post
        assert method(path, data=deep, headers=headers).status_code == 400
        huge = '{"x":"' + "a" * 70_000 + '"}'
        assert method(path, data=huge, headers=headers).status_code == 413
