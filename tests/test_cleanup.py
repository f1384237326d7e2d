"""No test sees another's rows: after each test every table in ``db.metadata`` holds the
base world's users and areas only, a table added later included, with no list to update."""

from __future__ import annotations

from sqlalchemy import select

from fieldapp.demo.loader import USERS
from fieldapp.extensions import db
from tests.helpers import PASSWORD, post_submission, submission_xml, xlsform
from tests.helpers_cases import REGISTER, registration

PHOTO_FORM = xlsform(
    [["type", "name", "label"], ["image", "photo", "照片"]],
    settings=[["form_id", "version"], ["cleanup_probe", "1"]],
)


def _keys(app) -> dict[str, set]:
    """The primary keys of every table's rows, by table name."""
    with app.app_context():
        return {
            table.name: set(db.session.execute(select(*table.primary_key.columns)).all())
            for table in db.metadata.sorted_tables
        }


def test_a_test_writes_rows_into_every_table(app, client, world):
    """Runs first: a row in each table beside the base world (a new table needs one here)."""
    from fieldapp.areas.services import create_area
    from fieldapp.audit.services import record
    from fieldapp.auth.models import LoginFailure, RecoveryCode, utcnow
    from fieldapp.auth.services import create_token, create_user, start_session
    from fieldapp.exports.models import ExportJob
    from fieldapp.figures.models import FigureDefinition, FigureTarget
    from fieldapp.people.models import UserImport
    from fieldapp.reminders.models import PushSubscription, ReminderDelivery, ReminderPreference
    from fieldapp.reports.models import ReportDefinition
    from fieldapp.surveys.services import import_xlsform

    before = _keys(app)
    with app.app_context():
        area = create_area("4400", "别市", "city")
        user = create_user("visitor", PASSWORD, "mediator", area, "访客")
        token = create_token(user, "test")
        start_session(user)
        record(user.id, "test", "cleanup")
        form = import_xlsform(
            PHOTO_FORM, "cleanup_probe.xlsx", area, media=[("logo.png", b"png")]
        ).form_version.form
        import_xlsform(REGISTER, "hh_register.xlsx", area)
        db.session.add(ExportJob(token="cleanup-probe", user=user, form=form, params={}))
        db.session.add(UserImport(token="cleanup-probe", actor_id=user.id, rows=[]))
        db.session.add(
            ReportDefinition(name="probe", form=form, period="monthly", level="village", area=area)
        )
        db.session.add(FigureDefinition(key="probe", label="probe", source="cleanup_probe"))
        db.session.add(FigureTarget(year=2026, area=area, figure_key="probe", value=1))
        db.session.add(
            LoginFailure(kind="account", subject="visitor", failures=1, first_failed_at=utcnow())
        )
        db.session.add(RecoveryCode(user_id=user.id, code_hash="probe"))
        device = PushSubscription(
            user_id=user.id, endpoint="https://push.example.cn/probe", p256dh="k", auth="a"
        )
        db.session.add(device)
        db.session.add(ReminderPreference(user_id=user.id))
        db.session.flush()
        db.session.add(
            ReminderDelivery(
                subscription_id=device.id, user_id=user.id, kind="visits", day=utcnow().date()
            )
        )
        db.session.commit()
    xml, _ = submission_xml("cleanup_probe", "1", {"photo": "a.jpg"})
    resp = post_submission(client, xml, files={"a.jpg": b"\xff\xd8jpeg"}, token=token)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    resp = post_submission(client, registration("王芳")[0], token=token)  # a household
    assert resp.status_code == 201, resp.get_data(as_text=True)
    with app.app_context():  # the figures' facts of both, and one waiting on a held update
        from fieldapp.figures.definitions import all_definitions, check
        from fieldapp.figures.facts import catch_up, prepare
        from fieldapp.figures.models import FigureFactPending

        households = {"source": "households", "aggregate": "distinct_households"}
        db.session.add(FigureDefinition(key="probe_households", label="probe", **households))
        db.session.commit()
        catch_up(prepare([check(d) for d in all_definitions()]))
        db.session.add(FigureFactPending(submission_id=1))
        db.session.commit()
    after = _keys(app)
    assert [name for name in after if after[name] <= before[name]] == []


def test_the_next_test_finds_only_the_base_world(app, world):
    """Runs after the test above: its rows are gone from every table, the world stays."""
    with app.app_context():
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table)).all()
            if table.name == "users":
                assert {r.username for r in rows} == {username for username, *_ in USERS}
            elif table.name == "areas":
                assert rows and all(r.code.startswith("3399") for r in rows)
            else:
                assert rows == [], table.name
