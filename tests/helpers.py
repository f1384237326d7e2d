"""Helpers that tests share: paths, logging in, building XLSForms and submission XML."""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import openpyxl
from werkzeug.datastructures import MultiDict

from fieldapp.dataset.long import MAIN

SHARED_FORMS = Path(__file__).resolve().parents[2] / "shared" / "forms"
BUNDLED_FORMS = Path(__file__).resolve().parents[1] / "questionnaires"
# Every real questionnaire: the ones from others (../shared/forms), then the bundled ones.
ALL_FORMS = sorted(SHARED_FORMS.glob("*.xlsx")) + sorted(BUNDLED_FORMS.glob("*.xlsx"))
PASSWORD = "correct-horse-9"


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


def export(client, url: str):
    """Ask for an export as the data page's export buttons do: a POST of ``url``'s query
    as form fields, with the CSRF token (a GET may not start a background job or export
    identifying data: it only shows a page that asks)."""
    path, _, query = url.partition("?")
    fields = MultiDict(parse_qsl(query, keep_blank_values=True))
    fields["csrf_token"] = client.get("/csrf-token").get_json()["token"]
    return client.post(path, data=fields)


def switch_user(client, username: str, password: str = PASSWORD):
    """Log out whoever is logged in on ``client`` (any role: the token comes from
    ``/csrf-token``, not from a page) and log ``username`` in."""
    resp = client.get("/csrf-token")
    if resp.status_code == 200:
        client.post("/logout", data={"csrf_token": resp.get_json()["token"]})
    return login(client, username, password)


def elements(values: dict) -> str:
    """Answers (nested dicts for groups, lists of dicts for repeats) as XML elements."""
    out = []
    for name, value in values.items():
        if isinstance(value, list):
            out.extend(f"<{name}>{elements(item)}</{name}>" for item in value)
        elif isinstance(value, dict):
            out.append(f"<{name}>{elements(value)}</{name}>")
        else:
            out.append(f"<{name}>{escape(str(value))}</{name}>")
    return "".join(out)


def submission_xml(
    form_id: str, version: str, answers: dict, instance_id: str | None = None, root: str = "data"
) -> tuple[bytes, str]:
    """Submission XML as a phone would send it; returns (xml bytes, instance ID)."""
    instance_id = instance_id or f"uuid:{uuid.uuid4()}"
    body = elements(answers) + f"<meta><instanceID>{instance_id}</instanceID></meta>"
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
            "next_visit_date": "2026-12-01",
            "case_status": "open",
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


def form_schema(app, form_id: str, version: str | None = None) -> dict:
    """The schema of a published form's version (its current one unless named)."""
    from fieldapp.surveys.services import get_form

    with app.app_context():
        form = get_form(form_id)
        if version is None:
            return form.current.schema
        return next(v for v in form.versions if v.version == version).schema


def xlsx(rows: list[list]) -> bytes:
    """An .xlsx file with one sheet of ``rows`` (the first is the header)."""
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsform(
    survey: list[list],
    choices: list[list] | None = None,
    settings: list[list] | None = None,
    entities: list[list] | None = None,
) -> bytes:
    """An XLSForm workbook built in memory (``entities``: the ODK Entities sheet)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    for row in survey:
        ws.append(row)
    for title, rows in (("choices", choices), ("settings", settings), ("entities", entities)):
        if rows:
            sheet = wb.create_sheet(title)
            for row in rows:
                sheet.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


TEXT = '李梅, "甲"'
ID_LIKE = re.compile(r"phone|number|tel|code|(^|_)id($|_)", re.I)
NO_DATA = {"note", "calculate", "group", "repeat", "instance_id"}
DATE, TIME = "2026-11-20", "09:30:00.000+08:00"
DATETIME = f"{DATE}T{TIME}"


@dataclass
class Answer:
    """One value sent: its question, path below the root and repeat instance numbers."""

    q: dict
    parts: list[str]
    idx: tuple[int, ...]
    value: str
    repeats: set[int]  # indexes into ``parts`` that are repeats

    def located(self, iid: str) -> tuple[str, str, str]:
        """(long table key, row key, wide CSV column) where this value is exported."""
        wide, numbers = [], iter(self.idx)
        for i, part in enumerate(self.parts):
            wide.append(f"{part}[{next(numbers)}]" if i in self.repeats else part)
        if not self.repeats:
            return MAIN, iid, "/".join(wide)
        last = max(self.repeats) + 1
        return "/".join(self.parts[:last]), "/".join([iid, *wide[:last]]), "/".join(wide)

    @property
    def choices(self) -> list[str]:
        return [c["name"] for c in self.q["choices"]] if self.kind == "select_multiple" else []

    @property
    def kind(self) -> str:
        return self.q["type"]

    @property
    def dt(self) -> str | None:
        return self.q.get("data_type")


def value_for(q: dict, idx: tuple[int, ...]) -> str | None:
    """A plausible answer of the question's type (``None``: nothing to send)."""
    kind, dt, tag = q["type"], q.get("data_type"), "".join(map(str, idx))
    if kind in NO_DATA or q.get("readonly") or q.get("calculate") or dt == "binary":
        return None
    if kind in ("select_one", "select_multiple"):
        if not q.get("choices_static") or not q.get("choices"):
            return None
        names = [c["name"] for c in q["choices"]]
        return names[-1] if kind == "select_one" else f"{names[0]} {names[-1]}"
    if kind == "integer" or dt == "int":
        return f"4{tag}" if tag else "-3"
    if kind == "decimal" or dt == "decimal":
        return f"3.{tag}5"
    if dt == "date":
        return DATE
    if dt == "time":
        return TIME
    if dt == "dateTime":
        return DATETIME
    if dt == "geopoint":
        return "30.2741 120.1551 0 5"
    if ID_LIKE.search(q["name"]) or kind == "phonenumber":
        return f"0571123{tag}"
    return f"{TEXT} {tag}".strip()


def fill_every_question(schema: dict) -> tuple[dict, list[Answer]]:
    """Answers for every question (two instances of every repeat) and the values sent."""
    root = "/" + schema["root"]
    repeats = set(schema["repeats"])
    children: dict[str, list[dict]] = {}
    for q in schema["questions"]:
        children.setdefault(q["path"].rsplit("/", 1)[0], []).append(q)
    sent: list[Answer] = []

    def node(path: str, idx: tuple[int, ...]) -> dict:
        out = {}
        for q in children.get(path, []):
            name = q["path"].rsplit("/", 1)[1]
            if q["path"] == f"{root}/meta":
                continue  # submission_xml writes meta/instanceID
            if q["path"] in repeats:
                out[name] = [node(q["path"], (*idx, n)) for n in (1, 2)]
            elif q["type"] == "group":
                if group := node(q["path"], idx):
                    out[name] = group
            elif (value := value_for(q, idx)) is not None:
                out[name] = value
                parts = q["path"][len(root) + 1 :].split("/")
                reps = {
                    i
                    for i in range(len(parts) - 1)
                    if f"{root}/{'/'.join(parts[: i + 1])}" in repeats
                }
                sent.append(Answer(q, parts, idx, value, reps))
        return out

    return node(root, ()), sent
