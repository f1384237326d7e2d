"""Completeness of a periodic report for a year, at a district's size (issue 11).

The district of ``bench/cases.py`` (10 towns × 10 villages, a mediator each, 20,000
households and 200,000 visits by default), each submission filled on the day it was
received, plus a zero report from every tenth village-month and one village silent in
October and November (a unit to chase); then, as the district
supervisor through the app (Flask test client), for a year (1 January to 31 December):

- ``monthly``: the completeness page of a monthly report on the visit form (district →
  its ten towns, 12 periods);
- ``weekly``: the same as a weekly report (53 periods);
- ``town``: one town's page, its ten villages' statuses per month;
- ``xlsx``: the monthly page's Excel file.

Each is run ``--repeat`` times; the median time and the number of SQL statements are
printed for the full size and a tenth of it (the statements must not grow with the data).
Target (issue 11): under 1 s each at full size.

    .venv/bin/python bench/completeness.py [--households 20000] [--visits 10] [--repeat 5]
        [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cases import PASSWORD, fresh_pg, measure, populate  # noqa: E402


def prepare(url: str, folder: Path, households: int, visits: int) -> tuple:
    """The bench district, ``filled_on`` set, zero reports and two report definitions;
    returns (app, monthly id, weekly id)."""
    app, _mediator, _hid, form_id, _version = populate(url, folder, households, visits)
    return (app, *add_reports(app, url, form_id))


def add_reports(app, url: str, form_id: str) -> tuple[int, int]:
    """To the bench district of ``bench/cases.py``: ``filled_on`` set to the day each
    submission arrived, zero reports, one village silent in October and November, and a
    monthly and a weekly report on the visit form ``form_id``; returns their ids."""
    from sqlalchemy import Date, cast, func, insert, select, update

    from fieldapp.areas.models import Area
    from fieldapp.auth.models import User
    from fieldapp.extensions import db
    from fieldapp.reports.services import save_definition
    from fieldapp.scope import OPERATOR
    from fieldapp.submissions.models import Submission
    from fieldapp.surveys.services import import_xlsform

    with app.app_context():
        day = (
            func.date(Submission.received_at)
            if url.startswith("sqlite")
            else cast(Submission.received_at, Date)
        )
        db.session.execute(update(Submission).values(filled_on=day))
        zero_path = ROOT / "questionnaires" / "zero_report.xlsx"
        city = db.session.scalar(select(Area).where(Area.code == "9900"))
        if zero_path.exists():
            fv = import_xlsform(zero_path.read_bytes(), zero_path.name, city).form_version
            top = db.session.scalar(select(func.max(Submission.id))) or 0
            mediators = db.session.scalars(select(User).where(User.role == "mediator")).all()
            rows = []
            for n, m in enumerate(mediators):
                for month in range(1, 13):
                    if (n + month) % 10:
                        continue
                    top += 1
                    rows.append(
                        {
                            "id": top,
                            "instance_id": f"uuid:z{n}-{month}",
                            "form_pk": fv.form_pk,
                            "form_version_id": fv.id,
                            "submitter_id": m.id,
                            "area_id": m.area_id,
                            "xml": "<data/>",
                            "xml_sha256": "0" * 64,
                            "data": {},
                            "repeat_counts": {},
                            "received_at": datetime(2026, month, 28, 2, tzinfo=UTC),
                            "filled_on": date(2026, month, 28),
                        }
                    )
            if rows:
                db.session.execute(insert(Submission), rows)
        # One village has nothing for October and November (moved to September): a unit
        # to chase at both sizes, so their statement counts compare.
        first = select(Area.id).where(Area.code == "990001000000").scalar_subquery()
        db.session.execute(
            update(Submission)
            .where(
                Submission.area_id == first,
                Submission.filled_on.between(date(2026, 10, 1), date(2026, 11, 30)),
            )
            .values(filled_on=date(2026, 9, 30))
        )
        ids = []
        for period in ("monthly", "weekly"):
            d = save_definition(
                OPERATOR,
                None,
                name=f"走访{period}",
                form_id=form_id,
                period=period,
                level="village",
                deadline_days=5,
                area_code="990001",
            )
            ids.append(d.id)
        db.session.commit()
        if url.startswith("postgresql"):
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
    return ids[0], ids[1]


def run(url: str, folder: Path, households: int, visits: int, repeat: int) -> dict:
    t0 = time.perf_counter()
    app, monthly, weekly = prepare(url, folder, households, visits)
    print(
        f"  {households:,} households, {households * visits:,} visits generated "
        f"in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    year = "from=2026-01-01&to=2026-12-31"
    return {
        "login": measure(app, "", "/login", repeat),
        "monthly": measure(app, "sup", f"/reports/{monthly}?{year}", repeat),
        "weekly": measure(app, "sup", f"/reports/{weekly}?{year}", repeat),
        "town": measure(app, "sup", f"/reports/{monthly}?{year}&area=990001000", repeat),
        "xlsx": measure(app, "sup", f"/reports/{monthly}/completeness.xlsx?{year}", repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--visits", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    assert PASSWORD  # the bench users' password (bench/cases.py)
    results = {}
    for n in (args.households // 10, args.households):
        print(f"{args.database}, {n:,} households:", flush=True)
        with tempfile.TemporaryDirectory(prefix="fieldapp-bench-reports-") as tmp:
            url = f"sqlite:///{tmp}/bench.sqlite3" if args.database == "sqlite" else fresh_pg()
            results[n] = run(url, Path(tmp), n, args.visits, args.repeat)
    big, small = results[args.households], results[args.households // 10]
    print()
    print(f"{'page':10}{'ms':>9}{'queries':>9}{'queries @1/10':>15}{'status':>8}{'bytes':>10}")
    for page, r in big.items():
        print(
            f"{page:10}{r['ms']:>9.1f}{r['queries']:>9}{small[page]['queries']:>15}"
            f"{r['status']:>8}{r['bytes']:>10,}"
        )
    print("target: every page < 1000 ms at full size; queries equal at both sizes")


if __name__ == "__main__":
    main()
