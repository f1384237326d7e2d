"""The yearly figures' facts: what each source row adds to each figure, kept up to date
so that the figures page adds up small typed rows (``FigureFact``) instead of reading
every answer out of every submission's JSON (issue 11: the district's figures within
1 s at 20,000 households and 200,000 visits).

A fact is (definition, day, area, amount[, household]): a submission of a form (counted
where it was made, or for ``distinct_households`` in the household it names), a
household (``households``: its current state) or a household version
(``household_versions``). Conditions are judged here, in Python, once per distinct set
of answers (``fieldapp.figures.condition``: one meaning on both databases, repeats
included); nothing of a condition reaches SQL.

How the facts stay right (``catch_up``):

- A submission or household version not yet taken in has ``in_figures`` false (the
  partial index finds them). Taking one in replaces its facts (deleted, then made again:
  taking a row in twice changes nothing) and deletes the facts of the submission an edit
  replaces (``deprecated_id``); a household version also makes its household's
  ``households`` facts again (they read the household's current state, and every change
  of a household is a version). So rows committed in any order, by any host, are taken
  in exactly once in effect; no watermark of ids is trusted.
- A definition's facts were built for a revision (``FigureFactBuild``: a digest of its
  source, condition, aggregate, date field, active flag, the source form's versions and
  the time zone); another revision (an admin's edit, a new form version) builds them
  again from every row. A definition that cannot be computed has no facts.
- A submission with a held entity update (an offline branch waiting for an earlier
  update) is pending (``FigureFactPending``): its household facts are made again once
  nothing of it is held (the update applied or refused).
- One bringing-up-to-date runs at a time: each first locks the ``FigureFactState`` row.

``catch_up`` runs before the figures are read (``fieldapp.figures.compute``: the page
is always up to date), in the background worker (kind ``figure-facts``, every minute,
in batches) and as ``fieldapp figures refresh``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fieldapp.auth.models import utcnow
from fieldapp.cases.models import HELD, Entity, EntityOp, EntityVersion
from fieldapp.extensions import db
from fieldapp.figures import sources
from fieldapp.figures.definitions import DISTINCT, SUM, Checked
from fieldapp.figures.models import (
    FigureFact,
    FigureFactBuild,
    FigureFactPending,
    FigureFactState,
    FigureHousehold,
    FigureTally,
)
from fieldapp.submissions.models import Submission

CHUNK = 5000  # rows taken in (and ids in one IN list) per statement
WORKER_BATCH = 20000  # rows the background worker takes in per turn


@dataclass
class Plan:
    """A usable definition: its ``source``, the ``day`` its rows count on (expression,
    kind) and the ``revision`` its facts must have been built for."""

    checked: Checked
    source: sources.Source
    day: tuple
    revision: str

    @property
    def id(self) -> int:
        return self.checked.defn.id

    @property
    def group(self) -> tuple[str, str, bool]:
        """Definitions read together: same source, date field and kind of rows."""
        d = self.checked.defn
        return (d.source, d.date_field or "", self.distinct)

    @property
    def distinct(self) -> bool:
        return self.checked.aggregate.kind == DISTINCT


@dataclass
class Prepared:
    """The definitions ``checked`` made ready: a ``Plan`` for each usable active one,
    and for the others why not (``problems``: definition key → Chinese message)."""

    plans: dict[int, Plan] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def prepare(checked: list[Checked]) -> Prepared:
    """Plans for the active definitions of ``checked`` that can be computed: a parse
    error, a form not published or a date field the form lacks (or has inside a
    repeat) is a problem instead. Two queries (the forms' schemas, the households'
    properties), whatever the number of definitions."""
    out = Prepared()
    active = [c for c in checked if c.defn.active]
    for c in active:
        if c.problem:
            out.problems[c.defn.key] = c.problem
    usable = [c for c in active if c.problem is None]
    own = {sources.HOUSEHOLDS, sources.HOUSEHOLD_VERSIONS}
    forms = sources.form_schemas({c.defn.source for c in usable} - own)
    props = sources.dataset_properties() if any(c.defn.source in own for c in usable) else None
    tz = current_app.config["TIMEZONE"]
    for c in usable:
        d = c.defn
        source = _source(d.source, forms, props, c.aggregate.kind == DISTINCT)
        if source.missing:
            out.problems[d.key] = _("问卷 %(form)s 尚未发布", form=source.missing)
            continue
        day = source.day(d.date_field or "")
        if day is None:
            out.problems[d.key] = _(
                "日期题 %(f)s 不在问卷 %(form)s 中（或在重复组内）", f=d.date_field, form=d.source
            )
            continue
        found = forms.get(d.source)
        made_of = [d.source, d.condition, d.aggregate, d.date_field or "", tz]
        made_of.append(f"{found[0]}:{len(found[1])}" if found else "")
        revision = hashlib.sha256(json.dumps(made_of).encode()).hexdigest()
        out.plans[d.id] = Plan(c, source, day, revision)
    return out


def _source(key: str, forms, props, distinct: bool) -> sources.Source:
    if key == sources.HOUSEHOLDS:
        return sources.households_source(props)
    if key == sources.HOUSEHOLD_VERSIONS:
        return sources.versions_source(props)
    return sources.form_source(key, forms.get(key), distinct)


def catch_up(prepared: Prepared, limit: int | None = None) -> bool:
    """Bring the facts of ``prepared``'s plans, and their tallies, up to date (see the
    module), then commit. ``limit``: take in at most that many submissions and as many
    versions (the worker's batches); definitions to build are built whole. Returns True
    when rows were left for another call. The number of statements does not grow with
    the data when there is nothing new, nor with the number of rows taken in; when
    there is nothing new it writes nothing (a page view takes no lock)."""
    plans = prepared.plans
    if _up_to_date(plans):
        return False
    _claim()
    builds = _builds()
    gone = [d for d in builds if d not in plans]
    if gone:
        _drop(gone)
        db.session.execute(delete(FigureFactBuild).where(FigureFactBuild.definition_id.in_(gone)))
    subs = _waiting(Submission, limit)
    versions = _waiting(EntityVersion, limit)
    changes = _Changes({p.id for p in plans.values() if p.distinct})
    stale = [p for p in plans.values() if builds.get(p.id) != p.revision]
    if stale:
        _drop([p.id for p in stale])
        for group in _groups(stale):
            _make(changes, group, None)
        for p in stale:
            db.session.merge(FigureFactBuild(definition_id=p.id, revision=p.revision))
    rest = [p for p in plans.values() if builds.get(p.id) == p.revision]
    for ids in _chunks(subs):
        _take_submissions(changes, rest, ids)
    for ids in _chunks(versions):
        _take_versions(changes, rest, ids)
    _settle(changes, list(plans.values()))
    changes.flush()
    _commit_keeping_loaded()
    return limit is not None and (len(subs) >= limit or len(versions) >= limit)


def _builds() -> dict[int, str]:
    """Definition id → the revision its facts were built for."""
    revisions = select(FigureFactBuild.definition_id, FigureFactBuild.revision)
    return dict(db.session.execute(revisions).all())


def _held() -> set[int]:
    """Submissions with a held household update."""
    held = select(EntityOp.submission_id).where(
        EntityOp.state == HELD, EntityOp.dataset == sources.DATASET
    )
    return set(db.session.scalars(held))


def _up_to_date(plans: dict[int, Plan]) -> bool:
    """True when nothing waits: every plan built for its revision (and no other), no
    submission or version to take in, the pending submissions exactly the held ones.
    Reads only: ``catch_up`` then returns without locking or writing."""
    builds = _builds()
    if builds != {p.id: p.revision for p in plans.values()}:
        return False
    if _waiting(Submission, 1) or _waiting(EntityVersion, 1):
        return False
    return _held() == set(db.session.scalars(select(FigureFactPending.submission_id)))


def _drop(definition_ids: list[int]) -> None:
    """Delete every fact and tally of ``definition_ids`` (to be built again, or gone)."""
    for model in (FigureFact, FigureTally, FigureHousehold):
        db.session.execute(delete(model).where(model.definition_id.in_(definition_ids)))


class _Changes:
    """The facts one bringing-up-to-date adds and removes, and what they change in the
    tallies (counts and sums per area and month; distinct households per half-year),
    written together by ``flush``."""

    def __init__(self, distinct: set[int]):
        self.distinct = distinct  # definitions counting distinct households
        self.tallies: dict[tuple, list] = defaultdict(lambda: [0.0, 0])
        self.households: dict[tuple, list] = {}
        self.removed = False

    def _count(self, defn: int, day: date, area: int, amount: float, entity, sign: int):
        if defn in self.distinct:
            key = (defn, entity, day.year * 2 + (day.month > 6))
            self.households.setdefault(key, [area, 0])[1] += sign
        else:
            tally = self.tallies[(defn, day.replace(day=1), area)]
            tally[0] += sign * amount
            tally[1] += sign

    def add(self, batch: list[dict]) -> None:
        """Insert the facts ``batch`` (``FigureFact`` columns)."""
        db.session.connection().execute(insert(FigureFact.__table__), batch)  # no ORM
        for f in batch:
            self._count(f["definition_id"], f["day"], f["area_id"], f["amount"], f["entity_id"], 1)

    def remove(self, *where) -> None:
        """Delete the facts ``where`` selects."""
        cols = (FigureFact.definition_id, FigureFact.day, FigureFact.area_id)
        found = db.session.execute(
            select(*cols, FigureFact.amount, FigureFact.entity_id).where(*where)
        ).all()
        if found:
            for row in found:
                self._count(*row, -1)
            db.session.execute(delete(FigureFact).where(*where))
            self.removed = True

    def flush(self) -> None:
        """Write the tallies' changes (an upsert each), and delete those left with no
        fact."""
        rows = [
            {"definition_id": d, "month": m, "area_id": a, "amount": amount, "facts": n}
            for (d, m, a), (amount, n) in self.tallies.items()
            if n or amount
        ]
        _upsert(FigureTally, rows, ["definition_id", "month", "area_id"], ["amount", "facts"])
        rows = [
            {"definition_id": d, "entity_id": e, "half": h, "area_id": a, "facts": n}
            for (d, e, h), (a, n) in self.households.items()
            if n
        ]
        _upsert(FigureHousehold, rows, ["definition_id", "entity_id", "half"], ["facts"])
        if self.removed:
            for model in (FigureTally, FigureHousehold):
                db.session.execute(delete(model).where(model.facts <= 0))


def _upsert(model, rows: list[dict], keys: list[str], adds: list[str]) -> None:
    """Insert ``rows`` into ``model``'s table, adding ``adds`` to the row already there
    with the same ``keys`` (SQLite and PostgreSQL: ``ON CONFLICT … DO UPDATE``)."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    make = postgresql_insert if dialect == "postgresql" else sqlite_insert
    for i in range(0, len(rows), CHUNK):
        stmt = make(model)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c: getattr(model, c) + getattr(stmt.excluded, c) for c in adds},
        )
        db.session.execute(stmt, rows[i : i + CHUNK])


