"""Questionnaire pages: the list a user can fill, the fill page, publishing, and the
forms a publisher manages (list, a form's page, state changes, media)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp.areas.services import area_choices, get_area
from fieldapp.extensions import db
from fieldapp.scope import (
    PUBLISHERS,
    forms_to_fill,
    forms_to_manage,
    is_viewer,
    logged_in,
    managed_form_or_404,
    roles_required,
    visible_form_or_404,
)
from fieldapp.submissions.services import count_scoped
from fieldapp.surveys.drafts import test_links
from fieldapp.surveys.forms import MediaForm, StateForm, UploadForm
from fieldapp.surveys.lifecycle import (
    STATE_LABELS,
    TRANSITIONS,
    FormStateError,
    add_media,
    set_state,
    test_submission_count,
    version_counts,
)
from fieldapp.surveys.media import media_entries, missing_media
from fieldapp.surveys.models import ARCHIVED, DRAFT, OPEN, Form
from fieldapp.surveys.services import XLSFormError, import_xlsform, missing_media_warning

bp = Blueprint("surveys", __name__)


@bp.get("/")
@logged_in
def index():
    """Home: mediators go to the offline app; others see the questionnaires of their area."""
    if not is_viewer(current_user) and "online" not in request.args:
        return redirect(url_for("pwa.shell"))
    forms = forms_to_fill(current_user)
    counts = {f.id: count_scoped(current_user, f) for f in forms}
    sent = next((f for f in forms if f.form_id == request.args.get("sent")), None)
    return render_template("surveys/index.html", forms=forms, counts=counts, sent=sent)


@bp.get("/surveys/<form_id>/fill")
@logged_in
def fill(form_id: str):
    """The fill page of a form's current version."""
    form = visible_form_or_404(form_id, fill=True)
    version = form.current
    return render_template(
        "surveys/fill.html",
        form=form,
        version=version,
        xform_url=url_for("openrosa.xform", form_id=form.form_id, version=version.version),
        media_base=url_for(
            "openrosa.media", form_id=form.form_id, version=version.version, filename="x"
        )[:-1],
        submit_url=url_for("openrosa.submission"),
        done_url=url_for("surveys.index"),
    )


@bp.route("/surveys/upload", methods=["GET", "POST"])
@roles_required(*PUBLISHERS)
def upload():
    """Publish an XLSForm (admin, researcher) to an area within the uploader's scope."""
    form = UploadForm()
    form.area.choices = area_choices(current_user, active_only=True)
    if form.validate_on_submit():
        area = get_area(form.area.data)
        file = form.xlsform.data
        media = [(m.filename, m.read()) for m in form.media.data or [] if m and m.filename]
        try:
            result = import_xlsform(
                file.read(),
                file.filename or "form.xlsx",
                area,
                current_user,
                media,
                max_bytes=current_app.config["MAX_XLSFORM_BYTES"],
                draft=form.draft.data,
            )
        except XLSFormError as exc:
            db.session.rollback()
            return render_template("surveys/upload.html", form=form, error=str(exc)), 400
        db.session.commit()
        fv = result.form_version
        if not result.created:
            msg = _(
                "问卷 %(title)s 版本 %(v)s 已存在，内容相同，未发布新版本",
                title=fv.title,
                v=fv.version,
            )
        elif fv.form.state == DRAFT:
            msg = _(
                "已存为草稿：%(title)s（版本 %(v)s）。请用下方的测试链接在手机上试填，再点“发布”。",
                title=fv.title,
                v=fv.version,
            )
        else:
            msg = _("已发布问卷 %(title)s（版本 %(v)s）", title=fv.title, v=fv.version)
        flash(msg, "info")
        for w in result.warnings:
            flash(w, "warning")
        if result.missing_media:
            flash(missing_media_warning(result.missing_media), "warning")
        return redirect(url_for("surveys.detail", form_id=fv.form.form_id))
    status = 400 if form.errors else 200
    return render_template("surveys/upload.html", form=form, error=None), status


