"""Who sees what: the one place for access rules.

Every view, API endpoint, CLI command and export asks this module; nothing else writes a
scope rule. The rules (DOMAIN.md, "Who uses it"):

- Areas form a tree; a person belongs to one node (their home area) and sees that node
  and everything below it, no more (``within``, ``area_in_scope``).
- A form published to an area may be filled in by everyone in that area's subtree
  (``can_fill``); viewers (admin, supervisor, researcher) also see the forms published
  below them (``can_see``).
- Mediators see only the submissions they sent themselves; viewers see every submission
  made in their subtree, to forms they may see (``submissions_in_scope``).
- Identifying data (names, phones, photos, exact locations) is shown to the roles in
  ``IDENTIFYING_EXPORT_ROLES`` (default admin, supervisor), and to the person who
  collected it (a mediator reading their own submissions); everyone else gets the
  de-identified values of ``fieldapp.dataset.identify`` (``may_identify``).
- Cases (households, issue 10): a mediator holds the households assigned to them (包户到人:
  their phone's list, "我的家庭"); viewers see the households of their subtree; admins and
  supervisors assign, close and resolve them (``entities_in_scope``, ``may_manage_case``).
  A household's label names a person: shown to those who may identify and to the
  mediator it is assigned to (``may_identify_entity``).
- Correcting a sent record (issue 12): whoever may see a submission may send an edit of
  its current version if their role corrects (config ``EDIT_DAYS``: a mediator their own
  for 30 days after it was first sent, supervisors and admins their subtree's with no
  limit) and they may submit to its form (``may_see_version``, ``correction_refusal``).
- Periodic reports (issue 11): admins and supervisors define them for their subtree
  (``may_define_reports``, ``may_edit_report``); viewers read the completeness of their
  subtree for the reports defined in it or above it (``report_definitions_in_scope``);
  the people of a unit file them (``reports_to_file``).
- Reminders (issue 13): each person their own subscriptions, preferences and to-do
  list; supervisors and admins a digest of their subtree (``receives_digest``).
- The command line (``OPERATOR``) is the server's operator: full scope, audited as such.

Endpoints declare their rule with ``public``, ``logged_in`` or ``roles_required``;
a test walks the URL map and fails on an endpoint that declares none.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from zoneinfo import ZoneInfo

from flask import abort, current_app, g
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, Select, false, select, true

from fieldapp.areas.models import LEVELS, Area
from fieldapp.audit.models import AuditEvent
from fieldapp.auth.models import ROLES, User
from fieldapp.cases.models import Entity
from fieldapp.exports.models import ExportJob
from fieldapp.extensions import db
from fieldapp.people.models import UserImport
from fieldapp.reports.models import ReportDefinition
from fieldapp.submissions.history import by_instance_id, current_version, versions
from fieldapp.submissions.models import Submission
from fieldapp.surveys.models import ARCHIVED, CLOSED, DRAFT, OPEN, Form

ADMIN, SUPERVISOR, RESEARCHER, MEDIATOR = "admin", "supervisor", "researcher", "mediator"
VIEWERS = (ADMIN, SUPERVISOR, RESEARCHER)  # see the data of their area and below
PUBLISHERS = (ADMIN, RESEARCHER)  # publish XLSForms
assert set(VIEWERS) | {MEDIATOR} == set(ROLES)


class Operator:
    """The person at the server's command line: sees everything (``fieldapp export``)."""

    id = None
    role = "operator"
    username = "(命令行)"

    def __repr__(self) -> str:
        return "<Operator>"


OPERATOR = Operator()


class DraftTester:
    """Whoever holds a draft form's test link (``/test/<draft_token>/``, as ODK Central's
    draft test token): may download and fill in that draft only and sees no data; what
    they send is test data (``Submission.test``), sent by no user."""

    id = None
    role = "draft_tester"
    username = "(草稿测试)"

    def __init__(self, form: Form):
        self.form = form

    def __repr__(self) -> str:
        return f"<DraftTester {self.form.form_id}>"


Person = User | Operator | DraftTester


# -- what an endpoint declares ------------------------------------------------------


def _declare(view: Callable, rule: str) -> Callable:
    view.access_rule = rule  # read by the URL-map test (tests/test_access_rules.py)
    return view


def public(view: Callable) -> Callable:
    """Declare a view open to anyone (login page, app shell, manifest): it shows no data."""
    return _declare(view, "public")


def logged_in(view: Callable) -> Callable:
    """Require a login (session or Bearer token); the view narrows by scope itself."""
    return _declare(login_required(view), "logged_in")


def roles_required(*roles: str) -> Callable[[Callable], Callable]:
    """Require a login and one of ``roles`` (else 403)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {unknown}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return _declare(wrapped, "roles:" + ",".join(roles))

    return decorator


def token_route(view: Callable) -> Callable:
    """Declare a route of phones and test links (the OpenRosa API, a draft's test fill
    page). Its caller (``caller()``) is found by the way the request came in
    (``fieldapp.openrosa.auth``): at ``/``, a logged-in user (session, Bearer token, or
    HTTP Basic over HTTPS); under ``/key/<token>/``, the user of an ODK Collect app-user
    token; under ``/test/<draft_token>/``, the ``DraftTester`` of that draft. Nobody:
    401 with a challenge, 403 for a dead app-user token, 404 for an unknown draft."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        from fieldapp.openrosa.auth import authenticate

        g.token_caller = authenticate()
        return view(*args, **kwargs)

    return _declare(wrapped, "token")