def _commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds: the definitions, the person and
    the area a page has loaded stay usable without being read again."""
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


def _claim() -> None:
    """Lock the state row (made on first use): one bringing-up-to-date at a time."""
    done = db.session.execute(
        update(FigureFactState)
        .where(FigureFactState.id == 1)
        .values(runs=FigureFactState.runs + 1, updated_at=utcnow())
    )
    if done.rowcount == 0:
        db.session.add(FigureFactState(id=1, runs=1, updated_at=utcnow()))
        db.session.flush()


def _waiting(model, limit: int | None) -> list[int]:
    """Ids of ``model``'s rows not yet taken in (any form, test data too: they are
    marked taken in with no facts)."""
    # Spelled as the partial index's condition, so that both databases use that index.
    waiting = text(f"NOT {model.__tablename__}.in_figures")
    stmt = select(model.id).where(waiting).order_by(model.id)
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _groups(plans: Iterable[Plan], kinds: set[str] | None = None) -> list[list[Plan]]:
    """``plans`` by ``Plan.group`` (only sources of ``kinds``: "form", "households",
    "versions"; None: all)."""
    out: dict[tuple, list[Plan]] = defaultdict(list)
    for p in plans:
        if kinds is None or _kind(p) in kinds:
            out[p.group].append(p)
    return list(out.values())


def _kind(plan: Plan) -> str:
    key = plan.checked.defn.source
    if key == sources.HOUSEHOLDS:
        return "households"
    if key == sources.HOUSEHOLD_VERSIONS:
        return "versions"
    return "form"


def _of_plans(plans: Iterable[Plan]):
    """The clause "a fact of one of ``plans``", never chosen as the index to search by
    (``+ 0``): the facts of a few rows are found by the row's id, not among every fact of
    the definitions (SQLite would otherwise pick the definitions' index)."""
    return (FigureFact.definition_id + 0).in_([p.id for p in plans])


def _take_submissions(changes: _Changes, plans: list[Plan], ids: list[int]) -> None:
    """Take in the submissions ``ids``: their facts made again for ``plans``' forms,
    those of the submissions they replace deleted, all marked taken in."""
    forms = [p for p in plans if _kind(p) == "form"]
    if forms:
        changes.remove(FigureFact.submission_id.in_(ids), _of_plans(forms))
        for group in _groups(forms):
            _make(changes, group, [Submission.id.in_(ids)])
    replaced = select(Submission.deprecated_id).where(
        Submission.id.in_(ids), Submission.deprecated_id.is_not(None)
    )
    changes.remove(
        FigureFact.submission_id.in_(
            select(Submission.id).where(Submission.instance_id.in_(replaced))
        )
    )
    db.session.execute(update(Submission).where(Submission.id.in_(ids)).values(in_figures=True))


def _take_versions(changes: _Changes, plans: list[Plan], ids: list[int]) -> None:
    """Take in the household versions ``ids``: their ``household_versions`` facts, and
    the ``households`` facts of their households, made again; all marked taken in."""
    of_versions = [p for p in plans if _kind(p) == "versions"]
    if of_versions:
        changes.remove(FigureFact.version_id.in_(ids), _of_plans(of_versions))
        for group in _groups(of_versions):
            _make(changes, group, [EntityVersion.id.in_(ids)])
    of_households = [p for p in plans if _kind(p) == "households"]
    if of_households:
        changed = select(EntityVersion.entity_id).where(EntityVersion.id.in_(ids))
        changes.remove(
            FigureFact.entity_id.in_(changed),
            _of_plans(of_households),
        )
        for group in _groups(of_households):
            _make(changes, group, [Entity.id.in_(changed)])
    db.session.execute(
        update(EntityVersion).where(EntityVersion.id.in_(ids)).values(in_figures=True)
    )


def _settle(changes: _Changes, plans: list[Plan]) -> None:
    """Keep the pending submissions (those with a held household update) and make the
    household facts of those no longer held again."""
    held = _held()
    pending = set(db.session.scalars(select(FigureFactPending.submission_id)))
    if held - pending:
        db.session.execute(
            insert(FigureFactPending), [{"submission_id": s} for s in sorted(held - pending)]
        )
    settled = sorted(pending - held)
    if not settled:
        return
    distinct = [p for p in plans if _kind(p) == "form" and p.distinct]
    for ids in _chunks(settled):
        if distinct:
            changes.remove(FigureFact.submission_id.in_(ids), _of_plans(distinct))
            for group in _groups(distinct):
                _make(changes, group, [Submission.id.in_(ids)])
        db.session.execute(
            delete(FigureFactPending).where(FigureFactPending.submission_id.in_(ids))
        )


# -- making facts ------------------------------------------------------------------------


def _make(changes: _Changes, group: list[Plan], where: list | None) -> None:
    """Insert the facts of ``group`` (definitions of one ``Plan.group``) for the rows
    ``where`` selects (None: every row of the source)."""
    first = group[0]
    source = first.source
    kind = _kind(first)
    cols, of_name = _columns(source, [p.checked for p in group])
    judge = _judge([p.checked for p in group], cols, of_name)
    day_expr, day_kind = first.day
    lead = [
        (Submission.id if kind == "form" else None),
        (EntityVersion.id if kind == "versions" else None),
        source.entity if (kind != "form" or first.distinct) else None,
        source.area,
    ]
    present = [c for c in lead if c is not None]
    stmt = source.base([*present, day_expr, *[c.expr for c in cols]])
    if where:
        stmt = stmt.where(*where)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    conn = db.session.connection()
    rows = conn.execute(stmt.execution_options(yield_per=CHUNK))
    batch: list[dict] = []
    width = len(present)
    for row in rows:
        day = _day(row[width], day_kind, zone)
        if day is None:
            continue
        values = iter(row[:width])
        sub, ver, ent, area = (next(values) if c is not None else None for c in lead)
        for plan, amount in zip(group, judge(tuple(row[width + 1 :])), strict=True):
            if amount:
                batch.append(
                    {
                        "definition_id": plan.id,
                        "day": day,
                        "area_id": area,
                        "amount": amount,
                        "entity_id": ent,
                        "submission_id": sub,
                        "version_id": ver,
                    }
                )
        if len(batch) >= CHUNK:
            changes.add(batch)
            batch = []
    if batch:
        changes.add(batch)


def _day(raw, kind: str, zone: ZoneInfo) -> date | None:
    """The local date a row counts on: a date column, an ISO date (or dateTime) answer
    (its first ten characters; None when it is no date), a UTC time stamp in ``zone``."""
    if raw is None:
        return None
    if kind == "date":
        return raw if isinstance(raw, date) else date.fromisoformat(str(raw)[:10])
    if kind == "text":
        try:
            return date.fromisoformat(str(raw).strip()[:10])
        except ValueError:
            return None
    if isinstance(raw, str):
        raw = datetime.fromisoformat(raw)
    if raw.tzinfo is None:
        raw = raw.replace(tzinfo=UTC)
    return raw.astimezone(zone).date()


def _columns(source: sources.Source, group: list[Checked]):
    """The columns the figures of ``group`` read, and for each name its column indexes."""
    cols: list[sources.Column] = []
    of_name: dict[str, list[int]] = {}
    for c in group:
        for name in c.names:
            if name not in of_name:
                found = source.columns(name)
                of_name[name] = list(range(len(cols), len(cols) + len(found)))
                cols.extend(found)
    return cols, of_name


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _judge(group: list[Checked], cols, of_name):
    """A function from the values read (a tuple, one per column) to each figure's amount
    for one row: 0 when its condition does not hold, else 1 (counts, households) or the
    sum of the summed answers; memoised (rows with the same answers judged once)."""
    memo: dict[tuple, list[float]] = {}

    def judge(raw: tuple) -> list[float]:
        found = memo.get(raw)
        if found is None:
            cache: dict[str, list[str]] = {}

            def values(name: str) -> list[str]:
                if name not in cache:
                    cache[name] = [v for i in of_name.get(name, ()) for v in cols[i].values(raw[i])]
                return cache[name]

            found = []
            for c in group:
                if not c.condition.holds(values):
                    found.append(0)
                elif c.aggregate.kind == SUM:
                    found.append(sum(_number(v) for v in values(c.aggregate.name)))
                else:
                    found.append(1)
            memo[raw] = found
        return found

    return judge


def run_figure_facts(app, worker: str) -> bool:
    """The worker's ``figure-facts`` kind: take in up to ``WORKER_BATCH`` new rows (and
    build what definitions need); True when more are waiting."""
    from fieldapp.figures.definitions import all_definitions, check

    return catch_up(prepare([check(d) for d in all_definitions()]), limit=WORKER_BATCH)
