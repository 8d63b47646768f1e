"""A document's payments come from the ledger it was invoiced in, never summed across two."""

from __future__ import annotations

from decimal import Decimal

from tests.accounting.builders import (
    connect_qbo,
    connect_xero,
    make_document,
    point_app_at_qbo,
    point_app_at_xero,
)
from tests.accounting.test_bills_payments_webhooks import _pay
from tests.factories import login
from webapp import signals
from webapp.extensions import db
from webapp.integrations.models import Delivery
from webapp.sales.models import PaymentStatus
from workers.accounting import import_payments
from workers.integrations import sync_connection


def test_full_payment_in_each_of_two_ledgers_counts_once(app, qbo_sandbox_factory, store):
    sandbox = qbo_sandbox_factory(realms=("realm-a", "realm-b"))
    point_app_at_qbo(app, sandbox)
    first = connect_qbo(sandbox, realm="realm-a")
    db.session.commit()
    second = connect_qbo(sandbox, realm="realm-b")
    db.session.commit()
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    for connection in (first, second):
        sync_connection(connection.id)
    for connection, realm in ((first, "realm-a"), (second, "realm-b")):
        delivery = db.session.execute(
            db.select(Delivery).filter_by(kind="invoice", connection_id=connection.id)
        ).scalar_one()
        invoice = sandbox.get(realm, "Invoice", delivery.remote_id)
        sandbox.realms[0] = realm  # _pay posts to the first realm
        _pay(sandbox, invoice["Id"], invoice["CustomerRef"]["value"], float(doc.total))

    import_payments(second.id)
    db.session.refresh(doc)
    assert doc.amount_paid == 0  # the second ledger is not the one of record
    import_payments(first.id)
    db.session.refresh(doc)

    assert doc.amount_paid == doc.total
    assert doc.payment_status == PaymentStatus.PAID


# -- overpayments: paid above the total comes from the ledger and is shown as such ----------


def _invoiced(store, connection, sandbox_invoice):
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()
    sync_connection(connection.id)
    delivery = db.session.execute(
        db.select(Delivery).filter_by(kind="invoice", subject_id=doc.id)
    ).scalar_one()
    return doc, sandbox_invoice(delivery.remote_id)


def _overpaid_everywhere_staff_and_customer_look(app, store, doc, text: str) -> list[str]:
    customer, staff = app.test_client(), app.test_client()
    login(customer, store.customer)
    login(staff, store.admin)
    pages = {
        "customer": customer.get(f"/orders/{doc.number}"),
        "staff": staff.get(f"/admin/orders/{doc.id}"),
        "staff list": staff.get("/admin/orders/"),
    }
    return [name for name, page in pages.items() if text not in page.get_data(as_text=True)]