def caller() -> Person:
    """Who called a ``token_route``: a ``User`` or a ``DraftTester``."""
    return g.token_caller


def is_viewer(person: Person) -> bool:
    """True when ``person`` sees the data of their subtree (a role of ``VIEWERS``)."""
    return person is OPERATOR or person.role in VIEWERS


def may_publish(person: Person) -> bool:
    """True when ``person`` may publish XLSForms (a role of ``PUBLISHERS``)."""
    return person is OPERATOR or person.role in PUBLISHERS


# -- areas -------------------------------------------------------------------------


def within(who: Person | Area, area_column) -> ColumnElement[bool]:
    """The clause "``area_column`` (a foreign key to ``areas.id``) is ``who``'s home
    area (or the area ``who``) or lies below it", for any query of rows that belong to
    an area."""
    if who is OPERATOR:
        return true()
    root = who if isinstance(who, Area) else who.area
    return area_column.in_(select(Area.id).where(Area.path.startswith(root.path)))


def area_in_scope(person: Person, area: Area) -> bool:
    """True when ``area`` is ``person``'s home area or lies below it."""
    return person is OPERATOR or person.area.contains(area)


def areas_in_scope(person: Person) -> Select:
    """``select(Area)`` of ``person``'s home area and everything below, in tree order."""
    stmt = select(Area).order_by(Area.path)
    return stmt if person is OPERATOR else stmt.where(Area.path.startswith(person.area.path))


def path_in_scope(person: Person, path: str) -> bool:
    """True when the materialised ``path`` (of an area about to be made: an import)
    lies in ``person``'s subtree."""
    return person is OPERATOR or path.startswith(person.area.path)


def visible_area_or_404(code: str) -> Area:
    """The area ``code`` if it is in the current user's subtree; else abort 404 with one
    message, so an area outside one's scope looks like no area."""
    from fieldapp.errors import fail

    area = db.session.scalar(areas_in_scope(current_user).where(Area.code == code))
    if area is None:
        fail(404, _("找不到区划 %(code)s，或它不在您的管辖范围内", code=code))
    return area


# -- changing the area tree (issue 9, "Areas") ----------------------------------------
# Admins manage their subtree: import, add any level, rename, move, deactivate, delete
# empty leaves; but their own home area keeps its place and stays active (that is for
# whoever is above them). Supervisors set up the villages of their subtree (a new
# village's mediators are theirs to create): they add and rename villages, nothing more.

AREA_EDITORS = (ADMIN, SUPERVISOR)  # open the area pages (/admin/areas)
AREA_MANAGERS = (ADMIN,)  # import, move, deactivate, delete; add and rename any level


def may_edit_areas(person: Person) -> bool:
    """True when ``person`` may open the area pages (a role of ``AREA_EDITORS``)."""
    return person is OPERATOR or person.role in AREA_EDITORS


def may_manage_areas(person: Person) -> bool:
    """True when ``person`` may import areas and restructure their subtree (a role of
    ``AREA_MANAGERS``; the operator at the command line)."""
    return person is OPERATOR or person.role in AREA_MANAGERS


def may_add_area(person: Person, parent: Area | None, level: str) -> bool:
    """True when ``person`` may add an area of ``level`` under ``parent``: a manager in
    their subtree; a supervisor a village under a town of theirs. A new top-level area
    (``parent`` None) is the operator's alone."""
    if person is OPERATOR:
        return True
    if parent is None or not area_in_scope(person, parent):
        return False
    return may_manage_areas(person) or (person.role == SUPERVISOR and level == "village")


def may_rename_area(person: Person, area: Area) -> bool:
    """True when ``person`` may rename ``area``: a manager, any area of their subtree
    (their home area included); a supervisor, a village of theirs."""
    if not area_in_scope(person, area):
        return False
    return may_manage_areas(person) or (person.role == SUPERVISOR and area.level == "village")


def may_restructure_area(person: Person, area: Area) -> bool:
    """True when ``person`` may move, deactivate, reactivate or delete ``area``: a
    manager, for an area strictly below their home area."""
    if person is OPERATOR:
        return True
    return may_manage_areas(person) and area_in_scope(person, area) and area.id != person.area_id


def may_move_area(person: Person, area: Area, new_parent: Area) -> bool:
    """True when ``person`` may put ``area`` under ``new_parent``: they may restructure
    it and ``new_parent`` is in their subtree too (nothing leaves it, nothing enters)."""
    return may_restructure_area(person, area) and area_in_scope(person, new_parent)


# -- forms -------------------------------------------------------------------------


def may_manage_form(person: Person, form: Form) -> bool:
    """True when ``person`` may change ``form``: publish new versions, change its state
    (draft, open, closed, archived), add media. A publisher (``PUBLISHERS``) whose home
    area is the form's area or above it; a form published above them is not theirs."""
    return may_publish(person) and area_in_scope(person, form.area)


def forms_to_manage(person: Person) -> list[Form]:
    """Forms ``person`` may manage (``may_manage_form``), every state, by title."""
    if not may_publish(person):
        return []
    stmt = select(Form).join(Area, Form.area_id == Area.id).where(within(person, Form.area_id))
    return list(db.session.scalars(stmt.order_by(Form.title)).unique())


