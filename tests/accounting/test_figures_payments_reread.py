"""A payment read again is counted as the ledger has it now: parts summed, nothing left over."""

from __future__ import annotations

from decimal import Decimal

from tests.accounting.builders import connect_xero, point_app_at_xero
from tests.accounting.test_figures_payments import _invoiced
from webapp.extensions import db
from webapp.sales.models import PaymentStatus
from workers.accounting import import_payments

CENT = Decimal("0.01")


def _qbo_payment(qbo, invoice, total: float, amounts: list[float]) -> dict:
    link = {"TxnId": invoice["Id"], "TxnType": "Invoice"}
    return qbo.add(
        qbo.realms[0],
        "Payment",
        {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": total,
            "Line": [{"Amount": a, "LinkedTxn": [link]} for a in amounts],
        },
    )


def test_qbo_payment_unapplied_from_every_invoice_stops_paying_them(qbo, qbo_connection, store):
    realm = qbo.realms[0]
    doc, invoice = _invoiced(store, qbo_connection, lambda i: qbo.get(realm, "Invoice", i))
    paid = float(doc.total + Decimal("20.00"))
    payment = _qbo_payment(qbo, invoice, paid, [float(doc.total)])
    import_payments(qbo_connection.id)
    db.session.refresh(doc)
    assert (doc.amount_paid, doc.overpaid_by) == (doc.total + Decimal("20.00"), Decimal("20.00"))

    # Applied to the wrong customer's invoice: every line removed in QuickBooks, the money
    # left as the customer's unapplied credit (Finance.xsd Payment.UnappliedAmt).
    unapplied = qbo.apply(realm, "Payment", dict(payment, Line=[]), "update", None)
    assert unapplied["UnappliedAmt"] == paid
    import_payments(qbo_connection.id)
    db.session.refresh(doc)

    assert (doc.amount_paid, doc.overpaid_by) == (0, 0)
    assert doc.payment_status == PaymentStatus.UNPAID


def test_qbo_payment_with_two_lines_on_one_invoice_counts_both(qbo, qbo_connection, store):
    realm = qbo.realms[0]
    doc, invoice = _invoiced(store, qbo_connection, lambda i: qbo.get(realm, "Invoice", i))
    first = float((doc.total * Decimal("0.4")).quantize(CENT))
    second = float((doc.total * Decimal("0.3")).quantize(CENT))
    _qbo_payment(qbo, invoice, first + second, [first, second])

    import_payments(qbo_connection.id)
    import_payments(qbo_connection.id)  # read again: the same sum, never added twice
    db.session.refresh(doc)

    assert doc.amount_paid == (Decimal(str(first)) + Decimal(str(second))).quantize(CENT)
    assert doc.payment_status == PaymentStatus.PARTIALLY_PAID


def _xero(app, xero_sandbox, store):
    point_app_at_xero(app, xero_sandbox)
    connection = connect_xero(xero_sandbox)
    db.session.commit()
    ledger = xero_sandbox.tenants[xero_sandbox.tenant_id].ledger["Invoices"]
    doc, invoice = _invoiced(store, connection, lambda i: ledger[i])
    return connection, doc, invoice


def test_xero_overpayment_allocated_twice_to_one_invoice_counts_both(app, xero_sandbox, store):
    connection, doc, invoice = _xero(app, xero_sandbox, store)
    part = (doc.total * Decimal("0.6")).quantize(CENT)
    overpayment = xero_sandbox.record_overpayment(
        invoice["InvoiceID"], float(doc.total + Decimal("20.00")), float(part)
    )
    xero_sandbox.allocate_overpayment(
        overpayment["OverpaymentID"], invoice["InvoiceID"], float(doc.total - part)
    )

    import_payments(connection.id)
    import_payments(connection.id)
    db.session.refresh(doc)

    assert doc.amount_paid == doc.total + Decimal("20.00")
    assert doc.overpaid_by == Decimal("20.00")


def test_xero_overpayment_whose_allocations_are_all_removed_stops_paying(app, xero_sandbox, store):
    connection, doc, invoice = _xero(app, xero_sandbox, store)
    overpayment = xero_sandbox.record_overpayment(
        invoice["InvoiceID"], float(doc.total + Decimal("20.00")), float(doc.total)
    )
    import_payments(connection.id)
    db.session.refresh(doc)
    assert doc.amount_paid == doc.total + Decimal("20.00")

    # Allocated to the wrong invoice: the allocation deleted in Xero
    # (DELETE /Overpayments/{id}/Allocations/{AllocationID}); the credit is the customer's.
    [allocation] = overpayment["Allocations"]
    left = xero_sandbox.delete_overpayment_allocation(
        overpayment["OverpaymentID"], allocation["AllocationID"]
    )
    assert left["Allocations"] == [] and left["RemainingCredit"] == float(doc.total + 20)
    import_payments(connection.id)
    db.session.refresh(doc)

    assert (doc.amount_paid, doc.overpaid_by) == (0, 0)
    assert doc.payment_status == PaymentStatus.UNPAID
