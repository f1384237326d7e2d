"""Households at a district's size: the pages and lists people open, timed and counted.

Generates one district (10 towns × 10 villages, one mediator per village, a district
supervisor) with ``--households`` households (default 20,000: 200 per mediator) and
``--visits`` visits each (default 10: 200,000 visits), stored as the bundled screening
and visit forms store them (a submission and an entity version each), then opens, as a
logged-in user through the app (the Flask test client: no network), each of:

- ``mine``: a mediator's household list (``/cases/``, their 200 households);
- ``csv``: the households.csv their phone downloads with the visit form (and the
  304 answer when unchanged);
- ``district``: the district supervisor's overview (``/cases/``, every household);
- ``history``: one household's whole history (``/cases/<id>``);
- ``figures``: the district supervisor's yearly figures (``/figures/?year=2026``: every
  default figure of the year and the year before, per town, from the screenings, the
  visits with their answers and the households' history), added up from the figures'
  facts (``fieldapp.figures.facts``); ``fig-build`` is the first open after the bulk
  load, which builds every figure's facts from all the rows (as after an upgrade),
  ``fig+100`` an open after 100 more visits arrived (taken in first), ``fig-edit`` an
  open after an admin edited the figure ``visits`` (its facts built again from every
  visit);
- ``complete``: the completeness of a monthly report on the visit form for the year
  (``bench/completeness.py``'s district: zero reports, a silent village).

Each is run ``--repeat`` times; the median time and the number of SQL statements are
printed, for the full size and for a tenth of it in the same run (query counts must not
grow with the number of households), with the baseline of the same run: the login page
(``login``, a page that reads no household) to show what any request costs.
Target (issue 10): every page under 300 ms at full size on a 2-core machine.

    .venv/bin/python bench/cases.py [--households 20000] [--visits 10] [--repeat 5]
        [--database sqlite|postgresql|both]

PostgreSQL: database ``fieldapp_bench`` on 127.0.0.1 (made if missing, emptied first).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/fieldapp_bench"
PASSWORD = "bench-password-9"
TODAY = date(2026, 12, 2)


def fresh_pg() -> str:
    """An empty PostgreSQL database for the bench."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS fieldapp_bench WITH (FORCE)")
        c.execute("CREATE DATABASE fieldapp_bench")
    return PG_URL