def managed_form_or_404(form_id: str) -> Form:
    """The form ``form_id`` if the current user may manage it; else abort 404 with the
    one message of ``visible_form_or_404`` (a form outside one's reach looks like none)."""
    from fieldapp.errors import fail

    form = db.session.scalar(select(Form).where(Form.form_id == form_id))
    if form is None or not may_manage_form(current_user, form):
        fail(404, _("找不到问卷 %(id)s，或您无权查看", id=form_id))
    return form


# Which states a form is filled in (issue 9; ODK Central's open/closing/closed): the
# field is offered open forms only; a closed form still accepts what phones filled in
# before it closed; a draft takes test data through its test link only; an archived
# form takes nothing.
OFFERED_STATES = (OPEN,)
ACCEPTING_STATES = (OPEN, CLOSED)


def _published_for(person: Person, form: Form) -> bool:
    """The form is published at or above ``person``'s home area (any state)."""
    return isinstance(person, User) and form.area.contains(person.area)


def can_fill(person: Person, form: Form) -> bool:
    """True when ``person`` may submit to ``form`` now: it is published at or above
    their home area and accepts data (open, or closed: drafts already on phones), or
    ``person`` is the tester of this very draft (its test link)."""
    if isinstance(person, DraftTester):
        return person.form.id == form.id and form.state == DRAFT
    return form.state in ACCEPTING_STATES and _published_for(person, form)


def fill_refusal(person: Person, form: Form) -> str | None:
    """Why ``person`` may not submit to ``form`` (a message they can act on), or
    ``None`` when they may (``can_fill``)."""
    if can_fill(person, form):
        return None
    if isinstance(person, DraftTester):
        return _("此测试链接只能用于测试问卷 %(id)s 的草稿", id=person.form.form_id)
    if not _published_for(person, form):
        return _("您无权向问卷 %(id)s 提交数据", id=form.form_id)
    if form.state == DRAFT:
        return _(
            "问卷 %(id)s 还是草稿，尚未发布，不接收正式数据；请用草稿的测试链接试填",
            id=form.form_id,
        )
    if form.state == ARCHIVED:
        return _("问卷 %(id)s 已归档，不再接收数据；如需补交，请联系管理员", id=form.form_id)
    return _("问卷 %(id)s 现在不接收数据", id=form.form_id)


def can_see(person: Person, form: Form) -> bool:
    """True when ``person`` may see ``form`` and (some of) its data: it is published for
    them (whatever its state: data stay visible when a form closes or is archived), or
    they are a viewer and it is published in their subtree."""
    if person is OPERATOR:
        return True
    if isinstance(person, DraftTester):
        return False
    return _published_for(person, form) or (is_viewer(person) and area_in_scope(person, form.area))


def unknown_form(form_id: str) -> str:
    """The answer about a form id that names no form (``submission_refusal``: also about
    one outside the sender's sight, so it names both: a form moved out of a mediator's
    area tells her why her questionnaire is refused without telling anyone else that it
    exists)."""
    return _("服务器上没有编号为 %(id)s 的问卷，或您无权向它提交数据", id=form_id)


def submission_refusal(person: Person, form: Form) -> tuple[int, str] | None:
    """Whether ``person`` may submit to ``form`` now, as /submission answers it: ``None``
    when they may (``can_fill``); (403, ``fill_refusal``'s reason) when they may see the
    form (``can_see``; a draft tester, their own draft); else (404, ``unknown_form``),
    the answer about a form id that names no form, so that a sender learns nothing of
    the forms outside their reach (issue 14, found by tests/test_access_matrix.py: a 403
    told a 西山县 mediator that 东城区's form ids exist)."""
    refusal = fill_refusal(person, form)
    if refusal is None:
        return None
    own_draft = isinstance(person, DraftTester) and person.form.id == form.id
    if own_draft or can_see(person, form):
        return 403, refusal
    return 404, unknown_form(form.form_id)


def _forms_above(person: User) -> ColumnElement[bool]:
    codes = [c for c in person.area.path.split("/") if c]
    return Area.code.in_(codes)


def forms_to_fill(person: Person) -> list[Form]:
    """Forms offered to ``person`` for new filling (form list, phone app): open forms
    published to their home area or an area above it; a draft tester's draft."""
    if isinstance(person, DraftTester):
        return [person.form] if person.form.state == DRAFT else []
    if person is OPERATOR:
        return []
    stmt = (
        select(Form)
        .join(Area, Form.area_id == Area.id)
        .where(_forms_above(person), Form.state.in_(OFFERED_STATES))
    )
    return list(db.session.scalars(stmt.order_by(Form.title)).unique())


def forms_in_scope(person: Person) -> list[Form]:
    """Forms whose data ``person`` may see, whatever their state: those published for
    them plus, for viewers, those published below them."""
    if isinstance(person, DraftTester):
        return []
    stmt = select(Form).join(Area, Form.area_id == Area.id)
    if not is_viewer(person):
        stmt = stmt.where(_forms_above(person))
    elif person is not OPERATOR:
        stmt = stmt.where(_forms_above(person) | within(person, Form.area_id))
    return list(db.session.scalars(stmt.order_by(Form.title)).unique())


def form_in_scope(person: Person, form_id: str, fill: bool = False) -> Form | None:
    """The form with XForm id ``form_id`` if ``person`` may see it (``fill``: fill it
    in), else ``None``."""
    form = db.session.scalar(select(Form).where(Form.form_id == form_id))
    if form is None or not (can_fill(person, form) if fill else can_see(person, form)):
        return None
    return form


