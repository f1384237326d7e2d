"""Load the demo project (idempotent): areas, one user per role, bundled forms, a few
households."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from fieldapp.areas.models import Area
from fieldapp.areas.services import create_area
from fieldapp.auth.models import User
from fieldapp.auth.services import create_user, one_time_password
from fieldapp.config import ROOT
from fieldapp.demo.households import load_households
from fieldapp.extensions import db
from fieldapp.surveys.services import import_xlsform

# The bundled questionnaires: XLSForms that researchers edit, at the top of the checkout
QUESTIONNAIRES = ROOT / "questionnaires"

# (code, name, level, parent code) — a fictional city so no real place is implied
AREAS = [
    ("3399", "示例市", "city", None),
    ("339901", "东城区", "district", "3399"),
    ("339902", "西山县", "district", "3399"),
    ("339901001", "新华街道", "town", "339901"),
    ("339902001", "青石镇", "town", "339902"),
    ("339901001001", "和平社区", "village", "339901001"),
    ("339901001002", "光明社区", "village", "339901001"),
    ("339902001001", "柳树村", "village", "339902001"),
]

# (username, display name, role, area code)
USERS = [
    ("admin", "系统管理员", "admin", "3399"),
    ("researcher", "市妇联研究员", "researcher", "3399"),
    ("supervisor", "东城区督导", "supervisor", "339901"),
    ("mediator", "和平社区调解员", "mediator", "339901001001"),
    ("mediator2", "光明社区调解员", "mediator", "339901001002"),
    ("mediator3", "柳树村调解员", "mediator", "339902001001"),
]


def _passwords(instance_path: Path) -> dict[str, str]:
    """Demo passwords: random on first load (``one_time_password``: they pass the
    password policy), kept in ``instance/demo-logins.txt`` (0600)."""
    path = instance_path / "demo-logins.txt"
    if path.exists():
        return dict(line.split("\t", 1) for line in path.read_text().splitlines() if line)
    pw = {u[0]: one_time_password() for u in USERS}
    instance_path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(f"{k}\t{v}\n" for k, v in pw.items()))
    return pw


def load_demo(instance_path: Path) -> list[tuple[str, str, str, str]]:
    """Create what is missing of the demo; return (username, password, role, area) rows."""
    areas: dict[str, Area] = {a.code: a for a in db.session.scalars(select(Area))}
    for code, name, level, parent in AREAS:
        if code not in areas:
            areas[code] = create_area(code, name, level, areas[parent] if parent else None)
    passwords = _passwords(instance_path)
    rows = []
    for username, display, role, code in USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = create_user(username, passwords[username], role, areas[code], display)
        rows.append(
            (username, passwords.get(username, "（已存在，密码未改）"), role, user.area.name)
        )
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    for path in sorted(QUESTIONNAIRES.glob("*.xlsx")):
        if path.name.startswith("~$"):  # Excel's lock file while a researcher has it open
            continue
        import_xlsform(path.read_bytes(), path.name, areas["3399"], admin)
    db.session.flush()
    load_households()
    _monthly_report()
    return rows


def _monthly_report() -> None:
    """The demo's periodic report: the screening, monthly, by every village, five days
    after the month ends (零报告制度); made once."""
    from fieldapp.reports.models import ReportDefinition
    from fieldapp.reports.services import save_definition
    from fieldapp.scope import OPERATOR
    from fieldapp.surveys.models import Form

    if db.session.scalar(select(ReportDefinition.id).limit(1)) is not None:
        return
    if db.session.scalar(select(Form.id).where(Form.form_id == "family_screening")) is None:
        return  # a demo without the bundled screening (a test's own folder of forms)
    save_definition(
        OPERATOR,
        None,
        name="问题家庭排查月报",
        form_id="family_screening",
        period="monthly",
        level="village",
        deadline_days=5,
        area_code="3399",
    )
