"""Bulk import of users from an XLSX: read, check every row, then create them all.

Columns (first sheet, first row the headers, English or Chinese): username/用户名,
name/姓名, role/角色 (``mediator`` or 调解员 …), area code/区划代码, phone/手机 (optional).
A file is taken whole or not at all: ``check_rows`` names every problem of every row.

Argon2id costs ~0.2 s of CPU per password (measured: 200 users ≈ 45 s on one core), too
long for one request, and lower-cost parameters are not an option. So a checked file is
staged (``UserImport``) and hashed a few seconds at a time (``hash_some``, one request
each, the page driving itself on); the users are created together at the end
(``finish``). The one-time passwords are never stored: each is derived from a random key
(``new_key``) that lives only in the importer's session, so only the person who started
the import can print them, once (``sheet``).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import secrets
import time
import unicodedata
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select

from fieldapp import scope
from fieldapp.areas.codes import CodeError, normalise
from fieldapp.areas.models import Area
from fieldapp.audit.services import record
from fieldapp.auth.models import ROLE_LABELS, ROLES, User, utcnow
from fieldapp.auth.services import (
    OTP_ALPHABET,
    OTP_LENGTH,
    UserError,
    check_new_password,
    create_user,
    display_name_problem,
    hash_password,
    normalise_phone,
    username_problem,
)
from fieldapp.extensions import db
from fieldapp.people.models import UserImport
from fieldapp.people.services import audit
from fieldapp.scope import OPERATOR, Person
from fieldapp.spreadsheet_files import (
    NotXlsxError,
    SpreadsheetFileError,
    capped_rows,
    check_xlsx,
)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000
MAX_SHEET_ROWS = 5000  # rows the sheet may have, blank ones included (read no further)
MAX_UNZIPPED_BYTES = 20 * 1024 * 1024  # 2,000 users unzip to well under 1 MB
STEP_SECONDS = 3.0  # hashing per request: well inside any proxy's or gunicorn's timeout
STALE = timedelta(days=1)  # an import left unfinished this long is dropped
HASH_THREADS = max(1, min(4, os.cpu_count() or 1))  # argon2 releases the GIL

# Header (lower case, spaces for _ and -) → field
HEADERS = {
    "username": "username",
    "user": "username",
    "用户名": "username",
    "账号": "username",
    "name": "name",
    "display name": "name",
    "姓名": "name",
    "role": "role",
    "角色": "role",
    "area code": "area_code",
    "area": "area_code",
    "区划代码": "area_code",
    "区划": "area_code",
    "phone": "phone",
    "mobile": "phone",
    "手机": "phone",
    "手机号": "phone",
    "手机号码": "phone",
}
REQUIRED = ("username", "name", "role", "area_code")
# What may stand in the role column → role
ROLE_WORDS = {
    **{r: r for r in ROLES},
    "管理员": "admin",
    "督导": "supervisor",
    "调解员": "mediator",
    "网格员": "mediator",
    "研究员": "researcher",
}


class ImportFileError(ValueError):
    """The upload is not a readable XLSX of users (the message says what to fix)."""


@dataclass
class ImportRow:
    """One row of the file: its spreadsheet row number, the fields as written, the
    role and area they name (once checked) and what is wrong with it."""

    line: int
    username: str
    name: str
    role_text: str
    area_code: str
    phone_text: str
    role: str | None = None
    area: Area | None = None
    phone: str | None = None
    problems: list[str] = field(default_factory=list)

    def staged(self) -> dict:
        """The row as kept in ``UserImport.rows`` (no password: ``hash`` comes later)."""
        return {
            "line": self.line,
            "username": self.username,
            "name": self.name,
            "role": self.role,
            "area_code": self.area_code,
            "phone": self.phone,
            "hash": None,
        }


def _cell(value) -> str:
    """A cell as text: numbers as Excel shows them (13812345678, not 13812345678.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _header(value) -> str:
    return " ".join(_cell(value).lower().replace("_", " ").replace("-", " ").split())


def read_xlsx(data: bytes) -> list[ImportRow]:
    """The rows of an XLSX of users (blank rows skipped).

    Raises ``ImportFileError`` for a file over ``MAX_BYTES``, one that is not an XLSX,
    a first row without the columns ``REQUIRED``, no rows, or more than ``MAX_ROWS``."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = _(
        "无法读取该文件：请上传 Excel 的 .xlsx 文件（不是 .xls、CSV 或改了扩展名的文件）"
    )
    if len(data) > MAX_BYTES:
        raise ImportFileError(_("文件太大（最多 %(mb)s MB）", mb=MAX_BYTES // (1024 * 1024)))
    try:
        check_xlsx(data, max_unzipped=MAX_UNZIPPED_BYTES, max_rows=MAX_SHEET_ROWS)
    except NotXlsxError as exc:
        raise ImportFileError(unreadable) from exc
    except SpreadsheetFileError as exc:
        raise ImportFileError(str(exc)) from exc
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(unreadable) from exc
    try:
        sheet = book.worksheets[0]
        return _rows(capped_rows(sheet.iter_rows(values_only=True), MAX_SHEET_ROWS))
    except ImportFileError:
        raise
    except SpreadsheetFileError as exc:
        raise ImportFileError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - a damaged sheet inside a valid zip
        raise ImportFileError(_("文件已损坏，无法读取，请在 Excel 中另存为 .xlsx 后重试")) from exc
    finally:
        book.close()


def _rows(values) -> list[ImportRow]:
    header = next(values, None) or ()
    columns = {}
    for i, cell in enumerate(header):
        name = HEADERS.get(_header(cell))
        if name and name not in columns:
            columns[name] = i
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ImportFileError(
            _(
                "第一行应是列名：用户名、姓名、角色、区划代码、手机（或 username, name, role, "
                "area code, phone）；缺少：%(cols)s",
                cols="、".join(missing),
            )
        )
    rows = []
    for line, cells in enumerate(values, start=2):
        got = {k: _cell(cells[i]) if i < len(cells) else "" for k, i in columns.items()}
        if not any(got.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(_("一次最多导入 %(n)s 个用户，请分成几个文件", n=MAX_ROWS))
        rows.append(
            ImportRow(
                line,
                got["username"],
                got["name"],
                got["role"],
                got["area_code"],
                got.get("phone", ""),
            )
        )
    if not rows:
        raise ImportFileError(_("文件中没有用户（第一行是列名，从第二行起每行一个用户）"))
    return rows


def check_rows(actor: Person, rows: list[ImportRow]) -> list[ImportRow]:
    """Fill in each row's role, area and phone and list its problems: the username's
    form, a username repeated in the file or already taken, the name, an unknown role
    or one ``actor`` may not give, an area unknown or outside ``actor``'s subtree (one
    message for both) or deactivated, a phone that is not an 11-digit mainland mobile
    number. Returns ``rows``."""
    for row in rows:
        row.area_code = _code(row.area_code)
    codes = {r.area_code for r in rows if r.area_code}
    areas = {a.code: a for a in db.session.scalars(select(Area).where(Area.code.in_(codes)))}
    names = [r.username for r in rows]
    taken = set(db.session.scalars(select(User.username).where(User.username.in_(names))))
    first_line: dict[str, int] = {}
    for row in rows:
        row.problems = []
        if problem := username_problem(row.username):
            row.problems.append(problem)
        elif row.username in first_line:
            row.problems.append(
                _(
                    "用户名 %(name)s 在文件中重复（第 %(line)s 行已有）",
                    name=row.username,
                    line=first_line[row.username],
                )
            )
        elif row.username in taken:
            row.problems.append(_("用户名 %(name)s 已存在", name=row.username))
        first_line.setdefault(row.username, row.line)
        if problem := display_name_problem(row.name):
            row.problems.append(problem)
        row.role = ROLE_WORDS.get(row.role_text.lower()) or ROLE_WORDS.get(row.role_text)
        row.area = areas.get(row.area_code)
        if row.area is not None and not scope.area_in_scope(actor, row.area):
            row.area = None
        if row.role is None:
            row.problems.append(
                _("未知角色“%(role)s”（可填：调解员、督导、研究员、管理员）", role=row.role_text)
            )
        elif not scope.may_grant_role(actor, row.role):
            row.problems.append(_("您不能设置角色“%(role)s”", role=row.role_text))
        if row.area is None:
            row.problems.append(
                _("没有代码为“%(code)s”的区划，或不在您的管理范围内", code=row.area_code)
            )
        elif not row.area.active:
            row.problems.append(_("区划 %(area)s 已停用", area=row.area.name))
        try:
            row.phone = normalise_phone(row.phone_text)
        except UserError as exc:
            row.problems.append(str(exc))
    return rows


def _code(raw: str) -> str:
    """An area code as stored (``codes.normalise``: full-width digits made ASCII, a
    12-digit statistical code trimmed); as written when it cannot be a code (then no
    area has it and the row says so)."""
    try:
        return normalise(raw)
    except CodeError:
        return unicodedata.normalize("NFKC", raw or "").strip()


def stage(actor: User, filename: str, rows: list[ImportRow]) -> UserImport:
    """Keep checked rows (all without problems) until they are confirmed; drops imports
    left unfinished longer than ``STALE``. Flushed."""
    assert not any(r.problems for r in rows), "stage only a file without problems"
    db.session.execute(
        delete(UserImport).where(
            UserImport.finished_at.is_(None), UserImport.created_at < utcnow() - STALE
        )
    )
    imp = UserImport(
        token=secrets.token_urlsafe(24),
        actor_id=actor.id,
        filename=filename[:255],
        rows=[r.staged() for r in rows],
        hashed=0,
    )
    db.session.add(imp)
    db.session.flush()
    return imp


def confirm(imp: UserImport) -> str:
    """Mark a staged import confirmed; return a new random key from which its one-time
    passwords are derived: keep it only where the importer alone can read it (their
    session). Not committed."""
    imp.confirmed_at = utcnow()
    return secrets.token_urlsafe(32)


def password_for(key: str, token: str, index: int) -> str:
    """The one-time password of row ``index`` of import ``token`` under ``key``: the
    first of the passwords derived for it that passes the password policy
    (``auth.services.check_new_password``; about one in 3,000 does not)."""
    for attempt in range(100):
        password = _derived(key, token, index, attempt)
        try:
            check_new_password(password)
        except UserError:
            continue
        return password
    raise AssertionError("no derived one-time password passed the policy")  # never seen


def _derived(key: str, token: str, index: int, attempt: int) -> str:
    """A random-looking ``OTP_LENGTH`` password from ``key`` (HMAC-SHA256), unbiased.
    Attempt 0 is derived as before the policy, so an import under way keeps its sheet."""
    out, block = [], 0
    prefix = f"{token}:{index}:" + (f"{attempt}:" if attempt else "")
    while len(out) < OTP_LENGTH:
        msg = f"{prefix}{block}".encode()
        for byte in hmac.new(key.encode(), msg, hashlib.sha256).digest():
            if byte < 248 and len(out) < OTP_LENGTH:  # 248 = 8 × 31: no bias
                out.append(OTP_ALPHABET[byte % len(OTP_ALPHABET)])
        block += 1
    return "".join(out)


def hash_some(imp: UserImport, key: str, seconds: float = STEP_SECONDS) -> int:
    """Hash the next rows' one-time passwords for about ``seconds`` (at least one batch);
    return how many rows are hashed in all. Not committed."""
    rows, token, done = [dict(r) for r in imp.rows], imp.token, imp.hashed
    started = time.monotonic()
    with ThreadPoolExecutor(HASH_THREADS) as pool:
        while done < len(rows) and time.monotonic() - started < seconds:
            batch = range(done, min(len(rows), done + HASH_THREADS))
            hashes = pool.map(lambda i: hash_password(password_for(key, token, i)), batch)
            for i, digest in zip(batch, hashes, strict=True):
                rows[i]["hash"] = digest
            done = batch[-1] + 1
    imp.rows, imp.hashed = rows, done  # a new list: the JSON column sees the change
    db.session.flush()
    return imp.hashed


class ImportRowsError(ValueError):
    """Rows that were good at the preview are no longer (a username taken since)."""

    def __init__(self, rows: list[ImportRow]):
        super().__init__(_("导入的文件中有需要修改的行"))
        self.rows = rows


def finish(actor: Person, imp: UserImport) -> list[User]:
    """Create every user of a fully hashed import (must change the password at the first
    login), after checking the rows again; audited per user (``user_create``) and as a
    whole (``users_import``). Raises ``ImportRowsError`` when a row has become bad
    (nothing is created). Not committed."""
    assert imp.hashed == len(imp.rows), "hash every row first"
    rows = check_rows(actor, [_row(r) for r in imp.rows])
    if any(r.problems for r in rows):
        raise ImportRowsError(rows)
    return create_all(actor, rows, [r["hash"] for r in imp.rows], imp.filename, imp)


def create_all(
    actor: Person,
    rows: list[ImportRow],
    hashes: list[str],
    filename: str,
    imp: UserImport | None = None,
) -> list[User]:
    """Create the users of checked ``rows`` with their password ``hashes`` and audit
    them (the browser's ``finish`` and ``fieldapp users import``). Not committed."""
    users = []
    for row, digest in zip(rows, hashes, strict=True):
        user = create_user(
            row.username,
            None,
            row.role,
            row.area,
            row.name,
            phone=row.phone,
            must_change_password=True,
            password_hash=digest,
        )
        audit(actor, "user_create", user, role=row.role, area=row.area.code, via_import=filename)
        users.append(user)
    if imp is not None:
        imp.finished_at = utcnow()
    record(
        actor.id,
        "users_import",
        f"users_import:{filename}",
        count=len(users),
        usernames=[u.username for u in users],
        **({"via": "cli"} if actor is OPERATOR else {}),
    )
    return users


def _row(staged: dict) -> ImportRow:
    return ImportRow(
        staged["line"],
        staged["username"],
        staged["name"],
        staged["role"],
        staged["area_code"],
        staged["phone"] or "",
    )


def sheet(imp: UserImport, key: str) -> list[tuple[dict, str]]:
    """(row, one-time password) of each user of a finished import, for printing once."""
    return [(row, password_for(key, imp.token, i)) for i, row in enumerate(imp.rows)]


def template_xlsx(actor: Person) -> bytes:
    """An XLSX with the Chinese column names the import reads and one example row (a
    role ``actor`` may give, at their home area)."""
    import openpyxl

    from fieldapp.dataset.formula import write_text

    book = openpyxl.Workbook()
    sheet_ = book.active
    sheet_.title = "用户"
    role = scope.grantable_roles(actor)[0]
    code = actor.area.code if actor is not OPERATOR else ""
    rows = [
        ["用户名", "姓名", "角色", "区划代码", "手机"],
        ["wangfang", "王芳", ROLE_LABELS[role], code],
    ]
    for r, row in enumerate(rows):  # area codes are typed by admins: text, never a formula
        for c, value in enumerate(row):
            if value:
                write_text(sheet_, r, c, str(value))
    for column in "ABCDE":
        sheet_.column_dimensions[column].width = 16
    for row in sheet_.iter_rows(min_col=4, max_col=5):
        for cell in row:
            cell.number_format = "@"  # codes and phones stay text in Excel
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
