"""Access has one address: every endpoint declares its rule through ``fieldapp.scope``,
every endpoint that names a form refuses one outside the caller's scope, and no module
but ``scope.py`` writes a scope rule of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import SCREENING, switch_user

PACKAGE = Path(__file__).resolve().parents[1] / "fieldapp"
# What anyone may open without logging in: none of it shows data.
PUBLIC = {
    "auth.login",
    "auth.login_code",  # the second step: a form for a code, no data
    "auth.logout",
    "auth.set_language",
    "pwa.shell",
    "pwa.manifest",
    "pwa.service_worker",
    "api.openapi",
}


def _endpoints(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            yield rule, app.view_functions[rule.endpoint]


def test_every_endpoint_declares_its_access_rule(app):
    undeclared = sorted(
        rule.endpoint for rule, view in _endpoints(app) if not getattr(view, "access_rule", None)
    )
    assert undeclared == [], "declare with scope.public, scope.logged_in or scope.roles_required"


def test_token_routes_are_the_openrosa_api_and_the_draft_test_page(app):
    """``scope.token_route`` (a caller by session, Bearer, Basic over HTTPS, app-user key
    or draft test token) is declared by the OpenRosa routes, served at /, /key/<token>/
    and /test/<draft_token>/, and the draft's test fill page; by nothing else."""
    token_routes = {rule.rule for rule, view in _endpoints(app) if view.access_rule == "token"}
    openrosa = {
        rule.rule
        for rule, _ in _endpoints(app)
        if rule.endpoint.split(".")[0].startswith("openrosa")
    }
    assert token_routes == openrosa | {"/test/<draft_token>/fill"}
    assert {r for r in token_routes if r.startswith("/key/<token>/")} == {
        "/key/<token>" + r
        for r in openrosa
        if r.startswith("/formList") or r.startswith("/forms/") or r == "/submission"
    }


def test_only_pages_without_data_are_public(app):
    public = {rule.endpoint for rule, view in _endpoints(app) if view.access_rule == "public"}
    assert public == PUBLIC
    for rule, _ in _endpoints(app):
        if rule.arguments & {"form_id", "instance_id", "token", "filename"}:
            assert rule.endpoint not in PUBLIC, rule.rule


def _sample_url(rule, form_id: str) -> str:
    values = {
        "form_id": form_id,
        "version": "2026120201",
        "instance_id": "uuid:00000000-0000-0000-0000-000000000000",
        "filename": "x.jpg",
        "token": "no-such-job",
        "draft_token": "no-such-draft",
        "token_id": "1",
        "lang": "zh",
    }
    url = rule.rule
    for arg in rule.arguments:
        url = re.sub(rf"<(?:[a-z]+:)?{arg}>", values[arg], url)
    return url


@pytest.mark.parametrize("username", ["supervisor", "mediator", "mediator2"])
def test_no_endpoint_serves_a_form_outside_the_callers_scope(app, client, world, publish, username):
    """A form published to 西山县 is, for people of 东城区, as if it did not exist."""
    publish(SCREENING, area_code="339902")
    switch_user(client, username)
    probed = 0
    for rule, _ in _endpoints(app):
        if "form_id" not in rule.arguments or "GET" not in rule.methods:
            continue
        resp = client.get(_sample_url(rule, "family_screening"))
        assert resp.status_code in (403, 404), (rule.rule, resp.status_code)
        probed += 1
    assert probed >= 8  # data, dashboard, exports, fill, OpenRosa, API


SCOPE_RULES = {
    # a subtree test on the area tree
    r"\.path\.startswith\(": "area subtree clause (scope.within)",
    r"\barea\.contains\(": "area subtree test (scope.area_in_scope)",
    # a decision by role
    r"\brole\s*(==|!=|in\b|not in\b)": "role rule (scope.roles_required, scope.VIEWERS)",
    r"IDENTIFYING_EXPORT_ROLES": "identifying-data rule (scope.may_identify)",
    r"\blogin_required\b": "login rule (scope.logged_in)",
}
# Where a pattern is allowed, and why (everything else goes through fieldapp.scope).
ALLOWED = {
    ("areas/models.py", r"\.path\.startswith\("): "Area.contains, the tree relation itself",
    ("errors.py", r"\.path\.startswith\("): "URL prefix of a blueprint, not an area",
    ("config.py", r"IDENTIFYING_EXPORT_ROLES"): "the setting's default",
    ("auth/services.py", r"\brole\s*(==|!=|in\b|not in\b)"): "a role name must be a known role",
}


def test_no_module_but_scope_writes_a_scope_rule():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name == "scope.py" or name.startswith("translations/"):
            continue
        text = path.read_text(encoding="utf-8")
        for pattern, what in SCOPE_RULES.items():
            if (name, pattern) not in ALLOWED and re.search(pattern, text):
                found.append(f"{name}: {what}")
    assert found == []


def test_templates_ask_scope_about_roles():
    templates = Path(__file__).resolve().parents[1] / "templates"
    found = [
        p.relative_to(templates).as_posix()
        for p in sorted(templates.rglob("*.html"))
        if re.search(r"\.role\s*(==|!=|in\b|not in\b)", p.read_text(encoding="utf-8"))
    ]
    assert found == [], "use scope.is_viewer(current_user), scope.may_publish(current_user)"


def test_views_and_commands_read_through_services_and_scope():
    """No view, API endpoint or CLI command writes its own query of forms, submissions
    or areas: they call a service or ``scope``, where the rule is applied."""
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in sorted(PACKAGE.rglob("*.py"))
        if (path.name == "views.py" or path.name == "cli.py")
        and re.search(r"\bselect\(", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
