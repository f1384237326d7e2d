"""Managing people: list, create, change, deactivate, reset passwords. The same functions
serve the people pages and ``fieldapp users``; who may touch whom is asked of
``fieldapp.scope`` (``may_grant``, ``may_manage_user``), never decided here. Every change
is written to the audit log as ``user:<username>`` without any password in it."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select

from fieldapp import scope
from fieldapp.areas.models import Area
from fieldapp.audit.services import record
from fieldapp.auth.models import User
from fieldapp.auth.services import (
    UserError,
    create_user,
    display_name_problem,
    end_sessions,
    normalise_phone,
    one_time_password,
    revoke_tokens,
    set_password,
)
from fieldapp.auth.throttle import clear_account
from fieldapp.extensions import db
from fieldapp.scope import OPERATOR, Person
from fieldapp.submissions.services import count_stmt


def _actor_id(actor: Person) -> int | None:
    return actor.id  # the operator's is None


def _via(actor: Person) -> dict:
    return {"via": "cli"} if actor is OPERATOR else {}


def audit(actor: Person, action: str, user: User, **detail) -> None:
    """Record ``action`` on ``user`` by ``actor`` (``user:<username>``; from the command
    line with ``via="cli"``). Never pass a password in ``detail``."""
    record(_actor_id(actor), action, f"user:{user.username}", **detail, **_via(actor))


def find_users(
    actor: Person,
    role: str | None = None,
    area: Area | None = None,
    active: bool | None = None,
    text: str | None = None,
) -> Select:
    """``select(User)`` of the users ``actor`` may see (``scope.users_in_scope``),
    narrowed to a role, an area's subtree, active or not, and a text found in the
    username, name or phone."""
    stmt = scope.users_in_scope(actor, role or None)
    if area is not None:
        stmt = stmt.where(scope.within(area, User.area_id))
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    if text and text.strip():
        like = f"%{text.strip()}%"
        stmt = stmt.where(
            or_(User.username.like(like), User.display_name.like(like), User.phone.like(like))
        )
    return stmt


def count(stmt: Select) -> int:
    """The number of rows ``stmt`` selects (``submissions.services.count_stmt``)."""
    return count_stmt(stmt)


def check_grant(actor: Person, role: str, area: Area) -> None:
    """Raise ``UserError`` unless ``actor`` may give ``role`` at ``area``
    (``scope.may_grant``) and ``area`` takes new users (not deactivated)."""
    if not scope.may_grant(actor, role, area):
        raise UserError(
            _("您不能在 %(area)s 设置角色 %(role)s", area=area.name, role=_role_text(role))
        )
    if not area.active:
        raise UserError(_("区划 %(area)s 已停用，不能再添加用户", area=area.name))


def _role_text(role: str) -> str:
    from fieldapp.auth.models import ROLE_LABELS

    label = ROLE_LABELS.get(role)
    return _(label) if label else role


def check_manage(actor: Person, user: User) -> None:
    """Raise ``UserError`` unless ``actor`` may change ``user`` (``scope.may_manage_user``)."""
    if not scope.may_manage_user(actor, user):
        raise UserError(_("您无权管理用户 %(name)s", name=user.username))


def create_person(
    actor: Person,
    username: str,
    display_name: str,
    role: str,
    area: Area,
    phone: str | None = None,
    password: str | None = None,
) -> tuple[User, str]:
    """Create a user as ``actor``; return the user and their password. Without
    ``password`` (the people pages) a one-time password is made, to be changed at the
    first login (show it once, it is not kept); with one (``fieldapp users create``, the
    first admin typing their own) it is theirs to keep.

    Raises ``UserError`` when ``actor`` may not give ``role`` at ``area``, the area is
    deactivated, or a field is wrong (``auth.services.create_user``). Audited as
    ``user_create``. Not committed."""
    check_grant(actor, role, area)
    one_time = password is None
    password = one_time_password() if one_time else password
    user = create_user(
        username.strip(),
        password,
        role,
        area,
        display_name,
        phone=phone,
        must_change_password=one_time,
    )
    audit(actor, "user_create", user, role=role, area=area.code)
    return user, password


def update_person(
    actor: Person,
    user: User,
    display_name: str,
    phone: str | None,
    role: str,
    area: Area,
) -> dict[str, list]:
    """Change ``user``'s name, phone, role and area as ``actor``; return the changes
    (field → [old, new]; empty when nothing changed, and then nothing is audited).

    Raises ``UserError`` when ``actor`` may not manage ``user``, may not give the new
    role or area, or a field is wrong. Audited as ``user_update``. Not committed."""
    check_manage(actor, user)
    problem = display_name_problem(display_name)
    if problem:
        raise UserError(problem)
    if (role, area.id) != (user.role, user.area_id):  # a new grant: within reach?
        check_grant(actor, role, area)
    wanted = {
        "display_name": display_name.strip(),
        "phone": normalise_phone(phone),
        "role": role,
        "area": area.code,
    }
    changes = {}
    for field, new in wanted.items():
        old = user.area.code if field == "area" else getattr(user, field)
        if old != new:
            changes[field] = [old, new]
    if not changes:
        return changes
    user.display_name, user.phone, user.role = wanted["display_name"], wanted["phone"], role
    user.area = area
    db.session.flush()
    audit(actor, "user_update", user, changes=changes)
    return changes


def deactivate(actor: Person, user: User) -> None:
    """Deactivate ``user``: their login is refused from now on, their browser logins and
    tokens (API, ODK Collect) end at once; everything they submitted stays. Raises
    ``UserError`` when ``actor`` may not manage them. Audited as ``user_deactivate``.
    Not committed."""
    check_manage(actor, user)
    if not user.active:
        return
    user.active = False
    sessions, tokens = end_sessions(user), revoke_tokens(user)
    audit(actor, "user_deactivate", user, sessions_ended=sessions, tokens_revoked=tokens)


def reactivate(actor: Person, user: User) -> None:
    """Let ``user`` log in again with their password (tokens ended by the deactivation
    stay ended: make new ones). Raises ``UserError`` when ``actor`` may not manage them.
    Audited as ``user_reactivate``. Not committed."""
    check_manage(actor, user)
    if user.active:
        return
    user.active = True
    audit(actor, "user_reactivate", user)


def reset_password(actor: Person, user: User) -> str:
    """Give ``user`` a one-time password, to be changed at their next login; their
    browser logins end (their tokens wait until the password is changed:
    ``scope.must_change_password_first``). Return the password (show it once).
    Raises ``UserError`` when ``actor`` may not manage them. Audited as
    ``password_reset``. Not committed."""
    check_manage(actor, user)
    password = one_time_password()
    set_password(user, password, must_change=True)
    ended = end_sessions(user)
    audit(actor, "password_reset", user, sessions_ended=ended)
    return password


def reset_two_factor(actor: Person, user: User) -> None:
    """Turn ``user``'s two-factor sign-in off (a lost phone, no recovery code left): their
    secret and recovery codes are forgotten and their browser logins end; at the next
    login they set it up again if their role must have it. Raises ``UserError`` when
    ``actor`` may not manage them. Audited as ``totp_reset``. Not committed."""
    from fieldapp.auth.two_factor import is_on, turn_off

    check_manage(actor, user)
    was_on = is_on(user)
    turn_off(user)
    ended = end_sessions(user)
    audit(actor, "totp_reset", user, was_on=was_on, sessions_ended=ended)


def unlock_login(actor: Person, user: User) -> bool:
    """Lift the lock that failed logins put on ``user``'s account and forget those
    failures (``fieldapp.auth.throttle``); True when a lock was in force. Raises
    ``UserError`` when ``actor`` may not manage them. Audited as ``login_unlock``.
    Not committed."""
    check_manage(actor, user)
    was_locked = clear_account(user.username)
    audit(actor, "login_unlock", user, was_locked=was_locked)
    return was_locked


def area_names(codes: list[str]) -> dict[str, str]:
    """Area code → name for ``codes`` (those that exist)."""
    return dict(
        db.session.execute(select(Area.code, Area.name).where(Area.code.in_(set(codes)))).all()
    )
