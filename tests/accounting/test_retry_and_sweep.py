"""A transient fault is retried within seconds, then less and less often; a sync job lost
because Redis was down right after the commit is found by the sweep and nothing is lost."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry

from tests.accounting.builders import make_document
from tests.conftest import redis_unreachable
from webapp import signals
from webapp.extensions import db
from webapp.integrations.interfaces import TransientError
from webapp.integrations.models import Delivery, DeliveryStatus
from webapp.integrations.outbox import backoff
from webapp.jobs import QueuedJob, get_queue, sweep_queued_jobs
from webapp.models_base import utcnow
from workers.integrations import sync_connection


def _ready_invoice(store):
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    return doc


def _delivery(doc) -> Delivery:
    db.session.expire_all()
    return db.session.execute(
        db.select(Delivery).filter_by(kind="invoice", subject_id=doc.id)
    ).scalar_one()


def _invoices(qbo) -> Counter:
    return Counter(i.get("DocNumber") for i in qbo.entities(qbo.realms[0], "Invoice"))


def test_a_transient_failure_is_retried_within_seconds_then_backs_off(
    app, qbo, qbo_connection, store
):
    app.config["ACCOUNTING_RETRY_BACKOFF"] = "5,30,120,600,1800,3600"  # the production steps
    doc = _ready_invoice(store)
    qbo.faults.fail_next(1, status=500, path="/batch")

    with pytest.raises(TransientError):
        sync_connection(qbo_connection.id)

    (retried,) = _retrying()  # the first batch (the customer) failed; the rest waits for it
    first_wait = (retried.next_attempt_at - utcnow()).total_seconds()
    assert 3.5 < first_wait <= 5  # 5 s, up to a fifth earlier (jitter): not the sweep's minutes
    registry = ScheduledJobRegistry(queue=get_queue())
    at = registry.get_scheduled_time(f"integration-retry-{qbo_connection.id}")
    assert abs((at - retried.next_attempt_at).total_seconds()) < 1.5

    retried.next_attempt_at = utcnow()  # the five seconds have passed
    db.session.commit()
    qbo.faults.fail_next(1, status=500, path="/batch")
    with pytest.raises(TransientError):
        sync_connection(qbo_connection.id)
    (again,) = _retrying()
    assert again.id == retried.id and again.status == DeliveryStatus.PENDING
    second_wait = (again.next_attempt_at - utcnow()).total_seconds()
    assert 23 < second_wait <= 30  # the next step, 30 s with its jitter

    again.next_attempt_at = utcnow()
    db.session.commit()
    sync_connection(qbo_connection.id)
    assert _delivery(doc).status == DeliveryStatus.CONFIRMED
    assert _invoices(qbo)[doc.number] == 1


def test_connections_that_failed_together_do_not_retry_in_step(app):
    waits = {backoff(1, None, [5]).total_seconds() for _ in range(50)}
    assert len(waits) > 1 and all(4 <= wait <= 5 for wait in waits)
    assert backoff(3, 900, [5, 30, 120]).total_seconds() == 900  # never before Retry-After


def _retrying() -> list[Delivery]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Delivery).where(Delivery.next_attempt_at > utcnow())))


def test_redis_down_after_the_commit_the_sweep_sends_the_invoice_once(
    app, qbo, qbo_connection, store, run_jobs
):
    queued_before = get_queue().count  # what connecting queued (reading the lists)
    with redis_unreachable(app):
        doc = _ready_invoice(store)  # the commit succeeds; the enqueue after it fails silently
    assert _delivery(doc).status == DeliveryStatus.WAITING  # for its customer, not yet sent
    assert get_queue().count == queued_before
    kept = list(db.session.scalars(db.select(QueuedJob)))
    assert "workers.integrations.sync_connection" in {row.func for row in kept}

    assert sweep_queued_jobs(older_than=timedelta(0)) == len(kept)
    assert list(db.session.scalars(db.select(QueuedJob))) == []
    run_jobs()

    assert _delivery(doc).status == DeliveryStatus.CONFIRMED
    assert _invoices(qbo)[doc.number] == 1
