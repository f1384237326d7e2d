"""Who sees what, proved route by route (issue 14, "Proof, re-runnable").

Run: ``pytest tests/test_access_matrix.py`` (about a minute on SQLite);
``FIELDAPP_ACCESS_MATRIX_OUT=matrix.tsv`` also writes the grid of statuses.

The matrix is generated from the URL map: every rule × every method it allows (but
``static``), with real ids from a world that holds data in two sibling districts, is
requested by every caller of ``CALLERS``: anonymous; an admin of the city; an admin, a
supervisor, a researcher and a mediator of 东城区 (area A, where the data is) and of
西山县 (area B, its sibling); a Bearer API token of a mediator of each; an ODK Collect
app-user key (``/key/<token>/``) of a mediator of each; the session, token and key of a
mediator of A deactivated after she logged in. The reads are sent again by area B's
callers with a query that asks for A's data (``HOSTILE_QUERY``). Beside the matrix:
allowed callers' writes whose body names what is out of their reach
(``test_writes_that_reach_across_change_nothing``), the household list a phone
downloads, a visit from outside a household, counts, identifying exports.

What each caller may get is declared in ``ACCESS`` (endpoint → the rule its view declares
through ``fieldapp.scope`` and the callers who may use it). An endpoint missing from it,
or declaring another rule than the table says, fails ``test_every_endpoint_is_in_the_table``
with the line to add. Then, per cell:

- an allowed caller gets a 2xx or 3xx that is not a way to the login page (a write with
  the empty or sample body of ``BODIES`` may also get the 400/409 of its validation);
- a refused caller gets 401, 403, 404 or a redirect to ``/login``;
- nobody gets a 5xx;
- no response to a caller outside ``MARKERS``'s readers holds that marker (a unique
  answer of a submission or household of one area: area B's people never read area A's
  data, a mediator never reads a colleague's, a researcher never reads a name);
- a refused write changes no row (``_snapshot`` of every table but the logs);
- a refused caller gets the same answer for the world's ids as for made-up ones
  (``MADE_UP``), unless they may know the thing exists (``Access.knows``): no answer
  tells whether an id of another area exists.

Writes run after every read, refused callers of an endpoint before its allowed ones,
``LAST_WRITES`` last; what allowed writes change (a test user, a test village, a household) is
made for that purpose in the world, so later cells still hold.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from fieldapp.extensions import db
from tests.helpers import (
    PASSWORD,
    SCREENING,
    api_token,
    csrf_token,
    login,
    screening_answers,
    submission_xml,
    xlsform,
    xlsx,
)
from tests.helpers_cases import REGISTER, VISIT, registration

# -- callers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """One column of the matrix: ``kind`` "anon", "session" (logged in through the login
    form), "bearer" (``Authorization: Bearer``, no cookie) or "key" (the ``<token>`` of
    ``/key/<token>/`` routes, no cookie); ``username`` whose credential it is; ``area``
    "A", "B", "top" (the city) or "gone" (a user of A deactivated after logging in: her
    session, token and key open nothing)."""

    name: str
    kind: str
    username: str | None = None
    role: str | None = None
    area: str | None = None


CALLERS = [
    Caller("anon", "anon"),
    Caller("admin", "session", "admin", "admin", "top"),
    Caller("admin_a", "session", "mx_admin_a", "admin", "A"),
    Caller("supervisor_a", "session", "supervisor", "supervisor", "A"),
    Caller("researcher_a", "session", "mx_researcher_a", "researcher", "A"),
    Caller("mediator_a", "session", "mediator", "mediator", "A"),
    Caller("admin_b", "session", "mx_admin_b", "admin", "B"),
    Caller("supervisor_b", "session", "mx_supervisor_b", "supervisor", "B"),
    Caller("researcher_b", "session", "mx_researcher_b", "researcher", "B"),
    Caller("mediator_b", "session", "mediator3", "mediator", "B"),
    Caller("token_a", "bearer", "mediator", "mediator", "A"),
    Caller("token_b", "bearer", "mediator3", "mediator", "B"),
    Caller("key_a", "key", "mediator", "mediator", "A"),
    Caller("key_b", "key", "mediator3", "mediator", "B"),
    Caller("session_gone", "session", "mx_gone", "mediator", "gone"),
    Caller("token_gone", "bearer", "mx_gone", "mediator", "gone"),
    Caller("key_gone", "key", "mx_gone", "mediator", "gone"),
]
BY_NAME = {c.name: c for c in CALLERS}
# Users the world adds to the base world (username, role, area code).
EXTRA_USERS = [
    ("mx_admin_a", "admin", "339901"),
    ("mx_researcher_a", "researcher", "339901"),
    ("mx_admin_b", "admin", "339902"),
    ("mx_supervisor_b", "supervisor", "339902"),
    ("mx_researcher_b", "researcher", "339902"),
    ("mx_victim", "mediator", "339901001001"),  # what allowed writes change
    ("mx_gone", "mediator", "339901001001"),  # deactivated once logged in, token and key made
]
VICTIM_PHONE = "13900004711"  # mx_victim's: shown to her managers only
# A village of A's town, empty: may be renamed, moved, deleted. Its code does not begin
# with 3399, so the cleanup between tests removes it (conftest.WORLD_ROWS keeps those).
VICTIM_AREA = ("889901001099", "矩阵试验村")


def callers(*names: str) -> frozenset[str]:
    """Caller names, checked."""
    unknown = set(names) - set(BY_NAME)
    assert not unknown, unknown
    return frozenset(names)


EVERYONE = frozenset(BY_NAME)
LOGGED_IN = frozenset(
    c.name for c in CALLERS if c.kind in ("session", "bearer") and c.area != "gone"
)


def having(*roles: str, among: frozenset[str] = LOGGED_IN, areas=("top", "A", "B")):
    """The callers of ``among`` whose role is one of ``roles`` and area one of ``areas``."""
    return frozenset(n for n in among if BY_NAME[n].role in roles and BY_NAME[n].area in set(areas))


VIEWERS = ("admin", "supervisor", "researcher")
A_VIEWERS = having(*VIEWERS, areas=("top", "A"))  # every viewer who sees area A
A_PEOPLE = A_VIEWERS | callers("mediator_a", "token_a")  # ... and A's mediator

# -- the table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What an endpoint declares (``rule``: ``view.access_rule``) and who may use it
    with the world's ids (``allowed``: caller names). ``also``: statuses an allowed
    caller may get besides 2xx/3xx (documented: a 404 for an id they may know but that
    is gone, a 409 of a state). ``changes``: of a write that every caller may send but
    that acts on the caller's own rows only, the callers whose request may change a
    row (the others' must change none). ``knows``: refused callers who may know that the
    URL's ids exist (they see the thing elsewhere) and so may be told why they are
    refused; any other refused caller must get the same answer as for made-up ids."""

    rule: str
    allowed: frozenset[str]
    also: frozenset[int] = field(default_factory=frozenset)
    changes: frozenset[str] | None = None  # a write: who may change rows (None: allowed)
    knows: frozenset[str] = field(default_factory=frozenset)  # refused, may know the ids

    @property
    def changers(self) -> frozenset[str]:
        return self.allowed if self.changes is None else self.changes


def _roles(*roles: str) -> str:
    return "roles:" + ",".join(roles)


