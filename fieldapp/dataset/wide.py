"""Flatten submissions into one row each: the layout behind the CSV export.

Columns (KoboToolbox-style names):

- meta: ``instance_id``, ``form_version``, ``submitted_by``, ``area_code``, ``area_name``,
  ``received_at`` (ISO 8601 in the configured time zone); a form that creates or updates
  entities has ``household_id`` after ``instance_id`` (``HOUSEHOLD_ID``);
- one per question, named by its group path and name joined with ``/``
  (``household/head_name``); questions inside repeats are widened as
  ``members[1]/age``, ``members[2]/age``… up to the largest count in the data;
- a select_multiple question gives its joined value plus one column per choice,
  ``conflict_types/dv``, in choice-list order: ``1`` chosen, ``0`` not chosen, empty when
  the question was not answered or not relevant.

All versions of a form export together: columns are the union, matched by name, newest
version's order first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Select

from fieldapp.dataset.identify import Deidentifier
from fieldapp.dataset.source import largest_repeat_counts
from fieldapp.i18n import N_
from fieldapp.surveys.xform_schema import data_questions

if TYPE_CHECKING:
    from fieldapp.surveys.models import Form

META_LABELS = [
    N_("提交编号"),
    N_("问卷版本"),
    N_("提交人"),
    N_("区划代码"),
    N_("区划"),
    N_("收到时间"),
]
# XLSForm metadata questions have no label of their own.
METADATA_LABELS = {
    "start": "开始时间",
    "end": "结束时间",
    "today": "填写日期",
    "deviceid": "设备编号",
    "username": "用户名",
    "phonenumber": "电话号码",
}
META_COLUMNS = [
    "instance_id",
    "form_version",
    "submitted_by",
    "area_code",
    "area_name",
    "received_at",
]
SKIP_TYPES = {"instance_id"}  # exported as the instance_id meta column
# Forms that create or update entities (issue 10) export the household's id right after
# the instance ID, so that their tables join the households export.
HOUSEHOLD_ID = "household_id"
HOUSEHOLD_LABEL = N_("家庭编号")


def household_column(names: Iterable[str]) -> str:
    """The household-id column's name among the export names ``names``: ``household_id``,
    or ``_household_id`` when a question is exported under that name already."""
    return f"_{HOUSEHOLD_ID}" if HOUSEHOLD_ID in set(names) else HOUSEHOLD_ID


@dataclass
class Question:
    """One exported question: path parts below the root and the repeats enclosing it."""

    name: str  # export name, e.g. "household/members/age"
    parts: list[str]  # element names below the root
    repeats: list[int]  # indexes into ``parts`` that are repeat elements
    q: dict  # the schema question (newest version that has it)


def merge_questions(schemas: Iterable[dict]) -> list[Question]:
    """Union of the data questions of several versions' schemas, newest first.

    A question in several versions keeps the newest version's labels and a type that
    holds every version's answers (``merge_types``); its choices are the newest list,
    then choices only older versions had, so that no older answer loses its code.
    """
    seen: dict[str, Question] = {}
    for schema in schemas:
        root = "/" + schema["root"] + "/"
        repeats = set(schema["repeats"])
        for q in data_questions(schema):
            if q["type"] in SKIP_TYPES or not q["path"].startswith(root):
                continue
            rel = q["path"][len(root) :]
            if rel in seen:
                seen[rel].q = merge_types(seen[rel].q, q)
                continue
            parts = rel.split("/")
            rep = [i for i in range(len(parts) - 1) if root + "/".join(parts[: i + 1]) in repeats]
            seen[rel] = Question(rel, parts, rep, q)
    return list(seen.values())


SELECTS = ("select_one", "select_multiple")


def merge_types(newer: dict, older: dict) -> dict:
    """A question as exported when two versions define it (a new dict; neither changes).

    Same type: the newer question, choices united. select_one in one version and
    select_multiple in the other: select_multiple (one code is a valid multiple answer).
    integer and decimal: decimal. Any other change of type: text, so that every answer
    survives as it was sent.
    """
    if newer is older:
        return newer
    merged = dict(newer)
    kinds = {newer["type"], older["type"]}
    types = {newer.get("data_type"), older.get("data_type")}
    if kinds <= set(SELECTS):
        merged["type"] = "select_multiple" if len(kinds) == 2 else newer["type"]
        have = {c["name"] for c in newer.get("choices") or []}
        extra = [c for c in older.get("choices") or [] if c["name"] not in have]
        if extra:
            merged["choices"] = [*(newer.get("choices") or []), *extra]
        merged["choices_static"] = bool(newer.get("choices_static")) and bool(
            older.get("choices_static")
        )
    elif types == {"int", "decimal"}:
        merged["type"], merged["data_type"] = "decimal", "decimal"
    elif kinds != {newer["type"]} or len(types) > 1:
        merged.update(type="text", data_type="string", choices=None, choices_static=False)
    return merged


def label_of(labels: dict, language: str | None) -> str:
    """The label in ``language`` if present, else the first non-empty one."""
    if language and labels.get(language):
        return labels[language]
    return next((v for v in labels.values() if v), "")


def _columns(
    parts: list[str], counts: dict[str, int], prefix: str = "", path: str = "", steps: tuple = ()
) -> Iterator[tuple[str, tuple]]:
    """(column name, access steps) of a question: a repeat (a key of ``counts``) widens
    to ``counts[key]`` numbered columns; the steps are the dict keys and list indexes that
    reach each value, worked out once per export."""
    if not parts:
        yield prefix.rstrip("/"), steps
        return
    part, rest = parts[0], parts[1:]
    key = f"{path}/{part}" if path else part
    if key in counts and rest:
        for n in range(1, counts[key] + 1):
            yield from _columns(rest, counts, f"{prefix}{part}[{n}]/", key, (*steps, part, n - 1))
    else:
        yield from _columns(rest, counts, f"{prefix}{part}/", key, (*steps, part))


def _get(data, steps: tuple) -> str | None:
    """Follow ``steps`` (dict keys, list indexes) into ``data``; a string or ``None``."""
    node = data
    for step in steps:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return None
            node = node[step]
        elif isinstance(node, dict):
            node = node.get(step)
        else:
            return None
    return node if isinstance(node, str) else None


class Layout:
    """Column names and row cells for a set of questions and repeat counts.

    ``labels=True`` writes choice labels (in ``language``) instead of codes; ``deid``
    removes, pseudonymises or coarsens identifying answers (see ``dataset.identify``).
    ``household=True`` (a form that creates or updates entities) adds the household-id
    meta column after ``instance_id`` (``self.household`` names it; the caller gives its
    cell among the meta cells).
    """

    def __init__(
        self,
        questions: list[Question],
        counts: dict[str, int],
        labels: bool = False,
        language: str | None = None,
        deid: Deidentifier | None = None,
        household: bool = False,
    ):
        self.deid = deid or Deidentifier(None)
        self.questions = [q for q in questions if not self.deid.removes(q.q)]
        self.counts = counts
        self.labels = labels
        self.language = language
        self.header = list(META_COLUMNS)
        self.header_labels = list(META_LABELS)  # the question label of each column
        self.household = household_column(q.name for q in questions) if household else None
        if self.household:
            self.header.insert(1, self.household)
            self.header_labels.insert(1, HOUSEHOLD_LABEL)
        for q in self.questions:
            label = (
                label_of(q.q.get("labels") or {}, language)
                or METADATA_LABELS.get(q.q["type"])
                or q.parts[-1]
            )
            for col, _ in _columns(q.parts, counts):
                split = self._split_choices(q)
                self.header.append(col)
                self.header.extend(f"{col}/{c['name']}" for c in split)
                self.header_labels.append(label)
                self.header_labels.extend(
                    f"{label}：{label_of(c['labels'], language) or c['name']}" for c in split
                )

        # Worked out once per export: each question, its split choices and access paths
        # (also what dataset.bulk builds its columns from).
        self.plan = [
            (q, self._split_choices(q), [steps for _, steps in _columns(q.parts, counts)])
            for q in self.questions
        ]

    @staticmethod
    def _split_choices(q: Question) -> list[dict]:
        if q.q["type"] == "select_multiple" and q.q.get("choices"):
            return q.q["choices"]
        return []

    def display(self, q: Question, value: str) -> str:
        if not self.labels or not value or not q.q.get("choices"):
            return value
        names = {
            c["name"]: label_of(c["labels"], self.language) or c["name"] for c in q.q["choices"]
        }
        if q.q["type"] == "select_multiple":
            return "; ".join(names.get(v, v) for v in value.split())
        return names.get(value, value)

    def row(self, meta: list, data: dict) -> list:
        """One row: meta cells then question cells, as strings ('' for blank)."""
        cells = list(meta)
        deid, plain = self.deid, not self.deid.active and not self.labels
        for q, split, columns in self.plan:
            for steps in columns:
                value = _get(data, steps)
                if not plain:
                    value = deid.value(q.q, value)
                value = value or ""
                cells.append(self.display(q, value) if self.labels else value)
                if split:
                    if value:
                        chosen = set(value.split())
                        cells.extend("1" if c["name"] in chosen else "0" for c in split)
                    else:
                        cells.extend("" for _ in split)
        return cells


def build_layout(
    form: Form,
    stmt: Select,
    labels: bool = False,
    language: str | None = None,
    deid: Deidentifier | None = None,
    household: bool = False,
) -> Layout:
    """Column layout for ``form`` over the submissions ``stmt`` selects; repeat widths
    come from the stored repeat counts (one aggregate query). ``household``: see
    ``Layout``."""
    questions = merge_questions(v.schema for v in reversed(form.versions))
    counts = largest_repeat_counts(stmt)
    keys = {"/".join(q.parts[: i + 1]) for q in questions for i in q.repeats}
    return Layout(
        questions,
        {k: counts.get(k, 0) for k in keys},
        labels=labels,
        language=language,
        deid=deid,
        household=household,
    )


def meta_cells(sub, tz: ZoneInfo) -> list[str]:
    """The meta columns of a submission."""
    received = sub.received_at
    if received.tzinfo is None:
        received = received.replace(tzinfo=ZoneInfo("UTC"))
    return [
        sub.instance_id,
        sub.form_version.version,
        sub.submitter.username,
        sub.area.code,
        sub.area.name,
        received.astimezone(tz).isoformat(timespec="seconds"),
    ]
