"""Two ``fieldapp serve`` instances on different ports behind one PostgreSQL database
serve the same people consistently (issue 14, docs/deploy.md): a login made on one is
valid on the other and a logout on either ends it; a submission sent to one is seen on
the other; the same questionnaire sent to both at once is stored once; a form published
on one is offered by the other; failed logins on one count on the other (the lock in the
database; with Redis at ``FIELDAPP_TEST_REDIS_URL``, flask-limiter's burst guard too); an
export queued on one is done by either's worker and downloaded from either.

Runs only when ``FIELDAPP_TEST_DATABASE_URL`` is PostgreSQL. It uses a database of its
own, ``<that database>_two``, created and dropped here, so the suite's schema is left
alone. The two servers share one instance folder (secret key, pseudonym key, export
files), as hosts sharing an NFS mount would.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.helpers import PASSWORD, SCREENING, screening_answers, submission_xml, xlsform

BASE_URL = os.environ.get("FIELDAPP_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not BASE_URL.startswith("postgresql"),
    reason="two servers share one database only on PostgreSQL (FIELDAPP_TEST_DATABASE_URL)",
)
FIELDAPP = Path(sys.executable).with_name("fieldapp")
# flask-limiter's burst guard in Redis when one answers here (a database of the tests'
# own: its LIMITS* keys are removed afterwards); else per process, and not checked.
REDIS_URL = os.environ.get("FIELDAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BURST = 9  # failed logins per address and minute (FIELDAPP_LOGIN_RATE_LIMIT)


@pytest.fixture(scope="module")
def limits_store():
    """The Redis URL the servers keep their burst guard in, or ``None``."""
    try:
        import redis
    except ImportError:
        yield None
        return
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        yield None
        return
    yield REDIS_URL
    keys = list(client.scan_iter(match="LIMITS*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def database():
    """A database of this module's own, ``<db>_two``, at the newest revision, with the
    test world's areas and users and the screening form; dropped afterwards."""
    from fieldapp.migrate import upgrade

    base = make_url(BASE_URL)
    name = f"{base.database}_two"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def world(database, tmp_path_factory) -> dict:
    """The areas and users of the suite's world, the screening form published to the
    city and a Bearer token for the 和平社区 mediator; the shared instance folder."""
    from fieldapp import create_app
    from fieldapp.areas.services import create_area
    from fieldapp.auth.services import create_token, create_user, get_user
    from fieldapp.demo.loader import AREAS, USERS
    from fieldapp.extensions import db
    from fieldapp.surveys.services import import_xlsform

    instance = tmp_path_factory.mktemp("shared-instance")
    app = create_app({"DATABASE_URL": database, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        areas = {}
        for code, name, level, parent in AREAS:
            areas[code] = create_area(code, name, level, areas[parent] if parent else None)
        for username, display, role, code in USERS:
            create_user(username, PASSWORD, role, areas[code], display)
        result = import_xlsform(SCREENING.read_bytes(), SCREENING.name, areas["3399"])
        version = result.form_version.version
        token = create_token(get_user("mediator"), "two instances")
        db.session.commit()
        db.engine.dispose()
    return {"instance": instance, "version": version, "token": token}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"fieldapp serve ended: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/login", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.3)
    pytest.fail(f"fieldapp serve did not answer in 30 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def servers(database, world, limits_store, tmp_path_factory):
    """Two ``fieldapp serve`` processes (one gunicorn worker each, each with its
    background worker thread) on two ports: their base URLs (A, B)."""
    env = {
        **os.environ,
        "FIELDAPP_DATABASE_URL": database,
        "FIELDAPP_INSTANCE_PATH": str(world["instance"]),
        "FIELDAPP_WORKER_THREAD": "1",
        "FIELDAPP_LOGIN_STORE": "database",
        "FIELDAPP_LOGIN_RATE_LIMIT": f"{BURST} per minute",
        "FIELDAPP_RATELIMIT_STORAGE_URI": limits_store or "memory://",
        "FIELDAPP_EXPORT_SYNC_MAX_ROWS": "0",  # every export is a background job
    }
    env.pop("FIELDAPP_SECRET_KEY", None)  # both read instance/secret_key
    logs = tmp_path_factory.mktemp("serve-logs")
    procs, urls = [], []
    try:
        for name in ("a", "b"):
            port = _free_port()
            log = logs / f"{name}.log"
            procs.append(
                subprocess.Popen(
                    [str(FIELDAPP), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                    env=env,
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: gunicorn and its worker
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc, name in zip(urls, procs, "ab", strict=True):
            _wait_until_up(url, proc, logs / f"{name}.log")
        yield urls
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _csrf(session: requests.Session, url: str) -> str:
    html = session.get(url).text
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def _login(server: str, username: str, password: str = PASSWORD) -> requests.Response:
    """A new browser (its own cookies) logging in on ``server``; the answer's session."""
    browser = requests.Session()
    token = _csrf(browser, f"{server}/login")
    resp = browser.post(
        f"{server}/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
    )
    resp.browser = browser
    return resp


def _on(browser: requests.Session) -> requests.Session:
    """The same browser's cookies, to use on another server (a load balancer's next
    pick: the cookie jar does not tell ports apart, this makes it plain)."""
    other = requests.Session()
    for cookie in browser.cookies:
        other.cookies.set(cookie.name, cookie.value, domain=cookie.domain, path=cookie.path)
    return other


def _send(server: str, xml: bytes, token: str) -> requests.Response:
    return requests.post(
        f"{server}/submission",
        files={"xml_submission_file": ("submission.xml", xml, "text/xml")},
        headers={"Authorization": f"Bearer {token}", "X-OpenRosa-Version": "1.0"},
        timeout=30,
    )


def _ids(server: str, browser: requests.Session) -> list[str]:
    resp = browser.get(f"{server}/api/v1/forms/family_screening/submissions?per_page=100")
    assert resp.status_code == 200, resp.text[:300]
    return [row["instance_id"] for row in resp.json()["results"]]


def test_two_servers_on_one_database_serve_the_same_people(servers, world, limits_store):
    a, b = servers
    started = time.monotonic()

    # A login on A is valid on B (sessions live in the database, the cookie is signed
    # with the shared secret key).
    resp = _login(a, "admin")
    assert resp.status_code == 302, resp.text[:300]
    admin_a = resp.browser
    admin_b = _on(admin_a)
    assert admin_b.get(f"{b}/api/v1/me").json()["username"] == "admin"

    # A questionnaire sent to A is seen on B, in the API and on the data page.
    xml, iid = submission_xml("family_screening", world["version"], screening_answers())
    assert _send(a, xml, world["token"]).status_code == 201
    assert iid in _ids(b, admin_b)
    page = admin_b.get(f"{b}/data/family_screening")
    assert page.status_code == 200 and iid[5:13] in page.text

    # The same questionnaire sent to A and to B at the same moment is stored once.
    xml, iid = submission_xml("family_screening", world["version"], screening_answers())
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda server: _send(server, xml, world["token"]), [a, b]))
    assert [r.status_code for r in answers] == [201, 201], [r.text for r in answers]
    assert sorted(r.headers.get("X-Fieldapp-Duplicate", "") for r in answers) == ["", "1"]
    assert _ids(a, admin_a).count(iid) == 1

    # A form published on A is offered by B's formList.
    workbook = xlsform(
        [["type", "name", "label"], ["text", "village_note", "村里的情况"]],
        settings=[["form_id", "form_title", "version"], ["two_hosts", "两台主机", "1"]],
    )
    resp = admin_a.post(
        f"{a}/surveys/upload",
        data={"csrf_token": _csrf(admin_a, f"{a}/surveys/upload"), "area": "3399"},
        files={"xlsform": ("two_hosts.xlsx", workbook)},
        allow_redirects=False,
    )
    assert resp.status_code == 302, resp.text[:500]
    form_list = requests.get(
        f"{b}/formList",
        headers={"Authorization": f"Bearer {world['token']}", "X-OpenRosa-Version": "1.0"},
    )
    assert form_list.status_code == 200 and "<formID>two_hosts</formID>" in form_list.text

    # Failed logins on A count on B: the fifth, on B, locks the account on both.
    assert [_login(a, "mediator2", f"guess-{n}").status_code for n in range(3)] == [200] * 3
    assert [_login(b, "mediator2", f"guess-{n}").status_code for n in range(2)] == [200, 429]
    assert _login(a, "mediator2").status_code == 429
    if limits_store:  # the burst guard in Redis counts this address's refusals on both
        refused = 3 + 2 + 1
        codes = [_login((a, b)[n % 2], f"nobody{n}", "guess").status_code for n in range(4)]
        assert codes == [200] * (BURST - refused) + [429] * (4 - BURST + refused)
        assert "尝试次数过多" in _login(b, "nobody", "guess").text

    # An export queued on A is done by either server's worker, downloaded from either.
    resp = admin_a.post(
        f"{a}/data/family_screening/export",
        data={"format": "csv", "csrf_token": admin_a.get(f"{a}/csrf-token").json()["token"]},
        allow_redirects=False,
    )
    assert resp.status_code == 302 and "/data/exports/" in resp.headers["Location"]
    job = resp.headers["Location"].rsplit("/", 1)[-1]
    deadline = time.monotonic() + 30
    while (state := admin_b.get(f"{b}/data/exports/{job}.json").json())["status"] != "done":
        assert state["status"] in ("queued", "running") and time.monotonic() < deadline, state
        time.sleep(0.5)
    files = [
        browser.get(f"{server}{state['download_url']}")
        for server, browser in ((a, admin_a), (b, admin_b))
    ]
    assert [f.status_code for f in files] == [200, 200]
    assert files[0].content == files[1].content and iid.encode() in files[0].content

    # Logging out on B ends the session on A too.
    token = admin_b.get(f"{b}/csrf-token").json()["token"]
    assert admin_b.post(f"{b}/logout", data={"csrf_token": token}).status_code == 200
    assert admin_a.get(f"{a}/api/v1/me").status_code == 401
    assert admin_a.get(f"{a}/", allow_redirects=False).status_code == 302

    assert time.monotonic() - started < 60
