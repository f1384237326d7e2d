"""Area tree operations shared by the CLI, the demo loader and the views.

``create_area`` and ``get_area`` are the plain building blocks (demo loader, tests, user
and form commands); the changes a person makes (``add_area``, ``rename_area``,
``move_area``, ``set_active``, ``delete_area``) ask ``fieldapp.scope`` who may, and write
the audit log. Codes are checked and normalised by ``fieldapp.areas.codes``.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from fieldapp import scope
from fieldapp.areas.codes import CODE, CodeError, implied_level, normalise, parent_problem
from fieldapp.areas.models import LEVEL_LABELS, LEVELS, Area
from fieldapp.audit.services import record
from fieldapp.extensions import db

MAX_NAME = 100


class AreaError(ValueError):
    """An area cannot be created, found or changed as asked (message in the UI language)."""


class AreaForbidden(AreaError):
    """The person may not make this change (``fieldapp.scope`` says no)."""


def level_label(level: str) -> str:
    """The level's name in the UI language (``town`` → 镇/街道)."""
    return _(LEVEL_LABELS.get(level, level))


def get_area(code: str) -> Area:
    """Return the area with ``code`` (short or 12-digit form); raise ``AreaError`` when
    there is none."""
    try:
        key = normalise(code)
    except CodeError:
        key = (code or "").strip()
    area = db.session.scalar(select(Area).where(Area.code == key))
    if area is None:
        raise AreaError(_("没有代码为 %(code)s 的区划", code=code))
    return area


def clean_name(name: str | None) -> str:
    """``name`` stripped, inner runs of white space made one; raise ``AreaError`` when
    it is empty or longer than ``MAX_NAME`` characters."""
    text = " ".join((name or "").split())
    if not text:
        raise AreaError(_("名称为空"))
    if len(text) > MAX_NAME:
        raise AreaError(_("名称太长（最多 %(n)s 个字符）", n=MAX_NAME))
    return text


def child_level(parent: Area | None, code: str) -> str:
    """The level of a new area ``code`` under ``parent``: one below the parent's (the
    root is a city). A statistical code's own level must agree (``codes``). Raises
    ``AreaError`` under a village or on a disagreeing code."""
    if parent is None:
        level = "city"
    elif parent.level == LEVELS[-1]:
        raise AreaError(_("%(level)s之下不能再有下级区划", level=level_label(parent.level)))
    else:
        level = LEVELS[LEVELS.index(parent.level) + 1]
    implied = implied_level(code)
    if implied is not None and implied != level:
        raise AreaError(
            _(
                "级别不对：%(code)s 是%(implied)s代码，应放在%(wanted)s之下，不能放在%(level)s之下",
                code=code,
                implied=level_label(implied),
                wanted=level_label(LEVELS[LEVELS.index(implied) - 1])
                if implied != "city"
                else _("（顶级）"),
                level=level_label(parent.level) if parent else _("（顶级）"),
            )
        )
    return level


def create_area(code: str, name: str, level: str, parent: Area | None = None) -> Area:
    """Add an area below ``parent`` (``None`` for the root) and flush it; no audit, no
    scope: the building block of the demo loader, the importer and ``add_area``.

    ``level`` is one of ``LEVELS`` and must be one step below the parent's level; the
    code is taken as given (letters, digits, ``-``; see ``codes.normalise`` for what
    people type). Raises ``AreaError`` for an unknown level, a wrong nesting, a code of
    other characters or a duplicate code.
    """
    if not CODE.fullmatch(code or ""):
        raise AreaError(_("代码 %(code)s 只能由字母、数字和连字符组成，最多 32 个字符", code=code))
    if level not in LEVELS:
        raise AreaError(_("未知的区划级别：%(level)s", level=level))
    if parent is not None and LEVELS.index(level) != LEVELS.index(parent.level) + 1:
        raise AreaError(
            _(
                "%(name)s 的级别 %(level)s 不能放在 %(parent)s（%(plevel)s）之下",
                name=name,
                level=level,
                parent=parent.name,
                plevel=parent.level,
            )
        )
    if db.session.scalar(select(Area.id).where(Area.code == code)) is not None:
        raise AreaError(_("区划代码 %(code)s 已存在", code=code))
    path = (parent.path if parent else "/") + code + "/"
    area = Area(code=code, name=clean_name(name), level=level, parent=parent, path=path)
    db.session.add(area)
    db.session.flush()
    return area


def audit(person: scope.Person, action: str, area: Area | str, **detail) -> None:
    """Write an area change to the audit log (the command line as ``via="cli"``)."""
    if person is scope.OPERATOR:
        detail["via"] = "cli"
    obj = area if isinstance(area, str) else f"area:{area.code}"
    record(person.id, action, obj, **detail)


def add_area(person: scope.Person, parent: Area | None, code: str, name: str) -> Area:
    """Add ``code``/``name`` under ``parent`` for ``person`` (``scope.may_add_area``);
    the parent must be active. Audited ``area_create``. Raises ``AreaForbidden`` or
    ``AreaError`` (bad code or name, wrong level, duplicate code)."""
    try:
        code = normalise(code)
    except CodeError as exc:
        raise AreaError(str(exc)) from exc
    level = child_level(parent, code)
    if problem := parent_problem(code, parent.code if parent else None):
        raise AreaError(problem)
    if not scope.may_add_area(person, parent, level):
        raise AreaForbidden(_("您无权在这里新增%(level)s", level=level_label(level)))
    if parent is not None and not parent.active:
        raise AreaError(_("%(name)s 已停用，不能在其下新增区划", name=parent.name))
    area = create_area(code, name, level, parent)
    audit(person, "area_create", area, name=area.name, parent=parent.code if parent else None)
    return area


