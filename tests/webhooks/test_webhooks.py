"""Outbound webhooks: signed per Standard Webhooks (checked with its reference library),
retried on its schedule through the integrations outbox, never sent to a private address."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from standardwebhooks import Webhook

from tests.factories import issue_order, login
from tests.sandboxes.server import LiveServer
from webapp.extensions import db
from webapp.integrations.models import (
    ConnectionStatus,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationStatus,
)
from webapp.models_base import utcnow
from webapp.webhooks import operations
from webapp.webhooks.models import WebhookEndpoint, WebhookEvent


@dataclass
class Receiver:
    """A webhook receiver on loopback: records each request, answers the queued statuses."""

    server: LiveServer | None = None
    requests: list[dict] = field(default_factory=list)
    answers: list[tuple[int, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode()
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        with self.lock:
            self.requests.append({"path": environ["PATH_INFO"], "headers": headers, "body": body})
            status, extra = self.answers.pop(0) if self.answers else (204, {})
        start_response(f"{status} X", list(extra.items()))
        return [b"ok"]

    @property
    def url(self) -> str:
        return f"{self.server.url}/hooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.server = LiveServer(found).start()
    yield found
    found.server.stop()


def add_endpoint(receiver: Receiver, events=(), name="ERP") -> tuple[WebhookEndpoint, str]:
    endpoint, secret = operations.create_endpoint(receiver.url, name, events, "Admin")
    db.session.commit()
    return endpoint, secret


def deliveries(endpoint) -> list[Delivery]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(Delivery).filter_by(connection_id=endpoint.id).order_by(Delivery.id)
        )
    )


def due_now(endpoint) -> None:
    """Let the backoff of every open delivery end (the clock, not a sleep)."""
    for delivery in deliveries(endpoint):
        if delivery.next_attempt_at is not None:
            delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def sync(endpoint, run_jobs) -> None:
    """Run the sync job for the endpoint as the worker would (enqueued by the outbox)."""
    from webapp.integrations.outbox import schedule_sync

    schedule_sync(endpoint)
    db.session.commit()
    run_jobs(allow_failures=True)


def test_an_order_reaches_a_subscribed_endpoint_signed_per_standard_webhooks(
    app, store, receiver, run_jobs
):
    endpoint, secret = add_endpoint(receiver)
    document = issue_order(store)
    db.session.commit()
    run_jobs(allow_failures=True)

    created = [r for r in receiver.requests if '"order.created"' in r["body"]]
    assert len(created) == 1
    request = created[0]
    # The reference library accepts our signature over the raw body ...
    payload = Webhook(secret).verify(request["body"], request["headers"])
    assert payload["type"] == "order.created"
    assert payload["data"]["id"] == document.id and payload["data"]["number"] == document.number
    assert payload["data"]["total"] == str(document.total)
    assert request["headers"]["content-type"] == "application/json"
    # ... and refuses it under another secret or a changed body.
    other = operations.signing.new_secret()
    with pytest.raises(Exception, match="signature"):
        Webhook(other).verify(request["body"], request["headers"])
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(request["body"].replace(document.number, "X"), request["headers"])
    sent = deliveries(endpoint)
    assert sent and {(d.status, d.remote_id) for d in sent} == {
        (DeliveryStatus.CONFIRMED, "HTTP 204")
    }


def test_an_endpoint_receives_only_the_events_it_chose(app, store, receiver, run_jobs):
    add_endpoint(receiver, events=["po.issued"])
    issue_order(store)
    db.session.commit()
    run_jobs(allow_failures=True)
    assert receiver.requests == []
    assert db.session.scalar(db.select(db.func.count(WebhookEvent.id))) == 0  # nothing written


def test_a_failing_receiver_is_retried_on_the_schedule_with_the_same_message_id(
    app, store, receiver, run_jobs
):
    endpoint, secret = add_endpoint(receiver)
    receiver.answers = [(500, {}), (503, {"Retry-After": "600"})]
    operations.emit("po.issued", {"id": 1, "number": "PO-1"})
    db.session.commit()

    started = utcnow()
    run_jobs(allow_failures=True)
    [delivery] = deliveries(endpoint)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    # First retry after 5 s, with up to a fifth of jitter earlier.
    wait = (delivery.next_attempt_at - started).total_seconds()
    assert 3.9 <= wait <= 6, wait

    due_now(endpoint)
    started = utcnow()
    sync(endpoint, run_jobs)
    [delivery] = deliveries(endpoint)
    # The second step is 5 minutes, but the receiver asked for 10: its Retry-After wins.
    wait = (delivery.next_attempt_at - started).total_seconds()
    assert 599 <= wait <= 602, wait

    due_now(endpoint)
    sync(endpoint, run_jobs)
    [delivery] = deliveries(endpoint)
    assert delivery.status == DeliveryStatus.CONFIRMED and delivery.attempts == 3
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1  # the receiver can drop repeats
    for request in receiver.requests:
        Webhook(secret).verify(request["body"], request["headers"])


def test_an_endpoint_failing_after_the_last_retry_is_disabled_and_admins_are_emailed(
    app, store, receiver, run_jobs, mailbox
):
    app.config["WEBHOOK_RETRY_BACKOFF"] = "1,1"  # three tries in all
    endpoint, _secret = add_endpoint(receiver)
    receiver.answers = [(500, {})] * 3
    operations.emit("po.issued", {"id": 1})
    db.session.commit()
    run_jobs(allow_failures=True)
    for _ in range(2):
        due_now(endpoint)
        sync(endpoint, run_jobs)

    [delivery] = deliveries(endpoint)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    assert len(receiver.requests) == 3
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert endpoint.status == ConnectionStatus.DISCONNECTED
    assert "3 attempts" in endpoint.disabled_reason
    note = db.session.scalar(db.select(Notification).filter_by(delivery_id=delivery.id))
    assert note.status == NotificationStatus.OPEN
    run_jobs()  # the email job
    [email] = mailbox.to(store.admin.email)
    assert "Webhook endpoint disabled" in email["Subject"]

    # A disabled endpoint gets no new events; enabling it and Resend deliver the failed one.
    operations.emit("po.issued", {"id": 2})
    db.session.commit()
    run_jobs(allow_failures=True)
    assert len(receiver.requests) == 3 and len(deliveries(endpoint)) == 1
    operations.enable(endpoint, "Admin")
    operations.resend(db.session.get(Delivery, delivery.id), "Admin")
    db.session.commit()
    run_jobs(allow_failures=True)
    assert [d.status for d in deliveries(endpoint)] == [DeliveryStatus.CONFIRMED]
    assert len(receiver.requests) == 4


def test_410_gone_disables_the_endpoint_at_once(app, store, receiver, run_jobs):
    endpoint, _secret = add_endpoint(receiver)
    receiver.answers = [(410, {})]
    operations.emit("po.issued", {"id": 1})
    db.session.commit()
    run_jobs(allow_failures=True)
    [delivery] = deliveries(endpoint)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert endpoint.status == ConnectionStatus.DISCONNECTED
    assert "410" in endpoint.disabled_reason


def test_a_redirect_is_a_failure_and_is_not_followed(app, store, receiver, run_jobs):
    endpoint, _secret = add_endpoint(receiver)
    elsewhere = f"{receiver.server.url}/elsewhere"
    receiver.answers = [(307, {"Location": elsewhere})]
    operations.emit("po.issued", {"id": 1})
    db.session.commit()
    run_jobs(allow_failures=True)
    assert [r["path"] for r in receiver.requests] == ["/hooks"]
    [delivery] = deliveries(endpoint)
    assert delivery.status == DeliveryStatus.PENDING and "redirected" in delivery.last_error


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "http://example.com/hooks",  # plain http
        "https://user:pw@example.com/hooks",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused_at_creation(app, url):
    app.config["WEBHOOKS_ALLOW_LOOPBACK"] = False
    app.config["INTEGRATIONS_ALLOW_HTTP"] = False
    with pytest.raises(operations.IntegrationRuleError):
        operations.create_endpoint(url, "x", [], "Admin")


def test_a_name_that_resolves_to_a_private_address_is_refused(app, monkeypatch):
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(operations.IntegrationRuleError, match="private network address"):
        operations.create_endpoint("https://hooks.example.com/x", "x", [], "Admin")


def test_an_address_that_turns_private_after_creation_is_refused_at_delivery(
    app, store, receiver, run_jobs
):
    """DNS rebinding, or a setting changed: every delivery checks the address again."""
    endpoint, _secret = add_endpoint(receiver)
    app.config["WEBHOOKS_ALLOW_LOOPBACK"] = False
    operations.emit("po.issued", {"id": 1})
    db.session.commit()
    run_jobs(allow_failures=True)
    assert receiver.requests == []
    [delivery] = deliveries(endpoint)
    assert delivery.status == DeliveryStatus.FAILED
    assert "loopback" in delivery.last_error


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(app, store, receiver, run_jobs):
    endpoint, old = add_endpoint(receiver)
    new = operations.rotate_secret(endpoint, "Admin")
    db.session.commit()
    operations.emit("po.issued", {"id": 1})
    db.session.commit()
    run_jobs(allow_failures=True)
    [request] = receiver.requests
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request["body"], request["headers"])
    Webhook(new).verify(request["body"], request["headers"])

    endpoint.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    operations.emit("po.issued", {"id": 2})
    db.session.commit()
    run_jobs(allow_failures=True)
    latest = receiver.requests[-1]
    assert len(latest["headers"]["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(latest["body"], latest["headers"])
    with pytest.raises(Exception, match="signature"):
        Webhook(old).verify(latest["body"], latest["headers"])


def test_the_secret_is_shown_once_and_stored_encrypted(app, store, client, receiver):
    login(client, store.admin)
    page = client.post(
        "/admin/webhooks/",
        data={"url": receiver.url, "description": "ERP", "events": ["order.created"]},
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    secret = html.split('value="whsec_', 1)[1].split('"', 1)[0]
    endpoint = db.session.scalar(db.select(WebhookEndpoint))
    assert endpoint.event_types == ["order.created"]
    assert secret not in endpoint.secret_ciphertext
    assert operations.signing_secrets(endpoint) == [f"whsec_{secret}"]
    later = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert secret not in later and secret not in client.get("/admin/webhooks/").get_data(
        as_text=True
    )


def test_bad_endpoint_input_is_refused_with_a_message_and_saves_nothing(app, store, client):
    login(client, store.admin)
    for data, message in [
        ({"url": "https://10.0.0.1/x"}, "private network address"),
        ({"url": "ftp://example.com/x"}, "must start with https://"),
        ({"url": "https://example.com/" + "a" * 600}, "500"),
        ({"url": "https://example.com/x", "events": ["nope.nope"]}, "valid choice"),
        ({"url": "https://example.com/x", "description": "two\nlines"}, "line"),
    ]:
        page = client.post("/admin/webhooks/", data=data)
        assert page.status_code == 400, data
        assert message in page.get_data(as_text=True), data
    assert db.session.scalar(db.select(db.func.count(WebhookEndpoint.id))) == 0


def test_send_test_event_and_the_delivery_log(app, store, client, receiver, run_jobs):
    endpoint, secret = add_endpoint(receiver)
    login(client, store.admin)
    assert client.post(f"/admin/webhooks/{endpoint.id}/test").status_code == 303
    run_jobs(allow_failures=True)
    [request] = receiver.requests
    assert Webhook(secret).verify(request["body"], request["headers"])["type"] == "webhook.test"
    log = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "webhook.test" in log and "HTTP 204" in log and "Confirmed" in log


def test_only_admins_manage_webhooks(app, store, client, receiver):
    endpoint, _secret = add_endpoint(receiver)
    login(client, store.sales)
    assert client.get("/admin/webhooks/").status_code == 403
    assert client.post(f"/admin/webhooks/{endpoint.id}/rotate").status_code == 403
    assert client.get(f"/admin/webhooks/{endpoint.id + 1000}").status_code == 403


def test_resend_refuses_another_endpoints_delivery(app, store, client, receiver, run_jobs):
    first, _ = add_endpoint(receiver, name="A")
    second, _ = add_endpoint(receiver, name="B")
    receiver.answers = [(410, {}), (410, {})]
    operations.emit("po.issued", {"id": 1})
    db.session.commit()
    run_jobs(allow_failures=True)
    [theirs] = deliveries(second)
    login(client, store.admin)
    assert (
        client.post(f"/admin/webhooks/{first.id}/deliveries/{theirs.id}/resend").status_code == 404
    )


def test_a_deleted_endpoint_is_marked_deleted_hidden_and_sent_nothing(
    app, store, client, receiver, run_jobs
):
    from webapp.integrations import operations as core

    endpoint, _secret = add_endpoint(receiver, name="Old ERP")
    kept, _ = add_endpoint(receiver, name="New ERP")
    tenant = endpoint.tenant_id
    operations.emit("po.issued", {"id": 1})
    db.session.commit()
    run_jobs(allow_failures=True)
    login(client, store.admin)

    assert client.post(f"/admin/webhooks/{endpoint.id}/delete").status_code == 303

    db.session.expire_all()
    assert endpoint.deleted_at is not None
    assert endpoint.tenant_id == tenant  # no longer renamed to say it
    assert [c.id for c in core.active_connections(WebhookEndpoint)] == [kept.id]
    listing = client.get("/admin/webhooks/").get_data(as_text=True)
    assert "New ERP" in listing and "Old ERP" not in listing
    assert client.get(f"/admin/webhooks/{endpoint.id}").status_code == 404
    assert client.post(f"/admin/webhooks/{endpoint.id}/enable").status_code == 404
    assert len(deliveries(endpoint)) == 1  # its log is kept
    operations.emit("po.issued", {"id": 2})
    db.session.commit()
    assert len(deliveries(endpoint)) == 1 and len(deliveries(kept)) == 2


def price_events() -> list[WebhookEvent]:
    return list(
        db.session.scalars(
            db.select(WebhookEvent)
            .where(WebhookEvent.type == "product.price_changed")
            .order_by(WebhookEvent.id)
        )
    )


def test_a_cost_change_announces_the_repriced_products_only(app, store, receiver, run_jobs):
    from webapp.catalog.operations import refresh_product_aggregates

    endpoint, secret = add_endpoint(receiver, events=["product.price_changed"])
    cheaper, same = store.products[0], store.products[1]
    cheaper.offers[0].cost = cheaper.offers[0].cost - 100
    refresh_product_aggregates([cheaper.id, same.id])
    db.session.commit()
    run_jobs(allow_failures=True)
    [request] = receiver.requests
    payload = Webhook(secret).verify(request["body"], request["headers"])
    assert payload["type"] == "product.price_changed"
    assert payload["data"] == {"all": False, "product_ids": [cheaper.id], "reason": "cost"}


def test_price_changes_are_batched_per_500_products(app, store, receiver):
    from webapp import signals

    add_endpoint(receiver, events=["product.price_changed"])
    signals.product_prices_changed.send(tuple(range(1, 1202)), reason="cost")
    db.session.commit()
    batches = [event.data["product_ids"] for event in price_events()]
    assert [len(batch) for batch in batches] == [500, 500, 201]
    assert batches[0][0] == 1 and batches[-1][-1] == 1201


def test_a_fixed_price_or_a_pricing_rule_announces_its_products(app, store, receiver):
    from webapp.catalog import pricing_setup, product_editing

    add_endpoint(receiver, events=["product.price_changed"])
    product = store.products[2]
    product_editing.set_fixed_price(product, "999.00", store.admin)
    product_editing.set_fixed_price(product, "999.00", store.admin)  # unchanged: nothing more
    pricing_setup.save_pricing_rule(
        None,
        price_group_id=None,
        category_id=None,
        brand_id=store.brand.id,
        markup_pct="12",
        actor=store.admin,
    )
    db.session.commit()
    assert [event.data for event in price_events()] == [
        {"all": False, "product_ids": [product.id], "reason": "fixed_price"},
        {"all": True, "product_ids": [], "reason": "pricing_rule"},
    ]


def test_many_events_in_one_transaction_read_the_endpoints_once(app, store, receiver):
    from sqlalchemy import event as sa_event

    first, _ = add_endpoint(receiver, events=["po.issued"])
    db.session.commit()
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "FROM integration_connections" in statement and statement.lstrip().startswith("SELECT"):
            reads.append(statement)

    engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        for number in range(20):
            operations.emit("po.issued", {"id": number})
        assert len(reads) == 1  # the first emit read them; the next 19 used that copy

        # A change in the same transaction is seen at once, as the query would see it.
        operations.disable(first, "paused")
        assert operations.emit("po.issued", {"id": 100}) is None
        operations.enable(first, "Admin")
        second, _ = operations.create_endpoint(receiver.url, "CRM", ["po.issued"], "Admin")
        event = operations.emit("po.issued", {"id": 101})
        first.event_types = ["order.created"]  # not flushed yet: still honoured
        other = operations.emit("po.issued", {"id": 102})
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    db.session.commit()
    assert [d.subject_id for d in deliveries(second)] == [event.id, other.id]
    assert event.id in [d.subject_id for d in deliveries(first)]
    assert other.id not in [d.subject_id for d in deliveries(first)]
    assert len(deliveries(first)) == 21

    db.session.commit()  # a new transaction reads them again
    reads.clear()
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        operations.emit("po.issued", {"id": 103})
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert len(reads) == 1


def test_an_endpoint_added_in_a_rolled_back_savepoint_is_not_sent_to(app, store, receiver):
    kept, _ = add_endpoint(receiver, events=["po.issued"])
    savepoint = db.session.begin_nested()
    undone, _ = operations.create_endpoint(receiver.url, "CRM", ["po.issued"], "Admin")
    assert operations.emit("po.issued", {"id": 1}) is not None
    savepoint.rollback()
    event = operations.emit("po.issued", {"id": 2})
    db.session.commit()
    assert [d.subject_id for d in deliveries(kept)] == [event.id]
    assert db.session.scalar(db.select(db.func.count(WebhookEndpoint.id))) == 1
