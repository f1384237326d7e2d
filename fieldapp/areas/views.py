"""The area pages (/admin/areas): the tree one level at a time, search, changes, import.

Thin: every rule is asked of ``fieldapp.scope``, every change is a service of
``fieldapp.areas.services`` or ``importer`` (the CLI calls the same)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp import scope
from fieldapp.areas import services, tree, uploads
from fieldapp.areas.areafile import MAX_BYTES, AreaFileError
from fieldapp.areas.forms import (
    AddForm,
    ConfirmForm,
    ImportConfirmForm,
    ImportForm,
    MoveForm,
    NameForm,
)
from fieldapp.areas.importer import confirm_import, import_areas
from fieldapp.areas.models import LEVELS
from fieldapp.areas.services import AreaError, AreaForbidden
from fieldapp.extensions import db

bp = Blueprint("areas", __name__, url_prefix="/admin/areas")


@bp.context_processor
def _helpers() -> dict:
    return {"level_label": services.level_label}


def _child_level(area) -> str | None:
    index = LEVELS.index(area.level)
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


def _page(area, status: int = 200, error: str | None = None, **forms):
    """The page of ``area``: the way up, its counts, what may be done, its children."""
    counts = tree.counts(current_user)
    targets = (
        tree.move_targets(current_user, area)
        if scope.may_restructure_area(current_user, area)
        else []
    )
    move = forms.get("move") or MoveForm()
    above = tree.where_is(current_user, targets)  # "…东城区 › 新华街道" → its last name
    move.parent.choices = [
        (t.code, " › ".join(n for n in (above[t.code].rpartition(" › ")[2], t.name) if n))
        for t in targets
    ]
    if request.method == "GET" or "move" not in forms:
        move.parent.data = area.parent.code if area.parent else None
    level = _child_level(area)
    children = tree.children(current_user, area)
    return (
        render_template(
            "areas/tree.html",
            area=area,
            trail=tree.trail(current_user, area),
            children=children,
            next_code=tree.next_code(area, children),
            counts=counts,
            child_level=level,
            may_add=level is not None and scope.may_add_area(current_user, area, level),
            empty=counts.children[area.code] == 0 and services.references(area) == 0,
            add=forms.get("add") or AddForm(),
            rename=forms.get("rename") or NameForm(name=area.name),
            move=move,
            confirm=ConfirmForm(),
            error=error,
        ),
        status,
    )


def _refused(area, exc: AreaError, **forms):
    """A change refused by a service: its message on the page (403 when not allowed)."""
    db.session.rollback()
    return _page(area, 403 if isinstance(exc, AreaForbidden) else 400, str(exc), **forms)


@bp.get("/")
@scope.roles_required(*scope.AREA_EDITORS)
def index():
    """The tree from the user's home area down."""
    return _page(current_user.area)


@bp.get("/tree/<code>")
@scope.roles_required(*scope.AREA_EDITORS)
def node(code: str):
    """One area: the way up, its counts and actions, its children."""
    return _page(scope.visible_area_or_404(code))


@bp.get("/search")
@scope.roles_required(*scope.AREA_EDITORS)
def search():
    """Areas of the user's subtree by name or code."""
    query = request.args.get("q", "")
    found, more = tree.search(current_user, query)
    return render_template(
        "areas/search.html",
        query=query,
        found=found,
        more=more,
        wheres=tree.where_is(current_user, found),
        counts=tree.counts(current_user),
    )


@bp.post("/tree/<code>/add")
@scope.roles_required(*scope.AREA_EDITORS)
def add(code: str):
    """Add an area under this one."""
    area = scope.visible_area_or_404(code)
    form = AddForm()
    if not form.validate_on_submit():
        return _page(area, 400, _("请填写代码和名称"), add=form)
    try:
        child = services.add_area(current_user, area, form.code.data, form.name.data)
    except AreaError as exc:
        return _refused(area, exc, add=form)
    db.session.commit()
    flash(_("已新增 %(name)s（%(code)s）", name=child.name, code=child.code), "info")
    return redirect(url_for("areas.node", code=area.code))


@bp.post("/tree/<code>/rename")
@scope.roles_required(*scope.AREA_EDITORS)
def rename(code: str):
    """Give this area a new name."""
    area = scope.visible_area_or_404(code)
    form = NameForm()
    if not form.validate_on_submit():
        return _page(area, 400, _("请填写新名称（最多 100 个字）"), rename=form)
    try:
        changed = services.rename_area(current_user, area, form.name.data)
    except AreaError as exc:
        return _refused(area, exc, rename=form)
    db.session.commit()
    if changed:
        flash(_("已改名为 %(name)s", name=area.name), "info")
    return redirect(url_for("areas.node", code=area.code))


