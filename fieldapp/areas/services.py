"""Area tree operations shared by the CLI, the demo loader and the views."""

from __future__ import annotations

from sqlalchemy import select

from fieldapp.areas.models import LEVELS, Area
from fieldapp.extensions import db


class AreaError(ValueError):
    """An area cannot be created or found as asked."""


def get_area(code: str) -> Area:
    """Return the area with ``code``; raise ``AreaError`` when there is none."""
    area = db.session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise AreaError(f"没有代码为 {code} 的区划")
    return area


def create_area(code: str, name: str, level: str, parent: Area | None = None) -> Area:
    """Add an area below ``parent`` (``None`` for the root) and flush it.

    ``level`` is one of ``LEVELS`` and must be one step below the parent's level.
    Raises ``AreaError`` for an unknown level, a wrong nesting or a duplicate code.
    """
    if level not in LEVELS:
        raise AreaError(f"未知的区划级别：{level}")
    if parent is not None and LEVELS.index(level) != LEVELS.index(parent.level) + 1:
        raise AreaError(f"{name} 的级别 {level} 不能放在 {parent.name}（{parent.level}）之下")
    if db.session.scalar(select(Area.id).where(Area.code == code)) is not None:
        raise AreaError(f"区划代码 {code} 已存在")
    path = (parent.path if parent else "/") + code + "/"
    area = Area(code=code, name=name, level=level, parent=parent, path=path)
    db.session.add(area)
    db.session.flush()
    return area


def ancestors_and_self(area: Area) -> list[str]:
    """Return the codes of ``area`` and every area above it, root first."""
    return [c for c in area.path.split("/") if c]


def area_choices(user) -> list[tuple[str, str]]:
    """(code, indented name) of the user's home area and every area below, tree order."""
    from fieldapp.scope import areas_in_scope

    areas = db.session.scalars(areas_in_scope(user))
    return [(a.code, ("\u3000" * (a.path.count("/") - 2)) + a.name) for a in areas]
