"""One webhook endpoint per provider: the signature over the raw body is checked first."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from tests.accounting.builders import connect_qbo, point_app_at_qbo
from webapp.extensions import db
from webapp.integrations.models import InboundEvent, InboundStatus
from webapp.jobs import get_queue

KEY = "qbo-verifier-token"


def _signed(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _payment_notice(realm: str) -> bytes:
    note = {
        "realmId": realm,
        "dataChangeEvent": {"entities": [{"name": "Payment", "id": "7", "operation": "Create"}]},
    }
    return json.dumps({"eventNotifications": [note]}).encode()


def _post(client, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["intuit-signature"] = signature
    return client.post("/webhooks/qbo", data=body, headers=headers, csrf=False)


def _events() -> list[InboundEvent]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(InboundEvent)))


def _queued() -> list[str]:
    return [job.func_name for job in get_queue().jobs]


@pytest.fixture
def connected(app, qbo, store):
    point_app_at_qbo(app, qbo)
    connection = connect_qbo(qbo)
    db.session.commit()
    get_queue().empty()
    return connection


@pytest.mark.parametrize(
    "signature", [None, "", "not base64 at all", _signed(b"another body"), _signed(b"x", "k2")]
)
def test_a_missing_or_bad_signature_is_refused_before_anything_is_read(
    client, qbo, connected, signature
):
    # The body is not even JSON: a handler that looked at it first would answer 400, not 401.
    response = _post(client, b"{not json", signature)
    assert response.status_code == 401
    assert _events() == []
    assert _queued() == []


def test_a_signed_notice_is_stored_answered_and_handled_in_a_job(client, qbo, connected, run_jobs):
    body = _payment_notice(qbo.realms[0])
    response = _post(client, body, _signed(body))
    assert response.status_code == 200
    [event] = _events()
    assert (event.provider, event.status) == ("qbo", InboundStatus.RECEIVED)
    assert _queued() == ["workers.integrations.handle_inbound"]

    # The vendor retries the same notice: stored once, handled once.
    assert _post(client, body, _signed(body)).status_code == 200
    assert len(_events()) == 1
    assert _queued() == ["workers.integrations.handle_inbound"]

    run_jobs()
    [event] = _events()
    assert event.status is InboundStatus.PROCESSED


def test_the_handler_queues_a_payments_import_for_the_named_tenant_only(app, qbo, connected):
    from webapp.integrations.inbound import handle

    body = _payment_notice("another-realm")
    event = InboundEvent(provider="qbo", body=body.decode(), body_sha256="a" * 64)
    db.session.add(event)
    db.session.commit()
    handle(event.id)
    db.session.commit()
    assert _queued() == []  # no connection of ours has that realm

    body = _payment_notice(qbo.realms[0])
    event = InboundEvent(provider="qbo", body=body.decode(), body_sha256="b" * 64)
    db.session.add(event)
    db.session.commit()
    handle(event.id)
    db.session.commit()
    assert _queued() == ["workers.accounting.import_payments"]


def test_a_signed_but_malformed_body_is_kept_as_failed_not_retried(
    client, qbo, connected, run_jobs
):
    body = b'{"eventNotifications": "not a list"}'
    assert _post(client, body, _signed(body)).status_code == 200
    run_jobs()  # the job itself succeeds: retrying a malformed body cannot help
    [event] = _events()
    assert event.status is InboundStatus.FAILED
    assert event.error


def test_unknown_providers_and_oversized_bodies_are_refused(client, qbo, connected):
    assert client.post("/webhooks/nope", data=b"{}", csrf=False).status_code == 404
    big = b"x" * (1024 * 1024 + 1)
    assert _post(client, big, _signed(big)).status_code == 413
    assert _events() == []


def test_without_a_configured_key_every_notice_is_refused(app, client, qbo, connected):
    app.config["QBO_WEBHOOK_VERIFIER"] = ""
    body = _payment_notice(qbo.realms[0])
    assert _post(client, body, _signed(body, "")).status_code == 401
    assert _events() == []
