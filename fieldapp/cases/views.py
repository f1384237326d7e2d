"""The household pages (``/cases/``): the list with its figures, one household with its
whole history, and the case managers' actions (reassign, close, reopen, resolve a
conflict). Who sees which household is ``scope.entities_in_scope``; who may act,
``scope.may_manage_case``; the changes themselves are ``fieldapp.cases.services``."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp import clock, scope
from fieldapp.audit.services import record
from fieldapp.cases import detail as pages
from fieldapp.cases import households as hh
from fieldapp.cases import queries, services
from fieldapp.cases.filters import ALL, NONE, CaseFilter
from fieldapp.cases.forms import AssignForm, CloseForm, ReopenForm, ResolveForm
from fieldapp.cases.process import op_message
from fieldapp.cases.services import CaseError
from fieldapp.extensions import db

bp = Blueprint("cases", __name__, url_prefix="/cases")
managers_only = scope.roles_required(*scope.CASE_MANAGERS)
MAX_PAGE = 1_000_000


def _risk_names() -> dict:
    """Risk key (``none`` and None too: not assessed) → its name, translated once."""
    names: dict = {k: str(v) for k, v in hh.RISK_LEVELS.items()}
    names[NONE] = names[None] = _("未评估")
    return names


@bp.get("/")
@scope.logged_in
def index():
    """The households I may see (a mediator: mine), their figures, filtered and paged."""
    day = clock.today()
    viewer = scope.is_viewer(current_user)
    people = {u.username: u for u in queries.assignees(current_user)} if viewer else {}
    flt = CaseFilter.from_args(request.args, partial(queries.area_named, current_user), people)
    page = min(request.args.get("page", 1, type=int), MAX_PAGE)
    rows, total, page, pages_ = queries.household_page(current_user, flt, page, day)
    return render_template(
        "cases/index.html",
        summary=queries.summary(current_user, day),
        rows=rows,
        total=total,
        page=page,
        pages=pages_,
        flt=flt,
        args=flt.args(),
        areas=queries.filter_areas(current_user) if viewer else [],
        people=list(people.values()),
        viewer=viewer,
        today=day,
        label=partial(queries.display_label, current_user),
        hh=hh,
        risk_names=_risk_names(),
        status_names={k: str(v) for k, v in hh.STATUSES.items()},
        risk_keys=queries.RISK_KEYS,
        ALL=ALL,
        NONE=NONE,
    )


@bp.get("/<uuid>")
@scope.logged_in
def detail(uuid: str):
    """One household: its state, members, referrals, whole history and held or refused
    visits; the actions for case managers. An audited read."""
    entity = scope.visible_entity_or_404(uuid)
    # Recorded first: the commit expires what the session holds, and the history read
    # after it stays loaded (its query count does not grow with its length).
    record(current_user.id, "view_household", f"entity:{entity.uuid}")
    db.session.commit()
    versions = services.history(entity)
    manage = scope.may_manage_case(current_user, entity)
    conflict = None
    if manage and entity.conflict:
        conflict = pages.conflict(current_user, entity, versions, services.conflict_details(entity))
    assign = AssignForm()
    if manage:
        people = queries.assignable(current_user, entity)
        if entity.assigned_to is not None and entity.assigned_to not in people:
            people.insert(0, entity.assigned_to)  # shown as chosen, not offered to others
        assign.user.choices = [("", _("暂不分配（无人跟进）"))] + [
            (u.username, f"{u.display_name}{_('（')}{u.area.name}{_('）')}") for u in people
        ]
        assign.user.data = entity.assigned_to.username if entity.assigned_to else ""
    return render_template(
        "cases/detail.html",
        entity=entity,
        label=queries.display_label(current_user, entity),
        identifying=scope.may_identify_entity(current_user, entity),
        properties=pages.shown_properties(current_user, entity, entity.data or {}),
        referrals=pages.referrals(versions),
        members=pages.members(current_user, entity, versions),
        versions=list(reversed(versions)),
        pending=services.pending_ops(entity),
        conflict=conflict,
        manage=manage,
        assign=assign,
        close=CloseForm(),
        reopen=ReopenForm(),
        resolve=ResolveForm(),
        today=clock.today(),
        local=queries.local_time,
        hh=hh,
        kind_label=pages.kind_label,
        op_message=op_message,
        shown=partial(pages.shown_properties, current_user, entity),
    )


def _act(uuid: str, form_class, change, done: str):
    """Run ``change(entity, form)`` for a case manager on a valid POST (CSRF); a
    ``CaseError`` is flashed and changes nothing. Back to the household's page."""
    entity = scope.visible_entity_or_404(uuid)
    if not scope.may_manage_case(current_user, entity):
        abort(403)
    form = form_class()
    if not form.validate_on_submit():
        abort(400)
    try:
        change(entity, form)
    except CaseError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(done, "info")
    # To the top, where the message is: at 360 px the actions sit a screen below it.
    return redirect(url_for(".detail", uuid=uuid))


@bp.post("/<uuid>/assign")
@managers_only
def assign(uuid: str):
    """Give the household to another person (or nobody): it moves between their
    phones' lists on the next sync."""

    def change(entity, form):
        username = (form.user.data or "").strip()
        user = queries.user_named(username) if username else None
        if username and user is None:
            raise CaseError(_("找不到用户 %(name)s", name=username[:64]))
        if services.assign(current_user, entity, user) is None:
            raise CaseError(_("没有改动：所选的就是现在的负责人（或本来就无人负责）"))

    return _act(uuid, AssignForm, change, _("已重新分配：双方手机下次同步时更新"))


@bp.post("/<uuid>/close")
@managers_only
def close(uuid: str):
    """Close the case with a reason (required)."""
    return _act(
        uuid,
        CloseForm,
        lambda entity, form: services.close(current_user, entity, form.reason.data),
        _("已结案：这户家庭不再出现在手机的家庭列表中"),
    )


@bp.post("/<uuid>/reopen")
@managers_only
def reopen(uuid: str):
    """Reopen a closed case (status 跟进中)."""
    return _act(
        uuid,
        ReopenForm,
        lambda entity, form: services.reopen(current_user, entity, form.note.data),
        _("已重新打开：这户家庭回到跟进中"),
    )


@bp.post("/<uuid>/resolve")
@managers_only
def resolve(uuid: str):
    """Resolve the conflict: keep the value chosen for each conflicting property."""

    def change(entity, form):
        found = pages.conflict(
            current_user, entity, services.history(entity), services.conflict_details(entity)
        )
        values = {}
        for prop, choices in (found.choices if found else {}).items():
            value = request.form.get(f"keep-{prop}")
            if value is None:
                continue
            if value not in choices:
                raise CaseError(_("“%(p)s”的取值无效，请重新选择", p=hh.property_label(prop)))
            values[prop] = value
        services.resolve(current_user, entity, values, form.note.data)

    return _act(uuid, ResolveForm, change, _("冲突已处理"))
