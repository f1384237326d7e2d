"""Figure definitions: the shipped defaults (``defaults.toml``), reading them checked, and
an admin's edits (validated before saving, audited).

A definition is data, never code: its condition is parsed by
``fieldapp.figures.condition``, its aggregate is one of ``count``, ``sum:<name>``,
``distinct_households``, its source a form id, ``households`` or
``household_versions`` (``fieldapp.figures.sources``)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from fieldapp.audit.services import record
from fieldapp.auth.models import utcnow
from fieldapp.extensions import db
from fieldapp.figures import condition as cond
from fieldapp.figures import sources
from fieldapp.figures.models import FigureDefinition

DEFAULTS = Path(__file__).with_name("defaults.toml")
COUNT, SUM, DISTINCT = "count", "sum", "distinct_households"
FIELDS = ("label", "group", "source", "condition", "aggregate", "date_field", "position", "active")
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_NAME = re.compile(r"[^\W\d][\w.\-]*")


class DefinitionError(ValueError):
    """A definition that cannot be used: the message (Chinese) names the figure."""


@dataclass(frozen=True)
class Aggregate:
    """``kind`` count, sum or distinct_households; ``name`` the question summed."""

    kind: str
    name: str = ""


def parse_aggregate(text: str) -> Aggregate:
    """``count``, ``sum:<name>`` or ``distinct_households``; ``ValueError`` otherwise."""
    text = (text or "").strip()
    if text in (COUNT, DISTINCT):
        return Aggregate(text)
    kind, _sep, name = text.partition(":")
    if kind.strip() == SUM and _NAME.fullmatch(name.strip()):
        return Aggregate(SUM, name.strip())
    raise ValueError(
        _("汇总方式“%(a)s”无效：应为 count、sum:题目名称 或 distinct_households", a=text)
    )


def _who(defn) -> str:
    return _("指标“%(label)s”（%(key)s）", label=defn.label or "", key=defn.key or "")


@dataclass
class Checked:
    """A definition read and checked: its parsed ``condition`` and ``aggregate``, and a
    ``problem`` (Chinese) when it cannot be computed as it stands."""

    defn: FigureDefinition
    condition: cond.Condition | None
    aggregate: Aggregate | None
    problem: str | None = None

    @property
    def names(self) -> list[str]:
        """Every name it reads: the condition's, then the summed one."""
        names = list(self.condition.names) if self.condition else []
        if self.aggregate and self.aggregate.name and self.aggregate.name not in names:
            names.append(self.aggregate.name)
        return names


def check(defn: FigureDefinition) -> Checked:
    """Parse ``defn``'s condition and aggregate; a parse error becomes ``problem``,
    naming the figure and the character position."""
    try:
        condition = cond.parse(defn.condition)
    except cond.ConditionError as exc:
        return Checked(defn, None, None, _("%(who)s的条件%(err)s", who=_who(defn), err=exc))
    try:
        aggregate = parse_aggregate(defn.aggregate)
    except ValueError as exc:
        return Checked(defn, condition, None, _("%(who)s：%(err)s", who=_who(defn), err=exc))
    return Checked(defn, condition, aggregate)


def validate(defn: FigureDefinition) -> list[str]:
    """Every reason ``defn`` may not be saved (empty: it may), each naming the figure:
    key and label, the source's form, the condition (position of a mistake), the
    aggregate, and names the source does not have (when its form is published or the
    households exist). A form not yet published is no error: its figure is 0 until it is
    (``warnings``)."""
    errors = []
    who = _who(defn)
    if not _KEY.fullmatch(defn.key or ""):
        errors.append(
            _("%(who)s：编号只能用小写英文字母、数字和下划线，以字母开头，最多 64 个字符", who=who)
        )
    if not (defn.label or "").strip():
        errors.append(_("%(who)s：请填写名称", who=who))
    if not _NAME.fullmatch(defn.source or ""):
        errors.append(
            _(
                "%(who)s：来源应为问卷编号（如 mediation_visit）、households 或 household_versions",
                who=who,
            )
        )
        return errors
    checked = check(defn)
    if checked.problem:
        errors.append(checked.problem)
        return errors
    source = _source(defn.source)
    if source.known is not None:
        unknown = [n for n in checked.names if n not in source.known]
        if defn.date_field and defn.date_field not in source.known:
            unknown.append(defn.date_field)
        if unknown:
            errors.append(
                _(
                    "%(who)s：来源 %(src)s 中没有 %(names)s",
                    who=who,
                    src=defn.source,
                    names=_("、").join(unknown),
                )
            )
    if defn.date_field and source.versions and source.day(defn.date_field) is None:
        errors.append(
            _("%(who)s：日期题 %(f)s 在重复组内，不能用来定年份", who=who, f=defn.date_field)
        )
    return errors


