"""Export speed and memory on generated data, against baselines measured in the same run.

Generates N submissions (default 100,000; also 10,000 to compare memory) of a 60-question
form with a repeat of 1–6 household members, straight into a fresh SQLite database, then
times each export format in its own process and reads that process's peak memory
(``ru_maxrss``). Two baselines, in the same run:

- ``rows`` (the one the CSV target is judged against, as decided for issue 4): reading
  the same stored rows, decoding their answers (``json.loads``) and writing them as CSV
  with Python's ``csv`` module, without any layout: what every export must at least do;
- ``polars``: Polars writing the table our CSV export writes (same columns and cells,
  already flat and in memory): a bare write, for reference.

Targets (issue 4): CSV within 3× ``rows``; peak memory that does not grow with row
count (compare the two sizes).

Usage: .venv/bin/python bench/export.py [--rows 100000] [--small 10000]
       [--formats csv,xlsx,sav,dta]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = 60
BASELINES = ["rows", "polars"]  # see the module docstring
CHOICES = ["a", "b", "c", "d"]


def xlsform(path: Path) -> Path:
    """The bench questionnaire: 60 questions (text, integer, decimal, date, selects) and
    a repeat of household members."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(["type", "name", "label"])
    kinds = ["text", "integer", "decimal", "date", "select_one abcd", "select_multiple abcd"]
    for i in range(1, QUESTIONS - 2):
        ws.append([kinds[i % len(kinds)], f"q{i}", f"问题{i}"])
    ws.append(["begin_repeat", "members", "成员"])
    ws.append(["text", "m_name", "姓名"])
    ws.append(["integer", "m_age", "年龄"])
    ws.append(["select_one abcd", "m_rel", "关系"])
    ws.append(["end_repeat", "", ""])
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    for c in CHOICES:
        choices.append(["abcd", c, f"选项{c}"])
    settings = wb.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append(["bench60", "1"])
    wb.save(path)
    return path


def answers(rng: random.Random, n: int) -> dict:
    data = {}
    for i in range(1, QUESTIONS - 2):
        kind = i % 6
        data[f"q{i}"] = (
            f"回答{n}-{i}"
            if kind == 0
            else str(rng.randint(0, 99))
            if kind == 1
            else f"{rng.random() * 100:.2f}"
            if kind == 2
            else f"2026-0{rng.randint(1, 9)}-1{kind}"
            if kind == 3
            else rng.choice(CHOICES)
            if kind == 4
            else " ".join(sorted(rng.sample(CHOICES, rng.randint(1, 3))))
        )
    data["members"] = [
        {"m_name": f"成员{n}-{k}", "m_age": str(rng.randint(0, 90)), "m_rel": rng.choice(CHOICES)}
        for k in range(rng.randint(1, 6))
    ]
    data["meta"] = {"instanceID": f"uuid:bench-{n}"}
    return data


def populate(folder: Path, rows: int) -> str:
    """A database with ``rows`` generated submissions; returns its URL."""
    from sqlalchemy import insert

    from fieldapp import create_app
    from fieldapp.areas.services import create_area
    from fieldapp.auth.services import create_user
    from fieldapp.extensions import db
    from fieldapp.migrate import upgrade
    from fieldapp.submissions.models import Submission
    from fieldapp.submissions.parse import repeat_counts
    from fieldapp.surveys.services import import_xlsform

    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder), "SECRET_KEY": "b"})
    rng = random.Random(7)
    with app.app_context():
        city = create_area("9900", "测试市", "city")
        user = create_user("bench", "bench-password", "admin", city)
        path = xlsform(folder / "bench60.xlsx")
        fv = import_xlsform(path.read_bytes(), path.name, city).form_version
        db.session.commit()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        batch = []
        for n in range(rows):
            data = answers(rng, n)
            batch.append(
                {
                    "instance_id": f"uuid:bench-{n}",
                    "form_pk": fv.form_pk,
                    "form_version_id": fv.id,
                    "submitter_id": user.id,
                    "area_id": city.id,
                    "xml": "<data/>",
                    "xml_sha256": "0" * 64,
                    "data": data,
                    "repeat_counts": repeat_counts(data),
                    "received_at": start + timedelta(minutes=n),
                }
            )
            if len(batch) == 5000:
                db.session.execute(insert(Submission), batch)
                batch = []
        if batch:
            db.session.execute(insert(Submission), batch)
        db.session.commit()
    return url


