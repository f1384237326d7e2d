"""The API against its own OpenAPI document (schemathesis, issue 14): generated
requests to every operation, as a logged-in admin with a token; no answer is a 500 and
every answer matches what the document declares."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.helpers import SCREENING, api_token


def test_every_operation_answers_as_documented(app, world, publish, submit):
    from tests.helpers import screening_answers

    submit(SCREENING, [screening_answers()])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {api_token(app, world.admin)}"}
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        checked.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def answers_as_documented(case):
            case.call_and_validate(headers=headers)

        answers_as_documented()
    assert len(checked) >= 8, checked
