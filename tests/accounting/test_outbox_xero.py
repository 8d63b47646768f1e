"""The same outbox drives the Xero provider (registry name "xero")."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.accounting.builders import connect_xero, make_document, make_receipt, point_app_at_xero
from webapp import signals
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus
from workers.integrations import sync_connection


@pytest.fixture
def xero(app, xero_sandbox):
    point_app_at_xero(app, xero_sandbox)
    return xero_sandbox


def test_invoices_and_bills_reach_xero_once_through_the_outbox(xero, store):
    connection = connect_xero(xero)
    docs = [make_document(store.org, store.customer, store.products[:2]) for _ in range(3)]
    receipt = make_receipt(store.supplier, store.products[:1], invoice_number="ING-1")
    for doc in docs:
        signals.sales_document_ready_to_invoice.send(doc)
    signals.receipt_recorded.send(receipt)
    signals.purchase_order_issued.send(receipt.purchase_order)  # Xero gets bills only
    db.session.commit()

    sync_connection(connection.id)

    invoices = xero.records("Invoices")
    numbers = Counter(i.get("InvoiceNumber") for i in invoices if i["Type"] == "ACCREC")
    assert [numbers[d.number] for d in docs] == [1, 1, 1]
    assert [i for i in invoices if i["Type"] == "ACCPAY"][0]["InvoiceNumber"] == "ING-1"
    statuses = set(db.session.execute(db.select(Delivery.status)).scalars())
    assert statuses == {DeliveryStatus.CONFIRMED}
    assert db.session.execute(db.select(Delivery).filter_by(kind="purchase_order")).first() is None


def test_the_integrations_page_never_waits_on_xero(client, xero, store, run_jobs):
    from tests.factories import login

    connection = connect_xero(xero)
    db.session.commit()
    run_jobs()  # the sync and the read of the lists that connecting queued
    xero.faults.hang_next(5, seconds=30)  # a stalled Xero would hold a live read for 30 s
    login(client, store.admin)
    calls_before = len(xero.requests)

    page = client.get(f"/admin/accounting/integrations?connection={connection.id}")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert len(xero.requests) == calls_before
    assert "Lists read from Xero" in html and "Save mappings" in html
    xero.faults.clear()
    xero.faults.release()