ADMIN_SUP = _roles("admin", "supervisor")
ADMIN_SUP_RES = _roles("admin", "supervisor", "researcher")
ADMIN_RES = _roles("admin", "researcher")
PEOPLE_MANAGERS_OF_VICTIM = callers("admin", "admin_a", "supervisor_a")
AREA_A_ADMINS = callers("admin", "admin_a")
OWNER = callers("supervisor_a")
# Who may correct the photo questionnaire of A's mediator: roles that correct, in its
# subtree, who may submit to its form (published to 东城区: the city's admin may not).
CORRECTORS = callers("admin_a", "supervisor_a", "mediator_a", "token_a")
# Who sees identifying data of A (names, photos): IDENTIFYING_EXPORT_ROLES of A.
A_IDENTIFIERS = having(
    "admin", "supervisor", areas=("top", "A")
)  # who asked for the export job and the user import

ACCESS: dict[str, Access] = {
    # public pages: no data
    "auth.login": Access("public", EVERYONE),
    "auth.login_code": Access("public", EVERYONE),
    "auth.logout": Access("public", EVERYONE),
    "auth.set_language": Access("public", EVERYONE),
    "pwa.shell": Access("public", EVERYONE),
    "pwa.manifest": Access("public", EVERYONE),
    "pwa.service_worker": Access("public", EVERYONE),
    "api.openapi": Access("public", EVERYONE),
    # one's own account
    "surveys.index": Access("logged_in", LOGGED_IN),
    "auth.account": Access("logged_in", LOGGED_IN),
    "auth.account_language": Access("logged_in", LOGGED_IN),
    "auth.change_password": Access("logged_in", LOGGED_IN),
    "auth.two_factor": Access("logged_in", LOGGED_IN),
    "auth.two_factor_confirm": Access("logged_in", LOGGED_IN),
    "auth.two_factor_off": Access("logged_in", LOGGED_IN),
    "auth.csrf_token": Access("logged_in", LOGGED_IN),
    # areas: the test village of A
    "areas.index": Access(ADMIN_SUP, having("admin", "supervisor")),
    "areas.search": Access(ADMIN_SUP, having("admin", "supervisor")),
    "areas.import_file": Access(_roles("admin"), having("admin")),
    "areas.import_confirm": Access(_roles("admin"), having("admin")),
    "areas.node": Access(ADMIN_SUP, PEOPLE_MANAGERS_OF_VICTIM),
    "areas.add": Access(ADMIN_SUP, PEOPLE_MANAGERS_OF_VICTIM),
    "areas.rename": Access(ADMIN_SUP, PEOPLE_MANAGERS_OF_VICTIM),
    "areas.move": Access(_roles("admin"), AREA_A_ADMINS),
    "areas.deactivate": Access(_roles("admin"), AREA_A_ADMINS),
    "areas.reactivate": Access(_roles("admin"), AREA_A_ADMINS),
    "areas.delete": Access(_roles("admin"), AREA_A_ADMINS, frozenset({404})),  # one deletes
    # audit log
    "audit.index": Access(_roles("admin"), having("admin")),
    "audit.export": Access(_roles("admin"), having("admin")),
    # phones of the test mediator of A
    "phones.user_phones": Access("logged_in", PEOPLE_MANAGERS_OF_VICTIM),
    "phones.create_collect": Access("logged_in", PEOPLE_MANAGERS_OF_VICTIM),
    "phones.revoke_collect": Access("logged_in", PEOPLE_MANAGERS_OF_VICTIM),
    # people: the test mediator of A; imports: the one supervisor_a started
    "people.index": Access(ADMIN_SUP, having("admin", "supervisor")),
    "people.create": Access(ADMIN_SUP, having("admin", "supervisor")),
    "people.import_upload": Access(ADMIN_SUP, having("admin", "supervisor")),
    "people.import_template": Access(ADMIN_SUP, having("admin", "supervisor")),
    "people.import_progress": Access(ADMIN_SUP, OWNER),
    "people.import_confirm": Access(ADMIN_SUP, OWNER),
    "people.import_sheet": Access(ADMIN_SUP, OWNER),
    "people.import_step": Access(ADMIN_SUP, OWNER),
    "people.detail": Access(ADMIN_SUP, PEOPLE_MANAGERS_OF_VICTIM),
    "people.edit": Access(ADMIN_SUP, PEOPLE_MANAGERS_OF_VICTIM),
    "people.deactivate": Access(ADMIN_SUP, PEOPLE_MANAGERS_OF_VICTIM),
    "people.reactivate": Access(ADMIN_SUP, PEOPLE_MANAGERS_OF_VICTIM),
    "people.reset_password": Access(ADMIN_SUP, PEOPLE_MANAGERS_OF_VICTIM),
    "people.reset_two_factor": Access(ADMIN_SUP, PEOPLE_MANAGERS_OF_VICTIM),
    "people.unlock": Access(ADMIN_SUP, PEOPLE_MANAGERS_OF_VICTIM),
    # JSON API: households of A (registered by mediator_a), family_screening (the city's
    # form: every area's data, each sees its part), the photo form's submission of A
    "api.me": Access("logged_in", LOGGED_IN),
    "api.forms": Access("logged_in", LOGGED_IN),
    "api.form": Access("logged_in", LOGGED_IN),
    "api.submissions": Access("logged_in", LOGGED_IN),
    "api.entities": Access("logged_in", LOGGED_IN),
    "api.entity": Access("logged_in", A_PEOPLE),
    "api.correction": Access("logged_in", CORRECTORS, knows=A_VIEWERS),
    "api.correction_attachment": Access("logged_in", CORRECTORS, knows=A_VIEWERS),
    # households (cases) of A
    "cases.index": Access("logged_in", LOGGED_IN),
    "cases.detail": Access("logged_in", A_PEOPLE),
    "cases.assign": Access(ADMIN_SUP, having("admin", "supervisor", areas=("top", "A"))),
    "cases.close": Access(ADMIN_SUP, having("admin", "supervisor", areas=("top", "A"))),
    "cases.reopen": Access(ADMIN_SUP, having("admin", "supervisor", areas=("top", "A"))),
    "cases.resolve": Access(ADMIN_SUP, having("admin", "supervisor", areas=("top", "A"))),
    # data pages: family_screening (the city's form) and its submission of A
    "submissions.index": Access(ADMIN_SUP_RES, having(*VIEWERS)),
    "submissions.table": Access(ADMIN_SUP_RES, having(*VIEWERS)),
    "submissions.detail": Access(ADMIN_SUP_RES, A_VIEWERS),
    "submissions.attachment": Access(ADMIN_SUP_RES, A_IDENTIFIERS),  # a photo
    "dashboard.page": Access(ADMIN_SUP_RES, having(*VIEWERS)),
    "dashboard.data": Access(ADMIN_SUP_RES, having(*VIEWERS)),
    "exports.file": Access(ADMIN_SUP_RES, having(*VIEWERS)),
    "exports.csv": Access(ADMIN_SUP_RES, having(*VIEWERS)),
    "exports.households_file": Access(ADMIN_SUP_RES, A_VIEWERS),  # hh_register: A's form
    "exports.job": Access("logged_in", OWNER),
    "exports.job_status": Access("logged_in", OWNER),
    "exports.job_download": Access("logged_in", OWNER),
    # yearly figures
    "figures.index": Access(ADMIN_SUP_RES, having(*VIEWERS)),
    "figures.export_xlsx": Access(ADMIN_SUP_RES, having(*VIEWERS)),
    "figures.definitions": Access(_roles("admin"), callers("admin")),
    "figures.edit_definition": Access(_roles("admin"), callers("admin")),
    "figures.targets": Access(_roles("admin"), having("admin")),
    # periodic reports: one defined for 东城区
    "reports.index": Access(ADMIN_SUP_RES, having(*VIEWERS)),
    "reports.create": Access(ADMIN_SUP, having("admin", "supervisor")),
    "reports.page": Access(ADMIN_SUP_RES, A_VIEWERS),
    "reports.download": Access(ADMIN_SUP_RES, A_VIEWERS),
    "reports.edit": Access(ADMIN_SUP, having("admin", "supervisor", areas=("top", "A"))),
    # forms: the photo form is published to 东城区
    "surveys.manage": Access(ADMIN_RES, having("admin", "researcher")),
    "surveys.upload": Access(ADMIN_RES, having("admin", "researcher")),
    "surveys.detail": Access(ADMIN_RES, having("admin", "researcher", areas=("top", "A"))),
    "surveys.upload_media": Access(ADMIN_RES, having("admin", "researcher", areas=("top", "A"))),
    "surveys.change_state": Access(ADMIN_RES, having("admin", "researcher", areas=("top", "A"))),
    "surveys.fill": Access("logged_in", A_PEOPLE - callers("admin")),
    # OpenRosa at /: the photo form of A
    "openrosa.form_list": Access("token", LOGGED_IN),
    "openrosa.xform": Access("token", A_PEOPLE - callers("admin")),
    "openrosa.manifest": Access("token", A_PEOPLE - callers("admin")),
    "openrosa.media": Access("token", A_PEOPLE - callers("admin")),
    "openrosa.submission_head": Access("token", LOGGED_IN),
    "openrosa.submission": Access("token", A_PEOPLE - callers("admin")),
    # ... under /key/<token>/: the key is the credential
    "openrosa_key.form_list": Access("token", callers("key_a", "key_b")),
    "openrosa_key.xform": Access("token", callers("key_a")),
    "openrosa_key.manifest": Access("token", callers("key_a")),
    "openrosa_key.media": Access("token", callers("key_a")),
    "openrosa_key.submission_head": Access("token", callers("key_a", "key_b")),
    "openrosa_key.submission": Access("token", callers("key_a")),
    # ... under /test/<draft_token>/: whoever holds the draft's link tests it, no data
    "drafttest.fill": Access("token", EVERYONE),
    "openrosa_test.form_list": Access("token", EVERYONE),
    "openrosa_test.xform": Access("token", EVERYONE),
    "openrosa_test.manifest": Access("token", EVERYONE),
    "openrosa_test.media": Access("token", EVERYONE),
    "openrosa_test.submission_head": Access("token", EVERYONE),
    "openrosa_test.submission": Access("token", EVERYONE),
    # reminders (issue 13): one's own subscriptions, preferences and to-do list; a push
    # subscription of mediator_a's is in the world: only she may delete it
    "reminders.push_key": Access("logged_in", LOGGED_IN),
    "reminders.push_subscribe": Access("logged_in", LOGGED_IN),
    "reminders.push_unsubscribe": Access(
        "logged_in", LOGGED_IN, changes=callers("mediator_a", "token_a")
    ),
    "reminders.get_preferences": Access("logged_in", LOGGED_IN),
    "reminders.put_preferences": Access("logged_in", LOGGED_IN),
    "reminders.get_todo": Access("logged_in", LOGGED_IN),
}


