"""Someone sends the district admin a link to an identifying export, or to a big export
that would run in the background: opening it exports nothing and starts no job, it only
asks; the export starts when the admin presses the button (a POST with the CSRF token)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from fieldapp.audit.models import AuditEvent
from fieldapp.exports.models import ExportJob
from fieldapp.extensions import db
from tests.helpers import SCREENING, export, screening_answers, switch_user

LINKS = [
    "/data/family_screening/export?format=xlsx&identifying=1",
    "/data/family_screening/export.csv?identifying=1",
    "/data/family_screening/export?format=csv&identifying=1",
    "/data/family_screening/export?format=sav&background=1",
    "/data/family_screening/export.csv?background=1",
]


@pytest.fixture
def screened(submit):
    """One screening from the 和平社区 mediator (household head 李梅, her phone)."""
    submit(SCREENING, [screening_answers()])


def _exports_and_jobs(app) -> tuple[int, int]:
    with app.app_context():
        audited = db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "export")
        )
        return audited, db.session.scalar(select(func.count(ExportJob.id)))


def _asking_form(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the page's 开始导出 form."""
    found = re.search(r'<form method="post" action="([^"]+)" id="export-confirm-form">', page)
    body = page[found.end() : page.index("</form>", found.end())]
    return found.group(1), dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', body))


@pytest.mark.parametrize("link", LINKS)
def test_opening_a_link_only_asks(app, client, world, screened, link):
    switch_user(client, world.admin)
    resp = client.get(link)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="export-confirm"' in page
    assert 'method="post"' in page and 'name="csrf_token"' in page
    assert "李梅" not in page and "13812345678" not in page
    assert _exports_and_jobs(app) == (0, 0)  # nothing exported, audited or queued


def test_the_button_on_the_page_starts_the_job(app, client, world, screened):
    switch_user(client, world.admin)
    page = client.get(LINKS[3]).get_data(as_text=True)
    action, fields = _asking_form(page)
    assert fields["background"] == "1" and "csrf_token" in fields
    resp = client.post(action, data=fields)
    assert resp.status_code == 302 and "/data/exports/" in resp.headers["Location"]
    assert _exports_and_jobs(app) == (1, 1)
    # The finished job's file stays a GET (tested in test_export_jobs); its page too.
    assert client.get(resp.headers["Location"]).status_code == 200


def test_an_identifying_export_is_made_by_the_button(app, client, world, screened):
    switch_user(client, world.admin)
    page = client.get(LINKS[0]).get_data(as_text=True)
    assert "包含身份信息" in page
    action, fields = _asking_form(page)
    resp = client.post(action, data=fields)
    assert resp.status_code == 200 and resp.data[:2] == b"PK"
    assert _exports_and_jobs(app) == (1, 0)


@pytest.mark.parametrize("link", LINKS)
def test_a_post_without_the_csrf_token_is_refused(app, client, world, screened, link):
    switch_user(client, world.admin)
    path, _, query = link.partition("?")
    resp = client.post(path, data=dict(p.split("=") for p in query.split("&")))
    assert resp.status_code == 400
    assert _exports_and_jobs(app) == (0, 0)


def test_a_small_deidentified_download_is_still_a_link(app, client, world, screened):
    switch_user(client, world.researcher)
    resp = client.get("/data/family_screening/export?format=xlsx")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"
    resp = client.get("/data/family_screening/export.csv")
    assert resp.status_code == 200 and "李梅" not in resp.get_data(as_text=True)
    assert _exports_and_jobs(app) == (2, 0)


def test_the_data_page_exports_by_post(app, client, world, screened):
    switch_user(client, world.admin)
    page = client.get("/data/family_screening").get_data(as_text=True)
    form = re.search(r'<form method="(\w+)" action="[^"]+" class="toolbar" id="export-file">', page)
    assert form and form.group(1) == "post"
    start = page.index('id="export-file"')
    assert 'name="csrf_token"' in page[start : page.index("</form>", start)]
    resp = export(client, "/data/family_screening/export?format=xlsx&identifying=1")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"


def test_a_households_link_only_asks(app, client, world, case_forms, send):
    from tests.helpers_cases import registration

    xml, _, _ = registration("王芳", risk="serious")
    send(xml)
    switch_user(client, world.admin)
    for link in (
        "/data/hh_visit/households/export?format=xlsx&identifying=1",
        "/data/hh_visit/households/export?format=sav&background=1",
    ):
        resp = client.get(link)
        assert resp.status_code == 200 and 'id="export-confirm"' in resp.get_data(as_text=True)
    assert _exports_and_jobs(app) == (0, 0)
    resp = export(client, "/data/hh_visit/households/export?format=sav&background=1")
    assert resp.status_code == 302 and _exports_and_jobs(app)[1] == 1
