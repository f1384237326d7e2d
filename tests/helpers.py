"""Small helpers that tests share: logging in, CSRF tokens, building submission XML."""

from __future__ import annotations

import io
import re
import uuid
from xml.sax.saxutils import escape

from tests.conftest import BUNDLED_FORMS, PASSWORD


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of a page (from its ``<meta name="csrf-token">``)."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def login(client, username: str, password: str = PASSWORD):
    """Log ``client`` in through the real login form."""
    token = csrf_token(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def api_token(app, username: str) -> str:
    """Create an API token for ``username`` (as ``fieldapp tokens create`` does)."""
    from fieldapp.auth.services import create_token, get_user
    from fieldapp.extensions import db

    with app.app_context():
        secret = create_token(get_user(username), "test")
        db.session.commit()
        return secret


def switch_user(client, username: str, password: str = PASSWORD):
    """Log out whoever is logged in on ``client`` and log ``username`` in."""
    client.post("/logout", data={"csrf_token": csrf_token(client, "/login")})
    return login(client, username, password)


def _elements(values: dict) -> str:
    out = []
    for name, value in values.items():
        if isinstance(value, list):
            out.extend(f"<{name}>{_elements(item)}</{name}>" for item in value)
        elif isinstance(value, dict):
            out.append(f"<{name}>{_elements(value)}</{name}>")
        else:
            out.append(f"<{name}>{escape(str(value))}</{name}>")
    return "".join(out)


def submission_xml(
    form_id: str, version: str, answers: dict, instance_id: str | None = None, root: str = "data"
) -> tuple[bytes, str]:
    """Submission XML as a phone would send it; returns (xml bytes, instance ID)."""
    instance_id = instance_id or f"uuid:{uuid.uuid4()}"
    body = _elements(answers) + f"<meta><instanceID>{instance_id}</instanceID></meta>"
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><{root} id="{escape(form_id)}" '
        f'version="{escape(version)}">{body}</{root}>'
    )
    return xml.encode("utf-8"), instance_id


def post_submission(
    client,
    xml: bytes,
    files: dict[str, bytes] | None = None,
    token: str | None = None,
    csrf: str | None = None,
):
    """POST to /submission as multipart, with a Bearer token or a session CSRF token."""
    data = {"xml_submission_file": (io.BytesIO(xml), "submission.xml", "text/xml")}
    for name, content in (files or {}).items():
        data[name] = (io.BytesIO(content), name, "image/jpeg")
    headers = {"X-OpenRosa-Version": "1.0"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if csrf:
        headers["X-CSRFToken"] = csrf
    return client.post(
        "/submission", data=data, headers=headers, content_type="multipart/form-data"
    )


SCREENING = BUNDLED_FORMS / "family_screening.xlsx"


def screening_answers(**changes) -> dict:
    """A valid answer set for the bundled family_screening form (two members, one minor)."""
    answers = {
        "start": "2026-11-20T09:00:00.000+08:00",
        "end": "2026-11-20T09:20:00.000+08:00",
        "household_info": {
            "screening_date": "2026-11-20",
            "town": "新华街道",
            "village": "和平社区",
            "household_head": "李梅",
            "phone": "13812345678",
            "address": "和平社区3栋12号",
        },
        "household": {
            "household_members": [
                {
                    "member_name": "李梅",
                    "relation": "head",
                    "member_sex": "female",
                    "member_age": "41",
                    "is_minor": "0",
                },
                {
                    "member_name": "张小雨",
                    "relation": "child",
                    "member_sex": "female",
                    "member_age": "15",
                    "is_minor": "1",
                },
            ],
            "member_count": "2",
            "minor_count": "1",
        },
        "situation": {"has_conflict": "yes", "conflict_types": "family_conflict dv"},
        "risk": {
            "risk_score": "5",
            "risk_level": "high",
            "referral": "legal_aid shelter",
            "assigned_person": "王芳",
            "next_followup_date": "2026-12-01",
        },
        "remarks": "",
    }
    for dotted, value in changes.items():
        node = answers
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return answers