def rename_area(person: scope.Person, area: Area, name: str) -> bool:
    """Give ``area`` a new name (``scope.may_rename_area``); audited ``area_rename``.
    Returns False when the name is unchanged. Raises ``AreaForbidden``, ``AreaError``."""
    if not scope.may_rename_area(person, area):
        raise AreaForbidden(_("您无权修改 %(name)s 的名称", name=area.name))
    new = clean_name(name)
    if new == area.name:
        return False
    old, area.name = area.name, new
    db.session.flush()
    audit(person, "area_rename", area, old=old, new=new)
    return True


def subtree(area: Area) -> list[Area]:
    """``area`` and every area below it, in tree order."""
    return list(
        db.session.scalars(select(Area).where(scope.within(area, Area.id)).order_by(Area.path))
    )


def move_area(person: scope.Person, area: Area, new_parent: Area) -> int:
    """Put ``area`` (with its whole subtree) under ``new_parent``, one level above it
    (``scope.may_move_area``); every path below is rewritten. Audited ``area_move``.
    Returns how many areas changed path (0: already there). Raises ``AreaForbidden``,
    ``AreaError`` (wrong level, inactive target, into its own subtree)."""
    if not scope.may_move_area(person, area, new_parent):
        raise AreaForbidden(_("您无权把 %(name)s 移到 %(to)s", name=area.name, to=new_parent.name))
    if area.parent_id == new_parent.id:
        return 0
    if LEVELS.index(new_parent.level) != LEVELS.index(area.level) - 1:
        raise AreaError(
            _(
                "%(name)s 是%(level)s，只能移到%(wanted)s之下",
                name=area.name,
                level=level_label(area.level),
                wanted=level_label(LEVELS[LEVELS.index(area.level) - 1]),
            )
        )
    if not new_parent.active:
        raise AreaError(_("%(name)s 已停用，不能移入", name=new_parent.name))
    old_parent, old_path = area.parent, area.path
    new_path = new_parent.path + area.code + "/"
    moved = subtree(area)
    for a in moved:
        a.path = new_path + a.path[len(old_path) :]
    area.parent = new_parent
    db.session.flush()
    audit(
        person,
        "area_move",
        area,
        old_parent=old_parent.code if old_parent else None,
        new_parent=new_parent.code,
        areas=len(moved),
    )
    return len(moved)


def set_active(person: scope.Person, area: Area, active: bool) -> int:
    """Deactivate (or reactivate) ``area`` and everything below it
    (``scope.may_restructure_area``); data and users stay. Reactivating needs an active
    parent. Audited ``area_deactivate``/``area_reactivate``; returns how many changed."""
    if not scope.may_restructure_area(person, area):
        raise AreaForbidden(_("您无权停用或恢复 %(name)s", name=area.name))
    if active and area.parent is not None and not area.parent.active:
        raise AreaError(_("上级 %(name)s 已停用，请先恢复上级", name=area.parent.name))
    changed = [a for a in subtree(area) if a.active != active]
    for a in changed:
        a.active = active
    db.session.flush()
    if changed:
        audit(person, "area_reactivate" if active else "area_deactivate", area, areas=len(changed))
    return len(changed)


def references(area: Area) -> int:
    """How many rows of any table but the tree itself name ``area`` (users, forms,
    submissions, and whatever table refers to areas later)."""
    total = 0
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == Area.__tablename__ and table.name != Area.__tablename__:
                total += db.session.scalar(
                    select(func.count()).select_from(table).where(fk.parent == area.id)
                )
    return total


def delete_area(person: scope.Person, area: Area) -> None:
    """Delete an empty leaf: no areas below, no row anywhere that names it
    (``scope.may_restructure_area``). An area with data is never deleted: deactivate it.
    Audited ``area_delete``. Raises ``AreaForbidden`` or ``AreaError``."""
    if not scope.may_restructure_area(person, area):
        raise AreaForbidden(_("您无权删除 %(name)s", name=area.name))
    if db.session.scalar(select(func.count()).where(Area.parent_id == area.id)):
        raise AreaError(_("%(name)s 下面还有区划，不能删除；可以停用", name=area.name))
    if references(area):
        raise AreaError(_("%(name)s 已有用户、问卷或数据，不能删除；可以停用", name=area.name))
    audit(
        person,
        "area_delete",
        area,
        name=area.name,
        parent=area.parent.code if area.parent else None,
    )
    db.session.delete(area)
    db.session.flush()


def ancestors_and_self(area: Area) -> list[str]:
    """Return the codes of ``area`` and every area above it, root first."""
    return [c for c in area.path.split("/") if c]


def area_choices(user, active_only: bool = False, keep: str | None = None) -> list[tuple[str, str]]:
    """(code, indented name) of the user's home area and every area below, tree order.
    ``active_only``: without deactivated areas (choices for something new), except the
    area ``keep`` (the one a thing being edited already has)."""
    areas = db.session.scalars(scope.areas_in_scope(user))
    return [
        (a.code, ("\u3000" * (a.path.count("/") - 2)) + a.name)
        for a in areas
        if a.active or not active_only or a.code == keep
    ]