def test_qbo_payment_above_the_invoice_shows_the_document_overpaid(app, qbo, qbo_connection, store):
    realm = qbo.realms[0]
    doc, invoice = _invoiced(store, qbo_connection, lambda i: qbo.get(realm, "Invoice", i))
    paid = float(doc.total + Decimal("20.00"))
    # QuickBooks applies at most the open balance; the rest stays unapplied on the payment.
    payment = qbo.add(
        realm,
        "Payment",
        {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": paid,
            "Line": [
                {
                    "Amount": float(doc.total),
                    "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )
    assert payment["UnappliedAmt"] == 20.0
    assert qbo.get(realm, "Invoice", invoice["Id"])["Balance"] == 0

    import_payments(qbo_connection.id)
    db.session.refresh(doc)

    assert doc.amount_paid == doc.total + Decimal("20.00")
    assert doc.overpaid_by == Decimal("20.00")
    assert doc.payment_status == PaymentStatus.PAID
    assert [e.type for e in doc.events if e.type == "overpaid"] == ["overpaid"]
    assert _overpaid_everywhere_staff_and_customer_look(app, store, doc, "Overpaid by $20.00") == []


def test_qbo_unapplied_amount_of_a_payment_for_two_invoices_is_nobody_s_overpayment(
    qbo, qbo_connection, store
):
    realm = qbo.realms[0]
    first, one = _invoiced(store, qbo_connection, lambda i: qbo.get(realm, "Invoice", i))
    second, two = _invoiced(store, qbo_connection, lambda i: qbo.get(realm, "Invoice", i))
    lines = [
        {"Amount": float(d.total), "LinkedTxn": [{"TxnId": i["Id"], "TxnType": "Invoice"}]}
        for d, i in ((first, one), (second, two))
    ]
    total = float(first.total + second.total + Decimal("5.00"))
    qbo.add(realm, "Payment", {"CustomerRef": one["CustomerRef"], "TotalAmt": total, "Line": lines})

    import_payments(qbo_connection.id)

    for doc in (first, second):
        db.session.refresh(doc)
        assert (doc.amount_paid, doc.overpaid_by) == (doc.total, 0)


def test_xero_overpayment_allocated_to_the_invoice_pays_it_and_the_rest_shows_overpaid(
    app, xero_sandbox, store
):
    point_app_at_xero(app, xero_sandbox)
    connection = connect_xero(xero_sandbox)
    db.session.commit()
    ledger = xero_sandbox.tenants[xero_sandbox.tenant_id].ledger["Invoices"]
    doc, invoice = _invoiced(store, connection, lambda i: ledger[i])
    overpayment = xero_sandbox.record_overpayment(
        invoice["InvoiceID"], float(doc.total + Decimal("20.00")), float(doc.total)
    )
    assert invoice["Status"] == "PAID" and overpayment["RemainingCredit"] == 20.0

    import_payments(connection.id)
    db.session.refresh(doc)

    assert doc.amount_paid == doc.total + Decimal("20.00")
    assert doc.overpaid_by == Decimal("20.00") and doc.payment_status == PaymentStatus.PAID
    assert _overpaid_everywhere_staff_and_customer_look(app, store, doc, "Overpaid by $20.00") == []

    # The credit left is applied to the customer's next invoice in Xero: it pays that one.
    later, other = _invoiced(store, connection, lambda i: ledger[i])
    xero_sandbox.allocate_overpayment(overpayment["OverpaymentID"], other["InvoiceID"], 20.0)
    import_payments(connection.id)
    db.session.refresh(doc)
    db.session.refresh(later)

    assert (doc.amount_paid, doc.overpaid_by) == (doc.total, 0)
    assert later.amount_paid == Decimal("20.00")
    assert later.payment_status == PaymentStatus.PARTIALLY_PAID


def test_xero_payment_deleted_and_entered_again_counts_once(app, xero_sandbox, store):
    point_app_at_xero(app, xero_sandbox)
    connection = connect_xero(xero_sandbox)
    db.session.commit()
    ledger = xero_sandbox.tenants[xero_sandbox.tenant_id].ledger["Invoices"]
    doc, invoice = _invoiced(store, connection, lambda i: ledger[i])
    first = xero_sandbox.record_payment(invoice["InvoiceID"], float(doc.total))
    import_payments(connection.id)
    db.session.refresh(doc)
    assert doc.amount_paid == doc.total

    # Entered on the wrong day: deleted in Xero and entered again.
    deleted = xero_sandbox.delete_payment(first["PaymentID"])
    assert deleted["Status"] == "DELETED" and invoice["Status"] == "AUTHORISED"
    xero_sandbox.record_payment(invoice["InvoiceID"], float(doc.total))
    import_payments(connection.id)
    db.session.refresh(doc)

    assert (doc.amount_paid, doc.overpaid_by) == (doc.total, 0)
    assert doc.payment_status == PaymentStatus.PAID


def test_qbo_payment_deleted_in_quickbooks_no_longer_counts(qbo, qbo_connection, store):
    realm = qbo.realms[0]
    doc, invoice = _invoiced(store, qbo_connection, lambda i: qbo.get(realm, "Invoice", i))
    paid = float(doc.total + Decimal("20.00"))
    payment = qbo.add(
        realm,
        "Payment",
        {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": paid,
            "Line": [
                {
                    "Amount": float(doc.total),
                    "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )
    import_payments(qbo_connection.id)
    db.session.refresh(doc)
    assert doc.amount_paid == doc.total + Decimal("20.00")

    # Entered against the wrong customer: deleted in QuickBooks. A query no longer finds it;
    # Change Data Capture reports it deleted, so neither its payment nor its credit counts.
    qbo.delete(realm, "Payment", payment["Id"])
    assert qbo.query(realm, "select * from Payment") == {}
    import_payments(qbo_connection.id)
    db.session.refresh(doc)
    assert (doc.amount_paid, doc.overpaid_by) == (0, 0)
    assert doc.payment_status == PaymentStatus.UNPAID

    # Entered again for the right amount: counts once; the deletion read again changes nothing.
    _pay(qbo, invoice["Id"], invoice["CustomerRef"]["value"], float(doc.total))
    import_payments(qbo_connection.id)
    import_payments(qbo_connection.id)
    db.session.refresh(doc)
    assert (doc.amount_paid, doc.overpaid_by) == (doc.total, 0)
    assert doc.payment_status == PaymentStatus.PAID


def test_xero_overpayment_refunded_no_longer_shows_overpaid(app, xero_sandbox, store):
    point_app_at_xero(app, xero_sandbox)
    connection = connect_xero(xero_sandbox)
    db.session.commit()
    ledger = xero_sandbox.tenants[xero_sandbox.tenant_id].ledger["Invoices"]
    doc, invoice = _invoiced(store, connection, lambda i: ledger[i])
    overpayment = xero_sandbox.record_overpayment(
        invoice["InvoiceID"], float(doc.total + Decimal("20.00")), float(doc.total)
    )
    import_payments(connection.id)
    db.session.refresh(doc)
    assert doc.overpaid_by == Decimal("20.00")

    # Part of the credit paid back: only what is left is overpaid.
    first = xero_sandbox.refund_overpayment(overpayment["OverpaymentID"], 15.0)
    assert first["PaymentType"] == "AROVERPAYMENTPAYMENT"
    import_payments(connection.id)
    db.session.refresh(doc)
    assert (doc.amount_paid, doc.overpaid_by) == (doc.total + Decimal("5.00"), Decimal("5.00"))

    # The rest paid back: the document is paid, not overpaid, and says so where people look.
    xero_sandbox.refund_overpayment(overpayment["OverpaymentID"], 5.0)
    import_payments(connection.id)
    db.session.refresh(doc)
    assert (doc.amount_paid, doc.overpaid_by) == (doc.total, 0)
    assert doc.payment_status == PaymentStatus.PAID
    assert _overpaid_everywhere_staff_and_customer_look(app, store, doc, "Overpaid by") == [
        "customer",
        "staff",
        "staff list",
    ]

    # A refund entered by mistake and deleted in Xero: the credit is the customer's again.
    xero_sandbox.delete_payment(first["PaymentID"])
    import_payments(connection.id)
    db.session.refresh(doc)
    assert doc.overpaid_by == Decimal("15.00")


def test_qbo_payment_moved_to_another_invoice_stops_paying_the_first(qbo, qbo_connection, store):
    realm = qbo.realms[0]
    first, one = _invoiced(store, qbo_connection, lambda i: qbo.get(realm, "Invoice", i))
    second, two = _invoiced(store, qbo_connection, lambda i: qbo.get(realm, "Invoice", i))
    amount = float(first.total)
    payment = qbo.add(
        realm,
        "Payment",
        {
            "CustomerRef": one["CustomerRef"],
            "TotalAmt": amount,
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": one["Id"], "TxnType": "Invoice"}]}],
        },
    )
    import_payments(qbo_connection.id)
    db.session.refresh(first)
    assert first.amount_paid == first.total

    # Applied to the wrong invoice: moved to the other one in QuickBooks.
    link = {"TxnId": two["Id"], "TxnType": "Invoice"}
    moved = dict(payment, Line=[{"Amount": amount, "LinkedTxn": [link]}])
    qbo.apply(realm, "Payment", moved, "update", None)
    import_payments(qbo_connection.id)
    for doc in (first, second):
        db.session.refresh(doc)

    assert first.amount_paid == 0 and first.payment_status == PaymentStatus.UNPAID
    assert second.amount_paid == Decimal(str(amount)).quantize(Decimal("0.01"))
