"""Mediators syncing at once: ``fieldapp serve`` under a district's submissions, against a
bare endpoint on the same stack, on SQLite and PostgreSQL (issue 14).

For each database it sets up a fresh instance folder and database with the real
commands (``fieldapp init``, ``fieldapp areas import`` of a generated city with
``--mediators`` villages, ``fieldapp forms import`` of a real XLSForm with an image
question, by default ``../shared/forms/UCL_Biomass_Plot_Form.xlsx``), then a loader adds
one mediator per village with an ODK Collect app-user token, as ``fieldapp tokens create
--collect`` makes it (the service functions that command calls; 200 users through the
command would take minutes of start-ups). It starts ``fieldapp serve --workers 2`` on a
free port and, in the same run, the bare endpoint (``bench/bare_app.py``: the same
gunicorn with 2 workers, Flask and SQLAlchemy, storing each POST's raw body in a table of
the same database kind, no checks), and puts the same load on each, one after the other:

- ``scheduled``: ``--mediators`` mediators each sync ``--per`` submissions, at a moment
  drawn at random (seeded) within ``--seconds``: as ODK Collect sends its finalized forms,
  a ``HEAD /key/<token>/submission`` (Collect keeps the answer for the batch), then one
  multipart POST per submission, one after the other (``xml_submission_file`` and a JPEG
  of ``--photo-kb`` KB named by the form's image question; Collect's headers, as
  ``tests/collect_client.py``). An arrival schedule, not a loop as fast as possible: when
  the server keeps up, throughput is the offered rate and what differs is latency.
- ``saturate``: ``--concurrency`` connections POST submissions back to back for
  ``--saturate`` seconds per server, in ``--rounds`` slices alternating between the two
  (both servers run throughout; an idle one costs nothing), so that both meet the same
  machine: the most each server stores per second. The throughput ratio of the issue's
  target is this one (the scheduled one is about 1 whenever both keep up).

Printed per database and server: requests, errors by status, submissions stored per
second, POST latency p50/p95/p99 (ms), server CPU (both workers and the master, from
/proc) per stored submission, and the client's own CPU share (it shares the machine);
then fieldapp / bare ratios and the targets (no errors, p99 under 500 ms, throughput
ratio at least 0.5), with the load average. Each app process runs fieldapp's background
worker as in production (figures' facts for new submissions). No limiter is switched
off: app-user keys never meet the login limits.

``--profile N`` instead sends N submissions in-process through the Flask test client
(the same setup and URLs; SQLite, or PostgreSQL with ``--database postgresql``) and
prints the CPU time per submission against the bare app's in the same process, the SQL
statements per submission, and under cProfile (CPU time: the machine is shared) the
functions with most time: where the submission path spends it (``--save FILE`` keeps
the pstats file).

    .venv/bin/python bench/load.py [--database sqlite|postgresql|both] [--mediators 200]
        [--per 10] [--seconds 60] [--photo-kb 200] [--saturate 15] [--concurrency 8]
        [--form XLSX] [--profile N [--save FILE]]

PostgreSQL: databases ``fieldapp_load`` and ``fieldapp_load_bare`` on 127.0.0.1 (made if
missing, emptied first).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fieldapp.cli import gunicorn_args  # noqa: E402  (the same options as fieldapp serve)

BIN = Path(sys.executable).parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"
FORM = ROOT.parent / "shared" / "forms" / "UCL_Biomass_Plot_Form.xlsx"
USER_AGENT = "org.odk.collect.android/v2025.3.0 Dalvik/2.1.0 (Linux; U; Android 13; SM-A135F)"
BOUNDARY = "----fieldappBench7MA4YWxkTrZu0gW"
TIMEOUT = 60.0  # seconds; a request not answered by then counts as an error


# --- setup ---------------------------------------------------------------------------


def fresh_pg(name: str) -> str:
    """An empty PostgreSQL database ``name``; its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    return PG + name


def _env(folder: Path, url: str) -> dict:
    return {
        **os.environ,
        "FIELDAPP_INSTANCE_PATH": str(folder),
        "FIELDAPP_DATABASE_URL": url,
        "PYTHONUNBUFFERED": "1",
    }


