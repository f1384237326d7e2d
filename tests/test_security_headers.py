"""Security headers (issue 14): every kind of answer carries a strict Content-Security-Policy
and the other security headers; HSTS only over HTTPS (behind a proxy only when
``PROXY_FIX`` trusts it); no template runs inline script or inline style."""

from __future__ import annotations

import re

import pytest

from fieldapp import create_app
from fieldapp.config import ROOT
from fieldapp.security_headers import CONTENT_SECURITY_POLICY, HSTS
from tests.helpers import (
    SCREENING,
    SHARED_FORMS,
    api_token,
    login,
    post_submission,
    submission_xml,
)

TEMPLATES = ROOT / "templates"


def _assert_secured(resp, what: str) -> None:
    csp = resp.headers.get("Content-Security-Policy", "")
    assert csp == CONTENT_SECURITY_POLICY, what
    for directive in ("script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'"):
        assert directive in csp, what  # no 'unsafe-inline', no 'unsafe-eval'
    assert "frame-ancestors 'none'" in csp, what
    assert "geolocation=(self)" in resp.headers["Permissions-Policy"], what
    assert resp.headers["Cross-Origin-Opener-Policy"] == "same-origin", what
    assert resp.headers["X-Content-Type-Options"] == "nosniff", what
    assert resp.headers["X-Frame-Options"] == "DENY", what
    assert resp.headers["Referrer-Policy"] == "same-origin", what
    assert "Strict-Transport-Security" not in resp.headers, what  # plain http here


def test_every_kind_of_page_and_answer_carries_the_headers(app, client, world, publish, submit):
    submit(SCREENING, [{}])
    anonymous = app.test_client()
    resp = anonymous.get("/login")
    assert resp.status_code == 200  # served over plain http, not redirected to https
    _assert_secured(resp, "login")
    _assert_secured(anonymous.get("/app"), "the phone app shell")
    _assert_secured(anonymous.get("/sw.js"), "the service worker")
    _assert_secured(anonymous.get("/manifest.webmanifest"), "the manifest")

    login(client, world.admin)
    pages = {
        "home": "/",
        "a form's data page": "/data/family_screening",
        "its dashboard": "/data/family_screening/dashboard",
        "OpenRosa formList": "/formList",
    }
    for what, url in pages.items():
        resp = client.get(url)
        assert resp.status_code == 200, (what, resp.status_code)
        _assert_secured(resp, what)

    token = api_token(app, world.mediator)
    resp = anonymous.get("/api/v1/forms", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.is_json
    _assert_secured(resp, "an API JSON answer")
    _assert_secured(anonymous.get("/no-such-page"), "a 404")


def test_hsts_only_when_the_request_came_over_https(app, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    # Nobody trusted to say so (PROXY_FIX 0): a forwarded "https" is not HTTPS.
    resp = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in resp.headers
    resp = client.get("/login", base_url="https://fieldapp.example")
    assert resp.headers["Strict-Transport-Security"] == HSTS


@pytest.fixture
def behind_proxy(database_url, tmp_path):
    """The app as deployed behind one TLS-terminating reverse proxy (``PROXY_FIX`` 1)."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-only-secret",
            "WORKER_THREAD": False,
            "PROXY_FIX": 1,
        }
    )


def test_behind_a_trusted_proxy_hsts_follows_the_forwarded_scheme(world, behind_proxy):
    client = behind_proxy.test_client()
    resp = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert resp.status_code == 200 and resp.headers["Strict-Transport-Security"] == HSTS
    resp = client.get("/login", headers={"X-Forwarded-Proto": "http"})
    assert resp.status_code == 200 and "Strict-Transport-Security" not in resp.headers


def test_an_uploaded_file_keeps_its_own_sandbox_policy(app, client, world, publish):
    form_id, version = publish(SHARED_FORMS / "UCL_Biomass_Plot_Form.xlsx")
    xml, iid = submission_xml(form_id, version, {"location": {"center_image": "plot.jpg"}})
    token = api_token(app, world.mediator)
    post_submission(client, xml, files={"plot.jpg": b"<script>alert(1)</script>"}, token=token)
    login(client, world.admin)
    resp = client.get(f"/data/submission/{iid}/attachments/plot.jpg")
    assert resp.status_code == 200
    assert resp.headers["Content-Security-Policy"] == "sandbox"  # not replaced by ours
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


# What a strict policy refuses, found in the template text: a <script> with code in it
# (a src, or a JSON data block, is fine), an on…= handler, a javascript: URL, a <style>
# block or a style= attribute.
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"),
    "event handler": re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.S),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "style block": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"<[a-zA-Z][^>]*\sstyle\s*=", re.S),
}


def test_no_template_runs_inline_script_or_inline_style():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for what, pattern in INLINE.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == []


def test_the_scan_sees_what_it_looks_for():
    samples = {
        "inline script": "<script>alert(1)</script>",
        "event handler": '<button type="button"\n  onclick="go()">',
        "javascript: URL": '<a href="JavaScript:go()">',
        "style block": "<style>p{}</style>",
        "style attribute": '<p class="x" style="color:red">',
    }
    for what, sample in samples.items():
        assert INLINE[what].search(sample), what
    assert not INLINE["inline script"].search('<script src="/static/js/pages/actions.js">')
    assert not INLINE["inline script"].search('<script type="application/json" id="t">')
    assert not INLINE["event handler"].search('<form data-confirm="确定吗？">')
