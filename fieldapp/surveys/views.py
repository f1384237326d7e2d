"""Questionnaire pages: the list a user can fill, the fill page, and publishing."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp.areas.services import area_choices, get_area
from fieldapp.extensions import db
from fieldapp.scope import (
    PUBLISHERS,
    forms_to_fill,
    is_viewer,
    logged_in,
    roles_required,
    visible_form_or_404,
)
from fieldapp.submissions.services import count_scoped
from fieldapp.surveys.forms import UploadForm
from fieldapp.surveys.services import XLSFormError, import_xlsform

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
    form.area.choices = area_choices(current_user)
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
            )
        except XLSFormError as exc:
            db.session.rollback()
            return render_template("surveys/upload.html", form=form, error=str(exc)), 400
        db.session.commit()
        fv = result.form_version
        if result.created:
            flash(_("已发布问卷 %(title)s（版本 %(v)s）", title=fv.title, v=fv.version), "info")
        else:
            flash(
                _(
                    "问卷 %(title)s 版本 %(v)s 已存在，内容相同，未作更改",
                    title=fv.title,
                    v=fv.version,
                ),
                "info",
            )
        for w in result.warnings:
            flash(w, "warning")
        return redirect(url_for("surveys.index"))
    status = 400 if form.errors else 200
    return render_template("surveys/upload.html", form=form, error=None), status
