"""Reading a figure source once for all its figures: one SQL statement per (source,
date field, kind of aggregate), whatever the number of rows.

Each statement groups the rows (``GROUP BY``) by area and half-year (counts, sums) or by
household (distinct households, with the half-years it has rows in as a bit mask), and
by the values the conditions read, so that identical rows arrive once with their
number; each distinct group is then judged once in Python (``condition`` never reaches
SQL: one meaning on both databases, repeats included).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import String, case, cast, distinct, func, select

from fieldapp.extensions import db
from fieldapp.figures import sources
from fieldapp.figures.definitions import SUM, Checked


class Totals:
    """What one figure adds up: per area and half-year, an amount (counts, sums); or,
    for distinct households, each household's area and the half-years it counts in
    (a bit mask: bit ``h`` for half-year ``h`` of ``sources.Periods``)."""

    def __init__(self):
        self.amounts: dict[tuple[int, int], float] = defaultdict(float)
        self.households: dict[int, list] = {}  # household id → [its area, half-year bits]
        self.distinct = False


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


# Read several answers of a row with one parse of its JSON (SQLite's json_extract with
# several paths gives a JSON array). PostgreSQL reads each on its own.
PACK_JSON = {"sqlite"}


def _json_path(parts: list[str]) -> str:
    return "$" + "".join(f'."{p}"' for p in parts)


def _packed(dialect: str, day, cols) -> tuple:
    """When ``dialect`` reads several answers with one parse: (the JSON column, the
    paths, slot of each read: "d" for the day, ``f<i>`` for column i); else None."""
    if dialect not in PACK_JSON:
        return None
    json_col = day[2][0] if day[2] else next((c.json for c in cols if c.json is not None), None)
    if json_col is None:
        return None
    paths, slots = [], {}
    if day[2] and day[2][0] is json_col:
        slots["d"] = len(paths)
        paths.append(_json_path(day[2][1]))
    for i, c in enumerate(cols):
        if c.json is json_col:
            slots[f"f{i}"] = len(paths)
            paths.append(_json_path(c.parts))
    return (json_col, paths, slots) if len(paths) > 1 else None


def _rows(source, root, day, bounds, lead: list, cols):
    """``source``'s rows in ``root``'s subtree and the two years: a subquery with the
    ``lead`` columns, the half-year ``h`` (0–3) and the values ``f0``….

    A day read from the answers (text) is read once per row: those rows are a fenced
    subquery (``OFFSET 0``: not folded into the next one) and the years are kept on its
    column; on SQLite the day and the answers come out of one parse of the row's JSON
    (``_packed``). A stored day (``filled_on``, ``created_at``) is filtered inside, where
    its index serves. The half-year is a column of its own, so that grouping by it never
    repeats an expression with parameters (PostgreSQL would not match them)."""
    expr, kind, _json = day
    outside = kind == "text"  # the years kept outside the (fenced) rows
    exprs = {"d": expr, **{f"f{i}": c.expr for i, c in enumerate(cols)}}
    packed = _packed(db.session.connection().dialect.name, day, cols)
    if packed:
        json_col, paths, slots = packed
        exprs = {k: v for k, v in exprs.items() if k not in slots}
        exprs["j"] = func.json_extract(json_col, *paths)
    columns = [*lead, *[v.label(k) for k, v in exprs.items()]]
    stmt = source.base(root, expr, None if outside else bounds, columns)
    inner = (stmt.offset(0) if outside or packed else stmt).subquery()
    names = [c.name for c in lead] + ["d"] + [f"f{i}" for i in range(len(cols))]
    if packed:
        unpack = {
            k: cast(func.json_extract(inner.c.j, f"$[{n}]"), String) for k, n in slots.items()
        }
        inner = select(*[(unpack[n] if n in unpack else inner.c[n]).label(n) for n in names])
        inner = inner.subquery()
    keep = sources.in_range(inner.c.d, bounds) if outside else []
    half = sources.bucket(inner.c.d, bounds).label("h")
    return select(*[inner.c[n] for n in names if n != "d"], half).where(*keep).subquery()


def read_counts(source, group: list[Checked], root, day, bounds, totals) -> None:
    """Counts and sums of ``group``'s figures, per area (where the row was made) and
    half-year, into ``totals``."""
    cols, of_name = _columns(source, group)
    judge = _judge(group, cols, of_name)
    amounts = [totals[c.defn.key].amounts for c in group]
    rows = _rows(source, root, day, bounds, [source.area.label("a")], cols)
    keys = [rows.c.a, rows.c.h, *[rows.c[f"f{i}"] for i in range(len(cols))]]
    stmt = select(*keys, func.count()).group_by(*keys)
    for row in db.session.connection().execute(stmt):
        n = row[-1]
        for i, amount in enumerate(judge(tuple(row[2:-1]))):
            if amount:
                amounts[i][(row[0], row[1])] += amount * n


def read_distinct(source, group: list[Checked], root, day, bounds, totals) -> None:
    """Distinct households of ``group``'s figures: each household with its area and the
    half-years it counts in (a bit mask summed in SQL), into ``totals``."""
    cols, of_name = _columns(source, group)
    judge = _judge(group, cols, of_name)
    found = [totals[c.defn.key].households for c in group]
    for c in group:
        totals[c.defn.key].distinct = True
    lead = [source.entity.label("e"), source.area.label("a")]
    rows = _rows(source, root, day, bounds, lead, cols)
    bits = case(*[(rows.c.h == h, 1 << h) for h in (3, 2, 1)], else_=1)
    keys = [rows.c.e, rows.c.a, *[rows.c[f"f{i}"] for i in range(len(cols))]]
    stmt = select(*keys, func.sum(distinct(bits))).group_by(*keys)
    for row in db.session.connection().execute(stmt):
        for i, amount in enumerate(judge(tuple(row[2:-1]))):
            if amount:
                have = found[i].get(row[0])
                if have is None:
                    found[i][row[0]] = [row[1], row[-1]]
                else:
                    have[1] |= row[-1]