@bp.post("/tree/<code>/move")
@scope.roles_required(*scope.AREA_MANAGERS)
def move(code: str):
    """Move this area, with everything below it, under another parent."""
    area = scope.visible_area_or_404(code)
    form = MoveForm()
    form.parent.choices = [(t.code, t.name) for t in tree.move_targets(current_user, area)]
    if not form.validate_on_submit():
        return _page(area, 400, _("请从列表中选择新的上级"), move=form)
    try:
        moved = services.move_area(current_user, area, scope.visible_area_or_404(form.parent.data))
    except AreaError as exc:
        return _refused(area, exc, move=form)
    db.session.commit()
    if moved:
        flash(
            _(
                "已把 %(name)s 移到 %(to)s（共 %(n)s 个区划）",
                name=area.name,
                to=area.parent.name,
                n=moved,
            ),
            "info",
        )
    return redirect(url_for("areas.node", code=area.code))


@bp.post("/tree/<code>/deactivate")
@scope.roles_required(*scope.AREA_MANAGERS)
def deactivate(code: str):
    """Deactivate this area and everything below it (data and users stay)."""
    return _set_active(code, False)


@bp.post("/tree/<code>/reactivate")
@scope.roles_required(*scope.AREA_MANAGERS)
def reactivate(code: str):
    """Reactivate this area and everything below it."""
    return _set_active(code, True)


def _set_active(code: str, active: bool):
    area = scope.visible_area_or_404(code)
    if not ConfirmForm().validate_on_submit():
        return _page(area, 400, _("页面已过期，请重试"))
    try:
        n = services.set_active(current_user, area, active)
    except AreaError as exc:
        return _refused(area, exc)
    db.session.commit()
    if active:
        flash(_("已恢复 %(name)s（共 %(n)s 个区划）", name=area.name, n=n), "info")
    else:
        flash(_("已停用 %(name)s（共 %(n)s 个区划）", name=area.name, n=n), "info")
    return redirect(url_for("areas.node", code=area.code))


@bp.post("/tree/<code>/delete")
@scope.roles_required(*scope.AREA_MANAGERS)
def delete(code: str):
    """Delete this area if it is an empty leaf."""
    area = scope.visible_area_or_404(code)
    if not ConfirmForm().validate_on_submit():
        return _page(area, 400, _("页面已过期，请重试"))
    parent, name = area.parent, area.name
    try:
        services.delete_area(current_user, area)
    except AreaError as exc:
        return _refused(area, exc)
    db.session.commit()
    flash(_("已删除 %(name)s", name=name), "info")
    return redirect(url_for("areas.node", code=parent.code) if parent else url_for("areas.index"))


@bp.route("/import", methods=["GET", "POST"])
@scope.roles_required(*scope.AREA_MANAGERS)
def import_file():
    """Upload an area file: check it and show what it would change (nothing saved)."""
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("areas/import.html", form=form), 400 if form.errors else 200
    upload = form.file.data
    data, name = upload.read(), upload.filename or "areas.csv"
    try:
        plan = import_areas(
            current_user,
            data,
            name,
            dry_run=True,
            max_bytes=current_app.config.get("MAX_AREA_FILE_BYTES", MAX_BYTES),
        )
    except AreaFileError as exc:
        return render_template("areas/import.html", form=form, problems=exc.problems), 400
    token = uploads.keep(current_user.id, data, name)
    confirm = ImportConfirmForm(token=token, digest=plan.digest())
    return render_template(
        "areas/import.html", form=form, plan=plan, confirm=confirm, filename=name
    )


@bp.post("/import/confirm")
@scope.roles_required(*scope.AREA_MANAGERS)
def import_confirm():
    """Apply the previewed import, unless the tree changed since (then preview again)."""
    form = ImportConfirmForm()
    kept = (
        uploads.load(current_user.id, form.token.data or "") if form.validate_on_submit() else None
    )
    if kept is None:
        flash(_("预览已过期，请重新选择文件"), "error")
        return redirect(url_for("areas.import_file"))
    data, name = kept
    try:
        plan, applied = confirm_import(current_user, data, name, form.digest.data)
    except AreaFileError as exc:
        db.session.rollback()
        return render_template("areas/import.html", form=ImportForm(), problems=exc.problems), 400
    if not applied:
        confirm = ImportConfirmForm(token=form.token.data, digest=plan.digest())
        flash(_("区划在预览之后有了变化，下面是新的预览，请再次确认"), "warning")
        return render_template(
            "areas/import.html", form=ImportForm(), plan=plan, confirm=confirm, filename=name
        ), 409
    db.session.commit()
    uploads.discard(current_user.id, form.token.data)
    flash(_("已导入 %(file)s：%(summary)s", file=name, summary=plan.summary()), "info")
    return redirect(url_for("areas.index"))