def _run(args: list[str], env: dict) -> str:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def setup(folder: Path, url: str, mediators: int, form: Path) -> tuple[list[str], dict]:
    """A fresh fieldapp in ``folder`` on ``url``: the real commands, then the mediators;
    returns (their Collect token secrets, the form's schema)."""
    from tests.helpers_areas import city_rows, write_city

    folder.mkdir(parents=True, exist_ok=True)
    env = _env(folder, url)
    areas = write_city(folder / "areas.csv", city_rows(mediators), headers="en")
    _run([str(BIN / "fieldapp"), "init"], env)
    _run([str(BIN / "fieldapp"), "areas", "import", str(areas)], env)
    _run([str(BIN / "fieldapp"), "forms", "import", str(form)], env)
    return load_mediators(
        env, [r[0] for r in city_rows(mediators) if len(r[0]) == 12 and r[0][9:] != "000"]
    )


def load_mediators(env: dict, villages: list[str]) -> tuple[list[str], dict]:
    """One mediator per village, each with an ODK Collect token (``phones.services``, as
    ``fieldapp tokens create --collect``); one password hash for all (Argon2 is slow by
    design and the bench never logs in with it). Returns (secrets, form schema)."""
    saved = {k: os.environ.get(k) for k in ("FIELDAPP_INSTANCE_PATH", "FIELDAPP_DATABASE_URL")}
    os.environ.update({k: env[k] for k in saved})
    try:
        from sqlalchemy import select

        from fieldapp import create_app
        from fieldapp.areas.models import Area
        from fieldapp.auth.services import create_user, hash_password
        from fieldapp.extensions import db
        from fieldapp.phones.services import create_collect_token
        from fieldapp.scope import OPERATOR
        from fieldapp.surveys.models import Form

        app = create_app({"WORKER_THREAD": False})
        with app.app_context():
            digest = hash_password("bench-Password-9x")
            areas = {a.code: a for a in db.session.scalars(select(Area))}
            secrets = []
            for n, code in enumerate(villages):
                user = create_user(
                    f"m{n:03d}",
                    None,
                    "mediator",
                    areas[code],
                    f"调解员{n:03d}",
                    password_hash=digest,
                )
                secrets.append(create_collect_token(OPERATOR, user, f"调解员{n:03d}的手机")[0])
            db.session.commit()
            schema = db.session.scalar(select(Form)).current.schema
            db.engine.dispose()
        return secrets, schema
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --- what a phone sends ---------------------------------------------------------------


def photo(kb: int, seed: int = 7) -> bytes:
    """``kb`` KB shaped as a camera JPEG (SOI, a JFIF header, random entropy-coded-like
    bytes, EOI): a photo does not compress, and the server does not decode it."""
    head = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
    body = random.Random(seed).randbytes(kb * 1024 - len(head) - 2)
    return head + body.replace(b"\xff", b"\xfe") + b"\xff\xd9"


@dataclass
class Payload:
    """A submission's template: XML with placeholders for the IDs, and the photo."""

    xml: bytes
    jpeg: bytes

    def parts(self, n: int) -> tuple[list[bytes], int]:
        """Submission ``n`` as multipart body pieces (sent without joining) and length."""
        name = f"{1764662400000 + n}.jpg"
        xml = self.xml.replace(b"uuid:BENCH", f"uuid:{uuid.uuid4()}".encode()).replace(
            b"PHOTO.jpg", name.encode()
        )
        head = (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="xml_submission_file"; '
                f'filename="submission.xml"\r\nContent-Type: text/xml\r\n\r\n'
            ).encode()
            + xml
            + (
                f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{name}"\r\nContent-Type: image/jpeg\r\n\r\n'
            ).encode()
        )
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        return [head, self.jpeg, tail], len(head) + len(self.jpeg) + len(tail)


def payload(schema: dict, kb: int) -> Payload:
    """Answers to every question of ``schema`` (``tests.helpers.fill_every_question``)
    and the first image question outside repeats naming the photo."""
    from tests.helpers import fill_every_question, submission_xml

    answers, _sent = fill_every_question(schema)
    image = next(
        (q for q in schema["questions"] if q["type"] == "image" and not q.get("repeat")), None
    )
    if image is None:
        raise SystemExit("the form has no image question outside a repeat: give --form")
    node = answers
    for group in image["group_path"]:
        node = node.setdefault(group, {})
    node[image["name"]] = "PHOTO.jpg"
    xml, _id = submission_xml(
        schema["form_id"], schema["version"], answers, "uuid:BENCH", schema["root"]
    )
    return Payload(xml, photo(kb))


# --- the client -------------------------------------------------------------------------


@dataclass
class Hit:
    """One request: what, when it started (s from the phase start), how long, answer."""

    method: str
    started: float
    seconds: float
    status: str  # "201", "204", … or an error name ("timeout", "ConnectionResetError")


