"""How fast a whole city's areas import and browse: the generated city of
``tests/helpers_areas.py`` (11 districts, 146 towns, 2,000 villages) into an empty SQLite
database, as ``fieldapp areas import`` does it (dry run, import, an unchanged
re-import), then the area pages an admin of the city opens.

    .venv/bin/python bench/areas.py [--villages 2000] [--repeat 3]

Prints the median of the repeats for each step, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def run_once(villages: int, folder: Path) -> dict[str, float]:
    """One fresh database: every step's time in ms."""
    from fieldapp import create_app
    from fieldapp.areas.importer import import_areas
    from fieldapp.areas.services import get_area
    from fieldapp.auth.services import create_user
    from fieldapp.extensions import db
    from fieldapp.migrate import upgrade
    from fieldapp.scope import OPERATOR
    from tests.helpers import login
    from tests.helpers_areas import CITY_CODE, city_rows, write_city

    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    upgrade(url)
    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(folder),
            "SECRET_KEY": "bench",
            "WORKER_THREAD": False,
            "LOGIN_RATE_LIMIT": "1000 per minute",
        }
    )
    data = write_city(folder / "city.csv", city_rows(villages)).read_bytes()
    out: dict[str, float] = {}
    with app.app_context():
        out["dry run"] = _timed(lambda: import_areas(OPERATOR, data, "city.csv", dry_run=True))
        db.session.rollback()

        def apply() -> None:
            import_areas(OPERATOR, data, "city.csv")
            db.session.commit()

        out["import"] = _timed(apply)
        out["re-import (all unchanged)"] = _timed(apply)
        create_user("bench", "bench-password", "admin", get_area(CITY_CODE), "bench")
        db.session.commit()
    client = app.test_client()
    login(client, "bench", "bench-password")
    for name, url in [
        ("page: city (11 districts)", "/admin/areas/"),
        ("page: a district (its towns)", f"/admin/areas/tree/{CITY_CODE}01"),
        ("search: 村 (50 of ~1,700)", "/admin/areas/search?q=村"),
    ]:
        out[name] = _timed(lambda url=url: client.get(url).close())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--villages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="fieldapp-bench-areas-") as tmp:
            runs.append(run_once(args.villages, Path(tmp)))
    print(f"{args.villages} villages, median of {args.repeat} runs (SQLite):")
    for step in runs[0]:
        print(f"  {step:<32} {statistics.median(r[step] for r in runs):8.0f} ms")


if __name__ == "__main__":
    main()
