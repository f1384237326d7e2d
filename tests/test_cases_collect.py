"""ODK Collect and forms written for ODK Central's Entities, on fieldapp (issue 10).

ODK Collect (tests/collect_client.py speaks as it does) gets the visit form with its
households.csv, checks it against the manifest's MD5, is told the list is an entity list,
and downloads it again only when the hash changes. Forms written elsewhere for Central
import and make entities: the real ``case_insensitivity.xlsx`` (an upper-case
``ENTITIES`` sheet), a household/members form of the entities spec 2025.1 shape (one
entity per repeat instance), and every form in ``../shared/forms/entities/`` when that
folder is there."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from fieldapp.cases.models import APPLIED, Dataset, Entity, EntityOp
from fieldapp.extensions import db
from tests.collect_client import CollectClient
from tests.helpers import (
    SHARED_FORMS,
    fill_every_question,
    form_schema,
    xlsform,
)
from tests.helpers_cases import entity_submission, registration, visit

ENTITY_FORMS = sorted((SHARED_FORMS / "entities").glob("*.xls*"))


@pytest.fixture(scope="module")
def http_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def collect_url(app, base: str, username: str) -> str:
    """An app-user URL for ``username``'s phone, as the phone page makes one."""
    from fieldapp.auth.models import User
    from fieldapp.phones.services import app_user_url, create_collect_token
    from fieldapp.scope import OPERATOR

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        secret, _token = create_collect_token(OPERATOR, user, "测试手机")
        db.session.commit()
    return app_user_url(base, secret)


def test_collect_gets_the_list_as_an_entity_list_and_again_only_when_it_changes(
    app, client, world, case_forms, http_url, send
):
    xml, _, hh = registration("王芳")
    send(xml, world.mediator)
    collect = CollectClient(collect_url(app, http_url, world.mediator))
    (item,) = [f for f in collect.form_list() if f.form_id == "hh_visit"]
    manifest = collect.request("GET", item.manifest_url).body.decode()
    assert 'type="entityList"' in manifest
    _, media = collect.download(item)  # checks each file against the manifest's MD5
    assert hh in media["households.csv"].decode()
    first_hash = collect.manifest(item.manifest_url)[0].hash
    assert collect.manifest(item.manifest_url)[0].hash == first_hash  # unchanged: no download

    # Collect sends a visit it made offline from the list it had (a branch of its own).
    visit_xml, _ = visit(hh, base=1, trunk=1, branch=str(uuid.uuid4()))
    assert collect.submit(visit_xml).posts[-1][2].status == 201
    assert collect.manifest(item.manifest_url)[0].hash != first_hash
    _, media = collect.download(item)
    assert f"{hh},王芳家,2,2," in media["households.csv"].decode()


def test_a_real_form_with_an_upper_case_entities_sheet_makes_its_dataset(
    app, client, world, publish, send
):
    form_id, version = publish(SHARED_FORMS / "case_insensitivity.xlsx")
    with app.app_context():
        assert db.session.scalar(select(Dataset.name).where(Dataset.name == "e1")) == "e1"
    xml, _ = entity_submission(
        form_id,
        {"q1": "n1-c"},
        {"dataset": "e1", "id": str(uuid.uuid4()), "create": "1"},
        label="l1",
        version=version,
    )
    send(xml, world.mediator)
    with app.app_context():
        (entity,) = db.session.scalars(select(Entity)).all()
        assert entity.dataset.name == "e1" and entity.label == "l1"


MEMBERS = xlsform(
    [
        ["type", "name", "label", "calculation", "save_to"],
        ["text", "hhid", "户号", "", "households#code"],
        ["begin_repeat", "member", "成员", "", ""],
        ["text", "full_name", "姓名", "", ""],
        ["integer", "age", "年龄", "", "members#age"],
        ["calculate", "member_hhid", "", "${hhid}", "members#hhid"],
        ["end_repeat", "", "", "", ""],
    ],
    settings=[["form_id", "version"], ["hh_members", "1"]],
    entities=[["list_name", "label"], ["households", "${hhid}"], ["members", "${full_name}"]],
)


def test_one_submission_makes_a_household_and_one_entity_per_member(
    app, client, world, publish, tmp_path, send
):
    """Entities spec 2025.1: an entities row per list, save_to ``list#property``, one
    ``meta/entity`` in each repeat instance."""
    (tmp_path / "hh_members.xlsx").write_bytes(MEMBERS)
    publish(tmp_path / "hh_members.xlsx")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    members = "".join(
        f"<member><full_name>{name}</full_name><age>{age}</age><member_hhid>H-7</member_hhid>"
        f'<meta><entity dataset="members" create="1" id="{mid}"><label>{name}</label></entity>'
        f"</meta></member>"
        for mid, name, age in ((ids[1], "李梅", 34), (ids[2], "张小明", 9))
    )
    xml = (
        f'<?xml version="1.0"?><data id="hh_members" version="1"><hhid>H-7</hhid>{members}'
        f'<meta><entity dataset="households" create="1" id="{ids[0]}"><label>H-7</label>'
        f"</entity><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>"
    ).encode()
    send(xml, world.mediator)
    with app.app_context():
        got = {
            e.uuid: (e.dataset.name, e.label, e.data) for e in db.session.scalars(select(Entity))
        }
    assert got == {
        ids[0]: ("households", "H-7", {"code": "H-7"}),
        ids[1]: ("members", "李梅", {"age": "34", "hhid": "H-7"}),
        ids[2]: ("members", "张小明", {"age": "9", "hhid": "H-7"}),
    }


@pytest.mark.skipif(not ENTITY_FORMS, reason="../shared/forms/entities/ is not there")
@pytest.mark.parametrize("path", ENTITY_FORMS, ids=lambda p: p.name)
def test_forms_written_for_central_import_and_make_or_wait_for_their_entities(
    app, client, world, publish, path, send
):
    """Each form imports; a submission filled in every question, with its entity id set
    as the form would set it, is stored and its entity block processed (a create
    applied; an update of an entity nobody made is held, as Central's backlog)."""
    form_id, version = publish(path)
    schema = form_schema(app, form_id, version)
    answers, _ = fill_every_question(schema)
    answers.pop("meta", None)
    with app.app_context():
        spec = schema.get("entities") or {}
    eid = str(uuid.uuid4())
    attrs = {"dataset": spec.get("dataset", "x"), "id": eid}
    attrs.update({"create": "1"} if spec.get("create") else {"update": "1", "baseVersion": "1"})
    xml, _ = entity_submission(form_id, answers, attrs, label="测试", version=version)
    xml = xml.replace(b"<data ", f"<{schema['root']} ".encode(), 1).replace(
        b"</data>", f"</{schema['root']}>".encode()
    )
    send(xml, world.mediator)
    with app.app_context():
        op = db.session.scalar(select(EntityOp).where(EntityOp.entity_uuid == eid))
        assert op is not None and op.state in (APPLIED, "held"), op and op.message