def populate(url: str, folder: Path, households: int, visits: int):
    """Areas, users, the bundled forms and ``households`` households with ``visits``
    visits each; returns (app, mediator username, one household id)."""
    from sqlalchemy import insert, select, update

    from fieldapp import create_app
    from fieldapp.areas.services import create_area
    from fieldapp.cases.models import Dataset, Entity, EntityOp, EntityVersion
    from fieldapp.extensions import db
    from fieldapp.figures.definitions import load_defaults
    from fieldapp.migrate import upgrade
    from fieldapp.submissions.models import Submission
    from fieldapp.surveys.services import import_xlsform

    upgrade(url)
    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(folder),
            "SECRET_KEY": "b",
            "TESTING": True,
            "RATELIMIT_ENABLED": False,  # the bench logs in once per page measured
        }
    )
    rng = random.Random(10)
    with app.app_context():
        city = create_area("9900", "测试市", "city")
        district = create_area("990001", "测试区", "district", city)
        villages, mediators = [], []
        for t in range(10):
            town = create_area(f"990001{t:03d}", f"第{t + 1}镇", "town", district)
            for v in range(10):
                village = create_area(
                    f"990001{t:03d}{v:03d}", f"第{t + 1}镇{v + 1}村", "village", town
                )
                villages.append(village)
                mediators.append(_user(f"m{t}{v}", "mediator", village, f"调解员{t}{v}"))
        _user("sup", "supervisor", district, "区督导")
        forms = {}
        for name in ("family_screening", "mediation_visit"):
            path = ROOT / "questionnaires" / f"{name}.xlsx"
            forms[name] = import_xlsform(path.read_bytes(), path.name, city).form_version
        load_defaults()  # the figure definitions, as a server has them after first use
        db.session.commit()
        ds = db.session.scalar(select(Dataset).where(Dataset.name == "households"))
        screening, visit_form = forms["family_screening"], forms["mediation_visit"]
        start = datetime(2026, 1, 1, tzinfo=UTC)
        # Visits made over two years (the figures compare a year with the one before);
        # they arrive as before (bench/completeness.py dates its periods by arrival).
        visits_from = datetime(2025, 1, 1, tzinfo=UTC)
        per = max(1, households // len(mediators))
        sub_id = ver_id = 0
        subs, ents, vers, ops = [], [], [], []

        def flush():
            if subs:
                db.session.execute(insert(Submission), subs)
            if ents:
                db.session.execute(insert(Entity), ents)
            if vers:
                db.session.execute(insert(EntityVersion), vers)
            if ops:
                db.session.execute(insert(EntityOp), ops)
            subs.clear(), ents.clear(), vers.clear(), ops.clear()

        first = None
        for n in range(households):
            m = mediators[min(n // per, len(mediators) - 1)]
            hid = str(uuid.UUID(int=rng.getrandbits(128)))
            first = first or (hid, m.username)
            risk = rng.choice(["low", "medium", "high", "serious"])
            due = TODAY + timedelta(days=rng.randint(-30, 60))
            data = {
                "risk_level": risk,
                "case_status": "following",
                "next_visit_date": due.isoformat(),
                "village": m.area.name,
                "member_count": "4",
                "minor_count": "1",
            }
            sub_id += 1
            when = start + timedelta(minutes=n)
            subs.append(_sub(sub_id, screening, m, f"uuid:h{n}", when, _screening(when, m, risk)))
            ent_id = n + 1
            versions = [("create", sub_id, data, when)]
            for k in range(visits):
                sub_id += 1
                when = visits_from + timedelta(days=k * 73 + n % 60, minutes=n)
                status = "paired" if rng.random() < 0.2 else "following"
                answers = _visit(when, hid, rng.choice(OUTCOMES), status)
                arrived = start + timedelta(days=k * 20, minutes=n)
                subs.append(
                    _sub(sub_id, visit_form, m, f"uuid:v{n}-{k}", arrived, answers, when.date())
                )
                versions.append(
                    (
                        "update",
                        sub_id,
                        {"last_visit_date": when.date().isoformat(), "case_status": status},
                        when,
                    )
                )
            current = {}
            for i, (kind, sid, received, when) in enumerate(versions, start=1):
                ver_id += 1
                current = {**current, **received}
                ops.append(
                    {
                        "submission_id": sid,
                        "dataset": "households",
                        "entity_uuid": hid,
                        "action": kind,
                        "state": "applied",
                        "version_id": ver_id,
                        "created_at": when,
                        "processed_at": when,
                    }
                )
                vers.append(
                    {
                        "id": ver_id,
                        "entity_id": ent_id,
                        "version": i,
                        "kind": kind,
                        "label": f"户{n}家",
                        "data": current,
                        "received": received,
                        "submission_id": sid,
                        "actor_id": m.id,
                        "assigned_to_id": m.id,
                        "created_at": when,
                    }
                )
            ents.append(
                {
                    "id": ent_id,
                    "uuid": hid,
                    "dataset_id": ds.id,
                    "label": f"户{n}家",
                    "version": len(versions),
                    "data": current,
                    "area_id": m.area_id,
                    "assigned_to_id": m.id,
                    "created_by_id": m.id,
                    "created_at": start,
                    "updated_at": start,
                    "stamp": ver_id,
                    "risk": risk,
                    "status": "following",
                    "next_visit_due": due,
                    "last_visit_date": None,
                }
            )
            if len(subs) > 5000:
                flush()
        flush()
        # What is stored before the figures' facts exist is taken in by their first
        # build, as after the upgrade that made them (migration 0011 marks it so).
        for model in (Submission, EntityVersion):
            db.session.execute(update(model).values(in_figures=True))
        db.session.commit()
        if url.startswith("postgresql"):
            for table in ("submissions", "entities", "entity_versions", "entity_ops"):
                db.session.execute(
                    db.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        form_id, version = visit_form.form.form_id, visit_form.version
    return app, first[1], first[0], form_id, version


_HASH = {}


def _user(username: str, role: str, area, name: str):
    """A user with the bench password, hashed once (argon2 takes a while per hash)."""
    from fieldapp.auth.services import create_user
    from fieldapp.extensions import db

    if not _HASH:
        user = create_user(username, PASSWORD, role, area, name)
        _HASH["hash"] = user.password_hash
        return user
    from fieldapp.auth.models import User

    user = User(
        username=username,
        display_name=name,
        role=role,
        area=area,
        password_hash=_HASH["hash"],
    )
    db.session.add(user)
    db.session.flush()
    return user


OUTCOMES = ("success", "success", "partial", "failed", "referred")


def _screening(when: datetime, user, risk: str) -> dict:
    """A screening's answers as the bundled form stores them (groups, a repeat)."""
    day = when.date().isoformat()
    return {
        "start": when.isoformat(),
        "household_info": {"screening_date": day, "town": "第1镇", "village": user.area.name},
        "household": {
            "household_members": [
                {"member_name": "户主", "relation": "head", "member_age": "41"},
                {"member_name": "子女", "relation": "child", "member_age": "12"},
            ],
            "member_count": "2",
            "minor_count": "1",
        },
        "situation": {"has_conflict": "yes", "conflict_types": "family_conflict"},
        "risk": {"risk_level": risk, "referral": "none", "case_status": "open"},
    }


def _visit(when: datetime, hid: str, outcome: str, status: str) -> dict:
    """A visit's answers as the bundled form stores them (groups, a repeat)."""
    return {
        "start": when.isoformat(),
        "visit": {
            "household": hid,
            "visit_date": when.date().isoformat(),
            "visit_type": "home_visit",
            "participants": "mediator village_cadre",
        },
        "dispute": {
            "dispute_type": "marital",
            "parties": [{"party_role": "applicant", "party_name": "当事人", "party_sex": "female"}],
            "party_count": "1",
        },
        "work": {
            "measures": "listened mediated",
            "work_details": "上门了解情况，分别做双方工作，约定下次走访。",
            "outcome": outcome,
            "needs_followup": "yes",
        },
        "status": {"case_status": status, "risk_changed": "no"},
    }


def _sub(sid, fv, user, iid, when, data: dict | None = None, filled: date | None = None) -> dict:
    return {
        "id": sid,
        "instance_id": iid,
        "form_pk": fv.form_pk,
        "form_version_id": fv.id,
        "submitter_id": user.id,
        "area_id": user.area_id,
        "xml": "<data/>",
        "xml_sha256": "0" * 64,
        "data": data or {},
        "repeat_counts": {},
        "received_at": when,
        "filled_on": filled or when.date(),
    }


def _more_visits(app, n: int) -> None:
    """``n`` more visits arrive: copies of stored ones (new instance ids, same
    households), each with its applied entity block, not yet in the figures."""
    from sqlalchemy import func, insert, select

    from fieldapp.cases.models import EntityOp
    from fieldapp.extensions import db
    from fieldapp.submissions.models import Submission

    with app.app_context():
        top = db.session.scalar(select(func.max(Submission.id)))
        ops = db.session.execute(
            select(EntityOp.submission_id, EntityOp.entity_uuid)
            .where(EntityOp.action == "update")
            .order_by(EntityOp.id.desc())
            .limit(n)
        ).all()
        subs = db.session.scalars(select(Submission).where(Submission.id.in_([o[0] for o in ops])))
        by_id = {sub.id: sub for sub in subs}
        rows, new_ops = [], []
        for k, (sid, uuid_) in enumerate(ops, start=1):
            old = by_id[sid]
            rows.append(
                {
                    **{c: getattr(old, c) for c in _SUB_COLUMNS},
                    "id": top + k,
                    "instance_id": f"uuid:more-{top + k}",
                }
            )
            new_ops.append(
                {
                    "submission_id": top + k,
                    "dataset": "households",
                    "entity_uuid": uuid_,
                    "action": "update",
                    "state": "applied",
                }
            )
        db.session.execute(insert(Submission), rows)
        db.session.execute(insert(EntityOp), new_ops)
        db.session.commit()


def _edit_visits(app) -> None:
    """An admin edits the figure ``visits`` (its condition, back and forth): its facts
    are built again from every visit on the next open."""
    from sqlalchemy import select

    from fieldapp.extensions import db
    from fieldapp.figures.models import FigureDefinition

    with app.app_context():
        defn = db.session.scalar(select(FigureDefinition).where(FigureDefinition.key == "visits"))
        defn.condition = "" if defn.condition else "outcome != 'none'"
        db.session.commit()


_SUB_COLUMNS = (
    "form_pk",
    "form_version_id",
    "submitter_id",
    "area_id",
    "xml",
    "xml_sha256",
    "data",
    "repeat_counts",
    "received_at",
    "filled_on",
)


def measure(app, who: str, path: str, repeat: int, headers=None, before=None) -> dict:
    """Median ms and SQL statement count of GET ``path`` as ``who`` (logged in);
    ``before()`` runs before each GET, untimed."""
    from sqlalchemy import event

    from fieldapp.extensions import db

    client = app.test_client()
    if who:
        page = client.get("/login")
        token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
        token = token.split('"')[0]
        client.post("/login", data={"username": who, "password": PASSWORD, "csrf_token": token})
    count = [0]

    def tick(*_a, **_k):
        count[0] += 1

    with app.app_context():
        engine = db.engine
    times, status, size = [], None, 0
    event.listen(engine, "before_cursor_execute", tick)
    try:
        for _ in range(repeat):
            if before:
                before()
            count[0] = 0
            t0 = time.perf_counter()
            resp = client.get(path, headers=headers or {})
            times.append((time.perf_counter() - t0) * 1000)
            status, size = resp.status_code, len(resp.data)
            queries = count[0]
    finally:
        event.remove(engine, "before_cursor_execute", tick)
    return {"ms": statistics.median(times), "queries": queries, "status": status, "bytes": size}


def run(url: str, folder: Path, households: int, visits: int, repeat: int) -> dict:
    t0 = time.perf_counter()
    app, mediator, hid, form_id, version = populate(url, folder, households, visits)
    print(
        f"  {households:,} households, {households * visits:,} visits generated "
        f"in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    csv_path = f"/forms/{form_id}/versions/{version}/media/households.csv"
    out = {
        "login": measure(app, "", "/login", repeat),
        "mine": measure(app, mediator, "/cases/", repeat),
        "csv": measure(app, mediator, csv_path, repeat),
        "district": measure(app, "sup", "/cases/", repeat),
        "history": measure(app, "sup", f"/cases/{hid}", repeat),
    }
    # The yearly figures: the first open after a bulk load builds every figure's facts
    # from all the rows (as after an upgrade); then opens with nothing new, and opens
    # after 100 more visits arrived each time (taken in first).
    figures = f"/figures/?year={TODAY.year}"
    out["fig-build"] = measure(app, "sup", figures, 1)
    out["figures"] = measure(app, "sup", figures, repeat)
    out["fig+100"] = measure(app, "sup", figures, repeat, before=lambda: _more_visits(app, 100))
    out["fig-edit"] = measure(app, "sup", figures, repeat, before=lambda: _edit_visits(app))
    # Completeness of a monthly report on the visit form for the year (bench/completeness.py
    # measures it further: weekly, one town, the XLSX).
    from bench.completeness import add_reports

    monthly, _weekly = add_reports(app, url, form_id)
    year = "from=2026-01-01&to=2026-12-31"
    out["complete"] = measure(app, "sup", f"/reports/{monthly}?{year}", repeat)
    # The same list again, unchanged: the phone sends the ETag it has and gets 304.
    out["csv-304"] = measure(
        app, mediator, csv_path, repeat, headers={"If-None-Match": _etag(app, mediator, csv_path)}
    )
    return out


def _etag(app, who, path) -> str:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"username": who, "password": PASSWORD, "csrf_token": token})
    return client.get(path).headers.get("ETag", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--visits", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = {}
    for database in databases:
        for n in (args.households // 10, args.households):
            print(f"{database}, {n:,} households:", flush=True)
            with tempfile.TemporaryDirectory(prefix="fieldapp-bench-cases-") as tmp:
                url = f"sqlite:///{tmp}/bench.sqlite3" if database == "sqlite" else fresh_pg()
                results[(database, n)] = run(url, Path(tmp), n, args.visits, args.repeat)
    print()
    print(
        f"{'database':11}{'page':10}{'ms':>9}{'× login':>9}{'queries':>9}"
        f"{'queries @1/10':>15}{'status':>8}{'bytes':>10}"
    )
    for database in databases:
        big, small = (
            results[(database, args.households)],
            results[(database, args.households // 10)],
        )
        for page, r in big.items():
            print(
                f"{database:11}{page:10}{r['ms']:>9.1f}{r['ms'] / big['login']['ms']:>9.1f}"
                f"{r['queries']:>9}{small[page]['queries']:>15}{r['status']:>8}{r['bytes']:>10,}"
            )
    print(
        "target: every page < 300 ms at full size (figures, fig+100, complete: < 1 s; fig-build,"
        " fig-edit are once after an upgrade or an edit);"
        " queries equal at both sizes"
    )
    print(json.dumps({f"{d}:{n}": r for (d, n), r in results.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
