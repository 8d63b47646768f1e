"""Bills and purchase orders, payments back from the ledger, webhooks, the rate limiter."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal

import pytest

from tests.accounting.builders import make_document, make_receipt
from webapp import signals
from webapp.extensions import db
from webapp.integrations.interfaces import (
    RateLimit,
    RateLimited,
)
from webapp.integrations.models import Delivery
from webapp.integrations.ratelimit import ConnectionLimiter
from webapp.sales.models import PaymentStatus
from workers.accounting import import_payments
from workers.integrations import sync_connection


def test_receipt_becomes_one_bill_with_the_supplier_invoice_number(qbo, qbo_connection, store):
    receipt = make_receipt(store.supplier, store.products[:2], invoice_number="ING-7781")
    signals.receipt_recorded.send(receipt)
    db.session.commit()

    sync_connection(qbo_connection.id)
    sync_connection(qbo_connection.id)  # a second run finds nothing left to send

    (bill,) = qbo.entities(qbo.realms[0], "Bill")
    vendor = qbo.get(qbo.realms[0], "Vendor", bill["VendorRef"]["value"])
    assert bill["DocNumber"] == "ING-7781"
    assert vendor["DisplayName"] == "Ingram"
    # 2 x 261.37 + 12.50 freight = 535.24, plus 10% GST on purchases per line:
    # 26.14 + 26.14 + 1.25 = 53.53 (bills carry their purchase tax, issue 11).
    assert receipt.total == Decimal("535.24")
    assert bill["TotalAmt"] == 588.77
    freight = [ln for ln in bill["Line"] if ln["DetailType"] == "AccountBasedExpenseLineDetail"]
    assert [ln["Amount"] for ln in freight] == [12.5]


def test_issued_purchase_order_is_pushed_when_chosen_and_the_bill_links_to_it(
    qbo, qbo_connection, store
):
    qbo_connection.push_purchase_orders = True
    receipt = make_receipt(store.supplier, store.products[:1])
    signals.purchase_order_issued.send(receipt.purchase_order)
    signals.receipt_recorded.send(receipt)
    db.session.commit()

    sync_connection(qbo_connection.id)

    (order,) = qbo.entities(qbo.realms[0], "PurchaseOrder")
    (bill,) = qbo.entities(qbo.realms[0], "Bill")
    assert order["DocNumber"] == receipt.purchase_order.number
    assert order["APAccountRef"] == {"value": "33"}
    assert bill["Line"][0]["LinkedTxn"] == [{"TxnId": order["Id"], "TxnType": "PurchaseOrder"}]


def test_purchase_orders_are_not_pushed_unless_chosen(qbo, qbo_connection, store):
    receipt = make_receipt(store.supplier, store.products[:1])
    signals.purchase_order_issued.send(receipt.purchase_order)
    db.session.commit()

    assert db.session.execute(db.select(Delivery).filter_by(kind="purchase_order")).first() is None


def _pay(qbo, invoice_id: str, customer_id: str, amount: float) -> None:
    qbo.add(
        qbo.realms[0],
        "Payment",
        {
            "CustomerRef": {"value": customer_id},
            "TotalAmt": amount,
            "Line": [
                {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
            ],
        },
    )


def test_payments_import_marks_documents_partially_paid_then_paid(qbo, qbo_connection, store):
    # Tax-free: the sandbox does not compute QuickBooks sales tax, so totals match ours.
    doc = make_document(store.org, store.customer, store.products[:1], shipping="0", tax_pct="0")
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    sync_connection(qbo_connection.id)
    delivery = db.session.execute(db.select(Delivery).filter_by(kind="invoice")).scalar_one()
    invoice = qbo.get(qbo.realms[0], "Invoice", delivery.remote_id)
    changed = []
    signals.sales_document_payment_changed.connect(changed.append, weak=False)
    try:
        _pay(qbo, invoice["Id"], invoice["CustomerRef"]["value"], 100.0)
        assert import_payments(qbo_connection.id) == 1
        db.session.refresh(doc)
        assert doc.payment_status == PaymentStatus.PARTIALLY_PAID
        assert doc.amount_paid == Decimal("100.00")

        assert import_payments(qbo_connection.id) == 0  # nothing counted twice
        rest = float(doc.total - Decimal("100.00"))
        _pay(qbo, invoice["Id"], invoice["CustomerRef"]["value"], rest)
        import_payments(qbo_connection.id)
    finally:
        signals.sales_document_payment_changed.disconnect(changed.append)
    db.session.refresh(doc)
    assert doc.payment_status == PaymentStatus.PAID
    assert doc.amount_paid == doc.total
    assert changed == [doc, doc]


def _signed(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def test_webhook_with_a_bad_signature_is_refused(client, qbo, qbo_connection):
    from webapp.jobs import get_queue

    body = json.dumps({"eventNotifications": []}).encode()
    response = client.post(
        "/webhooks/qbo",
        data=body,
        headers={
            "intuit-signature": _signed(body, "wrong-key"),
            "Content-Type": "application/json",
        },
        csrf=False,
    )

    assert response.status_code == 401
    # Only what connecting queued (the sync, the read of the lists): nothing from the webhook.
    queued = {job.func_name for job in get_queue().jobs}
    assert queued == {"workers.integrations.sync_connection", "workers.accounting.refresh_lists"}


def test_signed_payment_webhook_queues_a_payments_import(client, qbo, qbo_connection, run_jobs):
    from rq.registry import FinishedJobRegistry

    from webapp.jobs import get_queue

    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": qbo.realms[0],
                    "dataChangeEvent": {
                        "entities": [{"name": "Payment", "id": "1", "operation": "Create"}]
                    },
                }
            ]
        }
    ).encode()
    response = client.post(
        "/webhooks/qbo",
        data=body,
        headers={
            "intuit-signature": _signed(body, "qbo-verifier-token"),
            "Content-Type": "application/json",
        },
        csrf=False,
    )

    assert response.status_code == 200
    funcs = [job.func_name for job in get_queue().jobs]
    assert "workers.integrations.handle_inbound" in funcs  # answered first, handled in a job
    run_jobs()
    finished = FinishedJobRegistry(queue=get_queue())
    ran = {get_queue().fetch_job(job_id).func_name for job_id in finished.get_job_ids()}
    assert "workers.accounting.import_payments" in ran


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_holds_calls_to_the_per_minute_limit(app):
    from webapp.jobs import redis_conn

    clock = FakeClock()
    limiter = ConnectionLimiter(
        redis_conn(), "t1", RateLimit(per_minute=3, concurrent=10), clock=clock, max_wait=0
    )
    for _ in range(3):
        with limiter.slot():
            pass
    with pytest.raises(RateLimited) as refused, limiter.slot():
        pass
    assert 59 <= refused.value.retry_after <= 61
    clock.now += 62
    with limiter.slot():
        pass


def test_limiter_holds_concurrency_and_honours_a_pause(app):
    from webapp.jobs import redis_conn

    clock = FakeClock()
    limiter = ConnectionLimiter(
        redis_conn(), "t2", RateLimit(per_minute=100, concurrent=2), clock=clock, max_wait=0
    )
    first, _ = limiter.try_acquire()
    second, _ = limiter.try_acquire()
    third, wait = limiter.try_acquire()
    assert first and second and third is None and wait > 0
    limiter.release(first)
    assert limiter.try_acquire()[0] is not None

    limiter.pause(30)  # a 429 said Retry-After: 30
    assert limiter.try_acquire()[0] is None