def visible_form_or_404(form_id: str, fill: bool = False) -> Form:
    """The form ``form_id`` if the current user may see it (``fill``: fill it in); else
    abort 404 with one message, so a form outside one's scope looks like no form."""
    from fieldapp.errors import fail

    form = form_in_scope(current_user, form_id, fill)
    if form is None:
        fail(404, _("找不到问卷 %(id)s，或您无权查看", id=form_id))
    return form


# -- submissions -------------------------------------------------------------------


def submissions_in_scope(person: Person, form: Form | None = None) -> Select:
    """``select(Submission)`` limited to what ``person`` may see, newest first: a
    mediator's own submissions; a viewer's submissions made in their subtree; with
    ``form``, only that form's (nothing when ``person`` may not see the form). Only
    current versions of real data: an edited submission's older versions and test
    submissions to a draft form are left out."""
    stmt = select(Submission).where(Submission.current.is_(True), Submission.test.is_(False))
    if person is OPERATOR:
        pass
    elif isinstance(person, DraftTester):
        stmt = stmt.where(false())  # test data is for the draft's own pages
    elif person.role == MEDIATOR:
        stmt = stmt.where(Submission.submitter_id == person.id)
    else:
        stmt = stmt.where(within(person, Submission.area_id))
    if form is not None:
        if not can_see(person, form):
            return stmt.where(false())
        stmt = stmt.where(Submission.form_pk == form.id)
    return stmt.order_by(Submission.received_at.desc(), Submission.id.desc())


def may_see_version(person: Person, sub: Submission) -> bool:
    """True when ``person`` may see ``sub`` whether or not it is the current version (an
    edit keeps the submitter and area of the version it replaces): a mediator their own
    submissions, a viewer those made in their subtree, a draft tester their draft's test
    data; the operator everything."""
    if person is OPERATOR:
        return True
    if isinstance(person, DraftTester):
        return sub.test and sub.form_pk == person.form.id
    if sub.test:
        return False
    if person.role == MEDIATOR:
        return sub.submitter_id == person.id
    return area_in_scope(person, sub.area)


# -- correcting a sent submission (issue 12, "Correct a sent record") -----------------
# Who may correct what they may see, and for how long, is config ``EDIT_DAYS``
# (``FIELDAPP_EDIT_DAYS``): "role:days" pairs, ``*`` for no limit; a role it does not
# name corrects nothing. Default: a mediator their own submissions within 30 days; a
# supervisor and an admin those of their subtree, with no limit; a researcher none
# (they read data, they do not collect it). The days count from the arrival of the
# first version: correcting a record does not give it more time.


def edit_days_by_role() -> dict[str, int | None]:
    """Config ``EDIT_DAYS`` as {role: days, or ``None`` for no limit} (a dict in a test
    config, or "mediator:30,supervisor:*,admin:*"); raises ``ValueError`` for an unknown
    role or a number of days that is not a whole number >= 0."""
    raw = current_app.config["EDIT_DAYS"]
    if isinstance(raw, dict):
        pairs = [(str(k), "*" if v is None else str(v)) for k, v in raw.items()]
    else:
        pairs = [p.partition(":")[::2] for p in raw.split(",") if p.strip()]
    table: dict[str, int | None] = {}
    for role, days in pairs:
        role, days = role.strip(), days.strip()
        if role not in ROLES or not (days == "*" or days.isdigit()):
            raise ValueError(f"EDIT_DAYS: {role}:{days} (expected role:days or role:*)")
        table[role] = None if days == "*" else int(days)
    return table


def may_correct(person: Person) -> bool:
    """True when ``person``'s role corrects sent submissions at all (named in
    ``EDIT_DAYS``); a draft tester corrects their draft's test data; the operator all."""
    if person is OPERATOR or isinstance(person, DraftTester):
        return True
    return person.role in edit_days_by_role()


def edit_days(person: Person) -> int | None:
    """How many days after a submission was first sent ``person`` may correct it
    (``EDIT_DAYS``), or ``None``: no limit, or they correct nothing
    (``may_correct``)."""
    if person is OPERATOR or isinstance(person, DraftTester):
        return None
    return edit_days_by_role().get(person.role)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite: naive UTC


def correction_deadline(person: Person, sub: Submission) -> datetime | None:
    """Until when ``person`` may correct ``sub`` (its first version's arrival plus
    ``edit_days``), or ``None`` when no limit applies."""
    days = edit_days(person)
    if days is None:
        return None
    return _aware(versions(sub)[0].received_at) + timedelta(days=days)


def correction_refusal(person: Person, sub: Submission, now: datetime | None = None) -> str | None:
    """Why ``person``, who may see ``sub`` (``may_see_version``), may not correct it
    now (a message they can act on), or ``None`` when they may: their role corrects
    (``may_correct``), they may submit to its form now (``fill_refusal``), and the time
    since it was first sent is within ``edit_days``. Whether it is the current version
    is asked apart (``correctable_submission_or_abort``, the receiver)."""
    if not may_correct(person):
        return _("您的角色不能修改已发送的记录")
    refusal = fill_refusal(person, sub.form)
    if refusal:
        return refusal
    deadline = correction_deadline(person, sub)
    if deadline is not None and (now or datetime.now(UTC)) > deadline:
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        return _(
            "已发送的记录只能在首次发送后 %(days)s 天内修改；这份记录已于 %(date)s 到期，"
            "不能再修改。如需更正，请联系督导",
            days=edit_days(person),
            date=deadline.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        )
    return None


