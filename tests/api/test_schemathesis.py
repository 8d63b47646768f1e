"""schemathesis over the whole OpenAPI document, in process: no 5xx, every response of the
documented content type and matching its schema (problems included)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from webapp.extensions import db

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_the_api_never_fails_and_answers_as_documented(app, scene):
    """Every operation, with generated parameters and bodies, under an all-scopes key."""
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    auth = {"Authorization": f"Bearer {scene.msp_key}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case):
            case.headers = {**(case.headers or {}), **auth}
            response = case.call()
            case.validate_response(response, checks=CHECKS)
            db.session.rollback()

        check()