@bp.get("/surveys/")
@roles_required(*PUBLISHERS)
def manage():
    """The forms the user may manage, with their state; archived ones on request."""
    forms = forms_to_manage(current_user)
    show_archived = request.args.get("archived") == "1"
    archived = sum(1 for f in forms if f.state == ARCHIVED)
    shown = forms if show_archived else [f for f in forms if f.state != ARCHIVED]
    return render_template(
        "surveys/manage.html",
        forms=shown,
        missing={f.id: len(missing_media(f.current)) for f in shown},
        show_archived=show_archived,
        archived=archived,
    )


@bp.get("/surveys/<form_id>")
@roles_required(*PUBLISHERS)
def detail(form_id: str):
    """A form's page: state and its moves, test links of a draft, media, versions."""
    return _detail(managed_form_or_404(form_id))


@bp.post("/surveys/<form_id>/state")
@roles_required(*PUBLISHERS)
def change_state(form_id: str):
    """Move a form to another state (publish a draft, close, reopen, archive, restore)."""
    form = managed_form_or_404(form_id)
    sf = StateForm()
    if not sf.validate_on_submit():
        return _detail(form, error=_("请求无效，请刷新页面后重试")), 400
    try:
        change = set_state(form, sf.state.data, current_user)
    except FormStateError as exc:
        db.session.rollback()
        return _detail(form, error=str(exc)), 400
    db.session.commit()
    if change.before == DRAFT and change.after == OPEN and not change.discarded:
        flash(_("已发布：问卷已提供给填写，测试链接已失效"), "info")
    elif change.before == DRAFT and change.after == OPEN:
        flash(
            _(
                "已发布：问卷已提供给填写；删除了 %(n)s 份测试提交，测试链接已失效",
                n=change.discarded,
            ),
            "info",
        )
    else:
        flash(_("问卷状态已改为“%(s)s”", s=STATE_LABELS[change.after]), "info")
    return redirect(url_for("surveys.detail", form_id=form.form_id))


@bp.post("/surveys/<form_id>/media")
@roles_required(*PUBLISHERS)
def upload_media(form_id: str):
    """Add missing media to (or replace media of) the current version, same version."""
    form = managed_form_or_404(form_id)
    mf = MediaForm()
    if not mf.validate_on_submit():
        return _detail(form, media_form=mf, error=_("请求无效，请刷新页面后重试")), 400
    files = [(f.filename, f.read()) for f in mf.files.data or [] if f and f.filename]
    try:
        change = add_media(form, files, current_user)
    except FormStateError as exc:
        db.session.rollback()
        return _detail(form, media_form=mf, error=str(exc)), 400
    db.session.commit()
    if change.added or change.replaced:
        flash(
            _(
                "附件已存入版本 %(v)s（新增 %(a)s 个，替换 %(r)s 个）；手机下次更新问卷时会下载",
                v=change.version,
                a=len(change.added),
                r=len(change.replaced),
            ),
            "info",
        )
    else:
        flash(_("附件与已有文件相同，未作更改"), "info")
    still = missing_media(form.current)
    if still:
        flash(missing_media_warning(still), "warning")
    return redirect(url_for("surveys.detail", form_id=form.form_id))


def _local(value: datetime | None) -> str:
    """A stored time as text in the configured time zone (SQLite gives naive UTC)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y-%m-%d %H:%M")


def _detail(form: Form, media_form: MediaForm | None = None, error: str | None = None):
    """Render a form's page (also after a refused change, with ``error``)."""
    links = None
    if form.state == DRAFT and form.draft_token:
        links = test_links(form.draft_token, request.url_root, form.title)
    return render_template(
        "surveys/detail.html",
        form=form,
        current=form.current,
        versions=list(reversed(form.versions)),
        counts=version_counts(current_user, form),
        local=_local,
        media=media_entries(form.current),
        missing=missing_media(form.current),
        tests=test_submission_count(form) if form.state == DRAFT else 0,
        moves=TRANSITIONS[form.state],
        links=links,
        state_form=StateForm(),
        media_form=media_form or MediaForm(),
        error=error,
    )
