"""Big exports run in the background with a progress bar; only the person who asked may
download the file, and a job cut short by a restart is done again, not lost."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from fieldapp.exports.models import DONE, FAILED, RUNNING, ExportJob
from fieldapp.exports.queue import run_next
from fieldapp.extensions import db
from tests.helpers import (
    SCREENING,
    api_token,
    export,
    post_submission,
    screening_answers,
    submission_xml,
    switch_user,
)


@pytest.fixture
def three(submit):
    """Three screening submissions from the 和平社区 mediator (remarks 第0户 … 第2户)."""
    submit(SCREENING, [screening_answers(remarks=f"第{n}户") for n in range(3)])


def _queued(client, url: str) -> str:
    """Ask for an export that becomes a job; its token."""
    resp = export(client, url)
    assert resp.status_code == 302 and "/data/exports/" in resp.headers["Location"]
    return resp.headers["Location"].rsplit("/", 1)[-1]


def _pretend(app, token: str, **fields) -> None:
    """Put a job in a state a worker could have left it in."""
    with app.app_context():
        job = db.session.scalar(select(ExportJob).where(ExportJob.token == token))
        for key, value in fields.items():
            setattr(job, key, value)
        db.session.commit()


def test_a_large_export_becomes_a_job_the_requester_downloads(app, client, world, three):
    switch_user(client, world.researcher)
    app.config["EXPORT_SYNC_MAX_ROWS"] = 2  # three submissions count as "large" here
    try:
        resp = export(client, "/data/family_screening/export?format=xlsx")
    finally:
        app.config["EXPORT_SYNC_MAX_ROWS"] = 2000
    assert resp.status_code == 302 and "/data/exports/" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "job-progress" in page
    token = resp.headers["Location"].rsplit("/", 1)[-1]
    assert client.get(f"/data/exports/{token}.json").json["status"] == "queued"

    with app.app_context():
        assert run_next(app) is True
        assert run_next(app) is False  # nothing else queued
    state = client.get(f"/data/exports/{token}.json").json
    assert state["status"] == "done" and state["progress"] == 1.0
    data = client.get(state["download_url"])
    assert data.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(data.data))["main"]
    assert sheet.max_row == 4  # header + three submissions, de-identified as usual
    assert "李梅" not in str(list(sheet.values))

    switch_user(client, world.admin)  # even an admin cannot take someone else's file
    assert client.get(state["download_url"]).status_code == 404
    assert client.get(f"/data/exports/{token}").status_code == 404


def test_a_job_interrupted_by_a_restart_is_done_again(app, client, world, three):
    switch_user(client, world.researcher)
    token = _queued(client, "/data/family_screening/export.csv?background=1")
    stale = datetime.now(UTC) - timedelta(minutes=10)
    _pretend(app, token, status=RUNNING, attempts=1, heartbeat_at=stale)  # its worker died
    with app.app_context():
        assert run_next(app, worker="another-host:1") is True
        db.session.expire_all()
        job = db.session.scalar(select(ExportJob).where(ExportJob.token == token))
        assert (job.status, job.attempts, job.worker) == (DONE, 2, "another-host:1")
    text = client.get(f"/data/exports/{token}/download").data.decode("utf-8-sig")
    assert text.count("\r\n") == 4 and "第2户" in text


def test_a_running_job_with_a_live_heartbeat_is_left_alone(app, client, world, three):
    switch_user(client, world.researcher)
    token = _queued(client, "/data/family_screening/export?format=sav&background=1")
    _pretend(app, token, status=RUNNING, heartbeat_at=datetime.now(UTC))
    with app.app_context():
        assert run_next(app) is False


def test_a_job_that_keeps_dying_stops_with_a_message(app, client, world, three):
    switch_user(client, world.researcher)
    token = _queued(client, "/data/family_screening/export?format=dta&background=1")
    stale = datetime.now(UTC) - timedelta(minutes=10)
    _pretend(app, token, status=RUNNING, attempts=3, heartbeat_at=stale)
    with app.app_context():
        run_next(app)
    state = client.get(f"/data/exports/{token}.json").json
    assert state["status"] == FAILED and "重新导出" in state["error"]


def test_a_table_too_big_for_excel_fails_with_advice_not_a_crash(
    app, client, world, three, monkeypatch
):
    from fieldapp.exports import formats

    switch_user(client, world.researcher)
    monkeypatch.setattr(formats, "XLSX_MAX_ROWS", 3)  # Excel's 1,048,576, scaled down
    resp = export(client, "/data/family_screening/export?format=xlsx")
    assert resp.status_code == 422 and "CSV" in resp.get_data(as_text=True)
    monkeypatch.setitem(app.config, "EXPORT_SYNC_MAX_ROWS", 2)
    token = _queued(client, "/data/family_screening/export?format=xlsx")
    with app.app_context():
        run_next(app)
    state = client.get(f"/data/exports/{token}.json").json
    assert state["status"] == "failed" and "超过 Excel" in state["error"]


def test_a_jobs_progress_is_written_while_its_export_is_still_reading(app, client, world, three):
    """On SQLite too (write-ahead log): while an export streams submissions on its
    connection, the worker records progress and phones keep submitting."""
    from fieldapp.exports.queue import _set
    from fieldapp.submissions.models import Submission

    switch_user(client, world.researcher)
    app.config["EXPORT_SYNC_MAX_ROWS"] = 2
    try:
        token = _queued(client, "/data/family_screening/export?format=xlsx")
    finally:
        app.config["EXPORT_SYNC_MAX_ROWS"] = 2000
    with app.app_context():
        job_id = db.session.scalar(select(ExportJob.id).where(ExportJob.token == token))
        with db.engine.connect() as reader:  # the export's streaming read
            rows = reader.execution_options(stream_results=True).execute(
                select(Submission.id).order_by(Submission.id)
            )
            assert len(rows.fetchmany(1)) == 1  # two more to come: the read stays open
            _set(job_id, progress=0.5, heartbeat_at=datetime.now(UTC))
            xml, _ = submission_xml("family_screening", "2026120201", screening_answers())
            token = api_token(app, world.mediator)
            assert post_submission(client, xml, token=token).status_code == 201
            assert len(rows.fetchall()) == 2


def test_asking_again_for_a_running_export_shows_the_same_job(app, client, world, three):
    switch_user(client, world.researcher)
    app.config["EXPORT_SYNC_MAX_ROWS"] = 2
    try:
        first = _queued(client, "/data/family_screening/export?format=sav")
        again = _queued(client, "/data/family_screening/export?format=sav")
        other = _queued(client, "/data/family_screening/export?format=dta")
    finally:
        app.config["EXPORT_SYNC_MAX_ROWS"] = 2000
    assert first == again and other != first
