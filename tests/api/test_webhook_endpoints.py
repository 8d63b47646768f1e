"""Webhook endpoints through the API: the Settings › Webhooks operations, same checks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from tests.api.conftest import bearer, make_key
from tests.api.test_writes import post
from webapp.api.models import IdempotencyRecord
from webapp.extensions import db
from webapp.integrations.models import DeliveryStatus
from webapp.webhooks.models import WebhookEndpoint

URL = "/api/v1/webhook-endpoints"


def endpoint_count() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.deleted_at.is_(None))
    )


def create(client, key, receiver, **body):
    return post(client, URL, key, {"url": receiver.url, "description": "ERP", **body})


def test_an_endpoint_is_created_with_its_secret_shown_once_then_never(
    client, scene, receiver, run_jobs
):
    created = create(client, scene.msp_key, receiver, event_types=["po.issued"])
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["po.issued"] and body["enabled"] is True
    assert created.headers["Location"].endswith(f"{URL}/{body['id']}")
    got = client.get(created.headers["Location"], headers=bearer(scene.msp_key))
    assert got.status_code == 200 and "secret" not in got.get_json()
    listed = client.get(URL, headers=bearer(scene.msp_key)).get_json()
    assert listed["total"] == 1 and "secret" not in listed["data"][0]
    # The copy kept for a replay is encrypted like every stored secret.
    kept = db.session.scalars(select(IdempotencyRecord.response_body)).all()
    assert kept and all(body["secret"] not in text for text in kept)

    # The test event is signed with the secret the API showed.
    tested = post(client, f"{URL}/{body['id']}/test", scene.msp_key)
    assert tested.status_code == 202 and tested.get_json()["type"] == "webhook.test"
    run_jobs(allow_failures=True)
    [request] = receiver.requests
    Webhook(body["secret"]).verify(request["body"], request["headers"])


def test_a_replayed_create_gives_the_same_endpoint_and_secret(client, scene, receiver):
    first = post(client, URL, scene.msp_key, {"url": receiver.url}, idem="hook-1")
    again = post(client, URL, scene.msp_key, {"url": receiver.url}, idem="hook-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert endpoint_count() == 1
    other = post(client, URL, scene.msp_key, {"url": receiver.url + "/x"}, idem="hook-1")
    assert other.status_code == 422
    assert endpoint_count() == 1


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://10.1.2.3/hooks", "private"),
        ("https://169.254.169.254/latest", "link-local"),
        ("ftp://example.com/hooks", "https://"),
    ],
)
def test_private_addresses_are_refused_with_the_field_named(app, client, scene, url, words):
    app.config["WEBHOOKS_ALLOW_LOOPBACK"] = False
    app.config["INTEGRATIONS_ALLOW_HTTP"] = False
    refused = post(client, URL, scene.msp_key, {"url": url})
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    [error] = refused.get_json()["errors"]
    assert error["pointer"] == "/url" and words in error["detail"]
    assert endpoint_count() == 0


def test_loopback_is_refused_unless_the_setting_allows_it(app, client, scene):
    app.config["WEBHOOKS_ALLOW_LOOPBACK"] = False
    refused = post(client, URL, scene.msp_key, {"url": "https://127.0.0.1:8443/hooks"})
    assert refused.status_code == 422 and "loopback" in refused.get_json()["detail"]


def test_an_unknown_event_type_is_refused_by_pointer(client, scene, receiver):
    refused = create(client, scene.msp_key, receiver, event_types=["po.issued", "po.eaten"])
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["pointer"] == "/event_types/1"
    assert endpoint_count() == 0


def test_update_changes_only_what_is_sent_and_checks_the_url_again(app, client, scene, receiver):
    body = create(client, scene.msp_key, receiver, event_types=["po.issued"]).get_json()
    url = f"{URL}/{body['id']}"
    changed = post(client, url, scene.msp_key, {"description": "CRM"}, method="PATCH")
    assert changed.status_code == 200
    assert changed.get_json()["description"] == "CRM"
    assert changed.get_json()["event_types"] == ["po.issued"]
    app.config["WEBHOOKS_ALLOW_LOOPBACK"] = False
    refused = post(client, url, scene.msp_key, {"url": "https://10.0.0.1/x"}, method="PATCH")
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["pointer"] == "/url"
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, body["id"]).url == receiver.url
    disabled = post(client, url, scene.msp_key, {"enabled": False}, method="PATCH")
    assert disabled.get_json()["enabled"] is False
    assert "Disabled by" in disabled.get_json()["disabled_reason"]


def test_rotation_shows_the_new_secret_and_both_sign(client, scene, receiver, run_jobs):
    body = create(client, scene.msp_key, receiver).get_json()
    rotated = post(client, f"{URL}/{body['id']}/rotate-secret", scene.msp_key)
    assert rotated.status_code == 200
    new = rotated.get_json()["secret"]
    assert new != body["secret"] and rotated.get_json()["previous_secret_expires_at"]
    post(client, f"{URL}/{body['id']}/test", scene.msp_key)
    run_jobs(allow_failures=True)
    [request] = receiver.requests
    Webhook(new).verify(request["body"], request["headers"])
    Webhook(body["secret"]).verify(request["body"], request["headers"])


def test_deliveries_are_listed_and_a_failed_one_is_resent(client, scene, receiver, run_jobs):
    body = create(client, scene.msp_key, receiver).get_json()
    url = f"{URL}/{body['id']}"
    receiver.answers = [(410, {})]
    post(client, f"{url}/test", scene.msp_key)
    run_jobs(allow_failures=True)
    log = client.get(f"{url}/deliveries?expand=attempts", headers=bearer(scene.msp_key))
    assert log.status_code == 200
    [delivery] = log.get_json()["data"]
    assert delivery["status"] == "failed" and delivery["event_type"] == "webhook.test"
    assert delivery["attempts"][0]["http_status"] == 410
    # 410 disabled the endpoint: a test event is refused until it is enabled.
    refused = post(client, f"{url}/test", scene.msp_key)
    assert refused.status_code == 409 and "Enable" in refused.get_json()["detail"]
    post(client, url, scene.msp_key, {"enabled": True}, method="PATCH")
    resent = post(client, f"{url}/deliveries/{delivery['id']}/resend", scene.msp_key)
    assert resent.status_code == 202, resent.get_data(as_text=True)
    run_jobs(allow_failures=True)
    failed_only = client.get(f"{url}/deliveries?status=failed", headers=bearer(scene.msp_key))
    assert failed_only.get_json()["total"] == 0
    again = client.get(f"{url}/deliveries", headers=bearer(scene.msp_key)).get_json()
    assert again["data"][0]["status"] == DeliveryStatus.CONFIRMED.value
    # Resending a delivered one is refused by the outbox's state machine.
    twice = post(client, f"{url}/deliveries/{delivery['id']}/resend", scene.msp_key)
    assert twice.status_code == 409 and "failed" in twice.get_json()["detail"]


def test_another_endpoints_delivery_is_not_found(client, scene, receiver, run_jobs):
    first = create(client, scene.msp_key, receiver).get_json()
    second = create(client, scene.msp_key, receiver).get_json()
    receiver.answers = [(410, {})]
    post(client, f"{URL}/{first['id']}/test", scene.msp_key)
    run_jobs(allow_failures=True)
    log = client.get(f"{URL}/{first['id']}/deliveries", headers=bearer(scene.msp_key))
    delivery_id = log.get_json()["data"][0]["id"]
    wrong = post(client, f"{URL}/{second['id']}/deliveries/{delivery_id}/resend", scene.msp_key)
    assert wrong.status_code == 404 and f"delivery {delivery_id}" in wrong.get_json()["detail"]


def test_a_deleted_endpoint_is_gone(client, scene, receiver):
    body = create(client, scene.msp_key, receiver).get_json()
    deleted = client.delete(f"{URL}/{body['id']}", headers=bearer(scene.msp_key))
    assert deleted.status_code == 204
    assert client.get(f"{URL}/{body['id']}", headers=bearer(scene.msp_key)).status_code == 404
    assert client.get(URL, headers=bearer(scene.msp_key)).get_json()["total"] == 0


def test_a_key_without_the_scope_is_refused_and_nothing_is_made(client, scene, receiver):
    reader = make_key(scene.store, ["catalog:read", "purchasing:write"])
    refused = create(client, reader, receiver)
    assert refused.status_code == 403 and "webhooks:manage" in refused.get_json()["detail"]
    assert client.get(URL, headers=bearer(reader)).status_code == 403
    assert client.get(URL, headers=bearer(scene.customer_key)).status_code == 403
    assert endpoint_count() == 0


def test_a_request_without_an_idempotency_key_is_refused(client, scene, receiver):
    refused = post(client, URL, scene.msp_key, {"url": receiver.url}, idem=None)
    assert refused.status_code == 400 and "Idempotency-Key" in refused.get_json()["detail"]
    assert endpoint_count() == 0


def test_a_kept_secret_answer_under_a_retired_key_is_refused_not_a_500(
    app, client, scene, receiver
):
    from cryptography.fernet import Fernet

    post(client, URL, scene.msp_key, {"url": receiver.url}, idem="hook-k")
    app.config["ENCRYPTION_KEYS"] = Fernet.generate_key().decode()  # the old key is gone
    again = post(client, URL, scene.msp_key, {"url": receiver.url}, idem="hook-k")
    assert again.status_code == 422 and "no longer be read" in again.get_json()["detail"]
    assert endpoint_count() == 1


def test_rotate_keys_re_encrypts_kept_secret_answers_and_endpoint_secrets(
    app, client, scene, receiver
):
    from cryptography.fernet import Fernet

    from webapp.webhooks.operations import signing_secrets

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app.config["ENCRYPTION_KEYS"] = old
    created = post(client, URL, scene.msp_key, {"url": receiver.url}, idem="hook-r")
    assert created.status_code == 201
    endpoint_id = created.get_json()["id"]
    rotated = post(client, f"{URL}/{endpoint_id}/rotate-secret", scene.msp_key, idem="rot-r")
    assert rotated.status_code == 200
    plain = post(client, f"{URL}/{endpoint_id}/test", scene.msp_key, idem="test-r")
    assert plain.status_code < 300
    plain_body = db.session.scalar(
        select(IdempotencyRecord.response_body).where(IdempotencyRecord.key == "test-r")
    )
    assert not plain_body.startswith("fernet:")  # no secret in it: kept as it is

    app.config["ENCRYPTION_KEYS"] = f"{new},{old}"
    result = app.test_cli_runner().invoke(args=["integrations", "rotate-keys"])
    assert result.exit_code == 0, result.output

    app.config["ENCRYPTION_KEYS"] = new  # the old key is dropped after rotating
    db.session.expire_all()
    for idem in ("hook-r", "rot-r"):
        kept = db.session.scalar(
            select(IdempotencyRecord.response_body).where(IdempotencyRecord.key == idem)
        )
        assert kept.startswith("fernet:")
        Fernet(new.encode()).decrypt(kept.removeprefix("fernet:").encode())
    replayed = post(client, URL, scene.msp_key, {"url": receiver.url}, idem="hook-r")
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.get_json()["secret"] == created.get_json()["secret"]
    again = post(client, f"{URL}/{endpoint_id}/rotate-secret", scene.msp_key, idem="rot-r")
    assert again.get_json()["secret"] == rotated.get_json()["secret"]
    # Both signing secrets (the new one and the one still overlapping) were re-encrypted too.
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    assert signing_secrets(endpoint) == [
        rotated.get_json()["secret"],
        created.get_json()["secret"],
    ]
    assert (
        db.session.scalar(
            select(IdempotencyRecord.response_body).where(IdempotencyRecord.key == "test-r")
        )
        == plain_body
    )