def _endpoints(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint != "static":
            yield rule, app.view_functions[rule.endpoint]


def _methods(rule) -> list[str]:
    """The methods a rule serves: GET stands for its HEAD; HEAD alone when that is all."""
    methods = set(rule.methods) - {"OPTIONS"}
    if "GET" in methods:
        methods.discard("HEAD")
    return sorted(methods)


def _how_to_add(rule, view) -> str:
    declared = getattr(view, "access_rule", None)
    if declared is None:
        return (
            f"{rule.endpoint} ({rule.rule}) declares no access rule: decorate the view with "
            "scope.public, scope.logged_in, scope.roles_required(...) or scope.token_route"
        )
    args = ", ".join(sorted(rule.arguments)) or "none"
    return (
        f"{rule.endpoint} ({rule.rule}, {'/'.join(_methods(rule))}) is not in ACCESS of "
        f"tests/test_access_matrix.py: add  {rule.endpoint!r}: Access({declared!r}, "
        "<the callers who may use it, e.g. LOGGED_IN, A_PEOPLE, having('admin', "
        "areas=('top', 'A'))>),  a sample body in BODIES if it writes, and a value for "
        f"each URL argument ({args}) in World.url_values if one is new"
    )


def _table_problems(app) -> list[str]:
    """What ``ACCESS`` misses or gets wrong about ``app``'s URL map (see below)."""
    problems = []
    seen = set()
    for rule, view in _endpoints(app):
        seen.add(rule.endpoint)
        access = ACCESS.get(rule.endpoint)
        declared = getattr(view, "access_rule", None)
        if access is None or declared is None:
            problems.append(_how_to_add(rule, view))
            continue
        if access.rule != declared:
            problems.append(
                f"{rule.endpoint} declares {declared!r}, ACCESS says {access.rule!r}: "
                "change the table with the callers who may now use it"
            )
            continue
        if declared.startswith("roles:"):
            roles = set(declared.removeprefix("roles:").split(","))
            wrong = sorted(n for n in access.allowed if BY_NAME[n].role not in roles)
            if wrong or access.allowed - LOGGED_IN:
                problems.append(f"{rule.endpoint}: {wrong} allowed by ACCESS, not by {declared}")
        if declared == "logged_in" and access.allowed - LOGGED_IN:
            problems.append(f"{rule.endpoint}: logged_in, but ACCESS allows callers without login")
    stale = sorted(set(ACCESS) - seen)
    if stale:
        problems.append(f"ACCESS names endpoints that are gone: {stale}")
    return problems


def test_every_endpoint_is_in_the_table(app):
    """Every endpoint of the URL map is declared in ``ACCESS`` with the rule its view
    declares; callers allowed by the table hold a role the declaration admits."""
    problems = _table_problems(app)
    assert not problems, "\n".join(problems)


def test_a_new_route_fails_the_table_with_what_to_add(tmp_path):
    """A route added without a rule, or with one but not in ``ACCESS``, is named with
    what to do."""
    from fieldapp import create_app
    from fieldapp.scope import logged_in

    new = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-only-secret",
            "WORKER_THREAD": False,
        }
    )
    new.add_url_rule("/mx/undeclared/<int:n>", "mx_undeclared", lambda n: "")
    new.add_url_rule("/mx/declared", "mx_declared", logged_in(lambda: ""), methods=["POST"])
    problems = _table_problems(new)
    assert len(problems) == 2, problems
    assert "mx_undeclared (/mx/undeclared/<int:n>) declares no access rule" in problems[1]
    assert "scope.roles_required" in problems[1]
    assert problems[0].startswith("mx_declared (/mx/declared, POST) is not in ACCESS")
    assert "add  'mx_declared': Access('logged_in', <the callers" in problems[0]


# -- the world ------------------------------------------------------------------------