@dataclass
class Phase:
    """The requests of one phase against one server."""

    name: str
    hits: list[Hit] = field(default_factory=list)
    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0


def collect_headers(port: int) -> str:
    date = datetime.now(UTC).strftime("%a, %d %b %Y %I:%M:%S GMT")
    return (
        f"Host: 127.0.0.1:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
        f"X-OpenRosa-Version: 1.0\r\nDate: {date}\r\nConnection: close\r\n"
    )


async def request(port: int, method: str, path: str, body: list[bytes], size: int) -> str:
    """One HTTP/1.1 request on a new connection (gunicorn's sync workers close each);
    the status code as text. A small client on purpose: the machine is shared with the
    server, and every CPU cycle it spends is one the server does not get."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = f"{method} {path} HTTP/1.1\r\n{collect_headers(port)}"
        if body:
            head += f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            head += f"Content-Length: {size}\r\n"
        writer.write((head + "\r\n").encode())
        for piece in body:
            writer.write(piece)
        await writer.drain()
        status = (await reader.readline()).split(b" ", 2)[1].decode()
        length = None
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _sep, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if method != "HEAD":
            await (reader.readexactly(length) if length is not None else reader.read())
        return status
    finally:
        writer.close()


async def timed(port: int, method: str, path: str, body, size: int, t0: float, out: list):
    """``request``, recorded in ``out`` as a ``Hit`` (errors by name, never raised)."""
    started = time.perf_counter()
    try:
        status = await asyncio.wait_for(request(port, method, path, body, size), TIMEOUT)
    except TimeoutError:
        status = "timeout"
    except (OSError, asyncio.IncompleteReadError, IndexError, ValueError) as exc:
        status = type(exc).__name__
    out.append(Hit(method, started - t0, time.perf_counter() - started, status))
    return status


async def scheduled(
    port: int, secrets: list[str], per: int, seconds: float, load: Payload, seed: int
) -> list[Hit]:
    """Every mediator syncs once at a random moment of ``seconds``: HEAD, then ``per``
    POSTs one after the other, stopping at the first that is not 201 (as Collect)."""
    rng = random.Random(seed)
    starts = [rng.uniform(0, seconds) for _ in secrets]
    hits: list[Hit] = []
    t0 = time.perf_counter()

    async def mediator(m: int, secret: str, at: float) -> None:
        await asyncio.sleep(at)
        base = f"/key/{secret}/submission?deviceID=collect:bench{m:04d}"
        if await timed(port, "HEAD", base, [], 0, t0, hits) != "204":
            return
        for i in range(per):
            body, size = load.parts(m * per + i)
            if await timed(port, "POST", base, body, size, t0, hits) != "201":
                return

    await asyncio.gather(
        *(mediator(m, s, at) for m, (s, at) in enumerate(zip(secrets, starts, strict=True)))
    )
    return hits


async def saturate(
    port: int, secrets: list[str], concurrency: int, seconds: float, load: Payload
) -> list[Hit]:
    """``concurrency`` connections POSTing back to back for ``seconds`` (each as a
    different mediator): the most the server stores per second."""
    hits: list[Hit] = []
    t0 = time.perf_counter()
    counter = iter(range(10**9))

    async def loop(c: int) -> None:
        base = f"/key/{secrets[c % len(secrets)]}/submission?deviceID=collect:sat{c}"
        while time.perf_counter() - t0 < seconds:
            body, size = load.parts(10**6 + next(counter))
            await timed(port, "POST", base, body, size, t0, hits)

    await asyncio.gather(*(loop(c) for c in range(concurrency)))
    return hits


# --- the servers ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its children now alive (gunicorn's
    master and workers; /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(entry) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Server:
    """A gunicorn with 2 workers on a free port: ``fieldapp serve`` or the bare app."""

    def __init__(self, kind: str, folder: Path, url: str, probe: str, workers: int = 2):
        self.port = free_port()
        bind = f"127.0.0.1:{self.port}"
        env = _env(folder, url)
        if kind == "fieldapp":
            args = [str(BIN / "fieldapp"), "serve", "--bind", bind, "--workers", str(workers)]
        else:  # the same gunicorn options as fieldapp serve
            env["BENCH_BARE_DATABASE_URL"] = url
            args = [str(BIN / "gunicorn"), *gunicorn_args(bind, workers, "bench.bare_app:app")]
        self.log = (folder / f"{kind}.log").open("w")
        self.proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self.log, stderr=self.log)
        self._wait(probe)

    def _wait(self, probe: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited; see {self.log.name}")
            try:
                if asyncio.run(request(self.port, "HEAD", probe, [], 0)) == "204":
                    time.sleep(1)  # the second worker
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"server did not answer; see {self.log.name}")

    def cpu(self) -> float:
        return process_cpu(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def run_phase(name: str, server: Server, coro) -> Phase:
    """Run the client coroutine against ``server``; wall time and both sides' CPU."""
    before_client = resource.getrusage(resource.RUSAGE_SELF)
    before_server = server.cpu()
    started = time.perf_counter()
    hits = asyncio.run(coro)
    phase = Phase(name, hits, time.perf_counter() - started)
    after = resource.getrusage(resource.RUSAGE_SELF)
    phase.client_cpu = (after.ru_utime - before_client.ru_utime) + (
        after.ru_stime - before_client.ru_stime
    )
    phase.server_cpu = server.cpu() - before_server
    return phase


