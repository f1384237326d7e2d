"""Testing a draft form on a phone: its unguessable token, its test links, their QR codes.

A draft (``Form.state == DRAFT``) is not offered to the field. Whoever holds its link
fills it in test mode under ``/test/<draft_token>/`` (the web fill page
``/test/<token>/fill``, and the OpenRosa routes below ``/test/<token>`` for ODK Collect);
what they send is stored with ``Submission.test`` and discarded when the form is
published (``fieldapp.surveys.lifecycle``).
"""

from __future__ import annotations

import base64
import json
import secrets
import zlib
from dataclasses import dataclass

import segno
from markupsafe import Markup


def new_draft_token() -> str:
    """A fresh draft token: 32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def collect_settings_payload(server_url: str, project_name: str) -> str:
    """The text of an ODK Collect settings QR code that points Collect at ``server_url``.

    Collect reads a JSON object of ``general``, ``admin`` and ``project`` settings,
    compressed with zlib and then base64-encoded (ODK docs, "Importing and exporting
    settings"; ODK Central builds its app-user codes the same way). Forms are kept
    exactly as the server lists them (``form_update_mode: match_exactly``).
    """
    settings = {
        "general": {"server_url": server_url, "form_update_mode": "match_exactly"},
        "admin": {},
        "project": {"name": project_name, "icon": project_name[:1] or "F"},
    }
    raw = json.dumps(settings, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(zlib.compress(raw)).decode("ascii")


def qr_svg(text: str, title: str) -> Markup:
    """An inline SVG QR code of ``text`` (error correction M, 4-module quiet zone)."""
    svg = segno.make(text, error="m", micro=False).svg_inline(
        scale=4, title=title, svgclass="qr", lineclass=None, omitsize=True
    )
    return Markup(svg)  # segno escapes the title


@dataclass(frozen=True)
class TestLinks:
    """Where a draft is filled in test mode, and the QR codes that open it."""

    fill_url: str  # the web fill page, for a phone's browser
    server_url: str  # the OpenRosa base for ODK Collect
    fill_qr: Markup
    collect_qr: Markup


def test_links(draft_token: str, base_url: str, title: str) -> TestLinks:
    """The test links of a draft whose token is ``draft_token``, under ``base_url``
    (the server's own address, e.g. ``https://fieldapp.example.cn``)."""
    base = base_url.rstrip("/")
    server = f"{base}/test/{draft_token}"
    fill = f"{server}/fill"
    payload = collect_settings_payload(server, f"测试：{title}"[:60])
    return TestLinks(
        fill,
        server,
        qr_svg(fill, "测试填写链接"),
        qr_svg(payload, "ODK Collect 测试设置"),
    )
