"""Every status change of a delivery is a named step; a transient fault retries on time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry

from tests.accounting.builders import make_document
from webapp import signals
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import TransientError
from webapp.integrations.models import Delivery, DeliveryStatus
from webapp.integrations.outbox import DELIVERY
from webapp.jobs import get_queue
from webapp.models_base import utcnow
from webapp.statemachine import IllegalTransition
from workers.integrations import sync_connection


def _invoice_delivery(store) -> Delivery:
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    return db.session.execute(
        db.select(Delivery).filter_by(kind="invoice", subject_id=doc.id)
    ).scalar_one()


def test_confirmed_and_cancelled_are_final():
    assert DELIVERY.targets(DeliveryStatus.CONFIRMED) == frozenset()
    assert DELIVERY.targets(DeliveryStatus.CANCELLED) == frozenset()
    # A delivery waiting for its customer cannot be handed to the vendor.
    assert not DELIVERY.allows(DeliveryStatus.WAITING, DeliveryStatus.SENT)


def test_only_a_failed_delivery_can_be_retried(qbo, qbo_connection, store):
    delivery = _invoice_delivery(store)
    sync_connection(qbo_connection.id)
    db.session.expire_all()
    assert delivery.status == DeliveryStatus.CONFIRMED

    with pytest.raises(core.IntegrationRuleError):
        core.retry_delivery(delivery, store.admin)
    with pytest.raises(IllegalTransition, match="cannot cancel"):
        DELIVERY.fire(delivery, "cancel")
    assert delivery.status == DeliveryStatus.CONFIRMED


def test_a_long_retry_after_schedules_the_next_sync_when_it_ends(app, qbo, qbo_connection, store):
    app.config["ACCOUNTING_RETRY_BACKOFF"] = "0"
    _invoice_delivery(store)
    qbo.faults.fail_next(1, status=503, retry_after=40, path="/batch")

    with pytest.raises(TransientError):
        sync_connection(qbo_connection.id)

    db.session.expire_all()
    due = min(
        db.session.execute(
            db.select(Delivery.next_attempt_at).where(Delivery.next_attempt_at.is_not(None))
        ).scalars()
    )
    assert utcnow() + timedelta(seconds=30) < due <= utcnow() + timedelta(seconds=41)
    registry = ScheduledJobRegistry(queue=get_queue())
    job_id = f"integration-retry-{qbo_connection.id}"
    assert job_id in registry.get_job_ids()
    at = registry.get_scheduled_time(job_id)
    assert abs((at - due).total_seconds()) < 1.5  # not the five-minute sweep
    assert get_queue().fetch_job(job_id).func_name == "workers.integrations.sync_connection"


def test_many_invoices_in_one_transaction_read_the_ledger_connections_once(qbo_connection, store):
    from sqlalchemy import event as sa_event

    db.session.commit()
    documents = [make_document(store.org, store.customer, store.products[:1]) for _ in range(5)]
    db.session.flush()
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        # The active ledger connections (other domains' connections are not this test's).
        if statement.lstrip().startswith("SELECT") and (
            "FROM integration_connections JOIN ledger_connections" in statement
        ):
            reads.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        for document in documents:
            signals.sales_document_ready_to_invoice.send(document)
        assert len(reads) == 1  # the first invoice read them; the others used that copy
        # A connection removed in the same transaction is honoured at once.
        core.disconnect(qbo_connection, store.admin)
        late = make_document(store.org, store.customer, store.products[:1])
        signals.sales_document_ready_to_invoice.send(late)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    db.session.commit()
    invoiced = set(db.session.scalars(db.select(Delivery.subject_id).filter_by(kind="invoice")))
    assert invoiced == {document.id for document in documents}


def test_a_retry_after_given_as_an_http_date_is_honoured(app, qbo, qbo_connection, store):
    app.config["ACCOUNTING_RETRY_BACKOFF"] = "0"
    _invoice_delivery(store)
    qbo.retry_after_as_date = True  # "Retry-After: Tue, 08 Dec 2026 00:31:30 GMT"
    qbo.faults.fail_next(1, status=503, retry_after=90, path="/batch")

    with pytest.raises(TransientError):
        sync_connection(qbo_connection.id)

    db.session.expire_all()
    delivery = db.session.execute(
        db.select(Delivery).where(Delivery.next_attempt_at.is_not(None))
    ).scalar_one()
    # An HTTP-date has whole seconds: the wait is 89-90 s from now, never the backoff's 0.
    assert utcnow() + timedelta(seconds=80) < delivery.next_attempt_at
    assert delivery.next_attempt_at <= utcnow() + timedelta(seconds=91)
    assert delivery.status == DeliveryStatus.PENDING
    at = ScheduledJobRegistry(queue=get_queue()).get_scheduled_time(
        f"integration-retry-{qbo_connection.id}"
    )
    assert abs((at - delivery.next_attempt_at).total_seconds()) < 1.5
