"""JSON endpoints. Auth: session or ``Authorization: Bearer``; scope as in the UI."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from fieldapp import clock
from fieldapp.api.openapi import openapi_document
from fieldapp.audit.services import record
from fieldapp.cases import api_rows
from fieldapp.cases.lists import served_lists
from fieldapp.cases.spec import spec_of
from fieldapp.dataset.identify import deidentifier
from fieldapp.dataset.wide import merge_questions
from fieldapp.errors import fail
from fieldapp.extensions import db
from fieldapp.reports.phone import reports_for
from fieldapp.scope import (
    can_fill,
    edit_days,
    forms_in_scope,
    forms_to_fill,
    logged_in,
    may_correct,
    may_identify,
    public,
    submissions_in_scope,
    visible_form_or_404,
)
from fieldapp.submissions.models import Submission
from fieldapp.submissions.services import count_scoped
from fieldapp.surveys.models import Form, FormVersion

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _local(moment: datetime) -> str:
    """ISO 8601 with its offset in config ``TIMEZONE`` (SQLite hands back UTC without a
    zone; PostgreSQL an aware time): the same instant the data table shows."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).isoformat()


MAX_PER_PAGE = 500
MAX_PAGE = 1_000_000  # beyond any real project; keeps the SQL offset a sane integer


def _paging() -> tuple[int, int]:
    """(page, per_page) from the query: page 1…``MAX_PAGE`` (default 1), per_page
    1…``MAX_PER_PAGE`` (default 100), as the OpenAPI document declares; anything else
    is refused with 400 and what is allowed (never silently clamped: a client must not
    read another page than the one it asked for)."""
    return (
        _whole("page", 1, 1, MAX_PAGE),
        _whole("per_page", 100, 1, MAX_PER_PAGE),
    )


def _whole(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        fail(
            400,
            _("参数 %(name)s 应为 %(low)s 到 %(high)s 之间的整数", name=name, low=low, high=high),
        )
    return value


def _form_json(form: Form, full: bool = False) -> dict:
    out = {
        "form_id": form.form_id,
        "title": form.title,
        "area_code": form.area.code,
        "version": form.current.version,
        "versions": [v.version for v in form.versions],
        "can_submit": can_fill(current_user, form),
        "xform_url": url_for(
            "openrosa.xform", form_id=form.form_id, version=form.current.version, _external=True
        ),
    }
    if full:
        out["schema"] = form.current.schema
    return out


@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())


@bp.get("/forms")
@logged_in
def forms():
    """Forms whose data the caller may see."""
    return jsonify(forms=[_form_json(f) for f in forms_in_scope(current_user)])


@bp.get("/forms/<form_id>")
@logged_in
def form(form_id: str):
    """One form with its current version's question schema."""
    return jsonify(_form_json(visible_form_or_404(form_id), full=True))


@bp.get("/forms/<form_id>/submissions")
@logged_in
def submissions(form_id: str):
    """A page of the form's submissions in the caller's scope, newest first."""
    f = visible_form_or_404(form_id)
    page, per_page = _paging()
    stmt = submissions_in_scope(current_user, f).limit(per_page).offset((page - 1) * per_page)
    stmt = stmt.options(
        selectinload(Submission.submitter),
        selectinload(Submission.area),
        selectinload(Submission.form_version),
    )
    whole = deidentifier(f, True, current_app.config["INSTANCE_PATH"])
    scrubbed = deidentifier(f, False, current_app.config["INSTANCE_PATH"])
    by_name = {q.q["name"]: q.q for q in merge_questions(v.schema for v in f.versions)}
    page_items = list(db.session.scalars(stmt))
    identified = [may_identify(current_user, s) for s in page_items]
    items = [
        {
            "instance_id": s.instance_id,
            "form_version": s.form_version.version,
            "submitted_by": s.submitter.username,
            "area_code": s.area.code,
            "received_at": _local(s.received_at),
            "deprecated_id": s.deprecated_id,
            "data": (whole if identifies else scrubbed).scrub(s.data, by_name),
            "attachments": [a.filename for a in s.attachments],
        }
        for s, identifies in zip(page_items, identified, strict=True)
    ]
    total = count_scoped(current_user, f)
    record(
        current_user.id,
        "api_submissions",
        f"form:{f.form_id}",
        page=page,
        rows=len(items),
        identifying=any(identified) or may_identify(current_user),
    )
    db.session.commit()
    nxt = (
        url_for(".submissions", form_id=form_id, page=page + 1, per_page=per_page, _external=True)
        if page * per_page < total
        else None
    )
    return jsonify(count=total, page=page, per_page=per_page, next=nxt, results=items)


