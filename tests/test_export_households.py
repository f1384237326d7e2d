"""Households and their visits in every export format (issue 10): the tables of forms that
create or update households carry the household's id, the households export (one row per
household, plus its history) joins them by it, de-identified for researchers and cut to
each person's scope, from the data page, a background job and the command line."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pyreadstat
import pytest
from sqlalchemy import select

from fieldapp.audit.models import AuditEvent
from fieldapp.exports.bundle import FORMATS
from fieldapp.exports.queue import run_next
from fieldapp.extensions import db
from tests.helpers import export, switch_user, xlsform
from tests.helpers_cases import entity_submission, registration, visit


@pytest.fixture
def story(case_forms, send, world):
    """王芳家 registered in 和平社区 and visited twice; 赵敏家 in 柳树村 (the other
    district), visited once. Returns {label: (household id, [visit instance IDs])}."""
    out = {}
    xml, _, hh = registration("王芳", risk="serious")
    send(xml)
    v1 = visit(hh, base=1, visit_date="2026-12-03", due="2026-12-17")
    v2 = visit(hh, base=2, visit_date="2026-12-17", due="2027-01-05", status="paired")
    send(v1[0])
    send(v2[0])
    out["王芳家"] = (hh, [v1[1], v2[1]])
    xml, _, other = registration("赵敏", risk="low")
    send(xml, who=world.mediator3)
    v3 = visit(other, base=1)
    send(v3[0], who=world.mediator3)
    out["赵敏家"] = (other, [v3[1]])
    return out


def _csv(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _sheets(data: bytes) -> dict[str, list[dict]]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    out = {}
    for ws in wb.worksheets:
        head, *body = list(ws.values)
        out[ws.title] = [dict(zip(head, r, strict=True)) for r in body]
    return out


def _get(client, url: str, status: int = 200) -> bytes:
    resp = client.get(url)
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    return resp.data


def _export(client, url: str) -> bytes:
    """An export asked for as the export buttons do (a POST with the CSRF token)."""
    resp = export(client, url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.data


def households(client, query: str = "format=xlsx", form: str = "hh_visit") -> bytes:
    return _export(client, f"/data/{form}/households/export?{query}")


def test_the_visit_and_registration_exports_carry_the_household_id(client, world, story):
    hh, visits = story["王芳家"]
    switch_user(client, world.supervisor)
    rows = _csv(_export(client, "/data/hh_visit/export.csv?identifying=1"))
    assert list(rows[0])[:3] == ["instance_id", "household_id", "form_version"]
    assert {r["instance_id"]: r["household_id"] for r in rows} == {v: hh for v in visits}
    assert all(r["household"] == r["household_id"] for r in rows)
    main = _sheets(_get(client, "/data/hh_visit/export?format=xlsx"))["main"]
    assert [r["household_id"] for r in main] == [hh, hh]
    registered = _csv(_get(client, "/data/hh_register/export.csv"))
    assert [r["household_id"] for r in registered] == [hh]  # the one it created


def test_a_form_without_entities_has_no_household_column(
    client, world, case_forms, publish, submit, tmp_path
):
    path = tmp_path / "plain.xlsx"
    path.write_bytes(xlsform([["type", "name", "label"], ["text", "note_text", "备注"]]))
    submit(path, [{"note_text": "无"}])
    switch_user(client, world.admin)
    form_id = path.stem
    assert "household_id" not in _get(client, f"/data/{form_id}/export.csv").decode("utf-8-sig")
    page = _get(client, f"/data/{form_id}").decode()
    assert "export-households" not in page
    assert "export-households" in _get(client, "/data/hh_visit").decode()
    _get(client, f"/data/{form_id}/households/export?format=xlsx", 404)


def test_the_households_export_joins_the_visits_by_household_id(client, world, story):
    hh, visits = story["王芳家"]
    switch_user(client, world.admin)
    book = _sheets(households(client, "format=xlsx&identifying=1"))
    by_id = {r["household_id"]: r for r in book["main"]}
    assert set(by_id) == {hh, story["赵敏家"][0]}
    row = by_id[hh]
    assert row["label"] == "王芳家" and row["area_code"] == "339901001001"
    assert (row["risk_level"], row["case_status"], row["version"]) == ("serious", "paired", 3)
    assert row["assigned_to"] == world.mediator
    assert row["next_visit_due"].date().isoformat() == "2027-01-05"
    assert row["last_visit_date"].date().isoformat() == "2026-12-17"
    assert row["next_visit_date"].date().isoformat() == "2027-01-05"  # the property itself
    assert "risk_level" not in [k for k in row if k.startswith("properties/")]
    assert list(row)[:4] == ["household_id", "label", "area_code", "area_name"]

    history = [r for r in book["versions"] if r["household_id"] == hh]
    assert [(r["version"], r["kind"]) for r in history] == [
        (1, "create"),
        (2, "update"),
        (3, "update"),
    ]
    assert [r["instance_id"] for r in history[1:]] == visits
    assert [r["form_id"] for r in history] == ["hh_register", "hh_visit", "hh_visit"]
    assert history[0]["risk_level"] == "serious" and history[0]["case_status"] is None
    assert history[2]["case_status"] == "paired"
    assert all(r["changed_by"] == world.mediator for r in history)

    # The visit export's long table joins on household_id.
    visit_rows = _sheets(_get(client, "/data/hh_visit/export?format=xlsx"))["main"]
    joined = {(v["instance_id"], by_id[v["household_id"]]["label"]) for v in visit_rows}
    assert {(iid, "王芳家") for iid in visits} <= joined


def test_labels_give_the_chinese_risk_and_status(client, world, story):
    switch_user(client, world.admin)
    book = _sheets(households(client, "format=xlsx&values=labels"))
    by_id = {r["household_id"]: r for r in book["main"]}
    row = by_id[story["王芳家"][0]]
    assert (row["risk_level"], row["case_status"]) == ("重大隐患", "结对帮扶")
    assert {r["kind"] for r in book["versions"]} == {"登记", "更新"}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_opens(client, world, story, tmp_path, fmt):
    hh = story["王芳家"][0]
    switch_user(client, world.admin)
    data = households(client, f"format={fmt}&identifying=1")
    if fmt == "csv":
        rows = _csv(data)
        assert {r["household_id"] for r in rows} == {hh, story["赵敏家"][0]}
        assert "kind" not in rows[0]  # the households table only
        return
    if fmt in ("xlsx", "codebook"):
        book = openpyxl.load_workbook(io.BytesIO(data))
        if fmt == "codebook":
            names = [r[1] for r in book.active.iter_rows(min_row=3, values_only=True)]
            assert {"household_id", "label", "risk_level", "changed_at"} <= set(names)
        return
    if fmt == "codebook-html":
        assert "household_id" in data.decode() and "重大隐患" in data.decode()
        return
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path)
    assert "households_codebook.html" in names
    if fmt in ("csv-long", "r"):
        assert {"households.csv", "households__versions.csv"} <= names
        enc = "utf-8-sig" if fmt == "csv-long" else "utf-8"
        main = list(csv.DictReader((tmp_path / "households.csv").open(encoding=enc)))
        assert hh in {r["household_id"] for r in main}
        if fmt == "r":
            script = (tmp_path / "households.R").read_text(encoding="utf-8")
            assert "households__versions.csv" in script and "重大隐患" in script
        return
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    df, meta = reader(str(tmp_path / f"households.{fmt}"))
    row = df[df["household_id"] == hh].iloc[0]
    assert meta.variable_value_labels["risk_level"][row["risk_level"]] == "重大隐患"
    assert meta.column_names_to_labels["household_id"] == "家庭编号"
    history, hmeta = reader(str(tmp_path / f"households__versions.{fmt}"))
    assert sorted(history[history["household_id"] == hh]["version"]) == [1.0, 2.0, 3.0]
    # Risk and status carry one numbering in both tables (the household vocabulary).
    for name in ("risk_level", "case_status"):
        assert hmeta.variable_value_labels[name] == meta.variable_value_labels[name]


def test_a_researcher_sees_no_household_name(client, world, story):
    switch_user(client, world.researcher)
    _get(client, "/data/hh_visit/households/export?format=xlsx&identifying=1", 403)
    assert (
        "未知的导出格式"
        in _get(client, "/data/hh_visit/households/export?format=pdf", 400).decode()
    )
    raw = households(client, "format=xlsx")
    book = _sheets(raw)
    labels = {r["label"] for r in book["main"]} | {r["label"] for r in book["versions"]}
    assert all(label.startswith("P-") for label in labels)
    assert "王芳" not in raw.decode("latin-1") and "王芳" not in str(book)
    csv_text = households(client, "format=csv").decode("utf-8-sig")
    assert "王芳" not in csv_text and "赵敏" not in csv_text
    # Stable: the same household gets the same pseudonym in every export.
    again = _sheets(households(client, "format=xlsx"))
    assert {r["label"] for r in again["main"]} == {r["label"] for r in book["main"]}
    assert {r["assigned_to"] for r in book["main"]} == {world.mediator, world.mediator3}


def test_a_marked_property_gets_the_same_pseudonym_as_in_the_forms_export(
    client, world, case_forms, publish, send, tmp_path
):
    marked = xlsform(
        [
            ["type", "name", "label", "save_to", "fieldapp::identifier"],
            ["text", "head", "户主", "head_name", "pseudonym"],
            ["text", "phone", "电话", "phone", "remove"],
        ],
        settings=[["form_id", "version"], ["hh_marked", "1"]],
        entities=[["dataset", "label"], ["households", "concat(${head}, '家')"]],
    )
    (tmp_path / "hh_marked.xlsx").write_bytes(marked)
    publish(tmp_path / "hh_marked.xlsx")
    xml, _ = entity_submission(
        "hh_marked",
        {"head": "李娟", "phone": "13800000000"},
        {"dataset": "households", "id": "hh-marked-1", "create": "1"},
        label="李娟家",
    )
    send(xml)
    switch_user(client, world.researcher)
    form_row = _csv(_get(client, "/data/hh_marked/export.csv"))[0]
    assert form_row["head"].startswith("P-") and "phone" not in form_row
    row = _sheets(households(client, "format=xlsx", form="hh_marked"))["main"][0]
    assert row["head_name"] == form_row["head"]  # one keyed hash: the exports join
    assert "phone" not in row and row["label"].startswith("P-")
    switch_user(client, world.admin)
    row = _sheets(households(client, "format=xlsx&identifying=1", form="hh_marked"))["main"][0]
    assert (row["head_name"], row["phone"], row["label"]) == ("李娟", "13800000000", "李娟家")


def test_a_supervisor_gets_only_the_households_of_their_district(client, world, story):
    switch_user(client, world.supervisor)
    book = _sheets(households(client, "format=xlsx&identifying=1"))
    theirs = story["王芳家"][0]
    assert {r["household_id"] for r in book["main"]} == {theirs}
    assert {r["household_id"] for r in book["versions"]} == {theirs}
    assert "赵敏" not in str(book)
    csv_ids = {r["household_id"] for r in _csv(households(client, "format=csv"))}
    assert csv_ids == {theirs}


def test_the_export_is_audited_with_whether_it_identified(app, client, world, story):
    switch_user(client, world.admin)
    households(client, "format=csv&identifying=1")
    switch_user(client, world.researcher)
    households(client, "format=dta")
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.object == "dataset:households")
        ).all()
        assert [(e.action, e.detail["format"], e.detail["identifying"]) for e in events] == [
            ("export", "csv", True),
            ("export", "dta", False),
        ]
        assert events[0].detail["rows"] == 2 + 5  # two households, five versions


def test_a_large_households_export_is_a_background_job(app, client, world, story):
    switch_user(client, world.researcher)
    app.config["EXPORT_SYNC_MAX_ROWS"] = 2
    try:
        resp = export(client, "/data/hh_visit/households/export?format=sav")
    finally:
        app.config["EXPORT_SYNC_MAX_ROWS"] = 2000
    assert resp.status_code == 302 and "/data/exports/" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "家庭列表（households）" in page
    token = resp.headers["Location"].rsplit("/", 1)[-1]
    with app.app_context():
        assert run_next(app) is True
    state = client.get(f"/data/exports/{token}.json").json
    assert state["status"] == "done", state
    data = _get(client, state["download_url"])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {"households.sav", "households__versions.sav"} <= set(zf.namelist())
    switch_user(client, world.admin)  # only the requester downloads it
    assert client.get(state["download_url"]).status_code == 404


def test_the_command_line_exports_households(app, story, runner, tmp_path, monkeypatch):
    from fieldapp.cli import main

    monkeypatch.setenv("FIELDAPP_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("FIELDAPP_INSTANCE_PATH", app.config["INSTANCE_PATH"])
    out = tmp_path / "hh.xlsx"
    args = ["export", "--dataset", "households", "--format", "xlsx", "--identifying"]
    result = runner.invoke(main, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    book = _sheets(out.read_bytes())
    assert {r["label"] for r in book["main"]} == {"王芳家", "赵敏家"}  # the operator: all
    result = runner.invoke(main, ["export", "--dataset", "households", "--format", "csv"])
    assert result.exit_code == 0, result.output
    labels = {r["label"] for r in _csv(result.stdout_bytes)}
    assert all(label.startswith("P-") for label in labels) and len(labels) == 2
    result = runner.invoke(main, ["export", "--dataset", "nope"])
    assert result.exit_code != 0 and "nope" in result.output
    result = runner.invoke(main, ["export"])
    assert result.exit_code != 0
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.object == "dataset:households")
        ).first()
        assert event.detail["via"] == "cli" and event.detail["identifying"] is True


def test_bulk_and_row_by_row_give_the_same_household_ids(app, story, monkeypatch):
    """The household id is read with the rows (one query per batch, no query per row), and
    the fallback paths (a batch that cannot go in bulk) give the same cells."""
    from fieldapp.dataset import bulk
    from fieldapp.dataset.identify import Deidentifier
    from fieldapp.dataset.long import build_tables
    from fieldapp.dataset.long_bulk import _rows_of, as_rows, table_batches
    from fieldapp.dataset.source import raw_batches
    from fieldapp.exports.request import ExportRequest
    from fieldapp.exports.services import stream_csv
    from fieldapp.scope import OPERATOR
    from fieldapp.submissions.models import Submission
    from fieldapp.surveys.services import get_form

    def wide() -> bytes:
        with app.app_context():
            request = ExportRequest.make(OPERATOR, get_form("hh_visit"), identifying=True)
            return b"".join(stream_csv(request))

    fast = wide()
    with monkeypatch.context() as m:

        def refuse(_questions):
            raise bulk.NotColumnar("test")

        m.setattr(bulk, "answer_schema", refuse)
        assert wide() == fast
    assert fast.count(story["王芳家"][0].encode()) == 4  # two visits: household_id, household

    with app.app_context():
        form = get_form("hh_visit")
        versions = list(reversed(form.versions))
        deid = Deidentifier(None)
        tables = build_tables(versions, deid, household=True)
        stmt = select(Submission).where(Submission.form_pk == form.id)
        quick = sorted(
            map(tuple, (r for _, r in as_rows(table_batches(tables, versions, stmt, deid, "UTC"))))
        )
        slow = sorted(
            tuple(r)
            for batch in raw_batches(stmt, entities=True)
            for _, r in _rows_of(tables, batch, deid, "UTC")
        )
    assert quick == slow and len(quick) == 3
    assert {r[1] for r in quick} == {story["王芳家"][0], story["赵敏家"][0]}


def test_the_history_holds_conflicts_and_a_supervisors_changes(app, client, world, story, send):
    from fieldapp.auth.services import get_user
    from fieldapp.cases import services
    from fieldapp.cases.models import Entity

    hh = story["王芳家"][0]
    send(visit(hh, base=2, visit_date="2026-12-18")[0], who=world.supervisor)  # made from v2
    with app.app_context():
        entity = db.session.scalar(select(Entity).where(Entity.uuid == hh))
        services.close(get_user(world.supervisor), entity, "已搬离本市")
        db.session.commit()
    switch_user(client, world.admin)
    book = _sheets(households(client, "format=xlsx&identifying=1"))
    row = next(r for r in book["main"] if r["household_id"] == hh)
    assert (row["case_status"], row["closed_reason"], row["version"]) == ("closed", "已搬离本市", 5)
    assert row["next_visit_due"] is None and row["conflict"] == "hard"
    history = [r for r in book["versions"] if r["household_id"] == hh]
    clash, closing = history[3], history[4]
    assert (clash["kind"], clash["base_version"], clash["conflict"]) == ("update", 2, "hard")
    assert "last_visit_date" in clash["conflicting"].split()
    assert (closing["kind"], closing["changed_by"], closing["note"]) == (
        "close",
        world.supervisor,
        "已搬离本市",
    )
    assert closing["instance_id"] is None and closing["case_status"] == "closed"
