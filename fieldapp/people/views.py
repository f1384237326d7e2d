"""The people pages (``/admin/users``): list, create, edit, deactivate, reset passwords,
import from XLSX. Admins manage everyone in their subtree, supervisors the mediators of
theirs (``fieldapp.scope``); the work is done by ``people.services`` and
``people.importer``."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from fieldapp import scope
from fieldapp.areas.services import AreaError, area_choices, get_area
from fieldapp.auth.services import UserError
from fieldapp.auth.throttle import account_locked_until
from fieldapp.cases.queries import local_time
from fieldapp.extensions import db
from fieldapp.people import importer, services
from fieldapp.people.forms import ActionForm, FilterForm, ImportForm, UserForm, role_choices

bp = Blueprint("people", __name__, url_prefix="/admin/users")
managers_only = scope.roles_required(*scope.USER_MANAGERS)
PER_PAGE = 50
KEYS = "people_import_keys"  # session: import token → key of its one-time passwords


def _area_or_none(code: str | None):
    """The area ``code`` if it is in the current user's subtree, else ``None``."""
    if not code:
        return None
    try:
        area = get_area(code)
    except AreaError:
        return None
    return area if scope.area_in_scope(current_user, area) else None


@bp.get("/")
@managers_only
def index():
    """The users of my subtree that I may manage, filtered."""
    form = FilterForm(request.args)
    form.role.choices = [("", _("全部角色")), *role_choices(scope.grantable_roles(current_user))]
    form.area.choices = [("", _("全部区划")), *area_choices(current_user)]
    valid = form.validate()
    active = {"1": True, "0": False}.get(form.active.data or "") if valid else None
    stmt = services.find_users(
        current_user,
        role=form.role.data if valid else None,
        area=_area_or_none(form.area.data) if valid else None,
        active=active,
        text=form.q.data if valid else None,
    )
    total = services.count(stmt)
    page = min(max(request.args.get("page", 1, type=int), 1), max(1, -(-total // PER_PAGE)))
    users = db.session.scalars(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "people/index.html",
        form=form,
        users=users,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        args=args,
    )


def _user_form(user=None) -> UserForm:
    form = UserForm(obj=user)
    form.role.choices = role_choices(scope.grantable_roles(current_user))
    form.area.choices = area_choices(
        current_user, active_only=True, keep=user.area.code if user is not None else None
    )
    if user is not None and request.method == "GET":
        form.area.data = user.area.code
    return form


@bp.route("/new", methods=["GET", "POST"])
@managers_only
def create():
    """Create a user of a role and area within my reach; show their one-time password."""
    form = _user_form()
    if form.validate_on_submit():
        try:
            user, password = services.create_person(
                current_user,
                form.username.data,
                form.display_name.data,
                form.role.data,
                get_area(form.area.data),
                form.phone.data,
            )
        except (UserError, AreaError) as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_template("people/edit.html", form=form, user=None), 400
        db.session.commit()
        return render_template("people/password.html", user=user, password=password, new=True)
    status = 400 if form.errors else 200  # a POST that did not validate: its errors shown
    return render_template("people/edit.html", form=form, user=None), status


@bp.get("/user/<username>")
@managers_only
def detail(username: str):
    """One user: fields, state, actions."""
    user = scope.managed_user_or_404(username)
    locked_until = account_locked_until(user.username)
    return render_template(
        "people/detail.html",
        user=user,
        action=ActionForm(),
        may_manage=scope.may_manage_user(current_user, user),
        locked_until=local_time(locked_until) if locked_until else None,
    )


def _manageable(username: str):
    user = scope.managed_user_or_404(username)
    if not scope.may_manage_user(current_user, user):
        abort(403)  # oneself: the account page
    return user


@bp.route("/user/<username>/edit", methods=["GET", "POST"])
@managers_only
def edit(username: str):
    """Change a user's name, phone, role and area (within my reach)."""
    user = _manageable(username)
    form = _user_form(user)
    del form.username
    if form.validate_on_submit():
        try:
            changes = services.update_person(
                current_user,
                user,
                form.display_name.data,
                form.phone.data,
                form.role.data,
                get_area(form.area.data),
            )
        except (UserError, AreaError) as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_template("people/edit.html", form=form, user=user), 400
        db.session.commit()
        flash(_("已保存") if changes else _("没有改动"), "info")
        return redirect(url_for(".detail", username=user.username))
    status = 400 if form.errors else 200  # a POST that did not validate: its errors shown
    return render_template("people/edit.html", form=form, user=user), status


def _act(username: str, change, done: str):
    user = _manageable(username)
    if not ActionForm().validate_on_submit():
        abort(400)
    change(current_user, user)
    db.session.commit()
    flash(done, "info")
    return redirect(url_for(".detail", username=user.username))


@bp.post("/user/<username>/deactivate")
@managers_only
def deactivate(username: str):
    """Deactivate: login refused, logins and tokens ended at once, data kept."""
    return _act(username, services.deactivate, _("已停用：此账号不能再登录，已登录的设备已退出"))


@bp.post("/user/<username>/reactivate")
@managers_only
def reactivate(username: str):
    """Let a deactivated user log in again."""
    return _act(username, services.reactivate, _("已恢复：此账号可以再次登录"))


@bp.post("/user/<username>/unlock")
@managers_only
def unlock(username: str):
    """Lift the lock that failed logins put on the account (``fieldapp.auth.throttle``)."""
    return _act(username, services.unlock_login, _("已解除登录锁定：此人现在可以登录"))


@bp.post("/user/<username>/reset-two-factor")
@managers_only
def reset_two_factor(username: str):
    """Turn the user's two-factor sign-in off (a lost phone); they set it up again."""
    return _act(
        username,
        services.reset_two_factor,
        _("已重置两步验证：此人下次登录只需密码，再重新开启（其角色必须开启时会被要求开启）"),
    )


@bp.post("/user/<username>/reset-password")
@managers_only
def reset_password(username: str):
    """Give the user a one-time password, shown once on the answer page."""
    user = _manageable(username)
    if not ActionForm().validate_on_submit():
        abort(400)
    password = services.reset_password(current_user, user)
    db.session.commit()
    return render_template("people/password.html", user=user, password=password, new=False)


# -- bulk import ---------------------------------------------------------------------


@bp.get("/import/template.xlsx")
@managers_only
def import_template():
    """An empty XLSX with the columns the import reads (and one example row)."""
    return send_file(
        io.BytesIO(importer.template_xlsx(current_user)),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name="users-template.xlsx",
    )


@bp.route("/import", methods=["GET", "POST"])
@managers_only
def import_upload():
    """Upload an XLSX; show every row with its problems; stage it when all are good."""
    form = ImportForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("people/import.html", form=form, rows=None), status
    file = form.file.data
    try:
        rows = importer.check_rows(current_user, importer.read_xlsx(file.read()))
    except importer.ImportFileError as exc:
        return render_template("people/import.html", form=form, rows=None, error=str(exc)), 400
    bad = [r for r in rows if r.problems]
    imp = None
    if not bad:
        imp = importer.stage(current_user, file.filename or "users.xlsx", rows)
        db.session.commit()
    return render_template(
        "people/import.html", form=form, rows=rows, bad=bad, imp=imp, action=ActionForm()
    ), (400 if bad else 200)


def _key(token: str) -> str | None:
    return session.get(KEYS, {}).get(token)


def _forget(token: str) -> None:
    keys = dict(session.get(KEYS, {}))
    keys.pop(token, None)
    session[KEYS] = keys


@bp.post("/import/<token>/confirm")
@managers_only
def import_confirm(token: str):
    """Start creating the users of a staged import: its passwords' key goes into my
    session, and the hashing begins."""
    imp = scope.own_user_import_or_404(token)
    if not ActionForm().validate_on_submit():
        abort(400)
    if imp.confirmed_at is None:
        session[KEYS] = {**session.get(KEYS, {}), token: importer.confirm(imp)}
        db.session.commit()
    return redirect(url_for(".import_progress", token=token))


def _lost(imp):
    """The key is gone (logged out and in since): nothing was created; start again."""
    db.session.delete(imp)
    db.session.commit()
    flash(_("导入已中断（期间退出过登录），没有创建任何用户。请重新上传文件。"), "error")
    return redirect(url_for(".import_upload"))


@bp.get("/import/<token>")
@managers_only
def import_progress(token: str):
    """How far the import is; the page asks for the next step by itself."""
    imp = scope.own_user_import_or_404(token)
    if imp.finished_at is not None:
        return redirect(url_for(".import_sheet", token=token))
    if imp.confirmed_at is None or _key(token) is None:
        return _lost(imp)
    return render_template("people/import_progress.html", imp=imp, action=ActionForm())


@bp.post("/import/<token>/step")
@managers_only
def import_step(token: str):
    """Hash the next passwords for a few seconds; when all are hashed, create the users
    (all or none) and go to the sheet."""
    imp = scope.own_user_import_or_404(token)
    key = _key(token)
    if not ActionForm().validate_on_submit():
        abort(400)
    if imp.finished_at is not None:
        return redirect(url_for(".import_sheet", token=token))
    if key is None:
        return _lost(imp)
    importer.hash_some(imp, key)
    if imp.hashed < len(imp.rows):
        db.session.commit()
        return redirect(url_for(".import_progress", token=token))
    try:
        importer.finish(current_user, imp)
    except importer.ImportRowsError as exc:
        db.session.rollback()
        db.session.delete(imp)
        _forget(token)
        db.session.commit()
        bad = [r for r in exc.rows if r.problems]
        form = ImportForm()
        return render_template(
            "people/import.html", form=form, rows=exc.rows, bad=bad, imp=None, changed=True
        ), 409
    db.session.commit()
    return redirect(url_for(".import_sheet", token=token))


@bp.get("/import/<token>/sheet")
@managers_only
def import_sheet(token: str):
    """The printable sheet of the new users' one-time passwords, shown once: the key
    leaves the session and the staged rows are deleted."""
    imp = scope.own_user_import_or_404(token)
    key = _key(token)
    if imp.finished_at is None:
        return redirect(url_for(".import_progress", token=token))
    if key is None:
        abort(404)
    lines = importer.sheet(imp, key)
    areas = services.area_names([row["area_code"] for row, _pw in lines])
    filename, created = imp.filename, imp.finished_at
    _forget(token)
    db.session.delete(imp)
    db.session.commit()
    return render_template(
        "people/import_sheet.html", lines=lines, areas=areas, filename=filename, created=created
    )