def correctable_submission_or_abort(instance_id: str) -> Submission:
    """The submission ``instance_id`` if the current user may correct it now; else abort
    with a message: 404 when it is not there or not theirs to see (one answer, as
    ``visible_submission_or_404``), 409 when it is not the current version (naming the
    one that is), 403 with ``correction_refusal``'s reason."""
    from fieldapp.errors import fail

    sub = by_instance_id(instance_id)
    if sub is None or not may_see_version(current_user, sub):
        fail(404, _("找不到该提交，或您无权查看"))
    if not sub.current:
        fail(
            409,
            _(
                "这份记录已被修改过，这里不是最新版本；最新版本是 %(current)s，请修改最新版本",
                current=current_version(sub).instance_id,
            ),
        )
    refusal = correction_refusal(current_user, sub)
    if refusal:
        fail(403, refusal)
    return sub


def visible_submission_or_404(instance_id: str, message: str | None = None) -> Submission:
    """The submission ``instance_id`` if the current user may see it; else abort 404."""
    from fieldapp.errors import fail

    sub = db.session.scalar(
        submissions_in_scope(current_user).where(Submission.instance_id == instance_id)
    )
    if sub is None:
        fail(404, message or _("找不到该提交，或您无权查看"))
    return sub


# -- cases (households, issue 10) ---------------------------------------------------

CASE_MANAGERS = (ADMIN, SUPERVISOR)  # assign, close, reopen, resolve households


def entities_in_scope(person: Person, dataset_id: int | None = None) -> Select:
    """``select(Entity)`` of the entities (households) ``person`` may see: a mediator
    those assigned to them (the list on their phone); a viewer those of their subtree;
    a draft tester none (test data makes no entities). ``dataset_id`` narrows to one
    entity list. Unordered."""
    stmt = select(Entity)
    if dataset_id is not None:
        stmt = stmt.where(Entity.dataset_id == dataset_id)
    if person is OPERATOR:
        return stmt
    if isinstance(person, DraftTester):
        return stmt.where(false())
    if person.role == MEDIATOR:
        return stmt.where(Entity.assigned_to_id == person.id)
    return stmt.where(within(person, Entity.area_id))


def follows_what_they_register(person: Person) -> bool:
    """True when a household ``person`` registers is assigned to them at once: a
    mediator follows the households they find (包户到人) until a supervisor reassigns
    them; one registered by a viewer waits for a supervisor to assign it."""
    return isinstance(person, User) and person.role == MEDIATOR


def may_update_entity(person: Person, entity: Entity) -> bool:
    """True when a submission from ``person`` may change ``entity``: a mediator it is
    assigned to, who registered it, or whose home area holds it (a colleague of the same
    village; the mediator it was just taken from, whose offline visits still count); a
    viewer or anyone filling forms above it, when it lies in their subtree. Others'
    submissions are kept but change nothing (``fieldapp.cases.process``)."""
    if person is OPERATOR:
        return True
    if not isinstance(person, User):
        return False
    if person.id in (entity.assigned_to_id, entity.created_by_id):
        return True
    return area_in_scope(person, entity.area)


def may_manage_cases(person: Person) -> bool:
    """True when ``person`` may assign, close, reopen and resolve households (a role
    of ``CASE_MANAGERS``)."""
    return person is OPERATOR or person.role in CASE_MANAGERS


def may_manage_case(person: Person, entity: Entity) -> bool:
    """True when ``person`` may manage ``entity``: a case manager whose subtree holds
    it."""
    return may_manage_cases(person) and area_in_scope(person, entity.area)


def assignable_users(person: Person, entity: Entity) -> Select:
    """``select(User)`` of the people ``person`` may assign ``entity`` to: active
    mediators and supervisors whose home area lies in both ``person``'s subtree and the
    subtree of the household's town (a household is followed from nearby), by area and
    username."""
    area = entity.area
    near = area.parent if area.level == "village" and area.parent else area
    stmt = select(User).join(Area, User.area_id == Area.id)
    stmt = stmt.where(
        User.active.is_(True),
        User.role.in_((MEDIATOR, SUPERVISOR)),
        within(person, User.area_id),
        within(near, User.area_id),
    )
    return stmt.order_by(Area.path, User.username)


def may_identify_entity(person: Person, entity: Entity) -> bool:
    """True when ``person`` may see who household ``entity`` is: its label (it names the
    household head), the members' names on its registration and the properties forms
    saved beyond the household vocabulary. Those who may identify (``may_identify``), and
    the mediator it is assigned to (who visits it: the label is on their phone's list);
    others (a researcher) see the household by its id."""
    if may_identify(person):
        return True
    return isinstance(person, User) and entity.assigned_to_id == person.id


def identifiable_entities(person: Person) -> ColumnElement[bool]:
    """The clause "``person`` may see who this entity is" (``may_identify_entity``), for a
    query over ``entities`` (a search by label must not find what it may not show)."""
    if may_identify(person):
        return true()
    if not isinstance(person, User):
        return false()
    return Entity.assigned_to_id == person.id


def visible_entity_or_404(uuid: str) -> Entity:
    """The household ``uuid`` if the current user may see it (``entities_in_scope``);
    else abort 404 with one message, so a household out of reach looks like none."""
    from fieldapp.errors import fail

    entity = db.session.scalar(entities_in_scope(current_user).where(Entity.uuid == uuid))
    if entity is None:
        fail(404, _("找不到该家庭，或它不在您的管辖范围内"))
    return entity


