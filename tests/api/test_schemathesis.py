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


def test_the_api_holds_up_along_its_links(app, scene):
    """Stateful: create a quote (for a real organization), then follow the document's links
    (get it, add a section or a line, change that line, send, cancel) with generated data.

    Every walk starts from an explicit root call that always succeeds (a blank quote for an
    organization that exists), so the links are followed whatever the random walk draws."""
    from hypothesis.stateful import initialize, run_state_machine_as_test
    from schemathesis.generation.stateful.state_machine import StepInput

    app.config["API_RATE_LIMIT"] = "100000 per minute"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    auth = {"Authorization": f"Bearer {scene.msp_key}"}
    followed = set()

    create_quote = schema.find_operation_by_label("POST /api/v1/quotes")
    seeds: list[int] = []
    seeded_quotes: set[int] = set()
    from_seeds: set[str] = set()

    class Machine(schema.as_state_machine()):
        @initialize()
        def create_a_quote(self):
            """The seed: its response goes where a generated root's would, and every link
            from `POST /quotes` can follow it."""
            case = create_quote.Case(
                body={"organization_id": scene.store.org.id, "title": "Seeded quote"},
                headers={"Idempotency-Key": f"seed-{len(seeds)}"},
                media_type="application/json",
            )
            step = StepInput.initial(case)
            self.recorder.record_case(case=case)
            self.control.record_step(step, self.recorder)
            output = self.step(step)
            seeds.append(output.response.status_code)
            if output.response.status_code == 201:
                seeded_quotes.add(output.response.json()["id"])
            self._add_results_to_targets((), [output])

        def get_call_kwargs(self, case):
            return {"headers": auth}

        def before_call(self, case):
            case.headers = {**(case.headers or {}), **auth}
            # The roots of the links need an organization that exists; the rest is generated.
            if case.operation.label == "POST /api/v1/quotes" and isinstance(case.body, dict):
                case.body["organization_id"] = scene.store.org.id
                # The root must succeed for its links to be followed: generated template and
                # owner ids name nothing that exists, and a generated title may be refused
                # (the refusals are exercised by the stateless test above).
                case.body.pop("template_id", None)
                case.body.pop("owner_id", None)
                case.body["title"] = "Quote from the API"
            if case.operation.label == "POST /api/v1/webhook-endpoints" and isinstance(
                case.body, dict
            ):
                case.body["url"] = "https://127.0.0.1:9/hooks"  # loopback is allowed in tests

        def after_call(self, response, case):
            followed.add((case.operation.label, response.status_code))
            quote_id = (case.path_parameters or {}).get("quote_id")
            if quote_id in seeded_quotes and response.status_code != 404:
                from_seeds.add(case.operation.label)
            db.session.rollback()

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            stateful_step_count=6,
        ),
    )
    assert seeds and set(seeds) == {201}, seeds  # every walk's seed made its quote
    # The links were followed: operations on the created quote found it (not a 404).
    assert any("{quote_id}" in label and status != 404 for label, status in followed)
    assert from_seeds, sorted(followed)  # and from the seeded quotes in particular