# --- figures --------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) of ``values`` by nearest rank; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def figures(phases: list[Phase]) -> dict:
    """Figures of one or more phases of one server (slices of the saturating phase
    added up): requests, errors by status, stored/s, POST latency (ms), CPU."""
    hits = [h for p in phases for h in p.hits]
    posts = [h for h in hits if h.method == "POST"]
    stored = [h for h in posts if h.status == "201"]
    errors: dict[str, int] = {}
    for h in hits:
        if h.status not in ("201", "204"):
            errors[h.status] = errors.get(h.status, 0) + 1
    span = sum(
        max(h.started + h.seconds for h in p.hits) - min(h.started for h in p.hits)
        if p.hits
        else p.wall
        for p in phases
    )
    wall = sum(p.wall for p in phases)
    ms = [h.seconds * 1000 for h in stored]
    return {
        "requests": len(hits),
        "stored": len(stored),
        "errors": errors,
        "per_s": len(stored) / span if span else 0.0,
        "p50": pct(ms, 0.50),
        "p95": pct(ms, 0.95),
        "p99": pct(ms, 0.99),
        "head_p99": pct([h.seconds * 1000 for h in hits if h.method == "HEAD"], 0.99),
        "server_ms": sum(p.server_cpu for p in phases) * 1000 / len(stored) if stored else 0.0,
        "client_share": sum(p.client_cpu for p in phases) / wall if wall else 0.0,
    }