# -- periodic reports (issue 11, "Reporting periods and zero reports") ---------------
# Admins and supervisors define, edit and deactivate the reports of their subtree. Every
# viewer reads completeness for their subtree: of the reports defined in it, and of those
# defined above it (a city-wide report, seen for one's own district only). Whoever works
# in a unit files its reports (the phone offers the zero report). The mediators of a
# unit that has not reported are named to those who read the report; their phone
# numbers only to those who may see people (``may_manage_people``).

REPORT_DEFINERS = (ADMIN, SUPERVISOR)  # define, edit, deactivate periodic reports
REPORT_READERS = VIEWERS  # open the completeness pages (/reports/)
REPORT_CONTACTS = (MEDIATOR,)  # who is chased for a unit's missing report


def may_define_reports(person: Person) -> bool:
    """True when ``person`` may define periodic reports (a role of ``REPORT_DEFINERS``;
    the operator)."""
    return person is OPERATOR or person.role in REPORT_DEFINERS


def may_read_reports(person: Person) -> bool:
    """True when ``person`` may open the completeness pages (a role of
    ``REPORT_READERS``; the operator)."""
    return person is OPERATOR or person.role in REPORT_READERS


def may_edit_report(person: Person, definition: ReportDefinition) -> bool:
    """True when ``person`` may edit or deactivate ``definition``: a definer whose
    subtree holds the report's area (a report defined above them is not theirs)."""
    return may_define_reports(person) and area_in_scope(person, definition.area)


def report_definitions_in_scope(person: Person) -> Select:
    """``select(ReportDefinition)`` of the reports ``person`` may read: defined at an
    area of their subtree or above their home area (readers only; the operator all),
    active first, then by area and name. What they see of one is their subtree's part
    (``fieldapp.reports.completeness``)."""
    stmt = select(ReportDefinition).join(Area, ReportDefinition.area_id == Area.id)
    stmt = stmt.order_by(ReportDefinition.active.desc(), Area.path, ReportDefinition.name)
    if person is OPERATOR:
        return stmt
    if isinstance(person, DraftTester) or not may_read_reports(person):
        return stmt.where(false())
    return stmt.where(within(person, ReportDefinition.area_id) | _forms_above(person))


def visible_report_or_404(report_id: int) -> ReportDefinition:
    """The report ``report_id`` if the current user may read it (in
    ``report_definitions_in_scope`` and its form in their sight, ``can_see``); else
    abort 404 with one message, so a report out of reach looks like none."""
    from fieldapp.errors import fail

    stmt = report_definitions_in_scope(current_user).where(ReportDefinition.id == report_id)
    definition = db.session.scalar(stmt)
    if definition is None or not can_see(current_user, definition.form):
        fail(404, _("找不到报告 %(id)s，或它不在您的管辖范围内", id=report_id))
    return definition


def reports_to_file(person: Person) -> list[ReportDefinition]:
    """The active reports ``person``'s unit must file (what the phone offers a zero
    report for): defined at their home area or above it, at a level at or above their
    home area's (a village's worker files village and town reports; a district's files
    none), by id. Nobody but a user files."""
    if not isinstance(person, User):
        return []
    stmt = select(ReportDefinition).join(Area, ReportDefinition.area_id == Area.id)
    stmt = stmt.where(ReportDefinition.active.is_(True), _forms_above(person))
    depth = LEVELS.index(person.area.level)
    found = db.session.scalars(stmt.order_by(ReportDefinition.id))
    return [d for d in found if d.level in LEVELS and LEVELS.index(d.level) <= depth]


def report_reach(definition: ReportDefinition, area: Area) -> Area | None:
    """Where ``definition`` and ``area``'s subtree meet: the deeper of the report's area
    and ``area`` when one holds the other, else ``None`` (a report of another district).
    Its units are the report's units below that area."""
    if definition.area.contains(area):
        return area
    if area.contains(definition.area):
        return definition.area
    return None


def may_see_contact_phones(person: Person) -> bool:
    """True when ``person`` is shown the phone numbers of the mediators of a unit that
    has not reported: those who may see people (``may_manage_people``)."""
    return may_manage_people(person)


def report_contacts(area: Area) -> Select:
    """``select(User)`` of the active people chased for the missing reports of the units
    in ``area``'s subtree (a role of ``REPORT_CONTACTS``), by area and username. The
    caller buckets them into units (each user's ``area.path``)."""
    stmt = select(User).join(Area, User.area_id == Area.id)
    stmt = stmt.where(
        User.active.is_(True), User.role.in_(REPORT_CONTACTS), within(area, User.area_id)
    )
    return stmt.order_by(Area.path, User.username)


# -- reminders (issue 13) -------------------------------------------------------------
# Everyone logged in manages their own push subscriptions and reminder preferences and
# reads their own to-do list (their households, their unit's reports: the rules above).
# Supervisors and admins also get a daily digest of their subtree: overdue visits and
# units that missed a report (counts only).

DIGEST_ROLES = (ADMIN, SUPERVISOR)


def receives_digest(person: Person) -> bool:
    """True when ``person`` gets the supervisors' daily digest (a role of
    ``DIGEST_ROLES``): counts of their subtree, which they may see."""
    return isinstance(person, User) and person.role in DIGEST_ROLES


# -- export files -------------------------------------------------------------------


