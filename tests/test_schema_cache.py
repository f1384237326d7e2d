"""A form version's schema is decoded once per content in each process (issue 14), and
a schema changed in place (re-publish with new identifier marks) is never served stale."""

from __future__ import annotations

import json

from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.submissions import schema_cache
from fieldapp.submissions.models import Submission
from fieldapp.surveys.models import Form, FormVersion
from tests.helpers import SCREENING, api_token, post_submission, screening_answers, submission_xml


def test_the_same_content_is_decoded_once_and_the_cache_is_bounded():
    schema_cache.clear()
    text = json.dumps({"root": "data", "questions": [{"name": "a"}]})
    first = schema_cache.parsed_schema(text)
    assert schema_cache.parsed_schema(text) is first
    changed = schema_cache.parsed_schema(text.replace('"a"', '"b"'))
    assert changed == {"root": "data", "questions": [{"name": "b"}]}
    for i in range(schema_cache.LIMIT * 2):
        schema_cache.parsed_schema(json.dumps({"i": i}))
    assert len(schema_cache._parsed) == schema_cache.LIMIT
    assert schema_cache.parsed_schema(text) == first  # decoded again after it was dropped


def test_a_schema_changed_in_place_is_read_afresh(app, client, world, publish):
    publish(SCREENING)
    token = api_token(app, world.mediator)
    xml, first = submission_xml("family_screening", "2026120201", screening_answers())
    assert post_submission(client, xml, token=token).status_code == 201
    with app.app_context():  # as a re-publish with other identifier marks does
        fv = db.session.scalar(
            select(FormVersion).join(Form).where(Form.form_id == "family_screening")
        )
        fv.schema = {**fv.schema, "identifiers": ["marked-again"]}
        db.session.commit()
    xml, second = submission_xml("family_screening", "2026120201", screening_answers())
    assert post_submission(client, xml, token=token).status_code == 201
    assert any(s.get("identifiers") == ["marked-again"] for s in schema_cache._parsed.values())
    with app.app_context():
        subs = db.session.scalars(select(Submission).order_by(Submission.id)).all()
        assert [s.instance_id for s in subs] == [first, second]
        assert subs[1].form_version.schema["identifiers"] == ["marked-again"]
