"""The households export's tables (issue 10): one row per household (the main table) and
its history, one row per version (``versions``), as ``dataset.long`` tables, so the
writers of ``exports.formats`` (XLSX, CSV, SPSS, Stata, R) and the codebook take them
as they take a form's.

Columns: the household's own (``HOUSEHOLD_COLUMNS``, ``VERSION_COLUMNS``), then each
property of the dataset (``exports.household_properties``). The households table leaves
out the properties its own columns are read from (``risk_level``, ``case_status``,
``last_visit_date``: see ``cases.households.derive``); the history shows every property
a version received. A property named like one of a table's columns is exported as
``properties/<name>``. Times are wall times in the configured zone, as ``received_at``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fieldapp.cases import households
from fieldapp.cases.models import HARD, SOFT
from fieldapp.dataset.identify import Deidentifier
from fieldapp.dataset.long import MAIN, Table, Variable, typed
from fieldapp.exports.household_properties import Properties, choices

VERSIONS = "versions"
TEXT, INT, DATE, DATETIME = "text", "integer", "date", "datetime"
KINDS = {
    "create": "登记",
    "update": "更新",
    "assign": "分配",
    "close": "结案",
    "reopen": "重新打开",
    "resolve": "处理冲突",
    "edit": "修改",
}
CONFLICTS = {SOFT: "并行更新（软冲突）", HARD: "同一属性被同时修改（硬冲突）"}
HOUSEHOLD_COLUMNS = [
    ("household_id", "家庭编号", TEXT),
    ("label", "家庭名称", TEXT),
    ("area_code", "区划代码", TEXT),
    ("area_name", "区划", TEXT),
    ("risk_level", "风险等级", "risk"),
    ("case_status", "个案状态", "status"),
    ("assigned_to", "包户责任人（用户名）", TEXT),
    ("next_visit_due", "下次走访日期", DATE),
    ("last_visit_date", "最近走访日期", DATE),
    ("version", "版本", INT),
    ("conflict", "待处理的冲突", "conflict"),
    ("created_at", "登记时间", DATETIME),
    ("updated_at", "最近更新时间", DATETIME),
    ("closed_reason", "结案原因", TEXT),
]
VERSION_COLUMNS = [
    ("household_id", "家庭编号", TEXT),
    ("version", "版本", INT),
    ("kind", "变更类型", "kind"),
    ("changed_at", "变更时间", DATETIME),
    ("changed_by", "操作人（用户名）", TEXT),
    ("instance_id", "提交编号", TEXT),
    ("form_id", "问卷", TEXT),
    ("base_version", "基于版本", INT),
    ("conflict", "冲突", "conflict"),
    ("conflicting", "冲突的属性", TEXT),
    ("assigned_to", "包户责任人（用户名）", TEXT),
    ("note", "备注", TEXT),
    ("label", "家庭名称", TEXT),
]
# Properties the households table shows as its own columns (cases.households.derive).
DERIVED = {households.RISK, households.STATUS, households.LAST_VISIT}


def _question(name: str, kind: str) -> dict:
    """A schema-like question for a fixed column (what writers read: type, data type,
    choices)."""
    lists = {
        "risk": households.RISK_LEVELS,
        "status": households.STATUSES,
        "conflict": CONFLICTS,
        "kind": KINDS,
    }
    if kind in lists:
        return {
            "name": name,
            "type": "select_one",
            "data_type": "string",
            "labels": {},
            "choices": choices(lists[kind]),
            "choices_static": True,
        }
    data_type = {INT: "int", DATE: "date", DATETIME: "dateTime"}.get(kind, "string")
    return {"name": name, "type": kind, "data_type": data_type, "labels": {}}


def _table(key: str, fixed: list, props: Properties, deid: Deidentifier, skip=()) -> Table:
    variables = []
    for name, label, kind in fixed:
        q = _question(name, kind)
        variables.append(Variable(name, q["type"], {"": label}, q))
    names = {n for n, _, _ in fixed}
    for prop in props.order:
        q = props.question(prop)
        if prop in skip or deid.removes(q):
            continue
        column = f"properties/{prop}" if prop in names else prop
        labels = dict(q.get("labels") or {}) or {"": prop}
        variables.append(Variable(column, q["type"], labels, q))
    return Table(key, [], variables)


def build_tables(props: Properties, deid: Deidentifier) -> list[Table]:
    """The households table (``MAIN``) and the history (``VERSIONS``)."""
    return [
        _table(MAIN, HOUSEHOLD_COLUMNS, props, deid, skip=DERIVED),
        _table(VERSIONS, VERSION_COLUMNS, props, deid),
    ]


def local(value, zone: ZoneInfo) -> datetime | None:
    """A stored time (naive meaning UTC, as SQLite keeps it, or aware) as a naive wall
    time in ``zone``, as the forms' exports give ``received_at``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(zone).replace(tzinfo=None)


def _props(table: Table, values: dict, deid: Deidentifier, start: int) -> list:
    out = []
    for var in table.variables[start:]:
        value = (values or {}).get(var.question["name"])
        out.append(typed(deid.value(var.question, value), var.question))
    return out


def household_row(table: Table, r, deid: Deidentifier, zone: ZoneInfo) -> list:
    """A row of the households table from an ``export_rows.household_rows`` row."""
    label_q = table.variables[1].question
    return [
        r.uuid,
        deid.value(label_q, r.label) or None,
        r.area_code,
        r.area_name,
        r.risk,
        r.status,
        r.assignee,
        r.next_visit_due,
        r.last_visit_date,
        r.version,
        r.conflict,
        local(r.created_at, zone),
        local(r.updated_at, zone),
        None if deid.active else r.closed_reason,  # staff free text may name people
    ] + _props(table, r.data, deid, len(HOUSEHOLD_COLUMNS))


def version_row(table: Table, r, deid: Deidentifier, zone: ZoneInfo) -> list:
    """A row of the history table from an ``export_rows.version_rows`` row."""
    label_q = table.variables[len(VERSION_COLUMNS) - 1].question
    return [
        r.uuid,
        r.version,
        r.kind,
        local(r.created_at, zone),
        r.actor,
        r.instance_id,
        r.form_id,
        r.base_version,
        r.conflict,
        " ".join(r.conflicting or []) or None,
        r.assignee,
        None if deid.active else r.note,  # staff free text may name people
        deid.value(label_q, r.label) or None,
    ] + _props(table, r.received, deid, len(VERSION_COLUMNS))
