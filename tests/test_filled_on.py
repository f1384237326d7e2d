"""The day a submission was filled in (issue 11: the reporting period it counts for)."""

from __future__ import annotations

from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.helpers import SCREENING, screening_answers, xlsform


def _filled_on(app, iid: str) -> str:
    with app.app_context():
        day = db.session.scalar(select(Submission.filled_on).where(Submission.instance_id == iid))
        return day.isoformat()


def test_a_submission_counts_on_the_day_the_phone_started_it(app, world, submit):
    # Started late on 30 November in China (UTC+8), sent days later: November's.
    (iid,) = submit(SCREENING, [screening_answers(start="2026-11-30T23:50:00.000+08:00")])
    assert _filled_on(app, iid) == "2026-11-30"
    (iid,) = submit("family_screening", [screening_answers(start="2026-11-30T16:30:00.000Z")])
    assert _filled_on(app, iid) == "2026-12-01"  # 00:30 on 1 December in Shanghai


def test_a_report_date_answer_names_the_period(app, world, submit, tmp_path):
    form = tmp_path / "late_report.xlsx"
    form.write_bytes(
        xlsform(
            [
                ["type", "name", "label"],
                ["start", "start", ""],
                ["date", "report_date", "所属日期"],
            ],
            settings=[["form_id", "version"], ["late_report", "1"]],
        )
    )
    (iid,) = submit(form, [{"start": "2026-12-03T08:00:00.000+08:00", "report_date": "2026-11-28"}])
    assert _filled_on(app, iid) == "2026-11-28"
