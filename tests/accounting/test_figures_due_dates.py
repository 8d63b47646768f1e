"""Xero invoices get their due date from the organisation's payment terms."""

from __future__ import annotations

from datetime import date

import pytest

from tests.accounting.builders import connect_xero, make_document, point_app_at_xero
from webapp import signals
from webapp.accounting.xero.mapping import due_date
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus
from workers.integrations import sync_connection


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ({"Day": 30, "Type": "DAYSAFTERBILLDATE"}, date(2026, 3, 17)),
        ({"Day": 10, "Type": "DAYSAFTERBILLMONTH"}, date(2026, 3, 10)),
        ({"Day": 31, "Type": "OFCURRENTMONTH"}, date(2026, 2, 28)),
        ({"Day": 5, "Type": "OFCURRENTMONTH"}, date(2026, 2, 15)),  # never before the date
        ({"Day": 20, "Type": "OFFOLLOWINGMONTH"}, date(2026, 3, 20)),
        (None, date(2026, 2, 15)),
    ],
)
def test_due_date_follows_xero_payment_term_types(terms, expected):
    assert due_date(date(2026, 2, 15), terms) == expected


def test_approved_xero_invoice_is_due_per_the_organisation_sales_terms(app, xero_sandbox, store):
    point_app_at_xero(app, xero_sandbox)
    tenant = xero_sandbox.tenants[xero_sandbox.tenant_id]
    tenant.organisation["PaymentTerms"]["Sales"] = {"Day": 14, "Type": "DAYSAFTERBILLDATE"}
    connection = connect_xero(xero_sandbox)
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()

    sync_connection(connection.id)

    delivery = db.session.execute(db.select(Delivery).filter_by(kind="invoice")).scalar_one()
    assert delivery.status == DeliveryStatus.CONFIRMED
    [stored] = [i for i in xero_sandbox.records("Invoices") if i["InvoiceNumber"] == doc.number]
    issued = doc.ready_to_invoice_at.date()
    assert stored["DueDate"] == xero_sandbox_date(issued, 14)


def xero_sandbox_date(issued: date, days: int) -> str:
    from datetime import UTC, datetime, timedelta

    stamp = datetime.combine(issued + timedelta(days=days), datetime.min.time(), UTC)
    return f"/Date({int(stamp.timestamp() * 1000)}+0000)/"