# Marker answers: each (value, callers who may read it). No response to anyone else may
# hold the value. ASCII letters and digits only: JSON escapes other characters, CSV and
# XML quote some.
MARK_A = "MXmarkA4711"  # remarks of mediator_a's screening (东城区)
MARK_NAME = "MXmarkName4712"  # its household head: identifying (fieldapp::identifier)
MARK_A2 = "MXmarkAtwo4713"  # remarks of mediator2's screening (光明社区, A): not mediator_a's
MARK_B = "MXmarkB4714"  # remarks of mediator3's screening (柳树村, 西山县)
MARK_HH = "MXmarkHousehold4715"  # head of the household mediator_a registered (its label)
MARK_P = "MXmarkPhoto4716"  # text of the photo questionnaire of A
MARK_REPORT = "MXmarkReport4717"  # in the name of the report defined for 东城区
MARKERS = {
    MARK_A: A_VIEWERS | callers("mediator_a", "token_a"),
    MARK_NAME: callers("admin", "admin_a", "supervisor_a", "mediator_a", "token_a"),
    MARK_A2: A_VIEWERS,
    MARK_B: having(*VIEWERS, areas=("top", "B")) | callers("mediator_b", "token_b"),
    MARK_HH: callers("admin", "admin_a", "supervisor_a", "mediator_a", "token_a", "key_a"),
    MARK_P: A_VIEWERS | callers("mediator_a", "token_a"),
    # forms published to 东城区 only: nobody of 西山县 learns they exist
    "mx_photo": A_PEOPLE | callers("key_a"),
    "hh_register": A_PEOPLE | callers("key_a"),
    # the test mediator of A: her managers know her; the report pages name the people
    # chased for a unit's missing report to everyone who reads the report (their phone
    # numbers to managers only: scope.may_see_contact_phones)
    "mx_victim": A_VIEWERS,
    VICTIM_PHONE: callers("admin", "admin_a", "supervisor_a"),
    # the report defined for 东城区: its readers (and the mediators who file it: /me)
    MARK_REPORT: A_PEOPLE,
    # the draft of 东城区: listed (no data) to whom its area's forms are (scope.can_see
    # whatever the state); and to whoever holds its test link, on the link's pages
    "mx_draft": A_PEOPLE,
}
LINK_SHOWS = {"mx_draft"}  # what a draft's test link shows anyone who holds it
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
PHOTO_FORM = xlsform(
    [
        ["type", "name", "label", "media::image"],
        ["note", "logo", "标志", "mx_logo.png"],
        ["text", "note_text", "备注", ""],
        ["image", "photo", "照片", ""],
    ],
    settings=[["form_id", "version"], ["mx_photo", "1"]],
)
PHOTO_FORM_V2 = xlsform(
    [["type", "name", "label"], ["text", "note_text", "备注"]],
    settings=[["form_id", "version"], ["mx_photo", "2"]],
)
DRAFT_FORM = xlsform(
    [
        ["type", "name", "label", "media::image"],
        ["note", "logo", "标志", "mx_logo.png"],
        ["text", "t", "文字", ""],
    ],
    settings=[["form_id", "version"], ["mx_draft", "1"]],
)


def _photo_xml(form_id: str = "mx_photo", text: str = "新的一份") -> tuple[bytes, str]:
    return submission_xml(form_id, "1", {"note_text": text, "photo": "mx.jpg"})


@dataclass
class World:
    """The ids every URL is built from (``url_values``), the credentials of the callers
    and their clients."""

    app: object
    clients: dict = field(default_factory=dict)
    csrf: dict = field(default_factory=dict)
    ids: dict = field(default_factory=dict)
    markers: dict = field(default_factory=lambda: dict(MARKERS))

    def url_values(self, rule, caller: Caller, made_up: bool = False) -> dict[str, str]:
        """A real value for each argument of ``rule`` as ``caller`` would use it: the
        caller's own app-user key under ``/key/<token>/`` (another caller has none: a
        made-up one), the world's form, submission, household, ... otherwise."""
        i, endpoint = self.ids, rule.endpoint
        values = {
            "form_id": "family_screening",
            "version": i["fs_version"],
            "instance_id": i["fs_a"],
            "filename": "mx.jpg",
            "draft_token": i["draft_token"],
            "token_id": str(i["victim_collect_id"]),
            "code": VICTIM_AREA[0],
            "username": "mx_victim",
            "uuid": i["household"],
            "name": "households",
            "key": i["figure_key"],
            "report_id": str(i["report_id"]),
            "lang": "zh",
            "token": "no-such-token",
        }
        blueprint = endpoint.split(".")[0]
        if blueprint.startswith("openrosa") or endpoint.startswith("surveys."):
            values.update(form_id="mx_photo", version="1", filename="mx_logo.png")
        if blueprint == "openrosa_test":
            values.update(form_id="mx_draft")
        if endpoint == "exports.households_file":
            values["form_id"] = "hh_register"
        if endpoint in ("submissions.attachment", "api.correction", "api.correction_attachment"):
            values["instance_id"] = i["photo_a"]
        if endpoint.startswith("exports.job"):
            values["token"] = i["job"]
        elif endpoint.startswith("people.import_"):
            values["token"] = i["user_import"]
        elif blueprint == "openrosa_key":
            values["token"] = i["keys"].get(caller.name, "no-such-key")
        values = {arg: values[arg] for arg in rule.arguments}
        if made_up:
            values |= {a: MADE_UP[a] for a in values if a in MADE_UP and _is_an_id(rule, a)}
        return values


def _build(app) -> World:
    from fieldapp.areas.services import create_area, get_area
    from fieldapp.auth.services import create_user, get_user
    from fieldapp.exports.models import DONE, ExportJob
    from fieldapp.figures.definitions import all_definitions, load_defaults
    from fieldapp.phones.services import create_collect_token
    from fieldapp.reminders.models import PushSubscription
    from fieldapp.reports.services import save_definition
    from fieldapp.scope import OPERATOR
    from fieldapp.surveys.models import Form
    from fieldapp.surveys.services import import_xlsform

    world = World(app)
    i = world.ids
    with app.app_context():
        for username, role, code in EXTRA_USERS:
            phone = VICTIM_PHONE if username == "mx_victim" else None
            create_user(username, PASSWORD, role, get_area(code), username, phone=phone)
        create_area(*VICTIM_AREA, "village", get_area("339901001"))
        import_xlsform(SCREENING.read_bytes(), SCREENING.name, get_area("3399"))
        media = [("mx_logo.png", PNG)]
        a = get_area("339901")
        import_xlsform(PHOTO_FORM, "mx_photo.xlsx", a, media=media)
        import_xlsform(REGISTER, "hh_register.xlsx", a)
        import_xlsform(VISIT, "hh_visit.xlsx", a)
        import_xlsform(DRAFT_FORM, "mx_draft.xlsx", a, media=media, draft=True)
        db.session.commit()
        i["fs_version"] = db.session.scalar(
            select(Form).where(Form.form_id == "family_screening")
        ).current.version
        assert i["fs_version"] == FS_VERSION
        i["draft_token"] = db.session.scalar(
            select(Form).where(Form.form_id == "mx_draft")
        ).draft_token
        i["keys"] = {}
        for name, username in (
            ("key_a", "mediator"),
            ("key_b", "mediator3"),
            ("key_gone", "mx_gone"),
        ):
            i["keys"][name] = create_collect_token(OPERATOR, get_user(username), "手机")[0]
        i["victim_collect_id"] = create_collect_token(OPERATOR, get_user("mx_victim"), "手机")[1].id
        db.session.commit()
    i["tokens"] = {
        name: api_token(app, c.username) for name, c in BY_NAME.items() if c.kind == "bearer"
    }
    sender = app.test_client()

    def send(username: str, xml: bytes, files=None):
        from tests.helpers import post_submission

        token = api_token(app, username)
        resp = post_submission(sender, xml, files=files, token=token)
        assert resp.status_code == 201, resp.get_data(as_text=True)[:300]

    for key, username, changes in (
        ("fs_a", "mediator", {"remarks": MARK_A, "household_info.household_head": MARK_NAME}),
        ("fs_a2", "mediator2", {"remarks": MARK_A2}),
        ("fs_b", "mediator3", {"remarks": MARK_B}),
    ):
        xml, i[key] = submission_xml(
            "family_screening", i["fs_version"], screening_answers(**changes)
        )
        send(username, xml)
    xml, i["photo_a"] = _photo_xml(text=MARK_P)
    send("mediator", xml, files={"mx.jpg": b"\xff\xd8\xff\xe0 mx photo"})
    xml, _iid, i["household"] = registration(MARK_HH)
    send("mediator", xml)

    with app.app_context():
        supervisor = get_user("supervisor")
        definition = save_definition(
            OPERATOR,
            None,
            name=f"矩阵月报 {MARK_REPORT}",
            form_id="family_screening",
            period="monthly",
            level="village",
            deadline_days=5,
            area_code="339901",
        )
        path = app.instance_path + "/mx-export.csv"
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(f"remarks\n{MARK_A}\n")
        form = db.session.scalar(select(Form).where(Form.form_id == "family_screening"))
        job = ExportJob(
            token="mxjob" + "0" * 27,
            user_id=supervisor.id,
            form_pk=form.id,
            params={"format": "csv"},
            status=DONE,
            progress=1.0,
            file_path=path,
            file_name="mx-export.csv",
        )
        db.session.add(job)
        db.session.add(
            PushSubscription(
                user_id=get_user("mediator").id,
                endpoint=PUSH_ENDPOINT,
                p256dh=P256DH,
                auth="A" * 22,
            )
        )
        load_defaults()
        db.session.commit()
        i.update(
            area_339901=get_area("339901").id,
            report_id=definition.id,
            job=job.token,
            figure_key=all_definitions()[0].key,
        )

    for caller in CALLERS:
        client = app.test_client()
        if caller.kind == "session":
            assert login(client, caller.username).status_code == 302, caller
            world.csrf[caller.name] = client.get("/csrf-token").get_json()["token"]
            if caller.name in OWNER:
                i["user_import"] = _confirmed_import(client, world.csrf[caller.name])
        else:  # a cookie of its own, so that a write reaches the access check
            world.csrf[caller.name] = csrf_token(client, "/login")
        world.clients[caller.name] = client
    with app.app_context():  # as if she left: session, token and key stay, unrevoked
        get_user("mx_gone").active = False
        db.session.commit()
    world.markers |= {  # the world's own ids: the instance IDs and the household's
        i["fs_a"]: A_VIEWERS | callers("mediator_a", "token_a"),
        i["fs_a2"]: A_VIEWERS,
        i["fs_b"]: MARKERS[MARK_B],
        i["photo_a"]: MARKERS[MARK_P],
        i["household"]: A_PEOPLE | callers("key_a"),
    }
    return world