def own_export_job_or_404(token: str) -> ExportJob:
    """The export job ``token`` if the current user asked for it (only the requester
    may see its progress or download its file); else abort 404."""
    from fieldapp.errors import fail

    job = db.session.scalar(select(ExportJob).where(ExportJob.token == token))
    if job is None or job.user_id != current_user.id:
        fail(404, _("找不到该导出任务（只有发起导出的人能查看和下载）"))
    return job


# -- the audit log (issue 9, "Audit log") --------------------------------------------

AUDITORS = (ADMIN,)  # read and export the audit log (/admin/audit)


def may_read_audit_log(person: Person) -> bool:
    """True when ``person`` may open the audit log (a role of ``AUDITORS``)."""
    return person is OPERATOR or person.role in AUDITORS


def audit_events_in_scope(person: Person) -> Select:
    """``select(AuditEvent)`` of the events ``person`` may read, newest first (by id).

    An auditor reads the events of every user whose home area is in their subtree
    (themselves included). Events with no user (the command line's operator, a failed
    sign-in with an unknown username) belong to no subtree: only an auditor at the top
    of the tree (a home area with no parent, the city) reads them, since the operator
    acts city-wide and a mistyped username may be someone's password. Others: nothing."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    if person is OPERATOR:
        return stmt
    if not may_read_audit_log(person):
        return stmt.where(false())
    of_users = AuditEvent.user_id.in_(select(User.id).where(within(person, User.area_id)))
    if person.area.parent_id is None:
        return stmt.where(of_users | AuditEvent.user_id.is_(None))
    return stmt.where(of_users)


# -- the yearly figures (issue 11, "The yearly figures") ------------------------------
# Figures are counts of the data, no record named: every viewer reads them for any area
# of their subtree (the totals include every household and submission below it). The
# figure definitions apply federation-wide, so only an admin at the top of the tree (a
# home area with no parent, the city) edits them. Targets (责任状) are set by the level
# above: an admin for the districts strictly below their home area.

FIGURE_VIEWERS = VIEWERS  # open the figures page (/figures/), its XLSX
FIGURE_EDITORS = (ADMIN,)  # definitions (city admins) and district targets


def may_see_figures(person: Person) -> bool:
    """True when ``person`` may read the yearly figures (a role of ``FIGURE_VIEWERS``;
    the operator)."""
    return person is OPERATOR or person.role in FIGURE_VIEWERS


def may_edit_figure_definitions(person: Person) -> bool:
    """True when ``person`` may edit the figure definitions: a role of
    ``FIGURE_EDITORS`` whose home area is at the top of the tree (the operator)."""
    if person is OPERATOR:
        return True
    return person.role in FIGURE_EDITORS and person.area.parent_id is None


def may_set_targets(person: Person) -> bool:
    """True when ``person`` may open the targets page (a role of ``FIGURE_EDITORS``);
    which districts they set is ``target_areas``."""
    return person is OPERATOR or person.role in FIGURE_EDITORS


def target_areas(person: Person) -> Select:
    """``select(Area)`` of the districts ``person`` sets yearly targets for: those
    strictly below their home area in their subtree (none unless ``may_set_targets``),
    by code."""
    stmt = select(Area).where(Area.level == "district").order_by(Area.code)
    if person is OPERATOR:
        return stmt
    if not may_set_targets(person):
        return stmt.where(false())
    return stmt.where(within(person, Area.id), Area.id != person.area_id)


# -- identifying data ---------------------------------------------------------------


def identifying_roles() -> list[str]:
    """The roles of config ``IDENTIFYING_EXPORT_ROLES`` (comma-separated or a list)."""
    roles = current_app.config["IDENTIFYING_EXPORT_ROLES"]
    return [r.strip() for r in roles.split(",")] if isinstance(roles, str) else list(roles)


def may_identify(person: Person, submission: Submission | None = None) -> bool:
    """True when ``person`` may see identifying data as collected (names, phones,
    photos, exact locations) rather than de-identified.

    Two rules, side by side: the roles of ``IDENTIFYING_EXPORT_ROLES`` may, for any data
    in their scope (table, exports, attachments); and whoever collected ``submission``
    may see it as they sent it (the API gives a mediator their own submissions whole).
    The operator at the command line asks for it explicitly (``--identifying``)."""
    if person is OPERATOR or person.role in identifying_roles():
        return True
    return submission is not None and person.id is not None and submission.submitter_id == person.id


# -- people (users) -----------------------------------------------------------------

USER_MANAGERS = (ADMIN, SUPERVISOR)  # open the people pages (/admin/users)
# The roles each manager may give, see and change: an admin every role, a supervisor
# mediators only (issue 9, "People"); always within the manager's own subtree.
_GRANTS = {ADMIN: (MEDIATOR, SUPERVISOR, RESEARCHER, ADMIN), SUPERVISOR: (MEDIATOR,)}


def may_manage_people(person: Person) -> bool:
    """True when ``person`` may open the people pages (a role of ``USER_MANAGERS``)."""
    return person is OPERATOR or person.role in USER_MANAGERS


def grantable_roles(person: Person) -> tuple[str, ...]:
    """The roles ``person`` may give, and whose holders they may see and change: all for
    an admin and the operator, ``mediator`` for a supervisor, none for anyone else."""
    if person is OPERATOR:
        return _GRANTS[ADMIN]
    return _GRANTS.get(person.role, ())


def may_grant_role(person: Person, role: str) -> bool:
    """True when ``role`` is one of ``grantable_roles(person)`` (anywhere in reach)."""
    return role in grantable_roles(person)


def may_grant(person: Person, role: str, area: Area) -> bool:
    """True when ``person`` may give ``role`` at ``area``: a role they may grant, at their
    home area or below it (an admin of a district makes no city-level user)."""
    return may_grant_role(person, role) and area_in_scope(person, area)


def may_manage_user(person: Person, user: User) -> bool:
    """True when ``person`` may see and change ``user`` (edit, deactivate, reset the
    password): ``user`` holds a role ``person`` may grant, at an area in their subtree,
    and is not ``person`` themselves (one's own password and language: the account page)."""
    if person is not OPERATOR and user.id == person.id:
        return False
    return may_grant(person, user.role, user.area)


def users_in_scope(person: Person, role: str | None = None) -> Select:
    """``select(User)`` of the users ``person`` may see on the people pages: holders of a
    role they may grant (``role``: of that one only) whose home area is in their subtree
    (themselves included, shown but not changeable), ordered by area then username."""
    roles = [r for r in grantable_roles(person) if role is None or r == role]
    stmt = select(User).join(Area, User.area_id == Area.id)
    stmt = stmt.where(User.role.in_(roles), within(person, User.area_id))
    return stmt.order_by(Area.path, User.username)


def managed_user_or_404(username: str) -> User:
    """The user ``username`` if the current user may see them on the people pages (in
    ``users_in_scope``); else abort 404 with one message, so a user out of reach looks
    like no user."""
    from fieldapp.errors import fail

    user = db.session.scalar(users_in_scope(current_user).where(User.username == username))
    if user is None:
        fail(404, _("找不到用户 %(name)s，或您无权管理", name=username))
    return user


def may_set_up_phone(person: Person, user: User) -> bool:
    """True when ``person`` may connect phones to ``user``'s account (ODK Collect
    tokens, the phone app's QR code): their own, or a user they may manage
    (``may_manage_user``: a supervisor for the mediators of their subtree)."""
    if isinstance(person, User) and person.id == user.id:
        return True
    return may_manage_user(person, user)


def phone_user_or_404(username: str) -> User:
    """The user ``username`` if the current user may set up their phones
    (``may_set_up_phone``); else abort 404, so a user out of reach looks like none."""
    from fieldapp.errors import fail

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not may_set_up_phone(current_user, user):
        fail(404, _("找不到用户 %(name)s，或您无权管理", name=username))
    return user


def own_user_import_or_404(token: str) -> UserImport:
    """The pending user import ``token`` if the current user started it (only they hold
    the key to its one-time passwords); else abort 404."""
    from fieldapp.errors import fail

    imp = db.session.scalar(select(UserImport).where(UserImport.token == token))
    if imp is None or imp.actor_id != current_user.id:
        fail(404, _("找不到该导入：密码单只显示一次，已经显示过；或这不是您发起的导入"))
    return imp


# Endpoints a person whose password was set by someone else (a new user, a reset) may
# use before choosing their own: the change itself, logging out, the CSRF token the
# phone app's logout needs; besides these, only public pages (they show no data).
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "auth.csrf_token"})


