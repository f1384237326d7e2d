"""The export queue: enqueue, claim and run export jobs (run by ``fieldapp.worker``).

The queue is the ``export_jobs`` table, so app processes on several hosts sharing one
PostgreSQL share it. A job is claimed with a conditional UPDATE (it wins only if the row
is still queued, or running with a stale heartbeat), which is atomic on SQLite and
PostgreSQL alike. A running job's heartbeat is renewed every ``HEARTBEAT`` seconds; one
whose heartbeat is older than ``LEASE`` was interrupted (a restart, a killed worker) and
is taken up again, up to ``MAX_ATTEMPTS`` times. Files live in ``instance/exports/`` for
``EXPORT_KEEP_HOURS`` and only the requester may download them.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import and_, or_, select, update

from fieldapp.auth.models import User
from fieldapp.exports.formats import ExportError
from fieldapp.exports.household_request import HouseholdExportRequest
from fieldapp.exports.models import DONE, FAILED, QUEUED, RUNNING, ExportJob
from fieldapp.exports.request import ExportRequest, ExportRequestError
from fieldapp.extensions import db

LEASE = timedelta(seconds=120)
HEARTBEAT = 20  # seconds
MAX_ATTEMPTS = 3
log = logging.getLogger(__name__)


def enqueue(request: ExportRequest | HouseholdExportRequest, total: int) -> ExportJob:
    """Queue ``request`` (flushed); ``total`` is its number of submissions (of rows, for
    a households export: filed under the form whose page asked for it, its ``params``
    naming the dataset).

    The same export asked for again while it is queued or running (a second click, a
    page reload) is the job already there, not a new one."""
    user: User = request.person
    form = request.form
    params = request.params()
    pending = db.session.scalars(
        select(ExportJob).where(
            ExportJob.user_id == user.id,
            ExportJob.form_pk == form.id,
            ExportJob.status.in_((QUEUED, RUNNING)),
        )
    )
    same = next((job for job in pending if job.params == params), None)
    if same is not None:
        return same
    job = ExportJob(
        token=secrets.token_urlsafe(24), user=user, form=form, params=params, total=total
    )
    db.session.add(job)
    db.session.flush()
    return job


def _stale_or_queued(now: datetime):
    return or_(
        ExportJob.status == QUEUED,
        and_(ExportJob.status == RUNNING, ExportJob.heartbeat_at < now - LEASE),
    )


def claim_next(worker: str) -> int | None:
    """Claim the oldest runnable job for ``worker``; return its id, or ``None``."""
    now = datetime.now(UTC)
    candidates = db.session.scalars(
        select(ExportJob.id).where(_stale_or_queued(now)).order_by(ExportJob.id).limit(5)
    ).all()
    for job_id in candidates:
        result = db.session.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id, _stale_or_queued(now))
            .values(
                status=RUNNING, worker=worker, heartbeat_at=now, attempts=ExportJob.attempts + 1
            )
        )
        db.session.commit()
        if result.rowcount == 1:
            return job_id
    return None


def _set(job_id: int, **values) -> None:
    """Update a job on its own connection: the export's session keeps its cursor."""
    with db.engine.begin() as conn:
        conn.execute(update(ExportJob).where(ExportJob.id == job_id).values(**values))


def run_job(app: Flask, job_id: int) -> None:
    """Run a claimed job: build its file with the requester's scope and filters (a
    households export when its parameters name a ``dataset``)."""
    from fieldapp.exports import households
    from fieldapp.exports.services import write

    job = db.session.get(ExportJob, job_id)
    if job.attempts > MAX_ATTEMPTS:
        _set(
            job_id,
            status=FAILED,
            error="多次中断，已停止；请重新导出",
            finished_at=datetime.now(UTC),
        )
        return
    folder = Path(app.config["INSTANCE_PATH"]) / "exports" / job.token
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(mode=0o700, exist_ok=True)
    folder.mkdir(mode=0o700)  # identifying exports: readable by the app's account only
    beating = threading.Event()

    def heartbeat():
        while not beating.wait(HEARTBEAT):
            _set(job_id, heartbeat_at=datetime.now(UTC))

    threading.Thread(target=heartbeat, daemon=True).start()
    done = [0, 0]  # submissions done, done at the last write

    def progress(n: int) -> None:
        done[0] = n
        if n - done[1] >= 200:  # exports report per row or per batch
            done[1] = n
            _set(job_id, progress=min(n / max(job.total, 1), 0.99), heartbeat_at=datetime.now(UTC))

    try:
        if job.params.get("dataset"):
            request = HouseholdExportRequest.from_params(job.user, job.form, job.params)
            path = households.write(request, folder, progress)
        else:
            request = ExportRequest.from_params(job.user, job.form, job.params)
            path = write(request, folder, progress)
    except Exception as exc:  # noqa: BLE001 - any failure is the job's, shown to its owner
        log.exception("export job %s failed", job.token)
        db.session.rollback()
        _set(
            job_id,
            status=FAILED,
            error=str(exc)
            if isinstance(exc, ExportError | ExportRequestError)
            else f"导出失败（{type(exc).__name__}），请稍后重新导出；如仍失败请联系管理员",
            finished_at=datetime.now(UTC),
        )
        return
    finally:
        beating.set()
    _set(
        job_id,
        status=DONE,
        progress=1.0,
        file_path=str(path),
        file_name=path.name,
        finished_at=datetime.now(UTC),
    )


def run_next(app: Flask, worker: str | None = None) -> bool:
    """Claim and run one job; ``False`` when the queue is empty."""
    job_id = claim_next(worker or f"{socket.gethostname()}:{os.getpid()}")
    if job_id is None:
        return False
    run_job(app, job_id)
    return True


def remove_old_files(app: Flask) -> int:
    """Delete job folders older than ``EXPORT_KEEP_HOURS``; return how many."""
    root = Path(app.config["INSTANCE_PATH"]) / "exports"
    cutoff = time.time() - float(app.config["EXPORT_KEEP_HOURS"]) * 3600
    removed = 0
    for folder in root.glob("*") if root.exists() else []:
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def run_next_export(app: Flask, worker: str) -> bool:
    """The worker's entry for the export queue (``fieldapp.worker.KINDS``)."""
    return run_next(app, worker)


def clean_up(app: Flask, worker: str) -> bool:
    """The worker's scheduled clean-up: old export files go (never busy)."""
    remove_old_files(app)
    return False