def _confirmed_import(client, token: str) -> str:
    """A user import uploaded and confirmed by ``client``'s user (its key in their
    session, as after the confirm button): its token."""
    data = xlsx(
        [
            ["用户名", "姓名", "角色", "区划代码", "手机"],
            ["mx_imported", "导入", "调解员", "339901001001", ""],
        ]
    )
    resp = client.post(
        "/admin/users/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "users.xlsx")},
        content_type="multipart/form-data",
    )
    page = resp.get_data(as_text=True)
    confirm = re.search(r'action="(/admin/users/import/([^"/]+)/confirm)"', page)
    assert resp.status_code == 200 and confirm, page[:500]
    resp = client.post(confirm.group(1), data={"csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return confirm.group(2)


# -- one cell -------------------------------------------------------------------------

# Sample bodies of writes (besides the CSRF token): what a refused caller tries is a real
# change (a role raised, a household given away, an area renamed), so "refused" is seen
# in the rows as well as in the status.
BODIES: dict[str, dict] = {
    "cases.assign": {"user": "mediator2"},
    "cases.close": {"reason": "矩阵测试"},
    "cases.reopen": {"note": "矩阵测试"},
    "cases.resolve": {"note": "矩阵测试"},
    "people.edit": {"display_name": "被改名", "role": "mediator", "area": "339901001001"},
    "people.create": {
        "username": "mx_new",
        "display_name": "新人",
        "role": "mediator",
        "area": "339901001001",
    },
    "areas.add": {"code": "889901001098", "name": "新村"},
    "areas.rename": {"name": "被改名村"},
    "areas.move": {"parent": "339901001"},
    "phones.create_collect": {"name": "矩阵手机"},
    "surveys.change_state": {"state": "open"},
    "auth.account_language": {"language": "zh"},
    "reports.create": {
        "name": "矩阵报告二",
        "form": "family_screening",
        "period": "monthly",
        "level": "village",
        "deadline_days": "5",
        "area": "339901",
    },
}
PUSH_ENDPOINT = "http://127.0.0.1:9/push/mx-of-mediator-a"  # mediator_a's, in the world
P256DH = "BA" + "A" * 85  # 65 bytes, an uncompressed point's first byte
JSON_BODIES: dict[str, dict] = {
    "reminders.push_subscribe": {
        "endpoint": "http://127.0.0.1:9/push/mx-new",
        "keys": {"p256dh": P256DH, "auth": "A" * 22},
    },
    "reminders.push_unsubscribe": {"endpoint": PUSH_ENDPOINT},
    "reminders.put_preferences": {"quiet_start": "21:30", "quiet_end": "07:30"},
}
# Writes run in this order (the rest first, in URL-map order): the ones that end a
# session, lock an account or remove what others point at come last.
LAST_WRITES = [
    "cases.close",
    "cases.reopen",
    "people.deactivate",
    "people.reactivate",
    "people.reset_password",
    "areas.deactivate",
    "areas.reactivate",
    "areas.delete",
    "surveys.change_state",
    "auth.change_password",
    "auth.two_factor_off",
    "auth.login_code",
    "auth.login",
    "auth.logout",
]
SUBMISSION_ENDPOINTS = {
    "openrosa.submission",
    "openrosa_key.submission",
    "openrosa_test.submission",
}
# Rows that a request may write whoever makes it (logs, sign-in bookkeeping, figures
# brought up to date on reading): left out of the "a refused write changes nothing" check.
VOLATILE_TABLES = {
    "audit_events",
    "login_failures",
    "login_sessions",
    "figure_fact_pending",
    "figure_fact_state",
    "figure_fact_builds",
    "figure_facts",
    "figure_households",
    "figure_tallies",
}
VOLATILE_COLUMNS = {"last_used_at"}


def _snapshot(app) -> dict[str, list]:
    """Every row of every table but the volatile ones, comparable."""
    out = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in VOLATILE_TABLES:
                continue
            cols = [c for c in table.columns if c.name not in VOLATILE_COLUMNS]
            rows = db.session.execute(select(*cols)).all()
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
        db.session.rollback()
    return out


def _changed(before: dict, after: dict) -> list[str]:
    return [t for t in before if before[t] != after[t]]


@dataclass
class Cell:
    """One request of the matrix and what came back."""

    endpoint: str
    method: str
    url: str
    caller: str
    status: int
    location: str
    body: str
    sent: str = ""  # the submission XML sent, if any

    def __str__(self) -> str:
        return f"{self.method} {self.url} as {self.caller}: {self.status} {self.location}".strip()


# Ids of nothing, of the shape of the world's (``made_up``): a refused caller must get the
# same status for them as for the real ones, or the answer tells that the real exists.
MADE_UP = {
    "form_id": "mx_nowhere",
    "version": "999",
    "instance_id": "uuid:00000000-0000-4000-8000-000000000000",
    "filename": "nothere.jpg",
    "token_id": "999999",
    "code": "889999999999",
    "username": "mx_nobody",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "name": "nosuchdataset",
    "key": "nosuchfigure",
    "report_id": "999999",
    "token": "nosuchtoken00000000000000000000",
}


def _is_an_id(rule, arg: str) -> bool:
    """``arg`` of ``rule`` names a thing (not a credential: an app-user key, a draft's
    test link)."""
    return not (arg == "token" and rule.endpoint.startswith("openrosa_key."))


# A query string that asks for area A's data by every filter the pages and the API read
# (area, submitter, assigned, user, search): sent with every read by the callers who may
# read none of some marker, it must not bring the marker out.
HOSTILE_QUERY = {
    "area": "339901001001",
    "submitter": "mediator",
    "assigned": "mediator",
    "user": "mediator",
    "q": "MXmark",
    "from": "2026-01-01",
    "to": "2026-12-31",
}
QUERY_CALLERS = [
    c
    for c in CALLERS
    if (c.area == "B" and c.kind != "key") or c.name in ("mediator_a", "researcher_a")
]


def _request(
    world: World,
    rule,
    method: str,
    caller: Caller,
    query: dict | None = None,
    made_up: bool = False,
) -> Cell:
    values = world.url_values(rule, caller, made_up)
    url = world.app.url_map.bind("localhost").build(rule.endpoint, values, method=method)
    if query:
        url += "?" + urlencode(query)
    sent = ""
    client = world.clients[caller.name]
    headers = {"X-OpenRosa-Version": "1.0"}
    if caller.kind == "bearer":
        headers["Authorization"] = f"Bearer {world.ids['tokens'][caller.name]}"
    kwargs: dict = {"headers": headers}
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        data = dict(BODIES.get(rule.endpoint, {}))
        data["csrf_token"] = world.csrf[caller.name]
        headers["X-CSRFToken"] = world.csrf[caller.name]
        if rule.endpoint == "openrosa_test.submission":
            xml, _iid = submission_xml("mx_draft", "1", {"t": "试填"})
            sent = xml.decode()
            data["xml_submission_file"] = (io.BytesIO(xml), "submission.xml", "text/xml")
            kwargs["content_type"] = "multipart/form-data"
        elif rule.endpoint in JSON_BODIES:
            kwargs["json"] = JSON_BODIES[rule.endpoint]
            data = None
        elif rule.endpoint in SUBMISSION_ENDPOINTS:
            xml, _iid = _photo_xml()
            sent = xml.decode()
            data["xml_submission_file"] = (io.BytesIO(xml), "submission.xml", "text/xml")
            kwargs["content_type"] = "multipart/form-data"
        if data is not None:
            kwargs["data"] = data
    resp = client.open(url, method=method, **kwargs)
    body = _text(resp.get_data()) if method != "HEAD" else ""
    return Cell(
        rule.endpoint,
        method,
        url,
        caller.name,
        resp.status_code,
        resp.headers.get("Location", ""),
        body,
        sent,
    )


def _text(data: bytes) -> str:
    """A response body as text to look for markers in: the members of a zip (XLSX, ZIP
    exports) unpacked."""
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            data = b"".join(zf.read(n) for n in zf.namelist())
    return data.decode("utf-8", errors="replace")


def _shown(cell: Cell, marker: str) -> bool:
    """``cell``'s answer holds ``marker``, and not because the caller named it (in the
    URL or the XML, echoed in a message) or holds a draft's test link (``LINK_SHOWS``)."""
    if marker in cell.url or marker in cell.sent:
        return False
    if marker in LINK_SHOWS and cell.endpoint.split(".")[0] in ("drafttest", "openrosa_test"):
        return False
    return marker in cell.body


def _answer(cell: Cell) -> tuple[int, bool]:
    """What a refusal tells: its status, and whether it sends to the login page."""
    return cell.status, _to_login(cell)


def _to_login(cell: Cell) -> bool:
    return cell.status in (301, 302, 303, 307, 308) and "/login" in cell.location


def _judge(cell: Cell, access: Access, markers: dict[str, frozenset[str]]) -> list[str]:
    """What is wrong with ``cell`` (nothing: an empty list)."""
    problems = []
    if cell.status >= 500:
        problems.append(f"{cell}: a server error")
    elif cell.caller in access.allowed:
        ok = 200 <= cell.status < 400 and (not _to_login(cell) or access.rule == "public")
        ok = ok or cell.status in access.also
        ok = ok or (cell.method != "GET" and cell.status in (400, 409, 422))
        if not ok:
            problems.append(f"{cell}: refused, but ACCESS allows {cell.caller}")
    elif not (cell.status in (401, 403, 404) or _to_login(cell)):
        problems.append(f"{cell}: served, but ACCESS refuses {cell.caller}")
    for marker, readers in markers.items():
        if cell.caller not in readers and _shown(cell, marker):
            problems.append(f"{cell}: shows {marker!r}, which {cell.caller} may not read")
    return problems


# -- the matrix -----------------------------------------------------------------------


@pytest.fixture
def matrix_world(app, world, world_users_restored) -> World:
    """The world of the matrix (``_build``); the base world's users get back what the
    matrix's writes change (their language)."""
    return _build(app)


def _cells(app):
    """(rule, method) of every endpoint in the table, reads first then writes (in the
    order of ``LAST_WRITES``)."""
    reads, writes = [], []
    for rule, _view in _endpoints(app):
        for method in _methods(rule):
            (reads if method in ("GET", "HEAD") else writes).append((rule, method))
    last = {e: n for n, e in enumerate(LAST_WRITES)}
    writes.sort(key=lambda rm: last.get(rm[0].endpoint, -1))
    return reads, writes


def _write_grid(path: Path, grid: dict, seen: dict, counted: int) -> None:
    """The statuses of the matrix as a TSV (method, rule, one column per caller), and
    who read each marker: ``FIELDAPP_ACCESS_MATRIX_OUT=matrix.tsv pytest ...``."""
    lines = ["\t".join(["method", "rule", *BY_NAME])]
    for (method, rule), row in grid.items():
        lines.append("\t".join([method, rule, *(str(row.get(n, "")) for n in BY_NAME)]))
    lines += [f"# {marker} read by {sorted(who)}" for marker, who in seen.items()]
    lines.append(f"# {len(grid)} route-methods, {len(BY_NAME)} callers, {counted} requests")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_every_route_for_every_caller(app, matrix_world):
    """The matrix: every route × method × caller, reads then writes, refused callers of
    each before its allowed ones; between them, the reads again with ``HOSTILE_QUERY``.
    See the module's docstring for what is asserted."""
    world = matrix_world
    reads, writes = _cells(app)
    problems: list[str] = []
    seen: dict[str, set[str]] = {marker: set() for marker in world.markers}
    grid: dict[tuple[str, str], dict[str, int]] = {}
    counted = 0

    def run(rule, method, caller, query=None, made_up=False) -> Cell:
        nonlocal counted
        cell = _request(world, rule, method, caller, query, made_up)
        for marker, who in seen.items():
            if _shown(cell, marker):
                who.add(caller.name)
        counted += 1
        return cell

    for rule, method in reads + writes:
        access = ACCESS.get(rule.endpoint)
        if access is None:
            continue  # test_every_endpoint_is_in_the_table says what to add
        if (rule, method) == writes[0]:
            for read_rule, read_method in reads:  # asking for A's data by the query
                for caller in QUERY_CALLERS:
                    cell = run(read_rule, read_method, caller, HOSTILE_QUERY)
                    judged = _judge(cell, ACCESS[read_rule.endpoint], world.markers)
                    problems += [p for p in judged if "server error" in p or "shows" in p]
        refused = [c for c in CALLERS if c.name not in access.allowed]
        bystanders = [c for c in CALLERS if c.name in access.allowed - access.changers]
        changers = [c for c in CALLERS if c.name in access.allowed & access.changers]
        before = _snapshot(app) if (rule, method) in writes else None
        for n, caller in enumerate(refused + bystanders + changers):
            cell = run(rule, method, caller)
            grid.setdefault((method, rule.rule), {})[caller.name] = cell.status
            problems += _judge(cell, access, world.markers)
            ids = [a for a in rule.arguments if a in MADE_UP and _is_an_id(rule, a)]
            if caller in refused and ids and caller.name not in access.knows:
                other = run(rule, method, caller, made_up=True)
                if _answer(other) != _answer(cell):
                    problems.append(
                        f"{cell}, but {other.status} {other.location} for made-up "
                        f"{', '.join(ids)}: the answer tells {caller.name} they exist"
                    )
            if before is not None and n == len(refused + bystanders) - 1:
                changed = _changed(before, _snapshot(app))
                if changed:
                    problems.append(
                        f"{method} {rule.rule}: a caller in {[c.name for c in refused]} or "
                        f"{[c.name for c in bystanders]} changed {', '.join(changed)}"
                    )
    if out := os.environ.get("FIELDAPP_ACCESS_MATRIX_OUT"):
        _write_grid(Path(out), grid, seen, counted)
    assert not problems, f"{len(problems)} of {counted} cells:\n" + "\n".join(problems)
    # The markers were there to be seen: the check above is not vacuous.
    for marker, readers in MARKERS.items():
        assert seen[marker] and seen[marker] <= readers, (marker, seen[marker])
    assert seen[MARK_B] >= {"supervisor_b", "mediator_b"}
    assert seen[MARK_A] >= {"supervisor_a", "mediator_a", "token_a"}
    assert counted >= 120 * len(CALLERS), counted


# -- writes whose body reaches across ----------------------------------------------------


FS_VERSION = "2026120201"  # the bundled family_screening's (checked in the world)


def _edit_of(instance_id: str, answers: dict) -> bytes:
    """A family_screening submission that corrects ``instance_id`` (``deprecatedID``)."""
    xml, _new = submission_xml("family_screening", FS_VERSION, answers)
    edit = f"</instanceID><deprecatedID>{instance_id}</deprecatedID>"
    return xml.replace(b"</instanceID>", edit.encode())


def _hostile(i: dict) -> list[tuple[str, str, str, dict | None, str]]:
    """(caller, method, path, form fields or {"xml": bytes}, what is tried): a caller
    who may use the route names in its body something outside their reach."""
    t = f"t-{i['area_339901']}-{i['figure_key']}"
    return [
        (
            "supervisor_a",
            "POST",
            "/admin/users/user/mx_victim/edit",
            {"display_name": "x", "role": "admin", "area": "339901001001"},
            "a supervisor makes a mediator an admin",
        ),
        (
            "supervisor_a",
            "POST",
            "/admin/users/user/mx_victim/edit",
            {"display_name": "x", "role": "mediator", "area": "339902001001"},
            "a supervisor moves her mediator to another district",
        ),
        (
            "admin_a",
            "POST",
            "/admin/users/new",
            {"username": "mx_h1", "display_name": "x", "role": "admin", "area": "3399"},
            "a district admin makes a city admin",
        ),
        (
            "admin_a",
            "POST",
            "/admin/users/new",
            {"username": "mx_h2", "display_name": "x", "role": "mediator", "area": "339902001001"},
            "a district admin makes a user in the other district",
        ),
        (
            "admin_a",
            "POST",
            f"/admin/areas/tree/{VICTIM_AREA[0]}/move",
            {"parent": "339902001"},
            "a district admin moves a village into the other district",
        ),
        (
            "admin_a",
            "POST",
            f"/admin/areas/tree/{VICTIM_AREA[0]}/rename",
            {"name": "改"},
            "a district admin renames a village of hers: allowed, the probe's body holds",
        ),
        (
            "admin_a",
            "POST",
            "/admin/areas/tree/339902/rename",
            {"name": "改"},
            "a district admin renames the other district",
        ),
        (
            "admin_b",
            "POST",
            "/figures/targets",
            {t: "100"},
            "the other district's admin sets 东城区's target",
        ),
        (
            "admin_a",
            "POST",
            "/figures/targets",
            {t: "100"},
            "a district admin sets her own district's target (the level above sets it)",
        ),
        (
            "supervisor_a",
            "POST",
            f"/cases/{i['household']}/assign",
            {"user": "mediator3"},
            "a supervisor gives a household to a mediator of the other district",
        ),
        (
            "supervisor_b",
            "POST",
            "/reports/new",
            {
                "name": "越界",
                "form": "family_screening",
                "period": "monthly",
                "level": "village",
                "deadline_days": "5",
                "area": "339901",
            },
            "a supervisor defines a report for the other district",
        ),
        (
            "admin_a",
            "POST",
            f"/reports/{i['report_id']}/edit",
            {
                "name": "越界",
                "form": "family_screening",
                "period": "monthly",
                "level": "village",
                "deadline_days": "5",
                "area": "3399",
            },
            "a district admin widens a report to the city",
        ),
        (
            "supervisor_a",
            "POST",
            "/admin/phones/mediator3/collect",
            {"name": "x"},
            "a supervisor connects a phone to the other district's mediator",
        ),
        (
            "mediator_a",
            "POST",
            "/admin/phones/mediator2/collect",
            {"name": "x"},
            "a mediator connects a phone to a colleague's account",
        ),
        (
            "supervisor_a",
            "POST",
            "/admin/users/user/admin/reset-password",
            {},
            "a supervisor resets the city admin's password",
        ),
        (
            "admin_a",
            "POST",
            "/admin/users/user/admin/deactivate",
            {},
            "a district admin deactivates the city admin",
        ),
        (
            "token_b",
            "POST",
            "/submission",
            {"xml": _edit_of(i["fs_a"], screening_answers(remarks="被改"))},
            "the other district's mediator corrects 东城区's submission",
        ),
        (
            "token_a",
            "POST",
            "/submission",
            {"xml": _edit_of(i["fs_a2"], screening_answers(remarks="被改"))},
            "a mediator corrects a colleague's submission",
        ),
        (
            "researcher_a",
            "POST",
            "/submission",
            {"xml": _edit_of(i["fs_a"], screening_answers(remarks="被改"))},
            "a researcher corrects a submission",
        ),
        (
            "token_b",
            "POST",
            "/submission",
            {
                "xml": submission_xml(
                    "family_screening", FS_VERSION, screening_answers(), instance_id=i["fs_a"]
                )[0]
            },
            "the other district's mediator sends under 东城区's instanceID",
        ),
        (
            "researcher_b",
            "POST",
            "/surveys/upload",
            {"area": "339902", "xlsform": (io.BytesIO(PHOTO_FORM_V2), "mx_photo.xlsx")},
            "the other district's researcher publishes a version of 东城区's form",
        ),
        (
            "researcher_a",
            "POST",
            "/surveys/upload",
            {"area": "339902", "xlsform": (io.BytesIO(PHOTO_FORM_V2), "mx_photo.xlsx")},
            "a researcher moves her district's form into the other district",
        ),
        (
            "researcher_a",
            "POST",
            "/surveys/upload",
            {"area": "339901", "xlsform": (io.BytesIO(PHOTO_FORM_V2), "mx_photo.xlsx")},
            "a researcher publishes a version of her district's form: allowed, the body holds",
        ),
        (
            "token_a",
            "POST",
            "/submission",
            {"xml": _edit_of(i["fs_a"], screening_answers(remarks="改过"))},
            "a mediator corrects her own submission: allowed, the probe's XML holds",
        ),
    ]


# What the hostile writes above may change: nothing, but for these three, inside the
# caller's reach (controls: the probe's body is good and a change would be seen).
HOSTILE_ALLOWED = {
    "a researcher publishes a version of her district's form: allowed, the body holds",
    "a district admin renames a village of hers: allowed, the probe's body holds",
    "a district admin sets her own district's target",
    "a mediator corrects her own submission: allowed, the probe's XML holds",
}


def test_writes_that_reach_across_change_nothing(app, matrix_world):
    """A caller who may use a route, with a body that names what is out of their reach
    (a role above theirs, the other district, a colleague's record): refused, no row
    changes; three allowed controls show a change is seen."""
    world = matrix_world
    problems = []
    for name, method, path, body, what in _hostile(world.ids):
        caller = BY_NAME[name]
        client = world.clients[name]
        headers = {"X-OpenRosa-Version": "1.0", "X-CSRFToken": world.csrf[name]}
        if caller.kind == "bearer":
            headers["Authorization"] = f"Bearer {world.ids['tokens'][name]}"
        kwargs: dict = {"headers": headers}
        if "xml" in body:
            kwargs["data"] = {
                "xml_submission_file": (io.BytesIO(body["xml"]), "submission.xml", "text/xml")
            }
            kwargs["content_type"] = "multipart/form-data"
        else:
            kwargs["data"] = {**body, "csrf_token": world.csrf[name]}
        before = _snapshot(app)
        resp = client.open(path, method=method, **kwargs)
        changed = _changed(before, _snapshot(app))
        if resp.status_code >= 500:
            problems.append(f"{what}: {resp.status_code}")
        if bool(changed) != (what in HOSTILE_ALLOWED):
            problems.append(
                f"{what} ({name} {method} {path}): {resp.status_code}, changed {changed}"
            )
    assert not problems, "\n".join(problems)


def test_a_form_out_of_reach_answers_as_no_form_on_submission(app, client, world, tmp_path):
    """Found by the matrix (issue 14): /submission told a 西山县 mediator that a form id
    of 东城区 exists (403 "您无权向问卷 …", 404 for none). Now both answer alike
    (``scope.submission_refusal``)."""
    from fieldapp.areas.services import get_area
    from fieldapp.surveys.services import import_xlsform
    from tests.helpers import post_submission

    with app.app_context():
        import_xlsform(
            PHOTO_FORM, "mx_photo.xlsx", get_area("339901"), media=[("mx_logo.png", PNG)]
        )
        db.session.commit()
    token = api_token(app, "mediator3")  # 西山县
    there, _iid = _photo_xml()
    nowhere = there.replace(b'id="mx_photo"', b'id="mx_nowhere"')
    a = post_submission(client, there, token=token)
    b = post_submission(client, nowhere, token=token)
    assert a.status_code == b.status_code == 404
    assert a.get_data(as_text=True).replace("mx_photo", "X") == b.get_data(as_text=True).replace(
        "mx_nowhere", "X"
    )
    # One who may see the form hears why she may not send to it: the city's admin (the
    # form is published below her home area).
    c = post_submission(client, there, token=api_token(app, "admin"))
    assert c.status_code == 403 and "无权向问卷 mx_photo 提交数据" in c.get_data(as_text=True)


def test_a_household_reaches_only_its_mediator_and_the_viewers_above(app, matrix_world):
    """The household list a phone downloads (``households.csv`` of the visit form, at /
    and under /key/) and the entities API: the household mediator_a registered reaches
    her, her area's viewers, and no colleague (mediator2, same town) nor the other
    district."""
    world = matrix_world
    colleague = api_token(app, "mediator2")
    media = "/forms/hh_visit/versions/1/media/households.csv"
    api = "/api/v1/datasets/households/entities"
    expect = {  # (path, Authorization or None, client name) -> may it hold MARK_HH
        (media, world.ids["tokens"]["token_a"]): True,
        (api, world.ids["tokens"]["token_a"]): True,
        (f"/key/{world.ids['keys']['key_a']}{media}", None): True,
        (media, colleague): False,
        (api, colleague): False,
        (media, world.ids["tokens"]["token_b"]): False,
        (api, world.ids["tokens"]["token_b"]): False,
        (f"/key/{world.ids['keys']['key_b']}{media}", None): False,
    }
    client = app.test_client()
    found = {}
    for (path, token), _holds in expect.items():
        headers = {"X-OpenRosa-Version": "1.0"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        resp = client.get(path, headers=headers)
        assert resp.status_code in (200, 403, 404), (path, resp.status_code)
        found[(path, token)] = MARK_HH in resp.get_data(as_text=True)
    assert found == expect
    for name in ("supervisor_a", "admin_a"):  # the viewers above her, by the API
        page = world.clients[name].get(api).get_data(as_text=True)
        assert MARK_HH in page, name
    assert MARK_HH not in world.clients["supervisor_b"].get(api).get_data(as_text=True)


def test_a_visit_from_outside_the_household_changes_nothing(app, matrix_world):
    """A visit of mediator_a's household sent by a colleague of another village
    (mediator2, same town, may fill the visit form) is kept but changes no household
    (``scope.may_update_entity``); the same visit from mediator_a changes it."""
    from tests.helpers import post_submission
    from tests.helpers_cases import visit

    world = matrix_world
    client = app.test_client()

    def households() -> dict:
        snap = _snapshot(app)
        return {t: snap[t] for t in ("entities", "entity_versions")}

    before = households()
    xml, _iid = visit(world.ids["household"], 1, status="paired")
    resp = post_submission(client, xml, token=api_token(app, "mediator2"))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert households() == before
    xml, _iid = visit(world.ids["household"], 1, status="paired")
    resp = post_submission(client, xml, token=world.ids["tokens"]["token_a"])
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert households() != before


def test_counts_are_of_the_callers_reach(app, matrix_world):
    """Counts leak what markers cannot show: the screening's dashboard and API count 3
    submissions for the city's admin, 2 for 东城区's viewers, 1 for 西山县's; a mediator's
    API list holds her own."""
    world = matrix_world
    expect = {"admin": 3, "admin_a": 2, "supervisor_a": 2, "researcher_a": 2}
    expect |= {"admin_b": 1, "supervisor_b": 1, "researcher_b": 1}
    for name, count in expect.items():
        client = world.clients[name]
        board = client.get("/data/family_screening/dashboard.json").get_json()
        assert sum(board["over_time"]["counts"]) == count, name
        api = client.get("/api/v1/forms/family_screening/submissions").get_json()
        assert len(api["results"]) == count, name
    for name in ("mediator_a", "token_a", "mediator_b", "token_b"):
        headers = {}
        if BY_NAME[name].kind == "bearer":
            headers["Authorization"] = f"Bearer {world.ids['tokens'][name]}"
        api = world.clients[name].get("/api/v1/forms/family_screening/submissions", headers=headers)
        assert len(api.get_json()["results"]) == 1, name


def test_identifying_exports_only_for_identifying_roles_of_the_area(app, matrix_world):
    """``identifying=1`` on the CSV export: names for admins and supervisors of the
    data's area; 403 for a researcher; another district's supervisor gets her own rows
    (no name, no answer of 东城区); a GET link with it exports nothing (a page that
    asks, issue 14)."""
    world = matrix_world
    url = "/data/family_screening/export.csv"
    for name in ("admin", "admin_a", "supervisor_a", "researcher_a", "supervisor_b"):
        client = world.clients[name]
        resp = client.post(url, data={"identifying": "1", "csrf_token": world.csrf[name]})
        text = resp.get_data(as_text=True)
        if name == "researcher_a":
            assert resp.status_code == 403 and MARK_NAME not in text
            continue
        assert resp.status_code == 200, name
        assert (MARK_NAME in text) == (name != "supervisor_b"), name
        assert (MARK_B in text) == (name in ("admin", "supervisor_b")), name
        link = client.get(url + "?identifying=1").get_data(as_text=True)
        assert MARK_NAME not in link and MARK_A not in link, name