def stored_rows(url: str, table: str) -> int:
    """Rows in ``table`` at ``url``: every 201 must be a stored row."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as c:
        n = c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return n


KINDS = ("bare", "fieldapp")


def bench_database(database: str, folder: Path, args) -> dict:
    """Both servers on one database kind, the same load; {(server, phase): figures}.

    Both run at once (an idle one costs nothing): the scheduled load goes to the bare
    endpoint, then to fieldapp; the saturating phase alternates between them in
    ``--rounds`` slices, so that both meet the same machine (it is shared)."""
    folder.mkdir(parents=True, exist_ok=True)
    url, bare_url = urls(database, folder)
    print(f"{database}: setting up {args.mediators} mediators …", flush=True)
    secrets, schema = setup(folder, url, args.mediators, args.form)
    from bench.bare_app import create_table

    create_table(bare_url)
    load = payload(schema, args.photo_kb)
    probe = f"/key/{secrets[0]}/submission"
    tables = {"bare": (bare_url, "bare_submissions"), "fieldapp": (url, "submissions")}
    servers: dict[str, Server] = {}
    phases: dict = {}
    try:
        for kind in KINDS:
            servers[kind] = server = Server(kind, folder, tables[kind][0], probe)
            # Warm both workers (imports, first queries) before measuring.
            run_phase("warm", server, saturate(server.port, secrets, 2, 2, load))
        before = {kind: stored_rows(*tables[kind]) for kind in KINDS}

        def measure(kind: str, name: str, coro) -> None:
            load_before = os.getloadavg()[0]
            print(f"  {kind} {name} …", flush=True)
            phase = run_phase(name, servers[kind], coro)
            phases.setdefault((kind, name), []).append((phase, load_before, os.getloadavg()[0]))

        for kind in KINDS:
            port = servers[kind].port
            measure(kind, "scheduled", scheduled(port, secrets, args.per, args.seconds, load, 14))
        for r in range(args.rounds):
            for kind in KINDS if r % 2 == 0 else KINDS[::-1]:
                port, seconds = servers[kind].port, args.saturate / args.rounds
                measure(kind, "saturate", saturate(port, secrets, args.concurrency, seconds, load))
    finally:
        for server in servers.values():
            server.stop()
    results: dict = {}
    for (kind, name), runs in phases.items():
        results[kind, name] = fig = figures([p for p, _b, _a in runs])
        fig["load"] = (runs[0][1], runs[-1][2])
        print(f"  {kind:<8} {name:<9} {line(fig)}", flush=True)
    for kind in KINDS:
        stored = results[kind, "scheduled"]["stored"] + results[kind, "saturate"]["stored"]
        results[kind, "rows"] = rows = stored_rows(*tables[kind]) - before[kind]
        if rows != stored:
            print(f"  {kind}: {stored} answered 201 but {rows} rows stored", flush=True)
    return results


def line(f: dict) -> str:
    errors = ", ".join(f"{k}×{v}" for k, v in sorted(f["errors"].items())) or "none"
    return (
        f"{f['stored']:>5} stored {f['per_s']:6.1f}/s  p50 {f['p50']:6.0f}  p95 {f['p95']:6.0f}  "
        f"p99 {f['p99']:6.0f} ms  server {f['server_ms']:5.1f} ms CPU/sub  "
        f"client {f['client_share']:4.0%} CPU  errors {errors}"
    )


def report(all_results: dict, args) -> None:
    """The table of both servers and their ratios, and the targets."""
    print()
    print(
        f"{args.mediators} mediators × {args.per} submissions over {args.seconds:.0f} s "
        f"(photo {args.photo_kb} KB), saturate: {args.concurrency} connections × "
        f"{args.saturate:.0f} s per server in {args.rounds} alternating slices; gunicorn 2 "
        f"workers each; {os.cpu_count()} cores; "
        "ODK Collect app-user keys (/key/<token>/), no rate limit switched off (they meet "
        "none); server CPU: gunicorn's master and workers, HEADs and the background worker "
        "included, the database server's not"
    )
    print(
        "| database | phase | server | stored/s | p50 ms | p95 ms | p99 ms | server CPU ms/sub "
        "| errors | client CPU | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for database, results in all_results.items():
        for name in ("scheduled", "saturate"):
            for kind in ("fieldapp", "bare"):
                f = results[kind, name]
                errors = ", ".join(f"{k}×{v}" for k, v in sorted(f["errors"].items())) or "0"
                print(
                    f"| {database} | {name} | {kind} | {f['per_s']:.1f} | {f['p50']:.0f} | "
                    f"{f['p95']:.0f} | {f['p99']:.0f} | {f['server_ms']:.1f} | {errors} | "
                    f"{f['client_share']:.0%} | {f['load'][0]:.1f}→{f['load'][1]:.1f} |"
                )
    print()
    for database, results in all_results.items():
        sch, sat = results["fieldapp", "scheduled"], results["fieldapp", "saturate"]
        bsch, bsat = results["bare", "scheduled"], results["bare", "saturate"]
        ratio = sat["per_s"] / bsat["per_s"] if bsat["per_s"] else 0.0
        errors = sum(sch["errors"].values()) + sum(sat["errors"].values())
        print(
            f"{database}: fieldapp/bare throughput: saturated {ratio:.2f}, scheduled "
            f"{sch['per_s'] / bsch['per_s']:.2f}; p99 (scheduled) {sch['p99']:.0f} vs "
            f"{bsch['p99']:.0f} ms ({sch['p99'] / max(bsch['p99'], 1):.1f}×); server CPU per "
            f"submission {sat['server_ms']:.1f} vs {bsat['server_ms']:.1f} ms "
            f"({sat['server_ms'] / max(bsat['server_ms'], 0.1):.1f}×); rows stored: "
            f"{results['fieldapp', 'rows']} fieldapp, {results['bare', 'rows']} bare"
        )
        print(
            f"  targets: no errors {'met' if errors == 0 else f'NOT met ({errors})'}; "
            f"p99 under 500 ms {'met' if sch['p99'] < 500 else 'NOT met'} "
            f"({sch['p99']:.0f} ms scheduled); throughput ratio ≥ 0.5 "
            f"{'met' if ratio >= 0.5 else 'NOT met'} ({ratio:.2f})"
        )


# --- profile --------------------------------------------------------------------------


def urls(database: str, folder: Path) -> tuple[str, str]:
    """(fieldapp's, the bare app's) fresh database URLs for ``database``."""
    if database == "sqlite":
        return f"sqlite:///{folder / 'fieldapp.sqlite3'}", f"sqlite:///{folder / 'bare.sqlite3'}"
    return fresh_pg("fieldapp_load"), fresh_pg("fieldapp_load_bare")


def profile(n: int, args, folder: Path) -> None:
    """``n`` submissions in-process (Flask test client, the same setup and URL; SQLite
    unless ``--database postgresql``): CPU time per submission without and with cProfile,
    against the bare app's, SQL statements per submission (the most frequent ones), and
    the functions with most time."""
    import cProfile
    import io
    import pstats

    database = "postgresql" if args.database == "postgresql" else "sqlite"
    url, bare_url = urls(database, folder)
    secrets, schema = setup(folder, url, max(10, args.mediators // 10), args.form)
    load = payload(schema, args.photo_kb)
    os.environ.update({"FIELDAPP_INSTANCE_PATH": str(folder), "FIELDAPP_DATABASE_URL": url})
    from sqlalchemy import event

    from fieldapp import create_app
    from fieldapp.extensions import db

    app = create_app({"WORKER_THREAD": False})
    client = app.test_client()
    statements: dict[str, int] = {}
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, _params, _context, _many):
        key = " ".join(statement.split())[:110]
        statements[key] = statements.get(key, 0) + 1

    def send(count: int, offset: int) -> float:
        started = time.process_time()
        for i in range(count):
            body, _size = load.parts(offset + i)
            resp = client.post(
                f"/key/{secrets[i % len(secrets)]}/submission",
                data=b"".join(body),
                content_type=f"multipart/form-data; boundary={BOUNDARY}",
                headers={"X-OpenRosa-Version": "1.0", "User-Agent": USER_AGENT},
            )
            if resp.status_code != 201:
                raise SystemExit(f"{resp.status_code}: {resp.get_data(as_text=True)}")
        return (time.process_time() - started) * 1000 / count

    send(5, 0)  # warm
    statements.clear()
    plain = send(n, 1000)
    bare = bare_cpu(n, load, bare_url)
    per_sub = {k: v / n for k, v in statements.items()}
    profiler = cProfile.Profile(time.process_time)  # CPU: the machine is shared
    profiler.enable()
    profiled = send(n, 10**6)
    profiler.disable()
    if args.save:
        profiler.dump_stats(args.save)
    print(
        f"{n} submissions in-process ({database}): {plain:.1f} ms CPU each ({profiled:.1f} "
        f"profiled), the bare app {bare:.1f} ms ({plain / bare:.1f}×); "
        f"{sum(per_sub.values()):.1f} SQL statements each:"
    )
    for text_, count in sorted(per_sub.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {count:5.2f}  {text_}")
    for order, limit in (("cumulative", 35), ("tottime", 20)):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(limit)
        print(f"\nby {order}:")
        print("\n".join(out.getvalue().splitlines()[6:]))


def bare_cpu(n: int, load: Payload, url: str) -> float:
    """CPU ms per submission of the bare app in-process (test client) on ``url``."""
    from bench import bare_app

    bare_app.create_table(url)
    os.environ["BENCH_BARE_DATABASE_URL"] = url
    client = bare_app.create_app().test_client()
    for offset in (0, 1000):  # warm, then measured
        count = 5 if offset == 0 else n
        started = time.process_time()
        for i in range(count):
            body, _size = load.parts(offset + i)
            client.post(
                "/key/x/submission",
                data=b"".join(body),
                content_type=f"multipart/form-data; boundary={BOUNDARY}",
            )
    return (time.process_time() - started) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--mediators", type=int, default=200)
    parser.add_argument("--per", type=int, default=10, help="submissions per mediator")
    parser.add_argument("--seconds", type=float, default=60.0, help="when the syncs start")
    parser.add_argument("--photo-kb", type=int, default=200)
    parser.add_argument("--saturate", type=float, default=15.0, help="seconds at full load")
    parser.add_argument("--concurrency", type=int, default=8, help="connections at full load")
    parser.add_argument("--rounds", type=int, default=3, help="saturating slices per server")
    parser.add_argument("--form", type=Path, default=FORM, help="an XLSForm with an image")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--save", type=Path, default=None, help="with --profile: pstats file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fieldapp-load-") as tmp:
        if args.profile:
            profile(args.profile, args, Path(tmp))
            return
        print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
        results = {d: bench_database(d, Path(tmp) / d, args) for d in databases}
        report(results, args)
        print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
