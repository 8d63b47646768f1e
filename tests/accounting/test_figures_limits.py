"""No field is cut silently: QuickBooks limits are checked before the push and said so."""

from __future__ import annotations

from tests.accounting.builders import make_document, make_receipt
from webapp import signals
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus, Notification
from workers.integrations import sync_connection


def _push(qbo_connection, doc):
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    sync_connection(qbo_connection.id)
    return db.session.execute(
        db.select(Delivery).filter_by(kind="invoice", subject_id=doc.id)
    ).scalar_one()


def test_supplier_invoice_number_longer_than_docnumber_fails_naming_the_limit(
    qbo, qbo_connection, store
):
    # Our own numbers fit (String(20)); a supplier's invoice number may not (DocNumber <= 21).
    receipt = make_receipt(
        store.supplier, store.products[:1], invoice_number="SUPPLIER-INV-2026-0001234"
    )
    signals.receipt_recorded.send(receipt)
    db.session.commit()

    sync_connection(qbo_connection.id)

    delivery = db.session.execute(db.select(Delivery).filter_by(kind="bill")).scalar_one()
    assert delivery.status == DeliveryStatus.FAILED and delivery.error_field == "DocNumber"
    assert not qbo.entities(qbo.realms[0], "Bill")
    [note] = db.session.execute(
        db.select(Notification).filter_by(delivery_id=delivery.id)
    ).scalars()
    assert "21" in note.message and "25 characters" in note.message


def test_long_customer_po_goes_whole_into_the_customer_memo_not_cut(qbo, qbo_connection, store):
    doc = make_document(store.org, store.customer, store.products[:1])
    doc.customer_po = "PROJECT-ALPHA-REFRESH-2026-Q3"

    delivery = _push(qbo_connection, doc)

    assert delivery.status == DeliveryStatus.CONFIRMED
    invoice = qbo.get(qbo.realms[0], "Invoice", delivery.remote_id)
    assert "PONumber" not in invoice
    assert invoice["CustomerMemo"]["value"] == "Your PO: PROJECT-ALPHA-REFRESH-2026-Q3"


def test_short_customer_po_stays_in_the_po_number(qbo, qbo_connection, store):
    doc = make_document(store.org, store.customer, store.products[:1])
    doc.customer_po = "PO-4711"

    delivery = _push(qbo_connection, doc)

    assert qbo.get(qbo.realms[0], "Invoice", delivery.remote_id)["PONumber"] == "PO-4711"
