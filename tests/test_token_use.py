"""A phone's key says when it was last used, to the minute, without a write per request
(bench/load.py's profile: an UPDATE and a commit of their own on every submission)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from fieldapp.auth.models import ApiToken
from fieldapp.extensions import db


def _key(app, username: str) -> tuple[str, int]:
    from fieldapp.auth.services import get_user
    from fieldapp.phones.services import create_collect_token
    from fieldapp.scope import OPERATOR

    with app.app_context():
        secret, token = create_collect_token(OPERATOR, get_user(username), "王芳的手机")
        db.session.commit()
        return secret, token.id


def _last_used(app, token_id: int) -> datetime | None:
    with app.app_context():
        used = db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))
        db.session.rollback()
    return used.replace(tzinfo=UTC) if used is not None and used.tzinfo is None else used


def _set_last_used(app, token_id: int, when: datetime) -> None:
    with app.app_context():
        db.session.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=when)
        )
        db.session.commit()


def test_a_key_is_marked_used_once_a_minute(app, client, world):
    key, token_id = _key(app, world.mediator)
    assert _last_used(app, token_id) is None  # 尚未使用

    assert client.get(f"/key/{key}/formList").status_code == 200
    first = _last_used(app, token_id)
    assert first is not None and datetime.now(UTC) - first < timedelta(minutes=1)

    # A batch of requests within the minute leaves the time as it is.
    for _ in range(3):
        assert client.head(f"/key/{key}/submission").status_code == 204
    assert _last_used(app, token_id) == first

    # A minute later the next request moves it.
    old = datetime.now(UTC) - timedelta(minutes=2)
    _set_last_used(app, token_id, old)
    assert client.get(f"/key/{key}/formList").status_code == 200
    later = _last_used(app, token_id)
    assert later is not None and later - old > timedelta(minutes=1)


def test_a_time_in_the_future_is_corrected(app, client, world):
    """A clock set wrong once (a restored backup, a server clock fixed) does not freeze
    the key's last use in the future."""
    key, token_id = _key(app, world.mediator)
    ahead = datetime.now(UTC) + timedelta(days=1)
    _set_last_used(app, token_id, ahead)
    assert client.get(f"/key/{key}/formList").status_code == 200
    assert _last_used(app, token_id) < ahead