def must_change_password_first(person, endpoint: str | None) -> bool:
    """True when ``person`` (``current_user``) must change their one-time password before
    ``endpoint`` may serve them: they are logged in (any way: session or token) with
    ``must_change_password`` set, and ``endpoint`` is neither one of
    ``PASSWORD_CHANGE_ENDPOINTS`` nor public. ``None`` (no route matched) is let through
    to its 404."""
    if endpoint is None or endpoint == "static" or endpoint in PASSWORD_CHANGE_ENDPOINTS:
        return False
    view = current_app.view_functions.get(endpoint)
    if getattr(view, "access_rule", None) == "public":
        return False  # asked before ``person``: no user is loaded for public pages
    if person is OPERATOR or not getattr(person, "is_authenticated", False):
        return False
    return bool(person.must_change_password)


# Endpoints a person whose role must sign in with a second factor
# (``TOTP_REQUIRED_ROLES``) may use before setting it up: the set-up pages, the password
# change (a one-time password comes first), logging out and the CSRF token.
TOTP_SETUP_ENDPOINTS = PASSWORD_CHANGE_ENDPOINTS | {
    "auth.two_factor",
    "auth.two_factor_confirm",
}


def totp_required(person: Person) -> bool:
    """True when ``person``'s role must sign in with a second factor: config
    ``TOTP_REQUIRED_ROLES``, comma-separated roles (meant for admin, supervisor,
    researcher; empty by default). The operator has no login."""
    if person is OPERATOR:
        return False
    text = str(current_app.config.get("TOTP_REQUIRED_ROLES") or "")
    return person.role in {r.strip() for r in text.split(",") if r.strip() in ROLES}


def must_set_up_totp_first(person, endpoint: str | None) -> bool:
    """True when ``person`` (``current_user``) must turn on two-factor sign-in before
    ``endpoint`` may serve them: logged in (any way) in a role of config
    ``TOTP_REQUIRED_ROLES`` without it, and ``endpoint`` is neither one of
    ``TOTP_SETUP_ENDPOINTS`` nor public (``must_change_password_first``'s shape)."""
    if endpoint is None or endpoint == "static" or endpoint in TOTP_SETUP_ENDPOINTS:
        return False
    view = current_app.view_functions.get(endpoint)
    if getattr(view, "access_rule", None) == "public":
        return False
    if person is OPERATOR or not getattr(person, "is_authenticated", False):
        return False
    return totp_required(person) and not person.totp_secret