CHILD = """
import json, resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {root!r})
from fieldapp import create_app
from fieldapp.exports.request import ExportRequest
from fieldapp.exports.services import stream_csv, write
from fieldapp.scope import OPERATOR, form_in_scope
fmt, url, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
app = create_app({{"DATABASE_URL": url, "INSTANCE_PATH": str(folder), "SECRET_KEY": "b"}})
with app.app_context():
    form = form_in_scope(OPERATOR, "bench60")
    out = Path(tempfile.mkdtemp(dir=folder))
    t0 = time.perf_counter()
    if fmt == "csv":
        with (out / "x.csv").open("wb") as fh:
            for chunk in stream_csv(ExportRequest.make(OPERATOR, form, identifying=True)):
                fh.write(chunk)
    elif fmt == "polars":
        # The baseline: Polars writing the very table our CSV export writes (same
        # columns, same text cells), already flat and in memory; only the write is timed.
        import polars as pl
        with (out / "ours.csv").open("wb") as fh:
            plain = ExportRequest.make(OPERATOR, form, bom=False, identifying=True)
            for chunk in stream_csv(plain):
                fh.write(chunk)
        frame = pl.read_csv(out / "ours.csv", infer_schema_length=0)
        t0 = time.perf_counter()
        frame.write_csv(out / "x.csv", line_terminator=chr(13) + chr(10))
    elif fmt == "rows":
        import csv
        from fieldapp.dataset.source import raw_batches
        def leaves(node):
            if isinstance(node, dict):
                for value in node.values():
                    yield from leaves(value)
            elif isinstance(node, list):
                for item in node:
                    yield from leaves(item)
            else:
                yield node
        stmt = ExportRequest.make(OPERATOR, form, identifying=True).statement()
        with (out / "x.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator=chr(13) + chr(10))
            for batch in raw_batches(stmt):
                for row in batch:
                    writer.writerow([*row[:6], *leaves(json.loads(row[6]))])
    else:
        write(ExportRequest.make(OPERATOR, form, fmt, identifying=True), out)
    seconds = time.perf_counter() - t0
print(json.dumps({{"seconds": seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(fmt: str, url: str, folder: Path) -> dict:
    """Run one export in a fresh process; its time and peak resident memory."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), fmt, url, str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(f"{fmt} export failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--formats", default="csv,xlsx,sav,dta")
    args = parser.parse_args()
    formats = args.formats.split(",")
    results: dict[int, dict[str, dict]] = {}
    for n in (args.small, args.rows):
        with tempfile.TemporaryDirectory(prefix="fieldapp-bench-export-") as tmp:
            t0 = time.perf_counter()
            url = populate(Path(tmp), n)
            print(f"{n:,} submissions generated in {time.perf_counter() - t0:.1f} s", flush=True)
            results[n] = {f: measure(f, url, Path(tmp)) for f in [*BASELINES, *formats]}
    big, small = results[args.rows], results[args.small]
    rows, bare = big["rows"]["seconds"], big["polars"]["seconds"]
    print(f"\n60-question form, repeat of 1–6 members; times for {args.rows:,} submissions")
    print(
        f"{'format':8}{'seconds':>10}{'× rows':>10}{'× polars':>10}{'peak MB':>10}"
        f"{'peak MB @' + format(args.small, ','):>16}{'growth':>8}"
    )
    for f in [*BASELINES, *formats]:
        r, s = big[f], small[f]
        print(
            f"{f:8}{r['seconds']:>10.2f}{r['seconds'] / rows:>10.2f}{r['seconds'] / bare:>10.2f}"
            f"{r['peak_mb']:>10.0f}{s['peak_mb']:>16.0f}{r['peak_mb'] / s['peak_mb']:>8.2f}"
        )
    print("targets: csv ≤ 3.00 × rows; growth ≈ 1 (memory independent of row count)")


if __name__ == "__main__":
    main()
