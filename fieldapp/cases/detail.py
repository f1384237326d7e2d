"""One household's page (``/cases/<id>``) read from its versions: properties, referrals,
members of its registration, the history rows and the conflict a supervisor resolves.

What identifies a household (its label, the members' names, properties outside the
household vocabulary) is shown only to whom ``scope.may_identify_entity`` allows; the
members' other answers go through the form's own de-identification
(``fieldapp.dataset.identify``), as on the submission page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from fieldapp.cases import households as hh
from fieldapp.cases.models import HARD, Entity, EntityVersion
from fieldapp.dataset.identify import deidentifier
from fieldapp.dataset.wide import label_of
from fieldapp.scope import may_identify_entity

KINDS = {
    "create": _l("登记"),
    "update": _l("走访更新"),
    "assign": _l("分配"),
    "close": _l("结案"),
    "reopen": _l("重新打开"),
    "resolve": _l("处理冲突"),
    "edit": _l("修改"),
}
MEMBERS = "household_members"  # the screening form's repeat
MEMBER_NAME = "member_name"
MEMBER_FIELDS = (MEMBER_NAME, "relation", "member_sex", "member_age")


def kind_label(kind: str) -> str:
    """A version's kind in the UI language (登记, 走访更新, 分配…)."""
    return str(KINDS.get(kind, kind))


def shown_properties(person, entity: Entity, props: dict) -> list[tuple[str, str, str]]:
    """(name, label, value as shown) of ``props`` that ``person`` may see: the household
    vocabulary first in its order, then, for those who may identify the household, any
    other property by name."""
    rows = [
        (k, hh.property_label(k), hh.value_label(k, props[k]))
        for k in hh.PROPERTY_LABELS
        if k in props
    ]
    if may_identify_entity(person, entity):
        rows += [(k, k, v or "") for k, v in sorted(props.items()) if k not in hh.PROPERTY_LABELS]
    return rows


def referrals(versions: list[EntityVersion]) -> list[tuple[str, str, str]]:
    """(referral type, its latest outcome, when) for each referral type: every type of
    ``REFERRAL_TYPES`` in order, then any other type a version recorded; outcome and time
    empty for a type never referred to. Read from the versions that set
    ``last_referral``/``last_referral_outcome``."""
    latest: dict[str, tuple[str, object]] = {}
    for v in versions:
        received, data = v.received or {}, v.data or {}
        if hh.REFERRAL in received or hh.REFERRAL_OUTCOME in received:
            kind = (data.get(hh.REFERRAL) or "").strip()
            if kind:
                latest[kind] = (data.get(hh.REFERRAL_OUTCOME) or "", v.created_at)
    kinds = list(hh.REFERRAL_TYPES) + sorted(k for k in latest if k not in hh.REFERRAL_TYPES)
    return [
        (
            hh.value_label(hh.REFERRAL, k),
            hh.value_label(hh.REFERRAL_OUTCOME, latest[k][0]) if k in latest else "",
            latest[k][1] if k in latest else None,
        )
        for k in kinds
    ]


@dataclass
class Members:
    """The members recorded at registration: column labels and one row of shown values
    per member (``hidden_names``: the names were left out for this viewer)."""

    header: list[str]
    rows: list[list[str]]
    hidden_names: bool = False


def _language(schema: dict) -> str | None:
    code = f"({get_locale() or 'zh'})"
    return next(
        (lang for lang in schema.get("languages") or [] if lang.endswith(code)),
        schema.get("default_language"),
    )


def _find(data, key: str):
    """The list under ``key`` anywhere in a submission's nested ``data`` (groups)."""
    if isinstance(data, dict):
        if isinstance(data.get(key), list):
            return data[key]
        for value in data.values():
            found = _find(value, key)
            if found is not None:
                return found
    return None