@bp.get("/datasets/<name>/entities")
@logged_in
def entities(name: str):
    """A page of entity list ``name``'s entities (households) the caller may see
    (``scope.entities_in_scope``: a mediator's own, a viewer's subtree), oldest first,
    as ODK Central's ``/datasets/:name/entities`` with fieldapp's household columns.
    The label is null (``label_hidden``) where the caller may not identify the
    household. Audited (``api_households``)."""
    ds = api_rows.dataset_named(name)
    if ds is None:
        fail(404, _("没有名为 %(name)s 的实体列表", name=name))
    page, per_page = _paging()
    total, rows = api_rows.entity_page(current_user, ds, page, per_page)
    items = [api_rows.entity_json(current_user, e, _local) for e in rows]
    record(current_user.id, "api_households", f"dataset:{name}", page=page, rows=len(items))
    db.session.commit()
    nxt = (
        url_for(".entities", name=name, page=page + 1, per_page=per_page, _external=True)
        if page * per_page < total
        else None
    )
    return jsonify(count=total, page=page, per_page=per_page, next=nxt, results=items)


@bp.get("/datasets/<name>/entities/<uuid>")
@logged_in
def entity(name: str, uuid: str):
    """One entity the caller may see, with its whole history (``versions``); 404 for
    one out of scope, as for one that does not exist. Audited (``api_households``)."""
    ds = api_rows.dataset_named(name)
    found = api_rows.visible_entity(current_user, ds, uuid) if ds else None
    if found is None:
        fail(404, _("找不到该家庭，或它不在您的管辖范围内"))
    record(current_user.id, "api_households", f"entity:{uuid}")
    db.session.commit()
    out = api_rows.entity_json(current_user, found, _local)
    out["versions"] = api_rows.versions_json(current_user, found, _local)
    return jsonify(out)


def phone_form(fv: FormVersion) -> dict:
    """Form version ``fv`` as the phone app keeps it (``/me``'s ``forms``, a correction's
    ``form``): its XForm URL, and its media files and the caller's entity lists with
    their MD5, so the phone can tell what changed since its last sync."""
    form_id = fv.form.form_id

    def media_url(name: str) -> str:
        return url_for("openrosa.media", form_id=form_id, version=fv.version, filename=name)

    return {
        "form_id": form_id,
        "title": fv.title,
        "version": fv.version,
        "hash": f"md5:{fv.md5}",
        "xform_url": url_for("openrosa.xform", form_id=form_id, version=fv.version),
        "media": [
            {"filename": m.filename, "hash": f"md5:{m.md5}", "url": media_url(m.filename)}
            for m in fv.media
        ]
        + [
            {
                "filename": name,
                "hash": f"md5:{md5}",
                "url": media_url(name),
                "entity_list": ds.name,
            }
            for name, ds, md5 in served_lists(current_user, fv)
        ],
        "entities": spec_of(fv),
    }


@bp.get("/me")
@logged_in
def me():
    """Who the caller is and the forms they may fill in, for the offline phone app.

    Each form lists its current version's XForm URL and media files with their MD5, so the
    phone can tell what changed since its last sync; an entity list (``households.csv``)
    is one of them, marked ``entity_list`` (its dataset), with the caller's list's hash.
    ``entities`` is what the form declares about entities (``cases.spec.entity_spec``)
    or null: the phone applies its unsent creates and updates to its lists with it.
    ``reports`` are the periodic reports the caller's unit files, with the current and
    previous period and the unit's status in each (``fieldapp.reports.phone``): what the
    phone offers a zero report for. ``corrections`` says whether the caller corrects sent
    records (``allowed``) and for how many days after they were first sent (``days``,
    null for no limit; ``scope.edit_days``): the phone offers 修改 on its sent list by it.
    """
    forms = [phone_form(f.current) for f in forms_to_fill(current_user)]
    user = current_user
    return jsonify(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        area={"code": user.area.code, "name": user.area.name},
        forms=forms,
        reports=reports_for(user, clock.today()),
        corrections={"allowed": may_correct(user), "days": edit_days(user)},
        server_time=datetime.now(UTC).isoformat(timespec="seconds"),
    )


from fieldapp.api import corrections  # noqa: E402, F401  (its routes are on ``bp``)
