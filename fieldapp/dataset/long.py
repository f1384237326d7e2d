"""Submissions as analysis tables: one main table, one long table per repeat.

The main table has a row per submission; each repeat table has a row per repeat
instance with ``_key`` (its own key), ``_parent_key`` (the submission's instance ID or
the enclosing repeat instance's key) and ``_index`` (its position, from 1), so nothing
in a repeat is lost and tables join back. Columns are the union over all versions of the
form, matched by question name; select_multiple gives its joined codes plus one 0/1
column per choice (empty when unanswered). Values are typed: integers as ``int``,
decimals as ``float``, dates as ``date``, date-times as ``datetime``; blanks are ``None``.
A form that creates or updates entities has the household's id after the main table's
``instance_id`` (``household_id``), the key that joins the households export.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl

from fieldapp.cases.spec import spec_of
from fieldapp.dataset.identify import Deidentifier
from fieldapp.dataset.wide import (
    HOUSEHOLD_LABEL,
    METADATA_LABELS,
    household_column,
    label_of,
    merge_questions,
)

MAIN = "main"
MAIN_META = [
    ("instance_id", "提交编号", "text"),
    ("form_version", "问卷版本", "text"),
    ("submitted_by", "提交人", "text"),
    ("area_code", "区划代码", "text"),
    ("area_name", "区划", "text"),
    ("received_at", "收到时间", "datetime"),
]
REPEAT_META = [
    ("_key", "本行编号", "text"),
    ("_parent_key", "上级行编号", "text"),
    ("_index", "第几项", "integer"),
    ("instance_id", "提交编号", "text"),
]


@dataclass
class Variable:
    """One column: its export name, what it holds and where it comes from."""

    name: str  # "household_info/household_head", "…/conflict_types/dv"
    kind: str  # question type, "choice" for a split column, or meta
    labels: dict[str, str]  # per form language (meta: {"": Chinese label})
    question: dict | None = None  # the schema question (None for meta columns)
    choice: dict | None = None  # the choice of a split column
    rel: list[str] = field(default_factory=list)  # path below the table's repeat
    versions: list[str] = field(default_factory=list)

    @property
    def choices(self) -> list[dict] | None:
        return self.question.get("choices") if self.question and not self.choice else None


@dataclass
class Table:
    """A main or repeat table: its columns and the repeat path it stands for."""

    key: str  # MAIN or the repeat's path below the root
    chain: list[list[str]]  # repeat paths from the root, each relative to the last
    variables: list[Variable]

    @property
    def title(self) -> str:
        return self.key if self.key == MAIN else self.key.rsplit("/", 1)[-1]


def build_tables(
    versions: Iterable, deid: Deidentifier | None = None, household: bool | None = None
) -> list[Table]:
    """Tables for a form from its versions (newest first wins a question's labels).
    ``household`` adds the household-id meta column after the main table's
    ``instance_id`` (``wide.household_column``); by default when a version creates or
    updates entities (``cases.spec.spec_of``)."""
    versions = list(versions)
    if household is None:
        household = any(spec_of(v) for v in versions)
    deid = deid or Deidentifier(None)
    seen_in: dict[str, list[str]] = {}
    for v in versions:
        root = "/" + v.schema["root"] + "/"
        for q in v.schema["questions"]:
            seen_in.setdefault(q["path"].removeprefix(root), []).append(v.version)
    merged = merge_questions(v.schema for v in versions)
    questions = [q for q in merged if not deid.removes(q.q)]
    repeat_keys = sorted(
        {"/".join(q.parts[: i + 1]) for q in questions for i in q.repeats},
        key=lambda k: (k.count("/"), k),
    )
    tables = {MAIN: Table(MAIN, [], [Variable(n, t, {"": lab}) for n, lab, t in MAIN_META])}
    if household:
        name = household_column(q.name for q in merged)
        tables[MAIN].variables.insert(1, Variable(name, "text", {"": HOUSEHOLD_LABEL}))
    for key in repeat_keys:
        parts = key.split("/")
        enclosing = [k for k in repeat_keys if key.startswith(k + "/")]
        chain, prev = [], []
        for k in [*enclosing, key]:
            kp = k.split("/")
            chain.append(kp[len(prev) :])
            prev = kp
        assert prev == parts
        tables[key] = Table(key, chain, [Variable(n, t, {"": lab}) for n, lab, t in REPEAT_META])
    for q in questions:
        key = "/".join(q.parts[: q.repeats[-1] + 1]) if q.repeats else MAIN
        rel = q.parts[len(key.split("/")) :] if q.repeats else q.parts
        labels = dict(q.q.get("labels") or {}) or {"": METADATA_LABELS.get(q.q["type"], "")}
        versions_of = seen_in.get(q.name, [])
        table = tables[key]
        table.variables.append(
            Variable(q.name, q.q["type"], labels, q.q, rel=rel, versions=versions_of)
        )
        if q.q["type"] == "select_multiple" and q.q.get("choices"):
            for c in q.q["choices"]:
                table.variables.append(
                    Variable(
                        f"{q.name}/{c['name']}",
                        "choice",
                        {
                            lang: f"{text}：{label_of(c['labels'], lang) or c['name']}"
                            for lang, text in labels.items()
                        },
                        q.q,
                        choice=c,
                        rel=rel,
                        versions=versions_of,
                    )
                )
    return list(tables.values())


def household_of(main: Table) -> str | None:
    """The name of ``main``'s household-id column (``build_tables(household=True)``),
    or None when it has none."""
    second = main.variables[1]
    return second.name if second.question is None and second.name != MAIN_META[1][0] else None


def typed(value: str | None, q: dict) -> object:
    """A submitted string as the Python value its question's type calls for."""
    if value is None or value == "":
        return None
    kind, dt = q.get("type"), q.get("data_type")
    try:
        if kind == "integer" or dt == "int":
            return int(value)
        if kind == "decimal" or dt == "decimal":
            return float(value)
        if dt == "date":
            return date.fromisoformat(value)
        if dt == "dateTime":
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed.replace(tzinfo=None)  # local wall time as the phone recorded it
    except ValueError:
        return value
    return value


def long_dtype(var: Variable) -> pl.DataType:
    """The Polars type of a long-table column: what ``typed`` gives its values (0/1 of a
    split choice and ``_index`` as integers)."""
    dt = (var.question or {}).get("data_type")
    if var.kind in ("choice", "integer") or var.name == "_index" or dt == "int":
        return pl.Int64()
    if var.kind == "decimal" or dt == "decimal":
        return pl.Float64()
    if var.kind == "datetime" or dt == "dateTime":
        return pl.Datetime("us")
    if dt == "date":
        return pl.Date()
    return pl.String()


def _walk(node, parts: list[str]):
    for part in parts:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _instances(data: dict, chain: list[list[str]], key: str, prefix: str = ""):
    """Yield (item, its key, parent key, index) for every instance along ``chain``."""
    head, rest = chain[0], chain[1:]
    items = _walk(data, head)
    if not isinstance(items, list):
        return
    for i, item in enumerate(items, start=1):
        own = f"{key}/{prefix}{'/'.join(head)}[{i}]"
        if rest:
            yield from _instances(item, rest, key, f"{prefix}{'/'.join(head)}[{i}]/")
        else:
            yield item, own, own.rsplit("/", len(head))[0] if prefix else key, i


def _cells(table: Table, node: dict, deid: Deidentifier, start: int) -> list:
    out = []
    for var in table.variables[start:]:
        raw = _walk(node, var.rel)
        raw = raw if isinstance(raw, str) else None
        raw = deid.value(var.question, raw) if var.question else raw
        if var.choice is not None:
            out.append(None if not raw else int(var.choice["name"] in raw.split()))
        else:
            out.append(typed(raw, var.question))
    return out


def rows(
    tables: list[Table],
    submissions: Iterable,
    deid: Deidentifier | None = None,
    tz: str = "Asia/Shanghai",
) -> Iterator[tuple[str, list]]:
    """Yield (table key, row) for every submission (``dataset.source.SubmissionRow``) and
    every repeat instance in it."""
    deid = deid or Deidentifier(None)
    zone = ZoneInfo(tz)
    household = household_of(next(t for t in tables if t.key == MAIN))
    start = len(MAIN_META) + bool(household)
    for sub in submissions:
        received = sub.received_at
        if received.tzinfo is None:
            received = received.replace(tzinfo=ZoneInfo("UTC"))
        meta = [
            sub.instance_id,
            sub.version,
            sub.username,
            sub.area_code,
            sub.area_name,
            received.astimezone(zone).replace(tzinfo=None),
        ]
        if household:
            meta.insert(1, sub.household_id)
        for table in tables:
            if table.key == MAIN:
                yield MAIN, meta + _cells(table, sub.data, deid, start)
                continue
            for item, own, parent, index in _instances(sub.data, table.chain, sub.instance_id):
                yield (
                    table.key,
                    [own, parent, index, sub.instance_id]
                    + _cells(table, item, deid, len(REPEAT_META)),
                )