def warnings(defn: FigureDefinition) -> list[str]:
    """What an admin should know but may save: the source form is not published."""
    source = _source(defn.source)
    if source.missing:
        return [
            _(
                "%(who)s：问卷 %(form)s 尚未发布，发布并有数据之前此指标为 0",
                who=_who(defn),
                form=source.missing,
            )
        ]
    return []


def _source(key: str) -> sources.Source:
    if key in (sources.HOUSEHOLDS, sources.HOUSEHOLD_VERSIONS):
        props = sources.dataset_properties()
        make = sources.households_source if key == sources.HOUSEHOLDS else sources.versions_source
        return make(props)
    return sources.form_source(key, sources.form_schemas({key}).get(key), distinct=False)


# -- the table ------------------------------------------------------------------------


def read_defaults(path: Path = DEFAULTS) -> list[dict]:
    """The ``[[figure]]`` tables of ``defaults.toml``, each with its ``position`` (its
    order in the file, from 10 in steps of 10)."""
    with path.open("rb") as fh:
        figures = tomllib.load(fh).get("figure", [])
    return [{**f, "position": (i + 1) * 10} for i, f in enumerate(figures)]


def load_defaults(replace: bool = False, user_id: int | None = None) -> tuple[int, int]:
    """Add the shipped definitions whose key the table lacks; with ``replace``, put the
    shipped text back on those it has too (an admin's edits are lost). Returns (added,
    replaced). Flushes; the caller commits."""
    have = {d.key: d for d in db.session.scalars(select(FigureDefinition))}
    added = replaced = 0
    for values in read_defaults():
        key = values["key"]
        row = have.get(key)
        if row is None:
            db.session.add(FigureDefinition(key=key, active=True, **_shipped(values)))
            added += 1
        elif replace:
            for name, value in _shipped(values).items():
                setattr(row, name, value)
            row.active = True
            row.updated_by_id, row.updated_at = user_id, utcnow()
            replaced += 1
    db.session.flush()
    return added, replaced


def _shipped(values: dict) -> dict:
    return {
        "label": values["label"],
        "group": values.get("group", ""),
        "source": values["source"],
        "condition": values.get("condition", ""),
        "aggregate": values.get("aggregate", COUNT),
        "date_field": values.get("date_field", ""),
        "position": values["position"],
    }


def ensure_loaded() -> None:
    """On first use (no definition at all), load the shipped ones and commit them (the
    first use may be a page that changes nothing else). Two processes may do it at once
    (the background worker of each gunicorn worker, on a new instance's first start): the
    later one's insert meets the other's rows (unique ``key``), rolls back and reads them."""
    if not db.session.scalar(select(func.count()).select_from(FigureDefinition)):
        try:
            load_defaults()
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            if not db.session.scalar(select(func.count()).select_from(FigureDefinition)):
                raise  # not another process's rows: a real error


def all_definitions(active_only: bool = False) -> list[FigureDefinition]:
    """Definitions in page order (``position``, then key), loading the defaults first."""
    ensure_loaded()
    stmt = select(FigureDefinition).order_by(FigureDefinition.position, FigureDefinition.key)
    if active_only:
        stmt = stmt.where(FigureDefinition.active.is_(True))
    return list(db.session.scalars(stmt))


def get_definition(key: str) -> FigureDefinition | None:
    """The definition ``key``, or None."""
    return db.session.scalar(select(FigureDefinition).where(FigureDefinition.key == key))


def save(user_id: int | None, defn: FigureDefinition, values: dict, new: bool = False) -> list[str]:
    """Set ``values`` (of ``FIELDS``, and ``key`` when ``new``) on ``defn`` if it then
    validates; return the errors (nothing changed) or [] (saved, audited as
    ``figure_definition_create``/``_update`` with what changed; the caller commits)."""
    before = {name: getattr(defn, name) for name in FIELDS}
    with db.session.no_autoflush:  # nothing half-checked reaches the database
        for name, value in values.items():
            if name in FIELDS or (new and name == "key"):
                setattr(defn, name, value.strip() if isinstance(value, str) else value)
        if new and get_definition(defn.key or "") is not None:
            errors = [_("编号 %(key)s 已被另一个指标使用", key=defn.key)]
        else:
            errors = validate(defn)
        if errors:
            if not new:
                for name, value in before.items():
                    setattr(defn, name, value)
            return errors
    changed = {n: getattr(defn, n) for n in FIELDS if new or getattr(defn, n) != before[n]}
    defn.updated_by_id, defn.updated_at = user_id, utcnow()
    if new:
        db.session.add(defn)
    db.session.flush()
    action = "figure_definition_create" if new else "figure_definition_update"
    record(user_id, action, f"figure:{defn.key}", changed=changed)
    return errors
