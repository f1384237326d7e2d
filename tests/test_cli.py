"""An admin sets up fieldapp from the command line: database, demo, users, tokens."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from fieldapp.cli import main


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """Point the CLI at an empty instance folder with its own SQLite database."""
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("FIELDAPP_DATABASE_URL", raising=False)
    return tmp_path


def test_init_demo_and_login_from_a_blank_machine(fresh):
    runner = CliRunner()
    result = runner.invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    assert (fresh / "fieldapp.sqlite3").exists()
    result = runner.invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    logins = dict(
        re.findall(
            r"^\s+(\w+)\s+(\S+)\s+(?:admin|researcher|supervisor|mediator)", result.output, re.M
        )
    )
    assert set(logins) == {
        "admin",
        "researcher",
        "supervisor",
        "mediator",
        "mediator2",
        "mediator3",
    }
    again = runner.invoke(main, ["demo"])  # idempotent: same logins, nothing doubled
    assert again.exit_code == 0 and logins["mediator"] in again.output

    from fieldapp import create_app

    app = create_app()
    client = app.test_client()
    from tests.helpers import login

    login(client, "mediator", logins["mediator"])
    home = client.get("/?online").get_data(as_text=True)
    for title in ("问题家庭排查", "留守儿童", "留守妇女", "留守老人", "调解走访记录"):
        assert title in home
    # The demo's households: the mediator's four, one of them visited; loaded once.
    mine = client.get("/cases/").get_data(as_text=True)
    assert all(f"{head}家（和平社区）" in mine for head in ("李梅", "王秀英", "赵丽", "孙芳"))
    assert "陈红" not in mine  # mediator2's


def test_users_and_tokens_from_the_cli(fresh):
    runner = CliRunner()
    runner.invoke(main, ["init"])
    runner.invoke(main, ["demo"])
    result = runner.invoke(
        main,
        [
            "users",
            "create",
            "wang",
            "--role",
            "mediator",
            "--area",
            "339902001001",
            "--name",
            "王调解员",
        ],
        input="long-enough-pw\nlong-enough-pw\n",
    )
    assert result.exit_code == 0, result.output
    bad = runner.invoke(
        main,
        ["users", "create", "li", "--role", "mediator", "--area", "nowhere"],
        input="long-enough-pw\nlong-enough-pw\n",
    )
    assert bad.exit_code == 1 and "nowhere" in bad.output
    token = runner.invoke(main, ["tokens", "create", "wang"]).output.strip()

    from fieldapp import create_app

    client = create_app().test_client()
    resp = client.get("/api/v1/forms", headers={"Authorization": f"Bearer {token}"})
    from tests.helpers import BUNDLED_FORMS

    bundled = len(list(BUNDLED_FORMS.glob("*.xlsx")))
    assert resp.status_code == 200 and len(resp.json["forms"]) == bundled


def test_export_in_a_fresh_process_writes_the_csv(fresh):
    """Run as an admin would, in a new interpreter (catches import cycles tests hide)."""
    import subprocess
    import sys

    runner = CliRunner()
    runner.invoke(main, ["init"])
    runner.invoke(main, ["demo"])
    cli = [sys.executable, "-c", "from fieldapp.cli import main; main()"]
    out = fresh / "screening.csv"
    done = subprocess.run(
        [*cli, "export", "family_screening", "-o", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8-sig").startswith("instance_id,household_id,form_version")
    missing = subprocess.run([*cli, "export", "nope"], capture_output=True, text=True)
    assert missing.returncode == 1 and "没有问卷 nope" in missing.stderr


@pytest.mark.parametrize("username", ["", "a b", "x" * 65, "<script>"])
def test_usernames_must_be_plain(fresh, username):
    runner = CliRunner()
    runner.invoke(main, ["init"])
    runner.invoke(main, ["demo"])
    result = runner.invoke(
        main,
        ["users", "create", username, "--role", "mediator", "--area", "3399"],
        input="long-enough-pw\nlong-enough-pw\n",
    )
    assert result.exit_code == 1 and "用户名" in result.output


def test_export_to_spss_from_the_cli(fresh, tmp_path):
    import pyreadstat

    runner = CliRunner()
    runner.invoke(main, ["init"])
    runner.invoke(main, ["demo"])
    out = tmp_path / "screening.zip"
    result = runner.invoke(main, ["export", "family_screening", "--format", "sav", "-o", str(out)])
    assert result.exit_code == 0, result.output
    import zipfile

    with zipfile.ZipFile(out) as zf:
        assert "family_screening.sav" in zf.namelist()
        zf.extract("family_screening.sav", tmp_path)
    _, meta = pyreadstat.read_sav(str(tmp_path / "family_screening.sav"))
    assert "instance_id" in meta.column_names


def test_cli_export_mistakes_get_a_plain_answer_and_identifying_files_stay_private(fresh):
    import stat

    runner = CliRunner()
    runner.invoke(main, ["init"])
    runner.invoke(main, ["demo"])
    export = ["export", "family_screening"]
    result = runner.invoke(main, [*export, "-o", str(fresh / "nowhere" / "x.csv")])
    assert result.exit_code == 1 and "不存在" in result.output and "Traceback" not in result.output
    result = runner.invoke(main, [*export, "--lang", "klingon"])
    assert result.exit_code == 1 and "没有语言 klingon" in result.output
    result = runner.invoke(main, [*export, "--format", "codebook-html", "-o", "-"])
    assert result.exit_code == 0 and "<html" in result.output.lower()
    assert not __import__("pathlib").Path("-").exists()  # not a file named "-"
    private = fresh / "named.csv"
    assert runner.invoke(main, [*export, "--identifying", "-o", str(private)]).exit_code == 0
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