def members(person, entity: Entity, versions: list[EntityVersion]) -> Members | None:
    """The ``household_members`` of the submission that registered ``entity`` (name,
    relation, sex, age, those its form has), or None when there are none. Names only for
    those who may identify the household; every value through the form's
    de-identification otherwise (``dataset.identify.deidentifier``)."""
    create = next((v for v in versions if v.kind == "create" and v.submission), None)
    items = _find(create.submission.data, MEMBERS) if create else None
    if not items:
        return None
    sub = create.submission
    schema = sub.form_version.schema
    questions = {q["name"]: q for q in schema["questions"]}
    identifying = may_identify_entity(person, entity)
    deid = deidentifier(sub.form, identifying, current_app.config["INSTANCE_PATH"])
    names = [
        n
        for n in MEMBER_FIELDS
        if n in questions
        and (identifying or n != MEMBER_NAME)
        and not deid.removes(questions[n])
        and any(isinstance(i, dict) and i.get(n) for i in items)
    ]
    if not names:
        return None
    language = _language(schema)
    header = [label_of(questions[n].get("labels") or {}, language) or n for n in names]
    rows = []
    for item in items:
        item = item if isinstance(item, dict) else {}
        row = []
        for n in names:
            q = questions[n]
            value = deid.value(q, item.get(n)) or ""
            choices = {c["name"]: c for c in q.get("choices") or []}
            if value in choices:
                value = label_of(choices[value].get("labels") or {}, language) or value
            row.append(value)
        rows.append(row)
    hidden = not identifying and MEMBER_NAME in questions
    return Members(header, rows, hidden_names=hidden)


@dataclass
class Conflict:
    """What a supervisor reviews before resolving: the versions made in parallel (from
    the oldest base version of the flagged ones on), the conflicting properties of a
    hard conflict (none for a soft one) and for each the values to choose from in the
    order the versions set them (the current one first when no version of these set
    it); ``current`` is the household's properties now."""

    kind: str
    versions: list[EntityVersion]
    properties: list[str]
    choices: dict[str, list[str]] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)

    def options(self, prop: str) -> list[tuple[str, list[EntityVersion]]]:
        """The values to choose from for ``prop``, each with the versions that set it."""
        return [
            (value, [v for v in self.versions if (v.received or {}).get(prop) == value])
            for value in self.choices.get(prop, [])
        ]


def conflict(
    person, entity: Entity, versions: list[EntityVersion], flagged: list[EntityVersion]
) -> Conflict | None:
    """The conflict of ``entity`` to resolve, as ``person`` may see it, or None when it
    has none. ``versions`` is its history (``services.history``), ``flagged`` the
    versions that arrived as conflicts since the last resolution
    (``services.conflict_details``). A property outside the household vocabulary is
    left out for those who may not identify the household."""
    if not entity.conflict or not flagged:
        return None
    identifying = may_identify_entity(person, entity)

    def visible(p: str) -> bool:
        return identifying or p in hh.PROPERTY_LABELS

    data = entity.data or {}
    props = [p for p in hh.PROPERTY_LABELS if p in data] + sorted(data)  # vocabulary first
    wanted = {p for v in flagged for p in (v.conflicting or []) if visible(p)}
    props = list(dict.fromkeys(p for p in props if p in wanted))
    bases = [v.base_version for v in flagged if v.base_version is not None]
    base = min(bases) if bases else flagged[0].version - 1
    flagged_ids = {v.id for v in flagged}
    later = [v for v in versions if v.version > base]
    if entity.conflict != HARD or not props:
        return Conflict(entity.conflict, later, [])
    involved = [v for v in later if v.id in flagged_ids or set(v.received or {}) & set(props)]
    choices = {}
    for p in props:
        values = []
        for v in involved:
            value = (v.received or {}).get(p)
            if value is not None and value not in values:
                values.append(value)
        current = data.get(p) or ""
        choices[p] = values if current in values else [current, *values]
    return Conflict(entity.conflict, involved, props, choices, data)
