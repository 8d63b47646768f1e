"""Cancelling a document: an unsent invoice is never pushed, a sent one is voided or credited.

Issue 11 §2. QuickBooks always voids (POST /invoice?operation=void); Xero voids or credits per
the connection's option, and credits an invoice Xero cannot void (payments applied). Paid
above the total is shown as an overpayment.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.accounting.builders import connect_xero, make_document, point_app_at_xero
from tests.accounting.test_bills_payments_webhooks import _pay
from tests.factories import login
from webapp import signals
from webapp.accounting import operations
from webapp.accounting.interfaces import CancelAction, LedgerDocumentStatus, Numbering
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import (
    Delivery,
    DeliveryStatus,
    ExternalLink,
    Notification,
    NotificationStatus,
)
from webapp.sales.models import DocumentStatus, PaymentStatus
from webapp.sales.operations import transition
from workers.integrations import sync_connection


@pytest.fixture
def xero(app, xero_sandbox):
    point_app_at_xero(app, xero_sandbox)
    return xero_sandbox


def _deliveries(doc, kind: str) -> list[Delivery]:
    return list(
        db.session.execute(
            db.select(Delivery).filter_by(kind=kind, subject_id=doc.id).order_by(Delivery.id)
        ).scalars()
    )


def _invoiced(store, connection, **document):
    """A document whose invoice the ledger holds (pushed and confirmed)."""
    doc = make_document(store.org, store.customer, store.products[:1], **document)
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    sync_connection(connection.id)
    (invoice,) = _deliveries(doc, "invoice")
    assert invoice.status == DeliveryStatus.CONFIRMED
    return doc, invoice


def _cancel(doc) -> None:
    transition(doc, DocumentStatus.CANCELLED, None, "customer changed their mind")
    db.session.commit()


def _set_cancel_action(connection, action: CancelAction) -> None:
    operations.update_options(
        connection,
        bill_status=LedgerDocumentStatus.DRAFT,
        invoice_status=LedgerDocumentStatus.AUTHORIZED,
        numbering=Numbering.OURS,
        push_bills=True,
        push_invoices=True,
        push_purchase_orders=False,
        cancel_action=action,
    )
    db.session.commit()


# -- cancelled before the push ---------------------------------------------------------------


def test_cancel_before_the_push_cancels_the_delivery_and_nothing_reaches_quickbooks(
    client, qbo, qbo_connection, store
):
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    login(client, store.sales)

    response = client.post(f"/admin/orders/{doc.id}/status", data={"status": "cancelled"})
    sync_connection(qbo_connection.id)

    assert response.status_code == 303
    (invoice,) = _deliveries(doc, "invoice")
    assert invoice.status == DeliveryStatus.CANCELLED
    assert _deliveries(doc, "invoice_void") == []
    assert [i for i in qbo.entities(qbo.realms[0], "Invoice") if i["DocNumber"] == doc.number] == []


def test_cancelling_a_document_whose_invoice_was_refused_resolves_its_notification(
    qbo, qbo_connection, store
):
    qbo.closing_date = "2999-12-31"  # QuickBooks refuses the invoice: closed period
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    sync_connection(qbo_connection.id)
    (invoice,) = _deliveries(doc, "invoice")
    assert invoice.status == DeliveryStatus.FAILED and invoice.maybe_sent

    _cancel(doc)

    assert invoice.status == DeliveryStatus.CANCELLED
    assert _deliveries(doc, "invoice_void") == []
    notes = db.session.execute(
        db.select(Notification.status).filter_by(delivery_id=invoice.id)
    ).scalars()
    assert set(notes) == {NotificationStatus.RESOLVED}


def test_a_cancelled_document_is_never_queued_for_invoicing(qbo, qbo_connection, store):
    doc = make_document(store.org, store.customer, store.products[:1])
    _cancel(doc)

    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    sync_connection(qbo_connection.id)

    assert _deliveries(doc, "invoice") == []
    assert qbo.entities(qbo.realms[0], "Invoice") == []


def test_cancel_while_the_invoice_may_be_in_flight_waits_to_void_it(qbo, qbo_connection, store):
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    (invoice,) = _deliveries(doc, "invoice")
    invoice.maybe_sent = True  # a try whose answer was lost: it may be in QuickBooks
    db.session.commit()

    _cancel(doc)
    sync_connection(qbo_connection.id)

    db.session.expire_all()
    (void,) = _deliveries(doc, "invoice_void")
    assert void.depends_on == [invoice]
    assert (invoice.status, void.status) == (DeliveryStatus.CONFIRMED, DeliveryStatus.CONFIRMED)
    ledger = qbo.get(qbo.realms[0], "Invoice", invoice.remote_id)
    assert ledger["TotalAmt"] == 0 and ledger["PrivateNote"].startswith("Voided")


def test_an_in_flight_invoice_refused_after_the_cancel_needs_no_void(qbo, qbo_connection, store):
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    (invoice,) = _deliveries(doc, "invoice")
    invoice.maybe_sent = True
    db.session.commit()
    _cancel(doc)
    qbo.closing_date = "2999-12-31"  # the retried invoice is refused: it never reached QuickBooks

    sync_connection(qbo_connection.id)

    db.session.expire_all()
    (void,) = _deliveries(doc, "invoice_void")
    assert (invoice.status, void.status) == (DeliveryStatus.CANCELLED, DeliveryStatus.CANCELLED)
    open_notes = db.session.execute(
        db.select(Notification).filter_by(status=NotificationStatus.OPEN)
    ).all()
    assert open_notes == []
    assert [r for r in qbo.requests if r.args.get("operation") == "void"] == []


# -- QuickBooks: always voids ----------------------------------------------------------------


def test_cancel_after_the_push_voids_the_quickbooks_invoice(qbo, qbo_connection, store):
    doc, invoice = _invoiced(store, qbo_connection)
    before = qbo.get(qbo.realms[0], "Invoice", invoice.remote_id)

    _cancel(doc)
    (void,) = _deliveries(doc, "invoice_void")
    assert void.status == DeliveryStatus.PENDING  # written in the cancelling transaction
    sync_connection(qbo_connection.id)

    db.session.expire_all()
    assert void.status == DeliveryStatus.CONFIRMED
    after = qbo.get(qbo.realms[0], "Invoice", invoice.remote_id)
    assert before["TotalAmt"] > 0
    assert after["TotalAmt"] == 0 and after["Balance"] == 0
    assert after["PrivateNote"].startswith("Voided")
    assert int(after["SyncToken"]) == int(before["SyncToken"]) + 1
    assert all(line["Amount"] == 0 for line in after["Line"])
    link = db.session.execute(
        db.select(ExternalLink).filter_by(subject_type="sales_document", subject_id=doc.id)
    ).scalar_one()
    assert link.remote_id == invoice.remote_id  # payments imported later still find it
    voids = [r for r in qbo.requests if r.args.get("operation") == "void"]
    assert len(voids) == 1 and set(voids[0].body) == {"Id", "SyncToken"}


def test_the_void_is_pushed_once_even_if_the_job_runs_again(qbo, qbo_connection, store):
    doc, invoice = _invoiced(store, qbo_connection)
    _cancel(doc)
    sync_connection(qbo_connection.id)
    (void,) = _deliveries(doc, "invoice_void")
    void.status = DeliveryStatus.PENDING  # as if the answer was lost after QuickBooks voided it
    void.maybe_sent = True
    db.session.commit()

    sync_connection(qbo_connection.id)

    db.session.expire_all()
    assert void.status == DeliveryStatus.CONFIRMED
    assert len([r for r in qbo.requests if r.args.get("operation") == "void"]) == 1


def test_a_quickbooks_invoice_with_a_payment_is_not_voided_and_the_admin_is_told_why(
    qbo, qbo_connection, store
):
    doc, invoice = _invoiced(store, qbo_connection, shipping="0", tax_pct="0")
    ledger = qbo.get(qbo.realms[0], "Invoice", invoice.remote_id)
    _pay(qbo, ledger["Id"], ledger["CustomerRef"]["value"], 50.0)

    _cancel(doc)
    sync_connection(qbo_connection.id)

    db.session.expire_all()
    (void,) = _deliveries(doc, "invoice_void")
    assert void.status == DeliveryStatus.FAILED
    note = db.session.execute(db.select(Notification).filter_by(delivery_id=void.id)).scalar_one()
    assert note.status == NotificationStatus.OPEN
    assert "payments of 50.00" in note.message
    assert "delete the payment" in note.fix and "Retry" in note.fix
    assert qbo.get(qbo.realms[0], "Invoice", invoice.remote_id)["TotalAmt"] > 0


def test_a_failed_void_can_be_retried_once_the_payment_is_removed(qbo, qbo_connection, store):
    doc, invoice = _invoiced(store, qbo_connection, shipping="0", tax_pct="0")
    ledger = qbo.get(qbo.realms[0], "Invoice", invoice.remote_id)
    _pay(qbo, ledger["Id"], ledger["CustomerRef"]["value"], 50.0)
    _cancel(doc)
    sync_connection(qbo_connection.id)
    (payment,) = qbo.entities(qbo.realms[0], "Payment")
    qbo.apply(qbo.realms[0], "Payment", payment, "delete", None)
    (void,) = _deliveries(doc, "invoice_void")

    core.retry_delivery(void, "admin")
    db.session.commit()
    sync_connection(qbo_connection.id)

    db.session.expire_all()
    assert void.status == DeliveryStatus.CONFIRMED
    assert qbo.get(qbo.realms[0], "Invoice", invoice.remote_id)["TotalAmt"] == 0


# -- Xero: void or credit note, per the option -----------------------------------------------


def test_cancel_after_the_push_voids_the_xero_invoice_by_default(xero, store):
    connection = connect_xero(xero)
    db.session.commit()
    doc, invoice = _invoiced(store, connection)

    _cancel(doc)
    sync_connection(connection.id)

    db.session.expire_all()
    (void,) = _deliveries(doc, "invoice_void")
    assert void.status == DeliveryStatus.CONFIRMED
    (ledger,) = [i for i in xero.records("Invoices") if i["InvoiceID"] == invoice.remote_id]
    assert ledger["Status"] == "VOIDED"
    assert xero.records("CreditNotes") == []


def test_with_the_credit_note_option_xero_gets_a_credit_note_allocated_to_the_invoice(xero, store):
    connection = connect_xero(xero)
    db.session.commit()
    _set_cancel_action(connection, CancelAction.CREDIT_NOTE)
    doc, invoice = _invoiced(store, connection)

    _cancel(doc)
    sync_connection(connection.id)

    db.session.expire_all()
    (ledger,) = [i for i in xero.records("Invoices") if i["InvoiceID"] == invoice.remote_id]
    (note,) = xero.records("CreditNotes")
    assert note["Type"] == "ACCRECCREDIT" and note["Reference"] == f"{doc.number} cancelled"
    assert Decimal(str(note["Total"])) == doc.total == Decimal(str(ledger["Total"]))
    assert note["RemainingCredit"] == 0 and len(note["Allocations"]) == 1
    assert ledger["AmountCredited"] == ledger["Total"] and ledger["AmountDue"] == 0
    assert ledger["Status"] == "PAID"  # Xero settles it by the credit, never voided
    (void,) = _deliveries(doc, "invoice_void")
    assert void.remote_id == note["CreditNoteID"]
    assert note["CreditNoteNumber"] in void.remote_number


def test_a_xero_invoice_with_a_payment_is_credited_even_when_voids_are_chosen(xero, store):
    connection = connect_xero(xero)
    db.session.commit()
    doc, invoice = _invoiced(store, connection)
    xero.record_payment(invoice.remote_id, 100.0)

    _cancel(doc)
    sync_connection(connection.id)

    db.session.expire_all()
    (ledger,) = [i for i in xero.records("Invoices") if i["InvoiceID"] == invoice.remote_id]
    (note,) = xero.records("CreditNotes")
    assert ledger["Status"] == "PAID" and ledger["AmountPaid"] == 100.0
    assert note["Allocations"][0]["Amount"] == round(ledger["Total"] - 100.0, 2)
    assert note["RemainingCredit"] == 100.0  # what was paid stays as credit to refund
    (void,) = _deliveries(doc, "invoice_void")
    assert void.status == DeliveryStatus.CONFIRMED
    assert "100.00 paid: customer credit to refund" in void.remote_number


def test_a_draft_xero_invoice_is_deleted_not_voided(xero, store):
    connection = connect_xero(xero)
    connection.invoice_status = LedgerDocumentStatus.DRAFT
    db.session.commit()
    doc, invoice = _invoiced(store, connection)

    _cancel(doc)
    sync_connection(connection.id)

    (ledger,) = [i for i in xero.records("Invoices") if i["InvoiceID"] == invoice.remote_id]
    assert ledger["Status"] == "DELETED"


def test_a_void_xero_refuses_shows_a_notification(xero, store):
    connection = connect_xero(xero)
    db.session.commit()
    doc, invoice = _invoiced(store, connection)
    xero.lock_date = "2999-12-31"  # the period is locked: Xero refuses to change the invoice

    _cancel(doc)
    sync_connection(connection.id)

    db.session.expire_all()
    (void,) = _deliveries(doc, "invoice_void")
    assert void.status == DeliveryStatus.FAILED
    note = db.session.execute(db.select(Notification).filter_by(delivery_id=void.id)).scalar_one()
    assert "locked" in note.message
    (ledger,) = [i for i in xero.records("Invoices") if i["InvoiceID"] == invoice.remote_id]
    assert ledger["Status"] == "AUTHORISED"


# -- the option on Settings > Integrations ---------------------------------------------------


def test_the_cancel_option_is_saved_for_xero_and_refused_for_quickbooks(
    client, xero, qbo, qbo_connection, store
):
    connection = connect_xero(xero)
    db.session.commit()
    login(client, store.admin)
    options = {"bill_status": "draft", "invoice_status": "authorized", "numbering": "ours"}

    page = client.get(f"/admin/accounting/integrations?connection={connection.id}")
    saved = client.post(
        f"/admin/accounting/connections/{connection.id}/options",
        data={**options, "cancel_action": "credit_note"},
    )
    refused = client.post(
        f"/admin/accounting/connections/{qbo_connection.id}/options",
        data={**options, "cancel_action": "credit_note"},
    )

    assert 'name="cancel_action"' in page.get_data(as_text=True)
    assert saved.status_code == 303
    assert refused.status_code == 400
    db.session.expire_all()
    assert connection.cancel_action == CancelAction.CREDIT_NOTE
    assert qbo_connection.cancel_action == CancelAction.VOID


# -- overpayments ----------------------------------------------------------------------------


def test_an_overpaid_document_shows_the_overpayment(app, client, qbo, qbo_connection, store):
    doc = make_document(store.org, store.customer, store.products[:1])
    doc.amount_paid = doc.total + Decimal("20.00")  # as imported from the ledger
    doc.payment_status = PaymentStatus.PAID
    db.session.commit()

    login(client, store.customer)
    customer_page = client.get(f"/orders/{doc.number}").get_data(as_text=True)
    customer_list = client.get("/orders").get_data(as_text=True)
    staff = app.test_client()
    login(staff, store.admin)
    staff_page = staff.get(f"/admin/orders/{doc.id}").get_data(as_text=True)
    staff_list = staff.get("/admin/orders/").get_data(as_text=True)

    pages = {"customer": customer_page, "customer list": customer_list}
    pages |= {"staff": staff_page, "staff list": staff_list}
    assert [name for name, html in pages.items() if "Overpaid by $20.00" not in html] == []


# -- cancelled purchase orders (QuickBooks) --------------------------------------------------


def _issued_order(store):
    """An issued PO with nothing receipted (so it can be cancelled)."""
    from webapp.models_base import utcnow
    from webapp.purchasing.lifecycle import next_po_number
    from webapp.purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus

    product = store.products[0]
    order = PurchaseOrder(
        number=next_po_number(),
        supplier_id=store.supplier.id,
        status=PurchaseOrderStatus.ISSUED,
        currency="USD",
        issued_at=utcnow(),
        subtotal=Decimal("200.00"),
        total=Decimal("200.00"),
    )
    order.lines.append(
        PurchaseOrderLine(position=1, product_id=product.id, supplier_sku="SKU-1",
                          description=product.name, quantity=2, unit_cost=Decimal("100"))
    )  # fmt: skip
    db.session.add(order)
    db.session.flush()
    signals.purchase_order_issued.send(order)
    db.session.commit()
    return order


def _cancel_order(order, store) -> None:
    from webapp.purchasing.ordering import cancel_purchase_order

    cancel_purchase_order(order, store.admin, "supplier is out of stock")
    db.session.commit()


def test_cancel_after_the_push_closes_the_quickbooks_purchase_order(
    client, qbo, qbo_connection, store
):
    qbo_connection.push_purchase_orders = True
    order = _issued_order(store)
    sync_connection(qbo_connection.id)
    (pushed,) = _deliveries(order, "purchase_order")
    assert pushed.status == DeliveryStatus.CONFIRMED
    assert qbo.get(qbo.realms[0], "PurchaseOrder", pushed.remote_id)["POStatus"] == "Open"

    _cancel_order(order, store)
    sync_connection(qbo_connection.id)

    (close,) = _deliveries(order, "purchase_order_close")
    assert close.status == DeliveryStatus.CONFIRMED
    closed = qbo.get(qbo.realms[0], "PurchaseOrder", pushed.remote_id)
    assert closed["POStatus"] == "Closed" and closed["SyncToken"] == "1"
    assert len(qbo.entities(qbo.realms[0], "PurchaseOrder")) == 1  # closed, not re-created
    login(client, store.admin)
    page = client.get(f"/admin/purchasing/orders/{order.id}").get_data(as_text=True)
    assert f"purchase order {order.number} closed" in page and "(cancellation)" in page


def test_cancel_before_the_push_cancels_the_purchase_order_delivery(qbo, qbo_connection, store):
    qbo_connection.push_purchase_orders = True
    order = _issued_order(store)

    _cancel_order(order, store)
    sync_connection(qbo_connection.id)

    (pushed,) = _deliveries(order, "purchase_order")
    assert pushed.status == DeliveryStatus.CANCELLED
    assert _deliveries(order, "purchase_order_close") == []
    assert qbo.entities(qbo.realms[0], "PurchaseOrder") == []
