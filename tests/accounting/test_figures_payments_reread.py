"""A payment read again is counted as the ledger has it now: parts summed, nothing left over."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote_plus

from tests.accounting.builders import connect_xero, point_app_at_xero
from tests.accounting.test_figures_payments import _invoiced
from webapp.accounting.quickbooks.payments import LOOKUP_QUERY_MAX
from webapp.extensions import db
from webapp.models_base import utcnow
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


# -- QuickBooks deletions Change Data Capture cannot report ----------------------------------


def _payment_reads_by_id(qbo) -> list[str]:
    return [
        r.args["query"]
        for r in qbo.requests
        if r.path.endswith("/query") and "from Payment where Id in" in r.args.get("query", "")
    ]


def _paid_in_full(qbo, connection, store):
    realm = qbo.realms[0]
    doc, invoice = _invoiced(store, connection, lambda i: qbo.get(realm, "Invoice", i))
    payment = _qbo_payment(qbo, invoice, float(doc.total), [float(doc.total)])
    import_payments(connection.id)
    db.session.refresh(doc)
    assert doc.amount_paid == doc.total
    return doc, payment


def test_qbo_payment_deleted_while_no_read_ran_for_30_days_stops_counting(
    qbo, qbo_connection, store
):
    doc, payment = _paid_in_full(qbo, qbo_connection, store)
    import_payments(qbo_connection.id)
    assert _payment_reads_by_id(qbo) == []  # CDC was read a moment ago: it is enough

    # The sync stood still for 40 days (worker stopped); the payment was deleted 35 days
    # ago, before the 30 days CDC looks back, so CDC can no longer report it.
    qbo.delete(qbo.realms[0], "Payment", payment["Id"], days_ago=35)
    qbo_connection.payments_synced_until = utcnow() - timedelta(days=40)
    db.session.commit()
    import_payments(qbo_connection.id)
    db.session.refresh(doc)

    assert (doc.amount_paid, doc.payment_status) == (0, PaymentStatus.UNPAID)
    assert _payment_reads_by_id(qbo) == [
        f"select * from Payment where Id in ('{payment['Id']}') startposition 1 maxresults 1000"
    ]


def test_qbo_payment_deleted_after_a_full_cdc_answer_stops_counting(qbo, qbo_connection, store):
    doc, payment = _paid_in_full(qbo, qbo_connection, store)
    realm = qbo.realms[0]
    # A busy month: 1,000 other payments changed before the deletion. CDC answers at most
    # 1,000 objects, so the deletion is not in its answer.
    for _ in range(1000):
        qbo.add(realm, "Payment", {"CustomerRef": {"value": "1"}, "TotalAmt": 1.0})
    qbo.clock.advance(1)
    qbo.delete(realm, "Payment", payment["Id"])
    import_payments(qbo_connection.id)
    db.session.refresh(doc)

    assert (doc.amount_paid, doc.payment_status) == (0, PaymentStatus.UNPAID)
    assert len(_payment_reads_by_id(qbo)) == 1


def test_qbo_payments_read_again_by_id_in_short_queries(qbo, qbo_connection, store):
    doc, payment = _paid_in_full(qbo, qbo_connection, store)
    realm = qbo.realms[0]
    invoice = {**payment, "Id": payment["Line"][0]["LinkedTxn"][0]["TxnId"]}
    qbo.apply(realm, "Payment", dict(payment, Line=[]), "update", None)  # room on the invoice
    # 200 payments of a cent each on our invoice, entered (and last changed) 50 days ago,
    # read 40 days ago.
    cents = [_qbo_payment(qbo, invoice, 0.01, [0.01])["Id"] for _ in range(200)]
    import_payments(qbo_connection.id)
    long_ago = (qbo.clock.utcnow() - timedelta(days=50)).isoformat(timespec="milliseconds")
    for payment_id in cents:
        qbo.ledgers[realm]["Payment"][payment_id]["MetaData"]["LastUpdatedTime"] = long_ago
    qbo_connection.payments_synced_until = utcnow() - timedelta(days=40)
    db.session.commit()
    qbo.delete(realm, "Payment", cents[5], days_ago=35)

    import_payments(qbo_connection.id)
    db.session.refresh(doc)

    queries = _payment_reads_by_id(qbo)
    assert len(queries) > 1 and max(len(quote_plus(q)) for q in queries) <= LOOKUP_QUERY_MAX
    assert sorted(i for q in queries for i in q.split("(")[1].split(")")[0].split(", ")) == sorted(
        f"'{i}'" for i in cents
    )
    assert doc.amount_paid == Decimal("1.99")  # 200 cents, less the one deleted


def test_xero_payment_deleted_while_no_read_ran_for_a_month_stops_counting(
    app, xero_sandbox, store
):
    connection, doc, invoice = _xero(app, xero_sandbox, store)
    payment = xero_sandbox.record_payment(invoice["InvoiceID"], float(doc.total))
    import_payments(connection.id)
    db.session.refresh(doc)
    assert doc.amount_paid == doc.total

    # The sync stood still for 40 days; the payment was deleted 35 days ago, before the
    # month the import reads by default: the read starts where the last one ended.
    xero_sandbox.delete_payment(payment["PaymentID"], days_ago=35)
    connection.payments_synced_until = utcnow() - timedelta(days=40)
    db.session.commit()
    import_payments(connection.id)
    db.session.refresh(doc)

    assert (doc.amount_paid, doc.payment_status) == (0, PaymentStatus.UNPAID)
