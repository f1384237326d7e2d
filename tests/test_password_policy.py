"""Password policy (issue 14): every way a password is set refuses the common and the
guessable ones, says why in Chinese, and takes a good passphrase; passwords chosen
before the policy keep working."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from fieldapp.areas.services import get_area
from fieldapp.auth.models import User
from fieldapp.auth.services import UserError, get_user, hash_password, set_password
from fieldapp.extensions import db
from fieldapp.people import importer
from fieldapp.people.services import create_person, reset_password
from fieldapp.scope import OPERATOR
from tests.helpers import csrf_token, login

GOOD = "lanse-yueliang-chifan"


def weak_ones(username: str) -> list[str]:
    return ["12345678", "password1", f"{username}123"]


def _change(client, current: str, new: str):
    token = csrf_token(client, "/account/password")
    data = {"current": current, "new": new, "repeat": new, "csrf_token": token}
    return client.post("/account/password", data=data)


def test_my_account_page_refuses_guessable_passwords_and_says_why(
    app, client, world, world_users_restored
):
    login(client, world.mediator)
    assert "不能容易被猜到" in client.get("/account/password").get_data(as_text=True)
    for weak in weak_ones(world.mediator):
        resp = _change(client, world.password, weak)
        assert resp.status_code == 400, weak
        page = resp.get_data(as_text=True)
        assert "密码" in page and ("太容易被猜到" in page or "至少需要 10 个字符" in page)
    page = _change(client, world.password, "password1").get_data(as_text=True)
    assert "常见密码" in page and "三四个不相关的词" in page  # why, and what to do
    page = _change(client, world.password, f"{world.mediator}123").get_data(as_text=True)
    assert "用户名" in page
    assert login(app.test_client(), world.mediator, "12345678").status_code == 200  # refused
    assert _change(client, world.password, GOOD).status_code == 302
    assert login(app.test_client(), world.mediator, GOOD).status_code == 302


def test_one_names_phone_and_the_programme_count_as_guessable(app, world, world_users_restored):
    with app.app_context():
        user = get_user(world.mediator)
        user.phone = "13812345678"
        for weak in ("13812345678a", "pinganjiating2024", "fieldapp2026", "woaini5201314"):
            with pytest.raises(UserError, match="太容易被猜到"):
                set_password(user, weak, must_change=False)


def test_creating_a_user_with_a_typed_password_takes_only_a_strong_one(app, world):
    """The service behind ``fieldapp users create`` (the first admin's own password)."""
    with app.app_context():
        area = get_area("339902001001")
        for weak in weak_ones("liping"):
            with pytest.raises(UserError):
                create_person(OPERATOR, "liping", "李萍", "mediator", area, password=weak)
        user, _ = create_person(OPERATOR, "liping", "李萍", "mediator", area, password=GOOD)
        assert not user.must_change_password


def test_an_admin_reset_and_a_new_user_get_a_one_time_password_that_passes(app, world):
    from fieldapp.auth.passwords import password_problem

    with app.app_context():
        area = get_area("339902001001")
        user, first = create_person(OPERATOR, "zhaomin", "赵敏", "mediator", area)
        again = reset_password(OPERATOR, user)
        for password in (first, again):
            assert password_problem(password, "zhaomin", "赵敏") is None
        for weak in weak_ones("zhaomin"):  # nobody sets a weak one through the reset either
            with pytest.raises(UserError):
                set_password(user, weak, must_change=True)


def test_an_import_only_hands_out_one_time_passwords_that_pass(app, monkeypatch):
    """The import derives its one-time passwords; one the policy refuses is replaced
    by the next derivation (the first one stays what it was before the policy)."""
    from fieldapp.auth import passwords

    with app.app_context():
        first = importer._derived("key", "token", 0, 0)
        assert importer.password_for("key", "token", 0) == first
        refuse = passwords.password_problem
        monkeypatch.setattr(
            passwords, "password_problem", lambda p, *a: "weak" if p == first else refuse(p, *a)
        )
        monkeypatch.setattr("fieldapp.auth.services.password_problem", passwords.password_problem)
        replaced = importer.password_for("key", "token", 0)
        assert replaced != first and replaced == importer._derived("key", "token", 0, 1)


def test_the_cli_refuses_a_weak_password_with_the_reason(app, world, runner, monkeypatch):
    from fieldapp.cli import main

    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    args = ["users", "create", "chenjing", "--role", "admin", "--area", "3399", "--name", "陈静"]
    for weak in weak_ones("chenjing"):
        result = runner.invoke(main, args, input=f"{weak}\n{weak}\n")
        assert result.exit_code == 1 and "密码" in result.output, weak
    result = runner.invoke(main, args, input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "chenjing", GOOD).status_code == 302


def test_a_password_chosen_before_the_policy_keeps_working(app, world, world_users_restored):
    with app.app_context():
        db.session.execute(
            update(User)
            .where(User.username == world.mediator)
            .values(password_hash=hash_password("12345678"))
        )
        db.session.commit()
    assert login(app.test_client(), world.mediator, "12345678").status_code == 302
