"""Importing the area tree from a file: plan (the dry run), then apply.

Re-importing updates names and adds areas; it never deletes and never moves (a parent
that differs from the tree's is reported, not acted on: moving is done on the area
page). A file with a bad row is refused whole, with every bad row and why; nothing is
changed then. Parents may be left out for statistical codes (``codes``). The rules for
who may import and where come from ``fieldapp.scope``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fieldapp import scope
from fieldapp.areas.areafile import MAX_BYTES, AreaFileError, FileRow, Problem, read_area_file
from fieldapp.areas.codes import (
    CodeError,
    implied_level,
    implied_parent,
    normalise,
    parent_problem,
)
from fieldapp.areas.models import LEVELS, Area
from fieldapp.areas.services import AreaError, AreaForbidden, audit, child_level, clean_name
from fieldapp.extensions import db

ADD, RENAME, SAME = "add", "rename", "same"
CHUNK = 500  # codes per IN (…) (SQLite allows ~32k parameters)


@dataclass
class PlannedRow:
    """What importing one row does: ``action`` is add, rename or same."""

    row: int
    code: str
    name: str
    action: str
    level: str
    parent: str | None = None  # the parent's code
    old_name: str | None = None  # renamed: the name it had
    note: str | None = None  # e.g. a parent that differs from the tree's (not moved)
    path: str = ""


@dataclass
class ImportPlan:
    """The dry run's answer: every row and what it would do."""

    rows: list[PlannedRow] = field(default_factory=list)

    def _with(self, action: str) -> list[PlannedRow]:
        return [r for r in self.rows if r.action == action]

    @property
    def added(self) -> list[PlannedRow]:
        return self._with(ADD)

    @property
    def renamed(self) -> list[PlannedRow]:
        return self._with(RENAME)

    @property
    def unchanged(self) -> list[PlannedRow]:
        return self._with(SAME)

    @property
    def notes(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.note]

    def digest(self) -> str:
        """A fingerprint of the changes: a confirmation applies what was previewed."""
        changes = [(r.action, r.code, r.name, r.parent) for r in self.rows if r.action != SAME]
        raw = json.dumps([changes, len(self.rows)], ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def summary(self) -> str:
        """One line: how many added, renamed, unchanged."""
        return _(
            "新增 %(added)s 个，改名 %(renamed)s 个，不变 %(same)s 个",
            added=len(self.added),
            renamed=len(self.renamed),
            same=len(self.unchanged),
        )


@dataclass
class _Known:
    """An area already in the tree (read once, as plain values)."""

    id: int
    code: str
    name: str
    level: str
    path: str
    active: bool
    parent_id: int | None


def import_areas(
    person: scope.Person,
    data: bytes,
    filename: str,
    dry_run: bool = False,
    max_bytes: int = MAX_BYTES,
) -> ImportPlan:
    """Read, check and (unless ``dry_run``) apply an area file for ``person``
    (``scope.may_manage_areas``), audited ``areas_import``. Returns the plan. Raises
    ``AreaForbidden``, or ``AreaFileError`` listing every bad row (nothing changed)."""
    if not scope.may_manage_areas(person):
        raise AreaForbidden(_("您无权导入区划"))
    plan = plan_import(person, read_area_file(data, filename, max_bytes))
    if not dry_run:
        apply_import(person, plan, filename)
    return plan


def confirm_import(
    person: scope.Person, data: bytes, filename: str, digest: str
) -> tuple[ImportPlan, bool]:
    """Apply a previewed import if it still does what the preview (``digest``) showed;
    otherwise change nothing. Returns the current plan and whether it was applied.
    Raises as ``import_areas``."""
    plan = import_areas(person, data, filename, dry_run=True)
    if plan.digest() != digest:
        return plan, False
    apply_import(person, plan, filename)
    return plan, True


def plan_import(person: scope.Person, rows: list[FileRow]) -> ImportPlan:
    """What importing ``rows`` would do for ``person``; changes nothing. Raises
    ``AreaFileError`` with every problem found: a bad or duplicate code, an empty name,
    an unknown parent, a cycle, a level that does not nest, an area out of scope."""
    known = {
        k.code: k
        for k in (
            _Known(*r)
            for r in db.session.execute(
                select(
                    Area.id,
                    Area.code,
                    Area.name,
                    Area.level,
                    Area.path,
                    Area.active,
                    Area.parent_id,
                )
            )
        )
    }
    code_of = {k.id: k.code for k in known.values()}
    problems: list[Problem] = []
    entries: list[tuple[FileRow, str, str, str | None, bool]] = []
    seen: dict[str, int] = {}
    for r in rows:
        try:
            code = normalise(r.code)
            name = clean_name(r.name)
            parent = normalise(r.parent) if r.parent else None
        except (CodeError, AreaError) as exc:
            problems.append(Problem(r.row, str(exc)))
            continue
        if problem := parent_problem(code, parent):
            problems.append(Problem(r.row, problem))
            continue
        if code in seen:
            problems.append(
                Problem(
                    r.row,
                    _("代码 %(code)s 重复（第 %(first)s 行已有）", code=code, first=seen[code]),
                )
            )
            continue
        seen[code] = r.row
        entries.append((r, code, name, parent or implied_parent(code), parent is None))
    new = {
        code: (r, parent, inferred)
        for r, code, _name, parent, inferred in entries
        if code not in known
    }
    placed = _place_new(person, new, known, problems, empty_tree=not known)
    plan = ImportPlan()
    for r, code, name, parent, _inferred in entries:
        if code in new:
            if code in placed:
                level, path = placed[code]
                plan.rows.append(PlannedRow(r.row, code, name, ADD, level, parent, path=path))
            continue
        k = known[code]
        if not scope.path_in_scope(person, k.path):
            problems.append(
                Problem(r.row, _("代码 %(code)s 不在您的管辖范围内（或已被使用）", code=code))
            )
            continue
        current_parent = code_of.get(k.parent_id)
        note = None
        if parent and parent != current_parent:
            note = _(
                "文件中的上级是 %(file)s，系统中是 %(tree)s；未移动（移动请在区划页面操作）",
                file=parent,
                tree=current_parent or _("（顶级）"),
            )
        action = SAME if name == k.name else RENAME
        plan.rows.append(
            PlannedRow(
                r.row,
                code,
                name,
                action,
                k.level,
                current_parent,
                old_name=k.name if action == RENAME else None,
                note=note,
                path=k.path,
            )
        )
    if problems:
        raise AreaFileError(sorted(problems, key=lambda p: p.row or 0))
    return plan


def _place_new(person, new, known, problems, empty_tree: bool) -> dict[str, tuple[str, str]]:
    """Level and path of every new area whose chain of parents reaches the tree or a
    valid root; problems for the others (found without recursion: files may be long)."""
    placed: dict[str, tuple[str, str]] = {}
    failed: set[str] = set()
    roots = [c for c, (_r, parent, _i) in new.items() if parent is None]
    for start in new:
        chain: list[str] = []
        code = start
        while code in new and code not in placed and code not in failed and code not in chain:
            chain.append(code)
            code = new[code][1]
        if code in chain:  # a cycle: every row on it is at fault
            loop = chain[chain.index(code) :]
            for c in loop:
                problems.append(
                    Problem(
                        new[c][0].row, _("上级关系成环：%(loop)s", loop=" → ".join([*loop, code]))
                    )
                )
            failed.update(chain)
            continue
        for c in reversed(chain):
            message = _placement(person, c, new, known, placed, failed, roots, empty_tree)
            if isinstance(message, tuple):
                placed[c] = message
            else:
                failed.add(c)
                if message:
                    problems.append(Problem(new[c][0].row, message))
    return placed


def _placement(person, code, new, known, placed, failed, roots, empty_tree):
    """``(level, path)`` of new area ``code``, or why not (``""``: its parent's row
    already said why)."""
    row, parent, inferred = new[code]
    if parent is None:
        if implied_level(code) != "city" and not (empty_tree and len(roots) == 1):
            return _("缺少上级代码（只有 4、6、9、12 位的统计用区划代码可以省略上级）")
        if not scope.may_add_area(person, None, "city"):
            return _("新增顶级区划 %(code)s 只能由服务器管理员用命令行导入", code=code)
        return "city", f"/{code}/"
    if parent in failed:
        return ""
    if parent in placed:
        parent_level, parent_path = placed[parent]
    elif parent in known and scope.path_in_scope(person, known[parent].path):
        k = known[parent]
        if not k.active:
            return _(
                "上级 %(code)s（%(name)s）已停用，不能在其下新增区划", code=k.code, name=k.name
            )
        parent_level, parent_path = k.level, k.path
    else:
        if inferred:
            return _(
                "由代码推断的上级 %(parent)s 不存在（文件和系统里都没有），或不在您的管辖范围内",
                parent=parent,
            )
        return _(
            "上级代码 %(parent)s 不存在（文件和系统里都没有），或不在您的管辖范围内", parent=parent
        )
    try:
        level = child_level(_Level(parent_level, parent), code)
    except AreaError as exc:
        return str(exc)
    path = f"{parent_path}{code}/"
    if not scope.path_in_scope(person, path):
        return _("代码 %(code)s 不在您的管辖范围内（或已被使用）", code=code)
    return level, path


@dataclass
class _Level:
    """Enough of a parent for ``services.child_level``."""

    level: str
    name: str


def apply_import(person: scope.Person, plan: ImportPlan, filename: str) -> None:
    """Make the changes of ``plan`` (flushed, committed by the caller); audited
    ``areas_import``. Raises ``AreaFileError`` when someone changed the same areas at
    the same moment (the caller rolls back)."""
    renamed = {r.code: r for r in plan.renamed}
    for area in _areas(list(renamed)):
        area.name = renamed[area.code].name
    added = sorted(plan.added, key=lambda r: r.path.count("/"))
    outside = {r.parent for r in added if r.parent} - {r.code for r in added}
    ids = {a.code: a.id for a in _areas(sorted(outside))}
    try:
        for depth in sorted({r.path.count("/") for r in added}):
            batch = [
                Area(
                    code=r.code,
                    name=r.name,
                    level=r.level,
                    path=r.path,
                    active=True,
                    parent_id=ids[r.parent] if r.parent else None,
                )
                for r in added
                if r.path.count("/") == depth
            ]
            db.session.add_all(batch)
            db.session.flush()
            ids.update({a.code: a.id for a in batch})
    except IntegrityError as exc:
        db.session.rollback()
        raise AreaFileError(
            [Problem(None, _("导入时区划被他人同时修改，没有导入任何内容；请重新导入"))]
        ) from exc
    audit(
        person,
        "areas_import",
        f"file:{filename}",
        added=len(added),
        renamed=len(renamed),
        unchanged=len(plan.unchanged),
        added_codes=[r.code for r in added],
        renames=[[r.code, r.old_name, r.name] for r in renamed.values()],
    )


def _areas(codes: list[str]) -> list[Area]:
    out: list[Area] = []
    for i in range(0, len(codes), CHUNK):
        out.extend(db.session.scalars(select(Area).where(Area.code.in_(codes[i : i + CHUNK]))))
    return out


assert LEVELS[0] == "city"  # a root row is a city
